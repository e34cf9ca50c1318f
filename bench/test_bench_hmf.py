"""Tinker08 mass function on 256 masses x 64 redshifts, float64, warm: xcosmo value, value+gradient, and colossus.

Goal (issue 2): faster than colossus for the value; value + gradient (w.r.t. Omega_m and sigma_8) under 0.1 s.
Run: ``make bench`` or ``python -m pytest bench/test_bench_hmf.py --benchmark-enable``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xcosmo.cosmology import make_cosmology
from xcosmo.hmf import mass_function

M = np.logspace(13.0, 15.5, 256)
Z = np.linspace(0.05, 1.0, 64)


@pytest.mark.benchmark(group="hmf 256x64")
def test_xcosmo_value(benchmark):
    cosmo = make_cosmology(0.3, 0.8)

    def run():
        return mass_function(cosmo, M, Z[:, None]).block_until_ready()

    run()
    out = benchmark(run)
    assert out.shape == (64, 256) and out.dtype == jnp.float64


@pytest.mark.benchmark(group="hmf 256x64")
def test_xcosmo_value_and_grad(benchmark):
    with jax.enable_x64(True):
        vg = jax.jit(jax.value_and_grad(lambda p: jnp.sum(mass_function(make_cosmology(p[0], p[1]), M, Z[:, None]))))
        p = jnp.array([0.3, 0.8])
        jax.block_until_ready(vg(p))
        value, grad = benchmark(lambda: jax.block_until_ready(vg(p)))
    assert np.all(np.isfinite(np.asarray(grad)))
    benchmark.extra_info["goal_s"] = 0.1


@pytest.mark.benchmark(group="hmf 256x64")
def test_colossus_value(benchmark):
    from colossus.cosmology import cosmology
    from colossus.lss import mass_function as cmf

    cosmology.setCosmology(
        "bench", {"flat": True, "H0": 67.66, "Om0": 0.3, "Ob0": 0.04897, "sigma8": 0.8, "ns": 0.9665}
    )
    run = lambda: np.array([cmf.massFunction(M, z, mdef="500c", model="tinker08", q_out="dndlnM") for z in Z])
    run()  # builds colossus's interpolation tables (its warm state)
    out = benchmark(run)
    assert out.shape == (64, 256)
