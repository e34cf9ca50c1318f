"""X-ray count rates (issue 3). Goals: voxel count rates for 1e7 voxels in two bands, warm, CPU, under 1 s;
the (T, z) table and its gradient for 1e5 points.

Run: ``make bench`` or ``python -m pytest bench/test_bench_xray.py --benchmark-enable``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xcosmo.cosmology import make_cosmology
from xcosmo.xray.countrates import default_table, voxel_count_rates

N_VOXELS = 10_000_000
N_POINTS = 100_000


@pytest.fixture(scope="module")
def table():
    return default_table()


@pytest.mark.benchmark(group="xray voxels 1e7")
def test_voxel_count_rates_1e7(benchmark, table):
    cosmo = make_cosmology(0.3, 0.8)
    key1, key2 = jax.random.split(jax.random.key(0))
    n_e = 10 ** jax.random.uniform(key1, (N_VOXELS,), minval=-7.0, maxval=-2.0)  # comoving cm^-3
    kt = 10 ** jax.random.uniform(key2, (N_VOXELS,), minval=-2.5, maxval=1.1)  # keV, cold IGM to hot ICM
    run = jax.jit(lambda n, t, z: voxel_count_rates(cosmo, n, t, z, 0.39, table))
    jax.block_until_ready(run(n_e, kt, 0.3))
    soft, hard = benchmark(lambda: jax.block_until_ready(run(n_e, kt, 0.3)))
    assert soft.shape == (N_VOXELS,) and bool(jnp.all(jnp.isfinite(hard)))
    benchmark.extra_info["goal_s"] = 1.0


@pytest.mark.benchmark(group="xray table 1e5")
def test_table_value_1e5(benchmark, table):
    kt = np.geomspace(0.2, 15.0, N_POINTS)
    z = np.linspace(0.05, 1.5, N_POINTS)
    run = jax.jit(lambda t, zz: table(t, zz))
    jax.block_until_ready(run(kt, z))
    out = benchmark(lambda: jax.block_until_ready(run(kt, z)))
    assert out.shape == (N_POINTS, 2)


@pytest.mark.benchmark(group="xray table 1e5")
def test_table_value_and_grad_1e5(benchmark, table):
    kt = jnp.asarray(np.geomspace(0.2, 15.0, N_POINTS), jnp.float32)
    z = jnp.asarray(np.linspace(0.05, 1.5, N_POINTS), jnp.float32)
    run = jax.jit(jax.value_and_grad(lambda t, zz: jnp.sum(table(t, zz)), argnums=(0, 1)))
    jax.block_until_ready(run(kt, z))
    value, (g_kt, g_z) = benchmark(lambda: jax.block_until_ready(run(kt, z)))
    assert bool(jnp.all(jnp.isfinite(g_kt))) and bool(jnp.all(jnp.isfinite(g_z)))
