"""Trained models on disk: ``NAME.eqx`` (equinox's serialised leaves) beside ``NAME.json``, their metadata.

Every model the package trains (the eLDL painter, the NPE posteriors, the scaling-relation emulator) is written and
read here, so that each file is checked the same way before a leaf is read: the metadata must be JSON with the
fields the model needs, of this package's format version for that model, and the ``.eqx`` file must have the SHA-256
the metadata recorded when it was written (a truncated, altered or swapped file is refused). Both files are written
atomically, the metadata last, so a reader never sees weights without their metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["save_weights", "read_weights_meta", "load_weights"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_weights(tree: Any, path: str | os.PathLike, meta: dict, *, format_version: int) -> Path:
    """Write the pytree ``tree`` to ``path`` (``.eqx``) and ``meta`` beside it (``.json``) with the format version,
    the xcosmo version and the weights' SHA-256; returns the ``.eqx`` path."""
    import equinox as eqx

    from xcosmo import __version__
    from xcosmo.io import atomic_path, ensure_writable_dir

    path = Path(path).with_suffix(".eqx")
    ensure_writable_dir(path.parent)
    with atomic_path(path) as tmp:
        eqx.tree_serialise_leaves(tmp, tree)
    meta = {**meta, "format_version": format_version, "xcosmo_version": __version__, "sha256": _sha256(path)}
    with atomic_path(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, default=str))
    return path


def read_weights_meta(path: str | os.PathLike, *, what: str, format_version: int, required: tuple[str, ...] = (),
                      remedy: str = "train them again") -> tuple[Path, dict]:  # fmt: skip
    """The ``.eqx`` path and the checked metadata of the weights at ``path`` (``.eqx`` or ``.json``) of a model
    called ``what`` in the messages; ``remedy`` says what to do about a file of another format."""
    path = Path(path).with_suffix(".eqx")
    meta_path = path.with_suffix(".json")
    for p in (path, meta_path):
        if not p.is_file():
            raise FileNotFoundError(f"{what} weights {str(p)!r} not found ({remedy})")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{what} metadata {str(meta_path)!r} is not JSON: {err}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{what} metadata {str(meta_path)!r} is not a JSON object")
    missing = [k for k in ("format_version", "sha256", *required) if k not in meta]
    if missing:
        raise ValueError(f"{what} metadata {str(meta_path)!r} lacks {missing}")
    if meta["format_version"] != format_version:
        raise ValueError(f"{what} weights {str(path)!r}: format_version = {meta['format_version']!r}, which is not "
                         f"allowed: this xcosmo reads version {format_version} ({remedy})")  # fmt: skip
    if _sha256(path) != meta["sha256"]:
        raise ValueError(f"{what} weights {str(path)!r} do not match their metadata's SHA-256: the file is truncated, "
                         "altered, or from another training")  # fmt: skip
    return path, meta


def load_weights(path: Path, skeleton: Any, *, what: str) -> Any:
    """The leaves of ``path`` (checked by :func:`read_weights_meta`) in the structure of ``skeleton``."""
    import equinox as eqx

    try:
        return eqx.tree_deserialise_leaves(path, skeleton)
    except Exception as err:  # equinox raises a bare RuntimeError/ValueError on a structure mismatch
        raise ValueError(f"{what} weights {str(path)!r} do not fit the structure their metadata describe: {err}") from None
