"""The comparison's outputs: the tables as Markdown (``report.md``, what the README shows: per point each posterior's
FoM, marginal errors and degeneracy, then the correlation coefficient of every pair of parameters; table 3; the
conclusion) and the figures as PNG.

- ``corner_<k>.png`` (figures 10-11): at point k, the six physical parameters of the emulated-relation model's NUTS and
  Fisher posteriors and of the NPE, overlaid; Fisher posteriors are drawn as Gaussian samples of their covariance;
- ``cosmology_<k>.png``: the (Omega_m, sigma_8) plane of every model at point k, the analytical model's included;
- ``figure12.png``: the (Omega_m, sigma_8) posteriors of the NPEs of every summary statistic at the fiducial point.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from inference.compare.measures import COSMOLOGY

__all__ = ["markdown", "corner_figure", "cosmology_figure", "PAPER_TABLE3"]

PAPER_TABLE3 = {"z-cr-hr": (17, 0.068, 0.090), "cr-hr": (14, 0.076, 0.11), "z-cr": (10, 0.082, 0.12),
                "z": (9, 0.087, 0.13)}  # fmt: skip
"""The paper's table 3 (FoM, Delta Omega_m, Delta sigma_8 at 68%) per summary statistic (its (CR, z) row is z-cr)."""

