"""The Tinker et al. (2008) halo mass function and the expected number of haloes in a survey.

dn/dlnM = f(sigma, z) * rho_m / M * |d ln sigma / d ln M|                       (Tinker et al. 2008, eq. 2)
f(sigma) = A [(sigma / b)^-a + 1] exp(-c / sigma^2)                             (eq. 3)
A = A0 (1+z)^-0.14,  a = a0 (1+z)^-0.06,  b = b0 (1+z)^-alpha,
log10 alpha = -[0.75 / log10(Delta_m / 75)]^1.2                                 (eqs. 5-8)

with (A0, a0, b0, c) interpolated linearly in Delta_m in the paper's table 2, as colossus does (Delta_m is the
overdensity with respect to the mean matter density: 200 for "200m", 200/Omega_m(z) for "200c", 500/Omega_m(z) for
"500c"). Outside the table's range 200 <= Delta_m <= 3200 the end values are used; this only happens for 500c at
low Omega_m (Omega_m(z) < 0.156). sigma is the linear rms fluctuation of the Eisenstein & Hu (1998) spectrum in a
top-hat of Lagrangian radius R = (3 M / 4 pi rho_m)^1/3.

All public functions compute in float64 (:func:`xcosmo.precision.float64`), are jit-compiled, broadcast numpy-style over
masses and redshifts (pass ``z[:, None]`` for a (z, M) grid) and are differentiable in every cosmological parameter.
Units: M in Msun/h, dn/dlnM in (Mpc/h)^-3, areas in deg^2.
"""

from __future__ import annotations

from functools import partial

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from xcosmo.cosmology import (
    Cosmology,
    LagrangianWindows,
    comoving_volume_element,
    growth_factor,
    mean_matter_density,
    omega_m_z,
    _sigma2_and_slope,
)
from xcosmo.checks import check_choice, check_number, in_range, require
from xcosmo.constants import FULL_SKY_DEG2, M_MAX
from xcosmo.precision import float64
from xcosmo.quadrature import nodes_and_weights

__all__ = ["MASS_DEFINITIONS", "mass_function", "mass_function_at", "halo_counts", "overdensity_mean", "lagrangian_radius", "tinker08_f"]

MASS_DEFINITIONS = ("200m", "200c", "500c")

# Tinker et al. 2008, table 2.
_T08_DELTA = np.array([200.0, 300.0, 400.0, 600.0, 800.0, 1200.0, 1600.0, 2400.0, 3200.0])
_T08_A = np.array([0.186, 0.200, 0.212, 0.218, 0.248, 0.255, 0.260, 0.260, 0.260])
_T08_a = np.array([1.47, 1.52, 1.56, 1.61, 1.87, 2.13, 2.30, 2.53, 2.66])
_T08_b = np.array([2.57, 2.25, 2.05, 1.87, 1.59, 1.51, 1.46, 1.44, 1.41])
_T08_c = np.array([1.19, 1.27, 1.34, 1.45, 1.58, 1.80, 1.97, 2.24, 2.44])

_N_GL = 48  # Gauss-Legendre nodes in z and in ln M of halo_counts


def _check_mdef(mdef: str) -> None:
    check_choice("mdef", mdef, MASS_DEFINITIONS)


def overdensity_mean(cosmo: Cosmology, z: ArrayLike, mdef: str) -> jax.Array:
    """Delta_m: the overdensity of ``mdef`` with respect to the mean matter density at ``z``."""
    _check_mdef(mdef)
    value, ref = float(mdef[:-1]), mdef[-1]
    if ref == "m":
        return jnp.full(jnp.shape(z), value)
    return value / omega_m_z(cosmo, z)


def lagrangian_radius(cosmo: Cosmology, m: ArrayLike) -> jax.Array:
    """Comoving radius (Mpc/h) enclosing mass ``m`` (Msun/h) at the mean matter density."""
    return (3.0 * jnp.asarray(m) / (4.0 * jnp.pi * mean_matter_density(cosmo))) ** (1.0 / 3.0)


def tinker08_f(sigma: ArrayLike, z: ArrayLike, delta_m: ArrayLike) -> jax.Array:
    """Tinker et al. (2008) multiplicity function f(sigma) at redshift z for overdensity Delta_m (eqs. 3, 5-8)."""
    delta_m = jnp.asarray(delta_m)
    a0 = jnp.interp(delta_m, _T08_DELTA, _T08_A)
    pa0 = jnp.interp(delta_m, _T08_DELTA, _T08_a)
    b0 = jnp.interp(delta_m, _T08_DELTA, _T08_b)
    c = jnp.interp(delta_m, _T08_DELTA, _T08_c)
    alpha = 10.0 ** (-((0.75 / jnp.log10(delta_m / 75.0)) ** 1.2))
    zp1 = 1.0 + jnp.asarray(z)
    amp, pa, b = a0 * zp1**-0.14, pa0 * zp1**-0.06, b0 * zp1**-alpha
    return amp * ((sigma / b) ** -pa + 1.0) * jnp.exp(-c / sigma**2)


