"""Output folders that hold one complete run each.

Every command and API call that writes a set of files (a simulated survey, the analytical XOD, Fisher results,
chains) writes them through :func:`run_folder`::

    with run_folder(out, command="simulate", overwrite=False) as stage:
        ...                                  # expensive work; files go into `stage`
    # here `out` holds the new run, and out/run.json lists every file of it

so that a reader can always tell a complete run from an incomplete or mixed one:

* **locking**: the folder is locked (``flock``) for the whole run; a second run into it is refused at once;
* **refusal before work**: a folder holding anything (a complete earlier run, an interrupted one) is refused unless
  ``overwrite``; even with ``overwrite``, a folder that xcosmo did not write (no ``run.json`` and no staging
  folder of an interrupted run) is never emptied;
* **staging**: files are written into a hidden staging folder ``.xcosmo-staging-<run id>`` inside ``out``, each one
  atomically and fsync'ed (:func:`xcosmo.io.atomic_path`); an error or a kill during the work leaves the earlier run
  untouched, and the next run removes the orphaned staging folder and temporary files;
* **commit**: the earlier run's ``run.json`` is removed first (the folder is marked incomplete), then its files,
  then the new files are moved in, and the new ``run.json`` (run id, command, version, time, and every file with
  its size and SHA-256) is moved in last. A folder with a ``run.json`` whose files all match is one complete run:
  :func:`verify_run` checks it.

Files and folders get the permissions of the user's umask (``0644``/``0755`` under umask 022).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

from xcosmo.checks import fail
from xcosmo.io import TEMP_PREFIX, fsync_dir, set_umask_mode

__all__ = ["run_folder", "verify_run", "MANIFEST", "STAGING_PREFIX"]

MANIFEST = "run.json"
"""Name of the manifest written last into a complete run's folder."""
STAGING_PREFIX = ".xcosmo-staging-"


def _is_ours_hidden(name: str) -> bool:
    return name.startswith(STAGING_PREFIX) or name.startswith(TEMP_PREFIX)


