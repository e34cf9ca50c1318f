"""Importing pyatomdb without its interactive set-up question and without a lasting change of the environment.

At import, pyatomdb (1.2) asks on standard input whether to download the AtomDB data files unless ``$ATOMDB`` names
a folder holding a ``userdata`` file. The free-free continuum that xcosmo takes from it (``pyatomdb.apec.do_brems``:
Kellogg et al. 1975 fit, Kurucz's table) is computed in code and needs none of those files, so an empty stub folder
with an empty ``userdata`` is enough.

:func:`import_pyatomdb` imports pyatomdb inside :func:`atomdb_environment`, which points ``ATOMDB`` at such a stub
only for the duration of the import and then restores the previous value (or its absence); a user's own ``ATOMDB``
that has ``userdata`` is used as it is, and nothing is ever written into a user's folder. Later imports find the
module in ``sys.modules``: pyatomdb's check runs once per process, so they never prompt either.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from xcosmo.io import ensure_writable_dir

__all__ = ["atomdb_environment", "import_pyatomdb", "pyatomdb_version", "stub_folder"]


def stub_folder(folder: str | os.PathLike) -> Path:
    """``folder`` (created if needed) holding an empty ``userdata`` file; a new temporary one if it is not writable."""
    try:
        path = ensure_writable_dir(folder)
    except ValueError:
        path = Path(tempfile.mkdtemp(prefix="xcosmo-atomdb-"))
    (path / "userdata").touch()
    return path


def _usable(atomdb: str | None) -> bool:
    return bool(atomdb) and os.path.exists(os.path.join(os.path.expandvars(atomdb), "userdata"))


@contextlib.contextmanager
def atomdb_environment(stub: str | os.PathLike) -> Iterator[Path]:
    """Within the block, ``$ATOMDB`` names a folder with ``userdata``: the user's, or else ``stub_folder(stub)``.

    On exit the previous value of ``ATOMDB`` is restored, or the variable removed if it was unset. Yields the folder.
    """
    previous = os.environ.get("ATOMDB")
    if _usable(previous):
        yield Path(os.path.expandvars(previous))
        return
    os.environ["ATOMDB"] = str(stub_folder(stub))
    try:
        yield Path(os.environ["ATOMDB"])
    finally:
        if previous is None:
            os.environ.pop("ATOMDB", None)
        else:
            os.environ["ATOMDB"] = previous


def import_pyatomdb(stub: str | os.PathLike):
    """The pyatomdb module, imported (once per process) inside :func:`atomdb_environment` with stub folder ``stub``."""
    module = sys.modules.get("pyatomdb")
    if module is None:
        with atomdb_environment(stub):
            import pyatomdb as module
    return module


def pyatomdb_version() -> str:
    """The installed pyatomdb version (without importing it), or "unknown"."""
    try:
        return metadata.version("pyatomdb")
    except metadata.PackageNotFoundError:
        return "unknown"
