"""The diagnostics of a trained NPE on its campaign's unseen simulations (paper figures 8, 9 and A.1), as JSON and PNG.

:func:`diagnose` draws ``n_draws`` posterior draws for each XOD of the held-out split (the paper's 8 of 48, never
seen by the trainings) and reports, per parameter:

- SBC: the rank histogram and the Kolmogorov-Smirnov p-value of its uniformity (:mod:`inference.sbi.calibration`);
- the coverage of the central credible intervals, and TARP's joint coverage curve;
- widths: the median posterior standard deviation over the prior's (in the unit cube, where the prior's is
  1 / sqrt(12)), and for Omega_m and sigma_8 the median 68% interval (half-width, the parameters' units) and the
  figure of merit 1 / sqrt(det Cov(Omega_m, sigma_8)) (the paper's table 3);
- the regression of figure 8 on the test split: posterior means (and for the MSE compressor, its outputs) against
  the truths, with their correlation.

Figures: ``sbc.png`` (figure A.1), ``coverage.png`` (coverage and TARP), ``regression.png`` (figure 8) and
``gallery.png`` (figure 9: the Omega_m-sigma_8 posteriors of 16 held-out XODs, with their truths).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from inference.sbi.calibration import ALPHAS, coverage, ranks, sbc_pvalues, tarp
from inference.sbi.dataset import SBIDataset
from inference.sbi.npe import NPEPosterior
from xcosmo.checks import check_choice, check_integer, fail

__all__ = ["diagnose", "posterior_draws"]


def posterior_draws(posterior: NPEPosterior, counts: np.ndarray, n_draws: int, seed: int = 0,
                    progress: bool = False) -> np.ndarray:  # fmt: skip
    """Unit-cube draws (n, n_draws, p) for XODs ``counts`` (n, ...)."""
    from tqdm.auto import tqdm

    y = posterior.statistics(counts)
    draws = [posterior.sample_statistic(y[i], n_draws, seed=seed + i)
             for i in tqdm(range(len(counts)), desc="posterior draws", disable=not progress)]  # fmt: skip
    return np.stack(draws)


def _positions(posterior: NPEPosterior, data: SBIDataset, split: str) -> np.ndarray:
    """Positions in ``data`` of the posterior's ``split`` (store indices in its metadata)."""
    if json.loads(json.dumps(data.binning)) != posterior.meta["binning"] or data.spec != posterior.meta["spec"]:
        fail("store", data.source, "the campaign these weights were trained on (same simulator, survey and binning)")
    where = {int(k): i for i, k in enumerate(data.index)}
    wanted = posterior.meta["splits"][split]
    missing = [k for k in wanted if k not in where]
    if missing:
        fail("store", data.source, f"a store holding the {split} simulations of the training ({len(missing)} missing, "
                                   f"e.g. index {missing[0]})")  # fmt: skip
    return np.array([where[k] for k in wanted], dtype=np.int64)


def diagnose(posterior: NPEPosterior, data: SBIDataset, *, out: str | os.PathLike | None = None, n_draws: int = 1000,
             max_xods: int | None = None, split: str = "heldout", seed: int = 0, progress: bool = False) -> dict:
    """The module's diagnostics on ``split`` (at most ``max_xods`` of its XODs); with ``out``, the report
    ``diagnostics.json`` and the figures are written there. Returns the report."""
    check_choice("split", split, ("heldout", "test"))
    n_draws = check_integer("n_draws", n_draws, 10)
    pos = _positions(posterior, data, split)
    if max_xods is not None:
        pos = pos[: check_integer("max_xods", max_xods, 1)]
    names = posterior.names
    truth = data.unit[pos]
    draws = posterior_draws(posterior, data.counts[pos], n_draws, seed, progress)
    r = ranks(truth, draws)
    p_values = sbc_pvalues(r, n_draws, seed)
    cov = coverage(r, n_draws)
    joint = tarp(truth, draws, seed)
    sd = draws.std(axis=1)
    report = {
        "split": split, "n_xods": int(pos.size), "n_draws": n_draws, "loss": posterior.meta["settings"]["loss"],
        "sizes": posterior.meta["sizes"],
        "sbc_ks_pvalue": dict(zip(names, p_values.tolist())),
        "coverage": {"alpha": ALPHAS.tolist(), **{n: cov[:, j].tolist() for j, n in enumerate(names)}},
        "tarp": {"alpha": joint["alpha"].tolist(), "ecp": joint["ecp"].tolist(),
                 "max_deviation": joint["max_deviation"]},
        "width_over_prior": dict(zip(names, (np.median(sd, axis=0) * np.sqrt(12.0)).tolist())),
    }  # fmt: skip
    report.update(_cosmology_widths(posterior, draws, names))
    test = _positions(posterior, data, "test")
    report["regression"] = _regression(posterior, data, test, seed, progress)
    if out is not None:
        from inference.sbi.plots import (
            plot_coverage,
            plot_gallery,
            plot_regression,
            plot_sbc,
        )
        from xcosmo.io import atomic_path, ensure_writable_dir

        out = ensure_writable_dir(Path(out))
        plot_sbc(r, n_draws, names, p_values, out / "sbc.png")
        plot_coverage(cov, joint, names, out / "coverage.png")
        plot_regression(report["regression"], names, out / "regression.png")
        theta_draws = posterior.simulator.from_unit(draws[:16].reshape(-1, len(names))).reshape(*draws[:16].shape)
        plot_gallery(theta_draws, data.theta[pos[:16]], names, out / "gallery.png")
        with atomic_path(out / "diagnostics.json") as tmp:
            tmp.write_text(json.dumps(report, indent=1))
    return report


def _cosmology_widths(posterior: NPEPosterior, draws: np.ndarray, names: tuple[str, ...]) -> dict:
    """Median 68% half-widths of Omega_m and sigma_8 in their units, and the median FoM (table 3)."""
    if not {"omega_m", "sigma_8"} <= set(names):
        return {}
    i, j = names.index("omega_m"), names.index("sigma_8")
    sim = posterior.simulator
    theta = sim.from_unit(draws.reshape(-1, len(names))).reshape(draws.shape)
    half = {n: np.median((np.percentile(theta[..., k], 84, axis=1) - np.percentile(theta[..., k], 16, axis=1)) / 2)
            for n, k in (("omega_m", i), ("sigma_8", j))}  # fmt: skip
    fom = [1.0 / np.sqrt(np.linalg.det(np.cov(t[:, [i, j]].T))) for t in theta]
    return {"half_width_68": {k: float(v) for k, v in half.items()}, "fom_median": float(np.median(fom))}


def _regression(posterior: NPEPosterior, data: SBIDataset, test: np.ndarray, seed: int, progress: bool) -> dict:
    """Figure 8: posterior means (and the MSE compressor's outputs) against the truths of the test split."""
    draws = posterior_draws(posterior, data.counts[test], 200, seed, progress)
    mean = draws.mean(axis=1)
    truth = data.unit[test]
    out = {"truth": truth.tolist(), "posterior_mean": mean.tolist(),
           "correlation": [float(np.corrcoef(truth[:, j], mean[:, j])[0, 1]) for j in range(truth.shape[1])]}  # fmt: skip
    if posterior.meta["settings"]["loss"] == "mse":
        out["compressor"] = np.asarray(posterior.statistics(data.counts[test])).tolist()
    return out
