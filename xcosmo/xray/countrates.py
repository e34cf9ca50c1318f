"""XMM-Newton count rates of hot plasma: the [0.5-1] and [1-2] keV bands, fluxes, luminosities and voxels.

A plasma at temperature kT and redshift z with XSPEC's apec normalisation

    norm = 1e-14 / (4 pi [D_A (1+z)]^2) int n_e n_H dV                                  [cm^-5]

has count rates CR_b = norm * R_b(kT, z) in each observer-frame channel band b, with R_b the photon spectrum of
:func:`xcosmo.xray.emission.photon_flux` at norm = 1 folded through the response (:class:`Response`). The bands are
the paper's (section 2.3): [0.5-1] and [1-2] keV, CR[0.5-2] = their sum and HR = CR[1-2] / CR[0.5-1].

:class:`CountRateTable` tabulates ln R_b on a (ln kT, z) grid once per response and interpolates it in JAX
(interpax, cubic): jit-able and differentiable in kT and z, in the precision of its inputs. :func:`exact_band_rates`
folds the spectrum directly, for checks. :func:`voxel_count_rates` is what the light-cone pipeline calls: every voxel
of a box at one redshift is a small plasma cloud.

Units: kT in keV, count rates in counts/s (pn+MOS1+MOS2 by default), fluxes in erg/s/cm^2, luminosities in erg/s,
densities in cm^-3, comoving lengths in Mpc/h.
"""

from __future__ import annotations

import math

import equinox as eqx
import interpax
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from xcosmo.checks import check_type, in_range, require
from xcosmo.constants import KEV_ERG, METALLICITY, MPC_CM
from xcosmo.cosmology import Cosmology, comoving_distance, luminosity_distance
from xcosmo.precision import float64
from xcosmo.quadrature import integrate
from xcosmo.xray.emission import BremsTable, abundances, load_brems_table
from xcosmo.xray.response import Response
from xcosmo.xray.spectrum import apec_norm, photon_flux

__all__ = [
    "BANDS",
    "CountRateTable",
    "band_count_rates",
    "band_energy_flux",
    "bolometric_emissivity",
    "emissivity",
    "count_rate_to_flux",
    "default_table",
    "electrons_per_hydrogen",
    "exact_band_rates",
    "flux_to_luminosity",
    "luminosity_to_norm",
    "voxel_count_rates",
]

BANDS: tuple[tuple[float, float], tuple[float, float]] = ((0.5, 1.0), (1.0, 2.0))
"""Observer-frame channel bands of the paper, keV: [0.5-1] (soft) and [1-2] (hard)."""
Z_MAX = 2.0
"""Highest redshift of the count-rate tables."""
_RTOL = 1e-6  # relative slack of the tables' kT and z ranges (rounding of queries on the end knots)
_N_GL = 48  # Gauss-Legendre nodes of the energy-flux and bolometric integrals (in ln E)


def electrons_per_hydrogen(metallicity: float = METALLICITY) -> float:
    """n_e / n_H of the fully ionised plasma of the emission model: sum_Z Z n_Z / n_H (1.17-1.2)."""
    ab = abundances(metallicity)
    return float(np.sum(np.arange(1, ab.size + 1) * ab))


# --- exact fold ---------------------------------------------------------------------------------------------------


def _band_rows(response: Response, bands) -> tuple[np.ndarray, np.ndarray]:
    """Energy edges and (n_sel, n_band) band matrix restricted to the energy bins that reach the bands."""
    bm = response.band_matrix(bands)
    used = np.nonzero(bm.sum(axis=1) > 0)[0]
    lo, hi = used[0], used[-1] + 1
    return response.energy_edges[lo : hi + 1], bm[lo:hi]


def exact_band_rates(
    kt_kev: ArrayLike,
    z: ArrayLike,
    norm: ArrayLike = 1.0,
    response: Response | None = None,
    table: BremsTable | None = None,
    bands=BANDS,
    n_nodes: int = 8,
) -> jax.Array:
    """Count rates (counts/s) in ``bands`` by folding the photon spectrum through ``response``: shape (..., n_band).

    The reference for :class:`CountRateTable`; slower (one spectrum of a few hundred bins per point). ``n_nodes``
    Gauss-Legendre nodes integrate the spectrum over each response bin (2 suffice for 10 eV bins: 1e-4).
    """
    response = Response.xmm_epic() if response is None else response
    table = load_brems_table() if table is None else table
    edges, bm = _band_rows(response, bands)
    flux = photon_flux(table, edges, kt_kev, z, norm, n_nodes=n_nodes)
    return flux @ jnp.asarray(bm, dtype=flux.dtype)


