"""Cluster catalogues of flat eLDL volumes: the measurements behind the scaling-relation emulator (paper 4.2, 5.3).

At a design point (theta_sim, z), each of :attr:`Volumes.n_boxes` periodic boxes is evolved by the particle mesh
from its own Gaussian initial conditions to z, painted (n_e, kT; the shipped eLDL by default), turned into EPIC
pn+MOS1+MOS2 count rates in the [0.5-1] and [1-2] keV bands at z (:func:`xcosmo.xray.voxel_count_rates`), and seen
along its short axis: haloes are detected on the map of the maximum rho_DM / rho_c along the line of sight with the
threshold 200, their mass is the mass of the voxels above 200 rho_c summed over the mask, and their count rates the
projected rates summed over the same mask (:func:`xcosmo.detect.projected_haloes`), as in the paper's 4.2 and the
eLDL's validation (:mod:`emulators.eldl.validation`).

The paper measures 16 boxes of 150 x 150 x 50 (Mpc/h)^3 per parameter set (384 x 384 x 128 voxels of 0.39 Mpc/h, the
eLDL's resolution): :data:`PAPER_VOLUMES`. A design point of the default :class:`Volumes` (one such box, the
light-cone presets' CPU particle mesh) is what a 2-core CPU can afford over a design of a few dozen points.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from xcosmo.checks import check_integer, check_number, check_shape, check_type
from xcosmo.constants import DETECTION_OVERDENSITY, RHO_CRIT_0
from xcosmo.cosmology import Cosmology, efunc
from xcosmo.nbody import Box, PMSettings, density, evolve
from xcosmo.params import Params

__all__ = ["CATALOGUE_COLUMNS", "Volumes", "PAPER_VOLUMES", "measure_clusters"]

CATALOGUE_COLUMNS = ("mass", "cr_05_1", "cr_1_2")
"""Columns of a catalogue: mass (Msun/h, voxels above the threshold summed over the mask) and the count rates
(counts/s) in the [0.5-1] and [1-2] keV bands."""


@dataclass(frozen=True)
class Volumes:
    """The boxes measured at each design point.

    Attributes
    ----------
    mesh_shape : voxels along (x, y, z) of each box, one particle per voxel; the shortest axis is the line of sight.
    voxel_mpc_h : comoving voxel side, Mpc/h (the painter's resolution: 0.39 for the shipped eLDL).
    n_boxes : boxes per design point, each from its own initial conditions.
    pm : the particle mesh (default: the CPU light-cone presets', 20 steps from z = 19).
    threshold : rho_DM / rho_c of the halo masks (paper 4.2: 200).
    """

    mesh_shape: tuple[int, int, int] = (384, 384, 128)
    voxel_mpc_h: float = 0.39
    n_boxes: int = 1
    pm: PMSettings = PMSettings(z_start=19.0, n_steps=20)
    threshold: float = DETECTION_OVERDENSITY

    def __post_init__(self):
        check_type("pm", self.pm, PMSettings, "an xcosmo.nbody.PMSettings")
        object.__setattr__(self, "mesh_shape", Box(tuple(self.mesh_shape), self.voxel_mpc_h).mesh_shape)
        check_integer("n_boxes", self.n_boxes, 1)
        check_number("threshold", self.threshold, 0.0, np.inf, open=True, unit="rho_DM / rho_c")

    @property
    def box(self) -> Box:
        return Box(self.mesh_shape, self.voxel_mpc_h)

    @property
    def axis(self) -> int:
        """The line of sight: the shortest axis (the last of equals)."""
        return int(len(self.mesh_shape) - 1 - np.argmin(self.mesh_shape[::-1]))

    @property
    def volume_mpc3_h3(self) -> float:
        """Comoving volume of all the boxes of a design point, (Mpc/h)^3."""
        return float(np.prod(self.box.box_size)) * self.n_boxes

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "mesh_shape": list(self.mesh_shape)}

    @classmethod
    def from_dict(cls, d: dict) -> "Volumes":
        return cls(**{**d, "mesh_shape": tuple(d["mesh_shape"]), "pm": PMSettings(**d["pm"])})


PAPER_VOLUMES = Volumes(n_boxes=16, pm=PMSettings(z_start=99.0, n_steps=40))
"""The paper's measurement (5.3): 16 boxes of 150 x 150 x 50 (Mpc/h)^3 per parameter set, its PM (40 steps from
z = 99): for a GPU."""


@eqx.filter_jit
def _box_fields(cosmo: Cosmology, params: Params, painter, table, dx, box: Box, z, threshold):
    """rho_DM / rho_c, the mass of the voxels above ``threshold`` (Msun/h) and the two bands' count rates of a box
    (``table``: the count-rate table, built outside jit)."""
    from xcosmo.xray import voxel_count_rates

    n_e, kt = painter(dx, box, z, params)
    soft, hard = voxel_count_rates(cosmo, n_e, kt, z, box.voxel_mpc_h, table)
    rho = density(dx)  # 1 + delta
    rho_c = rho * cosmo.omega_m * (1.0 + z) ** 3 / efunc(cosmo, z) ** 2
    mass = jnp.where(rho_c >= threshold, rho * cosmo.omega_m * RHO_CRIT_0 * box.voxel_mpc_h**3, 0.0)
    return rho_c, mass, soft, hard


def measure_clusters(params: Params, z: float, seed: int, volumes: Volumes = Volumes(), painter=None) -> np.ndarray:
    """The haloes of the ``volumes`` at ``params`` and redshift ``z`` (module docstring), painted by ``painter``
    (default: the shipped eLDL, :meth:`emulators.eldl.ELDL.pretrained`): an array (n, 3) of
    :data:`CATALOGUE_COLUMNS`, float64. Box ``b`` starts from the initial conditions of ``fold_in(key(seed), b)``."""
    from xcosmo.detect import DEFAULT_MASS_DETECTION, projected_haloes
    from xcosmo.painting import check_painter_resolution
    from xcosmo.xray.countrates import default_table

    check_type("params", params, Params, "an xcosmo.params.Params")
    z = check_number("z", z, 0.0, 10.0, open=True)
    seed = check_integer("seed", seed, 0, 2**63)
    if painter is None:
        from emulators.eldl import ELDL

        painter = ELDL.pretrained()
    check_painter_resolution(painter, volumes.voxel_mpc_h)
    cosmo = Cosmology.from_params(params)
    # parameters as float32 arrays (traced), so that one compilation serves every design point
    traced = lambda tree: jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), tree)  # noqa: E731
    cosmo32, params32 = traced(cosmo), traced(params)
    z32 = jnp.float32(z)
    detection = dataclasses.replace(DEFAULT_MASS_DETECTION, threshold=volumes.threshold)
    table = default_table()
    rows = []
    for b in range(volumes.n_boxes):
        key = jax.random.fold_in(jax.random.key(seed), b)
        dx, _ = evolve(cosmo32, key, volumes.box, 1.0 / (1.0 + z), volumes.pm)
        rho_c, mass, soft, hard = (np.asarray(f) for f in _box_fields(
            cosmo32, params32, painter, table, dx, volumes.box, z32, jnp.float32(volumes.threshold)))  # fmt: skip
        del dx
        haloes = projected_haloes(rho_c, mass, {"cr_05_1": soft, "cr_1_2": hard}, volumes.axis, detection)
        rows.append(np.stack([np.asarray(haloes[c], np.float64) for c in CATALOGUE_COLUMNS], axis=1))
    catalogue = np.concatenate(rows) if rows else np.zeros((0, len(CATALOGUE_COLUMNS)))
    return check_shape("catalogue", catalogue, (None, len(CATALOGUE_COLUMNS)))
