"""Throughput of simulation-based inference (issue 18): compressor and NPE training (examples per second) and the time
to draw 10^4 posterior samples for one XOD.

Builds a campaign of Poisson XODs of the analytical model (``--n`` simulations, in this process), then times, with
the default architectures (:class:`inference.sbi.NPESettings`):

- one epoch of compressor training (MSE and VMIM), after a first, compiling epoch: examples per second;
- one epoch of MDN training on the compressed statistics: examples per second;
- :meth:`NPEPosterior.sample` of 10^4 draws for one XOD, after a first, compiling call: the median of ``--repeat``.

Run: ``python bench/sbi_throughput.py [--n 2000 --repeat 5 --channels 8,16,16,16]`` (a few minutes on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np


def make_store(path: Path, n: int, seed: int = 0) -> Path:
    from xcosmo.campaign import campaign_preset
    from xcosmo.campaign.runner import create_campaign

    config = campaign_preset("analytic", n, seed=seed)
    simulator = config.simulator_object()
    store = create_campaign(path, config, simulator)
    for i, (theta, s) in enumerate(zip(store.theta, store.seeds)):
        out = simulator(theta, int(s))
        store.write_done(i, out.xod, out.n_clusters, out.wall_s, out.host, 1)
    return path


def epoch_rate(settings, data, loss: str, stage: str):
    """Examples per second of the second epoch of one training stage (the first compiles), and the posterior."""
    from inference.sbi import TrainSettings, fit_npe

    two = TrainSettings(max_epochs=2, batch_size=64, patience=10)
    tiny = TrainSettings(max_epochs=1, batch_size=64, patience=10)
    s = dataclasses.replace(settings, loss=loss, compressor_training=two if stage == "compressor" else tiny,
                            mdn_training=two if stage == "mdn" else tiny)  # fmt: skip
    post = fit_npe(data, s)
    history = post.meta["history"]["compressor"] if stage == "compressor" else post.meta["history"]["mdn"][0]
    return post.meta["sizes"]["train"] / history[1]["wall_s"], post


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="simulations in the campaign")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--channels", default=None, help="the compressor's residual-block channels, e.g. 8,16,16,16 "
                        "(default: NPESettings's)")
    args = parser.parse_args(argv)
    import jax

    from inference.sbi import NPESettings, SBIDataset

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = make_store(Path(tmp) / "store", args.n)
        print(f"campaign of {args.n} analytical XODs in {time.perf_counter() - t0:.1f} s")
        data = SBIDataset.from_store(store)
    settings = NPESettings() if args.channels is None else NPESettings(channels=tuple(map(int, args.channels.split(","))))
    print(f"device: {jax.default_backend()}; training split {data.splits()['train'].size} XODs of shape "
          f"{data.counts.shape[1:]}")
    for loss in ("mse", "vmim"):
        rate, _ = epoch_rate(settings, data, loss, "compressor")
        print(f"compressor ({loss}) training: {rate:.0f} XODs per second")
    rate, post = epoch_rate(settings, data, "mse", "mdn")  # with VMIM the posterior is the compressor's own head
    print(f"MDN training ({settings.n_components} components): {rate:.0f} statistics per second")
    xod = data.counts[0]
    post.sample(xod, 10_000)
    times = []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        post.sample(xod, 10_000, seed=i + 1)
        times.append(time.perf_counter() - t0)
    print(f"10^4 posterior draws for one XOD: median {1e3 * np.median(times):.1f} ms over {args.repeat} "
          f"(range {1e3 * min(times):.1f}-{1e3 * max(times):.1f})")


if __name__ == "__main__":
    main()
