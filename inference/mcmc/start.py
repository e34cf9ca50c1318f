"""Initial positions of the chains, shared by both backends.

numpyro traces the model once (``numpyro.infer.util.initialize_model``): that gives its potential energy in the
unconstrained space, the map back to the constrained sites and, per chain, a starting point. Without
``init_params`` every chain starts at its own random point (numpyro's ``init_to_uniform``: uniform in (-2, 2) in
the unconstrained space). ``init_params`` sets sites by constrained value (the model's units), one value for all
chains or with a leading ``num_chains`` axis; the sites it does not name keep their random start.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Start", "init_strategy", "initial_positions", "posterior_order"]


@dataclasses.dataclass(frozen=True)
class Start:
    """A model ready to sample: ``model(data, **model_kwargs)``, numpyro's ``ModelInfo`` of it (``info``:
    ``potential_fn``, ``postprocess_fn``, ``model_trace``) and the unconstrained start of every chain
    (``positions``: ``{site: array (num_chains, *site shape)}``)."""

    model: Callable
    data: Any
    model_kwargs: Mapping[str, Any]
    info: Any
    positions: Mapping[str, jax.Array]

    @property
    def site_order(self) -> list[str]:
        """Latent sample sites and deterministic sites, in the order the model declares them."""
        return posterior_order(self.info.model_trace)


def posterior_order(model_trace) -> list[str]:
    """Latent sample sites and deterministic sites of a numpyro trace, in the order the model declares them."""
    return [
        name
        for name, site in model_trace.items()
        if (site["type"] == "sample" and not site.get("is_observed", False)) or site["type"] == "deterministic"
    ]


def _site_shape(site) -> tuple[int, ...]:
    return tuple(site["fn"].shape())


def init_strategy(values: Mapping[str, Any], num_chains: int) -> Callable:
    """numpyro init strategy: the constrained ``values`` (for per-chain values, chain 0's), else ``init_to_uniform``.

    Refuses with ``ValueError`` a value whose shape is neither the site's nor ``(num_chains, *site shape)``.
    """
    return functools.partial(_init_to_values, values=values, num_chains=num_chains)  # numpyro expects a partial


def _init_to_values(site=None, *, values: Mapping[str, Any], num_chains: int):
    from numpyro.infer.initialization import init_to_uniform

    if site is None:  # numpyro's convention: a strategy called without a site returns itself
        return init_strategy(values, num_chains)
    if site["type"] == "sample" and not site["is_observed"] and site["name"] in values:
        value, shape = jnp.asarray(values[site["name"]]), _site_shape(site)
        if value.shape == (num_chains, *shape):
            return value[0]
        if value.shape != shape:
            raise ValueError(
                f"init_params[{site['name']!r}]: shape {value.shape}, expected the site's shape {shape} "
                f"or (num_chains, *site shape) = {(num_chains, *shape)}"
            )
        return value
    return init_to_uniform(site)


def initial_positions(
    model: Callable,
    data: Any,
    model_kwargs: Mapping[str, Any],
    key: jax.Array,
    num_chains: int,
    init_params: Mapping[str, Any] | None,
) -> Start:
    """Trace ``model`` and draw the unconstrained start of ``num_chains`` chains (module docstring).

    Raises ``ValueError`` (messages starting ``init_params``) for unknown sites, wrong shapes, values the model
    rejects, and start values where the log density or its gradient is not finite.
    """
    from numpyro.infer.util import initialize_model, unconstrain_fn

    init_params = dict(init_params or {})
    keys = jax.random.split(key, num_chains)
    try:
        info = initialize_model(
            keys,
            model,
            init_strategy=init_strategy(init_params, num_chains),
            model_args=(data,),
            model_kwargs=dict(model_kwargs),
        )
    except ValueError as err:  # numpyro validates the distributions while tracing the model at its start values
        if not init_params or str(err).startswith("init_params"):
            raise
        raise ValueError(f"init_params: the model rejected the start values {init_params}: {err}") from None
    except RuntimeError as err:
        if "Cannot find valid initial parameters" not in str(err):
            raise
        where = "at init_params (and random values of the other sites)" if init_params else (
            "at any of numpyro's random starting points (init_to_uniform); pass init_params near the posterior"
        )
        raise ValueError(
            f"init_params: the log density or its gradient is not finite {where}; every value must lie inside the "
            f"support of its prior"
        ) from None
    z0 = info.param_info.z
    latent = [name for name in posterior_order(info.model_trace) if name in z0]
    latent += sorted(set(z0) - set(latent))
    unknown = sorted(set(init_params) - set(latent))
    if unknown:
        raise ValueError(f"init_params: unknown site(s) {unknown}; the model's latent sample sites are {latent}")
    per_chain = {
        name: jnp.asarray(value)
        for name, value in init_params.items()
        if jnp.shape(value) == (num_chains, *_site_shape(info.model_trace[name]))
    }
    if num_chains > 1 and per_chain:
        start = jax.vmap(info.postprocess_fn)(z0)  # chain 0's values everywhere, random starts elsewhere
        start = {name: per_chain.get(name, start[name]).astype(start[name].dtype) for name in latent}
        z0 = jax.vmap(lambda p: unconstrain_fn(model, (data,), dict(model_kwargs), p))(start)
        z0 = {name: z0[name] for name in latent}
        potential = np.asarray(jax.vmap(info.potential_fn)(z0))
        if not np.all(np.isfinite(potential)):
            chain = int(np.flatnonzero(~np.isfinite(potential))[0])
            raise ValueError(
                f"init_params: the log density is not finite at the values of chain {chain}; every value must lie "
                f"inside the support of its prior"
            )
    return Start(model=model, data=data, model_kwargs=dict(model_kwargs), info=info, positions=z0)
