"""Running a campaign on Dask: every pending simulation of a store, on a local cluster or any running Dask cluster.

The driver (this process) reads which simulations are still to do from the store, submits them to the cluster in a
bounded window (``window`` tasks in flight, by default four per worker thread), and writes each result into the store
as it arrives (:mod:`xcosmo.campaign.store`); it holds no other per-task state, so a campaign of any size costs the
driver the same memory, and a hundred workers cost it a window of a few hundred small futures.

**Fault tolerance.**

- A simulation that raises is recorded as failed with its error text and number of attempts and submitted again until
  ``max_attempts``; it never stops the others.
- A worker process that dies is restarted by its Dask nanny, and the scheduler resubmits its tasks (Dask's own
  ``allowed-failures``; past it, the task's ``KilledWorker`` counts as one failed attempt).
- A driver that dies (even by SIGKILL) loses only the simulations in flight: running the same command again resumes
  from the store, repeating no simulation that is done. Every simulation is a pure function of its parameters and
  seed, both fixed in the store when it was created, so the resumed store equals an uninterrupted one.

**Local cluster.** ``workers`` processes of one thread each, each pinned to its own core (:class:`PinToCore`), so
that two workers on two cores do not contend.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin

from xcosmo.campaign.config import CampaignConfig
from xcosmo.campaign.simulators import simulator_from_spec
from xcosmo.campaign.store import DONE, FAILED, PENDING, CampaignStore, simulation_seed
from xcosmo.checks import check_integer

__all__ = ["run_campaign", "create_campaign", "campaign_attrs", "WORKER_ENV", "PinToCore", "simulate_one"]

WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Environment of the local cluster's worker processes: one BLAS thread each."""


class PinToCore(WorkerPlugin):
    """Dask worker plugin: pin every thread of a local worker process to one core (worker ``k`` to the ``k``-th core
    this process may use, cycling). XLA's CPU runtime sizes its thread pool by the machine's cores whatever
    ``XLA_FLAGS`` say (jax 0.10: one process keeps 1.85 of 2 cores busy), so without this two workers on two cores
    contend for both; threads created later inherit the pinned mask."""

    name = "xcosmo-pin-to-core"

    def setup(self, worker):
        import os

        if not hasattr(os, "sched_setaffinity"):
            return
        cores = sorted(os.sched_getaffinity(0))
        core = cores[int(worker.name) % len(cores)]
        for tid in os.listdir("/proc/self/task"):
            try:
                os.sched_setaffinity(int(tid), {core})
            except OSError:  # a thread that ended meanwhile
                pass


def simulate_one(spec: dict, theta: np.ndarray, seed: int):
    """One simulation on a worker (the simulator built once per worker process)."""
    return simulator_from_spec(spec)(theta, seed)


def campaign_attrs(config: CampaignConfig, simulator) -> dict:
    """The store attributes that identify a campaign (a store is resumed only by the same ones)."""
    from xcosmo import __version__

    return {"config": config.as_dict(), "simulator": simulator.spec(), "param_names": list(simulator.param_names),
            **simulator.store_attrs(), "xcosmo_version": __version__}  # fmt: skip


def create_campaign(out, config: CampaignConfig, simulator=None) -> CampaignStore:
    """A new store for ``config`` at ``out``, its parameters drawn and its seeds set, nothing run yet (``simulator``:
    the config's, if already built)."""
    simulator = config.simulator_object() if simulator is None else simulator
    theta = simulator.from_unit(config.unit_design(len(simulator.param_names)))
    seeds = np.array([simulation_seed(config.seed, i) for i in range(config.n)], np.uint64)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return CampaignStore.create(out, theta=theta, seeds=seeds, xod_shape=simulator.output_shape,
                                attrs={**campaign_attrs(config, simulator), "created_utc": created})  # fmt: skip


