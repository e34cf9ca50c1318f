"""Atomic file output: write to a temporary file in the target folder, then rename over the target.

A run killed half-way never leaves a truncated file behind, and an existing result is replaced only by a complete one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from xcosmo.checks import fail, require

__all__ = ["atomic_path", "ensure_writable_dir", "write_table"]


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) if needed and check that it is a writable folder; ``ValueError`` if not."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail("output directory", str(path), f"it cannot be created ({err.strerror})")
    require(path.is_dir() and os.access(path, os.W_OK | os.X_OK), "output directory", str(path),
            "it must be a writable folder")  # fmt: skip
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it is renamed to ``target``, on error removed.

    The temporary name keeps the target's suffix, so writers that choose a format from it (astropy, matplotlib)
    behave as they would for the target.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=target.suffix)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, target)
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
