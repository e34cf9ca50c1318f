"""The LDL layers (emulators.eldl: spline filter, displacement, activation, one model, losses): identities,
symmetries and gradients (issue 16, acceptance: layers)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from emulators.eldl.layers import activate, displace, overdensity
from emulators.eldl.ldl import LDLParams, ldl
from emulators.eldl.loss import ne_loss, smoothing_operator, t_loss
from emulators.eldl.spline import K_MAX, radial_filter
from xcosmo.cosmology import Cosmology
from xcosmo.nbody import Box, PMSettings, evolve
from xcosmo.params import Params

N = 16


@pytest.fixture(scope="module")
def dx():
    """PM displacements of a 16^3 box of 0.39 Mpc/h voxels at z = 0.2 (voxel units)."""
    box = Box((N, N, N), 0.39)
    return evolve(Cosmology.from_params(Params.fiducial()), jax.random.key(3), box, 1 / 1.2, PMSettings(z_start=19.0, n_steps=6))[0]


def _params(seed=0):
    """A parameter set away from the identity, with moderate displacements."""
    rng = np.random.default_rng(seed)
    base = LDLParams.identity()
    return LDLParams(gamma=jnp.asarray([1.3, 0.7], jnp.float32), alpha=jnp.asarray([0.05, -0.03], jnp.float32),
                     xi=jnp.asarray(rng.normal(0, 0.5, base.xi.shape), jnp.float32), ln_b1=jnp.asarray(0.4, jnp.float32),
                     b0_over_b1=jnp.asarray(0.15, jnp.float32), mu=jnp.asarray(1.8, jnp.float32))  # fmt: skip


def test_the_spline_filter_is_one_at_zero_coefficients_and_a_constant_at_equal_ones():
    k = jnp.linspace(0.0, K_MAX, 50)
    np.testing.assert_allclose(radial_filter(jnp.zeros(8), k), 1.0)
    np.testing.assert_allclose(radial_filter(jnp.full(8, 0.3), k), 1.3, rtol=1e-6)  # the B-splines sum to one
    # a single coefficient gives a bump where its B-spline lives and nothing elsewhere
    bump = radial_filter(jnp.zeros(8).at[4].set(1.0), k) - 1.0
    assert float(bump[0]) == 0.0 and float(bump[-1]) == 0.0 and float(bump.min()) >= 0.0
    at_knot = radial_filter(jnp.zeros(8).at[4].set(1.0), jnp.asarray(0.6 * K_MAX)) - 1.0  # its centre, u = 3/5
    assert float(at_knot) == pytest.approx(2 / 3, rel=1e-5)


def test_alpha_zero_is_the_identity_displacement(dx):
    positions = (jnp.stack(jnp.meshgrid(*[jnp.arange(N, dtype=jnp.float32)] * 3, indexing="ij"), -1) + dx).reshape(-1, 3)
    moved = displace(positions, (N, N, N), 1.4, 0.0, jnp.ones(8))
    np.testing.assert_array_equal(np.asarray(moved), np.asarray(positions))


def test_a_uniform_field_is_not_displaced():
    """Particles on the grid (1 + delta = 1 everywhere): whatever gamma, alpha and filter, no displacement."""
    grid = jnp.stack(jnp.meshgrid(*[jnp.arange(N, dtype=jnp.float32)] * 3, indexing="ij"), -1).reshape(-1, 3)
    np.testing.assert_allclose(overdensity(grid, (N, N, N)), 1.0, rtol=1e-6)
    moved = displace(grid, (N, N, N), 2.0, 0.7, jnp.asarray(np.random.default_rng(1).normal(size=8), jnp.float32))
    np.testing.assert_allclose(np.asarray(moved), np.asarray(grid), atol=1e-5)


def test_identity_parameters_paint_the_input_density(dx):
    """F = 1 + delta wherever 1 + delta >= FLOOR (below it the power is taken of FLOOR, and empty voxels stay 0)."""
    from emulators.eldl.layers import FLOOR

    grid = jnp.stack(jnp.meshgrid(*[jnp.arange(N, dtype=jnp.float32)] * 3, indexing="ij"), -1)
    rho = np.asarray(overdensity((grid + dx).reshape(-1, 3), (N, N, N)))
    painted = np.asarray(ldl(LDLParams.identity(), dx))
    np.testing.assert_allclose(painted[rho >= FLOOR], rho[rho >= FLOOR], rtol=1e-6)
    assert np.all(painted[rho < FLOOR] <= FLOOR) and np.all(painted[rho == 0] == 0)


def test_activation_is_the_relu_of_a_power_law():
    grid = jnp.stack(jnp.meshgrid(*[jnp.arange(4, dtype=jnp.float32)] * 3, indexing="ij"), -1).reshape(-1, 3)
    positions = jnp.concatenate([grid, jnp.zeros((64, 3))])  # 65 particles at node 0: 1 + delta = 65 / 2 there
    out = activate(positions, (4, 4, 4), 0.5, 2.0, 1.5)
    assert float(out[0, 0, 0]) == pytest.approx(2.0 * (65 / 2) ** 1.5 - 0.5, rel=1e-5)
    assert float(out[1, 0, 0]) == pytest.approx(max(2.0 * 0.5**1.5 - 0.5, 0.0), abs=1e-6)


def _rotate_scalar(field):
    """90 degrees about the z axis through node 0: (x, y, z) -> (-y, x, z) on the periodic grid."""
    n = field.shape[0]
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return field[b, (-a) % n]


def _rotate_vector(field):
    rotated = _rotate_scalar(field)
    return np.stack([-rotated[..., 1], rotated[..., 0], rotated[..., 2]], axis=-1)


def test_a_rotated_input_paints_the_rotated_output(dx):
    params = _params()
    out = np.asarray(ldl(params, dx))
    rotated = np.asarray(ldl(params, jnp.asarray(_rotate_vector(np.asarray(dx)))))
    np.testing.assert_allclose(rotated, _rotate_scalar(out), rtol=2e-4, atol=2e-5 * out.max())


def test_a_shifted_input_paints_the_shifted_output(dx):
    params = _params(1)
    out = np.asarray(ldl(params, dx))
    shifted = np.asarray(ldl(params, jnp.roll(dx, (3, -5), axis=(0, 2))))
    np.testing.assert_allclose(shifted, np.roll(out, (3, -5), axis=(0, 2)), rtol=2e-4, atol=2e-5 * out.max())


def test_gradients_through_the_model_match_finite_differences(dx):
    """d(sum of the painted field)/d(each scalar parameter), autodiff against centred differences (float32)."""
    params = _params(2)

    def total(p):
        return jnp.sum(ldl(p, dx) ** 2)

    grads = jax.grad(total)(params)
    for name, index in (("gamma", 0), ("alpha", 1), ("xi", (0, 3)), ("mu", ()), ("ln_b1", ()), ("b0_over_b1", ())):
        value = getattr(params, name)
        h = 1e-2 * max(abs(float(value[index])), 0.05)
        up = eqx_set(params, name, value.at[index].add(h))
        down = eqx_set(params, name, value.at[index].add(-h))
        numeric = (float(total(up)) - float(total(down))) / (2 * h)
        assert float(getattr(grads, name)[index]) == pytest.approx(numeric, rel=0.03), name


def eqx_set(params, name, value):
    import equinox as eqx

    return eqx.tree_at(lambda p: getattr(p, name), params, value)


def test_losses_vanish_at_the_target_and_grow_with_the_error():
    rng = np.random.default_rng(4)
    ne, t = jnp.asarray(rng.lognormal(0, 1, (N, N, N)), jnp.float32), jnp.asarray(rng.lognormal(0, 0.5, (N, N, N)), jnp.float32)
    rho = jnp.asarray(rng.lognormal(0, 1, (N, N, N)), jnp.float32)
    op = smoothing_operator((N, N, N), 0.39)
    assert float(ne_loss(ne, ne, t, rho, op)) == 0.0 and float(t_loss(t, ne, t, rho, op)) == 0.0
    assert 0 < float(ne_loss(1.1 * ne, ne, t, rho, op)) < float(ne_loss(1.3 * ne, ne, t, rho, op))
    assert 0 < float(t_loss(1.1 * t, ne, t, rho, op)) < float(t_loss(1.3 * t, ne, t, rho, op))
    # the operator: 1 + 1/k, largest on the largest scales (k = 0 takes the fundamental's value)
    assert float(op[0, 0, 0]) == pytest.approx(1 + 16 * 0.39 / (2 * np.pi), rel=1e-5) == float(op[1, 0, 0])
    assert jnp.isfinite(jax.grad(lambda x: t_loss(x, ne, t, rho, op))(jnp.zeros_like(t))).all()
