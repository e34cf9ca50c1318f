"""Thermal bremsstrahlung (free-free) emission of the intracluster medium (paper section 2.3).

The ICM is a fully ionised plasma with Anders & Grevesse (1989) abundances, H and He solar and every heavier element
(Z = 3-30) scaled to ``metallicity`` times solar (:data:`xcosmo.constants.METALLICITY` = 0.3 in the paper). Every
element is fully stripped (ion charge Z), and only the free-free continuum is kept. The photon emissivity per n_e n_H is

    eps(E, T) = sum_Z (n_Z / n_H) * do_brems(Z, Z+1, T, E)            [photons cm^3 s^-1 keV^-1]

with ``pyatomdb.apec.do_brems`` and the Kellogg et al. (1975) semi-relativistic Gaunt factor (``brems_type = 2``
in pyatomdb 1.2; Kurucz's table where gamma^2 = Z^2 Ry / kT > 0.1). ``do_brems`` is the Kramers law with a Gaunt
factor (Rybicki & Lightman 1979, eq. 5.14b, eps_nu = C_ff Z^2 n_e n_i T^-1/2 exp(-h nu/kT) g_ff with
C_ff = 6.84e-38 erg cm^3 s^-1 Hz^-1 K^1/2) counted in photons per keV:

    eps(E, T) = A * gbar(E, T) * exp(-E/kT) / (E sqrt(kT)),
    A = (C_ff / h) sqrt(k_B) / (1 keV in erg) * sum_Z (n_Z/n_H) Z^2,

with C_ff / h = 1.6543e-20 erg cm^3 s^-1 keV^-1 K^1/2 (pyatomdb's ``BREMS_COEFF``), k_B in keV/K, E and kT in keV,
and gbar = sum_Z (n_Z/n_H) Z^2 g_ff(Z) / sum_Z (n_Z/n_H) Z^2 the abundance-weighted mean Gaunt factor.

The table stores gbar on a (log E, log kT) grid and :class:`BremsTable` interpolates it with interpax (C1 local
cubic splines); the analytic factor exp(-E/kT) / (E sqrt(kT)) is applied exactly. Interpolating the O(1), slowly
varying gbar rather than log eps keeps the exponential cut-off exact and copes with the points where pyatomdb's
Gaunt factor is exactly zero (u = E/kT >= 31.6 with Kurucz's table, u >= 50 with Kellogg's fit). Off the grid
nodes the table follows ``do_brems`` to 1e-5 (median) and within 1% for kT = 0.1-12 keV and E/kT < 20; the
largest differences sit where pyatomdb's Gaunt factor itself jumps as the Kellogg fit changes regime (kT = 0.136
and 0.544 keV, below 1%; kT = 13.6 keV, where hydrogen switches to the Born approximation, 1-4.6% for E = 1-60 keV).
Queries outside the table raise: concrete ones ``ValueError`` at once, traced ones when the compiled function runs
(:func:`xcosmo.checks.in_range`), with a relative slack of 1e-5 at the table's ends for float32 rounding.

Observed spectra (redshift, apec normalisation, energy bins) are in :mod:`xcosmo.xray.spectrum`.

The table is built once in float64 numpy (a fraction of a second) and cached as ``.npz`` in the user's cache folder
(``$XDG_CACHE_HOME/xcosmo`` or ``~/.cache/xcosmo``), keyed by a hash of the grid, abundances and pyatomdb version.
Evaluation runs in JAX, jit-able and differentiable in E and kT, in the precision of its inputs (float32 for the
simulations, float64 for the analytical model). Units: energies and kT in keV, temperatures in K, lengths in cm.
pyatomdb is imported only when a table has to be built, without its interactive question (:mod:`xcosmo.xray.atomdb`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import equinox as eqx
import interpax
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from xcosmo.checks import (
    check_increasing,
    check_integer,
    check_number,
    check_shape,
    in_range,
    positive,
    require,
)
from xcosmo.constants import KT_RANGE_KEV, METALLICITY
from xcosmo.io import atomic_path, ensure_writable_dir
from xcosmo.xray.atomdb import import_pyatomdb, pyatomdb_version

__all__ = [
    "AG89_ABUNDANCES",
    "BremsGrid",
    "BremsTable",
    "abundances",
    "brems_emissivity",
    "build_brems_table",
    "cache_dir",
    "load_brems_table",
]

# Anders & Grevesse (1989), table 2, photospheric log eps = 12 + log10(n_Z / n_H) for Z = 1..30 (the "angr" set of
# XSPEC and AtomDB's AG89; pyatomdb holds the same numbers in its downloaded abundance file).
_AG89_LOG_EPS = (
    12.00, 10.99, 1.16, 1.15, 2.60, 8.56, 8.05, 8.93, 4.56, 8.09,  # H He Li Be B C N O F Ne
    6.33, 7.58, 6.47, 7.55, 5.45, 7.21, 5.50, 6.56, 5.12, 6.36,  # Na Mg Al Si P S Cl Ar K Ca
    3.10, 4.99, 4.00, 5.67, 5.39, 7.67, 4.92, 6.25, 4.21, 4.60,  # Sc Ti V Cr Mn Fe Co Ni Cu Zn
)  # fmt: skip
AG89_ABUNDANCES = 10.0 ** (np.asarray(_AG89_LOG_EPS) - 12.0)
"""Solar number abundances n_Z / n_H for Z = 1..30 (Anders & Grevesse 1989); index Z - 1."""

_FORMAT_VERSION = 1
END_SLACK = 1e-5
"""Relative slack of the table's range at its ends, for queries that float32 rounding puts just outside."""


