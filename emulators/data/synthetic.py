"""One box of the embedded synthetic training suite (issue 15): particle-mesh input, "hydro" dark matter, haloes,
and the target n_e and kT on the working grid.

From one random key and the parameters theta (:class:`xcosmo.params.Params` order):

1. Gaussian initial conditions of the box (:func:`xcosmo.nbody.initial_conditions`, the key's);
2. the **PM input**: the box evolved with the pipeline's particle-mesh settings to each training redshift (what the
   eLDL reads: displacements in voxel units, :func:`xcosmo.nbody.snapshots`);
3. the **"hydro" dark matter**: the same initial conditions evolved more accurately (earlier start, more steps, a
   force mesh ``force_mesh_factor`` times finer), so that the eLDL also corrects the PM approximation, as the paper's
   does when it maps PM fields onto CAMELS';
4. **haloes** of the accurate run (:func:`emulators.data.haloes.find_haloes`), each with its own gas model: the
   feedback amplitudes' (:func:`emulators.data.feedback.feedback_gas_model`) moved by its dark matter and a random
   part (:mod:`emulators.data.deviations`);
5. the **gas** pasted on the grid with the intergalactic medium (:func:`emulators.data.paste.paste_gas`): n_e in
   comoving cm^-3 and kT in keV.

Everything but the halo finding and the pasting runs in JAX (float32); the same key and theta give the same sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import numpy as np

from emulators.data.deviations import Deviations, dark_matter_predictors, halo_gas_models
from emulators.data.feedback import feedback_gas_model
from emulators.data.gas_profiles import GasModel
from emulators.data.haloes import critical_density_comoving, find_haloes
from emulators.data.paste import paste_gas
from xcosmo.constants import RHO_CRIT_0
from xcosmo.cosmology import Cosmology
from xcosmo.nbody import Box, PMSettings, density, particle_positions, snapshots
from xcosmo.params import Params

__all__ = ["TrainingSample", "SuiteSettings", "make_box", "hydro_haloes"]


@dataclass(frozen=True)
class SuiteSettings:
    """How a synthetic box is made.

    Attributes
    ----------
    pm : particle-mesh settings of the eLDL input (the pipeline's: 2LPT at z = 19 and 20 steps for the CPU presets).
    accurate : settings of the "hydro" dark matter (earlier start, more steps, finer force mesh).
    gas : the fiducial gas model the feedback amplitudes act on.
    deviations : amplitudes of the per-halo deviations.
    min_members : smallest friends-of-friends group that gets gas of its own.
    """

    pm: PMSettings = field(default_factory=lambda: PMSettings(z_start=19.0, n_steps=20))
    accurate: PMSettings = field(default_factory=lambda: PMSettings(z_start=49.0, n_steps=60, force_mesh_factor=2))
    gas: GasModel = field(default_factory=GasModel)
    deviations: Deviations = field(default_factory=Deviations)
    min_members: int = 20


@dataclass(frozen=True)
class TrainingSample:
    """One box at one redshift: the eLDL's input and targets.

    Attributes
    ----------
    dx : (n, n, n, 3) PM displacements, voxel units (the pipeline's dark matter).
    n_e : (n, n, n) electron density, comoving cm^-3.
    kt : (n, n, n) temperature, keV.
    theta : the six parameters (:data:`xcosmo.params.PARAM_NAMES` order).
    z : redshift.
    voxel_mpc_h : voxel side, Mpc/h.
    n_haloes : haloes that received gas.
    """

    dx: np.ndarray
    n_e: np.ndarray
    kt: np.ndarray
    theta: np.ndarray
    z: float
    voxel_mpc_h: float
    n_haloes: int


def hydro_haloes(dx: np.ndarray, cosmo: Cosmology, z: float, voxel_mpc_h: float, min_members: int = 20):
    """The haloes of the "hydro" dark matter ``dx`` (displacements, voxel units) at redshift ``z``, the dark-matter
    density 1 + delta on the grid, and each halo's standardised dark-matter predictors
    (:func:`emulators.data.deviations.dark_matter_predictors`)."""
    n_mesh = dx.shape[0]
    side = n_mesh * voxel_mpc_h
    positions = np.asarray(particle_positions(dx), np.float64) * voxel_mpc_h
    particle_mass = float(cosmo.omega_m) * RHO_CRIT_0 * voxel_mpc_h**3
    haloes = find_haloes(positions, side, particle_mass, critical_density_comoving(cosmo, z), min_members=min_members)
    rho = np.asarray(density(dx), np.float64)
    return haloes, rho, dark_matter_predictors(haloes, rho, side)


def make_box(theta: Params, key: jax.Array, n_mesh: int, voxel_mpc_h: float, redshifts, settings: SuiteSettings = SuiteSettings(),
             timings: dict | None = None) -> list[TrainingSample]:  # fmt: skip
    """The samples of one periodic box of ``n_mesh``^3 voxels of ``voxel_mpc_h`` Mpc/h at each of ``redshifts``
    (all redshifts from one run of each kind; module docstring). ``timings``, if given, accumulates the wall time in
    seconds of the stages ``pm_input``, ``accurate``, ``haloes`` and ``gas``."""
    import time

    timings = {} if timings is None else timings
    clock = time.perf_counter

    def timed(stage, fn, *args, **kwargs):
        t = clock()
        out = fn(*args, **kwargs)
        timings[stage] = timings.get(stage, 0.0) + clock() - t
        return out

    theta = theta if isinstance(theta, Params) else Params.from_array(np.asarray(theta, dtype=float))
    cosmo = Cosmology.from_params(theta)
    box = Box((n_mesh,) * 3, voxel_mpc_h)
    zs = sorted(float(z) for z in redshifts)
    a = [1.0 / (1.0 + z) for z in reversed(zs)]  # increasing scale factors
    pm = timed("pm_input", lambda: np.asarray(snapshots(cosmo, key, box, a, settings.pm))[::-1])
    accurate = timed("accurate", lambda: np.asarray(snapshots(cosmo, key, box, a, settings.accurate))[::-1])
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    samples = []
    for z, dx_pm, dx_acc in zip(zs, pm, accurate):
        haloes, rho, predictors = timed("haloes", hydro_haloes, dx_acc, cosmo, z, voxel_mpc_h, settings.min_members)
        base = feedback_gas_model(theta, settings.gas, z=z)
        models = halo_gas_models(base, predictors, rng, settings.deviations)
        n_e, kt = timed("gas", paste_gas, haloes, rho, n_mesh * voxel_mpc_h, z, float(cosmo.omega_m),
                        float(cosmo.omega_b), float(cosmo.h), models)  # fmt: skip
        samples.append(TrainingSample(dx_pm, n_e.astype(np.float32), kt.astype(np.float32), np.asarray(theta.to_array()),
                                      z, voxel_mpc_h, len(haloes)))  # fmt: skip
    return samples
