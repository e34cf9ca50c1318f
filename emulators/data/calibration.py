"""Calibration of the synthetic suite's halo gas on the CAMELS IllustrisTNG stacked profiles (issue 15, item 3).

The gas model (:mod:`emulators.data.gas_profiles`) is fitted to the fiducial run's stacks (1P_27, snapshots 024, 029
and 033: z = 0.54, 0.21 and 0) in the mass bins that the suite's 0.39 Mpc/h voxels resolve (log M = 12.0-12.3 and
12.3-13.1): log mean gas density and log mean gas-mass-weighted temperature at 0.1-1 R200c, each residual in units of
the stack's halo-to-halo scatter (its ``std`` column, read as dex). The LH stacks are never used here: they are the
held-out check.

The stack files' units, inferred from the data and stated here because the files do not say: radii in physical Mpc
and densities in physical Msun/kpc^3, without h (at 7 Mpc the stacks reach the cosmic mean baryon density,
Omega_b rho_crit,0 h^2 (1+z)^3 = 6.1 (1+z)^3 Msun/kpc^3 for h = 0.6711, at every snapshot); halo masses, taken as
M200c, in Msun without h. A bin is represented by one halo at its median mass, with the concentration-mass relation
of Duffy et al. (2008), as the suite pastes (:func:`emulators.data.gas_profiles.duffy08_concentration`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulators.data.camels import CAMELS_H, CAMELS_OMEGA_B
from emulators.data.gas_profiles import GasModel, duffy08_concentration, halo_profiles
from emulators.data.profiles import find_profiles, read_redshift_table
from xcosmo.constants import K_B_KEV_PER_K, RHO_CRIT_0

__all__ = ["StackTarget", "camels_targets", "model_stack", "fit_gas_model", "CAMELS_H", "CAMELS_OMEGA_B",
           "FIXED", "GROUP_FRACTION_MASSES"]  # fmt: skip



@dataclass(frozen=True)
class StackTarget:
    """One stacked profile reduced to what the fit compares: radii (physical Mpc/h), log10 mean density (Msun/kpc^3,
    physical, h-free) and temperature (K), their scatters (dex), the bin's median M200c (Msun/h), R200c (physical
    Mpc/h) and z."""

    label: str
    z: float
    m200c: float
    r200c: float
    r: np.ndarray
    log_rho: np.ndarray
    sigma_rho: np.ndarray
    log_t: np.ndarray
    sigma_t: np.ndarray


def camels_targets(profiles_dir: str | os.PathLike, redshift_table: str | os.PathLike, *, simulation: str = "1P_27",
                   snapshots=(24, 29, 33), bins=((12.0, 12.3), (12.3, 13.1)), omega_m: float = 0.3,
                   r_range=(0.1, 1.0)) -> list[StackTarget]:  # fmt: skip
    """The stacks of ``simulation`` at ``snapshots`` in the mass ``bins``, between ``r_range`` R200c."""
    z_of = read_redshift_table(redshift_table)
    out = []
    for snap in snapshots:
        z = z_of[snap]
        rho_c = RHO_CRIT_0 * (omega_m * (1 + z) ** 3 + 1 - omega_m)  # physical, (Msun/h) / (Mpc/h)^3
        for stack in find_profiles(profiles_dir, simulation, snap):
            if tuple(stack.log_mass_range) not in {tuple(b) for b in bins}:
                continue
            m200 = stack.median_mass * CAMELS_H
            r200 = (3 * m200 / (4 * math.pi * 200 * rho_c)) ** (1 / 3)
            r = stack.r_mpc * CAMELS_H
            sel = (r >= r_range[0] * r200) & (r <= r_range[1] * r200)
            out.append(StackTarget(
                f"{simulation} z={z:g} logM {stack.log_mass_range[0]:g}-{stack.log_mass_range[1]:g}", z, m200, r200,
                r[sel], np.log10(stack["rho", "mean"][sel]), stack["rho", "std"][sel],
                np.log10(stack["temp", "mean"][sel]), stack["temp", "std"][sel]))  # fmt: skip
    return out


def model_stack(target: StackTarget, model: GasModel, omega_m: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """log10 density (Msun/kpc^3, physical, h-free) and temperature (K) of the gas model at the target's radii."""
    prof = halo_profiles(target.m200c, target.r200c, duffy08_concentration(target.m200c, target.z), target.z,
                         CAMELS_OMEGA_B / omega_m, model)  # fmt: skip
    rho = np.interp(target.r, prof.r, prof.rho_gas) * CAMELS_H**2 / 1e9  # (Msun/h)/(Mpc/h)^3 -> Msun/kpc^3
    kt = np.interp(target.r, prof.r, prof.kt)
    return np.log10(np.maximum(rho, 1e-30)), np.log10(np.maximum(kt, 1e-12) / K_B_KEV_PER_K)


