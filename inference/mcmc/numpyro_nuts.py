"""The numpyro backend: ``numpyro.infer.NUTS`` driven by ``numpyro.infer.MCMC``.

Stan's windowed warm-up (step size by dual averaging, diagonal or dense mass matrix), then sampling. Warm-up runs
on its own first, collecting the leapfrog steps of every warm-up iteration (``collect_warmup=True``; its draws are
dropped), so that ``n_grad_evals_warmup`` counts them.
"""

from __future__ import annotations

import jax
import numpy as np

from inference.mcmc.chains import Draws
from inference.mcmc.settings import NUTSSettings, chain_method
from inference.mcmc.start import Start

__all__ = ["sample"]

_STATS = {  # numpyro extra field -> ArviZ sample_stats name
    "diverging": "diverging",
    "num_steps": "n_steps",
    "accept_prob": "acceptance_rate",
    "adapt_state.step_size": "step_size",
    "potential_energy": "lp",
    "energy": "energy",
}


def sample(start: Start, key: jax.Array, settings: NUTSSettings) -> Draws:
    """Warm up and sample ``settings.num_chains`` chains from ``start``."""
    from numpyro.infer import MCMC, NUTS

    method = chain_method(settings.num_chains)
    mcmc = MCMC(
        NUTS(start.model, target_accept_prob=settings.target_accept, dense_mass=settings.dense_mass),
        num_warmup=settings.num_warmup,
        num_samples=settings.num_samples,
        num_chains=settings.num_chains,
        chain_method=method,
        progress_bar=settings.progress,
    )
    z0 = start.positions
    init = z0 if settings.num_chains > 1 else jax.tree.map(lambda x: x[0], z0)
    k_warmup, k_sample = jax.random.split(key)
    mcmc.warmup(
        k_warmup,
        start.data,
        extra_fields=("num_steps", *(f"~z.{name}" for name in z0)),
        collect_warmup=True,
        init_params=init,
        **start.model_kwargs,
    )
    steps_warmup = int(np.sum(np.asarray(mcmc.get_extra_fields()["num_steps"], dtype=np.int64)))
    mcmc.run(k_sample, start.data, extra_fields=tuple(_STATS), **start.model_kwargs)
    samples = jax.device_get(mcmc.get_samples(group_by_chain=True))
    fields = jax.device_get(mcmc.get_extra_fields(group_by_chain=True))
    stats = {name: np.asarray(fields[field]) for field, name in _STATS.items()}
    stats["lp"] = -stats["lp"]  # numpyro's potential energy is -log density
    return Draws(samples=samples, stats=stats, n_grad_evals_warmup=steps_warmup, chain_method=method)
