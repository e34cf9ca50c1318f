"""The scaling-relation emulator (issue 20): one query, and lambda(theta) + gradient of the emulated-relation model's
log-likelihood on the full 8 x 12 x 12 XOD, warm, float64, beside the analytical model's (its peer: the same survey,
binning and likelihood with M-T and L-T).

Goal: value + gradient under 50 ms on this CPU. Uses the shipped emulator, or, until one is shipped, an emulator of
the same size (100 design points) fitted here to smooth relations. Run: ``make bench``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

N_POINTS = 100


@pytest.fixture(scope="module")
def emulator():
    from emulators.scaling.emulator import PRETRAINED, fit_emulator, load_emulator

    if PRETRAINED.is_file():
        return load_emulator(PRETRAINED)[0]
    rng = np.random.default_rng(0)
    u = rng.uniform(size=(N_POINTS, 7))
    base = np.array([-0.9, 1.4, 0.25, -0.25, 0.25, 0.08, 0.45])
    values = base + 0.1 * np.sin(3 * u[:, :1]) + 0.05 * u[:, 6:7] + 0.01 * rng.normal(size=(N_POINTS, 7))
    return fit_emulator(u, values, np.full((N_POINTS, 7), 0.01), steps=300)


@pytest.mark.benchmark(group="scaling-relation emulator")
def test_emulator_query(benchmark, emulator):
    from xcosmo.params import Params

    theta = np.asarray(Params.fiducial().to_array())
    emulator.predict(theta, 0.3)
    out = benchmark(lambda: emulator.predict(theta, 0.3))
    assert np.isfinite(out["cr_slope"][0])


@pytest.mark.benchmark(group="scaling-relation emulator")
def test_emulated_loglike_value_and_gradient(benchmark, emulator):
    from inference.emulated import EPS_NAMES, asimov_data
    from inference.likelihood import poisson_log_likelihood
    from xcosmo.emulated import EmulatedRelationModel
    from xcosmo.params import Params

    forward = EmulatedRelationModel.build(emulator)
    theta = np.asarray(Params.fiducial().to_array(), np.float64)
    data = asimov_data(forward, theta)
    with jax.enable_x64(True):
        vg = jax.jit(jax.value_and_grad(lambda p: poisson_log_likelihood(forward.from_theta(p[:6], p[6:]), data)))
        p = jnp.asarray(np.r_[theta, np.zeros(len(EPS_NAMES))])
        jax.block_until_ready(vg(p))
        value, grad = benchmark(lambda: jax.block_until_ready(vg(p)))
    assert np.all(np.isfinite(np.asarray(grad)))
    benchmark.extra_info["goal_s"] = 0.05
