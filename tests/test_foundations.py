"""The shared foundations: checks, the precision rule, constants and quadrature (against outside references)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xcosmo import checks, constants
from xcosmo.precision import PrecisionError, float64, require_x64
from xcosmo.quadrature import integrate, legendre, nodes_and_weights

# --- checks ---------------------------------------------------------------------------------------------------------


def test_one_message_template_names_field_value_and_allowed():
    with pytest.raises(ValueError) as err:
        checks.in_range("omega_m", 0.7, 0.1, 0.5)
    assert str(err.value) == "omega_m = 0.7 is not allowed: allowed range [0.1, 0.5]"
    with pytest.raises(ValueError, match=r"n_e = \[1.0, nan\] is not allowed: must be finite and > 0 cm\^-3"):
        checks.positive("n_e", np.array([1.0, np.nan]), unit="cm^-3")
    with pytest.raises(ValueError, match=r"x = \[-1.0, -2.0, -3.0, -4.0\] \(5 of 10 values\) is not allowed"):
        checks.in_range("x", np.r_[-np.arange(1.0, 6.0), np.ones(5)], 0.0)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="n = 2.0 is not allowed: expected an integer, got float"):
        checks.check_integer("n", 2.0, 1)
    with pytest.raises(TypeError, match="n = True"):
        checks.check_integer("n", True, 1)
    with pytest.raises(TypeError, match="area = '3' is not allowed: expected a number, got str"):
        checks.check_number("area", "3")
    with pytest.raises(TypeError, match="kt = 'hot'"):
        checks.in_range("kt", "hot", 0.0)
    with pytest.raises(TypeError, match="progress = 'yes'"):
        checks.check_bool("progress", "yes")
    assert checks.check_integer("n", np.int64(3), 1, 4) == 3
    with pytest.raises(ValueError, match="n = 4 is not allowed: expected an integer with 1 <= value < 4"):
        checks.check_integer("n", 4, 1, 4)


def test_shapes_choices_and_edges():
    with pytest.raises(ValueError, match=r"xod has shape \(2, 3\), which is not allowed: expected \(2, 4\)"):
        checks.check_shape("xod", np.zeros((2, 3)), (2, 4))
    checks.check_shape("map", np.zeros((2, 3)), (None, 3))
    with pytest.raises(ValueError, match="mdef = '100c' is not allowed: allowed values are"):
        checks.check_choice("mdef", "100c", ("200m", "500c"))
    with pytest.raises(ValueError, match="strictly increasing"):
        checks.check_increasing("edges", [0.1, 0.3, 0.2])
    np.testing.assert_array_equal(checks.check_increasing("edges", [1, 2, 3]), [1.0, 2.0, 3.0])


def test_traced_values_are_checked_when_the_computation_runs():
    f = jax.jit(lambda x: checks.in_range("kt_kev", x, 0.1, 20.0, unit="keV") * 2.0)
    assert float(f(3.0)) == 6.0
    with pytest.raises(Exception, match=r"kt_kev = <traced value> is not allowed: allowed range \[0.1, 20\] keV"):
        jax.block_until_ready(f(30.0))
    with pytest.raises(Exception, match="kt_kev"):
        jax.block_until_ready(jax.vmap(f)(jnp.array([1.0, jnp.nan])))
    # the check passes gradients through unchanged
    assert float(jax.grad(lambda x: checks.in_range("x", x, 0.0) ** 2)(3.0)) == 6.0


def test_rtol_widens_the_interval_at_both_ends():
    checks.in_range("kt", 20.0 * (1 + 5e-6), 0.1, 20.0, rtol=1e-5)
    with pytest.raises(ValueError):
        checks.in_range("kt", 20.0 * (1 + 5e-5), 0.1, 20.0, rtol=1e-5)


# --- precision --------------------------------------------------------------------------------------------------------


@float64
def _double_precision_sum(x):
    # 1 + 1e-10 is 1 in float32: the result tells which precision the body ran in
    return jnp.sum(jnp.asarray(x) * (1.0 + 1e-10)) - jnp.sum(jnp.asarray(x))


def test_float64_from_concrete_float32_code():
    assert not jax.config.jax_enable_x64
    out = _double_precision_sum(np.ones(3))
    assert out.dtype == np.float64 and float(out) == pytest.approx(3e-10, rel=1e-5)
    assert not jax.config.jax_enable_x64  # nothing switched on for the process


def test_float64_value_and_gradient_from_a_float32_trace():
    f = lambda x: _double_precision_sum(x * jnp.ones(3))  # noqa: E731
    value = jax.jit(f)(1.0)
    assert value.dtype == jnp.float32 and float(value) == pytest.approx(3e-10, rel=1e-5)
    grad = jax.grad(f)(jnp.float32(1.0))
    assert grad.dtype == jnp.float32 and float(grad) == pytest.approx(3e-10, rel=1e-4)
    assert float(jax.jit(jax.grad(f))(1.0)) == pytest.approx(3e-10, rel=1e-4)


def test_float64_inside_an_x64_scope_is_plain_code_forward_mode_included():
    with jax.enable_x64(True):
        jac = jax.jacfwd(lambda x: _double_precision_sum(x * jnp.ones(3)))(1.0)
        assert jac.dtype == jnp.float64 and float(jac) == pytest.approx(3e-10, rel=1e-5)


def test_require_x64_refuses_with_what_to_do():
    with pytest.raises(PrecisionError, match=r"my model computes in float64.*jax.enable_x64\(True\)"):
        require_x64("my model")
    with jax.enable_x64(True):
        require_x64("my model")


# --- constants --------------------------------------------------------------------------------------------------------


def test_constants_against_published_values():
    # PDG 2024 Astrophysical constants: rho_c = 2.77536627e11 h^2 Msun Mpc^-3 = 1.87834e-29 h^2 g cm^-3,
    # 1 pc = 3.08567758149e16 m, 1 eV = 1.602176634e-19 J (exact), c = 299792.458 km/s (exact).
    assert constants.RHO_CRIT_0 == pytest.approx(2.77536627e11, rel=1e-8)
    assert constants.RHO_CRIT_0_G_CM3 == pytest.approx(1.87834e-29, rel=1e-5)
    assert constants.MPC_CM == pytest.approx(3.08567758149e24, rel=1e-11)
    assert constants.KEV_ERG == pytest.approx(1.602176634e-9, rel=1e-15)
    assert constants.C_KM_S == 299792.458
    assert constants.M_PROTON_G == pytest.approx(1.67262192e-24, rel=1e-8)
    assert constants.FULL_SKY_DEG2 == pytest.approx(41252.96, abs=0.01)


# --- quadrature ---------------------------------------------------------------------------------------------------


def test_gauss_legendre_is_exact_to_degree_2n_minus_1():
    x, w = nodes_and_weights(0.0, 2.0, 5)
    for degree in range(10):
        assert np.sum(w * x**degree) == pytest.approx(2.0 ** (degree + 1) / (degree + 1), rel=1e-13)
    assert abs(np.sum(w * x**10) - 2.0**11 / 11) > 1e-6  # degree 2n is not exact
    t, u = legendre(5)
    assert not t.flags.writeable and u.sum() == pytest.approx(2.0)


def test_quadrature_broadcasts_intervals_and_follows_the_bounds_precision():
    lo, hi = np.array([0.0, 1.0]), np.array([[1.0, 2.0], [3.0, 4.0]])
    x, w = nodes_and_weights(lo, hi, 8)
    assert x.shape == w.shape == (2, 2, 8) and isinstance(x, np.ndarray)
    np.testing.assert_allclose(np.sum(w * np.exp(x), -1), np.exp(hi) - np.exp(lo), rtol=1e-12)
    assert integrate(jnp.sin, jnp.float32(0.0), jnp.float32(math.pi), 16).dtype == jnp.float32
    with jax.enable_x64(True):
        value = integrate(jnp.sin, jnp.asarray(0.0), jnp.asarray(math.pi), 16)
        assert value.dtype == jnp.float64 and float(value) == pytest.approx(2.0, rel=1e-14)


def test_forward_mode_from_float32_code_is_refused_by_jax():
    """Documented limit of the rule: jacfwd through a float64 function needs an x64 scope."""
    with pytest.raises(TypeError, match="custom_vjp"):
        jax.jacfwd(lambda x: _double_precision_sum(x * jnp.ones(3)))(1.0)
