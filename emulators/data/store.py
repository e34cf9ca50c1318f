"""The training-sample store: one compressed HDF5 file per box, written atomically, resumable.

A store is a folder holding ``suite.json`` (the suite's plan: source, sizes, redshifts, settings, package version,
which boxes are held out) and ``box_NNNN.h5`` files. A box file holds, per redshift, a group ``z=<z>`` with the
datasets ``dx`` (PM displacements, voxel units), ``n_e`` (comoving cm^-3) and ``kt`` (keV), float32 and
gzip-compressed, and the attributes ``theta`` (xcosmo's order), ``z``, ``voxel_mpc_h``, ``n_haloes``; the file's root
attributes say the box's index, role (``"CV"`` or ``"LH"``), whether it is held out, its seed and its source. Files
are written through :func:`xcosmo.io.atomic_path`, so a box is either complete or absent: a killed run resumes by
making the missing boxes only. A store made with another plan is refused, and nothing in it is touched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from emulators.data.synthetic import TrainingSample

__all__ = ["write_plan", "box_path", "write_box", "read_box", "completed_boxes", "PLAN"]

PLAN = "suite.json"


def write_plan(folder: str | os.PathLike, plan: dict) -> Path:
    """Create the store (or open an existing one made with the same ``plan``); ``ValueError`` if ``folder`` holds a
    store of another plan."""
    from xcosmo.io import atomic_path, ensure_writable_dir

    folder = ensure_writable_dir(folder)
    path = folder / PLAN
    text = json.dumps(plan, indent=1, sort_keys=True, default=float)
    if path.exists():
        old = json.loads(path.read_text())
        if old != json.loads(text):
            changed = sorted(k for k in set(old) | set(plan) if old.get(k) != json.loads(text).get(k))
            raise ValueError(f"training store {str(folder)!r} was made with another plan (different {changed}): "
                             "choose another folder or the same settings")  # fmt: skip
        return folder
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return folder


def box_path(folder: str | os.PathLike, index: int) -> Path:
    return Path(folder) / f"box_{index:04d}.h5"


def write_box(folder: str | os.PathLike, index: int, samples: list[TrainingSample], attrs: dict) -> Path:
    """Write one box's samples (all redshifts) atomically."""
    import h5py

    from xcosmo.io import atomic_path

    path = box_path(folder, index)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for key, value in attrs.items():
            f.attrs[key] = value
        f.attrs["index"] = index
        for s in samples:
            g = f.create_group(f"z={s.z:g}")
            for name in ("dx", "n_e", "kt"):
                g.create_dataset(name, data=getattr(s, name).astype(np.float32), compression="gzip", shuffle=True)
            g["n_e"].attrs["unit"] = "comoving cm^-3"
            g["kt"].attrs["unit"] = "keV"
            g["dx"].attrs["unit"] = "voxel"
            g.attrs.update(theta=s.theta, z=s.z, voxel_mpc_h=s.voxel_mpc_h, n_haloes=s.n_haloes)
    return path


def read_box(path: str | os.PathLike) -> tuple[dict, list[TrainingSample]]:
    """A box file's attributes and samples; ``FileNotFoundError`` or ``ValueError`` naming the file and the field."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training box {str(path)!r} not found")
    try:
        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
            samples = []
            for name in sorted(f):
                g = f[name]
                missing = [k for k in ("dx", "n_e", "kt") if k not in g] + [
                    k for k in ("theta", "z", "voxel_mpc_h", "n_haloes") if k not in g.attrs]  # fmt: skip
                if missing:
                    raise ValueError(f"training box {str(path)!r}: group {name} lacks {missing}")
                samples.append(TrainingSample(g["dx"][()], g["n_e"][()], g["kt"][()], np.asarray(g.attrs["theta"]),
                                              float(g.attrs["z"]), float(g.attrs["voxel_mpc_h"]),
                                              int(g.attrs["n_haloes"])))  # fmt: skip
    except OSError as err:
        raise ValueError(f"training box {str(path)!r} is not a readable HDF5 file: {err}") from None
    return attrs, sorted(samples, key=lambda s: s.z)


def completed_boxes(folder: str | os.PathLike) -> set[int]:
    """Indices of the boxes already in the store (files appear only when complete)."""
    return {int(p.stem.split("_")[1]) for p in Path(folder).glob("box_*.h5")}
