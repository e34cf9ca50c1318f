"""Atomic file output: write to a temporary file in the target folder, fsync it, then rename it over the target.

A run killed half-way never leaves a truncated file behind, and an existing result is replaced only by a complete one.
Temporary files are hidden and named ``.xcosmo-tmp.*`` so that the next run into the folder can recognise and remove
the orphans of a killed one (:mod:`xcosmo.runs`). Files get the permissions the user's umask gives (``0644`` under
umask 022), as files written with ``open`` would.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from xcosmo.checks import fail, require

__all__ = ["atomic_path", "ensure_writable_dir", "is_writable_dir", "write_table", "read_table", "fsync_dir", "set_umask_mode", "TEMP_PREFIX"]

TEMP_PREFIX = ".xcosmo-tmp."
"""Name prefix of the temporary files of :func:`atomic_path`."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def set_umask_mode(path: str | os.PathLike, directory: bool = False) -> None:
    """Give ``path`` the mode a new file (``0666``) or folder (``0777``) gets under the process's umask."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a folder's entries (renames, removals) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) if needed and check that it is a writable folder; ``ValueError`` if not (an
    empty string too: it would silently mean the current folder)."""
    require(str(path) != "", "output directory", str(path), "an empty path is not a folder; name one")
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail("output directory", str(path), f"it cannot be created ({err.strerror})")
    require(path.is_dir() and is_writable_dir(path), "output directory", str(path), "it must be a writable folder")
    return path


def is_writable_dir(path: str | os.PathLike) -> bool:
    """Whether a file can be created in the folder ``path``: tried, not guessed from permission bits (which say
    yes to root on read-only mounts and pseudo file systems)."""
    try:
        with tempfile.TemporaryFile(dir=path, prefix=TEMP_PREFIX):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it is fsync'ed, given the umask's permissions and
    renamed to ``target``; on error it is removed.

    The temporary name keeps the target's suffix, so writers that choose a format from it (astropy, matplotlib)
    behave as they would for the target.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f"{TEMP_PREFIX}{target.stem}.", suffix=target.suffix)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        set_umask_mode(tmp)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(table, path: str | os.PathLike, format: str | None = None) -> Path:
    """Write an astropy table atomically; the format follows the suffix (.fits, .ecsv, .csv, .hdf5).

    In FITS every column's unit goes into TUNITn and its description into TCOMMn, so any FITS reader shows them.
    Units in h-units (``astropy.cosmology.units.littleh``) are not FITS-standard: they are written as strings such
    as ``solMass / littleh``, which astropy parses back once ``astropy.cosmology.units`` is enabled
    (``astropy.units.add_enabled_units(astropy.cosmology.units)``).
    """
    import warnings

    from astropy.io import fits
    from astropy.table import Table
    from astropy.utils.exceptions import AstropyUserWarning

    path = Path(path)
    fmt = format or {".fits": "fits", ".ecsv": "ascii.ecsv", ".csv": "ascii.csv", ".hdf5": "hdf5"}.get(path.suffix)
    require(fmt is not None, "path", str(path), "unknown table format: use .fits, .ecsv, .csv or .hdf5")
    with atomic_path(path) as tmp:
        if fmt != "fits":
            table.write(tmp, overwrite=True, format=fmt, **({"serialize_meta": True} if fmt == "hdf5" else {}))
            return path
        plain = Table(table, copy=False)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*native FITS format.*", category=AstropyUserWarning)
            hdu = fits.table_to_hdu(plain)
        for i, col in enumerate(plain.itercols(), start=1):
            if col.unit is not None:
                hdu.header[f"TUNIT{i}"] = col.unit.to_string()
            if col.info.description:
                hdu.header[f"TCOMM{i}"] = col.info.description
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp, overwrite=True)
    return path


def read_table(path: str | os.PathLike):
    """Read a table written by :func:`write_table` (a catalogue, an HMF table) as an astropy ``QTable``, with its
    h-units (``solMass / littleh``) parsed: astropy's FITS reader knows no ``littleh`` (not a FITS unit) and warns,
    leaving an unrecognised unit; here such units are parsed in astropy's generic format with
    ``astropy.cosmology.units`` enabled."""
    import warnings

    import astropy.cosmology.units as cu
    import astropy.units as u
    from astropy.table import QTable, Table

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table file {str(path)!r} not found")
    with u.add_enabled_units(cu), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*did not parse as fits unit.*", category=u.UnitsWarning)
        table = Table.read(path)
        for col in table.itercols():
            if isinstance(col.unit, u.UnrecognizedUnit):
                col.unit = u.Unit(col.unit.name)
        return QTable(table)