# --- tabulated rates ----------------------------------------------------------------------------------------------


class CountRateTable(eqx.Module):
    """ln of the count rate per unit apec norm, ln R_b(ln kT, z) in counts/s per cm^-5, for the two paper bands.

    Built by :meth:`build` from a response and the emissivity table (about a second); evaluated by bicubic
    interpolation (interpax) in (ln kT, z). Against the exact fold it agrees to better than 1e-3 (tested).
    """

    ln_kt: np.ndarray
    z: np.ndarray
    ln_rate: np.ndarray  # (n_kt, n_z, 2)
    response_name: str = eqx.field(static=True)
    kt_range: tuple[float, float] = eqx.field(static=True)
    z_range: tuple[float, float] = eqx.field(static=True)

    @classmethod
    @float64
    def build(
        cls,
        response: Response | None = None,
        table: BremsTable | None = None,
        n_kt: int = 96,
        n_z: int = 41,
        z_max: float = Z_MAX,
    ) -> CountRateTable:
        """Tabulate the band rates of ``response`` (default: built-in pn+MOS1+MOS2) for kT over the emissivity
        table's range (log-spaced) and 0 <= z <= ``z_max`` (linear)."""
        response = Response.xmm_epic() if response is None else response
        table = load_brems_table() if table is None else table
        kt = np.geomspace(*table.kt_range, n_kt)
        zs = np.linspace(0.0, z_max, n_z)
        rates = np.asarray(exact_band_rates(kt[:, None], zs[None, :], 1.0, response, table, n_nodes=2))
        if np.any(rates <= 0):
            raise ValueError(f"response {response.name!r} gives no counts in a band for some (kT, z) of the table")
        return cls(  # numpy float64: cast to the precision of each query
            np.log(kt),
            zs,
            np.log(rates),
            response.name,
            (float(kt[0]), float(kt[-1])),
            (0.0, float(z_max)),
        )

    def __call__(self, kt_kev: ArrayLike, z: ArrayLike) -> jax.Array:
        """Count rates per unit norm, counts/s per cm^-5, shape broadcast(kT, z) + (2,).

        kT and z must lie inside :attr:`kt_range` and :attr:`z_range`: concrete values outside raise ``ValueError``,
        traced ones make the compiled function raise.
        """
        kt, z = jnp.broadcast_arrays(jnp.asarray(kt_kev, dtype=float), jnp.asarray(z, dtype=float))
        kt = in_range("kt_kev", kt, *self.kt_range, unit="keV", rtol=_RTOL)
        z = in_range("z", z, *self.z_range, rtol=_RTOL)
        dtype = kt.dtype
        f = jnp.asarray(self.ln_rate, dtype)
        out = interpax.interp2d(
            jnp.log(kt).ravel(), z.ravel(), jnp.asarray(self.ln_kt, dtype), jnp.asarray(self.z, dtype), f, method="cubic"
        )
        return jnp.exp(out).reshape(kt.shape + (2,))

    def at_redshift(self, z: float) -> tuple[jax.Array, jax.Array]:
        """(ln kT knots, ln R_b(kT) at this z, shape (n_kt, 2)): the 1-D curve a box at one redshift needs.

        ``z`` is a scalar inside :attr:`z_range` (checked, also when traced).
        """
        z = in_range("z", z, *self.z_range, rtol=_RTOL)
        dtype = jnp.result_type(float)  # explicit: see xcosmo.precision.constant
        ln_kt = jnp.asarray(self.ln_kt, dtype)
        zq = jnp.full(ln_kt.shape, z, dtype=dtype)
        ln_r = interpax.interp2d(ln_kt, zq, ln_kt, jnp.asarray(self.z, dtype), jnp.asarray(self.ln_rate, dtype), method="cubic")
        return ln_kt, ln_r


_TABLES: dict[str, CountRateTable] = {}  # by Response.digest, and "built-in" for the default response
_BUILT_IN = "built-in"


def default_table() -> CountRateTable:
    """The count-rate table of the built-in pn+MOS1+MOS2 response (built on first use, then kept in memory)."""
    return _table_for(None)


