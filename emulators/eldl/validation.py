"""How well a painter reproduces its targets on held-out boxes (paper 2.2, figures 5 and 6), measured as the paper
does on the CV test boxes at z = 0.21 (:data:`FIGURE_Z`).

**Voxels** (figure 5): in the voxels whose dark matter is above ``VOXEL_OVERDENSITY`` rho_c, a power law log10 n_e = a + b log10(rho_DM / rho_c) is fitted to the target and another to the
painter; each voxel's deviation from the target's power law is computed for both, and their correlation says how
much of the target's structure beyond the mean relation the painter reproduces.

**Clusters** (figure 6, as paper 4.2): each box is projected along its three axes; haloes are detected with sep on
the map of the maximum rho_DM / rho_c along the line of sight with the threshold 200, their mass is the column mass
of the voxels above 200 rho_c summed over the mask (:func:`xcosmo.detect.detect_mass`), and their count rates
CR_[0.5-2] the target's and the painter's count-rate maps summed over the same mask (EPIC pn+MOS1+MOS2 at the box's
redshift, :func:`xcosmo.xray.voxel_count_rates`). For each, the CR-M relation log10 CR = A + B log10 M is fitted
(normalisation at M = 1e14 Msun/h, slope, scatter in dex); the clusters' deviations from the target's relation give
the correlation of target and painter deviations, and log10 CR_painter - log10 CR_target the prediction errors.
The relations are fitted above ``M_MIN``, where the detections are haloes of a few voxels' core rather than single
voxels near the threshold.

**Ceiling**: the same figures for the targets made again without their random per-halo part
(:func:`emulators.data.suite.remake_box` with zero ``sigma_f`` and ``sigma_t``) read as a painter: the best any
painter of the dark matter could do on these targets.

The comparisons take painted fields, so that a painter and a set of fixed fields (the ceiling) go through the same
code: :func:`paint` makes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Union

import jax
import jax.numpy as jnp
import numpy as np

from emulators.eldl.samples import Sample
from xcosmo.constants import DETECTION_OVERDENSITY, RHO_CRIT_0
from xcosmo.cosmology import Cosmology, efunc
from xcosmo.nbody import Box, density
from xcosmo.params import Params

__all__ = ["VOXEL_OVERDENSITY", "CLUSTER_PIVOT", "M_MIN", "FIGURE_Z", "paint", "target_fields", "rho_over_rho_c",
           "voxel_comparison",
           "cluster_rates", "cluster_comparison", "validation_report", "plot_clusters", "plot_voxels"]

VOXEL_OVERDENSITY = 10.0
"""rho_DM / rho_c above which voxels enter the voxel-level comparison: the collapsed regions the X-ray emission
comes from, as the PM input resolves them (at 0.39 Mpc/h few voxels pass 200)."""
CLUSTER_PIVOT = 1e14
"""Mass (Msun/h) at which the CR-M normalisation is quoted."""
POINTS_SHOWN = 4000
"""Voxels (a random subset) kept in the report for figure 5."""
M_MIN = 5e12
"""Smallest detected mass (Msun/h) of the clusters whose CR-M relations are compared."""
FIGURE_Z = 0.21
"""Redshift of the paper's figures 5 and 6 (the CV test set)."""

Painter = Callable[[jax.Array, Box, float, Params], tuple[jax.Array, jax.Array]]
Fields = tuple[np.ndarray, np.ndarray]


def rho_over_rho_c(sample: Sample) -> np.ndarray:
    """rho_DM / rho_c(z) of a sample's PM dark matter on its mesh."""
    cosmo = Cosmology.from_params(Params.from_array(sample.theta))
    z = sample.z
    return np.asarray(sample.rho) * float(cosmo.omega_m) * (1 + z) ** 3 / float(efunc(cosmo, z)) ** 2


def _line(x, y):
    """Least-squares line y = a + b x; returns (a, b, residuals)."""
    b, a = np.polyfit(x, y, 1)
    return a, b, y - (a + b * x)


def paint(painter: Painter, sample: Sample, voxel_mpc_h: float = 0.39) -> Fields:
    """(n_e [comoving cm^-3], kT [keV]) of ``painter`` on one sample, as numpy arrays."""
    ne, kt = painter(sample.dx, Box(sample.dx.shape[:3], voxel_mpc_h), sample.z, Params.from_array(sample.theta))
    return np.asarray(ne), np.asarray(kt)


def target_fields(sample: Sample) -> Fields:
    """A sample's target (n_e [comoving cm^-3], kT [keV]), as :func:`paint` gives a painter's."""
    from emulators.eldl.eldl import H, OMEGA_B
    from xcosmo.painting import mean_electron_density

    return np.asarray(sample.ne) * float(mean_electron_density(OMEGA_B, H)), np.asarray(sample.kt)


