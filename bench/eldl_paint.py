"""Cost of painting a box with the extended LDL against the box's particle-mesh run (issue 16: at most 20%).

Usage::

    python bench/eldl_paint.py [--mesh 64,128] [--repeats 3]

For each mesh: the PM run of a box of 0.39 Mpc/h voxels with the quickstart preset's settings (2LPT at z = 19, 20
steps, to z = 0.3) and the eLDL paint of the result (n_e and kT, untrained weights: the cost does not depend on their
values), each jit-compiled and run once before timing; prints the median of ``repeats`` runs of each and their
ratio, and the eLDL's training-step throughput (value and gradient of one sample's n_e loss).
"""

from __future__ import annotations

import argparse
import statistics
import time

import equinox as eqx
import jax


def _median_seconds(fn, repeats):
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from emulators.eldl.eldl import ELDL
    from emulators.eldl.samples import Arrays
    from emulators.eldl.training import relative_loss
    from xcosmo import Params
    from xcosmo.cosmology import Cosmology
    from xcosmo.nbody import Box, PMSettings, density, evolve

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", default="64,128")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params, settings = Params.fiducial(), PMSettings(z_start=19.0, n_steps=20)
    cosmo = Cosmology.from_params(params)
    model = ELDL.untrained((0.1, 0.21, 0.54), jax.random.key(0))
    for n in (int(m) for m in args.mesh.split(",")):
        box = Box((n, n, n), 0.39)
        run = jax.jit(lambda key, box=box: evolve(cosmo, key, box, 1 / 1.3, settings)[0])
        pm = _median_seconds(lambda run=run: run(jax.random.key(1)), args.repeats)
        dx = run(jax.random.key(1))
        paint = eqx.filter_jit(lambda m, dx, box=box: m(dx, box, 0.3, params))
        painting = _median_seconds(lambda: paint(model, dx), args.repeats)
        arrays = Arrays(dx, density(dx), 0.1 + 0 * density(dx), density(dx), params.to_array())
        grad = eqx.filter_jit(eqx.filter_value_and_grad(lambda p, a: relative_loss("ne", p, a)))
        step = _median_seconds(lambda: grad(model.ne, arrays), args.repeats)
        print(f"{n}^3: PM run {pm:.2f} s, eLDL paint {painting:.2f} s, ratio {painting / pm:.2f} (goal <= 0.20); "
              f"training step (value and gradient, one sample) {step:.2f} s, {1 / step:.2f} samples/s")


if __name__ == "__main__":
    main()
