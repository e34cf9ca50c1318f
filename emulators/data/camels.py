"""Readers of CAMELS IllustrisTNG data: parameter tables, gas fields of snapshots, and the dark matter that the
particle-mesh input of the eLDL is re-simulated from (paper 2.1).

Snapshots are Arepo HDF5 files (``snap_NNN.hdf5``): a ``Header`` group with the attributes ``BoxSize`` [ckpc/h],
``Redshift``, ``HubbleParam``, ``Omega0`` (and, where present, ``UnitLength_in_cm``, ``UnitMass_in_g``,
``UnitVelocity_in_cm_per_s``, which must be the Arepo defaults 3.085678e21, 1.989e43, 1e5); ``PartType0`` (gas) with
``Coordinates`` [ckpc/h], ``Masses`` [1e10 Msun/h], ``Density`` [1e10 (Msun/h) / (ckpc/h)^3], ``InternalEnergy``
[(km/s)^2], ``ElectronAbundance`` (x_e = n_e / n_H) and ``StarFormationRate`` [Msun/yr]; ``PartType1`` (dark matter)
with ``Coordinates``, ``Velocities`` [km/s, Gadget's sqrt(a) dx/dt] and ``ParticleIDs``.

Gas fields on the working grid (:func:`read_gas_grids`), as the CAMELS library computes them per particle:

    n_e = X_H x_e rho / m_p,      T = (2/3) u mu m_p / k_B,      mu = 4 / (1 + 3 X_H + 4 X_H x_e),   X_H = 0.76,

with star-forming particles (SFR > 0, whose temperature is the effective one of the sub-grid multiphase model)
removed. Each particle carries N_e = X_H x_e m / m_p electrons; their number is deposited by cloud-in-cell on the grid,
so that n_e per voxel is the electron count over the voxel's comoving volume (comoving cm^-3), and the temperature
per voxel is the electron-weighted mean, T = sum(N_e T) / sum(N_e) (keV), the weighting under which voxels emit as
the particles do (emission goes as n_e n_H: per electron, as n_H).

The parameter tables (``CosmoAstroSeed_IllustrisTNG_L25n256_{LH,CV,1P,EX}.txt``) order the columns
``Omega_m, sigma_8, A_SN1, A_AGN1, A_SN2, A_AGN2, seed``; :func:`read_parameter_table` returns them in xcosmo's
order ``(Omega_m, sigma_8, A_SN1, A_SN2, A_AGN1, A_AGN2)``: the conversion happens here and nowhere else.

Every reader refuses a missing file (``FileNotFoundError``) and a file without a field, with unexpected units, a box
that the grid does not divide, or parameters outside the prior (``ValueError`` naming the file and the field) before
any work on the data.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xcosmo.constants import HYDROGEN_MASS_FRACTION, KEV_ERG, M_PROTON_G, MPC_CM, MSUN_G
from xcosmo.params import PARAM_NAMES, PRIOR

__all__ = [
    "X_H",
    "CAMELS_OMEGA_B",
    "CAMELS_H",
    "CAMELS_COLUMNS",
    "ParameterTable",
    "read_header",
    "read_parameter_table",
    "SnapshotHeader",
    "GasGrids",
    "read_gas_grids",
    "DarkMatter",
    "read_dark_matter",
    "cic_deposit",
]

X_H = HYDROGEN_MASS_FRACTION
CAMELS_OMEGA_B = 0.049
CAMELS_H = 0.6711
"""Baryon density and Hubble parameter of every CAMELS IllustrisTNG run (the other parameters vary)."""
"""Hydrogen mass fraction of the primordial gas (IllustrisTNG; the CAMELS library's n_e and T use it)."""
CAMELS_COLUMNS = ("omega_m", "sigma_8", "a_sn1", "a_agn1", "a_sn2", "a_agn2")
"""The order of the parameter columns in CAMELS files (xcosmo's is :data:`xcosmo.params.PARAM_NAMES`)."""
_TO_XCOSMO = [CAMELS_COLUMNS.index(name) for name in PARAM_NAMES]
_ARPEO_UNITS = {"UnitLength_in_cm": 3.085678e21, "UnitMass_in_g": 1.989e43, "UnitVelocity_in_cm_per_s": 1e5}


@dataclass(frozen=True)
class ParameterTable:
    """Simulation names, theta in xcosmo's order (n, 6) and seeds of a CAMELS parameter file."""

    names: tuple[str, ...]
    theta: np.ndarray
    seeds: np.ndarray

    def row(self, name: str) -> np.ndarray:
        """theta of the simulation ``name`` (``ValueError`` if the table has no such row)."""
        if name not in self.names:
            raise ValueError(f"simulation = {name!r} is not allowed: the table holds {self.names[:3]}...{self.names[-1:]}")
        return self.theta[self.names.index(name)]


def read_parameter_table(path: str | os.PathLike, *, in_prior: bool = True) -> ParameterTable:
    """Read a CAMELS parameter table: the simulations' files (``#Name Omega_m sigma_8 A_SN1 A_AGN1 A_SN2 A_AGN2
    seed``) or the CAMELS Multifield Dataset's (``params_{set}_{suite}.txt``: the six parameters only, one row per
    simulation in order, named ``{set}_{row}``, seed -1).

    Returns theta in xcosmo's order. With ``in_prior`` (default) a row outside the prior of the paper's table 1 is
    refused naming the file, the row and the parameter (the EX set's extreme feedback is outside it: read it with
    ``in_prior=False``).
    """
    import re

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CAMELS parameter file {str(path)!r} not found")
    where = f"CAMELS parameter file {str(path)!r}"
    cmd_set = re.match(r"params_(LH|CV|1P|EX|BE|SB\d*)_", path.name)
    names, rows, seeds = [], [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if cmd_set and len(fields) == 6:
            fields = [f"{cmd_set[1]}_{len(rows)}", *fields, "-1"]
        if len(fields) != 8:
            raise ValueError(f"{where}: line {number} has {len(fields)} columns, expected 8 (name, Omega_m, sigma_8, "
                             "A_SN1, A_AGN1, A_SN2, A_AGN2, seed), or 6 in a CMD params_{set}_{suite}.txt file")  # fmt: skip
        try:
            values = [float(v) for v in fields[1:7]]
            seed = int(fields[7])
        except ValueError:
            raise ValueError(f"{where}: line {number} holds a value that is not a number: {line.strip()!r}") from None
        names.append(fields[0])
        rows.append(values)
        seeds.append(seed)
    if not rows:
        raise ValueError(f"{where} holds no parameter row")
    theta = np.asarray(rows)[:, _TO_XCOSMO]
    if in_prior:
        low, high = PRIOR.low, PRIOR.high
        bad = np.argwhere((theta < low * (1 - 1e-6)) | (theta > high * (1 + 1e-6)))
        if bad.size:
            i, j = bad[0]
            bound = PRIOR.bounds[j]
            raise ValueError(f"{where}: row {names[i]} has {bound.name} = {theta[i, j]:g}, which is not allowed: "
                             f"allowed range {bound.describe()} (pass in_prior=False to read it anyway)")  # fmt: skip
    return ParameterTable(tuple(names), theta, np.asarray(seeds, dtype=np.int64))


# --- snapshots ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotHeader:
    """What a snapshot's Header says: comoving box side (Mpc/h), redshift, h and Omega_m."""

    box_mpc_h: float
    redshift: float
    h: float
    omega_m: float


@dataclass(frozen=True)
class GasGrids:
    """Electron density and temperature of a snapshot's gas on a periodic grid.

    Attributes
    ----------
    n_e : (n, n, n) electron number density, comoving cm^-3 (h-free: the box's h is applied).
    kt : (n, n, n) electron-weighted temperature, keV (0 where a voxel received no electron).
    header : the snapshot's box, redshift and cosmology.
    """

    n_e: np.ndarray
    kt: np.ndarray
    header: SnapshotHeader

    @property
    def voxel_mpc_h(self) -> float:
        return self.header.box_mpc_h / self.n_e.shape[0]


def _open_snapshot(path):
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CAMELS snapshot {str(path)!r} not found")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"CAMELS snapshot {str(path)!r} is not a readable HDF5 file: {err}") from None


def _header(f, where: str) -> SnapshotHeader:
    if "Header" not in f:
        raise ValueError(f"{where} has no Header group")
    attrs = dict(f["Header"].attrs)
    missing = [k for k in ("BoxSize", "Redshift", "HubbleParam", "Omega0") if k not in attrs]
    if missing:
        raise ValueError(f"{where}: Header lacks attribute(s) {missing}")
    for key, expected in _ARPEO_UNITS.items():
        if key in attrs and not math.isclose(float(attrs[key]), expected, rel_tol=1e-3):
            raise ValueError(f"{where}: Header {key} = {float(attrs[key]):g}, which is not allowed: the readers "
                             f"expect Arepo's units ({key} = {expected:g})")  # fmt: skip
    value = {k: float(np.ravel(attrs[k])[0]) for k in ("BoxSize", "Redshift", "HubbleParam", "Omega0")}
    return SnapshotHeader(value["BoxSize"] / 1e3, value["Redshift"], value["HubbleParam"], value["Omega0"])


def read_header(path: str | os.PathLike) -> SnapshotHeader:
    """The Header of one snapshot (box, redshift, h, Omega_m), without reading its particles."""
    with _open_snapshot(path) as f:
        return _header(f, f"CAMELS snapshot {str(path)!r}")


def _fields(f, where: str, group: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    if group not in f:
        raise ValueError(f"{where} has no {group} group")
    missing = [n for n in names if n not in f[group]]
    if missing:
        raise ValueError(f"{where}: {group} lacks field(s) {missing}")
    out = {n: np.asarray(f[group][n][()]) for n in names}
    n = len(out[names[0]])
    short = [k for k, v in out.items() if len(v) != n]
    if short:
        raise ValueError(f"{where}: {group} field(s) {short} do not have one entry per particle ({n})")
    return out


def _grid_size(box_mpc_h: float, voxel_mpc_h: float, where: str) -> int:
    n = round(box_mpc_h / voxel_mpc_h)
    if n < 1 or abs(box_mpc_h / n - voxel_mpc_h) > 0.02 * voxel_mpc_h:
        raise ValueError(f"{where}: BoxSize = {box_mpc_h:g} Mpc/h is not allowed: it is not a whole number of "
                         f"{voxel_mpc_h:g} Mpc/h voxels (to 2%)")  # fmt: skip
    return n


def read_gas_grids(path: str | os.PathLike, voxel_mpc_h: float = 0.39) -> GasGrids:
    """n_e [comoving cm^-3] and electron-weighted kT [keV] of a snapshot's gas on the working grid (module docstring:
    formulas and weighting). The grid has round(BoxSize / voxel_mpc_h) voxels a side (25 Mpc/h: 64 of 0.39)."""
    where = f"CAMELS snapshot {str(path)!r}"
    with _open_snapshot(path) as f:
        head = _header(f, where)
        gas = _fields(f, where, "PartType0", ("Coordinates", "Masses", "InternalEnergy", "ElectronAbundance",
                                               "StarFormationRate"))  # fmt: skip
    box = head.box_mpc_h
    n = _grid_size(box, voxel_mpc_h, where)
    for name in ("Masses", "InternalEnergy", "ElectronAbundance"):
        values = gas[name]
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"{where}: PartType0/{name} holds negative or non-finite values")
    keep = gas["StarFormationRate"] <= 0.0
    x_e = gas["ElectronAbundance"][keep].astype(np.float64)
    mass_g = gas["Masses"][keep].astype(np.float64) * 1e10 * MSUN_G / head.h
    u_cgs = gas["InternalEnergy"][keep].astype(np.float64) * 1e10  # (km/s)^2 -> (cm/s)^2
    mu = 4.0 / (1.0 + 3.0 * X_H + 4.0 * X_H * x_e)
    kt = (2.0 / 3.0) * u_cgs * mu * M_PROTON_G / KEV_ERG  # keV
    electrons = X_H * x_e * mass_g / M_PROTON_G
    positions = gas["Coordinates"][keep].astype(np.float64) / 1e3 / box * n  # grid units
    count = cic_deposit(positions, electrons, n)
    weighted = cic_deposit(positions, electrons * kt, n)
    voxel_cm3 = (box / n / head.h * MPC_CM) ** 3
    kt_grid = np.divide(weighted, count, out=np.zeros_like(count), where=count > 0)
    return GasGrids(count / voxel_cm3, kt_grid, head)


def cic_deposit(positions: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Cloud-in-cell deposit of ``weights`` at ``positions`` (N, 3) in grid units (voxel centres at integers + 0.5
    are not assumed: a particle at integer position i deposits everything into voxel i) on a periodic n^3 grid,
    float64; the total of the grid is the total weight."""
    grid = np.zeros(n**3)
    base = np.floor(positions).astype(np.int64)
    frac = positions - base
    for corner in np.ndindex(2, 2, 2):
        offset = np.asarray(corner)
        w = np.prod(np.where(offset == 1, frac, 1.0 - frac), axis=1) * weights
        idx = np.mod(base + offset, n)
        flat = (idx[:, 0] * n + idx[:, 1]) * n + idx[:, 2]
        grid += np.bincount(flat, weights=w, minlength=n**3)
    return grid.reshape(n, n, n)


# --- dark matter ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DarkMatter:
    """A snapshot's dark matter ordered by particle ID on its Lagrangian grid, in :mod:`xcosmo.nbody`'s variables.

    Attributes
    ----------
    dx : (n, n, n, 3) displacements from the Lagrangian grid points, voxel units (particle ID i sits on grid point
        i in C order: IDs 1..n^3 as Gadget initial conditions number them), the periodic image nearest to the point.
    p : (n, n, n, 3) jaxpm momenta, p = a^(3/2) u / (100 voxel) with u the Gadget velocity in km/s and the voxel in
        Mpc/h (dx/da = p / (a^3 E(a)) in voxel units).
    header : the snapshot's box, redshift and cosmology.
    """

    dx: np.ndarray
    p: np.ndarray
    header: SnapshotHeader

    @property
    def voxel_mpc_h(self) -> float:
        return self.header.box_mpc_h / self.dx.shape[0]

    def coarsen(self, stride: int) -> "DarkMatter":
        """Every ``stride``-th particle along each Lagrangian axis: one particle per voxel of a grid ``stride`` times
        coarser (CAMELS' 256^3 particles in 25 Mpc/h, stride 4: the 64^3 grid of 0.39 Mpc/h voxels). Particle
        (i, j, k) of the coarse grid is (s i, s j, s k) of the fine one, so its displacement and momentum, in voxel
        units, are the fine ones divided by s."""
        from xcosmo.checks import check_integer, require

        check_integer("stride", stride, 1)
        n = self.dx.shape[0]
        require(n % stride == 0, "stride", stride, f"it must divide the {n} particles per side")
        pick = (slice(None, None, stride),) * 3
        return DarkMatter(self.dx[pick] / stride, self.p[pick] / stride, self.header)


def read_dark_matter(path: str | os.PathLike) -> DarkMatter:
    """The dark matter of a snapshot (the paper's z = 6 restart) on its Lagrangian grid, as the particle-mesh state
    :func:`xcosmo.nbody.evolve_from` continues (paper 2.1: the PM input is re-simulated from the hydro run's own
    dark matter). The particle count must be a cube and the IDs a permutation of 1..N (or 0..N-1)."""
    where = f"CAMELS snapshot {str(path)!r}"
    with _open_snapshot(path) as f:
        head = _header(f, where)
        dm = _fields(f, where, "PartType1", ("Coordinates", "Velocities", "ParticleIDs"))
    n_part = len(dm["ParticleIDs"])
    n = round(n_part ** (1 / 3))
    if n**3 != n_part:
        raise ValueError(f"{where}: PartType1 holds {n_part} particles, which is not allowed: expected a cube n^3")
    ids = dm["ParticleIDs"].astype(np.int64)
    ids = ids - ids.min()
    if ids.max() != n_part - 1 or np.unique(ids).size != n_part:
        raise ValueError(f"{where}: PartType1/ParticleIDs are not a permutation of consecutive integers")
    order = np.argsort(ids)
    voxel = head.box_mpc_h / n
    a = 1.0 / (1.0 + head.redshift)
    x = dm["Coordinates"][order].astype(np.float64) / 1e3 / voxel  # grid units
    grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    dx = np.mod(x - grid + n / 2, n) - n / 2  # nearest periodic image
    p = a**1.5 * dm["Velocities"][order].astype(np.float64) / (100.0 * voxel)
    shape = (n, n, n, 3)
    return DarkMatter(dx.reshape(shape).astype(np.float32), p.reshape(shape).astype(np.float32), head)
