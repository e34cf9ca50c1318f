"""The campaign store: one zarr v3 group holding every simulation of a campaign, written one simulation at a time.

Layout (``n`` simulations, ``p`` parameters, XODs of shape (n_z, n_cr, n_hr)):

============  ===================  =======================================================================================
array         shape, chunks        contents
============  ===================  =======================================================================================
``theta``     (n, p), (n, p)       parameters, drawn when the store is created (the simulator's ``param_names``)
``seed``      (n,), (n,)           each simulation's seed, from the campaign seed and its index (:func:`simulation_seed`)
``xod``       (n, z, cr, hr),      counts per bin, one chunk per simulation (NaN until done); for a simulator whose
              (1, z, cr, hr)       output is not an XOD, its ``output_shape`` instead of (z, cr, hr)
``record``    (n, 5), (1, 5)       status (0 pending, 1 done, 2 failed), attempts, clusters in the XOD, wall seconds,
                                   UTC time of the last attempt's end (Unix seconds): one chunk per simulation
``host``      (n,), (1,)           host of the last attempt
``error``     (n,), (1,)           the last failure's error text ("" if none)
============  ===================  =======================================================================================

The group's attributes hold the campaign's config, the simulator's spec (preset and painter included), the parameter
names, the survey and binning (or what else the simulator's ``store_attrs`` say about its outputs), the format version
and the package version.

**Atomicity.** zarr's local store writes every chunk to a temporary file and renames it into place, so a chunk is
either the old one or the new one. A simulation's chunks are written XOD and host first and its ``record`` last: a
record that says done implies the XOD is there, and a process killed between the two leaves the simulation pending, to
be run again. A new store is built in a temporary folder beside its destination and renamed into place whole. Only
the campaign's driver writes; anyone may open the store read-only while it runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from xcosmo.checks import fail

__all__ = ["FORMAT_VERSION", "PENDING", "DONE", "FAILED", "STATUS_NAMES", "CampaignStore", "simulation_seed"]

FORMAT_VERSION = 1
PENDING, DONE, FAILED = 0, 1, 2
STATUS_NAMES = {PENDING: "pending", DONE: "done", FAILED: "failed"}
_STATUS, _ATTEMPTS, _CLUSTERS, _WALL, _FINISHED = range(5)
_ARRAYS = ("theta", "seed", "xod", "record", "host", "error")


def simulation_seed(campaign_seed: int, index: int) -> int:
    """The seed of simulation ``index``: numpy's SeedSequence of (campaign seed, index), independent streams for
    every simulation and reproducible from the two integers alone."""
    return int(np.random.SeedSequence([int(campaign_seed), int(index)]).generate_state(1, np.uint32)[0])


def _not_a_store(path: Path, why: str):
    raise ValueError(f"campaign store {str(path)!r} is not readable as a campaign store ({why}): it is left untouched; "
                     "give another --out folder, or remove this one if it holds nothing you need")  # fmt: skip


@dataclasses.dataclass
class CampaignStore:
    """An open campaign store (module docstring); make one with :meth:`create` or :meth:`open`."""

    path: Path
    group: object

    # --- opening -------------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, *, theta: np.ndarray, seeds: np.ndarray, xod_shape: tuple[int, ...],
               attrs: dict) -> "CampaignStore":  # fmt: skip
        """A new store at ``path`` (which must not exist, or be an empty folder), built aside and renamed into place."""
        import zarr

        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            fail("out", str(path), "a new or empty folder (this one exists and is not a campaign store)")
        path.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            n, p = theta.shape
            group = zarr.open_group(zarr.storage.LocalStore(stage), mode="w")
            group.create_array("theta", shape=(n, p), chunks=(n, p), dtype="f8")[:] = theta
            group.create_array("seed", shape=(n,), chunks=(n,), dtype="u8")[:] = seeds
            flat = {"name": "default", "separator": "."}  # c.<i>.0.0.0: one file per chunk, no folder per simulation
            group.create_array("xod", shape=(n, *xod_shape), chunks=(1, *xod_shape), dtype="f4", fill_value=np.nan,
                               chunk_key_encoding=flat)  # fmt: skip
            group.create_array("record", shape=(n, 5), chunks=(1, 5), dtype="f8", fill_value=0.0, chunk_key_encoding=flat)
            group.create_array("host", shape=(n,), chunks=(1,), dtype=str, fill_value="", chunk_key_encoding=flat)
            group.create_array("error", shape=(n,), chunks=(1,), dtype=str, fill_value="", chunk_key_encoding=flat)
            group.attrs.update({"xcosmo_campaign": FORMAT_VERSION, **attrs})
            if path.exists():
                path.rmdir()
            os.replace(stage, path)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        return cls.open(path, mode="r+")

    @classmethod
    def open(cls, path: str | os.PathLike, mode: str = "r") -> "CampaignStore":
        """An existing store, read-only (``mode="r"``) or for the driver (``"r+"``); a folder that is not a complete
        campaign store of this format is refused, untouched."""
        import zarr

        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"campaign store {str(path)!r} not found (start one with xcosmo campaign run)")
        try:
            group = zarr.open_group(zarr.storage.LocalStore(path, read_only=mode == "r"), mode=mode)
        except Exception as err:  # zarr raises several types for a folder that is not a group
            _not_a_store(path, f"no zarr group: {type(err).__name__}: {err}")
        version = group.attrs.get("xcosmo_campaign")
        if version is None:
            _not_a_store(path, "a zarr group without campaign metadata")
        if version != FORMAT_VERSION:
            _not_a_store(path, f"format version {version}, this xcosmo reads version {FORMAT_VERSION}")
        missing = [name for name in _ARRAYS if name not in group]
        if missing:
            _not_a_store(path, f"array(s) {missing} missing: a partial store")
        n = group["theta"].shape[0]
        wrong = [name for name in _ARRAYS if group[name].shape[0] != n]
        if wrong:
            _not_a_store(path, f"array(s) {wrong} do not hold {n} simulations")
        return cls(path, group)

    # --- reading -------------------------------------------------------------------------------------------------
    @property
    def attrs(self) -> dict:
        return dict(self.group.attrs)

    @property
    def n(self) -> int:
        return int(self.group["theta"].shape[0])

    @property
    def theta(self) -> np.ndarray:
        return np.asarray(self.group["theta"][:])

    @property
    def seeds(self) -> np.ndarray:
        return np.asarray(self.group["seed"][:])

    def xods(self, index: np.ndarray) -> np.ndarray:
        """The XODs (len(index), n_z, n_cr, n_hr) of the simulations ``index``, read in one selection."""
        index = np.asarray(index, dtype=np.int64)
        if not index.size:
            return np.zeros((0, *self.group["xod"].shape[1:]), np.float32)
        return np.asarray(self.group["xod"].oindex[index])

    def records(self) -> np.ndarray:
        """(n, 5) records (module docstring); a chunk that cannot be decoded is reported with the store's path."""
        try:
            return np.asarray(self.group["record"][:])
        except Exception as err:
            _not_a_store(self.path, f"simulation records unreadable: {type(err).__name__}: {err}")

    def status(self) -> np.ndarray:
        return self.records()[:, _STATUS].astype(int)

    def attempts(self) -> np.ndarray:
        return self.records()[:, _ATTEMPTS].astype(int)

    def summary(self) -> dict:
        """Counts by status, failures with their error text, and the rate of the simulations done so far."""
        rec = self.records()
        status = rec[:, _STATUS].astype(int)
        counts = {name: int((status == code).sum()) for code, name in STATUS_NAMES.items()}
        done = status == DONE
        failed = np.flatnonzero(status == FAILED)
        errors = self.group["error"]
        out = {"n": self.n, **counts, "failures": [{"index": int(i), "attempts": int(rec[i, _ATTEMPTS]),
                                                    "error": str(errors[int(i)])} for i in failed]}  # fmt: skip
        if done.any():
            finished, wall = rec[done, _FINISHED], rec[done, _WALL]
            out["mean_wall_s"] = float(wall.mean())
            out["mean_clusters"] = float(rec[done, _CLUSTERS].mean())
            # From the first start to the last finish: parallel workers finish together, so the gaps between
            # finishing times alone say nothing of the rate.
            span = finished.max() - (finished - wall).min()
            if span > 0:
                out["rate_per_hour"] = float(done.sum() / span * 3600.0)
        return out

    # --- writing (the driver only) ---------------------------------------------------------------------------------
    def _record(self, index: int, status: int, attempts: int, clusters: float, wall_s: float) -> None:
        self.group["record"][index] = np.array([status, attempts, clusters, wall_s, time.time()])

    def write_done(self, index: int, xod: np.ndarray, n_clusters: int, wall_s: float, host: str, attempts: int) -> None:
        """Simulation ``index`` done: its XOD and host, then its record (module docstring: the record last)."""
        self.group["xod"][index] = np.asarray(xod, np.float32)
        self.group["host"][index] = host
        self._record(index, DONE, attempts, n_clusters, wall_s)

    def write_failed(self, index: int, error: str, attempts: int, host: str = "") -> None:
        """Simulation ``index`` failed on its ``attempts``-th attempt with ``error``."""
        self.group["error"][index] = error
        self.group["host"][index] = host
        self._record(index, FAILED, attempts, 0.0, 0.0)

    def same_config(self, attrs: dict) -> None:
        """Refuse (naming the first field that differs) to resume a store made by another config."""
        mine = json.loads(json.dumps(self.attrs))
        theirs = json.loads(json.dumps({"xcosmo_campaign": FORMAT_VERSION, **attrs}))
        for key in ("config", "simulator", "param_names", "survey", "binning", "catalogue", "painter_weights"):
            field, there, here = key, mine.get(key), theirs.get(key)
            if there == here:
                continue
            if isinstance(there, dict) and isinstance(here, dict):
                sub = sorted(k for k in there.keys() | here.keys() if there.get(k) != here.get(k))[0]
                field, there, here = f"{key}.{sub}", there.get(sub), here.get(sub)
            raise ValueError(f"campaign store {str(self.path)!r} was made by another config: {field} is {there!r} there "
                             f"and {here!r} here; resume it with its own settings or give another --out folder (the "
                             "store is left untouched)")  # fmt: skip
