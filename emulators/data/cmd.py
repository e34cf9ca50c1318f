"""Reader of the CAMELS Multifield Dataset's 3-D grids (Villaescusa-Navarro et al. 2022), the gridded alternative to
the snapshots for the eLDL's targets.

A CMD grid file ``Grids_{field}_{suite}_{set}_{grid}_z={z:.2f}.npy`` holds one (grid, grid, grid) cube per simulation
of the set, in the order of the set's parameter file ``params_{set}_{suite}.txt`` (six columns, Omega_m, sigma_8,
A_SN1, A_AGN1, A_SN2, A_AGN2, one row per simulation: read by :func:`emulators.data.camels.read_parameter_table`,
which converts the order). Suites: ``IllustrisTNG`` (gas and dark matter of the hydro run) and ``Nbody_IllustrisTNG``
(its gravity-only twin); grids 128, 256 or 512 voxels across the 25 Mpc/h box.

The fields read here are those whose units are unambiguous and checkable (:data:`FIELD_UNITS`): the mass densities
``Mgas``, ``Mcdm``, ``Mtot``, ``Mstar``, ``HI`` in (Msun/h) / (Mpc/h)^3 (comoving) and the mass-weighted gas
temperature ``T`` in K. Each cube is checked against the cosmic mean its unit implies (the gas within 40-110% of
Omega_b rho_crit, the matter within 20% of Omega_m rho_crit, temperatures between 1e3 and 1e8 K on average), so a
file in other units is refused naming the file and the field.

:func:`read_cmd_gas` turns ``Mgas`` and ``T`` into the eLDL's targets on the working grid: n_e = rho_gas / (mu_e m_p)
with mu_e = 2 / (1 + X_H) (all gas counted as ionised: the grids carry no electron abundance that we could confirm
the units of), and kT from T, both averaged over blocks of voxels to 0.39 Mpc/h (the temperature weighted by the gas
mass, as the grids' own T is).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from emulators.data.camels import CAMELS_H as CMD_H
from emulators.data.camels import CAMELS_OMEGA_B as CMD_OMEGA_B
from emulators.data.camels import GasGrids, SnapshotHeader
from xcosmo.constants import HYDROGEN_MASS_FRACTION, K_B_KEV_PER_K, M_PROTON_G, MPC_CM, MSUN_G, RHO_CRIT_0

__all__ = ["FIELD_UNITS", "CMD_BOX_MPC_H", "CMD_H", "CMD_OMEGA_B", "cmd_path", "read_cmd_field", "read_cmd_gas"]

FIELD_UNITS = {
    "Mgas": "(Msun/h)/(Mpc/h)^3",
    "Mcdm": "(Msun/h)/(Mpc/h)^3",
    "Mtot": "(Msun/h)/(Mpc/h)^3",
    "Mstar": "(Msun/h)/(Mpc/h)^3",
    "HI": "(Msun/h)/(Mpc/h)^3",
    "T": "K",
}
"""The CMD fields this reader accepts, and their units (comoving densities)."""
CMD_BOX_MPC_H = 25.0
SUITES = ("IllustrisTNG", "Nbody_IllustrisTNG")
GRIDS = (128, 256, 512)


def cmd_path(folder: str | os.PathLike, field: str, suite: str, set_: str, grid: int, z: float) -> Path:
    """The CMD file of one field: ``Grids_{field}_{suite}_{set}_{grid}_z={z:.2f}.npy`` in ``folder``."""
    return Path(folder) / f"Grids_{field}_{suite}_{set_}_{grid}_z={z:.2f}.npy"


def _check_mean(path, field, cube, omega_m):
    where = f"CMD file {str(path)!r}, field {field}"
    mean = float(np.mean(cube, dtype=np.float64))
    if field == "T":
        ok, expected = 1e3 <= mean <= 1e8, "a mean between 1e3 and 1e8 K"
    elif field == "Mgas":
        ref = CMD_OMEGA_B * RHO_CRIT_0
        ok, expected = 0.4 <= mean / ref <= 1.1, f"40-110% of Omega_b rho_crit = {ref:.3g} (Msun/h)/(Mpc/h)^3"
    elif field in ("Mtot", "Mcdm"):
        ref = (omega_m - (CMD_OMEGA_B if field == "Mcdm" else 0.0)) * RHO_CRIT_0
        ok, expected = 0.8 <= mean / ref <= 1.2, f"within 20% of {ref:.3g} (Msun/h)/(Mpc/h)^3"
    else:
        return
    if not ok:
        raise ValueError(f"{where}: mean {mean:.3g}, which is not allowed: in {FIELD_UNITS[field]} it should be "
                         f"{expected}; the file is not in the CMD units")  # fmt: skip


def read_cmd_field(folder: str | os.PathLike, field: str, index: int, *, suite: str = "IllustrisTNG", set_: str = "LH",
                   grid: int = 256, z: float = 0.0, omega_m: float = 0.3) -> np.ndarray:  # fmt: skip
    """The cube of simulation ``index`` (its row in the set's parameter file) of one CMD field, float64, in the units
    of :data:`FIELD_UNITS`; ``omega_m`` (the simulation's) checks the matter densities' mean."""
    from xcosmo.checks import check_choice, check_integer

    check_choice("field", field, tuple(FIELD_UNITS))
    check_choice("suite", suite, SUITES)
    check_choice("grid", grid, GRIDS)
    path = cmd_path(folder, field, suite, set_, grid, z)
    if not path.is_file():
        raise FileNotFoundError(f"CMD file {str(path)!r} not found")
    try:
        cubes = np.load(path, mmap_mode="r")
    except ValueError as err:
        raise ValueError(f"CMD file {str(path)!r} is not a .npy array: {err}") from None
    if cubes.ndim != 4 or cubes.shape[1:] != (grid,) * 3:
        raise ValueError(f"CMD file {str(path)!r}, field {field}: shape {cubes.shape}, which is not allowed: expected "
                         f"(simulations, {grid}, {grid}, {grid}) as its name says")  # fmt: skip
    check_integer("index", index, 0, cubes.shape[0])
    cube = np.asarray(cubes[index], dtype=np.float64)
    _check_mean(path, field, cube, omega_m)
    return cube


def _block_mean(cube, stride, weights=None):
    n = cube.shape[0] // stride
    shape = (n, stride, n, stride, n, stride)
    if weights is None:
        return cube.reshape(shape).mean(axis=(1, 3, 5))
    w = weights.reshape(shape)
    total = w.sum(axis=(1, 3, 5))
    return np.divide((cube.reshape(shape) * w).sum(axis=(1, 3, 5)), total, out=np.zeros_like(total), where=total > 0)


def read_cmd_gas(folder: str | os.PathLike, index: int, theta, *, grid: int = 256, z: float = 0.0,
                 voxel_mpc_h: float = 0.39, set_: str = "LH") -> GasGrids:  # fmt: skip
    """n_e [comoving cm^-3] and kT [keV] of one IllustrisTNG simulation on the working grid, from the CMD ``Mgas`` and
    ``T`` cubes (module docstring); ``theta`` is its row of the parameter file (xcosmo's order)."""
    omega_m = float(np.asarray(theta, dtype=float)[0])
    n = round(CMD_BOX_MPC_H / voxel_mpc_h)
    if grid % n or abs(CMD_BOX_MPC_H / n - voxel_mpc_h) > 0.02 * voxel_mpc_h:
        raise ValueError(f"voxel_mpc_h = {voxel_mpc_h:g} is not allowed: the {grid}^3 grids of the {CMD_BOX_MPC_H:g} Mpc/h "
                         "box must average to it in whole blocks (0.39 Mpc/h: 64^3)")  # fmt: skip
    rho = read_cmd_field(folder, "Mgas", index, set_=set_, grid=grid, z=z, omega_m=omega_m)
    temp = read_cmd_field(folder, "T", index, set_=set_, grid=grid, z=z, omega_m=omega_m)
    stride = grid // n
    rho_w, t_w = _block_mean(rho, stride), _block_mean(temp, stride, weights=rho)
    mu_e = 2.0 / (1.0 + HYDROGEN_MASS_FRACTION)
    n_e = rho_w * CMD_H**2 * MSUN_G / (mu_e * M_PROTON_G) / MPC_CM**3  # (Msun/h)/(Mpc/h)^3 = h^2 Msun/Mpc^3
    header = SnapshotHeader(CMD_BOX_MPC_H, z, CMD_H, omega_m)
    return GasGrids(n_e, K_B_KEV_PER_K * t_w, header)

