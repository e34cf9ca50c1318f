"""Figures of the NPE diagnostics (:mod:`inference.sbi.diagnose`): the paper's figures 8, 9 and A.1, and coverage."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from xcosmo.plots import figure, save_png

__all__ = ["plot_sbc", "plot_coverage", "plot_regression", "plot_gallery"]


def _grid(n: int) -> tuple[int, int]:
    cols = min(4, n)
    return math.ceil(n / cols), cols


def plot_sbc(r: np.ndarray, n_draws: int, names, p_values, path: str | Path) -> Path:
    """Rank histograms per parameter (figure A.1) with the uniform expectation and its 99% band."""
    rows, cols = _grid(len(names))
    fig = figure((3.2 * cols, 2.6 * rows))
    bins = min(20, n_draws + 1)
    n = r.shape[0]
    for j, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, j + 1)
        ax.hist(r[:, j], bins=bins, range=(0, n_draws + 1), color="tab:blue", alpha=0.7)
        mean, sd = n / bins, math.sqrt(n / bins * (1 - 1 / bins))
        ax.axhspan(mean - 2.58 * sd, mean + 2.58 * sd, color="grey", alpha=0.2)
        ax.axhline(mean, color="k", ls="--", lw=1)
        ax.set_title(f"{name}: KS p = {p_values[j]:.2g}", fontsize=9)
        ax.set_xlabel("rank of the truth")
    fig.tight_layout()
    return save_png(fig, path, 110)


def plot_coverage(cov: np.ndarray, joint: dict, names, path: str | Path) -> Path:
    """Coverage of central credible intervals per parameter, and TARP's expected coverage, against credibility."""
    fig = figure((9.0, 4.0))
    ax = fig.add_subplot(1, 2, 1)
    alphas = joint["alpha"]
    for j, name in enumerate(names):
        ax.plot(alphas, cov[:, j], label=name)
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlabel("credibility level")
    ax.set_ylabel("fraction of truths inside")
    ax.set_title("central intervals, per parameter", fontsize=9)
    ax.legend(fontsize=7)
    ax = fig.add_subplot(1, 2, 2)
    ax.plot(alphas, joint["ecp"], color="tab:red")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlabel("credibility level")
    ax.set_ylabel("expected coverage")
    ax.set_title(f"TARP (joint): largest deviation {joint['max_deviation']:.3f}", fontsize=9)
    fig.tight_layout()
    return save_png(fig, path, 110)


def plot_regression(reg: dict, names, path: str | Path) -> Path:
    """Figure 8: posterior means against truths (unit-cube coordinates) on the test split, with the 1:1 line."""
    truth, mean = np.asarray(reg["truth"]), np.asarray(reg["posterior_mean"])
    rows, cols = _grid(len(names))
    fig = figure((3.0 * cols, 3.0 * rows))
    for j, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, j + 1)
        ax.scatter(truth[:, j], mean[:, j], s=4, alpha=0.5, label="posterior mean")
        if "compressor" in reg:
            ax.scatter(truth[:, j], np.asarray(reg["compressor"])[:, j], s=4, alpha=0.5, label="compressor (MSE)")
        ax.plot([0, 1], [0, 1], "k--", lw=1)
        ax.set_title(f"{name}: r = {reg['correlation'][j]:.2f}", fontsize=9)
        ax.set_xlabel("truth (prior quantile)")
        ax.set_ylabel("estimate")
    fig.axes[0].legend(fontsize=7)
    fig.tight_layout()
    return save_png(fig, path, 110)


def plot_gallery(theta_draws: np.ndarray, truths: np.ndarray, names, path: str | Path) -> Path:
    """Figure 9: Omega_m-sigma_8 posterior draws (68% and 95% contours of a histogram) of up to 16 XODs, truths as
    stars."""
    i, j = names.index("omega_m"), names.index("sigma_8")
    n = theta_draws.shape[0]
    rows, cols = _grid(n)
    fig = figure((2.6 * cols, 2.6 * rows))
    for k in range(n):
        ax = fig.add_subplot(rows, cols, k + 1)
        x, y = theta_draws[k, :, i], theta_draws[k, :, j]
        h, xe, ye = np.histogram2d(x, y, bins=30, range=[[0.1, 0.5], [0.6, 1.0]])
        order = np.sort(h.ravel())[::-1]
        cum = np.cumsum(order) / order.sum()
        levels = sorted({order[np.searchsorted(cum, q)] for q in (0.95, 0.68)})
        if len(levels) > 1 or levels[0] > 0:
            ax.contourf(0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), h.T, levels=[*levels, h.max() + 1],
                        colors=["#9ecae1", "#3182bd"][-len(levels):])  # fmt: skip
        ax.plot(truths[k, i], truths[k, j], "*", color="tab:green", ms=10)
        ax.set_xlim(0.1, 0.5)
        ax.set_ylim(0.6, 1.0)
        ax.tick_params(labelsize=7)
    fig.supxlabel("Omega_m")
    fig.supylabel("sigma_8")
    fig.tight_layout()
    return save_png(fig, path, 110)