@dataclass(frozen=True)
class BremsGrid:
    """Log-spaced rest-frame energy and temperature grid of the emissivity table.

    The default energy range covers an observer-frame 0.3-12 keV band up to z = 4 (rest energies up to 60 keV); the
    default temperatures span :data:`xcosmo.constants.KT_RANGE_KEV`.

    Attributes
    ----------
    e_min, e_max : rest-frame photon energy range, keV.
    n_e : number of energies.
    kt_min, kt_max : temperature range kT, keV.
    n_kt : number of temperatures.
    """

    e_min: float = 0.05
    e_max: float = 60.0
    n_e: int = 300
    kt_min: float = KT_RANGE_KEV[0]
    kt_max: float = KT_RANGE_KEV[1]
    n_kt: int = 60

    def __post_init__(self) -> None:
        for low, high in (("e_min", "e_max"), ("kt_min", "kt_max")):
            a = check_number(low, getattr(self, low), 0.0, open=True, unit="keV")
            b = check_number(high, getattr(self, high), 0.0, open=True, unit="keV")
            require(a < b, low, a, f"must be smaller than {high} = {b!r} keV")
        for name in ("n_e", "n_kt"):
            check_integer(name, getattr(self, name), 4)

    def energies(self) -> np.ndarray:
        """Grid energies in keV (float64)."""
        return np.geomspace(self.e_min, self.e_max, self.n_e)

    def temperatures(self) -> np.ndarray:
        """Grid temperatures kT in keV (float64)."""
        return np.geomspace(self.kt_min, self.kt_max, self.n_kt)


def abundances(metallicity: float = METALLICITY) -> np.ndarray:
    """Number abundances n_Z / n_H for Z = 1..30: AG89 with elements Z >= 3 scaled by ``metallicity`` (solar units)."""
    metallicity = check_number("metallicity", metallicity, 0.0, 10.0, unit="(solar units)")
    out = AG89_ABUNDANCES.copy()
    out[2:] *= metallicity
    return out


