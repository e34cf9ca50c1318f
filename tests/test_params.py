import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcosmo.params import PARAM_NAMES, PRIOR, Params


def test_fiducial_and_order():
    p = Params.fiducial()
    assert PARAM_NAMES == ("omega_m", "sigma_8", "a_sn1", "a_sn2", "a_agn1", "a_agn2")
    np.testing.assert_allclose(p.to_array(), [0.3, 0.8, 1.0, 1.0, 1.0, 1.0], rtol=1e-7)  # float32 by default


def test_array_roundtrip_batched():
    theta = np.array([[0.2, 0.7, 0.5, 1.5, 2.0, 0.6], [0.4, 0.9, 3.0, 0.7, 0.3, 1.9]])
    p = Params.from_array(theta)
    assert p.omega_m.shape == (2,)
    np.testing.assert_allclose(p.to_array(), theta, rtol=1e-6)


def test_params_is_a_pytree_usable_under_jit_and_grad():
    p = Params.fiducial()
    assert len(jax.tree_util.tree_leaves(p)) == 6
    f = jax.jit(lambda q: q.omega_m * q.sigma_8**2 + q.a_agn2)
    assert float(f(p)) == pytest.approx(0.3 * 0.64 + 1.0)
    g = jax.grad(lambda q: q.omega_m * q.sigma_8**2)(Params(jnp.float32(0.3), jnp.float32(0.8)))
    assert float(g.sigma_8) == pytest.approx(2 * 0.3 * 0.8)


@pytest.mark.parametrize(
    "kwargs, name, value",
    [
        (dict(omega_m=0.6, sigma_8=0.8), "omega_m", "0.6"),
        (dict(omega_m=0.3, sigma_8=0.55), "sigma_8", "0.55"),
        (dict(omega_m=0.3, sigma_8=0.8, a_sn1=5.0), "a_sn1", "5.0"),
        (dict(omega_m=0.3, sigma_8=0.8, a_sn2=0.4), "a_sn2", "0.4"),
        (dict(omega_m=0.3, sigma_8=0.8, a_agn1=0.1), "a_agn1", "0.1"),
        (dict(omega_m=0.3, sigma_8=0.8, a_agn2=2.5), "a_agn2", "2.5"),
    ],
)
def test_out_of_prior_names_parameter_value_and_range(kwargs, name, value):
    with pytest.raises(ValueError) as err:
        Params(**kwargs)
    msg = str(err.value)
    assert name in msg and value in msg and "allowed range" in msg
    b = next(b for b in PRIOR.bounds if b.name == name)
    assert f"{b.low:g}" in msg and f"{b.high:g}" in msg