def _residuals(targets, model):
    parts = []
    for t in targets:
        log_rho, log_t = model_stack(t, model)
        parts += [(log_rho - t.log_rho) / t.sigma_rho, (log_t - t.log_t) / t.sigma_t]
    return np.concatenate(parts)


def _group_gas_fraction_residuals(model):
    """ln f_gas,500 of NFW haloes of log M500c 12.8 and 13.2 (z = 0.54) against ln 0.095, in units of 0.16: CAMELS'
    f_gas,500 = 0.08-0.11 above log M500c = 12.7 (issue 15)."""
    from emulators.data.feedback import group_halo
    from emulators.data.gas_profiles import halo_observables

    out = []
    for log_m500 in GROUP_FRACTION_MASSES:
        m200, r200, r500, m500 = group_halo(log_m500)
        prof = halo_profiles(m200, r200, 6.0, 0.54, CAMELS_OMEGA_B / 0.3, model, r500c=r500)
        out.append((math.log(halo_observables(prof, m500, r500)[0]) - math.log(0.095)) / 0.16)
    return np.array(out)


GROUP_FRACTION_MASSES = (12.8, 13.2)
"""log10 M500c (Msun/h) at which the fit holds f_gas,500 to CAMELS' 0.08-0.11."""
FIXED = dict(m_c=1e10, theta_co=0.02, delta=7.0, beta_f=0.6, alpha_0=0.18)
"""Parameters the fit does not free: the stacks of the resolved groups (log M200c >= 12) keep all their non-stellar
baryons bound (a free M_c runs to any value below 1e11 Msun/h, where it no longer acts) and show no core beyond
0.1 R200c (a free theta_co runs to any value below 0.01); delta and beta_f are those of Schneider et al. (2019), the
non-thermal pressure that of Shaw et al. (2010)."""


def fit_gas_model(targets: list[StackTarget]) -> tuple[GasModel, float]:
    """Least-squares fit (scipy, bounded) of the profile-slope mass M_beta, its exponent mu, the ejection radius
    theta_ej and the temperature normalisation (``heating``) to the stacks, each residual in units of the stack's
    scatter, together with CAMELS' f_gas,500 of the larger groups (:data:`GROUP_FRACTION_MASSES`); the other
    parameters are :data:`FIXED`. Returns the model and the rms residual of the stacks in units of their scatter."""
    from scipy.optimize import least_squares

    def build(p):
        return GasModel(m_beta=10 ** p[0], mu=p[1], theta_ej=10 ** p[2], heating=10 ** p[3], **FIXED)

    def residuals(p):
        model = build(p)
        return np.concatenate([_residuals(targets, model), _group_gas_fraction_residuals(model)])

    fit = least_squares(residuals, [13.0, 0.3, 0.3, 0.0], bounds=([10.0, 0.02, -0.7, -1.0], [16.0, 1.5, 1.3, 1.0]))
    model = build(fit.x)
    return model, float(np.sqrt(np.mean(_residuals(targets, model) ** 2)))


AGN1_SWEEP = {f"1P_{33 + i}": 0.25 * 16 ** (i / 10) for i in range(11)}
"""A_AGN1 of the CAMELS IllustrisTNG 1P runs 1P_33-43 (the 1P design: 11 log-spaced values across the prior
[0.25, 4], the other amplitudes at 1; 1P_38 is the fiducial)."""


def agn1_sweep_targets(profiles_dir, redshift_table, bin_=(12.3, 13.1)) -> tuple[StackTarget, StackTarget]:
    """The z = 0 stacks of the two ends of the A_AGN1 sweep (1P_33 at A_AGN1 = 0.25, 1P_43 at 4)."""
    ends = [camels_targets(profiles_dir, redshift_table, simulation=s, snapshots=(33,), bins=(bin_,))
            for s in ("1P_33", "1P_43")]  # fmt: skip
    if any(len(e) != 1 for e in ends):
        raise FileNotFoundError(f"{profiles_dir}: the z = 0 stacks of 1P_33 and 1P_43 in the bin {bin_} are needed")
    return ends[0][0], ends[1][0]