def _table_for(response: Response | None) -> CountRateTable:
    """The table of ``response`` (None: the built-in one), built once per response content (:attr:`Response.digest`)."""
    key = _BUILT_IN if response is None else response.digest
    if key not in _TABLES:
        resp = Response.xmm_epic() if response is None else response
        if resp.digest not in _TABLES:
            _TABLES[resp.digest] = CountRateTable.build(resp)
        _TABLES[key] = _TABLES[resp.digest]
    return _TABLES[key]


def band_count_rates(
    kt_kev: ArrayLike, z: ArrayLike, norm: ArrayLike = 1.0, response: Response | None = None
) -> tuple[jax.Array, jax.Array]:
    """Count rates (counts/s) in [0.5-1] and [1-2] keV of a plasma at ``kt_kev`` and ``z`` with apec ``norm``
    (cm^-5), through ``response`` (default: built-in XMM-Newton EPIC pn+MOS1+MOS2). Vectorised; differentiable.

    Returns ``(cr_05_1, cr_1_2)``; CR[0.5-2] is their sum and HR = cr_1_2 / cr_05_1.
    """
    if response is not None:
        check_type("response", response, Response, "an xcosmo.xray.Response (or None for the built-in EPIC one)")
    norm = in_range("norm", norm, 0.0, math.inf, unit="cm^-5")
    rates = _table_for(response)(kt_kev, z) * jnp.asarray(norm)[..., None]
    return rates[..., 0], rates[..., 1]


# --- fluxes and luminosities ----------------------------------------------------------------------------------------


def _energy_moment(table: BremsTable, kt: jax.Array, lo: float, hi: float, zp1: ArrayLike = 1.0) -> jax.Array:
    """int_lo^hi E eps(E (1+z), kT) dE = int E^2 eps(E (1+z), kT) d(ln E), keV cm^3 s^-1 per n_e n_H, by
    Gauss-Legendre in ln E; lo, hi in keV, ``zp1`` = 1+z broadcasting with ``kt``. Shape of ``kt``."""

    def integrand(ln_e):
        e = jnp.exp(ln_e)
        return e**2 * table.emissivity(e * jnp.asarray(zp1)[..., None], kt[..., None])

    return integrate(integrand, math.log(lo), math.log(hi), _N_GL)


def band_energy_flux(
    kt_kev: ArrayLike,
    z: ArrayLike,
    norm: ArrayLike = 1.0,
    band: tuple[float, float] = (0.5, 2.0),
    table: BremsTable | None = None,
) -> jax.Array:
    """Observer-frame energy flux in ``band`` (keV), erg/s/cm^2, of a plasma with apec ``norm`` (cm^-5):

        F = 1e14 norm int_band E eps(E (1+z), kT) dE   (48-point Gauss-Legendre in ln E).
    """
    table = load_brems_table() if table is None else table
    lo, hi = (float(b) for b in band)
    require(0 < lo < hi, "band", band, "expected (lo, hi) in keV with 0 < lo < hi")
    norm = in_range("norm", norm, 0.0, math.inf, unit="cm^-5")
    kt, z, norm = jnp.broadcast_arrays(*(jnp.asarray(a, dtype=float) for a in (kt_kev, z, norm)))
    return 1e14 * norm * _energy_moment(table, kt, lo, hi, 1.0 + z) * KEV_ERG


def bolometric_emissivity(kt_kev: ArrayLike, table: BremsTable | None = None) -> jax.Array:
    """Lambda(T) = int_0^inf E eps(E, kT) dE in erg cm^3 s^-1 per n_e n_H (free-free), so L_bol = Lambda EM.

    Gauss-Legendre over the table's energy range; below and above it the Gaunt factor is held at its edge value
    and the Kramers shape A g exp(-E/kT) / sqrt(kT) is integrated analytically.
    """
    table = load_brems_table() if table is None else table
    kt = jnp.asarray(kt_kev, dtype=float)
    e_lo, e_hi = table.energy_range
    # The exp(-E/kT) cut-off is steep at low kT: integrate in four pieces of 48 nodes each.
    pieces = ((e_lo, 1.0), (1.0, 8.0), (8.0, 30.0), (30.0, e_hi))
    total = sum(_energy_moment(table, kt, a, b) for a, b in pieces)
    g_lo = table.gaunt_factor(e_lo, kt)
    g_hi = table.gaunt_factor(e_hi, kt)
    # int_0^e_lo A g exp(-E/kT)/sqrt(kT) dE and int_e_hi^inf (same), with A = table.prefactor
    tails = table.prefactor * jnp.sqrt(kt) * (g_lo * (1.0 - jnp.exp(-e_lo / kt)) + g_hi * jnp.exp(-e_hi / kt))
    return (total + tails) * KEV_ERG


