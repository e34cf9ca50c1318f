"""The synthetic suite against CAMELS IllustrisTNG (issue 15): every comparison in one report, as JSON and figures.

* **fiducial stacks** (calibration data): 1P_27 at z = 0.54, 0.21 and 0 in the mass bins the boxes resolve, the
  residuals of log density and log temperature at 0.1-1 R200c in units of the stacks' halo-to-halo scatter;
* **A_AGN1 sweep** (calibration data): d log10 rho / d ln A_AGN1 of the z = 0 stacks, CAMELS and model;
* **group gas fractions**: f_gas,500 of haloes of log M500c 12.8-13.3 (CAMELS: 0.08-0.11);
* **box groups** (:mod:`emulators.data.responses`): responses of the median f_gas,500 and T_mw to each amplitude,
  halo-to-halo scatters, and the correlation of each group's gas-fraction deviation with the one its dark matter
  implies, on a fiducial box that was not used in the calibration;
* **held out**: the model stacks at the parameters of LH_0-13 (z = 0.54) against the CAMELS LH stacks, which no fit
  has seen: median ratio model / CAMELS and scatter (dex) of the density and temperature over the 14 runs and the
  radii at 0.1-1 R200c, per mass bin.

The data folder is CAMELS' layout as in ``shared/data/camels``: ``profiles/``, ``redshift_table.txt`` and
``CosmoAstroSeed_IllustrisTNG_L25n256_LH.txt``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from emulators.data.calibration import (
    agn1_sweep_targets,
    camels_agn1_shift,
    camels_targets,
    model_agn1_shift,
    model_stack,
)
from emulators.data.camels import CAMELS_OMEGA_B, read_parameter_table
from emulators.data.feedback import CAMELS_RESPONSES, feedback_gas_model, group_halo
from emulators.data.gas_profiles import GasModel, duffy08_concentration, halo_observables, halo_profiles

__all__ = ["group_gas_fractions", "held_out_lh", "validation_report", "plot_stacks", "plot_checks", "HELD_OUT"]

HELD_OUT = tuple(f"LH_{i}" for i in range(14))
"""The CAMELS LH runs whose stacks are the held-out check (never fitted)."""
LH_TABLE = "CosmoAstroSeed_IllustrisTNG_L25n256_LH.txt"


def _paths(data_dir):
    data_dir = Path(data_dir)
    for need in ("profiles", "redshift_table.txt"):
        if not (data_dir / need).exists():
            raise FileNotFoundError(f"CAMELS data folder {str(data_dir)!r} has no {need!r} (see emulators.data.validation)")
    return data_dir / "profiles", data_dir / "redshift_table.txt"


def held_out_lh(data_dir: str | os.PathLike, simulations=HELD_OUT, snapshot: int = 24) -> dict:
    """Model stacks at the parameters of the held-out LH runs against their CAMELS stacks (module docstring).

    Returns ``{"per_simulation": [...], "bins": {"12.3-13.1": {"density": {"median_ratio", "scatter_dex"},
    "temperature": {...}, "n_simulations"}}}``.
    """
    profiles, redshifts = _paths(data_dir)
    table = read_parameter_table(Path(data_dir) / LH_TABLE)
    rows, per_bin = [], {}
    for name in simulations:
        theta = table.row(name)
        omega_m = float(theta[0])
        for t in camels_targets(profiles, redshifts, simulation=name, snapshots=(snapshot,), omega_m=omega_m,
                                bins=((12.0, 12.3), (12.3, 13.1))):  # fmt: skip
            log_rho, log_t = model_stack(t, feedback_gas_model(theta, z=t.z), omega_m=omega_m)
            key = t.label.split("logM ")[1]
            d_rho, d_t = log_rho - t.log_rho, log_t - t.log_t
            per_bin.setdefault(key, ([], []))
            per_bin[key][0].append(d_rho)
            per_bin[key][1].append(d_t)
            rows.append({"simulation": name, "bin": key, "theta": theta.tolist(), "z": t.z,
                         "density_ratio": float(10 ** np.median(d_rho)), "temperature_ratio": float(10 ** np.median(d_t))})  # fmt: skip
    bins = {}
    for key, (d_rho, d_t) in per_bin.items():
        bins[key] = {"n_simulations": len(d_rho)} | {
            name: {"median_ratio": float(10 ** np.median(np.concatenate(d))), "scatter_dex": float(np.std(np.concatenate(d)))}
            for name, d in (("density", d_rho), ("temperature", d_t))}  # fmt: skip
    return {"per_simulation": rows, "bins": bins}


def _stack_residuals(targets, model=GasModel()):
    out = []
    for t in targets:
        log_rho, log_t = model_stack(t, model)
        r_rho, r_t = (log_rho - t.log_rho) / t.sigma_rho, (log_t - t.log_t) / t.sigma_t
        out.append({"stack": t.label, "density_rms_sigma": float(np.sqrt(np.mean(r_rho**2))),
                    "density_max_sigma": float(np.max(np.abs(r_rho))), "temperature_rms_sigma": float(np.sqrt(np.mean(r_t**2))),
                    "temperature_max_sigma": float(np.max(np.abs(r_t)))})  # fmt: skip
    return out


def group_gas_fractions(masses=(12.8, 13.0, 13.3)) -> dict[str, float]:
    """f_gas,500 of the calibrated model for NFW groups of log10 M500c ``masses`` (Msun/h) at z = 0.54, with Duffy et
    al. (2008) concentrations."""
    out = {}
    for log_m500c in masses:
        m200, r200, r500, m500 = group_halo(log_m500c, 0.54, c200c=float(duffy08_concentration(10**log_m500c * 1.3, 0.54)))
        prof = halo_profiles(m200, r200, float(duffy08_concentration(m200, 0.54)), 0.54, CAMELS_OMEGA_B / 0.3, GasModel(), r500c=r500)
        out[f"{log_m500c:g}"] = halo_observables(prof, m500, r500)[0]
    return out


def validation_report(data_dir: str | os.PathLike, *, box_mesh: int | None = 64, box_seed: int = 1) -> dict:
    """Every comparison of the module docstring as one JSON-ready dict. ``box_mesh``: voxels per side of the fiducial
    box (0.39 Mpc/h voxels; 64 is a 25 Mpc/h CAMELS-sized box, ~20 s; 128 a 50 Mpc/h one, ~2 min; None skips the box
    checks); ``box_seed`` must differ from the calibration box's (0)."""
    profiles, redshifts = _paths(data_dir)
    targets = camels_targets(profiles, redshifts)
    low, high = agn1_sweep_targets(profiles, redshifts)
    report = {
        "fiducial_stacks": _stack_residuals(targets),
        "agn1_sweep": {"camels_dlog10rho_dlnA": camels_agn1_shift(low, high), "model_dlog10rho_dlnA": model_agn1_shift(low, high)},
        "group_gas_fraction_500": {"camels_range": [0.08, 0.11], "model": group_gas_fractions()},
        "held_out_lh": held_out_lh(data_dir),
    }
    if box_mesh is not None:
        import jax

        from emulators.data.deviations import Deviations
        from emulators.data.responses import CAMELS_SCATTER_DEX, box_haloes, group_gas, responses, scatters
        from xcosmo.params import Params

        box = box_haloes(Params.from_array(np.array([0.3, 0.8, 1.0, 1.0, 1.0, 1.0])), jax.random.key(box_seed), box_mesh, 0.390625)
        f, _ = group_gas(box)
        log_m = np.log10(box.m500c[box.groups])
        residual = np.log10(f) - np.polyval(np.polyfit(log_m, np.log10(f), 1), log_m)
        d = Deviations()
        implied = box.predictors[box.groups] @ np.array([d.a_c, d.a_s, d.a_e])
        report["box_groups"] = {
            "box": {"n_mesh": box_mesh, "seed": box_seed, "side_mpc_h": box_mesh * 0.390625, "groups": int(box.groups.size)},
            "responses": {n: {"model": list(v), "camels": list(CAMELS_RESPONSES[n])} for n, v in responses(box).items()},
            "scatter_dex": {"model": list(scatters(box)), "camels": list(CAMELS_SCATTER_DEX)},
            "dark_matter_correlation": float(np.corrcoef(residual, implied)[0, 1]),
        }
    return report


