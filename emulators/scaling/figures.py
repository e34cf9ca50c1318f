"""Figures of the scaling-relation emulator: the paper's figure 13 and figure B.1, a relation with its band, and the
cross-validation.

- :func:`plot_feedback_dependence` (figure 13): the CR-M slope and scatter against A_SN1 for several A_SN2, the other
  parameters at the fiducial and z = 0.21, the emulator's mean and 1-sigma band, with the measured design points
  (whose other parameters differ: they are shown for the spread the emulator was fitted on, coloured by A_SN2);
- :func:`plot_four_feedbacks` (figure B.1): the same quantity over the (A_SN1, A_SN2) plane for a 3 x 3 grid of
  (A_AGN1, A_AGN2);
- :func:`plot_relation`: the CR-M relation at one point, mean and band of the normalisation and slope;
- :func:`plot_validation`: the cross-validated standardised residuals per quantity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emulators.scaling.relations import PIVOT_MASS, RELATION_NAMES
from xcosmo.params import PRIOR, Params
from xcosmo.plots import figure, save_png

__all__ = ["plot_feedback_dependence", "plot_four_feedbacks", "plot_relation", "plot_validation", "LABELS"]

LABELS = {"cr_norm": "log10 CR(M_pivot) [c/s]", "cr_slope": "CR-M slope", "cr_scatter": "CR-M scatter [dex]",
          "hr_norm": "log10 HR(M_pivot)", "hr_slope": "HR-M slope", "hr_scatter": "HR-M scatter [dex]",
          "correlation": "CR-HR residual correlation"}  # fmt: skip
FIGURE_Z = 0.21


def _theta(**changes) -> np.ndarray:
    base = dict(zip(("omega_m", "sigma_8", "a_sn1", "a_sn2", "a_agn1", "a_agn2"), np.asarray(Params.fiducial().to_array())))
    base.update(changes)
    return np.array(list(base.values()), np.float64)


def plot_feedback_dependence(emulator, path, data: dict | None = None, z: float = FIGURE_Z,
                             quantities=("cr_slope", "cr_scatter")) -> Path:  # fmt: skip
    """Figure 13 (module docstring); ``data``: :func:`emulators.scaling.training.measurements`, drawn if given."""
    import matplotlib.cm as cm

    b1, b2 = PRIOR.bound("a_sn1"), PRIOR.bound("a_sn2")
    a_sn1 = np.geomspace(b1.low, b1.high, 60)
    a_sn2_values = np.geomspace(b2.low, b2.high, 4)
    colours = cm.viridis(np.linspace(0, 0.9, len(a_sn2_values)))
    fig = figure((4.2 * len(quantities), 3.4))
    for k, name in enumerate(quantities):
        ax = fig.add_subplot(1, len(quantities), k + 1)
        j = RELATION_NAMES.index(name)
        for a_sn2, colour in zip(a_sn2_values, colours):
            theta = np.stack([_theta(a_sn1=v, a_sn2=a_sn2) for v in a_sn1])
            mean, std = emulator.predict(theta, np.full(len(a_sn1), z))[name]
            ax.plot(a_sn1, mean, color=colour, label=f"A_SN2 = {a_sn2:.2f}")
            ax.fill_between(a_sn1, mean - std, mean + std, color=colour, alpha=0.2)
        if data is not None:
            t = data["theta_z"]
            norm = (np.log(t[:, 3]) - np.log(b2.low)) / (np.log(b2.high) - np.log(b2.low))
            ax.errorbar(t[:, 2], data["value"][:, j], yerr=data["error"][:, j], fmt="none", ecolor="grey", alpha=0.5)
            ax.scatter(t[:, 2], data["value"][:, j], c=cm.viridis(0.9 * norm), s=12, edgecolors="k", linewidths=0.3,
                       label="measured (all design points)")  # fmt: skip
        _feedback_axis(ax, "x", b1)
        ax.set_xlabel("A_SN1")
        ax.set_ylabel(LABELS[name])
        ax.legend(fontsize=7)
    fig.suptitle(f"emulated relations at z = {z:g}, other parameters fiducial", fontsize=9)
    fig.tight_layout()
    return save_png(fig, path, 120)


def _feedback_axis(ax, which: str, bound) -> None:
    """A feedback amplitude's axis (``which``: "x" or "y"): logarithmic, labelled at the powers of two inside its
    prior ``bound``."""
    from matplotlib.ticker import NullFormatter

    getattr(ax, f"set_{which}scale")("log")
    axis = getattr(ax, f"{which}axis")
    ticks = [t for t in (0.25, 0.5, 1.0, 2.0, 4.0) if bound.low <= t <= bound.high]
    axis.set_ticks(ticks, [f"{t:g}" for t in ticks])
    axis.set_minor_formatter(NullFormatter())


def plot_four_feedbacks(emulator, path, name: str = "cr_slope", z: float = FIGURE_Z) -> Path:
    """Figure B.1 (module docstring): ``name`` over (A_SN1, A_SN2) for a 3 x 3 grid of (A_AGN1, A_AGN2)."""
    j = RELATION_NAMES.index(name)
    b = {n: PRIOR.bound(n) for n in ("a_sn1", "a_sn2", "a_agn1", "a_agn2")}
    sn1 = np.geomspace(b["a_sn1"].low, b["a_sn1"].high, 25)
    sn2 = np.geomspace(b["a_sn2"].low, b["a_sn2"].high, 25)
    agn1 = np.geomspace(b["a_agn1"].low, b["a_agn1"].high, 3)
    agn2 = np.geomspace(b["a_agn2"].low, b["a_agn2"].high, 3)
    grids = {}
    for r, a2 in enumerate(agn2[::-1]):
        for c, a1 in enumerate(agn1):
            theta = np.stack([_theta(a_sn1=x, a_sn2=y, a_agn1=a1, a_agn2=a2) for y in sn2 for x in sn1])
            grids[r, c] = emulator.predict(theta, np.full(len(theta), z))[RELATION_NAMES[j]][0].reshape(len(sn2), len(sn1))
    lo, hi = min(g.min() for g in grids.values()), max(g.max() for g in grids.values())
    fig = figure((10.0, 9.0))
    for (r, c), grid in grids.items():
        ax = fig.add_subplot(3, 3, 3 * r + c + 1)
        im = ax.pcolormesh(sn1, sn2, grid, vmin=lo, vmax=hi, cmap="viridis", shading="auto")
        _feedback_axis(ax, "x", b["a_sn1"])
        _feedback_axis(ax, "y", b["a_sn2"])
        ax.set_title(f"A_AGN1 = {agn1[c]:.2f}, A_AGN2 = {agn2[::-1][r]:.2f}", fontsize=8)
        if r == 2:
            ax.set_xlabel("A_SN1")
        if c == 0:
            ax.set_ylabel("A_SN2")
    fig.colorbar(im, ax=fig.axes, label=LABELS[name], shrink=0.8)
    fig.suptitle(f"{LABELS[name]} at z = {z:g}, Omega_m and sigma_8 fiducial", fontsize=10)
    return save_png(fig, path, 110)


def plot_relation(emulator, theta, z: float, path, m_range=(5e12, 1e15)) -> Path:
    """The CR-M relation at ``theta`` and ``z``: the emulator's mean with the band of its normalisation and slope
    errors (added in quadrature at each mass) and the intrinsic scatter around it."""
    out = emulator.predict(np.asarray(theta, np.float64), z)
    m = np.geomspace(*m_range, 100)
    x = np.log10(m / PIVOT_MASS)
    a, sa = (float(v) for v in out["cr_norm"])
    s_, ss = (float(v) for v in out["cr_slope"])
    sig = float(out["cr_scatter"][0])
    mean = a + s_ * x
    band = np.sqrt(sa**2 + (ss * x) ** 2)
    fig = figure((5.0, 3.8))
    ax = fig.add_subplot(1, 1, 1)
    ax.fill_between(m, 10 ** (mean - sig), 10 ** (mean + sig), color="tab:orange", alpha=0.15, label=f"scatter {sig:.2f} dex")
    ax.fill_between(m, 10 ** (mean - band), 10 ** (mean + band), color="tab:blue", alpha=0.4, label="emulator 1-sigma")
    ax.plot(m, 10**mean, color="tab:blue")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("M (voxels above 200 rho_c) [Msun/h]")
    ax.set_ylabel("CR [0.5-2] keV [counts/s]")
    ax.set_title(f"CR-M at z = {z:g}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_png(fig, path, 120)


def plot_validation(report: dict, path) -> Path:
    """Histograms of the cross-validated standardised residuals per quantity (:func:`~emulators.scaling.training.
    validate`), with the unit normal."""
    pulls = np.asarray(report["pulls"])
    fig = figure((12.0, 5.0))
    grid = np.linspace(-4, 4, 200)
    for j, name in enumerate(RELATION_NAMES):
        ax = fig.add_subplot(2, 4, j + 1)
        ax.hist(pulls[:, j], bins=np.linspace(-4, 4, 17), density=True, color="tab:blue", alpha=0.6)
        ax.plot(grid, np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi), "k--", lw=1)
        ax.set_title(f"{name}: std {report['pull_std'][name]:.2f}", fontsize=8)
    fig.suptitle(f"{report['n_points']} design points, each held out once ({report['folds']}-fold cross-validation)",
                 fontsize=9)
    fig.tight_layout()
    return save_png(fig, path, 110)
