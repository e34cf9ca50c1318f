"""Training samples from a CAMELS IllustrisTNG simulation, as the paper makes them (2.1): the particle-mesh input
re-simulated by xcosmo's PM from the run's own dark matter at z = 6, and the targets n_e and kT from the hydro
snapshots at the training redshifts, all on the working grid.

A simulation folder holds Arepo snapshots ``snap_NNN.hdf5``; its z = 6 snapshot (000 for IllustrisTNG) gives the dark
matter, subsampled on its Lagrangian grid to one particle per working voxel (:meth:`emulators.data.camels.DarkMatter.
coarsen`), which :func:`xcosmo.nbody.evolve_from` carries to each redshift with the pipeline's number of
leapfrog steps per unit ln a; every other snapshot gives the gas (:func:`emulators.data.camels.read_gas_grids`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from emulators.data.camels import read_dark_matter, read_gas_grids
from emulators.data.synthetic import TrainingSample
from xcosmo.cosmology import Cosmology
from xcosmo.nbody import Box, PMSettings, evolve_from
from xcosmo.params import Params

__all__ = ["camels_samples", "camels_plan", "make_camels_set", "HELD_OUT_CV"]


def camels_samples(folder: str | os.PathLike, theta: Params, redshift_of: dict[int, float], *, ic_snapshot: int = 0,
                   snapshots=(), voxel_mpc_h: float = 0.39, pm: PMSettings = PMSettings(z_start=19.0, n_steps=20)
                   ) -> list[TrainingSample]:  # fmt: skip
    """The samples of one CAMELS simulation in ``folder`` at the snapshots ``snapshots`` (numbers; their redshifts
    from ``redshift_of``, :func:`emulators.data.profiles.read_redshift_table`), for the parameters ``theta``. The PM
    runs from ``ic_snapshot`` (z = 6) with ``pm.n_steps`` steps per the ln a span of the pipeline's run (z_start to
    z = 0), at least 2 per interval. ``FileNotFoundError`` / ``ValueError`` name the missing or bad snapshot."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"CAMELS simulation folder {str(folder)!r} not found")
    theta = theta if isinstance(theta, Params) else Params.from_array(np.asarray(theta, dtype=float))
    path = lambda n: folder / f"snap_{n:03d}.hdf5"  # noqa: E731
    dm = read_dark_matter(path(ic_snapshot))
    n_mesh = round(dm.header.box_mpc_h / voxel_mpc_h)
    dm = dm.coarsen(dm.dx.shape[0] // n_mesh) if dm.dx.shape[0] > n_mesh else dm
    box = Box(dm.dx.shape[:3], dm.voxel_mpc_h)
    cosmo = Cosmology.from_params(theta)
    steps_per_ln_a = pm.n_steps / math.log(1.0 + pm.z_start)
    dx, p, a = dm.dx, dm.p, 1.0 / (1.0 + dm.header.redshift)
    samples = []
    for number in sorted(snapshots, key=lambda s: -redshift_of[s]):  # increasing scale factor
        z = redshift_of[number]
        a_next = 1.0 / (1.0 + z)
        n_steps = max(2, round(steps_per_ln_a * math.log(a_next / a)))
        dx, p = evolve_from(cosmo, box, dx, p, a, a_next, n_steps)
        a = a_next
        gas = read_gas_grids(path(number), voxel_mpc_h)
        if gas.n_e.shape[0] != box.mesh_shape[0]:
            raise ValueError(f"{str(path(number))!r}: its grid ({gas.n_e.shape[0]}^3) is not the PM's ({box.mesh_shape[0]}^3)")
        samples.append(TrainingSample(np.asarray(dx), gas.n_e.astype(np.float32), gas.kt.astype(np.float32),
                                      np.asarray(theta.to_array()), z, gas.voxel_mpc_h, 0))  # fmt: skip
    return sorted(samples, key=lambda s: s.z)


HELD_OUT_CV = 6
"""CV simulations held out, the last by number (the paper's 21/6 split of the 27)."""
REDSHIFT_TOLERANCE = 0.015
"""A snapshot serves a training redshift within this (IllustrisTNG's 027 is at z = 0.34 for the paper's 0.33)."""


def camels_plan(path: str | os.PathLike, parameter_table: str | os.PathLike, voxel_mpc_h: float = 0.39) -> dict:
    """The boxes of a CAMELS training set: every simulation folder of ``path`` named as a row of the parameter table
    (``LH_0``, ``CV_3``...), with the snapshots whose Header redshift is a training redshift (the 8 of
    :data:`emulators.data.suite.TRAINING_REDSHIFTS` for LH runs, 0.21 for CV runs). Held out: LH_0-13 (the LH runs
    whose stacks check the synthetic suite, :data:`emulators.data.validation.HELD_OUT`) and the last
    :data:`HELD_OUT_CV` CV runs. Refuses a folder without simulations, or a simulation without its z = 6 snapshot
    000 or any training snapshot, before any work."""
    from emulators.data.camels import read_header, read_parameter_table
    from emulators.data.suite import TRAINING_REDSHIFTS
    from emulators.data.validation import HELD_OUT
    from xcosmo import __version__

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"CAMELS folder {str(path)!r} not found")
    table = read_parameter_table(parameter_table)
    sims = [name for name in table.names if (path / name).is_dir()]
    if not sims:
        raise ValueError(f"CAMELS folder {str(path)!r} holds no simulation folder named as a row of "
                         f"{str(parameter_table)!r} ({table.names[0]}, ...)")  # fmt: skip
    cv = sorted((n for n in sims if n.startswith("CV_")), key=lambda n: int(n.split("_")[1]))
    boxes = []
    for name in sims:
        folder = path / name
        if not (folder / "snap_000.hdf5").is_file():
            raise FileNotFoundError(f"CAMELS simulation {str(folder)!r} has no z = 6 snapshot snap_000.hdf5")
        wanted = (0.21,) if name.startswith("CV_") else TRAINING_REDSHIFTS
        snaps = {}
        for snap in sorted(folder.glob("snap_[0-9][0-9][0-9].hdf5")):
            z = read_header(snap).redshift
            if snap.name != "snap_000.hdf5" and min(abs(z - w) for w in wanted) < REDSHIFT_TOLERANCE:
                snaps[int(snap.stem[5:])] = z
        if not snaps:
            raise ValueError(f"CAMELS simulation {str(folder)!r}: no snapshot at a training redshift {wanted}")
        held = name in HELD_OUT or (name in cv and cv.index(name) >= len(cv) - HELD_OUT_CV)
        boxes.append(dict(index=len(boxes), name=name, role=name.split("_")[0], theta=table.row(name).tolist(),
                          snapshots={str(k): v for k, v in snaps.items()}, held_out=held))  # fmt: skip
    return dict(source="camels", path=str(path.resolve()), parameter_table=str(Path(parameter_table).resolve()),
                voxel_mpc_h=voxel_mpc_h, boxes=boxes, xcosmo_version=__version__)  # fmt: skip


def make_camels_set(path: str | os.PathLike, parameter_table: str | os.PathLike, out: str | os.PathLike,
                    progress: bool = True) -> Path:  # fmt: skip
    """Fill the store ``out`` with the samples of the CAMELS simulations in ``path`` (:func:`camels_plan`), one box
    per simulation, skipping those already there (resumable); returns ``out``."""
    from tqdm.auto import tqdm

    from emulators.data import store

    plan = camels_plan(path, parameter_table)
    folder = store.write_plan(out, plan)
    done = store.completed_boxes(folder)
    for box in tqdm([b for b in plan["boxes"] if b["index"] not in done], desc="training set (CAMELS)", unit="sim",
                    disable=not progress):  # fmt: skip
        redshift_of = {int(k): v for k, v in box["snapshots"].items()}
        samples = camels_samples(Path(path) / box["name"], np.asarray(box["theta"]), redshift_of,
                                 snapshots=tuple(redshift_of), voxel_mpc_h=plan["voxel_mpc_h"])  # fmt: skip
        store.write_box(folder, box["index"], samples, dict(role=box["role"], held_out=box["held_out"],
                                                            simulation=box["name"], source="camels"))  # fmt: skip
    return folder
