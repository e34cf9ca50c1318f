"""What the head-to-head study runs (:class:`CompareSettings`), and its presets sized for a 2-core CPU and for a GPU.

=========  ==============================================================================================================
``cpu``    two points (the fiducial and one away from it), 10 000 emulated-relation XODs for the NPEs, three NPE seeds
           per summary statistic with the paper's MSE compression by a network of half its channels (8, 16, 16, 16)
           trained for at most 60 epochs (patience 4, then one refinement at a tenth of the step) on Poisson draws
           of each training simulation under four emulator errors, and an ensemble of five mixture density networks
           fitted to its statistics; calibration on every held-out XOD; NUTS 2 chains x (100 + 200): sized for one
           sitting on a 2-core CPU (README)
``gpu``    three points, 100 000 XODs, five seeds, the paper's compressor trained by VMIM to convergence (four
           emulator errors too), NUTS 4 chains x (500 + 1000)
=========  ==============================================================================================================

Where the time goes on the CPU: one VMIM training of the paper-sized compressor on 13 000 training XODs with Poisson
resampling took 84 minutes here (275 epochs; README, SBI section), and the study trains six such (the full XOD and
its (CR, HR) marginal, three seeds each); the ``cpu`` preset's twelve NPEs take about an hour (README). One gradient
of the emulated-relation likelihood costs about 42 ms, and its NUTS takes 15-31 of them per draw (14 minutes per
point at the ``cpu`` preset).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.mcmc.settings import NUTSSettings
from inference.neutra import NeuTraSettings
from inference.sbi.npe import NPESettings
from inference.sbi.training import TrainSettings
from inference.sbi.summaries import SUMMARIES
from xcosmo.checks import check_choice, check_integer, check_type, fail

__all__ = ["CompareSettings", "COMPARE_PRESETS", "compare_preset", "FIDUCIAL", "AWAY"]

FIDUCIAL = (0.3, 0.8, 1.0, 1.0, 1.0, 1.0)
"""The fiducial theta_sim (the CAMELS fiducial model)."""
AWAY = ((0.33, 0.78, 1.6, 0.8, 0.7, 1.3), (0.27, 0.83, 0.6, 1.3, 1.4, 0.8))
"""Points of the prior away from the fiducial (the first is the emulated model's NUTS acceptance point)."""


@dataclass(frozen=True)
class CompareSettings:
    """The study's points, simulations, trainings and samplers.

    Attributes
    ----------
    points : theta_sim points (Omega_m, sigma_8, A_SN1, A_SN2, A_AGN1, A_AGN2), the first the fiducial; the
        analytical model is run at each point's cosmology with its fiducial scaling relations.
    n_simulations : Poisson XODs of the emulated-relation model the NPEs learn from (``emulated`` campaign).
    npe : the NPE's settings (its ``summary`` and ``seed`` are set per training). By default:
        the paper's MSE compression by a network of half its channels trained for at most 60 epochs, for time (a
        compressor stopped early gives a wider posterior, not a miscalibrated one; a VMIM compressor stopped early
        leaves its jointly trained MDN head miscalibrated: A_AGN2's SBC p = 4e-10 after 50 epochs, A_SN1's 0.005
        after 62 with a refinement, 10 000 emulated XODs);
        trained on fresh Poisson draws of the campaign's expected XODs every epoch, each under one of four emulator
        errors picked at random (:mod:`inference.sbi.npe`; with the campaign's error alone, the full-XOD posterior
        was 3-7 % too narrow on new XODs, A_SN1's SBC p = 0.0009 on 1666 of them; not for light cones);
        the posterior an ensemble of five MDNs fitted afterwards to the compressed statistics (one MDN overfits its
        7500 examples, mean ln q 0.35-0.46 nats higher on them than on its validation examples, and was 2-5 % too
        narrow on held-out XODs: SBC p = 0.0003 for Omega_m, 0.002 for A_AGN2 in two of three seeds; five mixed,
        every p >= 0.02 on 1666 held-out XODs).
    npe_seeds : trainings per summary statistic (different initial weights), for the spread of table 3.
    summaries : the summary statistics of table 3 (:data:`inference.sbi.summaries.SUMMARIES`).
    nuts : NUTS for the explicit models (its ``neutra`` is replaced by the model's own below).
    analytic_neutra, emulated_neutra : the NeuTra maps NUTS runs in for each model: the default flow for the
        analytical model (its curved degeneracies), the Laplace map for the emulated relations (a posterior a thousand
        times narrower than the prior, nearly Gaussian: ``tests/test_nuts_emulated.py``).
    draws : NPE posterior draws per XOD.
    sbc_xods : held-out XODs of each NPE's calibration check (at most the held-out split).
    seed : the campaign's seed.
    workers : Dask workers of the campaign.
    light_cones : the folder of a light-cone campaign store (``xcosmo campaign run``, simulator ``lightcone``, at
        least 48 finished XODs), or None. Given, an NPE of the full XOD learns from its simulated XODs too, and its
        posterior at every point is shown beside the others, on a light cone simulated there by the same simulator.
    """

    points: tuple[tuple[float, ...], ...] = (FIDUCIAL, AWAY[0])
    n_simulations: int = 10_000
    npe: NPESettings = NPESettings(loss="mse", channels=(8, 16, 16, 16), ensemble=5, poisson_resampling=True,
                                   emulator_errors=4,
                                   compressor_training=TrainSettings(max_epochs=60, patience=4))  # fmt: skip
    npe_seeds: int = 3
    summaries: tuple[str, ...] = tuple(SUMMARIES)
    nuts: NUTSSettings = NUTSSettings(num_chains=2, num_warmup=100, num_samples=200, dense_mass=True, progress=False)
    analytic_neutra: NeuTraSettings = NeuTraSettings()
    emulated_neutra: NeuTraSettings = NeuTraSettings(flow="laplace", num_steps=500, max_fits=1)
    draws: int = 10_000
    sbc_xods: int = 2_000
    seed: int = 21
    workers: int = 2
    light_cones: str | None = None

    def __post_init__(self):
        from xcosmo.params import PARAM_NAMES, PRIOR

        points = tuple(tuple(float(v) for v in p) for p in self.points)
        if not points:
            fail("points", points, "at least one theta_sim point")
        for p in points:
            if len(p) != len(PARAM_NAMES):
                fail("points", p, f"six values {PARAM_NAMES}")
            for name, v, b in zip(PARAM_NAMES, p, PRIOR.bounds):
                if not b.low <= v <= b.high:
                    fail(f"points {name}", v, f"inside the prior {b.describe()}")
        object.__setattr__(self, "points", points)
        for name in ("n_simulations", "npe_seeds", "draws", "sbc_xods", "workers"):
            object.__setattr__(self, name, check_integer(name, getattr(self, name), 1))
        check_integer("seed", self.seed, 0, 2**32)
        if self.n_simulations < 48:
            fail("n_simulations", self.n_simulations, "at least 48 (the NPE's 32:4:4:8 split)")
        object.__setattr__(self, "summaries", tuple(check_choice("summaries", s, tuple(SUMMARIES))
                                                    for s in self.summaries))  # fmt: skip
        if "z-cr-hr" not in self.summaries:
            fail("summaries", self.summaries, "a list including 'z-cr-hr' (the NPE of the full XOD is compared at every "
                                              "point)")  # fmt: skip
        check_type("npe", self.npe, NPESettings, "an inference.sbi.NPESettings")
        check_type("nuts", self.nuts, NUTSSettings, "an inference.mcmc.NUTSSettings")
        if self.light_cones is not None:
            if not Path(self.light_cones).is_dir():
                fail("light_cones", str(self.light_cones), "the folder of a light-cone campaign store")
            object.__setattr__(self, "light_cones", str(self.light_cones))
        for name in ("analytic_neutra", "emulated_neutra"):
            check_type(name, getattr(self, name), NeuTraSettings, "an inference.neutra.NeuTraSettings")

    @property
    def theta(self) -> np.ndarray:
        """(n_points, 6) the points."""
        return np.asarray(self.points, np.float64)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["nuts"] = {k: v for k, v in d["nuts"].items() if k != "neutra"}
        return d


COMPARE_PRESETS = {
    "cpu": CompareSettings(),
    "gpu": CompareSettings(points=(FIDUCIAL, *AWAY), n_simulations=100_000, npe_seeds=5,
                           npe=NPESettings(poisson_resampling=True, emulator_errors=4),
                           nuts=NUTSSettings(num_chains=4, num_warmup=500, num_samples=1000, dense_mass=True,
                                             progress=False)),  # fmt: skip
}


def compare_preset(name: str, **changes) -> CompareSettings:
    """The preset ``name`` (module docstring) with ``changes`` to its fields."""
    check_choice("preset", name, tuple(COMPARE_PRESETS))
    return dataclasses.replace(COMPARE_PRESETS[name], **changes)