def plot_stacks(data_dir: str | os.PathLike, path: str | os.PathLike) -> Path:
    """The fiducial stacks and the model, density and temperature against r / R200c, one row per redshift."""
    from xcosmo.plots import figure, save_png

    profiles, redshifts = _paths(data_dir)
    targets = camels_targets(profiles, redshifts)
    zs = sorted({t.z for t in targets}, reverse=True)
    fig = figure(figsize=(13, 3.2 * len(zs)))
    axes = fig.subplots(len(zs), 4, squeeze=False)
    for t in targets:
        log_rho, log_t = model_stack(t, GasModel())
        row = zs.index(t.z)
        col = 0 if t.label.endswith("12-12.3") else 1
        x = t.r / t.r200c
        for k, (data, sigma, model, unit) in enumerate(((t.log_rho, t.sigma_rho, log_rho, "log rho_gas [Msun/kpc^3]"),
                                                       (t.log_t, t.sigma_t, log_t, "log T [K]"))):  # fmt: skip
            ax = axes[row, col + 2 * k]
            ax.fill_between(x, data - sigma, data + sigma, color="0.8", label="CAMELS 1P_27 (scatter)")
            ax.plot(x, data, "k.-", label="CAMELS mean")
            ax.plot(x, model, "C3-", label="synthetic gas")
            ax.set_xscale("log")
            ax.set_title(t.label, fontsize=8)
            ax.set_xlabel("r / R200c")
            ax.set_ylabel(unit)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return save_png(fig, path, dpi=90)


