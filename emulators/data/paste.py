"""Baryon pasting: the synthetic suite's gas on the working grid, from haloes and the dark-matter density.

Every halo's gas (:mod:`emulators.data.gas_profiles`, an NFW halo of its M200c with the concentration of Duffy et al.
2008: the measured one is not resolved at these voxels) is deposited on the voxels within ``R_PASTE`` R200c of its
centre, as gas mass and thermal energy per voxel: each voxel is sampled at ``SUBSAMPLE``^3 points (the profiles are
steep on the scale of a 0.39 Mpc/h voxel), each point carrying the mean density of the spherical shell its sub-cell
spans (from the enclosed mass, so that a central cusp is neither lost nor overcounted), and the halo's deposits are rescaled so that its gas mass within the
pasted sphere is the profile's exactly. The rest of the box's baryons, f_b M_box minus the haloes' gas and stars, is
the intergalactic medium: spread over the voxels outside every halo's R200c in proportion to the dark-matter density
smoothed on ``IGM_SMOOTHING`` Mpc/h, with the temperature-density relation T = T_0 (rho / rho_mean)^(gamma - 1) of
the photo-heated IGM (Hui & Gnedin 1997; T_0 = 1e4 K, gamma = 1.6).

Per voxel the gas mass and the thermal energy (pressure times volume) of every contribution are summed, so the
temperature is that of the mixed gas, kT = mu m_p sum(P V) / sum(rho V), never a sum or mean of temperatures, and
n_e = sum(M_gas) / (mu_e m_p V). Output: n_e in comoving cm^-3 and kT in keV, the target fields of the eLDL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from emulators.data.gas_profiles import MU, MU_E, GasModel, duffy08_concentration, halo_profiles, stellar_fraction
from emulators.data.haloes import Haloes
from xcosmo.constants import K_B_KEV_PER_K, KEV_ERG, M_PROTON_G, MPC_CM, MSUN_G, RHO_CRIT_0

__all__ = ["paste_gas", "smooth_periodic", "R_PASTE", "SUBSAMPLE", "IGM_SMOOTHING", "IGM_T0_K", "IGM_GAMMA"]

R_PASTE = 3.0
"""Haloes are pasted out to this many R200c."""
SUBSAMPLE = 3
"""Sample points per voxel side when a halo is pasted."""
IGM_SMOOTHING = 1.0
"""Gaussian smoothing of the dark matter that the IGM follows, Mpc/h (comoving)."""
IGM_T0_K = 1e4
IGM_GAMMA = 1.6


def paste_gas(
    haloes: Haloes,
    dm_density: np.ndarray,
    box_mpc_h: float,
    z: float,
    omega_m: float,
    omega_b: float,
    h: float,
    models: GasModel | Sequence[GasModel] = GasModel(),
) -> tuple[np.ndarray, np.ndarray]:
    """n_e [comoving cm^-3] and kT [keV] on the grid of ``dm_density`` (1 + delta of the dark matter, (n, n, n)) of a
    periodic box of side ``box_mpc_h`` at redshift ``z`` (module docstring). ``models``: one :class:`GasModel` for
    every halo, or one per halo (the per-halo deviations of the suite)."""
    n = dm_density.shape[0]
    voxel = box_mpc_h / n
    f_b = omega_b / omega_m
    models = [models] * len(haloes) if isinstance(models, GasModel) else list(models)
    gas = np.zeros(dm_density.shape)  # Msun/h per voxel
    energy = np.zeros(dm_density.shape)  # P_th V: (Msun/h) (km/s)^2 per voxel
    in_halo = np.zeros(dm_density.shape, dtype=bool)
    stars = 0.0
    centres_1d = (np.arange(n) + 0.0) * voxel  # voxel i holds what lies at i voxel (the CIC convention)
    sub = (np.arange(SUBSAMPLE) + 0.5) / SUBSAMPLE - 0.5
    for i in range(len(haloes)):
        m200, r200 = float(haloes.m200c[i]), float(haloes.r200c[i])
        prof = halo_profiles(m200, r200 / (1 + z), float(duffy08_concentration(m200, z)), z, f_b, models[i])
        stars += float(stellar_fraction(m200)) * m200
        reach = min(R_PASTE * r200, 0.5 * box_mpc_h - voxel)  # no voxel twice through the periodic boundary
        idx_1d = [np.arange(math.floor((x - reach) / voxel), math.ceil((x + reach) / voxel) + 1) for x in haloes.centre[i]]
        offsets = [centres_1d[0] + ix * voxel - x for ix, x in zip(idx_1d, haloes.centre[i])]  # comoving
        dx, dy, dz = np.meshgrid(*offsets, indexing="ij")
        pts = [d[..., None] + sub * voxel for d in (dx, dy, dz)]  # (nx, ny, nz, s) per axis
        r_com = np.sqrt(pts[0][..., :, None, None] ** 2 + pts[1][..., None, :, None] ** 2 + pts[2][..., None, None, :] ** 2)
        r_phys = r_com / (1 + z)
        rho = _shell_density(prof, r_phys, 0.5 * voxel / SUBSAMPLE / (1 + z)).mean(axis=(-3, -2, -1))
        p_th = np.interp(r_phys, prof.r, prof.p_th, right=0.0).mean(axis=(-3, -2, -1))
        inside = r_com.mean(axis=(-3, -2, -1)) <= reach
        vol_phys = (voxel / (1 + z)) ** 3
        mass = np.where(inside, rho * vol_phys, 0.0)
        target = np.interp(reach / (1 + z), prof.r, prof.m_gas)
        scale = target / mass.sum() if mass.sum() > 0 else 0.0
        ix, iy, iz = (np.mod(a, n) for a in np.meshgrid(*idx_1d, indexing="ij"))
        np.add.at(gas, (ix, iy, iz), mass * scale)
        np.add.at(energy, (ix, iy, iz), np.where(inside, p_th * vol_phys, 0.0) * scale)
        in_halo[ix, iy, iz] |= r_com.mean(axis=(-3, -2, -1)) <= r200
    mean_matter = omega_m * RHO_CRIT_0 * voxel**3  # Msun/h of a mean-density voxel (comoving)
    igm_mass = f_b * mean_matter * dm_density.sum() - gas.sum() - stars
    smooth = smooth_periodic(dm_density, IGM_SMOOTHING / voxel)
    weight = np.where(in_halo, 0.0, np.maximum(smooth, 0.0))
    if igm_mass > 0 and weight.sum() > 0:
        igm = igm_mass * weight / weight.sum()
        overdensity = np.maximum(smooth, 1e-3)
        kt_igm = K_B_KEV_PER_K * IGM_T0_K * overdensity ** (IGM_GAMMA - 1.0)
        gas += igm
        energy += igm * kt_igm * KEV_ERG / (MU * M_PROTON_G * 1e10)  # P V = (M / mu m_p) kT, in (Msun/h)(km/s)^2
    kt = np.divide(MU * M_PROTON_G * 1e10 * energy, gas, out=np.zeros_like(gas), where=gas > 0) / KEV_ERG
    n_e = gas * MSUN_G / h / (MU_E * M_PROTON_G) / (voxel / h * MPC_CM) ** 3
    return n_e, kt


def _shell_density(prof, r, h):
    """The profile's mean gas density in the shell from r - h to r + h (the sphere of radius r + h where r < h), from
    its enclosed mass: a sample point stands for a sub-cell of half-size h, and near a cusp the density at the point
    would misstate the sub-cell's mass."""
    outer = np.interp(r + h, prof.r, prof.m_gas, left=0.0)
    inner_r = np.maximum(r - h, 0.0)
    inner = np.where(inner_r > prof.r[0], np.interp(inner_r, prof.r, prof.m_gas), 0.0)
    return (outer - inner) / (4.0 / 3.0 * math.pi * ((r + h) ** 3 - inner_r**3))


def smooth_periodic(field: np.ndarray, sigma_voxels: float) -> np.ndarray:
    """Periodic Gaussian smoothing of a cubic field (FFT)."""
    k = [np.fft.fftfreq(s) * 2 * np.pi for s in field.shape[:2]] + [np.fft.rfftfreq(field.shape[2]) * 2 * np.pi]
    k2 = sum(np.meshgrid(*[x**2 for x in k], indexing="ij"))
    return np.fft.irfftn(np.fft.rfftn(field) * np.exp(-0.5 * k2 * sigma_voxels**2), s=field.shape, axes=(0, 1, 2))
