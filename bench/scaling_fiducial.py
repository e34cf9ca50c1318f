"""The emulated relations at the fiducial against a fresh measurement there (issue 20's second acceptance item).

Measures the cluster catalogues of ``--boxes`` new volumes (seeds the design never used, the default volumes of
:class:`emulators.scaling.measure.Volumes`) at the fiducial theta and ``--z``, fits their pooled relations
(:func:`emulators.scaling.relations.fit_relations`) and prints, for each quantity, the measured value with its
bootstrap error, the emulator's prediction with its error, and their difference in units of the two errors combined
(goal: within 1 for the CR-M relation's normalisation, slope and scatter; about 2 in 3 quantities are within 1 by
chance alone), and the CR-M relation's three quantities tested together: chi^2 = d^T (C_meas + C_emu)^-1 d of their
differences d, with the bootstrap covariance C_meas of the measurement (the normalisation at the pivot is correlated
with the slope when the clusters lie below it) and the emulator's variances C_emu, and its probability under 3
degrees of freedom. Run: ``python bench/scaling_fiducial.py [--emulator PATH --boxes 3 --z 0.21]`` (a few minutes per box
on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import stats


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--emulator", type=Path, default=None, help="weights (default: the shipped emulator)")
    parser.add_argument("--boxes", type=int, default=3)
    parser.add_argument("--z", type=float, default=0.21)
    parser.add_argument("--seed", type=int, default=0, help="seeds the boxes' seeds (a stream no campaign draws from)")
    args = parser.parse_args(argv)

    from emulators.scaling.emulator import PRETRAINED, load_emulator
    from emulators.scaling.measure import Volumes, measure_clusters
    from emulators.scaling.relations import RELATION_NAMES, fit_relations
    from xcosmo.params import Params

    emulator, meta = load_emulator(PRETRAINED if args.emulator is None else args.emulator)
    params = Params.fiducial()
    catalogues = []
    for b in range(args.boxes):
        t = time.perf_counter()
        # three-number entropy: campaigns seed their simulations from two numbers (xcosmo.campaign.store)
        seed = int(np.random.SeedSequence([20, args.seed, b]).generate_state(1, np.uint32)[0])
        catalogues.append(measure_clusters(params, args.z, seed, Volumes()))
        print(f"box {b + 1}/{args.boxes}: {len(catalogues[-1])} haloes, {time.perf_counter() - t:.0f} s", flush=True)
    measured = fit_relations(np.concatenate(catalogues))
    if args.boxes > 1:
        # one box per design point, as the campaign measures: the scatter of the boxes' own fits is a single point's
        # error with the box-to-box (cosmic) variance included, which one box's bootstrap cannot see
        own = [fit_relations(c, seed=b) for b, c in enumerate(catalogues)]
        values, errors = np.array([f["value"] for f in own]), np.array([f["error"] for f in own])
        print(f"\none box at a time: {'quantity':>12} {'box-to-box std':>15} {'mean bootstrap error':>21}")
        for j, name in enumerate(RELATION_NAMES):
            print(f"{'':>18} {name:>12} {values[:, j].std(ddof=1):15.4f} {errors[:, j].mean():21.4f}")
    predicted = emulator.predict(params, args.z)
    print(f"\nfiducial, z = {args.z:g}: {measured['n_clusters']} clusters above 5e12 Msun/h in {args.boxes} box(es)")
    print(f"{'quantity':>12} {'measured':>18} {'emulated':>18} {'difference / error':>20}")
    for j, name in enumerate(RELATION_NAMES):
        mean, std = (float(v) for v in predicted[name])
        value, err = measured["value"][j], measured["error"][j]
        print(f"{name:>12} {value:9.4f} +- {err:6.4f} {mean:9.4f} +- {std:6.4f} {(value - mean) / np.hypot(err, std):20.2f}")
    cr = [RELATION_NAMES.index(n) for n in ("cr_norm", "cr_slope", "cr_scatter")]
    d = measured["value"][cr] - np.array([float(predicted[RELATION_NAMES[j]][0]) for j in cr])
    cov = measured["covariance"][np.ix_(cr, cr)] + np.diag([float(predicted[RELATION_NAMES[j]][1]) ** 2 for j in cr])
    chi2 = float(d @ np.linalg.solve(cov, d))
    print(f"\nCR-M relation together: chi^2 = {chi2:.2f} for 3 degrees of freedom, p = {stats.chi2.sf(chi2, 3):.2f}")


if __name__ == "__main__":
    main()
