"""Figures of Fisher forecasts: marginal confidence ellipses of one or several :class:`~inference.fisher.FisherResult`,
as a triangle of every pair or one panel per chosen pair (the degeneracies of the paper's figure 11)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inference.fisher import FisherResult
from xcosmo.checks import check_type, require
from xcosmo.plots import figure, save_png

__all__ = ["plot_fisher"]

_LABELS = {
    "omega_m": r"$\Omega_{\rm m}$",
    "sigma_8": r"$\sigma_8$",
    "a_mt": r"$A_{\rm MT}$ [$h^{-1}M_\odot$]",
    "alpha_mt": r"$\alpha_{\rm MT}$",
    "gamma_mt": r"$\gamma_{\rm MT}$",
    "a_lt": r"$A_{\rm LT}$ [erg s$^{-1}h^{-2}$]",
    "alpha_lt": r"$\alpha_{\rm LT}$",
    "gamma_lt": r"$\gamma_{\rm LT}$",
}
_LEVELS = ((1.0, 0.45), (2.0, 0.18))  # (n_sigma, fill alpha): 68.3% and 95.4% of 2 parameters


def _draw_pair(ax, results, pair, colors):
    for res, color in zip(results, colors):
        for n_sigma, alpha in _LEVELS[::-1]:
            e = res.ellipse(pair, n_sigma)
            ax.fill(*e.points.T, color=color, alpha=alpha, lw=0)
            ax.plot(*e.points.T, color=color, lw=1.0)
        ax.plot(*res.fiducial[[res.index(p) for p in pair]], "+", color=color, ms=6)


def _limits(results, name, width=3.0):
    lo = min(r.fiducial[r.index(name)] - width * r.marginal_errors[r.index(name)] for r in results)
    hi = max(r.fiducial[r.index(name)] + width * r.marginal_errors[r.index(name)] for r in results)
    return lo, hi


def plot_fisher(
    results: FisherResult | Sequence[FisherResult],
    path: str | Path,
    names: Sequence[str] | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Marginal 68.3% and 95.4% Fisher ellipses (Delta chi^2 = 2.30, 6.18) of one or several results, as a PNG.

    With ``pairs`` (e.g. ``[("a_mt", "omega_m"), ("alpha_mt", "gamma_mt")]``, degeneracies of the paper's figure
    11) one panel per pair; otherwise a triangle of every pair of ``names`` (default: the first result's names) with
    the marginal 1-D Gaussians (peak 1) on the diagonal. Axes are in the parameters' units; ``labels`` names each
    result in the legend. Every result must hold every parameter shown. Written atomically; returns ``path``.
    """
    from matplotlib.lines import Line2D

    results = [results] if isinstance(results, FisherResult) else list(results)
    require(bool(results), "results", results, "expected one FisherResult or a non-empty sequence of them")
    for k, r in enumerate(results):
        check_type(f"results[{k}]", r, FisherResult, "an inference.fisher.FisherResult")
    require(labels is None or len(labels) == len(results), "labels", labels, f"expected {len(results)}, one per result")
    require(names is None or pairs is None, "names", names, "give names (triangle plot) or pairs (one panel per "
            "pair), not both")  # fmt: skip
    if pairs is not None:
        pairs = [tuple(p) for p in pairs]
        require(bool(pairs) and all(len(p) == 2 and p[0] != p[1] for p in pairs), "pairs", pairs,
                "expected a non-empty list of (x, y) pairs of different parameters")  # fmt: skip
        shown = sorted({p for pair in pairs for p in pair})
    else:
        shown = list(results[0].names if names is None else names)
    for r in results:
        for p in shown:
            r.index(p)  # ValueError naming unknown parameters
        _ = r.covariance  # ValueError if singular, before drawing
    colors = [f"C{k}" for k in range(len(results))]
    lab = lambda p: _LABELS.get(p, p)  # noqa: E731
    if pairs is not None:
        fig = figure((4.2 * len(pairs), 4.0))
        axes = fig.subplots(1, len(pairs), squeeze=False)
        for ax, pair in zip(axes[0], pairs):
            _draw_pair(ax, results, pair, colors)
            ax.set_xlim(*_limits(results, pair[0]))
            ax.set_ylim(*_limits(results, pair[1]))
            ax.set_xlabel(lab(pair[0]))
            ax.set_ylabel(lab(pair[1]))
        legend_ax = axes[0, -1]
    else:
        n = len(shown)
        require(n >= 2, "names", shown, "a triangle plot needs at least 2 parameters")
        fig = figure((1.9 * n + 1, 1.9 * n + 1))
        axes = fig.subplots(n, n, squeeze=False)
        for i, yi in enumerate(shown):
            for k, xk in enumerate(shown):
                ax = axes[i, k]
                if k > i:
                    ax.set_visible(False)
                    continue
                ax.set_xlim(*_limits(results, xk))
                if k == i:
                    x = np.linspace(*_limits(results, xk), 200)
                    for r, c in zip(results, colors):
                        mu, s = r.fiducial[r.index(xk)], r.marginal_errors[r.index(xk)]
                        ax.plot(x, np.exp(-0.5 * ((x - mu) / s) ** 2), color=c)
                    ax.set_yticks([])
                else:
                    _draw_pair(ax, results, (xk, yi), colors)
                    ax.set_ylim(*_limits(results, yi))
                    if k == 0:
                        ax.set_ylabel(lab(yi))
                    else:
                        ax.set_yticklabels([])
                if i == n - 1:
                    ax.set_xlabel(lab(xk))
                    ax.tick_params(axis="x", labelrotation=45)
                else:
                    ax.set_xticklabels([])
        legend_ax = axes[0, 0]
    if labels is not None:
        handles = [Line2D([], [], color=c, lw=2) for c in colors]
        target = fig if pairs is None else legend_ax
        target.legend(handles, labels, frameon=False, loc="upper right")
    fig.suptitle("Fisher forecast: 68.3% and 95.4% marginal contours", fontsize=10)
    fig.tight_layout()
    return save_png(fig, path, 110)
