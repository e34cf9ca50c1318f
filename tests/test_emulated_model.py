"""Tests of xcosmo.emulated: expected XOD counts with emulated scaling relations.

The relations come from a small stand-in with the emulator's interface (the model takes any object with a
``relations(theta, z)`` method), so that the integration is checked on its own: every (z, M) node's bin probabilities
against scipy's bivariate normal CDF (Genz's algorithm, not the Gauss-Legendre nodes the model integrates HR with),
the counts against the same integral written out here in numpy, and the derivatives against finite differences."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from xcosmo.emulated import EmulatedRelationModel
from xcosmo.xod import Binning, Survey

THETA = np.array([0.3, 0.8, 1.0, 1.0, 1.0, 1.0])


class StandIn(eqx.Module):
    """Relations (A_CR, B_CR, sigma_CR, A_HR, B_HR, sigma_HR, rho) that vary with z and with each parameter of theta
    smoothly."""

    def relations(self, theta, z):
        z = jnp.ravel(jnp.asarray(z))
        base = jnp.array([-0.9, 1.4, 0.25, -0.25, 0.25, 0.08, 0.45])
        dz = jnp.array([-2.0, 0.1, 0.0, 0.1, 0.0, 0.0, 0.0])
        dtheta = (jnp.array([0.3, 0.0, 0.05, 0.0, 0.05, 0.0, -0.2]) * jnp.log(theta[2])
                  + jnp.array([0.0, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0]) * jnp.log(theta[3])
                  + jnp.array([0.0, 0.0, 0.0, 0.15, 0.0, 0.0, 0.0]) * jnp.log(theta[4])
                  + jnp.array([0.0, 0.0, 0.1, 0.0, 0.0, 0.03, 0.0]) * jnp.log(theta[5]))
        mean = base + z[:, None] * dz + dtheta + 0.5 * (theta[0] - 0.3) * jnp.array([1.0, 0, 0, 0, 0, 0, 0])
        return mean, jnp.full_like(mean, 0.02)


SMALL = Binning.regular(n_z=2, n_cr=4, n_hr=4)


@pytest.fixture(scope="module")
def model():
    return EmulatedRelationModel.build(StandIn(), Survey(), SMALL)


def test_counts_match_the_integral_with_scipys_bivariate_normal(model):
    """The same z and mass quadrature written out in numpy, with each bin's probability from scipy's bivariate
    normal CDF: the model's Gauss-Legendre integration over HR agrees to 1e-5 in every bin above 0.1 counts."""
    from xcosmo.cosmology import Cosmology, comoving_volume_element
    from xcosmo.hmf import mass_function

    with jax.enable_x64(True):
        lam = np.asarray(model.from_theta(THETA))
        cosmo = Cosmology(0.3, 0.8)
        z = np.asarray(model.z_nodes)
        mean, _ = StandIn().relations(jnp.asarray(THETA), jnp.asarray(z.ravel()))
        mean = np.asarray(mean).reshape(*z.shape, 7)
        m = np.exp(np.asarray(model.ln_m))
        dndlnm = np.asarray(mass_function(cosmo, m, z[..., None], "200c")) * np.asarray(model.ln_m_weights)
        dvdz = np.asarray(comoving_volume_element(cosmo, z))
    cr_lo = np.asarray(model.log_cr_edges)
    cr_edges = np.r_[cr_lo, np.inf]
    hr_edges = np.r_[-np.inf, np.asarray(model.log_hr_edges), np.inf]
    x = np.log10(m / 1e14)
    ref = np.zeros(SMALL.shape)
    for i in range(z.shape[0]):
        for q in range(z.shape[1]):
            a_cr, b_cr, s_cr, a_hr, b_hr, s_hr, rho = mean[i, q]
            cov = [[s_cr**2, rho * s_cr * s_hr], [rho * s_cr * s_hr, s_hr**2]]
            for k, xk in enumerate(x):
                centre = [a_cr + b_cr * xk, a_hr + b_hr * xk]

                def cdf(c, h):
                    c, h = np.clip(c, -50, 50), np.clip(h, -50, 50)
                    return stats.multivariate_normal.cdf([c, h], centre, cov, abseps=1e-12, releps=1e-12)

                grid = np.array([[cdf(c, h) for h in hr_edges] for c in cr_edges])
                prob = grid[1:, 1:] - grid[:-1, 1:] - grid[1:, :-1] + grid[:-1, :-1]
                ref[i] += model.survey.area_sr * float(model.z_weights[i, q]) * dvdz[i, q] * dndlnm[i, q, k] * prob
    big = ref > 0.1
    assert big.sum() >= 8
    np.testing.assert_allclose(lam[big], ref[big], rtol=1e-5)
    assert lam.sum() == pytest.approx(ref.sum(), rel=1e-5)


