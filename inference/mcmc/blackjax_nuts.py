"""The blackjax backend: ``blackjax.window_adaptation`` then ``blackjax.nuts``, on numpyro's log density.

The log density is the one numpyro derives from the model in its unconstrained space (``Start.info.potential_fn``);
the draws are mapped back to the model's sites and units with ``Start.info.postprocess_fn``. One chain is one
compiled function (warm-up, then a ``jax.lax.scan`` over the draws); the chains run one per device (``jax.pmap``),
one after the other or vectorized (:func:`inference.mcmc.settings.chain_method`), under a tqdm bar over chains.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from inference.mcmc.chains import Draws
from inference.mcmc.settings import NUTSSettings, chain_method
from inference.mcmc.start import Start

__all__ = ["sample"]


def sample(start: Start, key: jax.Array, settings: NUTSSettings) -> Draws:
    """Warm up and sample ``settings.num_chains`` chains from ``start``."""
    import blackjax
    from blackjax.adaptation.base import get_filter_adapt_info_fn
    from tqdm.auto import tqdm

    info, num_samples = start.info, settings.num_samples

    def logdensity(z):
        return -info.potential_fn(z)

    warmup = blackjax.window_adaptation(
        blackjax.nuts,
        logdensity,
        target_acceptance_rate=settings.target_accept,
        is_mass_matrix_diagonal=not settings.dense_mass,
        adaptation_info_fn=get_filter_adapt_info_fn(info_keys={"num_integration_steps"}),
    )

    def one_chain(chain_key, position):
        k_warmup, k_sample = jax.random.split(chain_key)
        (state, parameters), warmup_info = warmup.run(k_warmup, position, settings.num_warmup)
        kernel = blackjax.nuts(logdensity, **parameters)

        def step(state, step_key):
            state, nuts_info = kernel.step(step_key, state)
            record = {
                "position": state.position,
                "lp": state.logdensity,
                "diverging": nuts_info.is_divergent,
                "n_steps": nuts_info.num_integration_steps,
                "acceptance_rate": nuts_info.acceptance_rate,
                "energy": nuts_info.energy,
            }
            return state, record

        _, draws = jax.lax.scan(step, state, jax.random.split(k_sample, num_samples))
        samples = jax.vmap(info.postprocess_fn)(draws.pop("position"))
        draws["step_size"] = jnp.full(num_samples, parameters["step_size"])
        steps_warmup = jnp.sum(warmup_info.info.num_integration_steps)
        return samples, draws, steps_warmup

    num_chains, z0 = settings.num_chains, start.positions
    chain_keys = jax.random.split(key, num_chains)
    method = chain_method(num_chains)
    bar = tqdm(total=num_chains, desc=f"blackjax NUTS ({method})", unit="chain", disable=not settings.progress)
    with bar:
        if method in ("parallel", "vectorized"):
            batched = jax.pmap(one_chain) if method == "parallel" else jax.jit(jax.vmap(one_chain))
            out = jax.block_until_ready(batched(chain_keys, z0))
            bar.update(num_chains)
        else:
            run_chain = jax.jit(one_chain)
            per_chain = []
            for c in range(num_chains):
                per_chain.append(jax.block_until_ready(run_chain(chain_keys[c], jax.tree.map(lambda x: x[c], z0))))
                bar.update(1)
            out = jax.tree.map(lambda *xs: jnp.stack(xs), *per_chain)
    samples, stats, steps_warmup = jax.device_get(out)
    return Draws(
        samples=samples,
        stats={k: np.asarray(v) for k, v in stats.items()},
        n_grad_evals_warmup=int(np.sum(steps_warmup, dtype=np.int64)),
        chain_method=method,
    )
