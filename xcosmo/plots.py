"""PNG figures (matplotlib, Agg backend). Each function takes arrays with units and writes one file atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xcosmo.io import atomic_path

__all__ = ["plot_mass_function", "plot_dndz"]


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