def test_eps_shifts_the_relations_by_their_errors(model):
    """eps = +1 on the CR normalisation is the same as a stand-in whose A_CR is 0.02 dex higher."""

    class Shifted(StandIn):
        def relations(self, theta, z):
            mean, std = super().relations(theta, z)
            return mean.at[:, 0].add(0.02), std

    shifted = EmulatedRelationModel.build(Shifted(), Survey(), SMALL)
    eps = np.zeros(7)
    eps[0] = 1.0
    with jax.enable_x64(True):
        np.testing.assert_allclose(np.asarray(model.from_theta(THETA, eps)), np.asarray(shifted.from_theta(THETA)),
                                   rtol=1e-12)  # fmt: skip


def test_gradients_match_finite_differences(model):
    def total(p):
        return jnp.sum(model.from_theta(p[:6], p[6:]) ** 2)

    p0 = np.r_[THETA, np.zeros(7)] + 0.01
    p0[2:6] = [1.3, 0.9, 1.1, 1.0]
    with jax.enable_x64(True):
        grad = np.asarray(jax.grad(total)(jnp.asarray(p0)))
        for j in (0, 1, 2, 6, 9, 12):
            h = 1e-5 * max(abs(p0[j]), 1.0)
            up, down = p0.copy(), p0.copy()
            up[j] += h
            down[j] -= h
            fd = (float(total(jnp.asarray(up))) - float(total(jnp.asarray(down)))) / (2 * h)
            assert grad[j] == pytest.approx(fd, rel=1e-5, abs=1e-8 * math.fabs(fd) + 1e-10), j


def test_refuses_bad_shapes_naming_the_field(model):
    with pytest.raises(ValueError, match="theta has shape"):
        model.from_theta(np.ones(8))
    with pytest.raises(ValueError, match="eps has shape"):
        model.from_theta(THETA, np.zeros(6))
    with pytest.raises(ValueError, match="m_min"):
        EmulatedRelationModel.build(StandIn(), m_min=-1.0)


def test_fisher_agrees_with_the_posterior_curvature_and_the_comparison_table_is_complete(model):
    """The Fisher matrix of the emulated model without emulator errors equals minus the Hessian of the Poisson
    log-likelihood of its Asimov XOD (an identity for Poisson counts at the truth), and the comparison with the
    analytical model names every parameter of both."""
    from inference.emulated import EPS_NAMES, asimov_data, emulated_fisher, fisher_comparison
    from inference.likelihood import poisson_log_likelihood
    from xcosmo.cli_scaling import fisher_table

    data = asimov_data(model, THETA)
    fisher = emulated_fisher(model, THETA, marginalise=False)
    with jax.enable_x64(True):
        hessian = np.asarray(jax.hessian(lambda p: poisson_log_likelihood(model.from_theta(p), data))(jnp.asarray(THETA)))
    np.testing.assert_allclose(fisher.matrix, -hessian, rtol=1e-6, atol=1e-9 * np.abs(hessian).max())
    marginalised = emulated_fisher(model, THETA)
    assert marginalised.names[6:] == EPS_NAMES
    # the emulator's errors, marginalised, can only widen the cosmological constraints
    cosmology = ("omega_m", "sigma_8")
    assert np.all(marginalised.marginalise(cosmology).marginal_errors >= fisher.marginalise(cosmology).marginal_errors)
    table = fisher_comparison(model, THETA)
    assert set(table) == {"emulated (2 + 4)", "analytical (2 + 6)"}
    assert len(table["emulated (2 + 4)"]["names"]) == 6 and len(table["analytical (2 + 6)"]["names"]) == 8
    text = fisher_table(table)
    assert text.count("FoM") == 2
    for name in ("a_agn2", "a_mt", "gamma_lt"):
        assert f"| {name} |" in text


@pytest.mark.skipif(not __import__("emulators.scaling.emulator", fromlist=["PRETRAINED"]).PRETRAINED.is_file(),
                    reason="no shipped scaling-relation emulator")  # fmt: skip
def test_likelihood_gradient_far_from_the_data_matches_finite_differences():
    """Where NUTS starts (random points of the prior), far from an Asimov XOD: the log-likelihood's gradient against
    central differences (bins far in the tails once made it 1e15 too large)."""
    from emulators.scaling.emulator import PRETRAINED, load_emulator
    from inference.emulated import asimov_data, theta_from_std
    from inference.likelihood import poisson_log_likelihood

    forward = EmulatedRelationModel.build(load_emulator(PRETRAINED)[0])
    data = asimov_data(forward, np.array([0.33, 0.78, 1.6, 0.8, 0.7, 1.3]))
    with jax.enable_x64(True):
        def lp(p):
            return poisson_log_likelihood(forward.from_theta(theta_from_std(p[:6]), p[6:]), data)

        for p in np.random.default_rng(0).uniform(-2, 2, (2, 13)):
            grad = np.asarray(jax.grad(lp)(jnp.asarray(p)))
            for j in np.argsort(-np.abs(grad))[:3]:
                e = np.zeros(13)
                e[j] = 1e-6
                fd = (float(lp(jnp.asarray(p + e))) - float(lp(jnp.asarray(p - e)))) / 2e-6
                # the value is a quadrature and the derivatives are exact: 0.2% apart here; the bug was x1e10
                assert grad[j] == pytest.approx(fd, rel=1e-2), (p, j)
