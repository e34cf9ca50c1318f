"""The scaling-relation measurement as a campaign simulator (:mod:`xcosmo.campaign`): one design point per simulation.

A design point is (theta_sim, z): the six parameters of the paper's table 1 (:data:`xcosmo.params.PRIOR`) and a
redshift uniform in :data:`Z_RANGE`, drawn by the campaign's design over the unit cube of all seven. Each simulation
measures the cluster catalogue of its point (:func:`emulators.scaling.measure.measure_clusters`) and the campaign store
keeps it, padded with NaN to :attr:`ScalingSimulator.output_shape`, in place of an XOD, so that the measurement is
distributed, resumable and inspectable like any campaign (``xcosmo campaign run|status``).

=============  ========================================================================================================
volumes        boxes per design point
=============  ========================================================================================================
``cpu``        one 150 x 150 x 50 (Mpc/h)^3 box, the CPU light cones' particle mesh (:class:`~emulators.scaling.
               measure.Volumes`)
``paper``      sixteen such boxes, the paper's particle mesh (:data:`~emulators.scaling.measure.PAPER_VOLUMES`)
=============  ========================================================================================================
"""

from __future__ import annotations

import functools
import socket
import time
from dataclasses import dataclass

import numpy as np

from emulators.scaling.measure import CATALOGUE_COLUMNS, PAPER_VOLUMES, Volumes, measure_clusters
from xcosmo.checks import check_choice, check_shape, fail
from xcosmo.painting import painter_weights
from xcosmo.params import PARAM_NAMES, PRIOR, Params

__all__ = ["Z_RANGE", "VOLUME_PRESETS", "MAX_CLUSTERS_PER_BOX", "STORED_M_MIN", "ScalingSimulator"]

Z_RANGE = (0.1, 0.5)
"""Redshifts of the design (the survey's, paper 2.3)."""

VOLUME_PRESETS = {"cpu": Volumes(), "paper": PAPER_VOLUMES}

MAX_CLUSTERS_PER_BOX = 4096
"""Rows of the stored catalogue per box (a 150 x 150 x 50 (Mpc/h)^3 box holds a few hundred haloes above
:data:`STORED_M_MIN`); a simulation that finds more fails with a message rather than dropping any."""

STORED_M_MIN = 1e12
"""Haloes below this mass (Msun/h) are not stored: at 0.39 Mpc/h one voxel above 200 rho_c already weighs 3e12."""


@dataclass(frozen=True)
class ScalingSimulator:
    """Cluster catalogues of the ``volumes`` at design points (theta_sim, z), painted by ``painter`` (by name)."""

    volumes: Volumes
    painter: str = "eldl"

    @classmethod
    def named(cls, preset: str = "cpu", painter: str | None = None) -> "ScalingSimulator":
        """From a volumes preset (module docstring) and a painter name (default: the eLDL), checked here."""
        from xcosmo.painting import painter_names

        check_choice("preset", preset, tuple(VOLUME_PRESETS))
        painter = "eldl" if painter is None else painter
        check_choice("painter", painter, painter_names())
        return cls(VOLUME_PRESETS[preset], painter)

    @classmethod
    def from_spec(cls, spec: dict) -> "ScalingSimulator":
        return cls(Volumes.from_dict(spec["volumes"]), spec["painter"])

    @property
    def param_names(self) -> tuple[str, ...]:
        return (*PARAM_NAMES, "z")

    @property
    def output_shape(self) -> tuple[int, int]:
        return (MAX_CLUSTERS_PER_BOX * self.volumes.n_boxes, len(CATALOGUE_COLUMNS))

    def spec(self) -> dict:
        return {"name": "scaling", "volumes": self.volumes.as_dict(), "painter": self.painter, "z_range": list(Z_RANGE)}

    def store_attrs(self) -> dict:
        """What the campaign store records about the outputs: the catalogue's columns and units, and the painter's
        weights (:func:`xcosmo.painting.painter_weights`)."""
        return {"catalogue": {"columns": list(CATALOGUE_COLUMNS), "units": ["Msun/h", "counts/s", "counts/s"],
                              "stored_m_min": STORED_M_MIN},
                "painter_weights": painter_weights(self.painter)}  # fmt: skip

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """(theta, z) at points ``u`` (n, 7) of the unit cube: the prior's transform, z uniform in :data:`Z_RANGE`."""
        u = check_shape("u", np.asarray(u, np.float64), (None, len(self.param_names)))
        z = Z_RANGE[0] + (Z_RANGE[1] - Z_RANGE[0]) * u[:, -1:]
        return np.concatenate([np.asarray(PRIOR.from_unit(u[:, :-1]), np.float64), z], axis=1)

    def to_unit(self, theta_z: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`from_unit`."""
        theta_z = check_shape("theta_z", np.asarray(theta_z, np.float64), (None, len(self.param_names)))
        u_z = (theta_z[:, -1:] - Z_RANGE[0]) / (Z_RANGE[1] - Z_RANGE[0])
        return np.concatenate([np.asarray(PRIOR.to_unit(theta_z[:, :-1]), np.float64), u_z], axis=1)

    @functools.cached_property
    def _painter(self):
        from xcosmo.painting import named_painter

        return named_painter(self.painter)

    def __call__(self, theta_z: np.ndarray, seed: int):
        from xcosmo.campaign.simulators import Simulated

        theta_z = check_shape("theta_z", np.asarray(theta_z, np.float64), (len(self.param_names),), f" {self.param_names}")
        start = time.perf_counter()
        catalogue = measure_clusters(Params.from_array(theta_z[:-1]), float(theta_z[-1]), int(seed), self.volumes,
                                     self._painter)  # fmt: skip
        catalogue = catalogue[catalogue[:, 0] >= STORED_M_MIN]
        rows = self.output_shape[0]
        if len(catalogue) > rows:
            fail("catalogue", f"{len(catalogue)} haloes above {STORED_M_MIN:g} Msun/h",
                 f"at most {rows} (MAX_CLUSTERS_PER_BOX per box)")  # fmt: skip
        out = np.full(self.output_shape, np.nan, np.float32)
        out[: len(catalogue)] = catalogue
        return Simulated(out, len(catalogue), time.perf_counter() - start, socket.gethostname())