def _lock(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        fail("output directory", str(path), "another xcosmo run is writing into it; wait for it or choose another folder")
    return fd


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _remove_orphans(root: Path) -> None:
    """Staging folders and temporary files of runs that died (the caller holds the lock, so none is alive)."""
    for entry in list(root.iterdir()):
        if entry.name.startswith(STAGING_PREFIX):
            _remove(entry)
    for tmp in list(root.rglob(f"{TEMP_PREFIX}*")):
        _remove(tmp)


def _prepare(out: Path, overwrite: bool) -> list[Path]:
    """Check that ``out`` may receive a new run; return the entries of the earlier run to replace at commit."""
    entries = [e for e in out.iterdir() if not _is_ours_hidden(e.name)]
    ours = (out / MANIFEST).is_file() or any(e.name.startswith(STAGING_PREFIX) for e in out.iterdir())
    if entries and not overwrite:
        what = "an earlier run (run.json)" if (out / MANIFEST).is_file() else f"{len(entries)} file(s) or folder(s)"
        fail("output directory", str(out), f"it already holds {what}; pass --overwrite (overwrite=True) to replace "
             "it, or choose an empty or new folder")  # fmt: skip
    if entries and not ours:
        fail("output directory", str(out), "it holds files that no xcosmo run wrote (no run.json): --overwrite "
             "only replaces xcosmo runs; choose an empty or new folder")  # fmt: skip
    return entries


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inventory(root: Path) -> dict[str, dict]:
    """Every file under ``root`` but the manifest and what runs in progress write (staging folders, temporary files)."""

    def listed(p: Path) -> bool:
        parts = p.relative_to(root).parts
        return p.is_file() and parts != (MANIFEST,) and not any(_is_ours_hidden(part) for part in parts)

    files = sorted(p for p in root.rglob("*") if listed(p))
    return {p.relative_to(root).as_posix(): {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in files}


def _commit(out: Path, stage: Path, old: list[Path], manifest: dict) -> None:
    manifest = {**manifest, "files": _inventory(stage)}
    (stage / MANIFEST).write_text(json.dumps(manifest, indent=1))
    with open(stage / MANIFEST, "rb") as f:
        os.fsync(f.fileno())
    set_umask_mode(stage / MANIFEST)
    (out / MANIFEST).unlink(missing_ok=True)  # from here until the last rename the folder reads as incomplete
    fsync_dir(out)
    for entry in old:
        if entry.name != MANIFEST:
            _remove(entry)
    for entry in stage.iterdir():
        if entry.name != MANIFEST:
            os.replace(entry, out / entry.name)
    fsync_dir(out)
    os.replace(stage / MANIFEST, out / MANIFEST)
    fsync_dir(out)
    stage.rmdir()


@contextlib.contextmanager
def run_folder(out: str | os.PathLike, *, command: str, overwrite: bool = False, metadata: dict | None = None
               ) -> Iterator[Path]:  # fmt: skip
    """Lock ``out`` for one run and yield the staging folder to write into; commit the run when the block succeeds.

    Parameters
    ----------
    out : the output folder (created if needed). An empty string is refused (it would mean the current folder).
    command : what made the run (``"simulate"``, ``"mcmc"``...), recorded in ``run.json``.
    overwrite : replace an earlier xcosmo run in ``out``; without it a non-empty ``out`` is refused.
    metadata : JSON-serialisable values recorded in ``run.json`` (parameters, seed, preset...).

    Raises ``ValueError`` (before the block runs) for an empty path, a folder that cannot be created or written,
    a folder locked by another run, or a non-empty folder without ``overwrite``. If the block raises, the staging
    folder is removed and ``out`` keeps whatever it held before.
    """
    from xcosmo import __version__
    from xcosmo.io import ensure_writable_dir

    out = ensure_writable_dir(out)
    fd = _lock(out)
    try:
        old = _prepare(out, overwrite)
        _remove_orphans(out)
        run_id = uuid.uuid4().hex[:12]
        stage = out / f"{STAGING_PREFIX}{run_id}"
        stage.mkdir()
        set_umask_mode(stage, directory=True)
        manifest = {
            "run_id": run_id,
            "command": command,
            "xcosmo_version": __version__,
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "metadata": metadata or {},
        }
        try:
            yield stage
            _commit(out, stage, old, manifest)
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
    finally:
        os.close(fd)


def verify_run(out: str | os.PathLike) -> dict:
    """Check that ``out`` holds exactly one complete run; return its manifest (``run.json``).

    Complete means: ``run.json`` is there, every file it lists exists with its recorded size and SHA-256, and no other
    file is in the folder (hidden temporary files of a run in progress excepted). Raises ``FileNotFoundError`` if
    ``out`` is not a folder and ``ValueError`` naming the first problem otherwise.
    """
    out = Path(out)
    if not out.is_dir():
        raise FileNotFoundError(f"run folder {str(out)!r} not found")
    path = out / MANIFEST
    if not path.is_file():
        raise ValueError(f"run folder {str(out)!r} holds no complete run: {MANIFEST} is missing (the run was "
                         "interrupted, is still running, or was not written by xcosmo)")  # fmt: skip
    try:
        manifest = json.loads(path.read_text())
        listed = dict(manifest["files"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"run folder {str(out)!r}: {MANIFEST} is not a valid manifest ({err})") from None
    found = _inventory(out)
    for name, entry in listed.items():
        if name not in found:
            raise ValueError(f"run folder {str(out)!r} is incomplete: {name} (listed in {MANIFEST}) is missing")
        if found[name] != entry:
            raise ValueError(f"run folder {str(out)!r} mixes runs: {name} is not the file run "
                             f"{manifest.get('run_id')} wrote (size or SHA-256 differ)")  # fmt: skip
    extra = sorted(set(found) - set(listed))
    if extra:
        raise ValueError(f"run folder {str(out)!r} mixes runs: {extra[:5]} are not part of run {manifest.get('run_id')}")
    return manifest
