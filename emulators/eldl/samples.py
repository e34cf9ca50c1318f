"""The eLDL's training samples as the losses use them, read from a training store (:mod:`emulators.data.store`), and
their split (paper figure 1): held-out boxes are the test set and are never read for training; of the others, the
last fifth of each role's boxes (CV, LH; at least one, where the role has two boxes or more) is the validation set
that stops training early; the rest is the training set. One validation box is not enough where the parameters vary:
the LH box nearest the fiducial says little about the conditioning.

A sample carries the PM displacements, the targets in the losses' units (n_e over the cosmic mean electron density,
kT in keV), the dark matter's 1 + delta (the losses' weights), theta_sim and z.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp

from emulators.eldl.eldl import H, OMEGA_B
from xcosmo.painting import mean_electron_density

__all__ = ["Arrays", "Sample", "Split", "load_split", "validation_boxes", "VALIDATION_FRACTION"]

VALIDATION_FRACTION = 0.2
"""The share of each role's training boxes kept for validation (module docstring)."""


class Arrays(NamedTuple):
    """The arrays of a sample, what a jitted loss takes (its shapes alone set the compilation)."""

    dx: jax.Array
    ne: jax.Array
    kt: jax.Array
    rho: jax.Array
    theta: jax.Array


@dataclass(frozen=True)
class Sample:
    """One box at one redshift, as JAX arrays: ``dx`` (n, n, n, 3) voxel units, ``ne`` (n_e / mean), ``kt`` (keV),
    ``rho`` (1 + delta of the dark matter), ``theta`` (6,), ``z``, and the box's ``role`` and ``index``."""

    dx: jax.Array
    ne: jax.Array
    kt: jax.Array
    rho: jax.Array
    theta: jax.Array
    z: float
    role: str
    index: int

    @property
    def arrays(self) -> Arrays:
        return Arrays(self.dx, self.ne, self.kt, self.rho, self.theta)

    @classmethod
    def from_training(cls, sample, role: str, index: int) -> "Sample":
        """From a :class:`emulators.data.synthetic.TrainingSample` (n_e in comoving cm^-3) of the box ``index``."""
        from xcosmo.nbody import density

        dx = jnp.asarray(sample.dx)
        ne = jnp.asarray(sample.n_e / float(mean_electron_density(OMEGA_B, H)))
        return cls(dx, ne, jnp.asarray(sample.kt), density(dx), jnp.asarray(sample.theta, jnp.float32), float(sample.z),
                   str(role), int(index))  # fmt: skip


@dataclass(frozen=True)
class Split:
    """Training, validation and test samples of a store."""

    train: tuple[Sample, ...]
    validation: tuple[Sample, ...]
    test: tuple[Sample, ...]

    def select(self, part: str, role: str, z: float | None = None) -> tuple[Sample, ...]:
        """The samples of one part (``train``, ``validation``, ``test``) and role, at redshift ``z`` if given."""
        return tuple(s for s in getattr(self, part) if s.role == role and (z is None or abs(s.z - z) < 1e-6))


def validation_boxes(kept) -> set[int]:
    """The indices of the validation boxes among one role's kept (not held-out) box indices: the last
    ``VALIDATION_FRACTION`` of them, at least one where there are two or more (with a single box, it trains and nothing
    validates)."""
    kept = sorted(kept)
    if len(kept) < 2:
        return set()
    return set(kept[-max(1, math.ceil(VALIDATION_FRACTION * len(kept))):])


def load_split(folder: str | os.PathLike, *, load_test: bool = False) -> Split:
    """Read a training store into its split (module docstring); test samples are read only with ``load_test``."""
    import h5py

    from emulators.data.store import PLAN, read_box

    folder = Path(folder)
    if not (folder / PLAN).is_file():
        raise FileNotFoundError(f"training store {str(folder)!r} has no {PLAN} (make it with xcosmo make-training-set)")
    files = sorted(folder.glob("box_*.h5"))
    if not files:
        raise ValueError(f"training store {str(folder)!r} holds no box file yet")
    voxel = float(json.loads((folder / PLAN).read_text())["voxel_mpc_h"])
    boxes = []
    for path in files:
        try:
            with h5py.File(path, "r") as f:
                attrs = dict(f.attrs)
        except OSError as err:
            raise ValueError(f"training box {str(path)!r} is not a readable HDF5 file (truncated?): {err}") from None
        held = bool(attrs.get("held_out", False))
        if held and not load_test:
            boxes.append((attrs, held, ()))
            continue
        attrs, samples = read_box(path)
        for s in samples:
            if abs(s.voxel_mpc_h / voxel - 1) > 1e-3 or s.n_e.shape != s.dx.shape[:3] or s.kt.shape != s.n_e.shape:
                raise ValueError(f"training box {str(path)!r} at z = {s.z:g}: voxel_mpc_h = {s.voxel_mpc_h:g} and "
                                 f"shapes dx {s.dx.shape}, n_e {s.n_e.shape}, kt {s.kt.shape} are not allowed: the "
                                 f"store's voxels are {voxel:g} Mpc/h and the fields must share one mesh")  # fmt: skip
        converted = tuple(Sample.from_training(s, attrs["role"], attrs["index"]) for s in samples)
        boxes.append((attrs, held, converted))
    roles = sorted({str(a["role"]) for a, _, _ in boxes})
    validation_index = set()
    for role in roles:
        kept = [int(a["index"]) for a, held, _ in boxes if str(a["role"]) == role and not held]
        validation_index |= validation_boxes(kept)
    train, validation, test = [], [], []
    for attrs, held, samples in boxes:
        (test if held else validation if int(attrs["index"]) in validation_index else train).extend(samples)
    return Split(tuple(train), tuple(validation), tuple(test))
