"""The simulators a campaign runs: named functions from a parameter vector and a seed to one XOD.

=============  =========================================================================================================
``lightcone``  the light-cone pipeline (:func:`xcosmo.pipeline.simulate_survey`) with a preset and its painter, over the
               six parameters theta of :data:`xcosmo.params.PRIOR` (the paper's table 1)
``analytic``   one Poisson draw of the analytical model's expected XOD (:class:`xcosmo.analytic.AnalyticModel`) over its
               2 + 6 parameters phi, drawn from the likelihood's priors (:func:`inference.likelihood.numpyro_model`):
               cheap, and its truth is known, for the SBI tests
``scaling``    the cluster catalogue of flat eLDL volumes at a design point (theta, z), for the scaling-relation
               emulator (:mod:`emulators.scaling.simulator`, registered as an entry point of :data:`SIMULATOR_GROUP`)
``emulated``   one Poisson draw of the emulated-relation model over theta, the emulator's error drawn with it
               (:mod:`emulators.scaling.xods`, an entry point too)
=============  =========================================================================================================

A simulator is described by a plain dict (:meth:`spec`), which is what travels to the Dask workers and what the
campaign store keeps; each worker builds the simulator from it once (:func:`simulator_from_spec`) and reuses it.
Besides its ``spec``, a simulator has ``param_names``, ``from_unit`` and ``to_unit`` (its prior over the unit cube),
``output_shape`` (what the store keeps per simulation: an XOD's bins) and ``store_attrs()`` (what the store records
about it: the survey and binning of an XOD), and is called with a parameter vector and a seed. Simulators of other
packages are entry points of :data:`SIMULATOR_GROUP`: classes with ``named(preset, painter)`` and ``from_spec(spec)``.
"""

from __future__ import annotations

import functools
import json
import socket
import time
from dataclasses import asdict, dataclass

import numpy as np

from xcosmo.checks import check_choice, fail
from xcosmo.params import PARAM_NAMES, PRIOR, Params
from xcosmo.precision import float64
from xcosmo.presets import Preset, load_preset
from xcosmo.xod import Binning, Survey

__all__ = ["SIMULATOR_GROUP", "simulator_names", "simulator_class", "Simulated", "LightConeSimulator",
           "AnalyticSimulator", "simulator_from_spec"]

BUILT_IN = ("lightcone", "analytic")
SIMULATOR_GROUP = "xcosmo.simulators"
"""Entry-point group of the simulators other packages provide (``scaling``: :mod:`emulators.scaling.simulator`)."""


def _plugins() -> dict:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=SIMULATOR_GROUP) if ep.name not in BUILT_IN}


def simulator_names() -> tuple[str, ...]:
    """The built-in simulators and those registered in :data:`SIMULATOR_GROUP`."""
    return (*BUILT_IN, *sorted(_plugins()))


def simulator_class(name: str):
    """The class of a registered (not built-in) simulator."""
    plugins = _plugins()
    check_choice("simulator", name, simulator_names())
    return plugins[name].load()


def xod_attrs(survey: Survey, binning: Binning) -> dict:
    """What a campaign store records about XODs: the survey and the bin edges."""
    return {"survey": asdict(survey),
            "binning": {"z_edges": list(binning.z_edges), "cr_edges": list(binning.cr_edges),
                        "hr_edges": list(binning.hr_edges)}}  # fmt: skip


@dataclass(frozen=True)
class Simulated:
    """One simulation's outputs: the XOD (counts per (z, CR, HR) bin; or what else the simulator's ``output_shape``
    says), its number of clusters, the wall time in seconds and the host that ran it."""

    xod: np.ndarray
    n_clusters: int
    wall_s: float
    host: str


