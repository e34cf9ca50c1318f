"""The particle-mesh step at the speed of memory (issue 19): forces, whole runs and peak memory against jaxpm.

Usage::

    python bench/pm_step.py [--mesh 128] [--steps 10] [--repeats 5] [--skip-memory]

On one cubic box of ``--mesh``^3 particles (1 Mpc/h voxels, the fiducial cosmology, 2LPT at z = 19, a_final =
1/1.3), in one process, interleaving the contenders so that machine noise hits them alike, it prints medians of:

1. one force evaluation: :func:`xcosmo.forces.pm_forces` against ``jaxpm.pm.pm_forces`` on the same particles
   (relative painting), their rms relative difference, and the ratio of times;
2. one whole run of ``--steps`` steps: :func:`xcosmo.nbody.evolve` (what the pipeline runs for every box) against the
   bare jaxpm loop of the jaxpm README (``linear_field`` + ``lpt`` + diffrax ``LeapfrogMidpoint`` over
   ``make_diffrax_ode``, same steps, same start), in particle-steps per second, and their ratio (goal >= 2.5);
3. peak memory per particle of ``evolve``: each size in a fresh process, the process's peak resident set (VmHWM)
   after the run, at 64^3 and at ``--mesh``^3. The difference over the difference in particle counts is the memory
   each particle costs (the interpreter, XLA's compiler and its code are the same at both sizes); the total at
   ``--mesh``^3 divided by its particles is printed beside it, and XLA's own account of the compiled program's buffers
   (arguments, outputs and temporaries, ``compiled.memory_analysis()``). Goal: <= 250 bytes per particle at 128^3.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import jax
import jax.numpy as jnp

from xcosmo.cosmology import linear_power, make_cosmology, to_jax_cosmo
from xcosmo.forces import pm_forces
from xcosmo.nbody import Box, PMSettings, evolve

SETTINGS = PMSettings(z_start=19.0, lpt_order=2)
A_FINAL = 1.0 / 1.3

MEMORY_CHILD = """
import json, jax
from xcosmo.cosmology import make_cosmology
from xcosmo.nbody import Box, PMSettings, evolve, _evolve
box, settings = Box(({n}, {n}, {n}), 1.0), PMSettings(z_start=19.0, n_steps={steps}, lpt_order=2)
cosmo, key = make_cosmology(0.3, 0.8), jax.random.key(0)
jax.block_until_ready(evolve(cosmo, key, box, {a}, settings))
hwm = int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) * 1024
mem = _evolve.lower(cosmo, key, jax.numpy.float32({a}), box, settings).compile().memory_analysis()
xla = mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes
print(json.dumps(dict(hwm=hwm, xla=xla)))
"""


def warn_if_gpu_scatter_is_slow() -> None:
    """jax 0.10.2 to 0.11.0 compile float32 scatter-adds on NVIDIA GPUs to compare-and-swap loops (jax-ml/jax#38806,
    fixed in 0.11.1): CIC painting, whose indices collide in every halo, runs many times slower. The ``gpu`` extra
    excludes those versions; a GPU found with one anyway, without the workaround flag, is reported."""
    version = tuple(int(x) for x in jax.__version__.split(".")[:3] if x.isdigit())
    flag = "-nvptx-allow-ftz-atomics"
    if jax.devices()[0].platform == "gpu" and (0, 10, 2) <= version <= (0, 11, 0) and flag not in os.environ.get(
        "XLA_FLAGS", ""
    ):
        warnings.warn(
            f"jax {jax.__version__} compiles float32 scatter-adds on GPUs to compare-and-swap loops "
            f"(jax-ml/jax#38806): these timings are not representative. Install jax >= 0.11.1 or <= 0.10.1 "
            f"(pip install -e '.[gpu]' does), or set XLA_FLAGS='--xla_backend_extra_options={flag}' before "
            "starting Python.",
            RuntimeWarning,
            stacklevel=2,
        )


def bare_jaxpm_run(cosmo, box: Box, n_steps: int):
    """The jaxpm README loop: linear field, LPT, diffrax leapfrog over jaxpm's ODE, steps constant in a."""
    import diffrax
    from jaxpm.pm import linear_field, lpt, make_diffrax_ode

    k = jnp.logspace(-4, 1, 256)
    pk = linear_power(cosmo, k)

    @jax.jit
    def run(key):
        pk_fn = lambda x: jnp.interp(x.reshape([-1]), k, pk).reshape(x.shape)  # noqa: E731
        ic = linear_field(box.mesh_shape, box.box_size, pk_fn, seed=key)
        jc = to_jax_cosmo(cosmo)
        a0 = SETTINGS.a_start
        dx, p, _ = lpt(jc, ic, a=a0, order=SETTINGS.lpt_order)
        term = diffrax.ODETerm(make_diffrax_ode(box.mesh_shape, paint_absolute_pos=False))
        sol = diffrax.diffeqsolve(
            term, diffrax.LeapfrogMidpoint(), t0=a0, t1=A_FINAL, dt0=(A_FINAL - a0) / n_steps,
            y0=jnp.stack([dx, p], axis=0), args=jc, saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=diffrax.ConstantStepSize(), max_steps=n_steps + 1,
        )  # fmt: skip
        return sol.ys[-1]

    return run


