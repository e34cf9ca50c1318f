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
of Duffy et al. (2008, full sample, M200c): c = 5.71 (M / 2e12 Msun/h)^-0.084 (1 + z)^-0.47.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from emulators.data.gas_profiles import GasModel, halo_profiles
from emulators.data.profiles import find_profiles, read_redshift_table
from xcosmo.constants import K_B_KEV_PER_K, RHO_CRIT_0

__all__ = ["StackTarget", "camels_targets", "model_stack", "fit_gas_model", "CAMELS_H", "CAMELS_OMEGA_B",
           "duffy08_concentration"]  # fmt: skip

CAMELS_H = 0.6711
"""Hubble parameter of the CAMELS IllustrisTNG runs."""
CAMELS_OMEGA_B = 0.049
"""Baryon density of the CAMELS runs."""


def duffy08_concentration(m200c: float, z: float) -> float:
    """c200c of Duffy et al. (2008), full sample: 5.71 (M / 2e12 Msun/h)^-0.084 (1 + z)^-0.47 (M in Msun/h)."""
    return 5.71 * (m200c / 2e12) ** -0.084 * (1.0 + z) ** -0.47


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


def fit_gas_model(targets: list[StackTarget], start: GasModel = GasModel()) -> tuple[GasModel, float]:
    """Least-squares fit of (log10 M_c, mu, theta_ej, theta_co) to the targets (scipy, bounded); returns the model and
    the rms residual in units of the stacks' scatter."""
    from scipy.optimize import least_squares

    def build(p):
        return GasModel(m_c=10 ** p[0], mu=p[1], theta_co=10 ** p[2], theta_ej=10 ** p[3], alpha_0=start.alpha_0)

    p0 = [math.log10(start.m_c), start.mu, math.log10(start.theta_co), math.log10(start.theta_ej)]
    fit = least_squares(lambda p: _residuals(targets, build(p)), p0,
                        bounds=([11.0, 0.05, -2.5, -0.7], [15.5, 1.5, 0.0, 1.3]))  # fmt: skip
    model = build(fit.x)
    return model, float(np.sqrt(np.mean(_residuals(targets, model) ** 2)))