def voxel_comparison(samples: Sequence[Sample], painted: Sequence[Fields]) -> dict:
    """The voxel-level comparison of the module docstring of the ``painted`` fields of ``samples``: the target's and
    painter's power laws (intercept at rho/rho_c = 1, slope) and the correlation of their deviations from the
    target's."""
    x, target, fitted = [], [], []
    for s, (ne, _) in zip(samples, painted, strict=True):
        rho_c = rho_over_rho_c(s)
        ne_t = target_fields(s)[0]
        keep = (rho_c >= VOXEL_OVERDENSITY) & (ne_t > 0) & (ne > 0)
        x.append(np.log10(rho_c[keep]))
        target.append(np.log10(ne_t[keep]))
        fitted.append(np.log10(ne[keep]))
    x, target, fitted = (np.concatenate(v) for v in (x, target, fitted))
    if x.size < 10:
        raise ValueError(f"{x.size} voxels above {VOXEL_OVERDENSITY:g} rho_c with gas: too few to compare")
    a_t, b_t, dev_t = _line(x, target)
    a_p, b_p, _ = _line(x, fitted)
    dev_p = fitted - (a_t + b_t * x)
    shown = np.random.default_rng(0).choice(x.size, size=min(x.size, POINTS_SHOWN), replace=False)
    return {"n_voxels": int(x.size), "target_power_law": [float(a_t), float(b_t)],
            "painter_power_law": [float(a_p), float(b_p)], "deviation_correlation": float(np.corrcoef(dev_t, dev_p)[0, 1]),
            "points": {"log_rho_over_rho_c": x[shown].tolist(), "log_ne_target": target[shown].tolist(),
                       "log_ne_painter": fitted[shown].tolist()}}  # fmt: skip


def cluster_rates(sample: Sample, painted: Fields, voxel_mpc_h: float = 0.39,
                  threshold: float = DETECTION_OVERDENSITY) -> dict[str, np.ndarray]:  # fmt: skip
    """Masses (Msun/h) and CR_[0.5-2] (counts/s) of the target and the ``painted`` fields for the haloes detected on
    the three projections of one box (module docstring; ``threshold`` in rho_DM / rho_c, the paper's 200)."""
    from xcosmo.detect import DEFAULT_MASS_DETECTION, projected_haloes
    from xcosmo.xray import voxel_count_rates

    cosmo = Cosmology.from_params(Params.from_array(sample.theta))
    rates = {}
    for name, (n_e, t) in {"target": target_fields(sample), "painter": painted}.items():
        soft, hard = voxel_count_rates(cosmo, jnp.asarray(n_e), jnp.asarray(t), sample.z, voxel_mpc_h)
        rates[name] = np.asarray(soft + hard)
    rho_c = rho_over_rho_c(sample)
    mass = np.where(rho_c >= threshold, np.asarray(density(sample.dx)), 0.0) * (
        float(cosmo.omega_m) * RHO_CRIT_0 * voxel_mpc_h**3)  # fmt: skip
    detection = dataclasses.replace(DEFAULT_MASS_DETECTION, threshold=threshold)
    tables = [projected_haloes(rho_c, mass, rates, axis, detection) for axis in range(3)]
    out = {k: [np.asarray(t[k]) for t in tables] for k in ("mass", "target", "painter")}
    return {k: np.concatenate(v) for k, v in out.items()}


def cluster_comparison(rates: dict[str, np.ndarray], m_min: float = M_MIN) -> dict:
    """CR-M relations of target and painter over the clusters of ``rates`` (:func:`cluster_rates`, concatenated)
    above ``m_min``, the correlation of their deviations from the target's relation, and the prediction errors."""
    keep = (rates["mass"] > m_min) & (rates["target"] > 0) & (rates["painter"] > 0)
    if keep.sum() < 5:
        raise ValueError(f"{int(keep.sum())} clusters with count rates above m_min = {m_min:g}: too few to fit")
    x = np.log10(rates["mass"][keep] / CLUSTER_PIVOT)
    target, painted = np.log10(rates["target"][keep]), np.log10(rates["painter"][keep])
    a_t, b_t, dev_t = _line(x, target)
    a_p, b_p, dev_own = _line(x, painted)
    dev_p = painted - (a_t + b_t * x)
    errors = painted - target
    return {"n_clusters": int(keep.sum()),
            "target": {"normalisation": float(a_t), "slope": float(b_t), "scatter_dex": float(np.std(dev_t))},
            "painter": {"normalisation": float(a_p), "slope": float(b_p), "scatter_dex": float(np.std(dev_own))},
            "deviation_correlation": float(np.corrcoef(dev_t, dev_p)[0, 1]),
            "error_scatter_dex": float(np.std(errors)), "error_median_dex": float(np.median(errors))}  # fmt: skip