def cache_dir() -> Path:
    """xcosmo's cache folder: ``$XDG_CACHE_HOME/xcosmo``, or ``~/.cache/xcosmo`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xcosmo"


def _pyatomdb():
    """pyatomdb, imported with a stub ``$ATOMDB`` in the cache folder where the user has none."""
    return import_pyatomdb(cache_dir() / "atomdb")


def brems_emissivity(
    energy_kev: ArrayLike,
    kt_kev: ArrayLike,
    *,
    metallicity: float = METALLICITY,
    elements: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Free-free photon emissivity per n_e n_H straight from ``pyatomdb.apec.do_brems`` (Kellogg et al. 1975).

    eps(E, T) = sum_Z (n_Z/n_H) do_brems(Z, z1 = Z + 1, T, E) / dE over fully stripped ions. ``do_brems`` returns
    photons cm^3 s^-1 per bin evaluated at the bin centre; it is called on bins of relative width 2e-6 around each
    energy and divided by the width, which gives the emissivity at that energy.

    Parameters
    ----------
    energy_kev : photon energies, keV, shape (n_e,), all > 0.
    kt_kev : temperatures kT, keV, shape (n_kt,) or scalar, all > 0.
    metallicity : metal abundance in solar units (H, He solar).
    elements : atomic numbers to include (default: all Z = 1..30). With ``elements=(1,)`` the result is the
        hydrogen continuum per n_e n_p.

    Returns
    -------
    ndarray, float64, shape (n_kt, n_e) (or (n_e,) for scalar kT): photons cm^3 s^-1 keV^-1.
    """
    energy = np.atleast_1d(np.asarray(positive("energy_kev", energy_kev, unit="keV"), dtype=np.float64))
    check_shape("energy_kev", energy, (None,))
    kts = np.asarray(positive("kt_kev", kt_kev, unit="keV"), dtype=np.float64)
    elements = tuple(range(1, 31)) if elements is None else tuple(check_integer("elements", z, 1, 31) for z in elements)
    require(bool(elements), "elements", elements, "expected at least one atomic number in [1, 30]")
    pyatomdb = _pyatomdb()
    abund = abundances(metallicity)
    half = 1e-6
    edges = np.empty(2 * energy.size)
    edges[0::2], edges[1::2] = energy * (1.0 - half), energy * (1.0 + half)
    width = edges[1::2] - edges[0::2]  # the dE that do_brems multiplies by
    out = np.zeros((np.atleast_1d(kts).size, energy.size))
    with np.errstate(all="ignore"):
        for i, kt in enumerate(np.atleast_1d(kts)):
            temp_k = kt / pyatomdb.const.KBOLTZ
            for z in elements:
                bins = pyatomdb.apec.do_brems(z, z + 1, temp_k, abund[z - 1], pyatomdb.const.KELLOGG, edges)
                out[i] += bins[0::2] / width  # the odd bins are the gaps between the narrow bins
    return out[0] if kts.ndim == 0 else out


# --- the table ------------------------------------------------------------------------------------------------


