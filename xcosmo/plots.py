"""PNG figures. Each function takes arrays with units and writes one file atomically.

Figures are made with matplotlib's object API (``Figure`` on an Agg canvas): library code never selects a backend
or touches pyplot's global figure registry, so it is safe inside notebooks and GUI applications.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xcosmo.io import atomic_path

__all__ = ["figure", "save_png", "plot_mass_function", "plot_dndz", "plot_xod"]


def figure(figsize: tuple[float, float]):
    """A matplotlib ``Figure`` on its own Agg canvas (no pyplot, no backend switch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path: str | Path, dpi: int) -> Path:
    """Write ``fig`` to ``path`` as PNG, atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return Path(path)


def plot_mass_function(m: np.ndarray, z: np.ndarray, dndlnm: np.ndarray, mdef: str, path: str | Path) -> Path:
    """dn/dlnM [(Mpc/h)^-3] against M [Msun/h], one curve per redshift (``dndlnm`` has shape (len(z), len(m)))."""
    fig = figure((5.5, 4.2))
    ax = fig.subplots()
    for zi, row in zip(z, dndlnm):
        ax.loglog(m, row, label=f"z = {zi:.2f}")
    ax.set_xlabel(f"$M_{{\\rm {mdef}}}$ [$h^{{-1}}\\,M_\\odot$]")
    ax.set_ylabel(r"$dn/d\ln M$ [$h^3\,{\rm Mpc}^{-3}$]")
    ax.set_title("Tinker et al. (2008) mass function")
    ax.legend(frameon=False)
    fig.tight_layout()
    return save_png(fig, path, 120)


def plot_dndz(z_edges: np.ndarray, counts: np.ndarray | dict[str, np.ndarray], label: str, path: str | Path) -> Path:
    """Histogram of expected clusters per redshift bin: ``counts`` has len(z_edges) - 1 entries, or is a dict of
    such arrays by legend label (several models overlaid); ``label`` titles the plot."""
    curves = counts if isinstance(counts, dict) else {label: counts}
    fig = figure((5.5, 4.2))
    ax = fig.subplots()
    for name, values in curves.items():
        ax.stairs(values, z_edges, label=name)
    ax.set_xlabel("redshift $z$")
    ax.set_ylabel(f"expected clusters per $\\Delta z = {np.diff(z_edges)[0]:.2g}$")
    if isinstance(counts, dict):
        ax.set_title(label, fontsize=10)
    ax.legend(frameon=False)
    fig.tight_layout()
    return save_png(fig, path, 120)


def plot_xod(xod: np.ndarray, binning, path: str | Path, title: str = "XOD") -> Path:
    """One CR-HR panel per redshift bin (counts per bin, log colour scale), CR in counts/s [0.5-2] keV."""
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import NullFormatter

    z_e, cr_e, hr_e = binning.edges
    n_z = xod.shape[0]
    ncol = min(4, n_z)
    nrow = int(np.ceil(n_z / ncol))
    fig = figure((3.0 * ncol, 2.7 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False, sharex=True, sharey=True)
    positive = xod[xod > 0]
    vmin, vmax = (positive.min(), positive.max()) if positive.size else (1e-3, 1.0)
    norm = LogNorm(vmin=max(vmin, vmax * 1e-3), vmax=vmax)
    for k, ax in enumerate(axes.flat):
        if k >= n_z:
            ax.set_visible(False)
            continue
        image = ax.pcolormesh(hr_e, cr_e, np.where(xod[k] > 0, xod[k], np.nan), norm=norm, cmap="viridis")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{z_e[k]:.2f} < z < {z_e[k + 1]:.2f}", fontsize=9)
        if k % ncol == 0:
            ax.set_ylabel("CR [0.5-2] keV [c/s]")
        if k >= n_z - ncol:
            ax.set_xlabel("HR = CR[1-2] / CR[0.5-1]")
    fig.colorbar(image, ax=axes, shrink=0.8, label="clusters per bin")
    fig.suptitle(f"{title}: {xod.sum():.1f} clusters")
    return save_png(fig, path, 110)
