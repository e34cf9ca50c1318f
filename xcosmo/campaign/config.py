"""What a campaign is: its simulator, size, seed and design, and the named campaign presets sized for the hardware.

=============  ==========================================================================================================
``cpu``        the light cone of the ``quickstart`` preset (2 deg^2 at 0.39 Mpc/h, the shipped eLDL) on a CPU: one
               process per core, one XLA thread each (README: XODs per hour on a 2-core machine)
``gpu``        the light cone of the ``paper`` preset (ten 20 deg^2 light cones, the eLDL), one GPU per Dask worker
               (dask-jobqueue or dask-cuda; README)
``analytic``   Poisson draws of the analytical model over its 2 + 6 parameters: thousands per minute, for SBI tests
``scaling``    the cluster catalogues of one 150 x 150 x 50 (Mpc/h)^3 eLDL box per design point (theta, z), for the
               scaling-relation emulator (:mod:`emulators.scaling`)
``emulated``   Poisson draws of the emulated-relation model (the shipped scaling-relation emulator) over the six
               parameters, the emulator's error drawn with each (:mod:`emulators.scaling.xods`): thousands per minute
=============  ==========================================================================================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax
import numpy as np

from xcosmo.checks import check_choice, check_integer, check_type

__all__ = ["CampaignConfig", "CAMPAIGN_PRESETS", "DESIGNS", "campaign_preset"]

DESIGNS = ("random", "lhs")


@dataclass(frozen=True)
class CampaignConfig:
    """A campaign of ``n`` simulations.

    Attributes
    ----------
    n : number of simulations.
    simulator : ``lightcone``, ``analytic`` or a registered one such as ``scaling`` (:mod:`xcosmo.campaign.simulators`).
    preset, painter : the light-cone preset (name or YAML file) and painter (default: the preset's) of ``lightcone``;
        the volumes preset (``cpu``, ``paper``) and painter (default: the eLDL) of ``scaling``; the emulator
        (``shipped`` or the path of its weights) of ``emulated``.
    seed : campaign seed: the design's draws and every simulation's seed (:func:`xcosmo.campaign.store.
        simulation_seed`) come from it.
    design : ``random`` (independent prior draws) or ``lhs`` (a Latin hypercube of the prior's unit cube).
    max_attempts : a simulation that raises is tried at most this many times, then left failed.
    """

    n: int
    simulator: str = "lightcone"
    preset: str = "quickstart"
    painter: str | None = None
    seed: int = 0
    design: str = "lhs"
    max_attempts: int = 3

    def __post_init__(self):
        from xcosmo.campaign.simulators import simulator_names

        check_integer("n", self.n, 1)
        check_choice("simulator", self.simulator, simulator_names())
        check_type("preset", self.preset, str, "a preset name or the path of a .yaml file")
        check_integer("seed", self.seed, 0, 2**32)
        check_choice("design", self.design, DESIGNS)
        check_integer("max_attempts", self.max_attempts, 1)

    def simulator_object(self):
        """The simulator this config names (checked on the driver before any work)."""
        from xcosmo.campaign.simulators import AnalyticSimulator, LightConeSimulator, simulator_class

        if self.simulator == "analytic":
            return AnalyticSimulator()
        if self.simulator == "lightcone":
            return LightConeSimulator.named(self.preset, self.painter)
        return simulator_class(self.simulator).named(self.preset, self.painter)

    def unit_design(self, n_params: int) -> np.ndarray:
        """(n, n_params) points of the unit cube: independent uniforms, or a Latin hypercube
        (:func:`xcosmo.params.unit_latin_hypercube`)."""
        from xcosmo.params import unit_latin_hypercube

        key = jax.random.key(self.seed)
        if self.design == "random":
            return np.asarray(jax.random.uniform(key, (self.n, n_params)), np.float64)
        return np.asarray(unit_latin_hypercube(key, self.n, n_params), np.float64)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


CAMPAIGN_PRESETS = {
    "cpu": dict(simulator="lightcone", preset="quickstart"),
    "gpu": dict(simulator="lightcone", preset="paper"),
    "analytic": dict(simulator="analytic"),
    "scaling": dict(simulator="scaling", preset="cpu"),
    "emulated": dict(simulator="emulated", preset="shipped"),
}


def campaign_preset(name: str, n: int, **changes) -> CampaignConfig:
    """The campaign preset ``name`` (module docstring) for ``n`` simulations, with ``changes`` to its fields."""
    check_choice("preset", name, tuple(CAMPAIGN_PRESETS))
    return CampaignConfig(n=n, **{**CAMPAIGN_PRESETS[name], **changes})
