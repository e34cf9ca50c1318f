"""Poisson XODs of the emulated-relation model as a campaign simulator: ``xcosmo campaign run STORE --preset emulated``.

Where the CPU cannot make enough light cones to train a simulation-based posterior, the explicit model of the same
physical parameters is the next best thing: each simulation draws one XOD

    eps ~ N(0, I_7),   N_i ~ Poisson(lambda_i(theta, eps)),

from the expected counts of :class:`xcosmo.emulated.EmulatedRelationModel` (the default survey and binning) at the
six parameters theta of the paper's table 1 prior (:data:`xcosmo.params.PRIOR`), with the emulator's error drawn
afresh for every XOD as the marginalised likelihood treats it (:mod:`inference.emulated`, ``marginalise=True``): an
NPE trained on them targets the posterior that NUTS samples on that likelihood. The store records which emulator
weights made its XODs (their SHA-256); a worker whose weights differ refuses to run.

Registered as the ``emulated`` entry point of :data:`xcosmo.campaign.simulators.SIMULATOR_GROUP`; its preset is the
emulator: ``shipped`` (:data:`emulators.scaling.emulator.PRETRAINED`) or the path of a ``scaling.eqx`` written by
``xcosmo scaling fit``.
"""

from __future__ import annotations

import functools
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from xcosmo.checks import check_shape, fail
from xcosmo.params import PARAM_NAMES, PRIOR
from xcosmo.precision import float64

__all__ = ["EmulatedXODSimulator", "SHIPPED"]

SHIPPED = "shipped"
"""The preset naming the package's emulator."""


def _weights(emulator: str) -> Path:
    from emulators.scaling.emulator import PRETRAINED

    return PRETRAINED if emulator == SHIPPED else Path(emulator)


def _meta(emulator: str) -> dict:
    """The checked metadata of the emulator's weights (format, checksum), without loading them."""
    from emulators.scaling.emulator import FORMAT_VERSION
    from xcosmo.weights import read_weights_meta

    return read_weights_meta(_weights(emulator), what="scaling-relation emulator", format_version=FORMAT_VERSION,
                             remedy="fit it with `xcosmo scaling fit`")[1]  # fmt: skip