def _sweep_shift(low: StackTarget, high: StackTarget, log_rho_low, log_rho_high) -> float:
    common = np.intersect1d(low.r, high.r)
    d = np.interp(common, high.r, log_rho_high) - np.interp(common, low.r, log_rho_low)
    return float(np.mean(d) / math.log(AGN1_SWEEP["1P_43"] / AGN1_SWEEP["1P_33"]))


def camels_agn1_shift(low: StackTarget, high: StackTarget) -> float:
    """d log10 rho_gas / d ln A_AGN1 of the CAMELS z = 0 stacks, averaged over their 0.1-1 R200c radii."""
    return _sweep_shift(low, high, low.log_rho, high.log_rho)


def model_agn1_shift(low: StackTarget, high: StackTarget, base: GasModel = GasModel(),
                     agn1_late: float | None = None) -> float:  # fmt: skip
    """The same shift for the synthetic gas: each end's stack modelled at its own mass with the feedback of its
    A_AGN1 (:func:`emulators.data.feedback.feedback_gas_model`)."""
    from emulators.data.feedback import feedback_gas_model
    from xcosmo.params import PARAM_NAMES

    def model(a_agn1, target):
        theta = [dict(omega_m=0.3, sigma_8=0.8, a_agn1=a_agn1).get(n, 1.0) for n in PARAM_NAMES]
        return model_stack(target, feedback_gas_model(theta, base, z=target.z, agn1_late=agn1_late))[0]

    return _sweep_shift(low, high, model(AGN1_SWEEP["1P_33"], low), model(AGN1_SWEEP["1P_43"], high))


def fit_agn1_late_response(low: StackTarget, high: StackTarget, base: GasModel = GasModel()) -> float:
    """The z = 0 response d ln f_gas,500 / d ln A_AGN1 at which the model's stacks shift across the sweep as
    CAMELS' do (:data:`emulators.data.feedback.AGN1_LATE_RESPONSE`)."""
    from scipy.optimize import brentq

    target = camels_agn1_shift(low, high)
    return float(brentq(lambda r: model_agn1_shift(low, high, base, r) - target, -0.6, 0.5, xtol=1e-4))


def calibrate(data_dir, *, seed: int = 0, n_mesh: int = 128) -> dict:
    """The whole calibration of the synthetic suite, in order, from the CAMELS data in ``data_dir`` (the folder of
    ``profiles/`` and ``redshift_table.txt``): the gas model on the fiducial stacks (the defaults of
    :class:`GasModel`), the per-halo deviations on the groups of a fiducial box of ``n_mesh``^3 voxels of 0.39 Mpc/h
    at z = 0.54 (the defaults of :class:`emulators.data.deviations.Deviations`), and the late-time A_AGN1 response
    (:data:`emulators.data.feedback.AGN1_LATE_RESPONSE`). Each step uses the values the previous ones give (it
    runs under the current defaults: rerun after updating them until nothing moves). About 3 minutes on 2 CPU cores
    (``python -m emulators.data.calibration DATA_DIR``)."""
    import dataclasses

    import jax

    from emulators.data.responses import box_haloes, calibrate_deviations
    from xcosmo.params import Params

    data_dir = Path(data_dir)
    targets = camels_targets(data_dir / "profiles", data_dir / "redshift_table.txt")
    model, rms = fit_gas_model(targets)
    fiducial = Params.from_array(np.array([0.3, 0.8, 1.0, 1.0, 1.0, 1.0]))
    box = box_haloes(fiducial, jax.random.key(seed), n_mesh, 0.390625)
    deviations = calibrate_deviations(box)
    low, high = agn1_sweep_targets(data_dir / "profiles", data_dir / "redshift_table.txt")
    return {"gas_model": {k: float(v) for k, v in dataclasses.asdict(model).items() if v is not None},
            "stack_rms_sigma": rms, "deviations": dataclasses.asdict(deviations),
            "agn1_late_response": fit_agn1_late_response(low, high), "box": {"seed": seed, "n_mesh": n_mesh,
            "groups": int(box.groups.size)}}  # fmt: skip


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(calibrate(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/camels"), indent=2))
