"""The dry run's peak-memory estimate (``xcosmo simulate --dry-run``, :func:`xcosmo.pipeline.plan_run`) against the
peak memory of the same run.

Usage::

    python bench/memory_plan.py [--presets tiny,quickstart] [--cold]

Each preset runs once at the fiducial parameters in its own process. On a CPU the measured peak is the process's
VmHWM (its own peak resident set; ``ru_maxrss`` would inherit the parent's through fork); on a GPU it is the device's
``peak_bytes_in_use`` plus the host's VmHWM is reported beside it. ``--cold`` runs with an empty cache folder, so the
X-ray count-rate tables are built in the run (what a first run on a fresh machine does). Prints one row per preset
and the ratio estimate / measured, which must stay >= 1 (the dry run must not promise a run that will not fit) and
should stay close to it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = """
import json, jax
from xcosmo import Params
from xcosmo.pipeline import plan_run, simulate_survey
plan = plan_run(Params.fiducial(), {preset!r})
result = simulate_survey(Params.fiducial(), 0, {preset!r}, progress=False)
hwm = int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) * 1024
dev = jax.devices()[0]
peak = (dev.memory_stats() or {{}}).get('peak_bytes_in_use') if dev.platform != 'cpu' else None
print(json.dumps(dict(estimate=plan.memory_bytes, host_peak=hwm, device_peak=peak, device=str(dev.device_kind),
                      seconds=sum(result.timings.values()))))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny,quickstart")
    parser.add_argument("--cold", action="store_true", help="empty cache: the count-rate tables are built in the run")
    args = parser.parse_args()
    print(f"{'preset':<11} {'device':<14} {'estimate GiB':>12} {'peak GiB':>9} {'ratio':>6} {'run s':>6}")
    for preset in args.presets.split(","):
        env = dict(os.environ)
        with tempfile.TemporaryDirectory() as cache:
            if args.cold:
                env["XDG_CACHE_HOME"] = cache
            done = subprocess.run([sys.executable, "-c", CHILD.format(preset=preset)], capture_output=True, text=True,
                                  env=env)  # fmt: skip
        if done.returncode != 0:
            print(f"{preset:<11} failed: {done.stderr.strip().splitlines()[-1]}")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        peak = row["device_peak"] or row["host_peak"]
        gib = 2.0**30
        print(f"{preset:<11} {row['device']:<14} {row['estimate'] / gib:12.2f} {peak / gib:9.2f} "
              f"{row['estimate'] / peak:6.2f} {row['seconds']:6.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