class BremsTable(eqx.Module):
    """Tabulated free-free emissivity eps(E, kT) per n_e n_H, interpolated in JAX.

    eps = prefactor * gbar(E, kT) * exp(-E/kT) / (E sqrt(kT)) with gbar (dimensionless abundance-weighted Gaunt
    factor) interpolated by C1 local cubic splines in (ln E, ln kT). Build it with :func:`load_brems_table`. It is
    a pytree: pass it through ``jax.jit`` / ``eqx.filter_jit`` as an argument or close over it.

    Attributes
    ----------
    log_energy : ln of the grid energies (keV), shape (n_e,).
    log_kt : ln of the grid temperatures (keV), shape (n_kt,).
    gaunt : gbar on the grid, shape (n_e, n_kt).
    prefactor : A in photons cm^3 s^-1 keV^1/2.
    energy_range : (first, last) grid energy, keV.
    kt_range : (first, last) grid temperature, keV.
    metallicity : metal abundance, solar units.
    pyatomdb_version : version of pyatomdb that computed the table.
    """

    log_energy: np.ndarray
    log_kt: np.ndarray
    gaunt: np.ndarray
    prefactor: float = eqx.field(static=True)
    energy_range: tuple[float, float] = eqx.field(static=True)
    kt_range: tuple[float, float] = eqx.field(static=True)
    metallicity: float = eqx.field(static=True)
    pyatomdb_version: str = eqx.field(static=True, default="unknown")

    @classmethod
    def from_arrays(
        cls,
        energy_kev: np.ndarray,
        kt_kev: np.ndarray,
        gaunt: np.ndarray,
        prefactor: float,
        metallicity: float,
        pyatomdb_version: str = "unknown",
    ) -> BremsTable:
        """Table from grid energies (keV, increasing), temperatures (keV, increasing) and gbar (n_e, n_kt)."""
        energy = positive("energy_kev", check_increasing("energy_kev", energy_kev, min_size=4, unit="keV"), unit="keV")
        kt = positive("kt_kev", check_increasing("kt_kev", kt_kev, min_size=4, unit="keV"), unit="keV")
        gaunt = check_shape("gaunt", np.asarray(gaunt, np.float64), (energy.size, kt.size), " = (n_e, n_kt)")
        return cls(
            log_energy=np.log(energy),
            log_kt=np.log(kt),
            gaunt=gaunt,
            prefactor=float(prefactor),
            energy_range=(float(energy[0]), float(energy[-1])),
            kt_range=(float(kt[0]), float(kt[-1])),
            metallicity=float(metallicity),
            pyatomdb_version=str(pyatomdb_version),
        )

    def gaunt_factor(self, energy_kev: ArrayLike, kt_kev: ArrayLike) -> jax.Array:
        """Abundance-weighted mean Gaunt factor gbar(E, kT) (dimensionless); E, kT in keV, broadcast together.

        Values outside the table (beyond a relative 1e-5 at its ends) raise ``ValueError`` when concrete, and make
        the compiled function raise when traced.
        """
        kt = in_range("kt_kev", as_float(kt_kev), *self.kt_range, unit="keV", rtol=END_SLACK)
        energy = in_range("energy_kev", as_float(energy_kev), *self.energy_range, unit="keV", rtol=END_SLACK)
        energy, kt = jnp.broadcast_arrays(energy, kt)
        dtype = jnp.result_type(energy, kt)
        x = _clip_to_knots(jnp.log(energy), self.energy_range)
        y = _clip_to_knots(jnp.log(kt), self.kt_range)
        g = interpax.interp2d(
            x.ravel(),
            y.ravel(),
            jnp.asarray(self.log_energy, dtype),
            jnp.asarray(self.log_kt, dtype),
            jnp.asarray(self.gaunt, dtype),
            method="cubic",
            extrap=False,
        )
        return jnp.maximum(g.reshape(x.shape), 0.0)  # spline undershoot next to pyatomdb's zero cut-offs

    def emissivity(self, energy_kev: ArrayLike, kt_kev: ArrayLike) -> jax.Array:
        """Photon emissivity eps(E, kT) per n_e n_H, photons cm^3 s^-1 keV^-1, at rest-frame E (keV) and kT (keV).

        ``energy_kev`` and ``kt_kev`` broadcast together; the result has their dtype (float32 or float64). Values
        outside the table raise as in :meth:`gaunt_factor`.
        """
        energy, kt = as_float(energy_kev), as_float(kt_kev)
        g = self.gaunt_factor(energy, kt)
        return self.prefactor * g * jnp.exp(-energy / kt) / (energy * jnp.sqrt(kt))