def _dndlnm(cosmo: Cosmology, m: jax.Array, z: jax.Array, mdef: str, s2: jax.Array, dlns2_dlnr: jax.Array) -> jax.Array:
    """dn/dlnM (eq. 2) from sigma^2(R(M)) at z = 0 and its slope d ln sigma^2 / d ln R."""
    sigma = jnp.sqrt(s2) * growth_factor(cosmo, z)
    f = tinker08_f(sigma, z, overdensity_mean(cosmo, z, mdef))
    dlnsigma_dlnm = dlns2_dlnr / 6.0  # d ln sigma / d ln M = (1/2)(1/3) d ln sigma^2 / d ln R
    return f * mean_matter_density(cosmo) / m * jnp.abs(dlnsigma_dlnm)


@partial(jax.jit, static_argnames="mdef")
def _mass_function(cosmo: Cosmology, m: jax.Array, z: jax.Array, mdef: str) -> jax.Array:
    return _dndlnm(cosmo, m, z, mdef, *_sigma2_and_slope(cosmo, lagrangian_radius(cosmo, m)))


@float64
def mass_function_at(cosmo: Cosmology, windows: LagrangianWindows, z: ArrayLike, mdef: str = "500c") -> jax.Array:
    """dn/dlnM at the masses of precomputed :class:`~xcosmo.cosmology.LagrangianWindows` (last axis) and redshifts
    ``z`` (broadcast against it): the fast path for models that evaluate one mass grid at many cosmologies."""
    _check_mdef(mdef)
    return _dndlnm(cosmo, windows.m, jnp.asarray(z), mdef, *windows.sigma2_and_slope(cosmo))


@float64
def mass_function(cosmo: Cosmology, m: ArrayLike, z: ArrayLike, mdef: str = "500c") -> jax.Array:
    """Tinker et al. (2008) halo mass function dn/dlnM in (Mpc/h)^-3 (comoving), float64.

    Parameters
    ----------
    cosmo : the cosmology.
    m : halo masses in Msun/h, in the mass definition ``mdef``.
    z : redshifts; broadcast against ``m``.
    mdef : ``"200m"``, ``"200c"`` or ``"500c"`` (spherical overdensity w.r.t. mean or critical density).
    """
    _check_mdef(mdef)
    m = in_range("m", m, 0.0, math.inf, open=True, unit="Msun/h")
    z = in_range("z", z, 0.0, math.inf)
    return _mass_function(cosmo, jnp.asarray(m, float), jnp.asarray(z, float), mdef)


@partial(jax.jit, static_argnames="mdef")
def _halo_counts(cosmo, m_min, z_min, z_max, area_sr, mdef):
    zs, wz = nodes_and_weights(z_min, z_max, _N_GL)
    lnm, wm = nodes_and_weights(jnp.log(m_min), jnp.log(M_MAX), _N_GL)
    dndlnm = _mass_function(cosmo, jnp.exp(lnm), zs[:, None], mdef)
    n_per_volume = dndlnm @ wm
    return area_sr * jnp.sum(wz * comoving_volume_element(cosmo, zs) * n_per_volume)


@float64
def halo_counts(
    cosmo: Cosmology,
    m_min: float,
    z_min: float,
    z_max: float,
    area_deg2: float,
    mdef: str = "500c",
) -> jax.Array:
    """Expected number of haloes with M > ``m_min`` (Msun/h) and ``z_min`` < z < ``z_max`` over ``area_deg2`` deg^2.

    N = Omega int dz dV/dz/dOmega int_{ln m_min}^{ln 1e16} dn/dlnM dlnM, by 48 x 48-point Gauss-Legendre quadrature.
    """
    _check_mdef(mdef)
    m_min = check_number("m_min", m_min, 0.0, M_MAX, open=True, unit="Msun/h")
    z_min = check_number("z_min", z_min, 0.0)
    z_max = check_number("z_max", z_max, 0.0)
    require(z_max > z_min, "z_max", z_max, f"must be > z_min = {z_min!r}")
    area_deg2 = check_number("area_deg2", area_deg2, 0.0, FULL_SKY_DEG2, open=False, unit="deg^2 (the full sky)")
    require(area_deg2 > 0, "area_deg2", area_deg2, "must be > 0 deg^2")
    area_sr = area_deg2 * (np.pi / 180.0) ** 2
    return _halo_counts(cosmo, jnp.asarray(m_min, float), jnp.asarray(z_min, float), jnp.asarray(z_max, float), area_sr, mdef)
