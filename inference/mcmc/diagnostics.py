"""Convergence and efficiency of a run, through ArviZ: :func:`summary` (a plain dict) and :func:`format_summary`.

R-hat and ESS are ArviZ's (Vehtari et al. 2021): the rank-normalised split R-hat (``arviz.rhat``, ``method="rank"``)
and the bulk effective sample size (``arviz.ess``, ``method="bulk"``), computed over all chains.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from inference.mcmc.chains import components, posterior_of

__all__ = ["inference_data", "summary", "format_summary"]


def inference_data(tree: xr.DataTree):
    """The ``posterior`` and ``sample_stats`` groups of a :func:`~inference.mcmc.run_nuts` DataTree as an
    ``arviz.InferenceData`` (ArviZ 0.x; ArviZ >= 1.0 takes the DataTree itself)."""
    import arviz

    posterior_of(tree, None)  # refuses anything but a run's tree
    groups = {name: tree[name].to_dataset() for name in ("posterior", "sample_stats") if name in tree.children}
    return arviz.InferenceData(**groups)


def summary(tree: xr.DataTree, var_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Posterior summary and sampling efficiency of a :func:`~inference.mcmc.run_nuts` result, as a plain
    (JSON-serialisable) dict.

    Parameters
    ----------
    tree : the DataTree returned by :func:`~inference.mcmc.run_nuts` (or read by
        :func:`~inference.mcmc.load_chains`).
    var_names : posterior variables to summarise (default: all, deterministic sites included).

    Returns
    -------
    dict with

    - ``"variables"``: ``{label: {"mean", "std", "mcse_mean", "r_hat", "ess"}}``, one entry per scalar component
      (``"mu[1]"`` for element 1 of ``mu``), in the variables' units; the columns ``mean``, ``sd``, ``mcse_mean``,
      ``r_hat`` and ``ess_bulk`` of ``arviz.summary``: ``std`` with ``ddof=1``; ``r_hat`` the rank-normalised split
      R-hat (``arviz.rhat``; NaN with fewer than 2 chains or 4 draws, or for a constant); ``ess`` the bulk ESS
      (``arviz.ess``, ``method="bulk"``; NaN with fewer than 4 draws); ``mcse_mean`` the Monte-Carlo standard error
      of the mean (``arviz.mcse``, ``method="mean"``: ``std / sqrt(ess_mean)``, with the ESS of the mean).
    - ``"num_divergences"``: divergent transitions after warm-up, all chains.
    - ``"r_hat_max"``, ``"ess_min"`` and ``"ess_min_variable"``: the worst component (NaN, NaN, None if undefined).
    - ``"wall_time_s"``, ``"n_grad_evals"``: from the run's attributes (NaN if absent).
    - ``"ess_per_s"``: ``ess_min / wall_time_s`` [1/s], the wall time of warm-up + sampling without compilation;
      ``"ess_per_grad"``: ``ess_min / n_grad_evals``, warm-up gradients included.
    - ``"neutra_ess_fraction"``, ``"neutra_pareto_k"``, ``"neutra_log_weight_variance"``: with NeuTra only, the flow's check
      (:func:`inference.neutra.flow_check`).
    """
    import arviz

    posterior, names = posterior_of(tree, var_names)
    posterior = posterior[names].astype(np.float64)
    idata = arviz.InferenceData(posterior=posterior)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant components: ArviZ returns NaN
        r_hat = arviz.rhat(idata, var_names=names)
        ess = arviz.ess(idata, var_names=names, method="bulk")
        mcse = arviz.mcse(idata, var_names=names, method="mean")
    mean = posterior.mean(dim=("chain", "draw"))
    std = posterior.std(dim=("chain", "draw"), ddof=1)
    columns = {"mean": mean, "std": std, "mcse_mean": mcse, "r_hat": r_hat, "ess": ess}
    variables = {}
    for name in names:
        arrays = {column: np.asarray(stat[name].values, dtype=np.float64) for column, stat in columns.items()}
        for label, index in components(name, posterior[name].shape[2:]):
            variables[label] = {column: float(values[index]) for column, values in arrays.items()}
    ess_all = {k: v["ess"] for k, v in variables.items() if np.isfinite(v["ess"])}
    worst = min(ess_all, key=ess_all.get) if ess_all else None
    ess_min = ess_all[worst] if worst is not None else math.nan
    r_hats = [v["r_hat"] for v in variables.values() if np.isfinite(v["r_hat"])]
    attrs = tree.attrs
    wall = float(attrs.get("wall_time_s", math.nan))
    grads = float(attrs.get("n_grad_evals", math.nan))
    divergences = 0
    if "sample_stats" in tree.children and "diverging" in tree["sample_stats"].data_vars:
        divergences = int(np.sum(tree["sample_stats"]["diverging"].values))
    out = {
        "variables": variables,
        "num_divergences": divergences,
        "r_hat_max": max(r_hats) if r_hats else math.nan,
        "ess_min": ess_min,
        "ess_min_variable": worst,
        "wall_time_s": wall,
        "n_grad_evals": grads,
        "ess_per_s": ess_min / wall if wall > 0 else math.nan,
        "ess_per_grad": ess_min / grads if grads > 0 else math.nan,
    }
    if attrs.get("neutra"):
        out["neutra_ess_fraction"] = float(attrs.get("neutra_ess_fraction", math.nan))
        out["neutra_pareto_k"] = float(attrs.get("neutra_pareto_k", math.nan))
        out["neutra_log_weight_variance"] = float(attrs.get("neutra_log_weight_variance", math.nan))
    return out


def format_summary(result: xr.DataTree | Mapping[str, Any], var_names: Sequence[str] | None = None) -> str:
    """A printable table of :func:`summary` (given the DataTree, or the dict :func:`summary` returned)."""
    if isinstance(result, xr.DataTree):
        backend = result.attrs.get("backend", "?")
        result = summary(result, var_names)
    else:
        backend = None
    width = max([8, *(len(k) for k in result["variables"])])
    lines = [f"{'variable':<{width}} {'mean':>11} {'std':>11} {'mcse_mean':>11} {'r_hat':>7} {'ess':>8}"]
    for label, s in result["variables"].items():
        lines.append(
            f"{label:<{width}} {s['mean']:>11.4g} {s['std']:>11.4g} {s['mcse_mean']:>11.3g} "
            f"{s['r_hat']:>7.3f} {s['ess']:>8.1f}"
        )
    lines.append(
        f"divergences: {result['num_divergences']}   r_hat max: {result['r_hat_max']:.3f}   "
        f"ESS min: {result['ess_min']:.1f} ({result['ess_min_variable']})"
    )
    lines.append(
        f"wall time (warm-up + sampling, no compilation): {result['wall_time_s']:.3g} s   "
        f"gradient evaluations: {result['n_grad_evals']:.4g}   ESS/s: {result['ess_per_s']:.4g}   "
        f"ESS/grad: {result['ess_per_grad']:.3g}" + (f"   backend: {backend}" if backend else "")
    )
    if "neutra_ess_fraction" in result:
        lines.append(f"NeuTra flow: importance weights' effective sample fraction {result['neutra_ess_fraction']:.3g}, "
                     f"Pareto k {result['neutra_pareto_k']:.3g}, variance of their logs "
                     f"{result['neutra_log_weight_variance']:.3g}")
    return "\n".join(lines)