def as_float(x: ArrayLike) -> jax.Array:
    """``x`` as a JAX array of a floating dtype (integers become the default float)."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jax.dtypes.canonicalize_dtype(jnp.float64))
    return x


def _clip_to_knots(q: jax.Array, bounds: tuple[float, float]) -> jax.Array:
    """Pull ln-queries within the end slack of the end knots onto them (float32 rounding)."""
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    q = jnp.where((q < lo) & (q > lo - END_SLACK), lo, q)
    return jnp.where((q > hi) & (q < hi + END_SLACK), hi, q)


# --- building and caching -------------------------------------------------------------------------------------


def _table_key(grid: BremsGrid, metallicity: float) -> str:
    settings = {
        "format": _FORMAT_VERSION,
        "grid": dataclasses.asdict(grid),
        "abundances": [float(a) for a in abundances(metallicity)],
        "brems": "kellogg",
        "pyatomdb": pyatomdb_version(),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def build_brems_table(grid: BremsGrid = BremsGrid(), metallicity: float = METALLICITY) -> BremsTable:
    """Compute the table with pyatomdb (float64 numpy, no disk access). Prefer :func:`load_brems_table`."""
    pyatomdb = _pyatomdb()
    abund = abundances(metallicity)
    energy, kt = grid.energies(), grid.temperatures()
    z2 = np.arange(1, 31, dtype=np.float64) ** 2
    prefactor = (
        pyatomdb.const.BREMS_COEFF * math.sqrt(pyatomdb.const.KBOLTZ) / pyatomdb.const.ERG_KEV * float(abund @ z2)
    )
    eps = brems_emissivity(energy, kt, metallicity=metallicity)  # (n_kt, n_e)
    kramers = prefactor * np.exp(-energy[None, :] / kt[:, None]) / (energy[None, :] * np.sqrt(kt[:, None]))
    with np.errstate(divide="ignore", invalid="ignore"):
        gaunt = np.where(eps > 0, eps / kramers, 0.0)
    return BremsTable.from_arrays(energy, kt, gaunt.T, prefactor, metallicity, pyatomdb_version())


def _read_table(path: Path, key: str, grid: BremsGrid) -> BremsTable:
    with np.load(path, allow_pickle=False) as f:
        if str(f["key"]) != key:
            raise ValueError(f"cache key {str(f['key'])!r} differs from {key!r}")
        energy, kt, gaunt = f["energy_kev"], f["kt_kev"], f["gaunt"]
        if not (np.allclose(energy, grid.energies(), rtol=1e-12) and np.allclose(kt, grid.temperatures(), rtol=1e-12)):
            raise ValueError("its grid differs from the requested one")
        if not np.all(np.isfinite(gaunt)):
            raise ValueError("it holds non-finite Gaunt factors")
        return BremsTable.from_arrays(
            energy, kt, gaunt, float(f["prefactor"]), float(f["metallicity"]), str(f["pyatomdb_version"])
        )


def load_brems_table(
    grid: BremsGrid = BremsGrid(),
    metallicity: float = METALLICITY,
    *,
    cache: str | os.PathLike | None = None,
    rebuild: bool = False,
    use_cache: bool = True,
) -> BremsTable:
    """The emissivity table for ``grid`` and ``metallicity``, from the disk cache or built and cached.

    Parameters
    ----------
    grid : energy (keV) and temperature (keV) grid.
    metallicity : metal abundance in solar units (paper: 0.3).
    cache : cache folder (default :func:`cache_dir`). The file is ``brems_<hash>.npz``, the hash covering the grid,
        abundances, Gaunt-factor choice and pyatomdb version; it holds the grid, gbar, the prefactor and the pyatomdb
        version, and is written atomically.
    rebuild : recompute and overwrite the cached file.
    use_cache : if False, neither read nor write the disk.

    An unreadable or inconsistent cache file is rebuilt with a warning; an unwritable cache folder only warns.
    """
    key = _table_key(grid, metallicity)
    if not use_cache:
        return build_brems_table(grid, metallicity)
    path = Path(cache) if cache is not None else cache_dir()
    path = path / f"brems_{key}.npz"
    if path.exists() and not rebuild:
        try:
            return _read_table(path, key, grid)
        except Exception as err:  # noqa: BLE001 - any damage to the file means: rebuild it
            warnings.warn(f"emissivity cache {str(path)!r} is unusable ({err}); rebuilding it", stacklevel=2)
    table = build_brems_table(grid, metallicity)
    try:
        ensure_writable_dir(path.parent)
        with atomic_path(path) as tmp:
            np.savez(
                tmp,
                key=np.str_(key),
                energy_kev=grid.energies(),
                kt_kev=grid.temperatures(),
                gaunt=table.gaunt,
                prefactor=np.float64(table.prefactor),
                metallicity=np.float64(table.metallicity),
                pyatomdb_version=np.str_(table.pyatomdb_version),
                grid=np.str_(json.dumps(dataclasses.asdict(grid))),
            )
    except (OSError, ValueError) as err:
        warnings.warn(f"emissivity table not cached at {str(path)!r}: {err}", stacklevel=2)
    return table