def plot_checks(report: dict, path: str | os.PathLike) -> Path:
    """The held-out LH ratios per run, the A_AGN1 sweep and (if in the report) the box responses."""
    from xcosmo.plots import figure, save_png

    fig = figure(figsize=(13, 3.6))
    ax_lh, ax_sweep, ax_resp = fig.subplots(1, 3)
    rows = report["held_out_lh"]["per_simulation"]
    ax_lh.plot(range(len(rows)), [r["density_ratio"] for r in rows], "o", label="density")
    ax_lh.plot(range(len(rows)), [r["temperature_ratio"] for r in rows], "s", label="temperature")
    ax_lh.axhline(1.0, color="k", lw=0.5)
    ax_lh.set_xticks(range(len(rows)), [r["simulation"] for r in rows], rotation=90, fontsize=7)
    ax_lh.set_yscale("log")
    ax_lh.set_ylabel("synthetic / CAMELS (median over 0.1-1 R200c)")
    ax_lh.set_title("held out: LH stacks, z = 0.54", fontsize=9)
    ax_lh.legend(fontsize=7)
    sweep = report["agn1_sweep"]
    ax_sweep.bar(["CAMELS", "synthetic"], [sweep["camels_dlog10rho_dlnA"], sweep["model_dlog10rho_dlnA"]], color=["0.5", "C3"])
    ax_sweep.set_ylabel("d log10 rho_gas / d ln A_AGN1 (z = 0)")
    ax_sweep.set_title("A_AGN1 sweep 1P_33-43", fontsize=9)
    if "box_groups" in report:
        names = list(report["box_groups"]["responses"])
        resp = report["box_groups"]["responses"]
        x = np.arange(len(names))
        for k, (label, marker) in enumerate((("f_gas,500", "o"), ("T_mw", "s"))):
            ax_resp.plot(x + 0.1 * k, [resp[n]["camels"][k] for n in names], marker, mfc="none", color=f"C{k}",
                         label=f"CAMELS {label}")  # fmt: skip
            ax_resp.plot(x + 0.1 * k, [resp[n]["model"][k] for n in names], marker, color=f"C{k}", label=f"synthetic {label}")
        ax_resp.set_xticks(x, names)
        ax_resp.axhline(0.0, color="k", lw=0.5)
        ax_resp.set_ylabel("d ln X / d ln A (groups, z = 0.54)")
        ax_resp.legend(fontsize=7)
    fig.tight_layout()
    return save_png(fig, path, dpi=90)
