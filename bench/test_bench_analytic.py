"""Analytical XOD model (issue 4): lambda(theta) for the full 8 x 12 x 12 XOD and its gradient, warm, float64.

Goal: value + gradient under 50 ms on this CPU. Run: ``make bench``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inference.likelihood import asimov_data, default_forward, poisson_log_likelihood
from xcosmo.analytic import fiducial_phi


@pytest.mark.benchmark(group="analytic lambda(theta)")
def test_lambda_value(benchmark):
    model = default_forward()
    with jax.enable_x64(True):
        f = jax.jit(lambda th: model.from_phi(th))
        theta = jnp.asarray(fiducial_phi())
        jax.block_until_ready(f(theta))
        lam = benchmark(lambda: jax.block_until_ready(f(theta)))
    assert lam.shape == (8, 12, 12)


@pytest.mark.benchmark(group="analytic lambda(theta)")
def test_loglike_value_and_gradient(benchmark):
    model = default_forward()
    data = asimov_data()
    with jax.enable_x64(True):
        vg = jax.jit(jax.value_and_grad(lambda th: poisson_log_likelihood(model.from_phi(th), data)))
        theta = jnp.asarray(fiducial_phi())
        jax.block_until_ready(vg(theta))
        value, grad = benchmark(lambda: jax.block_until_ready(vg(theta)))
    assert np.all(np.isfinite(np.asarray(grad)))
    benchmark.extra_info["goal_s"] = 0.05


@pytest.mark.benchmark(group="analytic lambda(theta)")
def test_jacobian(benchmark):
    model = default_forward()
    with jax.enable_x64(True):
        jac = jax.jit(jax.jacfwd(model.from_phi))
        theta = jnp.asarray(fiducial_phi())
        jax.block_until_ready(jac(theta))
        out = benchmark(lambda: jax.block_until_ready(jac(theta)))
    assert out.shape == (8, 12, 12, 8)
