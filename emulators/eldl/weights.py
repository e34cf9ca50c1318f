"""The eLDL weights on disk: ``NAME.eqx`` (equinox's serialised leaves) beside ``NAME.json``, its metadata
(:mod:`xcosmo.weights`).

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
import os
from pathlib import Path

import jax

from emulators.eldl.eldl import ELDL
from xcosmo.weights import load_weights, read_weights_meta, save_weights

__all__ = ["FORMAT_VERSION", "PRETRAINED", "save_eldl", "load_eldl", "pretrained"]

FORMAT_VERSION = 2
"""Version of the weights' layout; files of another version are refused."""
PRETRAINED = Path(__file__).parent / "pretrained" / "eldl.eqx"
"""The shipped weights (their metadata beside them, ``eldl.json``)."""
_REQUIRED = ("structure", "voxel_mpc_h")
_WHAT = "eLDL"


def save_eldl(model: ELDL, path: str | os.PathLike, *, voxel_mpc_h: float, metadata: dict) -> Path:
    """Write ``model`` to ``path`` (``.eqx``) and its metadata beside it (``.json``), each atomically, the metadata
    last (:func:`xcosmo.weights.save_weights`); ``metadata`` adds to the fields of the module docstring. Returns the
    ``.eqx`` path."""
    structure = {"n_knots": int(model.ne.xi.shape[-1]), "t_redshifts": list(model.t_redshifts),
                 "width": int(model.ne_shift.mlp.width_size), "depth": int(model.ne_shift.mlp.depth)}  # fmt: skip
    meta = {"structure": structure, "voxel_mpc_h": float(voxel_mpc_h)} | dict(metadata)
    return save_weights(model, path, meta, format_version=FORMAT_VERSION)


def load_eldl(path: str | os.PathLike, *, voxel_mpc_h: float | None = None) -> tuple[ELDL, dict]:
    """The model and metadata of ``path`` (``.eqx`` or ``.json``), checked as the module docstring says;
    ``voxel_mpc_h``, if given, must be the weights' resolution (to 1%)."""
    path, meta = read_weights_meta(path, what=_WHAT, format_version=FORMAT_VERSION, required=_REQUIRED,
                                   remedy="retrain with xcosmo train-ldl")  # fmt: skip
    if voxel_mpc_h is not None and abs(meta["voxel_mpc_h"] / voxel_mpc_h - 1) > 0.01:
        raise ValueError(f"eLDL weights {str(path)!r} were trained at {meta['voxel_mpc_h']:g} Mpc/h voxels, which is "
                         f"not allowed for boxes of {voxel_mpc_h:g} Mpc/h voxels: LDL filters are resolution-specific")  # fmt: skip
    s = meta["structure"]
    skeleton = ELDL.untrained(s["t_redshifts"], jax.random.key(0), n_knots=s["n_knots"], width=s["width"], depth=s["depth"])
    model = load_weights(path, skeleton, what=_WHAT)
    return dataclasses.replace(model, voxel_mpc_h=float(meta["voxel_mpc_h"])), meta


def pretrained() -> ELDL:
    """The shipped eLDL (:data:`PRETRAINED`; its metadata: ``load_eldl(PRETRAINED)[1]``)."""
    return load_eldl(PRETRAINED)[0]