def interleaved_medians(fns, repeats: int) -> list[float]:
    """Median wall time of each function (compiled first), run alternately."""
    for fn in fns:
        jax.block_until_ready(fn())
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t = time.perf_counter()
            jax.block_until_ready(fn())
            ts.append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def peak_memory(n: int, steps: int) -> dict:
    code = MEMORY_CHILD.format(n=n, steps=steps, a=A_FINAL)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", type=int, default=128, help="particles per side (default 128)")
    parser.add_argument("--steps", type=int, default=10, help="leapfrog steps of a whole run (default 10)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of each contender (default 5)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the peak-memory measurement")
    args = parser.parse_args()
    from jaxpm.pm import pm_forces as jaxpm_forces

    box = Box((args.mesh,) * 3, 1.0)
    settings = PMSettings(z_start=SETTINGS.z_start, n_steps=args.steps, lpt_order=SETTINGS.lpt_order)
    cosmo, key = make_cosmology(0.3, 0.8), jax.random.key(0)
    n = box.n_particles
    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}; box {args.mesh}^3 = {n} particles")
    warn_if_gpu_scatter_is_slow()

    dx, _ = evolve(cosmo, key, box, A_FINAL, settings)
    ours_f = jax.jit(pm_forces)
    ref_f = jax.jit(lambda d: jaxpm_forces(d, mesh_shape=box.mesh_shape, paint_absolute_pos=False))
    a, b = ours_f(dx), ref_f(dx)
    rms = float(jnp.sqrt(jnp.mean(jnp.sum((a - b) ** 2, -1)) / jnp.mean(jnp.sum(b**2, -1))))
    t_ours, t_ref = interleaved_medians([lambda: ours_f(dx), lambda: ref_f(dx)], args.repeats)
    print(f"forces at z = 0.3: xcosmo {t_ours * 1e3:.0f} ms, jaxpm pm_forces {t_ref * 1e3:.0f} ms, "
          f"ratio x{t_ref / t_ours:.2f}; rms relative difference {rms:.2e}")  # fmt: skip

    bare = bare_jaxpm_run(cosmo, box, args.steps)
    t_ours, t_bare = interleaved_medians([lambda: evolve(cosmo, key, box, A_FINAL, settings), lambda: bare(key)],
                                         args.repeats)  # fmt: skip
    steps = n * args.steps
    print(f"whole run, {args.steps} steps: xcosmo evolve {t_ours:.2f} s ({steps / t_ours:.3g} particle-steps/s), "
          f"bare jaxpm loop {t_bare:.2f} s ({steps / t_bare:.3g}); ratio x{t_bare / t_ours:.2f} (goal >= 2.5)")  # fmt: skip

    if not args.skip_memory:
        small, large = peak_memory(64, args.steps), peak_memory(args.mesh, args.steps)
        marginal = (large["hwm"] - small["hwm"]) / (n - 64**3)
        print(f"peak memory of evolve: {marginal:.0f} bytes per particle from 64^3 to {args.mesh}^3 (goal <= 250); "
              f"at {args.mesh}^3 the process peaks at {large['hwm'] / 2**20:.0f} MiB ({large['hwm'] / n:.0f} B per "
              f"particle, interpreter and compiler included); XLA's buffers {large['xla'] / n:.0f} B per particle")  # fmt: skip


if __name__ == "__main__":
    main()
