"""XODs per hour of a campaign on 1 and on 2 Dask workers of this machine, the same simulations (issue 17: >= 1.6x).

Usage::

    python bench/campaign_workers.py [--preset tiny] [--n 12] [--workers 1,2]

For each worker count, a fresh local cluster (one process per worker, each pinned to its own core:
:class:`xcosmo.campaign.runner.PinToCore`) runs the same campaign (light-cone simulator, the given light-cone preset,
seed 0, ``n`` simulations) into a temporary store. The rate is measured in the steady state, from the simulations'
finishing times in the store: (n - w) / (t_n - t_w) with w workers, so that each worker's first simulation, which
compiles the programs, does not count. Prints each rate, the mean clusters per XOD and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def steady_rate_per_hour(finished, workers: int) -> float:
    """(n - w) / (t_n - t_w) in simulations per hour, from the sorted finishing times."""
    t = sorted(finished)
    return (len(t) - workers) / (t[-1] - t[workers - 1]) * 3600.0


def main() -> None:
    from xcosmo.campaign import CampaignConfig, CampaignStore, run_campaign

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny", help="light-cone preset of the simulations")
    parser.add_argument("--n", type=int, default=12, help="simulations per run")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    args = parser.parse_args()

    rates = {}
    for w in (int(x) for x in args.workers.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_campaign(Path(tmp) / "c", CampaignConfig(n=args.n, preset=args.preset), workers=w, progress=False)
            wall = time.perf_counter() - start
            rec = CampaignStore.open(Path(tmp) / "c").records()
            rates[w] = steady_rate_per_hour(rec[:, 4], w)
            print(f"{w} worker(s): {rates[w]:.0f} XODs per hour (steady), {args.n} simulations in {wall:.0f} s wall, "
                  f"mean wall {rec[:, 3].mean():.1f} s and {rec[:, 2].mean():.1f} clusters per XOD", flush=True)  # fmt: skip
    counts = sorted(rates)
    for w in counts[1:]:
        print(f"{w} workers / {counts[0]} worker: x{rates[w] / rates[counts[0]]:.2f}")


if __name__ == "__main__":
    main()