def emissivity(kt_kev: ArrayLike, band: tuple[float, float] | None = None, table: BremsTable | None = None) -> jax.Array:
    """Lambda_band(T) = int_band E eps(E, kT) dE, erg cm^3 s^-1 per n_e n_H, rest frame: the luminosity in ``band``
    (keV) of a unit emission measure, so that L_band = Lambda_band EM; ``band=None`` is the bolometric
    :func:`bolometric_emissivity`. Shape of ``kt_kev``."""
    if band is None:
        return bolometric_emissivity(kt_kev, table)
    table = load_brems_table() if table is None else table
    lo, hi = (float(b) for b in band)
    require(0 < lo < hi, "band", band, "expected (lo, hi) in keV with 0 < lo < hi")
    return _energy_moment(table, jnp.asarray(kt_kev, dtype=float), lo, hi) * KEV_ERG


def _distance_cm(distance_mpc_h, cosmo: Cosmology):
    return distance_mpc_h / cosmo.h * MPC_CM


def luminosity_to_norm(
    cosmo: Cosmology, l_bol_erg_s: ArrayLike, kt_kev: ArrayLike, z: ArrayLike, table: BremsTable | None = None
) -> jax.Array:
    """apec norm (cm^-5) of a plasma of bolometric luminosity ``l_bol_erg_s`` (erg/s, physical) at kT and z:
    EM = L_bol / Lambda(T), norm = 1e-14 EM / (4 pi [D_A (1+z)]^2)."""
    em = jnp.asarray(l_bol_erg_s) / bolometric_emissivity(kt_kev, table)
    d_a_cm = _distance_cm(comoving_distance(cosmo, z), cosmo) / (1.0 + jnp.asarray(z))
    return apec_norm(em, d_a_cm, z)


def count_rate_to_flux(
    cr_05_2: ArrayLike,
    kt_kev: ArrayLike,
    z: ArrayLike,
    band: tuple[float, float] = (0.5, 2.0),
    response: Response | None = None,
) -> jax.Array:
    """Energy flux (erg/s/cm^2, observer-frame ``band``) of a source with [0.5-2] keV count rate ``cr_05_2``
    (counts/s) and a plasma spectrum at kT and z: the count-rate-to-flux conversion factor of the response."""
    soft, hard = band_count_rates(kt_kev, z, 1.0, response)
    return jnp.asarray(cr_05_2) * band_energy_flux(kt_kev, z, 1.0, band) / (soft + hard)


def flux_to_luminosity(cosmo: Cosmology, flux_erg_s_cm2: ArrayLike, z: ArrayLike) -> jax.Array:
    """L = 4 pi D_L^2 F in erg/s (no K-correction: the luminosity in the redshifted band)."""
    d_l = _distance_cm(luminosity_distance(cosmo, z), cosmo)
    return 4.0 * jnp.pi * d_l**2 * jnp.asarray(flux_erg_s_cm2)


# --- voxels ---------------------------------------------------------------------------------------------------------