_COLORS = {"analytic NUTS": "tab:gray", "analytic Fisher": "k", "emulated NUTS": "tab:blue",
           "emulated Fisher": "tab:cyan", "NPE": "tab:red"}  # fmt: skip


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def markdown(report: dict) -> str:
    """The Markdown of the report's tables (module docstring of :mod:`inference.compare.study`)."""
    lines = [f"Training set of the NPEs: {report['training_set']}."]
    if "light_cones" in report:
        lc = report["light_cones"]
        lines.append(f"Training set of 'NPE (light cones)': {lc['n']} simulated light cones of {lc['area_deg2']:g} "
                     f"deg^2 ({lc['train']} in the training split; {lc['store']}), shown on one light cone simulated "
                     f"at each point; smallest SBC p-value "
                     f"{min(lc['sbc_ks_pvalue'].values()):.3f}.")  # fmt: skip
    lines.append("")
    for k, point in enumerate(report["points"]):
        theta = ", ".join(_fmt(v) for v in point["theta"])
        lines += [f"**Point {k}**: theta_sim = ({theta})", "",
                  "| posterior | FoM (Omega_m, sigma_8) | marginal errors | largest cosmology-other abs(correlation) |",
                  "|---|---|---|---|"]  # fmt: skip
        for label, m in point["posteriors"].items():
            errors = ", ".join(f"{n} {_fmt(e)}" for n, e in zip(m["names"], m["errors"]))
            d = m["degeneracy"]
            lines.append(f"| {label} | {_fmt(m['fom'])} | {errors} | {d['abs_correlation']:.2f} ({d['pair'][0]}, "
                         f"{d['pair'][1]}) |")  # fmt: skip
        lines += ["", f"Correlation coefficients at point {k}:", "", *_correlation_table(point["posteriors"]), ""]
    lines += ["**Table 3** (fiducial point; NPE: mean and standard deviation over seeds; Fisher: the explicit models "
              "on the same statistic)", "",
              "| summary | NPE FoM | NPE Delta Omega_m | NPE Delta sigma_8 | SBC min p | emulated Fisher FoM | "
              "analytical Fisher FoM | paper FoM, Delta Omega_m, Delta sigma_8 |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for summary, row in report["table3"].items():
        npe = row["npe"]
        paper = ", ".join(_fmt(v) for v in PAPER_TABLE3[summary])
        lines.append(f"| {summary} | {_fmt(npe['fom'][0])} +- {_fmt(npe['fom'][1])} | "
                     f"{_fmt(npe['omega_m'][0])} +- {_fmt(npe['omega_m'][1])} | "
                     f"{_fmt(npe['sigma_8'][0])} +- {_fmt(npe['sigma_8'][1])} | {npe['sbc_min_p']:.3f} | "
                     f"{_fmt(row['emulated Fisher']['fom'])} | {_fmt(row['analytic Fisher']['fom'])} | {paper} |")  # fmt: skip
    lines += ["", *_calibration_table(report.get("calibration", {}), report.get("sbc_xods"))]
    c = report["conclusion"]
    lines += ["", f"Degeneracy with cosmology at the fiducial point: analytical model {c['analytic']:.2f}, physical "
              f"models {c['physical']:.2f} (largest abs(correlation) between Omega_m or sigma_8 and another "
              f"parameter). The paper's conclusion (the physical parametrisation is less degenerate with cosmology) "
              f"{'holds' if c['holds'] else 'does not hold'} here.", ""]  # fmt: skip
    return "\n".join(lines)


def _calibration_table(calibration: dict[str, dict[str, float]], n_xods: int | None = None) -> list[str]:
    """Every NPE's SBC Kolmogorov-Smirnov p-values (on ``n_xods`` held-out XODs each), and how many fall below 0.01
    against the number expected of calibrated posteriors (one in a hundred: the p-values of a calibrated posterior are
    uniform)."""
    if not calibration:
        return []
    names = list(next(iter(calibration.values())))
    p = np.array([[c[n] for n in names] for c in calibration.values()])
    on = "its held-out XODs" if n_xods is None else f"{n_xods} held-out XODs each"
    lines = [f"SBC Kolmogorov-Smirnov p-values of every NPE on {on}:", "",
             "| NPE | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]  # fmt: skip
    lines += [f"| {label} | " + " | ".join(f"{v:.3f}" for v in row) + " |" for label, row in zip(calibration, p)]
    return lines + ["", f"{int((p < 0.01).sum())} of {p.size} p-values below 0.01 ({0.01 * p.size:.2g} expected of "
                        "calibrated posteriors)."]  # fmt: skip


def _correlation_table(posteriors: dict[str, dict]) -> list[str]:
    """Markdown rows: the correlation coefficient of every pair of parameters (one row per pair) in every posterior
    (one column each; empty where a posterior lacks one of the pair)."""
    labels = list(posteriors)
    names = list(dict.fromkeys(n for m in posteriors.values() for n in m["names"]))
    rows = ["| pair | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for a, b in itertools.combinations(names, 2):
        cells = [f"{m['correlation'][m['names'].index(a)][m['names'].index(b)]:+.2f}"
                 if a in m["names"] and b in m["names"] else "" for m in posteriors.values()]  # fmt: skip
        if any(cells):
            rows.append(f"| {a}, {b} | " + " | ".join(cells) + " |")
    return rows


def _samples(posterior: dict, names: list[str], n: int = 20_000, seed: int = 0) -> np.ndarray:
    """Draws of ``names`` from a posterior entry: its own draws, or Gaussian ones of a Fisher covariance."""
    idx = [posterior["names"].index(nm) for nm in names]
    if "draws" in posterior:
        return np.asarray(posterior["draws"])[:, idx]
    err = np.asarray(posterior["errors"])[idx]
    cov = np.asarray(posterior["correlation"])[np.ix_(idx, idx)] * np.outer(err, err)
    return np.random.default_rng(seed).multivariate_normal(np.asarray(posterior["mean"])[idx], cov, n)


def _save(fig, path: Path) -> Path:
    from xcosmo.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return path


def corner_figure(posteriors: dict[str, dict], names: list[str], truth, path: Path) -> Path:
    """Corner plot of ``names`` for every posterior (label -> entry with draws or a Fisher covariance), overlaid."""
    import corner
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(2.0 * len(names) + 1,) * 2)
    FigureCanvasAgg(fig)
    samples = {label: _samples(p, names) for label, p in posteriors.items()}
    lo = np.min([np.percentile(s, 0.5, axis=0) for s in samples.values()], axis=0)
    hi = np.max([np.percentile(s, 99.5, axis=0) for s in samples.values()], axis=0)
    for label, s in samples.items():
        corner.corner(s, fig=fig, labels=names, range=list(zip(lo, hi)), color=_COLORS.get(label, "tab:green"),
                      truths=truth, truth_color="k", plot_datapoints=False, plot_density=False, levels=(0.68, 0.95),
                      hist_kwargs={"density": True})  # fmt: skip
    fig.legend([Line2D([], [], color=_COLORS.get(lb, "tab:green")) for lb in samples], list(samples),
               loc="upper right")  # fmt: skip
    return _save(fig, Path(path))


def cosmology_figure(posteriors: dict[str, dict], truth, path: Path, title: str = "") -> Path:
    """68% and 95% contours of (Omega_m, sigma_8) of every posterior on one panel."""
    import corner
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(5, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = {}
    for i, (label, p) in enumerate(posteriors.items()):
        colors[label] = _COLORS.get(label, f"C{i}")
        s = _samples(p, list(COSMOLOGY))
        corner.hist2d(s[:, 0], s[:, 1], ax=ax, color=colors[label], levels=(0.68, 0.95), plot_datapoints=False,
                      plot_density=False)  # fmt: skip
    ax.plot(*truth, "k+", ms=12)
    ax.set(xlabel="Omega_m", ylabel="sigma_8", title=title)
    ax.legend([Line2D([], [], color=c) for c in colors.values()], list(colors), fontsize=8)
    return _save(fig, Path(path))
