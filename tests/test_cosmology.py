"""Background, growth and linear power against astropy and colossus (codes nobody here wrote)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xcosmo.cosmology import (
    RHO_CRIT_0,
    Cosmology,
    angular_diameter_distance,
    comoving_distance,
    comoving_volume_element,
    critical_density,
    efunc,
    growth_factor,
    linear_power,
    luminosity_distance,
    make_cosmology,
    sigma_r,
    to_jax_cosmo,
)
from xcosmo.params import Params
from xcosmo.precision import float64

Z = np.array([0.01, 0.1, 0.3, 0.5, 1.0, 2.0])


@pytest.fixture(scope="module")
def astropy_cosmo():
    from astropy.cosmology import FlatLambdaCDM

    # No radiation, as in xcosmo (and jax-cosmo / jaxpm).
    return FlatLambdaCDM(H0=67.66, Om0=0.3, Tcmb0=0.0, Ob0=0.04897)


@pytest.fixture(scope="module")
def colossus_cosmo():
    from colossus.cosmology import cosmology

    return cosmology.setCosmology(
        "xcosmo-test",
        {"flat": True, "H0": 67.66, "Om0": 0.3, "Ob0": 0.04897, "sigma8": 0.8, "ns": 0.9665, "relspecies": False},
    )


def test_defaults_are_planck18():
    c = make_cosmology(0.3, 0.8)
    assert (c.h, c.omega_b, c.n_s) == (0.6766, 0.04897, 0.9665)
    c = Cosmology.from_params(Params(0.25, 0.9))
    assert (c.omega_m, c.sigma_8) == (0.25, 0.9)


def test_distances_match_astropy(astropy_cosmo):
    with jax.enable_x64(True):
        c = make_cosmology(0.3, 0.8)
        h = 0.6766
        np.testing.assert_allclose(comoving_distance(c, Z) / h, astropy_cosmo.comoving_distance(Z).value, rtol=1e-8)
        np.testing.assert_allclose(
            angular_diameter_distance(c, Z) / h, astropy_cosmo.angular_diameter_distance(Z).value, rtol=1e-8
        )
        np.testing.assert_allclose(luminosity_distance(c, Z) / h, astropy_cosmo.luminosity_distance(Z).value, rtol=1e-8)
        np.testing.assert_allclose(
            comoving_volume_element(c, Z) / h**3, astropy_cosmo.differential_comoving_volume(Z).value, rtol=1e-8
        )
        np.testing.assert_allclose(efunc(c, Z), astropy_cosmo.efunc(Z), rtol=1e-12)
        rho_astropy = astropy_cosmo.critical_density(Z).to("Msun/Mpc3").value / h**2
        np.testing.assert_allclose(critical_density(c, Z), rho_astropy, rtol=1e-5)


def test_distances_float32_are_accurate_enough(astropy_cosmo):
    c = make_cosmology(0.3, 0.8)
    chi = comoving_distance(c, Z)
    assert chi.dtype == jnp.float32
    np.testing.assert_allclose(chi / 0.6766, astropy_cosmo.comoving_distance(Z).value, rtol=1e-5)


def test_growth_matches_colossus(colossus_cosmo):
    with jax.enable_x64(True):
        c = make_cosmology(0.3, 0.8)
        np.testing.assert_allclose(growth_factor(c, Z), colossus_cosmo.growthFactor(Z), rtol=1e-4)
        # High-z limit: matter domination, D ~ a up to the constant g(Omega_m) normalisation.
        d = growth_factor(c, np.array([99.0, 199.0]))
        assert float(d[0] / d[1]) == pytest.approx(2.0, rel=1e-3)


def test_linear_power_and_sigma_match_colossus(colossus_cosmo):
    with jax.enable_x64(True):
        c = make_cosmology(0.3, 0.8)
        assert float(sigma_r(c, 8.0)) == pytest.approx(0.8, rel=1e-9)
        k = np.logspace(-3, 1, 40)
        for z in (0.0, 0.5):
            np.testing.assert_allclose(
                linear_power(c, k, z), colossus_cosmo.matterPowerSpectrum(k, z), rtol=3e-3
            )
        r = np.array([1.0, 3.0, 5.0, 14.0, 25.0])
        np.testing.assert_allclose(sigma_r(c, r, 0.3), colossus_cosmo.sigma(r, 0.3), rtol=2e-3)


def test_differentiable_in_omega_m_and_sigma_8():
    with jax.enable_x64(True):

        def f(p):
            c = make_cosmology(p[0], p[1])
            return comoving_distance(c, 0.5) + 100 * sigma_r(c, 10.0, 0.5) + growth_factor(c, 1.0)

        p = jnp.array([0.3, 0.8])
        g = jax.grad(f)(p)
        eps = 1e-6
        fd = [(f(p + eps * e) - f(p - eps * e)) / (2 * eps) for e in jnp.eye(2)]
        np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_to_jax_cosmo_is_fresh_and_consistent():
    c = make_cosmology(0.3, 0.8)
    a, b = to_jax_cosmo(c), to_jax_cosmo(c)
    assert a is not b
    assert float(a.Omega_m) == pytest.approx(0.3) and float(a.sigma8) == pytest.approx(0.8)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(omega_m=0.0, sigma_8=0.8), "omega_m"),
        (dict(omega_m=float("nan"), sigma_8=0.8), "omega_m"),
        (dict(omega_m=0.3, sigma_8=-1.0), "sigma_8"),
        (dict(omega_m=0.3, sigma_8=0.8, h=0.0), "h"),
        (dict(omega_m=0.04, sigma_8=0.8), "omega_b"),
    ],
)
def test_bad_cosmology_is_refused(kwargs, field):
    with pytest.raises(ValueError, match=field):
        make_cosmology(**kwargs)


def test_rho_crit_constant():
    # 3 H0^2 / (8 pi G) with H0 = 100 km/s/Mpc, from astropy's constants.
    import astropy.constants as const
    import astropy.units as u

    rho = (3 * (100 * u.km / u.s / u.Mpc) ** 2 / (8 * np.pi * const.G)).to(u.Msun / u.Mpc**3).value
    assert RHO_CRIT_0 == pytest.approx(rho, rel=1e-6)


def test_float64_distances_unchanged_after_a_float32_trace():
    """Regression: a float32 vmap-in-jit use of the quadrature must not downgrade later float64 results."""
    import equinox as eqx

    cosmo = make_cosmology(0.3, 0.8)
    chi64 = float64(lambda z: np.asarray(comoving_distance(cosmo, jnp.asarray(z, jnp.float64))))
    before = chi64(np.array([0.5]))
    eqx.filter_jit(jax.vmap(lambda z: comoving_distance(cosmo, z)))(jnp.linspace(0.1, 0.5, 7, dtype=jnp.float32))
    np.testing.assert_array_equal(chi64(np.array([0.5])), before)