def test_nan_and_inf_are_refused():
    with pytest.raises(ValueError, match="sigma_8 = nan"):
        Params(0.3, float("nan"))
    with pytest.raises(ValueError, match="omega_m"):
        Params(np.array([0.3, np.inf]), 0.8)


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match=r"theta has shape \(5,\), which is not allowed: .*6 entries"):
        Params.from_array(np.ones(5))
    with pytest.raises(ValueError, match=r"theta has shape \(0, 6\), which is not allowed: expected a non-empty"):
        Params.from_array(np.zeros((0, 6)))
    with pytest.raises(ValueError, match="theta"):
        Params.from_array(0.3)
    with pytest.raises(ValueError, match="one shape"):
        Params(np.array([0.3, 0.3]), np.array([0.8, 0.8, 0.8]))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Params("0.3", 0.8), "omega_m = '0.3' is not allowed: expected a number"),
        (lambda: Params("abc", 0.8), "omega_m = 'abc' is not allowed"),
        (lambda: Params(0.3, 0.8 + 0j), r"sigma_8 = \(0.8\+0j\) is not allowed: expected a real number"),
        (lambda: Params(0.3, None), "sigma_8 = None is not allowed"),
        (lambda: Params.from_array(np.array(["0.3"] * 6)), "theta = .* is not allowed: expected a number"),
        (lambda: PRIOR.sample(jax.random.key(0), 2.5), "n = 2.5 is not allowed: expected an integer"),
        (lambda: PRIOR.log_prob(["a"] * 6), "theta = .* is not allowed: expected a number"),
    ],
)
def test_wrong_types_are_type_errors_naming_the_field(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_wrong_sizes_are_value_errors_naming_the_field():
    with pytest.raises(ValueError, match="n = -1 is not allowed: expected an integer >= 0"):
        PRIOR.sample(jax.random.key(0), -1)
    with pytest.raises(ValueError, match=r"theta has shape \(5,\), which is not allowed: expected \(6,\)"):
        PRIOR.log_prob(np.ones(5))
    assert PRIOR.log_prob(np.full((3, 6), 0.8)).shape == (3,)


def test_tracers_are_not_checked():
    # Inside jit the values are abstract: construction must not try to compare them.
    out = jax.jit(lambda om: Params(om, 0.8).omega_m * 2)(0.3)
    assert float(out) == pytest.approx(0.6)


def test_latin_hypercube_has_one_point_per_stratum():
    n = 50
    theta = PRIOR.latin_hypercube(jax.random.key(0), n)
    assert theta.shape == (n, 6)
    u = np.asarray(PRIOR.to_unit(theta))
    for d in range(6):
        strata = np.sort(np.floor(u[:, d] * n).astype(int))
        np.testing.assert_array_equal(strata, np.arange(n))
    # every design point is a valid Params
    Params.from_array(theta)
    # reproducible
    np.testing.assert_array_equal(theta, PRIOR.latin_hypercube(jax.random.key(0), n))
    assert not np.array_equal(theta, PRIOR.latin_hypercube(jax.random.key(1), n))


def test_prior_samples_are_log_uniform_in_feedback():
    theta = np.asarray(PRIOR.sample(jax.random.key(3), 20000))
    ln_a = np.log(theta[:, 2])  # a_sn1 ~ logU(0.25, 4): ln a uniform on (-ln 4, ln 4), mean 0
    assert abs(ln_a.mean()) < 0.03
    assert np.all((ln_a >= math.log(0.25)) & (ln_a <= math.log(4.0)))
    om = theta[:, 0]
    assert abs(om.mean() - 0.3) < 0.005 and om.min() >= 0.1 and om.max() <= 0.5


def test_log_prob_normalised():
    # The density integrates to one: check the 1-D factor of a_agn2 numerically.
    a = np.linspace(0.5, 2.0, 200001)
    dens = np.exp(np.asarray(PRIOR.log_prob(np.stack([np.full_like(a, 0.3), np.full_like(a, 0.8), np.ones_like(a),
                                                       np.ones_like(a), np.ones_like(a), a], -1))))
    other = 1 / 0.4 * 1 / 0.4 / math.log(16) / math.log(4) / math.log(16)
    assert np.trapezoid(dens, a) / other == pytest.approx(1.0, rel=1e-6)
    assert PRIOR.log_prob(np.array([0.6, 0.8, 1, 1, 1, 1])) == -np.inf


def test_numpyro_prior_sites():
    import numpyro
    from numpyro import handlers

    def model():
        return PRIOR.sample_numpyro()

    trace = handlers.trace(handlers.seed(model, 0)).get_trace()
    assert {"omega_m", "sigma_8", "ln_a_sn1", "ln_a_agn2", "a_sn1"} <= set(trace)
    assert trace["omega_m"]["type"] == "sample"
    assert float(trace["a_sn1"]["value"]) == pytest.approx(math.exp(float(trace["ln_a_sn1"]["value"])), rel=1e-6)
    samples = numpyro.infer.Predictive(model, num_samples=2000)(jax.random.key(1))
    assert samples["ln_a_sn2"].min() >= math.log(0.5) and samples["ln_a_sn2"].max() <= math.log(2.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6))
def test_unit_cube_roundtrip(u):
    theta = PRIOR.from_unit(np.array(u))
    np.testing.assert_allclose(PRIOR.to_unit(theta), u, atol=2e-6)
    Params.from_array(np.clip(theta, PRIOR.low, PRIOR.high))


def test_traced_values_are_checked_when_the_computation_runs():
    f = jax.jit(lambda om: Params(om, 0.8).omega_m * 2.0)
    assert float(f(0.3)) == pytest.approx(0.6)
    with pytest.raises(Exception, match=r"omega_m = <traced value> is not allowed: allowed range \[0.1, 0.5\]"):
        jax.block_until_ready(f(0.7))