def voxel_count_rates(
    cosmo: Cosmology,
    n_e: ArrayLike,
    kt_kev: ArrayLike,
    z: float,
    voxel_mpc_h: float,
    table: CountRateTable | None = None,
    metallicity: float = METALLICITY,
) -> tuple[jax.Array, jax.Array]:
    """Count rates (counts/s) in [0.5-1] and [1-2] keV that each voxel of a box at redshift ``z`` contributes.

    Parameters
    ----------
    cosmo : the cosmology (distances).
    n_e : electron number density per comoving cm^3 (the physical density is n_e (1+z)^3), any shape.
    kt_kev : gas temperature kT in keV, same shape.
    z : redshift of the box, inside the table's redshift range (a scalar, may be traced: every voxel is placed at
        the box's comoving distance).
    voxel_mpc_h : comoving voxel side in Mpc/h, 1e-6 to 1e4.
    table : count-rate table (default: built-in EPIC pn+MOS1+MOS2).
    metallicity : sets n_H = n_e / (n_e/n_H) (see :func:`electrons_per_hydrogen`).

    Each voxel is a plasma cloud of emission measure EM = n_e,phys n_H,phys V_phys = n_e^2 (1+z)^3 V_com / (n_e/n_H)
    at the comoving distance chi(z), so norm = 1e-14 EM / (4 pi chi^2) (D_A (1+z) = chi in a flat universe).
    Temperatures below the table (kT < 0.1 keV, cold IGM) follow the bremsstrahlung asymptote
    R_b ~ kT^-1/2 exp(-E_b (1+z) / kT) from the table's first knot, E_b the band's lower edge (down to 1e-3 keV,
    where it is below exp(-500)); above the table the last knot is used. The per-voxel lookup is a linear
    interpolation in ln R on a uniform 4096-knot grid of ln kT resampled from the table at the box's redshift.
    Runs in the precision of ``n_e`` (float32 in the simulations); jit-able.
    """
    voxel_mpc_h = in_range("voxel_mpc_h", voxel_mpc_h, 1e-6, 1e4, unit="Mpc/h")
    table = default_table() if table is None else table
    n_e = jnp.asarray(n_e)
    dtype = n_e.dtype if jnp.issubdtype(n_e.dtype, jnp.floating) else jnp.result_type(float)
    kt = jnp.asarray(kt_kev, dtype=dtype)
    x0, dx, ln_r = _voxel_curve(table, z, dtype)  # checks z against the table's range (scalar: no per-voxel cost)
    # norm per n_e^2 = (1e-14 / 4 pi) V_com (1+z)^3 / (chi^2 n_e/n_H), assembled in logs: chi^2 in cm^2 overflows float32.
    chi_mpc = comoving_distance(cosmo, z) / cosmo.h
    ln_scale = (
        math.log(1e-14 / (4.0 * math.pi)) + math.log(MPC_CM) + 3.0 * jnp.log(voxel_mpc_h / cosmo.h)
        - 2.0 * jnp.log(chi_mpc) + 3.0 * jnp.log1p(z) - math.log(electrons_per_hydrogen(metallicity))
    )  # fmt: skip
    scale = jnp.exp(jnp.asarray(ln_scale, dtype))
    norm = n_e.astype(dtype) ** 2 * scale

    x = (jnp.log(jnp.maximum(kt, 1e-30)) - x0) / dx
    x = jnp.clip(x, 0.0, ln_r.shape[0] - 1.000001)
    i = jnp.floor(x).astype(jnp.int32)
    w = (x - i)[..., None]
    rate = jnp.exp((1.0 - w) * ln_r[i] + w * ln_r[i + 1])  # (..., 2): linear in ln R on a 4096-knot grid
    return norm * rate[..., 0], norm * rate[..., 1]


_VOXEL_KT_MIN = 1e-3  # keV; below it the soft band is < exp(-500) of its value at the table's first knot
_VOXEL_KNOTS = 4096


def _voxel_curve(table: CountRateTable, z, dtype):
    """ln R_b(kT) at redshift z on a uniform grid of ln kT from 1e-3 keV to the table's top (4096 knots; linear
    interpolation on it is within 1e-4 of the table's cubic), with the cold-gas asymptote below the table."""
    ln_kt, ln_r = table.at_redshift(z)
    grid = jnp.linspace(math.log(_VOXEL_KT_MIN), ln_kt[-1], _VOXEL_KNOTS)
    inside = jnp.clip(grid, ln_kt[0], ln_kt[-1])
    curve = jnp.stack([interpax.interp1d(inside, ln_kt, ln_r[:, b], method="cubic") for b in range(2)], axis=-1)
    kt, kt_min = jnp.exp(grid), jnp.exp(ln_kt[0])
    e_lo = jnp.asarray([lo for lo, _ in BANDS])
    cold = 0.5 * (ln_kt[0] - grid)[:, None] - e_lo * (1.0 + z) * (1.0 / kt - 1.0 / kt_min)[:, None]
    curve = jnp.where((grid < ln_kt[0])[:, None], curve + cold, curve)
    return grid[0].astype(dtype), (grid[1] - grid[0]).astype(dtype), curve.astype(dtype)
