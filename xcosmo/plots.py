"""PNG figures (matplotlib, Agg backend). Each function takes arrays with units and writes one file atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xcosmo.io import atomic_path

__all__ = ["plot_mass_function", "plot_dndz", "plot_xod"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_mass_function(m: np.ndarray, z: np.ndarray, dndlnm: np.ndarray, mdef: str, path: str | Path) -> Path:
    """dn/dlnM [(Mpc/h)^-3] against M [Msun/h], one curve per redshift (``dndlnm`` has shape (len(z), len(m)))."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for zi, row in zip(z, dndlnm):
        ax.loglog(m, row, label=f"z = {zi:.2f}")
    ax.set_xlabel(f"$M_{{\\rm {mdef}}}$ [$h^{{-1}}\\,M_\\odot$]")
    ax.set_ylabel(r"$dn/d\ln M$ [$h^3\,{\rm Mpc}^{-3}$]")
    ax.set_title("Tinker et al. (2008) mass function")
    ax.legend(frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_dndz(z_edges: np.ndarray, counts: np.ndarray, label: str, path: str | Path) -> Path:
    """Histogram of expected counts per redshift bin (``counts`` has len(z_edges) - 1 entries)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.stairs(counts, z_edges, label=label)
    ax.set_xlabel("redshift $z$")
    ax.set_ylabel(f"expected haloes per $\\Delta z = {np.diff(z_edges)[0]:.2g}$")
    ax.legend(frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_xod(xod: np.ndarray, binning, path: str | Path, title: str = "XOD") -> Path:
    """One CR-HR panel per redshift bin (counts per bin, log colour scale), CR in counts/s [0.5-2] keV."""
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import NullFormatter

    plt = _pyplot()
    z_e, cr_e, hr_e = binning.edges
    n_z = xod.shape[0]
    ncol = min(4, n_z)
    nrow = int(np.ceil(n_z / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.0 * ncol, 2.7 * nrow), squeeze=False, sharex=True, sharey=True)
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
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)
