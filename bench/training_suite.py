"""Time and memory per box of the synthetic eLDL training suite, by stage, and the default suite's wall time.

Usage::

    python bench/training_suite.py [--boxes lh,cv]

Runs one LH-like box (64^3 voxels of 0.39 Mpc/h, 25 Mpc/h, the 8 training redshifts) and one CV-like box (128^3,
50 Mpc/h, z = 0.21) of the default suite, each in its own process (warm: one run to compile first is not made; the
times include XLA compilation, as a suite's first box does). Prints the seconds of each stage (PM input, accurate
N-body, haloes, gas), the process's peak resident memory (VmHWM), and the default suite's estimated wall time
(6 CV + 24 LH boxes, emulators.data.suite.SIZES).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, jax, numpy as np
from emulators.data.synthetic import make_box
from emulators.data.suite import TRAINING_REDSHIFTS
from xcosmo import Params
timings = {{}}
make_box(Params.fiducial(), jax.random.key(0), {mesh}, 0.39, {redshifts}, timings=timings)
hwm = int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) * 1024
print(json.dumps(dict(timings=timings, peak=hwm)))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", default="lh,cv")
    args = parser.parse_args()
    spec = {"lh": (64, "list(TRAINING_REDSHIFTS)"), "cv": (128, "[0.21]")}
    total = {}
    for name in args.boxes.split(","):
        mesh, redshifts = spec[name]
        done = subprocess.run([sys.executable, "-c", CHILD.format(mesh=mesh, redshifts=redshifts)], capture_output=True,
                              text=True)  # fmt: skip
        if done.returncode != 0:
            print(name, "failed:", done.stderr.strip().splitlines()[-1])
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        seconds = sum(row["timings"].values())
        total[name] = seconds
        stages = ", ".join(f"{k} {v:.1f}" for k, v in row["timings"].items())
        print(f"{name} box {mesh}^3: {seconds:.1f} s ({stages}), peak RSS {row['peak'] / 2**30:.2f} GiB")
    if set(total) == {"lh", "cv"}:
        print(f"default suite (6 CV + 24 LH boxes): about {(6 * total['cv'] + 24 * total['lh']) / 60:.0f} min")


if __name__ == "__main__":
    main()
