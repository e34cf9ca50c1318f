"""NPE against NUTS where the likelihood is known (issue 18's first acceptance): the analytical model's Poisson XODs.

1. A campaign of ``--n`` Poisson XODs of the analytical model over its 2 + 6 parameters, drawn from the likelihood's
   priors (Latin hypercube; ``xcosmo campaign`` on a local Dask cluster of ``--workers``), in ``OUT/store``;
2. the NPE trained on it with the VMIM compressor (unbiased) and the paper's MSE one (``OUT/vmim``, ``OUT/mse``;
   ``--losses`` chooses; with ``--poisson-resampling`` on fresh Poisson draws every epoch, ``OUT/vmim-poisson``...);
3. calibration of both on the held-out split (SBC Kolmogorov-Smirnov p-value per parameter, TARP; ``OUT/*/diagnose``);
4. NUTS (numpyro, NeuTra, the defaults of :func:`inference.mcmc.run_nuts`; ``--chains`` x (``--warmup`` +
   ``--samples``)) on the explicit likelihood of ``--xods`` held-out XODs, and the NPE posteriors of the same XODs:
   for every parameter the difference of the means in units of NUTS's standard deviation and the ratio of the
   standard deviations (goal: within 0.2 sigma and 20%); where NUTS's covariance is cached (results made since
   2026-12-06), also the joint posteriors: the Mahalanobis distance of the NPE's mean from NUTS's and the ratio of
   their covariance volumes, (det C_NPE / det C_NUTS)^(1/2p).

Every step resumes: the campaign and trainings from their stores and checkpoints, NUTS from the per-XOD results in
``OUT/nuts.json`` or ``--nuts-cache`` (each with the XOD's total count, checked when it is reused). The campaign is
reproducible, so the NUTS results of the defaults' 20 XODs ship in ``bench/reference/nuts_analytic_seed18.json``
(``--nuts-cache`` it to skip those runs). Run: ``python bench/sbi_vs_nuts.py
--out sbi-check/`` (hours on a 2-core CPU: the NUTS runs dominate, about 5 minutes per XOD). NUTS does not need the
trainings: ``--nuts-only`` runs the campaign and NUTS alone, in a second process beside the first if there are cores
to spare (not both running NUTS: they share ``nuts.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def campaign(out: Path, n: int, workers: int) -> Path:
    from xcosmo.campaign import campaign_preset, run_campaign

    store = out / "store"
    config = None if store.exists() else campaign_preset("analytic", n, seed=18)
    run_campaign(store, config, workers=workers, progress=True)
    return store


def nuts_posteriors(cache: Path, data, positions, args) -> dict:
    """Posterior means, standard deviations and covariance of NUTS on each XOD, cached in ``cache`` (JSON; results
    cached before the covariance was kept have none)."""
    from inference.likelihood import numpyro_model
    from inference.mcmc import run_nuts, summary
    from xcosmo.analytic import PHI_NAMES

    done = json.loads(cache.read_text()) if cache.exists() else {}
    for k, i in enumerate(positions):
        key, total = str(int(data.index[i])), float(np.sum(data.counts[i]))
        if key in done:
            if done[key].get("total_counts", total) != total:
                raise ValueError(f"{cache}: the NUTS result of store index {key} is of an XOD of "
                                 f"{done[key]['total_counts']:g} counts, this store's has {total:g}: another campaign; "
                                 "remove the file or use another --out")  # fmt: skip
            continue
        tree = run_nuts(numpyro_model, np.asarray(data.counts[i], np.float64), num_chains=args.chains,
                        num_warmup=args.warmup, num_samples=args.samples, seed=k, neutra=True, dense_mass=True,
                        progress=False)  # fmt: skip
        s = summary(tree, list(PHI_NAMES))
        draws = np.stack([np.ravel(tree["posterior"][n].values) for n in PHI_NAMES], axis=1)
        done[key] = {"total_counts": total, "mean": [s["variables"][n]["mean"] for n in PHI_NAMES],
                     "std": [s["variables"][n]["std"] for n in PHI_NAMES], "cov": np.cov(draws.T).tolist(),
                     "divergences": s["num_divergences"], "r_hat_max": s["r_hat_max"]}  # fmt: skip
        cache.write_text(json.dumps(done, indent=1))
        print(f"NUTS {k + 1}/{len(positions)} (store index {key}): r_hat {s['r_hat_max']:.3f}, "
              f"divergences {s['num_divergences']}", flush=True)
    return done


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=20_000, help="simulations in the campaign")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--xods", type=int, default=20, help="held-out XODs compared with NUTS")
    parser.add_argument("--sbc-xods", type=int, default=500, help="held-out XODs of the calibration tests")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=10_000, help="NPE draws per XOD")
    parser.add_argument("--nuts-only", action="store_true", help="the campaign and the NUTS runs, no NPE")
    parser.add_argument("--nuts-cache", type=Path, help="the NUTS results' JSON file (default OUT/nuts.json)")
    parser.add_argument("--losses", nargs="+", choices=("vmim", "mse"), default=["vmim", "mse"],
                        help="the compressions trained; NUTS is compared with the first")
    parser.add_argument("--poisson-resampling", action="store_true",
                        help="train on fresh Poisson draws of the expected XODs every epoch (into OUT/LOSS-poisson)")
    args = parser.parse_args(argv)
    args.nuts_cache = args.nuts_cache or args.out / "nuts.json"

    from inference.sbi import NPESettings, SBIDataset, fit_npe
    from inference.sbi.diagnose import diagnose
    from xcosmo.analytic import PHI_NAMES

    args.out.mkdir(parents=True, exist_ok=True)
    data = SBIDataset.from_store(campaign(args.out, args.n, args.workers))
    heldout = np.sort(data.splits(NPESettings().split_seed)["heldout"])[: args.xods]
    if args.nuts_only:
        nuts_posteriors(args.nuts_cache, data, heldout, args)
        return
    posteriors = {}
    for loss in args.losses:
        folder = args.out / (f"{loss}-poisson" if args.poisson_resampling else loss)
        settings = NPESettings(loss=loss, poisson_resampling=args.poisson_resampling)
        posteriors[loss] = fit_npe(data, settings, out=folder, progress=True)
        report = diagnose(posteriors[loss], data, out=folder / "diagnose", max_xods=args.sbc_xods, progress=True)
        p = report["sbc_ks_pvalue"]
        print(f"{loss}: SBC on {report['n_xods']} held-out XODs, KS p-values "
              + ", ".join(f"{n} {p[n]:.3g}" for n in PHI_NAMES)
              + f"; TARP deviation {report['tarp']['max_deviation']:.3f}", flush=True)
    nuts = nuts_posteriors(args.nuts_cache, data, heldout, args)
    rows, first = [], posteriors[args.losses[0]]
    for i in heldout:
        ref = nuts[str(int(data.index[i]))]
        theta = first.sample(data.counts[i], args.draws)["theta"]
        mean_dev = (theta.mean(0) - np.array(ref["mean"])) / np.array(ref["std"])
        width = theta.std(0) / np.array(ref["std"])
        rows.append({"index": int(data.index[i]), "mean_dev": mean_dev.tolist(), "width_ratio": width.tolist()})
        if "cov" in ref:  # in units of NUTS's sigma: the normalisations span 40 decades
            sigma = np.array(ref["std"])
            nuts_cov = np.array(ref["cov"]) / np.outer(sigma, sigma)
            npe_cov = np.cov((theta / sigma).T)
            rows[-1]["mahalanobis"] = float(np.sqrt(mean_dev @ np.linalg.solve(nuts_cov, mean_dev)))
            ratio = np.linalg.slogdet(npe_cov)[1] - np.linalg.slogdet(nuts_cov)[1]
            rows[-1]["volume_ratio"] = float(np.exp(ratio / (2 * len(sigma))))
    dev = np.array([r["mean_dev"] for r in rows])
    width = np.array([r["width_ratio"] for r in rows])
    resampled = ", Poisson resampling" if args.poisson_resampling else ""
    print(f"\nNPE ({args.losses[0]}{resampled}, {first.meta['sizes']['train']} training XODs) against NUTS on "
          f"{len(rows)} held-out XODs: |mean difference| / NUTS sigma and sigma ratio, median and worst")
    for j, n in enumerate(PHI_NAMES):
        print(f"{n:>10}: |dmean| {np.median(np.abs(dev[:, j])):.3f} (max {np.abs(dev[:, j]).max():.3f}); "
              f"width ratio {np.median(width[:, j]):.3f} (range {width[:, j].min():.3f}-{width[:, j].max():.3f})")
    ok = np.mean((np.abs(dev) < 0.2) & (np.abs(width - 1) < 0.2))
    print(f"fraction of (XOD, parameter) pairs within 0.2 sigma and 20%: {ok:.3f}")
    joint = [r for r in rows if "mahalanobis" in r]
    if joint:  # the joint posteriors, where NUTS's covariance is cached
        m = np.array([r["mahalanobis"] for r in joint])
        v = np.array([r["volume_ratio"] for r in joint])
        print(f"joint, {len(joint)} XODs: NPE mean's Mahalanobis distance from NUTS's (NUTS covariance) median "
              f"{np.median(m):.3f} (max {m.max():.3f}); (det NPE cov / det NUTS cov)^(1/2p) median {np.median(v):.3f} "
              f"(range {v.min():.3f}-{v.max():.3f})")
    name = "npe_vs_nuts_poisson.json" if args.poisson_resampling else "npe_vs_nuts.json"
    (args.out / name).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