def validation_report(painters: dict[str, Union[Painter, Sequence[Fields]]], test: Sequence[Sample], *,
                      threshold: float = DETECTION_OVERDENSITY, m_min: float = M_MIN) -> dict:  # fmt: skip
    """Figures 5 and 6 for each named painter over the held-out CV boxes at :data:`FIGURE_Z` among ``test``: voxels
    over all of them, clusters over the three projections of each. A painter is a callable or the fields it painted
    on each of those boxes, in their order (the ceiling). The cluster rates are kept for the figures."""
    boxes = [s for s in test if s.role == "CV" and abs(s.z - FIGURE_Z) < 1e-6]
    if not boxes:
        raise ValueError(f"no held-out CV box at z = {FIGURE_Z:g} to validate on (the store has none, or it was not read)")
    report = {"boxes": [s.index for s in boxes], "m_min": m_min, "threshold": threshold}
    for name, painter in painters.items():
        painted = [paint(painter, s) for s in boxes] if callable(painter) else list(painter)
        parts = [cluster_rates(s, p, threshold=threshold) for s, p in zip(boxes, painted, strict=True)]
        rates = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        report[name] = {"voxels": voxel_comparison(boxes, painted), "clusters": cluster_comparison(rates, m_min),
                        "rates": {k: v.tolist() for k, v in rates.items()}}  # fmt: skip
    return report


def plot_clusters(report: dict, path) -> None:
    """Figure 6 for each painter of a :func:`validation_report`: CR-M of target and painter, painter deviations
    against target deviations, and the histogram of log CR errors."""
    from xcosmo.plots import figure, save_png

    names = [k for k, v in report.items() if isinstance(v, dict) and "rates" in v]
    fig = figure(figsize=(12, 3.6 * len(names)))
    axes = fig.subplots(len(names), 3, squeeze=False)
    for row, name in enumerate(names):
        r = {k: np.asarray(v) for k, v in report[name]["rates"].items()}
        keep = (r["target"] > 0) & (r["painter"] > 0) & (r["mass"] > report["m_min"])
        m, t, p = r["mass"][keep], np.log10(r["target"][keep]), np.log10(r["painter"][keep])
        fit = report[name]["clusters"]["target"]
        ref = fit["normalisation"] + fit["slope"] * np.log10(m / CLUSTER_PIVOT)
        ax = axes[row, 0]
        ax.scatter(m, t, s=6, color="0.3", label="target")
        ax.scatter(m, p, s=6, color="C3", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("M (Msun/h, rho_DM > 200 rho_c)")
        ax.set_ylabel("log10 CR [0.5-2] keV (c/s)")
        ax.legend(fontsize=7)
        axes[row, 1].scatter(t - ref, p - ref, s=6, color="C3")
        axes[row, 1].axline((0, 0), slope=1, color="k", lw=0.5)
        axes[row, 1].set_xlabel("target deviation from its CR-M (dex)")
        axes[row, 1].set_ylabel(f"{name} deviation (dex)")
        axes[row, 1].set_title(f"correlation {report[name]['clusters']['deviation_correlation']:.2f}", fontsize=9)
        axes[row, 2].hist(p - t, bins=30, color="C3")
        axes[row, 2].set_xlabel(f"log10 CR {name} - target")
        axes[row, 2].set_title(f"scatter {report[name]['clusters']['error_scatter_dex']:.3f} dex", fontsize=9)
    fig.tight_layout()
    save_png(fig, path, dpi=90)


def plot_voxels(report: dict, path) -> None:
    """Figure 5 for each painter of a :func:`validation_report`: n_e against rho_DM / rho_c of a random subset of
    the voxels, target and painter, with both power laws."""
    from xcosmo.plots import figure, save_png

    names = [k for k, v in report.items() if isinstance(v, dict) and "voxels" in v]
    fig = figure(figsize=(4.2 * len(names), 3.8))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        v = report[name]["voxels"]
        pts = {k: np.asarray(p) for k, p in v["points"].items()}
        ax.scatter(pts["log_rho_over_rho_c"], pts["log_ne_target"], s=2, color="C0", alpha=0.3, label="target")
        ax.scatter(pts["log_rho_over_rho_c"], pts["log_ne_painter"], s=2, color="C3", alpha=0.3, label=name)
        x = np.linspace(pts["log_rho_over_rho_c"].min(), pts["log_rho_over_rho_c"].max(), 2)
        for (a, b), color in ((v["target_power_law"], "C0"), (v["painter_power_law"], "C3")):
            ax.plot(x, a + b * x, color=color, lw=1.5)
        ax.set_xlabel("log10 rho_DM / rho_c")
        ax.set_ylabel("log10 n_e (comoving cm^-3)")
        ax.set_title(f"{name}: deviation correlation {v['deviation_correlation']:.2f}", fontsize=9)
        ax.legend(fontsize=7, markerscale=4)
    fig.tight_layout()
    save_png(fig, path, dpi=90)