@dataclass(frozen=True)
class EmulatedXODSimulator:
    """Poisson XODs of the emulated-relation model with the emulator ``emulator`` (``shipped`` or a path), whose
    weights have the SHA-256 ``sha256`` (module docstring)."""

    emulator: str
    sha256: str

    @classmethod
    def named(cls, preset: str = SHIPPED, painter: str | None = None) -> "EmulatedXODSimulator":
        """From the emulator's name (``shipped``) or path, checked here (its file, format and checksum)."""
        if painter is not None:
            fail("painter", painter, "none: the emulated-relation model paints nothing (its relations were measured "
                                     "on eLDL volumes)")  # fmt: skip
        emulator = preset if preset == SHIPPED else str(Path(preset).resolve())
        return cls(emulator, _meta(emulator)["sha256"])

    @classmethod
    def from_spec(cls, spec: dict) -> "EmulatedXODSimulator":
        return cls(spec["emulator"], spec["sha256"])

    @property
    def param_names(self) -> tuple[str, ...]:
        return PARAM_NAMES

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self._forward.shape

    def spec(self) -> dict:
        from xcosmo.xod import Survey

        return {"name": "emulated", "emulator": self.emulator, "sha256": self.sha256, "survey": asdict(Survey())}

    def store_attrs(self) -> dict:
        """The survey and binning of the XODs, and the emulator's identity (its metadata's provenance)."""
        from xcosmo.campaign.simulators import xod_attrs

        meta = _meta(self.emulator)
        identity = {k: meta.get(k) for k in ("sha256", "created", "command", "n_points")}
        forward = self._forward
        return {**xod_attrs(forward.survey, forward.binning), "emulator": {"name": self.emulator, **identity}}

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """theta at points ``u`` (n, 6) of the unit cube: the table 1 prior."""
        u = check_shape("u", np.asarray(u, np.float64), (None, len(PARAM_NAMES)))
        return np.asarray(PRIOR.from_unit(u), np.float64)

    def to_unit(self, theta: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`from_unit`."""
        theta = check_shape("theta", np.asarray(theta, np.float64), (None, len(PARAM_NAMES)))
        return np.asarray(PRIOR.to_unit(theta), np.float64)

    @functools.cached_property
    def _forward(self):
        from emulators.scaling.emulator import load_emulator
        from xcosmo.emulated import EmulatedRelationModel

        emulator, meta = load_emulator(_weights(self.emulator))
        if meta["sha256"] != self.sha256:
            fail("emulator", self.emulator, f"the weights of SHA-256 {self.sha256[:12]}... that this campaign was "
                                            f"started with (this file's is {meta['sha256'][:12]}...)")  # fmt: skip
        return EmulatedRelationModel.build(emulator)

    def __call__(self, theta: np.ndarray, seed: int):
        from xcosmo.campaign.simulators import Simulated

        theta = check_shape("theta", np.asarray(theta, np.float64), (len(PARAM_NAMES),), f" {PARAM_NAMES}")
        for i, name in enumerate(PARAM_NAMES):
            b = PRIOR.bounds[i]
            if not b.low <= theta[i] <= b.high:
                fail(name, theta[i], f"inside the emulator's training domain {b.describe()}")
        start = time.perf_counter()
        xod = _draw(self._forward, theta, int(seed))
        return Simulated(xod.astype(np.float32), int(xod.sum()), time.perf_counter() - start, socket.gethostname())

    expected_depends_on_seed = True
    """:meth:`expected` depends on the seeds (through eps): another seed is another emulator error
    (:meth:`inference.sbi.SBIDataset.expected`'s ``error``)."""

    @float64
    def expected(self, theta: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        """The expected XODs lambda(theta, eps) (n, n_z, n_cr, n_hr) of the simulations of parameters ``theta``
        (n, 6) and seeds ``seeds`` (n,), eps the emulator's error that each seed drew: the XODs :meth:`__call__`
        draws are their Poisson realisations (about 20 ms each here)."""
        import jax.numpy as jnp

        theta = check_shape("theta", np.asarray(theta, np.float64), (None, len(PARAM_NAMES)), f" {PARAM_NAMES}")
        seeds = check_shape("seeds", np.asarray(seeds), (theta.shape[0],), " (one per row of theta)")
        if np.any((seeds < 0) | (seeds >= 2**32)):
            fail("seeds", seeds, "simulation seeds 0 <= seed < 2^32 (xcosmo.campaign.store.simulation_seed)")
        return np.asarray(self._expected_batch(jnp.asarray(theta), jnp.asarray(seeds, jnp.uint32)))

    @functools.cached_property
    def _expected_batch(self):
        import jax

        forward = self._forward

        def one(args):
            theta, seed = args
            return forward.from_theta(theta, _keys(seed)[1])

        # lax.map in batches of 32: twice as fast as one call per XOD, and a tenth of the memory of one vmap
        return jax.jit(lambda theta, seeds: jax.lax.map(one, (theta, seeds), batch_size=32))


def _keys(seed):
    """The Poisson key and eps of the simulation of ``seed`` (module docstring; an int or a traced integer)."""
    import jax

    key_eps, key_counts = jax.random.split(jax.random.key(seed))
    return key_counts, jax.random.normal(key_eps, (7,), jax.numpy.float64)


@float64
def _draw(forward, theta: np.ndarray, seed: int) -> np.ndarray:
    """eps and one Poisson XOD at ``theta`` from ``seed`` (module docstring)."""
    import jax

    key_counts, eps = _keys(seed)
    lam = forward.from_theta(jax.numpy.asarray(theta), eps)
    return np.asarray(jax.random.poisson(key_counts, lam), np.int64)
