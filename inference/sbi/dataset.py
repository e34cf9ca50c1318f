"""The training set of simulation-based inference: XODs and their parameters from a campaign store, normalised and split.

Paper 3.1: 48 000 XODs, 32 000 for training, 4 000 for validation, 4 000 for testing, 8 000 held out for inference;
"a normalisation on both the input XODs and the target parameters such that all fields seen by the ResNet are
between 0 and 1". Here:

- **targets**: the parameters' coordinates in the prior's unit cube, u = F(theta) with F the prior's cumulative
  distribution per parameter (the simulator's ``to_unit``: linear or logarithmic for the paper's uniform and
  log-uniform priors of table 1, the Gaussian CDF for the analytical model's scaling-relation priors). The prior is
  uniform on [0, 1]^p in u whatever the simulator: the compressor regresses u, and the posterior estimator models
  z = Phi^-1(u), where the prior is a standard normal (:mod:`inference.sbi.mdn`);
- **inputs**: ln(1 + counts) divided by its largest value in the training split, per redshift bin (the XOD's channels
  for the compressor): counts span four decades across an XOD, and the logarithm keeps the few-count bins visible
  beside the full ones;
- **splits**: the paper's proportions 32 : 4 : 4 : 8 of the finished simulations, by a seeded permutation, recorded
  with the outputs (:attr:`SBIDataset.splits`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import numpy as np

from xcosmo.checks import check_integer, fail

__all__ = ["SPLIT_NAMES", "PAPER_PROPORTIONS", "MIN_SIMULATIONS", "SBIDataset", "other_seeds", "split_indices",
           "XODScale"]

SPLIT_NAMES = ("train", "validation", "test", "heldout")
PAPER_PROPORTIONS = (32, 4, 4, 8)
"""Paper 3.1: thousands of XODs for training, validation, testing and inference."""
MIN_SIMULATIONS = 48
"""Fewest finished simulations a store must hold: the paper's proportions then give at least 4 XODs to validation and
to testing."""


def other_seeds(seeds: np.ndarray, k: int) -> np.ndarray:
    """(n,) seeds in [0, 2^32) derived from simulation ``seeds`` (n,) and ``k`` >= 1, independent of them and of each
    other's streams (NumPy's ``SeedSequence`` of the pair (seed, k)): the k-th other run of each simulation."""
    k = check_integer("k", k, 1)
    return np.array([np.random.SeedSequence([int(s), k]).generate_state(1)[0] for s in np.asarray(seeds)], np.uint32)


def split_indices(n: int, seed: int = 0, proportions: tuple[int, ...] = PAPER_PROPORTIONS) -> dict[str, np.ndarray]:
    """Indices 0..n-1 split in ``proportions`` (train, validation, test, heldout) by a permutation seeded by ``seed``;
    each split sorted. Validation, test and heldout are rounded down, training takes the rest."""
    n = check_integer("n", n, MIN_SIMULATIONS)
    seed = check_integer("seed", seed, 0, 2**32)
    if len(proportions) != len(SPLIT_NAMES) or min(proportions) < 1:
        fail("proportions", proportions, f"four positive integers for {SPLIT_NAMES}")
    order = np.random.default_rng(seed).permutation(n)
    total = sum(proportions)
    sizes = [n * p // total for p in proportions[1:]]
    sizes.insert(0, n - sum(sizes))
    edges = np.cumsum([0, *sizes])
    return {name: np.sort(order[a:b]) for name, a, b in zip(SPLIT_NAMES, edges[:-1], edges[1:])}


@dataclasses.dataclass(frozen=True)
class XODScale:
    """The input normalisation: x = ln(1 + counts) / scale[z] per redshift bin z (paper 3.1: inputs in [0, 1] on the
    training split)."""

    scale: np.ndarray  # (n_z,)

    @classmethod
    def fit(cls, counts: np.ndarray) -> "XODScale":
        """From training XODs (n, n_z, n_cr, n_hr): the largest ln(1 + counts) of each redshift bin (1 where empty)."""
        peak = np.log1p(np.asarray(counts, np.float64)).max(axis=(0, 2, 3))
        return cls(np.where(peak > 0, peak, 1.0))

    def __call__(self, counts) -> np.ndarray:
        """Normalised XODs (..., n_z, n_cr, n_hr) as float32."""
        counts = np.asarray(counts, np.float64)
        return (np.log1p(counts) / self.scale[:, None, None]).astype(np.float32)

    def traced(self, counts):
        """:meth:`__call__` inside a jitted function (on the Poisson draws of :func:`inference.sbi.training.train`)."""
        import jax.numpy as jnp

        return jnp.log1p(counts) / jnp.asarray(self.scale, counts.dtype)[:, None, None]


@dataclasses.dataclass(frozen=True)
class SBIDataset:
    """Finished simulations of a campaign: XOD counts, parameters and their unit-cube coordinates.

    Attributes
    ----------
    counts : (n, n_z, n_cr, n_hr) clusters per bin.
    theta : (n, p) parameters in their units.
    unit : (n, p) their coordinates in the prior's unit cube (the targets).
    names : the p parameter names.
    index : (n,) each simulation's index in the store.
    seeds : (n,) each simulation's seed.
    spec : the simulator's spec (:func:`xcosmo.campaign.simulators.simulator_from_spec` rebuilds it).
    binning : the store's survey and binning attributes (weights trained on one binning refuse another).
    source : the store's path.
    """

    counts: np.ndarray
    theta: np.ndarray
    unit: np.ndarray
    names: tuple[str, ...]
    index: np.ndarray
    seeds: np.ndarray
    spec: dict
    binning: dict
    source: str

    @classmethod
    def from_store(cls, path: str | os.PathLike, *, min_simulations: int = MIN_SIMULATIONS) -> "SBIDataset":
        """The finished simulations of the campaign store at ``path`` (:mod:`xcosmo.campaign.store`); refuses a store
        with fewer than ``min_simulations`` of them."""
        from xcosmo.campaign.simulators import simulator_from_spec
        from xcosmo.campaign.store import DONE, CampaignStore

        store = CampaignStore.open(path)
        done = np.flatnonzero(store.status() == DONE)
        if done.size < min_simulations:
            fail("store", str(path), f"a campaign with at least {min_simulations} finished simulations (it has "
                                     f"{done.size} of {store.n}: run `xcosmo campaign run` further)")  # fmt: skip
        attrs = store.attrs
        if "binning" not in attrs:
            fail("store", str(path), f"a campaign of XODs (this one's simulator, {attrs['simulator']['name']!r}, "
                                     "stores something else)")  # fmt: skip
        theta = store.theta[done]
        counts = store.xods(done)
        simulator = simulator_from_spec(attrs["simulator"])
        return cls(
            counts=counts, theta=theta, unit=np.asarray(simulator.to_unit(theta), np.float64),
            names=tuple(attrs["param_names"]), index=done, seeds=store.seeds[done], spec=attrs["simulator"],
            binning={"survey": attrs["survey"], "binning": attrs["binning"]}, source=str(Path(path)),
        )  # fmt: skip

    @property
    def normal(self) -> np.ndarray:
        """(n, p) the parameters' standard normal coordinates z = Phi^-1(u), where the prior is N(0, I) (the MDN's
        variables, :mod:`inference.sbi.mdn`); u is clipped to [1e-6, 1 - 1e-6] first."""
        from scipy.special import ndtri

        return ndtri(np.clip(self.unit, 1e-6, 1 - 1e-6))

    def expected(self, rows: np.ndarray | None = None, *, error: int = 0, progress: bool = False) -> np.ndarray:
        """(n, n_z, n_cr, n_hr) the simulator's expected XODs of the simulations (or of those at positions ``rows``),
        of which ``counts`` are Poisson draws; only for simulators that define them (the analytical and the
        emulated-relation models). Computed once for the whole dataset and kept (several trainings share them).

        ``error = k > 0``: the same simulations' expected XODs under another draw of the simulator's own randomness
        (the emulated-relation model's emulator error eps: a simulator whose ``expected_depends_on_seed`` is true),
        as if each had been run from seed :func:`other_seeds` (seed, k); only for the rows asked, kept per rows.
        ``progress``: a progress bar while they are computed (about 20 ms each for the emulated-relation model)."""
        error = check_integer("error", error, 0)
        if error and not self.expected_depends_on_seed:
            fail("error", error, f"0 for a campaign of {self.spec.get('name')!r}, whose expected XODs do not depend on "
                                 "the simulation's seed (only the emulated-relation model's do: its emulator "
                                 "error)")  # fmt: skip
        if error == 0:
            if 0 not in self._expected:
                self._expected[0] = self._compute_expected(self.theta, self.seeds, progress, "expected XODs")
            return self._expected[0] if rows is None else self._expected[0][np.asarray(rows)]
        rows = np.arange(self.n) if rows is None else np.asarray(rows)
        key = (error, rows.tobytes())
        if key not in self._expected:
            seeds = other_seeds(self.seeds[rows], error)
            self._expected[key] = self._compute_expected(self.theta[rows], seeds, progress,
                                                         f"expected XODs, emulator error {error}")  # fmt: skip
        return self._expected[key]

    @property
    def expected_depends_on_seed(self) -> bool:
        """Whether the simulator's expected XODs depend on the simulations' seeds (:meth:`expected`'s ``error``)."""
        return bool(getattr(self._simulator_with_expected, "expected_depends_on_seed", False))

    @functools.cached_property
    def _expected(self) -> dict:
        return {}

    @functools.cached_property
    def _simulator_with_expected(self):
        from xcosmo.campaign.simulators import simulator_from_spec

        simulator = simulator_from_spec(self.spec)
        if not hasattr(simulator, "expected"):
            fail("store", self.source, "a campaign of a simulator with expected XODs to redraw Poisson noise from "
                                       f"(the analytical or emulated-relation model), not of "
                                       f"{self.spec.get('name')!r}")  # fmt: skip
        return simulator

    def _compute_expected(self, theta: np.ndarray, seeds: np.ndarray, progress: bool, desc: str) -> np.ndarray:
        from tqdm.auto import tqdm

        simulator, chunk = self._simulator_with_expected, 1024
        with tqdm(total=len(theta), desc=desc, unit="XOD", disable=not progress) as bar:
            parts = []
            for a in range(0, len(theta), chunk):
                parts.append(simulator.expected(theta[a : a + chunk], seeds[a : a + chunk]))
                bar.update(len(parts[-1]))
        return np.concatenate(parts)

    @property
    def n(self) -> int:
        return int(self.counts.shape[0])

    def splits(self, seed: int = 0) -> dict[str, np.ndarray]:
        """:func:`split_indices` of this dataset (positions in its arrays, not store indices)."""
        return split_indices(self.n, seed)
