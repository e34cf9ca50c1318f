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

__all__ = ["camels_samples"]


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
