"""The synthetic training suite as the paper's table 1, sized for the machine: its plan, and the resumable run that
fills a store (:mod:`emulators.data.store`) with boxes (:func:`emulators.data.synthetic.make_box`).

"CV" boxes sit at the fiducial parameters at z = 0.21 (the base LDL's training set, paper figure 1), "LH" boxes at
parameter sets of a Latin hypercube of the prior, or at rows of a CAMELS LH table (``lh_params``), each evolved once
with snapshots at the training redshifts. Boxes are seeded from the suite seed and their index; the last
``held_out`` boxes of each kind are held out (never trained on), and the plan says which.

=========  ========================================  ========================================================
size       CV boxes                                  LH boxes
=========  ========================================  ========================================================
tiny       2 of 24^3 voxels (9.4 Mpc/h), 1 held out   2 of 24^3, redshifts 0.21 and 0.54, 1 held out (tests)
default    6 of 128^3 (50 Mpc/h), 2 held out          24 of 64^3 (25 Mpc/h), the 8 training redshifts, 4 held out
large      27 of 128^3, 6 held out (the paper's)      100 of 64^3, the 8 training redshifts, 14 held out
=========  ========================================  ========================================================

All at the working resolution, 0.39 Mpc/h voxels.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import numpy as np

from emulators.data import store
from emulators.data.synthetic import SuiteSettings, make_box
from xcosmo.checks import check_choice, check_integer
from xcosmo.params import PRIOR, Params

__all__ = ["TRAINING_REDSHIFTS", "SIZES", "VOXEL_MPC_H", "suite_plan", "make_suite", "remake_box"]

TRAINING_REDSHIFTS = (0.1, 0.15, 0.21, 0.27, 0.33, 0.40, 0.47, 0.54)
"""The paper's LH training redshifts (2.1)."""
VOXEL_MPC_H = 0.39
SIZES = {
    "tiny": dict(n_cv=2, cv_mesh=24, n_lh=2, lh_mesh=24, lh_z=(0.21, 0.54), held_cv=1, held_lh=1),
    "default": dict(n_cv=6, cv_mesh=128, n_lh=24, lh_mesh=64, lh_z=TRAINING_REDSHIFTS, held_cv=2, held_lh=4),
    "large": dict(n_cv=27, cv_mesh=128, n_lh=100, lh_mesh=64, lh_z=TRAINING_REDSHIFTS, held_cv=6, held_lh=14),
}


def suite_plan(size: str = "default", seed: int = 0, lh_theta: np.ndarray | None = None) -> dict:
    """The boxes of a suite (JSON-serialisable): for each, its index, role, theta, mesh, redshifts, seed and whether
    it is held out. ``lh_theta`` (n, 6), in xcosmo's order, replaces the Latin hypercube (e.g. CAMELS LH rows,
    :func:`emulators.data.camels.read_parameter_table`)."""
    from xcosmo import __version__

    check_choice("size", size, tuple(SIZES))
    check_integer("seed", seed, 0, 2**32)
    s = SIZES[size]
    if lh_theta is None:
        lh_theta = np.asarray(PRIOR.latin_hypercube(jax.random.key(seed), s["n_lh"]), dtype=float)
    lh_theta = np.asarray(lh_theta, dtype=float)[: s["n_lh"]]
    boxes = []
    for i in range(s["n_cv"]):
        boxes.append(dict(role="CV", theta=Params.fiducial().to_array().tolist(), mesh=s["cv_mesh"], redshifts=[0.21],
                          held_out=i >= s["n_cv"] - s["held_cv"]))  # fmt: skip
    for i, theta in enumerate(lh_theta):
        boxes.append(dict(role="LH", theta=[float(x) for x in theta], mesh=s["lh_mesh"], redshifts=list(s["lh_z"]),
                          held_out=i >= len(lh_theta) - s["held_lh"]))  # fmt: skip
    for index, box in enumerate(boxes):
        box.update(index=index, seed=int(seed) * 100003 + index)
    return dict(source="synthetic", size=size, seed=seed, voxel_mpc_h=VOXEL_MPC_H, boxes=boxes,
                settings=repr(SuiteSettings()), xcosmo_version=__version__)  # fmt: skip


def make_suite(out: str | os.PathLike, size: str = "default", seed: int = 0, lh_theta: np.ndarray | None = None,
               progress: bool = True) -> Path:  # fmt: skip
    """Fill the store ``out`` with the suite's boxes, skipping those already there (resumable); returns ``out``."""
    from tqdm.auto import tqdm

    plan = suite_plan(size, seed, lh_theta)
    folder = store.write_plan(out, plan)
    done = store.completed_boxes(folder)
    todo = [b for b in plan["boxes"] if b["index"] not in done]
    for box in tqdm(todo, desc=f"training set ({size})", unit="box", disable=not progress):
        samples = make_box(np.asarray(box["theta"]), jax.random.key(box["seed"]), box["mesh"], plan["voxel_mpc_h"],
                           box["redshifts"])  # fmt: skip
        store.write_box(folder, box["index"], samples, dict(role=box["role"], held_out=box["held_out"],
                                                            seed=box["seed"], source="synthetic"))  # fmt: skip
    return folder


def remake_box(plan: dict, index: int, *, theta=None, settings: SuiteSettings = SuiteSettings()):
    """The samples of the box ``index`` of a synthetic store's ``plan`` made again from its seed, with other
    parameters ``theta`` or other ``settings`` if given: the same dark matter and, where the settings are the same, the
    same gas (the same redshifts too: the snapshots set the N-body's time steps). The validation uses it for the targets without their random per-halo part (``settings`` with zero
    ``sigma_f`` and ``sigma_t``) and for the targets at other feedback amplitudes."""
    if plan.get("source") != "synthetic":
        raise ValueError(f"source = {plan.get('source')!r} is not allowed: only a synthetic store's boxes can be remade")
    boxes = {b["index"]: b for b in plan["boxes"]}
    if index not in boxes:
        raise ValueError(f"index = {index} is not allowed: the store's boxes are 0-{len(boxes) - 1}")
    box = boxes[index]
    theta = np.asarray(box["theta"] if theta is None else theta, dtype=float)
    return make_box(theta, jax.random.key(box["seed"]), box["mesh"], plan["voxel_mpc_h"], box["redshifts"], settings)
