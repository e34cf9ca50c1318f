"""How NUTS runs: one frozen, validated :class:`NUTSSettings`, and the defaults, each stated once.

:func:`inference.mcmc.run_nuts` builds a :class:`NUTSSettings` from its keywords (or takes one) and hands it to the
backend; nothing else holds a default of the sampler's configuration.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from inference.neutra import NeuTraSettings
from xcosmo.checks import check_bool, check_choice, check_integer, check_number, check_type

__all__ = ["BACKENDS", "DEFAULT_TARGET_ACCEPT", "NUTSSettings", "chain_method", "request_host_devices"]

BACKENDS: tuple[str, ...] = ("numpyro", "blackjax")
"""The NUTS implementations :func:`inference.mcmc.run_nuts` can drive."""

DEFAULT_TARGET_ACCEPT = 0.97
"""Target mean acceptance probability of the step-size adaptation.

Higher than Stan's 0.8 because the analytical cluster-count posterior has steep walls a few latent sigma out that
larger steps run into (divergent transitions); 0.97 is the value its acceptance test (``tests/test_nuts_analytic.py``)
validated on both backends. A smaller step costs longer trajectories, so easy posteriors may lower it.
"""


@dataclasses.dataclass(frozen=True)
class NUTSSettings:
    """Configuration of a NUTS run, checked on creation (``TypeError`` for a wrong type, ``ValueError`` for a
    wrong value, naming the field).

    Attributes
    ----------
    backend : ``"numpyro"`` (``numpyro.infer.NUTS`` + ``MCMC``) or ``"blackjax"`` (``blackjax.window_adaptation`` +
        ``blackjax.nuts`` on numpyro's potential energy in the unconstrained space); one of :data:`BACKENDS`.
    num_warmup : warm-up (adaptation) iterations per chain, >= 1.
    num_samples : kept draws per chain, >= 1. Twice the warm-up by default: a run's fixed cost (the flow fit of
        ``neutra`` and the warm-up) is paid once, so the draws after it are the cheap part of the effective sample
        size (on the analytical posterior, 4 chains x 1000 draws after 1000 warm-up iterations and one flow fit
        spend about 60% of the wall time before the first kept draw).
    num_chains : independent chains, >= 1.
    seed : seed of the ``jax.random`` key, 0 <= seed < 2**32; the same seed gives the same draws on the same machine.
    target_accept : target mean acceptance probability of the step-size adaptation, in (0, 1)
        (:data:`DEFAULT_TARGET_ACCEPT`).
    dense_mass : adapt a dense (full covariance) mass matrix during warm-up instead of a diagonal one; much shorter
        trajectories on strongly correlated posteriors such as the 2+6 parameter analytical model.
    progress : show progress bars (numpyro's own; for blackjax a tqdm bar over chains); ``False`` silences them.
    neutra : first fit a normalising flow to the posterior and run NUTS in its latent space (neural transport,
        :mod:`inference.neutra`): ``True`` for the default :class:`~inference.neutra.NeuTraSettings`, or such a
        settings object. For posteriors with curved or varying-width degeneracies, such as the analytical model's.
    """

    backend: str = "numpyro"
    num_warmup: int = 1000
    num_samples: int = 2000
    num_chains: int = 4
    seed: int = 0
    target_accept: float = DEFAULT_TARGET_ACCEPT
    dense_mass: bool = False
    progress: bool = True
    neutra: bool | NeuTraSettings = False

    def __post_init__(self) -> None:
        check_choice("backend", self.backend, BACKENDS)
        checked = {
            "num_warmup": check_integer("num_warmup", self.num_warmup, 1),
            "num_samples": check_integer("num_samples", self.num_samples, 1),
            "num_chains": check_integer("num_chains", self.num_chains, 1),
            "seed": check_integer("seed", self.seed, 0, 2**32),
            "target_accept": check_number("target_accept", self.target_accept, 0.0, 1.0, open=True),
            "dense_mass": bool(check_bool("dense_mass", self.dense_mass)),
            "progress": bool(check_bool("progress", self.progress)),
        }
        neutra = check_type(
            "neutra", self.neutra, (bool, np.bool_, NeuTraSettings), "True, False or an inference.neutra.NeuTraSettings"
        )
        checked["neutra"] = neutra if isinstance(neutra, NeuTraSettings) else bool(neutra)
        for name, value in checked.items():  # plain Python values (numpy integers, np.bool_ ...) from here on
            object.__setattr__(self, name, value)

    @property
    def neutra_settings(self) -> NeuTraSettings | None:
        """The flow's settings, or ``None`` without NeuTra."""
        if isinstance(self.neutra, NeuTraSettings):
            return self.neutra
        return NeuTraSettings() if self.neutra else None


def chain_method(num_chains: int) -> str:
    """How the chains of a run are laid out on the machine.

    ``"parallel"`` (one chain per device: numpyro's MCMC, ``jax.pmap`` in the blackjax backend) when there are at
    least ``num_chains > 1`` local devices. On a CPU, more host devices exist only if the *application* called
    ``numpyro.set_host_device_count`` before JAX started, or the environment holds
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``; the chains then run in threads, worth it where one
    chain's density does not keep every core busy. Otherwise ``"vectorized"`` (``jax.vmap``) on accelerators and
    ``"sequential"`` (one compiled chain function, called per chain) on CPU: vectorized NUTS advances the chains in
    lock-step, every iteration as long as the longest trajectory of all chains and computed for all of them, which on
    a CPU costs more than it saves. The ``chain_method`` attribute of a run records the choice.
    """
    if 1 < num_chains <= jax.local_device_count():
        return "parallel"
    return "sequential" if jax.default_backend() == "cpu" else "vectorized"


def request_host_devices(n: int) -> bool:
    """Ask for ``n`` host (CPU) devices, as an application does before JAX starts its backends
    (``numpyro.set_host_device_count``), unless ``XLA_FLAGS`` already sets a count (the user's choice stands); returns
    whether ``n`` chains can now run in parallel (:func:`chain_method`). Too late once JAX has computed anything: the
    CPU then keeps the devices it started with."""
    import os

    import numpyro

    n = check_integer("n", n, 1)
    if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        numpyro.set_host_device_count(n)
    return jax.local_device_count() >= n
