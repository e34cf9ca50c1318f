"""Flat LCDM background, linear growth and the linear matter power spectrum.

Everything is a pure function of a :class:`Cosmology` (an equinox module, hence a pytree: differentiable in all its
fields) and runs in the precision of its inputs: the halo mass function and the analytical model call these in
float64 (see :mod:`xcosmo.precision`), the particle-mesh simulation in float32.

Units: distances in Mpc/h (comoving unless stated), densities in h^2 Msun / Mpc^3, wavenumbers in h/Mpc, power in
(Mpc/h)^3. Radiation is neglected (as in jax-cosmo and jaxpm, which the simulations use), which changes E(z) by
less than 1e-4 below z = 1.

The simulation code needs a ``jax_cosmo.Cosmology``: :func:`to_jax_cosmo` builds a fresh one for every call, because
jaxpm and jax-cosmo cache growth tables in the same slot of that object and fail when one object serves both.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from xcosmo.checks import check_shape, in_range, is_traced, positive, require
from xcosmo.constants import C_KM_S, RHO_CRIT_0
from xcosmo.precision import constant, float64
from xcosmo.quadrature import integrate

__all__ = [
    "Cosmology",
    "make_cosmology",
    "to_jax_cosmo",
    "efunc",
    "omega_m_z",
    "hubble_distance",
    "comoving_distance",
    "angular_diameter_distance",
    "luminosity_distance",
    "comoving_volume_element",
    "critical_density",
    "mean_matter_density",
    "growth_factor",
    "transfer_eisenstein_hu",
    "linear_power",
    "sigma_r",
    "LagrangianWindows",
]

_N_GL = 64  # Gauss-Legendre nodes of the line-of-sight and growth integrals (exact for polynomials of degree 127)


class Cosmology(eqx.Module):
    """Flat LCDM cosmology (w = -1, no radiation, massless neutrinos folded into matter).

    Attributes
    ----------
    omega_m : total matter density today (CDM + baryons).
    sigma_8 : rms linear fluctuation in spheres of 8 Mpc/h at z = 0.
    h : H0 / (100 km/s/Mpc).
    omega_b : baryon density today.
    n_s : scalar spectral index.
    """

    omega_m: ArrayLike
    sigma_8: ArrayLike
    h: ArrayLike = 0.6766
    omega_b: ArrayLike = 0.04897
    n_s: ArrayLike = 0.9665

    @classmethod
    def from_params(cls, params, **kwargs) -> "Cosmology":
        """The cosmology of a :class:`xcosmo.params.Params` (other parameters Planck 2018 unless given)."""
        return make_cosmology(params.omega_m, params.sigma_8, **kwargs)


def make_cosmology(
    omega_m: ArrayLike,
    sigma_8: ArrayLike,
    *,
    h: ArrayLike = 0.6766,
    omega_b: ArrayLike = 0.04897,
    n_s: ArrayLike = 0.9665,
) -> Cosmology:
    """Flat LCDM cosmology with Planck 2018 (TT,TE,EE+lowE+lensing+BAO) values for the parameters not given.

    Raises ``ValueError`` for non-finite or unphysical values (for instance ``omega_b >= omega_m``).
    """
    omega_m = in_range("omega_m", omega_m, 0.0, 1.0, open=True)
    sigma_8 = in_range("sigma_8", sigma_8, 0.0, math.inf, open=True)
    h = in_range("h", h, 0.0, 2.0, open=True)
    omega_b = in_range("omega_b", omega_b, 0.0, 1.0, open=True)
    n_s = in_range("n_s", n_s, 0.0, 2.0, open=True)
    if not is_traced(omega_b, omega_m):
        require(bool(np.all(np.asarray(omega_b) < np.asarray(omega_m))), "omega_b", omega_b,
                f"must be smaller than omega_m = {omega_m!r}")  # fmt: skip
    return Cosmology(omega_m, sigma_8, h, omega_b, n_s)


def to_jax_cosmo(cosmo: Cosmology):
    """A fresh ``jax_cosmo.Cosmology`` with the same parameters (flat, w0 = -1, wa = 0), for jaxpm."""
    import jax_cosmo

    return jax_cosmo.Cosmology(
        Omega_c=cosmo.omega_m - cosmo.omega_b,
        Omega_b=cosmo.omega_b,
        h=cosmo.h,
        n_s=cosmo.n_s,
        sigma8=cosmo.sigma_8,
        Omega_k=0.0,
        w0=-1.0,
        wa=0.0,
    )


# --- background ------------------------------------------------------------------------------------------------


def efunc(cosmo: Cosmology, z: ArrayLike) -> jax.Array:
    """E(z) = H(z)/H0 = sqrt(Omega_m (1+z)^3 + 1 - Omega_m)."""
    zp1 = 1.0 + jnp.asarray(z)
    return jnp.sqrt(cosmo.omega_m * zp1**3 + (1.0 - cosmo.omega_m))


def omega_m_z(cosmo: Cosmology, z: ArrayLike) -> jax.Array:
    """Matter density parameter at redshift z, Omega_m (1+z)^3 / E(z)^2."""
    zp1 = 1.0 + jnp.asarray(z)
    return cosmo.omega_m * zp1**3 / efunc(cosmo, z) ** 2


def hubble_distance(cosmo: Cosmology) -> float:
    """c / H0 in Mpc/h."""
    return C_KM_S / 100.0


def _integrate_0_to(f, upper: jax.Array) -> jax.Array:
    """Gauss-Legendre integral of ``f`` from 0 to ``upper`` (elementwise in ``upper``)."""
    upper = jnp.asarray(upper)
    return integrate(f, jnp.zeros_like(upper), upper, _N_GL)


def comoving_distance(cosmo: Cosmology, z: ArrayLike) -> jax.Array:
    """Line-of-sight comoving distance chi(z) = (c/H0) int_0^z dz'/E(z'), in Mpc/h (64-point Gauss-Legendre)."""
    return hubble_distance(cosmo) * _integrate_0_to(lambda x: 1.0 / efunc(cosmo, x), jnp.asarray(z))


def angular_diameter_distance(cosmo: Cosmology, z: ArrayLike) -> jax.Array:
    """Angular-diameter distance chi(z)/(1+z) in Mpc/h (physical, flat universe)."""
    return comoving_distance(cosmo, z) / (1.0 + jnp.asarray(z))


def luminosity_distance(cosmo: Cosmology, z: ArrayLike) -> jax.Array:
    """Luminosity distance (1+z) chi(z) in Mpc/h."""
    return comoving_distance(cosmo, z) * (1.0 + jnp.asarray(z))


def comoving_volume_element(cosmo: Cosmology, z: ArrayLike) -> jax.Array:
    """dV/dz/dOmega = (c/H0) chi(z)^2 / E(z), comoving, in (Mpc/h)^3 per unit redshift per steradian."""
    return hubble_distance(cosmo) * comoving_distance(cosmo, z) ** 2 / efunc(cosmo, z)


def critical_density(cosmo: Cosmology, z: ArrayLike) -> jax.Array:
    """Critical density rho_c(z) = rho_c0 E(z)^2 in h^2 Msun / Mpc^3 (physical)."""
    return RHO_CRIT_0 * efunc(cosmo, z) ** 2


def mean_matter_density(cosmo: Cosmology) -> jax.Array:
    """Comoving mean matter density Omega_m rho_c0 in h^2 Msun / Mpc^3."""
    return cosmo.omega_m * RHO_CRIT_0


# --- linear growth ---------------------------------------------------------------------------------------------


def _growth_unnormalised(cosmo: Cosmology, a: jax.Array) -> jax.Array:
    """D(a) proportional to E(a) int_0^a da' / (a' E(a'))^3 (Heath 1977; exact for LCDM without radiation).

    The substitution a' = a u^2 makes the integrand, which behaves as a'^{3/2} near 0, a smooth polynomial in u.
    """

    def e_of_a(x):
        return jnp.sqrt(cosmo.omega_m / x**3 + (1.0 - cosmo.omega_m))

    def integrand(u):
        ap = a[..., None] * u**2
        return 2.0 * a[..., None] * u / (ap * e_of_a(ap)) ** 3

    return e_of_a(a) * _integrate_0_to(integrand, jnp.ones_like(a))


def growth_factor(cosmo: Cosmology, z: ArrayLike) -> jax.Array:
    """Linear growth factor D(z), normalised to D(0) = 1."""
    a = 1.0 / (1.0 + jnp.asarray(z))
    return _growth_unnormalised(cosmo, a) / _growth_unnormalised(cosmo, jnp.ones_like(a))


# --- linear power spectrum -------------------------------------------------------------------------------------


def transfer_eisenstein_hu(cosmo: Cosmology, k: ArrayLike) -> jax.Array:
    """Eisenstein & Hu (1998) transfer function with baryon acoustic oscillations; k in h/Mpc.

    Wraps ``jax_cosmo.transfer.Eisenstein_Hu`` (which takes T_CMB = 2.726 K).
    """
    from jax_cosmo.transfer import Eisenstein_Hu

    k = jnp.asarray(k)
    return Eisenstein_Hu(to_jax_cosmo(cosmo), k.ravel()).reshape(k.shape)


# Fixed log-k quadrature grid for sigma(R): Simpson's rule in ln k on [1e-4, 1e2] h/Mpc. Against an 8193-point
# grid on [1e-6, 1e4] it gives sigma(R) to 2e-6 and d ln sigma / d ln R to 3e-5 for 0.3 < R < 40 Mpc/h.
_LNK = np.linspace(np.log(1e-4), np.log(1e2), 1025)
_SIMPSON = np.ones_like(_LNK)
_SIMPSON[1:-1:2], _SIMPSON[2:-1:2] = 4.0, 2.0
_SIMPSON *= (_LNK[1] - _LNK[0]) / 3.0


def _tophat_and_slope(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Top-hat window W(x) = 3 (sin x - x cos x) / x^3 and its log-derivative x dW/dx = 3 sin(x)/x - 3 W(x).

    Taylor series below x = 1e-2 (W = 1 - x^2/10, x W' = -x^2/5) avoid the cancellation at small x.
    """
    small = x < 1e-2
    xs = jnp.where(small, 1.0, x)
    sin, cos = jnp.sin(xs), jnp.cos(xs)
    w = 3.0 * (sin - xs * cos) / xs**3
    xdw = 3.0 * sin / xs - 3.0 * w
    return jnp.where(small, 1.0 - x**2 / 10.0, w), jnp.where(small, -(x**2) / 5.0, xdw)


def _k3_pk_unnormalised(cosmo: Cosmology, scale: ArrayLike = 1.0) -> tuple[jax.Array, jax.Array]:
    """k = ``scale`` x the quadrature grid, and k^3 k^n_s T(k)^2 / (2 pi^2) there, before the sigma_8 normalisation."""
    k = jnp.exp(constant(_LNK)) * scale
    t = transfer_eisenstein_hu(cosmo, k)
    return k, k**3 * k**cosmo.n_s * t**2 / (2.0 * jnp.pi**2)


def _sigma8_normalisation(cosmo: Cosmology, k: jax.Array, dk: jax.Array) -> jax.Array:
    """sigma_8^2 / sigma_unnormalised^2(8 Mpc/h), from k^3 P / (2 pi^2) on a (possibly scaled) quadrature grid."""
    w8, _ = _tophat_and_slope(8.0 * k)
    return cosmo.sigma_8**2 / jnp.sum(constant(_SIMPSON) * dk * w8**2)


def _sigma2_and_slope(cosmo: Cosmology, r: jax.Array) -> tuple[jax.Array, jax.Array]:
    """sigma^2(R) at z = 0 and d ln sigma^2 / d ln R, for R in Mpc/h (any shape)."""
    k, dk = _k3_pk_unnormalised(cosmo)
    norm = _sigma8_normalisation(cosmo, k, dk)
    w, xdw = _tophat_and_slope(jnp.asarray(r)[..., None] * k)
    s2 = norm * jnp.sum(constant(_SIMPSON) * dk * w**2, axis=-1)
    ds2 = norm * jnp.sum(constant(_SIMPSON) * dk * 2.0 * w * xdw, axis=-1)
    return s2, ds2 / s2


class LagrangianWindows(eqx.Module):
    """Top-hat windows of fixed masses on the sigma(R) quadrature grid, tabulated once for many cosmologies.

    The Lagrangian radius of a mass M, R = [3 M / (4 pi Omega_m rho_c0)]^(1/3) = R_1 Omega_m^(-1/3), moves with
    Omega_m, and with it every window W(kR) of sigma^2(R) = int dln k k^3 P(k) W^2(kR) / (2 pi^2). In q = k
    Omega_m^(-1/3) the windows stand still:

        sigma^2(R) = int dln q [k^3 P(k) / (2 pi^2)]_(k = q Omega_m^(1/3)) W^2(q R_1),

    so the Simpson-weighted W^2(q R_1) and 2 W x dW/dx (for d ln sigma^2 / d ln R) are tabulated on the fixed grid q
    of :func:`sigma_r`, and a cosmology costs one transfer function on the scaled grid and two matrix-vector
    products instead of n_M x 1025 windows (and nothing in the backward pass). Same quadrature as
    :func:`sigma_r` up to the shift of the integration range by Omega_m^(1/3) in k (0.46-0.79 for 0.1 < Omega_m <
    0.5), where the integrand is negligible (agreement ~1e-6, ``tests/test_cosmology.py``).
    """

    m: jax.Array  # (n_m,) Msun/h
    w2: jax.Array  # (n_m, n_k) Simpson weight x W^2(q R_1)
    w2_slope: jax.Array  # (n_m, n_k) Simpson weight x 2 W(x) x dW/dx at x = q R_1

    @classmethod
    @float64
    def build(cls, m: ArrayLike) -> "LagrangianWindows":
        """Tabulate the windows of the masses ``m`` (Msun/h, 1-d), in float64."""
        m = np.asarray(m, dtype=np.float64)
        check_shape("m", m, (None,), " (a 1-d array of masses)")
        positive("m", m, unit="Msun/h")
        r1 = (3.0 * m / (4.0 * math.pi * RHO_CRIT_0)) ** (1.0 / 3.0)  # R at Omega_m = 1, Mpc/h
        w, xdw = _tophat_and_slope(jnp.asarray(r1[:, None] * np.exp(_LNK)[None, :]))
        w, xdw = np.asarray(w), np.asarray(xdw)
        return cls(jnp.asarray(m), jnp.asarray(_SIMPSON * w**2), jnp.asarray(_SIMPSON * 2.0 * w * xdw))

    def sigma2_and_slope(self, cosmo: Cosmology) -> tuple[jax.Array, jax.Array]:
        """sigma^2(R(M)) at z = 0 and d ln sigma^2 / d ln R at the tabulated masses, shape (n_m,)."""
        k, dk = _k3_pk_unnormalised(cosmo, cosmo.omega_m ** (1.0 / 3.0))
        s2 = self.w2 @ dk
        return _sigma8_normalisation(cosmo, k, dk) * s2, (self.w2_slope @ dk) / s2


def linear_power(cosmo: Cosmology, k: ArrayLike, z: ArrayLike = 0.0) -> jax.Array:
    """Linear matter power spectrum P(k, z) in (Mpc/h)^3, k in h/Mpc (Eisenstein & Hu 1998, normalised to sigma_8).

    ``k`` and ``z`` broadcast against each other.
    """
    kq, dk = _k3_pk_unnormalised(cosmo)
    norm = _sigma8_normalisation(cosmo, kq, dk)
    k = jnp.asarray(k)
    t = transfer_eisenstein_hu(cosmo, k)
    return norm * k**cosmo.n_s * t**2 * growth_factor(cosmo, z) ** 2


def sigma_r(cosmo: Cosmology, r: ArrayLike, z: ArrayLike = 0.0) -> jax.Array:
    """rms linear density fluctuation in top-hat spheres of comoving radius ``r`` (Mpc/h) at redshift ``z``.

    sigma^2(R) = int dln k  k^3 P(k) W^2(kR) / (2 pi^2), by Simpson's rule on 1025 log-spaced k in [1e-4, 1e2] h/Mpc.
    """
    s2, _ = _sigma2_and_slope(cosmo, jnp.asarray(r))
    return jnp.sqrt(s2) * growth_factor(cosmo, z)
