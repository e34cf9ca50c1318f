"""Analytical XOD model (issue 4): lambda(phi) for the full 8 x 12 x 12 XOD and its gradient, warm, float64.

Goal: value + gradient under 50 ms on this CPU. Run: ``make bench``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inference.likelihood import asimov_data, default_forward, poisson_log_likelihood
from xcosmo.analytic import fiducial_phi


@pytest.mark.benchmark(group="analytic lambda(phi)")
def test_lambda_value(benchmark):
    forward = default_forward()
    with jax.enable_x64(True):
        f = jax.jit(lambda phi: forward.from_phi(phi))
        phi = jnp.asarray(fiducial_phi())
        jax.block_until_ready(f(phi))
        lam = benchmark(lambda: jax.block_until_ready(f(phi)))
    assert lam.shape == (8, 12, 12)


@pytest.mark.benchmark(group="analytic lambda(phi)")
def test_loglike_value_and_gradient(benchmark):
    forward = default_forward()
    data = asimov_data()
    with jax.enable_x64(True):
        vg = jax.jit(jax.value_and_grad(lambda phi: poisson_log_likelihood(forward.from_phi(phi), data)))
        phi = jnp.asarray(fiducial_phi())
        jax.block_until_ready(vg(phi))
        value, grad = benchmark(lambda: jax.block_until_ready(vg(phi)))
    assert np.all(np.isfinite(np.asarray(grad)))
    benchmark.extra_info["goal_s"] = 0.05


@pytest.mark.benchmark(group="analytic lambda(phi)")
def test_jacobian(benchmark):
    forward = default_forward()
    with jax.enable_x64(True):
        jac = jax.jit(jax.jacfwd(forward.from_phi))
        phi = jnp.asarray(fiducial_phi())
        jax.block_until_ready(jac(phi))
        out = benchmark(lambda: jax.block_until_ready(jac(phi)))
    assert out.shape == (8, 12, 12, 8)
