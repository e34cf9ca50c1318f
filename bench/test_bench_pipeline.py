"""The simulation pipeline (issue 5).

* PM throughput of the light-cone generator (``xcosmo.nbody.evolve``, what the pipeline runs for every box:
  Gaussian initial conditions, 2LPT, kick-drift-kick leapfrog) against a bare jaxpm loop on the same box (jaxpm's
  README recipe: ``linear_field`` + ``lpt`` + diffrax ``LeapfrogMidpoint`` over ``make_diffrax_ode``, same number
  of steps, same start). Goal: ratio of particle-steps per second >= 2.5 (issue 19; ``bench/pm_step.py`` measures
  the same on a 128^3 box, with the forces alone and the peak memory).
* The quickstart preset end to end, cold (a fresh process: compilation, X-ray tables, outputs): wall time, peak
  memory and the split across N-body / painting / emission / detection / output. Goal: under 5 minutes.

Run: ``make bench`` or ``python -m pytest bench/test_bench_pipeline.py --benchmark-enable -s``.
"""

import json
import math
import resource
import statistics
import subprocess
import sys
import time

import diffrax
import jax
import jax.numpy as jnp
import pytest

from xcosmo.cosmology import linear_power, make_cosmology, to_jax_cosmo
from xcosmo.nbody import Box, PMSettings, evolve

BOX = Box((96, 96, 80), 1.0)  # the shape of a quickstart-like slab box
SETTINGS = PMSettings(z_start=19.0, n_steps=20, lpt_order=2)
A_FINAL = 1.0 / 1.3


def _bare_jaxpm(cosmo, box: Box, settings: PMSettings):
    """The jaxpm README loop on the same box and the same number of steps (steps constant in a)."""
    from jaxpm.pm import linear_field, lpt, make_diffrax_ode

    k = jnp.logspace(-4, 1, 256)
    pk = linear_power(cosmo, k)

    @jax.jit
    def run(key):
        pk_fn = lambda x: jnp.interp(x.reshape([-1]), k, pk).reshape(x.shape)  # noqa: E731
        ic = linear_field(box.mesh_shape, box.box_size, pk_fn, seed=key)
        jc = to_jax_cosmo(cosmo)
        a0 = settings.a_start
        dx, p, _ = lpt(jc, ic, a=a0, order=settings.lpt_order)
        term = diffrax.ODETerm(make_diffrax_ode(box.mesh_shape, paint_absolute_pos=False))
        sol = diffrax.diffeqsolve(
            term, diffrax.LeapfrogMidpoint(), t0=a0, t1=A_FINAL, dt0=(A_FINAL - a0) / settings.n_steps,
            y0=jnp.stack([dx, p], axis=0), args=jc, saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=diffrax.ConstantStepSize(), max_steps=settings.n_steps + 1,
        )  # fmt: skip
        return sol.ys[-1]

    return run


def _interleaved_medians(fns, repeats=5):
    """Median wall time of each function, run alternately so that machine noise hits all of them alike."""
    for fn in fns:
        jax.block_until_ready(fn())  # compile
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t = time.perf_counter()
            jax.block_until_ready(fn())
            ts.append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


@pytest.mark.benchmark(group="PM throughput")
def test_pm_throughput_vs_bare_jaxpm(benchmark):
    cosmo = make_cosmology(0.3, 0.8)
    key = jax.random.key(0)
    ours = lambda: evolve(cosmo, key, BOX, A_FINAL, SETTINGS)  # noqa: E731
    bare_run = _bare_jaxpm(cosmo, BOX, SETTINGS)
    bare = lambda: bare_run(key)  # noqa: E731
    t_ours, t_bare = _interleaved_medians([ours, bare])
    benchmark.pedantic(lambda: jax.block_until_ready(ours()), rounds=3, iterations=1)
    steps = BOX.n_particles * SETTINGS.n_steps
    ratio = t_bare / t_ours  # = throughput(ours) / throughput(bare)
    benchmark.extra_info.update(
        particle_steps_per_s_ours=steps / t_ours, particle_steps_per_s_bare_jaxpm=steps / t_bare,
        throughput_ratio=ratio, goal_ratio=2.5,
    )  # fmt: skip
    print(f"\nPM {BOX.mesh_shape}, {SETTINGS.n_steps} steps: xcosmo {steps / t_ours:.3g} particle-steps/s, "
          f"bare jaxpm {steps / t_bare:.3g}; ratio {ratio:.3f} (goal >= 2.5)")  # fmt: skip


@pytest.mark.benchmark(group="quickstart cold")
def test_quickstart_cold(benchmark, tmp_path):
    """One cold ``xcosmo simulate --preset quickstart`` in a fresh process: wall time, peak RSS, stage split."""
    script = (
        "import json, sys, time; t0 = time.perf_counter()\n"
        "from xcosmo import Params\nfrom xcosmo.pipeline import simulate_survey\n"
        f"r = simulate_survey(Params.fiducial(), 0, 'quickstart', out={str(tmp_path)!r}, progress=False)\n"
        "print(json.dumps({'timings': r.timings, 'n': len(r.catalogue), 'wall': time.perf_counter() - t0}))\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    def run():
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    report = benchmark.pedantic(run, rounds=1, iterations=1)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    benchmark.extra_info.update(report["timings"], clusters=report["n"], peak_rss_mib=peak_mib, goal_s=300)
    split = ", ".join(f"{k} {v:.1f} s" for k, v in report["timings"].items())
    print(f"\nquickstart cold: {report['wall']:.1f} s in the process ({split}); peak RSS {peak_mib:.0f} MiB "
          f"(before: {before / 1024:.0f}); {report['n']} clusters")  # fmt: skip
    assert report["n"] >= 0 and math.isfinite(report["wall"])