def _connect(workers: int, scheduler: str | None, quiet: bool):
    """A Dask client: of the cluster at ``scheduler``, or of a new local cluster of ``workers`` processes."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as err:
            raise ConnectionError(f"scheduler = {scheduler!r} cannot be reached ({type(err).__name__}: {err}): start "
                                  "the Dask scheduler first, or leave --scheduler out for a local cluster") from None  # fmt: skip
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                           env=WORKER_ENV, silence_logs=logging.ERROR if quiet else logging.WARNING)  # fmt: skip
    client = Client(cluster)
    client.register_plugin(PinToCore())
    return client, cluster


def run_campaign(out, config: CampaignConfig | None = None, *, workers: int = 2, scheduler: str | None = None,
                 client=None, window: int | None = None, progress: bool = True) -> dict:  # fmt: skip
    """Run (or resume) the campaign in the store ``out``; returns the store's :meth:`~CampaignStore.summary`.

    Parameters
    ----------
    out : the store's folder. A new one is created from ``config``; an existing one is resumed, and ``config`` (if
        given) must be the one that made it.
    config : the campaign (:class:`CampaignConfig`); may be left out to resume.
    workers : processes of the local cluster (when neither ``scheduler`` nor ``client`` is given).
    scheduler : address of a running Dask scheduler (``tcp://host:8786``), e.g. of a dask-jobqueue SLURMCluster.
    client : a ``distributed.Client`` to use as is (tests, notebooks).
    window : tasks in flight at once (default: four per worker thread of the cluster).
    progress : a progress bar with the rate and the time left.

    Raises before any simulation (and without touching an existing store): ``ValueError`` for a bad config, a store
    made by another config or a folder that is not a campaign store; ``ConnectionError`` for a scheduler that cannot
    be reached.
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    out = Path(out)
    check_integer("workers", workers, 1)
    if window is not None:
        check_integer("window", window, 1)
    stored = CampaignStore.open(out) if out.is_dir() and any(out.iterdir()) else None
    if stored is not None:
        config = CampaignConfig(**stored.attrs["config"]) if config is None else config
    elif config is None:
        raise ValueError(f"out = {str(out)!r} holds no campaign yet: give the campaign's config (--preset, --n) to start one")
    simulator = config.simulator_object()
    if stored is not None:
        stored.same_config(campaign_attrs(config, simulator))

    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = _connect(workers, scheduler, quiet=not progress)
    try:
        store = CampaignStore.open(out, mode="r+") if stored is not None else create_campaign(out, config, simulator)
        records = store.records()
        status, attempts = records[:, 0].astype(int), records[:, 1].astype(int)
        todo = deque(int(i) for i in np.flatnonzero((status == PENDING) | ((status == FAILED) & (attempts < config.max_attempts))))
        theta, seeds, spec = store.theta, store.seeds, simulator.spec()
        threads = sum(client.nthreads().values()) or workers
        window = 4 * threads if window is None else window
        bar = tqdm(total=store.n, initial=int((status == DONE).sum()), desc="campaign", unit="sim", disable=not progress)

        def submit(i):
            fut = client.submit(simulate_one, spec, theta[i], int(seeds[i]), key=f"sim-{i}-{attempts[i]}", pure=False)
            fut.index = i
            return fut

        running = as_completed([submit(todo.popleft()) for _ in range(min(window, len(todo)))])
        failed = 0
        for fut in running:
            i = fut.index
            attempts[i] += 1
            if fut.status == "finished":
                r = fut.result()
                store.write_done(i, r.xod, r.n_clusters, r.wall_s, r.host, int(attempts[i]))
                bar.update()
            else:
                err = fut.exception()
                store.write_failed(i, f"{type(err).__name__}: {err}", int(attempts[i]))
                if attempts[i] < config.max_attempts:
                    todo.append(i)
                else:
                    failed += 1
                    bar.set_postfix(failed=failed)
            fut.release()
            if todo:
                running.add(submit(todo.popleft()))
        bar.close()
        return store.summary()
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
