"""dN/dz of a few quickstart light cones painted by the shipped eLDL against the analytical model (issue 16; the paper
found about 40% more simulated clusters than its analytical model predicts).

Usage::

    python bench/quickstart_dndz.py [--seeds 4] [--out bench/figures/quickstart_dndz.png]

Runs the ``quickstart`` preset (its painter: the shipped eLDL) at the fiducial parameters for seeds 0..seeds-1, counts
the catalogued clusters (CR[0.5-2] > 0.02 c/s) per redshift bin of the XOD binning, and prints them beside the
analytical model's expectation for the same survey (Tinker08, the "xxl" relations); writes the figure.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    from xcosmo.analytic import AnalyticModel
    from xcosmo.params import Params
    from xcosmo.pipeline import simulate_survey
    from xcosmo.plots import figure, save_png
    from xcosmo.scaling import relation_set

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--out", default="bench/figures/quickstart_dndz.png")
    args = parser.parse_args()
    params = Params.fiducial()
    counts, seconds = [], []
    for seed in range(args.seeds):
        start = time.perf_counter()
        result = simulate_survey(params, seed, "quickstart", progress=False)
        seconds.append(time.perf_counter() - start)
        z_edges = np.asarray(result.binning.z_edges)
        counts.append(np.histogram(np.asarray(result.catalogue["z"]), bins=z_edges)[0])
        print(f"seed {seed}: {len(result.catalogue)} clusters, {seconds[-1]:.0f} s ({type(result.painter).__name__})")
    counts = np.asarray(counts, dtype=float)
    expected = np.asarray(AnalyticModel.build(result.survey, result.binning, relation_set()).dndz(params))
    mean, err = counts.mean(axis=0), counts.std(axis=0, ddof=1) / np.sqrt(len(counts)) if len(counts) > 1 else 0 * counts[0]
    print(f"{'z':>11}  {'simulated (mean of ' + str(len(counts)) + ')':>22}  {'analytical':>10}")
    for lo, hi, m, e, a in zip(z_edges[:-1], z_edges[1:], mean, np.broadcast_to(err, mean.shape), expected):
        print(f"{lo:.2f}-{hi:.2f}  {m:16.2f} +- {e:4.2f}  {a:10.2f}")
    print(f"total: simulated {mean.sum():.1f} per {result.survey.area_deg2:g} deg^2, analytical {expected.sum():.1f}, "
          f"ratio {mean.sum() / expected.sum():.2f} (paper: about 1.4); median {np.median(seconds):.0f} s per light cone")
    fig = figure((5.5, 4.2))
    ax = fig.subplots()
    ax.stairs(expected, z_edges, label="analytical model (Tinker08, xxl relations)", color="k")
    centres = 0.5 * (z_edges[:-1] + z_edges[1:])
    ax.errorbar(centres, mean, yerr=err, fmt="o", color="C3", label=f"eLDL quickstart, mean of {len(counts)} light cones")
    ax.set_xlabel("redshift $z$")
    ax.set_ylabel(f"clusters per bin, {result.survey.area_deg2:g} deg$^2$, CR > {result.survey.cr_min:g} c/s")
    ax.legend(fontsize=8)
    save_png(fig, args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
