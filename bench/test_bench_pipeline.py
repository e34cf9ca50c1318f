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
import subprocess
import sys

import jax
import pytest

from xcosmo.cosmology import make_cosmology
from pm_step import A_FINAL, bare_jaxpm_run, interleaved_medians  # bench/ is on the path (its conftest)
from xcosmo.nbody import Box, PMSettings, evolve

BOX = Box((96, 96, 80), 1.0)  # the shape of a quickstart-like slab box
SETTINGS = PMSettings(z_start=19.0, n_steps=20, lpt_order=2)


@pytest.mark.benchmark(group="PM throughput")
def test_pm_throughput_vs_bare_jaxpm(benchmark):
    cosmo = make_cosmology(0.3, 0.8)
    key = jax.random.key(0)
    ours = lambda: evolve(cosmo, key, BOX, A_FINAL, SETTINGS)  # noqa: E731
    bare_run = bare_jaxpm_run(cosmo, BOX, SETTINGS.n_steps)
    bare = lambda: bare_run(key)  # noqa: E731
    t_ours, t_bare = interleaved_medians([ours, bare], repeats=5)
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
