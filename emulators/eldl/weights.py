"""The eLDL weights on disk: ``NAME.eqx`` (equinox's serialised leaves) beside ``NAME.json``, its metadata.

The metadata say what the weights are and how they were made: the format version, the model's structure (knots of
the spline filters, width and depth of the conditioning MLPs, the T model's redshifts), the working resolution, the
training store (source, its plan's digest, the package version that made it), the settings and command of the
training, the xcosmo version, the time, and the SHA-256 of the ``.eqx`` file. :func:`load_eldl` checks all of it
before reading a leaf: a file from another format version or resolution, a truncated or altered ``.eqx`` (its digest
differs), or a metadata file without a field is refused with a message naming the file and what is wrong.

The package ships one pair, :data:`PRETRAINED` (:func:`pretrained`), made by ``make weights`` (its last step,
``xcosmo validate-ldl ... --ship``, writes them with the validation summary in their metadata).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import equinox as eqx
import jax

from emulators.eldl.eldl import ELDL

__all__ = ["FORMAT_VERSION", "PRETRAINED", "save_eldl", "load_eldl", "pretrained"]

FORMAT_VERSION = 2
"""Version of the weights' layout; files of another version are refused."""
PRETRAINED = Path(__file__).parent / "pretrained" / "eldl.eqx"
"""The shipped weights (their metadata beside them, ``eldl.json``)."""
_REQUIRED = ("format_version", "structure", "voxel_mpc_h", "sha256")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_eldl(model: ELDL, path: str | os.PathLike, *, voxel_mpc_h: float, metadata: dict) -> Path:
    """Write ``model`` to ``path`` (``.eqx``) and its metadata beside it (``.json``), each atomically, the metadata
    last; ``metadata`` adds to the fields of the module docstring. Returns the ``.eqx`` path."""
    from xcosmo import __version__
    from xcosmo.io import atomic_path, ensure_writable_dir

    path = Path(path).with_suffix(".eqx")
    ensure_writable_dir(path.parent)
    with atomic_path(path) as tmp:
        eqx.tree_serialise_leaves(tmp, model)
    structure = {"n_knots": int(model.ne.xi.shape[-1]), "t_redshifts": list(model.t_redshifts),
                 "width": int(model.ne_shift.mlp.width_size), "depth": int(model.ne_shift.mlp.depth)}  # fmt: skip
    meta = {"format_version": FORMAT_VERSION, "structure": structure, "voxel_mpc_h": float(voxel_mpc_h),
            "xcosmo_version": __version__, "sha256": _sha256(path)} | dict(metadata)  # fmt: skip
    with atomic_path(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, indent=1, default=str))
    return path


def load_eldl(path: str | os.PathLike, *, voxel_mpc_h: float | None = None) -> tuple[ELDL, dict]:
    """The model and metadata of ``path`` (``.eqx`` or ``.json``), checked as the module docstring says;
    ``voxel_mpc_h``, if given, must be the weights' resolution (to 1%)."""
    path = Path(path).with_suffix(".eqx")
    meta_path = path.with_suffix(".json")
    for p in (path, meta_path):
        if not p.is_file():
            raise FileNotFoundError(f"eLDL weights {str(p)!r} not found")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"eLDL metadata {str(meta_path)!r} is not JSON: {err}") from None
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise ValueError(f"eLDL metadata {str(meta_path)!r} lacks {missing}")
    if meta["format_version"] != FORMAT_VERSION:
        raise ValueError(f"eLDL weights {str(path)!r}: format_version = {meta['format_version']}, which is not "
                         f"allowed: this xcosmo reads version {FORMAT_VERSION} (retrain with xcosmo train-ldl)")  # fmt: skip
    if voxel_mpc_h is not None and abs(meta["voxel_mpc_h"] / voxel_mpc_h - 1) > 0.01:
        raise ValueError(f"eLDL weights {str(path)!r} were trained at {meta['voxel_mpc_h']:g} Mpc/h voxels, which is "
                         f"not allowed for boxes of {voxel_mpc_h:g} Mpc/h voxels: LDL filters are resolution-specific")  # fmt: skip
    if _sha256(path) != meta["sha256"]:
        raise ValueError(f"eLDL weights {str(path)!r} do not match their metadata's SHA-256: the file is truncated, "
                         "altered, or from another training")  # fmt: skip
    s = meta["structure"]
    skeleton = ELDL.untrained(s["t_redshifts"], jax.random.key(0), n_knots=s["n_knots"], width=s["width"], depth=s["depth"])
    try:
        model = eqx.tree_deserialise_leaves(path, skeleton)
    except Exception as err:  # equinox raises a bare RuntimeError/ValueError on a structure mismatch
        raise ValueError(f"eLDL weights {str(path)!r} do not fit the structure their metadata describe: {err}") from None
    return dataclasses.replace(model, voxel_mpc_h=float(meta["voxel_mpc_h"])), meta


def pretrained() -> ELDL:
    """The shipped eLDL (:data:`PRETRAINED`; its metadata: ``load_eldl(PRETRAINED)[1]``)."""
    return load_eldl(PRETRAINED)[0]
