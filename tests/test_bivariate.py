"""Bivariate normal probabilities over a grid (xcosmo.bivariate): values against scipy's bivariate normal CDF (Genz's
algorithm), the written-out derivatives against central finite differences of the values, in every argument, and
forward against reverse mode."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from xcosmo.bivariate import rectangle_probabilities

X_LOWER = np.array([-1.0, -0.6, -0.2, 0.3, 0.9])  # the top bin open
Y_INNER = np.array([-0.5, -0.4, -0.2, 0.0, 0.25])  # the outer bins open
# (mu_x, mu_y, s_x, s_y, rho): central, correlated, anti-correlated, far in the tails of the grid
CASES = [(0.0, -0.1, 0.3, 0.1, 0.5), (0.4, -0.3, 0.15, 0.05, 0.9), (-0.7, 0.1, 0.2, 0.08, -0.6),
         (2.0, -1.2, 0.12, 0.06, 0.3)]  # fmt: skip


def _scipy(mu_x, mu_y, s_x, s_y, rho):
    cov = [[s_x**2, rho * s_x * s_y], [rho * s_x * s_y, s_y**2]]
    xs, ys = np.r_[X_LOWER, 50.0], np.r_[-50.0, Y_INNER, 50.0]
    grid = np.array([[stats.multivariate_normal.cdf([x, y], [mu_x, mu_y], cov, abseps=1e-13, releps=1e-13)
                      for y in ys] for x in xs])  # fmt: skip
    return grid[1:, 1:] - grid[:-1, 1:] - grid[1:, :-1] + grid[:-1, :-1]


@pytest.mark.parametrize("case", CASES)
def test_values_match_scipys_bivariate_normal(case):
    with jax.enable_x64(True):
        ours = np.asarray(rectangle_probabilities(*map(jnp.float64, case), jnp.asarray(X_LOWER), jnp.asarray(Y_INNER)))
    ref = _scipy(*case)
    assert ours.shape == (5, 6)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=3e-12)  # 3e-12: the mass beyond SIGMAS, left out


@pytest.mark.parametrize("case", CASES)
def test_derivatives_match_finite_differences_in_every_argument(case):
    weights = np.random.default_rng(0).uniform(0.5, 1.5, size=(5, 6))
    args = [np.float64(v) for v in case] + [X_LOWER.copy(), Y_INNER.copy()]

    def total(*a):
        return jnp.sum(jnp.asarray(weights) * rectangle_probabilities(*a))

    with jax.enable_x64(True):
        grads = jax.grad(total, argnums=tuple(range(7)))(*map(jnp.asarray, args))
        for k, arg in enumerate(args):
            for i in np.ndindex(np.shape(arg)):
                h = 1e-6
                up, down = [np.array(a, copy=True) for a in args], [np.array(a, copy=True) for a in args]
                up[k][i] += h
                down[k][i] -= h
                fd = (float(total(*map(jnp.asarray, up))) - float(total(*map(jnp.asarray, down)))) / (2 * h)
                assert float(np.asarray(grads[k])[i]) == pytest.approx(fd, rel=1e-5, abs=1e-9), (k, i)


def test_forward_and_reverse_mode_agree_on_a_batch():
    rng = np.random.default_rng(1)
    n = 6
    mu_x, mu_y = rng.normal(0, 0.5, n), rng.normal(-0.1, 0.2, n)
    s_x, s_y, rho = rng.uniform(0.1, 0.3, n), rng.uniform(0.04, 0.1, n), rng.uniform(-0.9, 0.9, n)

    def f(p):
        return rectangle_probabilities(p[0], p[1], p[2], p[3], p[4], jnp.asarray(X_LOWER), jnp.asarray(Y_INNER))

    with jax.enable_x64(True):
        p = jnp.asarray(np.stack([mu_x, mu_y, s_x, s_y, rho]))
        fwd, rev = jax.jacfwd(f)(p), jax.jacrev(f)(p)
        assert fwd.shape == (n, 5, 6, 5, n)
        np.testing.assert_allclose(np.asarray(fwd), np.asarray(rev), rtol=1e-10, atol=1e-14)
        above_cut = stats.norm.sf(X_LOWER[0], mu_x, s_x)  # everything above the lowest x edge is in some cell
        np.testing.assert_allclose(np.asarray(f(p)).sum(axis=(1, 2)), above_cut, rtol=1e-9, atol=1e-12)


def test_log_probability_derivatives_hold_in_the_far_tails():
    """Cells far in the tails (y edges beyond SIGMAS): the derivatives of ln R, as a likelihood uses them, against
    finite differences of ln R (the derivatives of an unclipped R were off there by up to 1e15)."""
    args = [np.float64(v) for v in (2.0, -1.2, 0.12, 0.06, 0.3)]
    with jax.enable_x64(True):
        edges = jnp.asarray(X_LOWER), jnp.asarray(Y_INNER)

        def total(p):
            r = rectangle_probabilities(p[0], p[1], p[2], p[3], p[4], *edges)
            return jnp.sum(jnp.log(jnp.maximum(r, 1e-300)) * (r > 1e-15))  # what any count can see

        p = jnp.asarray(args)
        grad = np.asarray(jax.grad(total)(p))
        for k in range(5):
            h = 1e-6 * max(abs(args[k]), 0.1)
            e = np.zeros(5)
            e[k] = h
            fd = (float(total(p + e)) - float(total(p - e))) / (2 * h)
            assert grad[k] == pytest.approx(fd, rel=1e-4, abs=1e-6), k


def test_cells_beyond_the_integrated_range_have_no_derivative():
    """A y bin wholly beyond SIGMAS has R = 0 in the value: its derivatives are 0 too (nonzero ones divided by the
    tiny lambda of such a bin made likelihood gradients 1e15 too large)."""
    with jax.enable_x64(True):
        p = jnp.asarray([2.0, -1.2, 0.12, 0.06, 0.3])
        edges = jnp.asarray(X_LOWER), jnp.asarray(Y_INNER)
        r = np.asarray(rectangle_probabilities(*p, *edges))
        jac = np.asarray(jax.jacfwd(lambda q: rectangle_probabilities(*q, *edges))(p))
    empty = r == 0.0
    assert empty.sum() >= 10
    assert np.abs(jac[empty]).max() < 1e-50  # 2e-28 before the clipping of the derivatives