@dataclass(frozen=True)
class LightConeSimulator:
    """The light-cone pipeline with a light-cone ``preset`` (:class:`xcosmo.presets.Preset`: its settings travel with
    the spec, so workers on other hosts need no preset file) and the baryon ``painter`` by name."""

    preset: Preset
    painter: str

    @classmethod
    def named(cls, preset: str = "quickstart", painter: str | None = None) -> "LightConeSimulator":
        """From a preset name or YAML file and a painter name (default: the preset's own), checked here."""
        from xcosmo.painting import painter_names

        loaded = load_preset(preset)
        painter = loaded.painter if painter is None else painter
        check_choice("painter", painter, painter_names())
        return cls(loaded, painter)

    @property
    def param_names(self) -> tuple[str, ...]:
        return PARAM_NAMES

    @property
    def survey(self) -> Survey:
        p = self.preset
        return Survey(area_deg2=p.survey_area_deg2, cr_min=p.cr_min, z_min=p.lightcone.z_min, z_max=p.lightcone.z_max)

    @property
    def binning(self) -> Binning:
        return Binning().with_flux_cut(self.preset.cr_min)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self.binning.shape

    def store_attrs(self) -> dict:
        """The survey and binning of the XODs, and the painter's weights (:func:`xcosmo.painting.painter_weights`)."""
        from xcosmo.painting import painter_weights

        return {**xod_attrs(self.survey, self.binning), "painter_weights": painter_weights(self.painter)}

    def spec(self) -> dict:
        return {"name": "lightcone", "preset": self.preset.as_nested(), "painter": self.painter}

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """theta at points ``u`` (n, 6) of the unit cube (the prior's own transform, log-uniform where it is)."""
        return np.asarray(PRIOR.from_unit(u), dtype=np.float64)

    def to_unit(self, theta: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`from_unit`."""
        return np.asarray(PRIOR.to_unit(np.asarray(theta, np.float64)), dtype=np.float64)

    @functools.cached_property
    def _painter(self):
        from xcosmo.painting import named_painter

        return named_painter(self.painter)

    def __call__(self, theta: np.ndarray, seed: int) -> Simulated:
        from xcosmo.pipeline import simulate_survey

        start = time.perf_counter()
        result = simulate_survey(Params.from_array(np.asarray(theta)), int(seed), self.preset, self._painter,
                                 progress=False, binning=self.binning)  # fmt: skip
        return Simulated(np.asarray(result.xod, np.float32), len(result.catalogue), time.perf_counter() - start,
                         socket.gethostname())  # fmt: skip


@dataclass(frozen=True)
class AnalyticSimulator:
    """Poisson draws of the analytical model of the default survey, binning and relation set over phi
    (:data:`xcosmo.analytic.PHI_NAMES`), its priors those of the likelihood (:func:`xcosmo.analytic.phi_from_std`)."""

    @property
    def param_names(self) -> tuple[str, ...]:
        from xcosmo.analytic import PHI_NAMES

        return PHI_NAMES

    @property
    def survey(self) -> Survey:
        return Survey()

    @property
    def binning(self) -> Binning:
        return Binning()

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self.binning.shape

    def store_attrs(self) -> dict:
        return xod_attrs(self.survey, self.binning)

    def spec(self) -> dict:
        return {"name": "analytic", "survey": asdict(self.survey)}

    @functools.cached_property
    def _model(self):
        from xcosmo.analytic import AnalyticModel

        return AnalyticModel.build(self.survey, self.binning)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """phi at points ``u`` (n, 8) of the unit cube: the likelihood's priors (:func:`xcosmo.analytic.phi_from_unit`)."""
        from xcosmo.analytic import phi_from_unit

        return phi_from_unit(u)

    def to_unit(self, phi: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`from_unit` (:func:`xcosmo.analytic.phi_to_unit`)."""
        from xcosmo.analytic import phi_to_unit

        return phi_to_unit(phi)

    @functools.cached_property
    def _expected_batch(self):
        import jax

        return jax.jit(jax.vmap(self._model.from_phi))

    def expected(self, phi: np.ndarray, seeds: np.ndarray | None = None, *, batch: int = 512) -> np.ndarray:
        """The expected XODs lambda(phi) (n, n_z, n_cr, n_hr) at the rows of ``phi`` (n, 8), of which :meth:`__call__`
        draws Poisson realisations; the simulations' ``seeds`` are not needed (nothing but the Poisson draw is
        random), and taken for the interface of simulators whose expected XODs depend on them."""
        from xcosmo.checks import check_shape

        phi = check_shape("phi", np.asarray(phi, np.float64), (None, len(self.param_names)), f" {self.param_names}")
        return np.concatenate([_expected_xods(self._expected_batch, phi[a:a + batch])
                               for a in range(0, phi.shape[0], batch)])

    def __call__(self, phi: np.ndarray, seed: int) -> Simulated:

        from xcosmo.checks import check_shape, in_range

        phi = check_shape("phi", np.asarray(phi, np.float64), (len(self.param_names),), f" {self.param_names}")
        for name, value in zip(self.param_names[:2], phi[:2]):  # the cosmology: the model's prior ranges
            b = PRIOR.bound(name)
            in_range(name, float(value), b.low, b.high)
        start = time.perf_counter()
        xod = _poisson_xod(self._model, phi, int(seed))
        return Simulated(xod.astype(np.float32), int(xod.sum()), time.perf_counter() - start, socket.gethostname())


@float64
def _poisson_xod(model, phi: np.ndarray, seed: int) -> np.ndarray:
    """One Poisson realisation of the model's expected XOD at ``phi``."""
    import jax

    lam = model.from_phi(jax.numpy.asarray(phi))
    return np.asarray(jax.random.poisson(jax.random.key(seed), lam), np.int64)


@float64
def _expected_xods(batched, phi: np.ndarray) -> np.ndarray:
    return np.asarray(batched(phi))


def _build(spec: dict):
    name = spec.get("name")
    if name == "lightcone":
        return LightConeSimulator(Preset.from_dict(spec["preset"], "campaign simulator preset"), spec["painter"])
    if name == "analytic":
        return AnalyticSimulator()
    if name in _plugins():
        return simulator_class(name).from_spec(spec)
    fail("simulator", name, f"one of {simulator_names()}")


@functools.lru_cache(maxsize=4)
def _cached(spec_json: str):
    return _build(json.loads(spec_json))


def simulator_from_spec(spec: dict):
    """The simulator a :meth:`spec` describes, built once per process (each worker keeps its compiled programs)."""
    return _cached(json.dumps(spec, sort_keys=True))
