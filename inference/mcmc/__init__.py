"""NUTS sampling of numpyro models with numpyro or blackjax; chains as an ArviZ-compatible ``xarray.DataTree``.

:func:`run_nuts` samples any numpyro model ``model(data, **model_kwargs)`` with the No-U-Turn sampler (Hoffman &
Gelman 2014) and Stan's windowed warm-up (step size by dual averaging, diagonal or dense mass matrix), in float64,
through either backend of :data:`BACKENDS`. With ``neutra`` either backend samples in the latent space of a
normalising flow fitted to the posterior first (neural transport, :mod:`inference.neutra`).

One idea per module:

- :mod:`~inference.mcmc.settings`: :class:`NUTSSettings`, the run's configuration (every default, once);
- :mod:`~inference.mcmc.start`: the chains' initial positions (``init_params``);
- :mod:`~inference.mcmc.numpyro_nuts`, :mod:`~inference.mcmc.blackjax_nuts`: one backend each;
- :mod:`~inference.mcmc.timing`: the compile clock;
- :mod:`~inference.mcmc.chains`: the DataTree (its groups and attributes), :func:`save_chains`, :func:`load_chains`;
- :mod:`~inference.mcmc.diagnostics`: :func:`summary` and :func:`format_summary` (R-hat, ESS through ArviZ);
- :mod:`~inference.mcmc.plots`: :func:`corner_plot`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import xarray as xr

from inference.mcmc import blackjax_nuts, numpyro_nuts
from inference.mcmc.chains import load_chains, run_attrs, save_chains, to_tree
from inference.mcmc.diagnostics import format_summary, inference_data, summary
from inference.mcmc.plots import corner_plot
from inference.mcmc.settings import BACKENDS, DEFAULT_TARGET_ACCEPT, NUTSSettings, request_host_devices
from inference.mcmc.start import init_strategy, initial_positions
from inference.mcmc.timing import CompileClock
from xcosmo.checks import check_type
from xcosmo.precision import float64

__all__ = [
    "BACKENDS",
    "DEFAULT_TARGET_ACCEPT",
    "NUTSSettings",
    "request_host_devices",
    "run_nuts",
    "summary",
    "format_summary",
    "inference_data",
    "save_chains",
    "load_chains",
    "corner_plot",
]

_SAMPLERS = {"numpyro": numpyro_nuts.sample, "blackjax": blackjax_nuts.sample}
_SETTING_NAMES = frozenset(field.name for field in dataclasses.fields(NUTSSettings))


@float64
def run_nuts(
    model: Callable,
    data: Any = None,
    /,
    *,
    settings: NUTSSettings | None = None,
    init_params: Mapping[str, Any] | None = None,
    **kwargs,
) -> xr.DataTree:
    """Sample a numpyro model with NUTS; return the chains as an ArviZ-compatible ``xarray.DataTree``.

    The sampler is configured by a :class:`NUTSSettings`: ``settings=NUTSSettings(...)``, or its fields as keywords
    (``run_nuts(model, data, backend="blackjax", num_chains=2)``), or both (the keywords then replace those fields
    of ``settings``). Fields not given keep :class:`NUTSSettings`'s defaults, which are stated only there. Every
    other keyword is passed to the model.

    Parameters
    ----------
    model : numpyro model function, called as ``model(data, **model_kwargs)``. ``model`` and ``data`` are
        positional-only, so that a model may itself take keyword arguments of those names.
    data : its first argument (observations), passed through unchanged.
    settings : the sampler's configuration (default ``NUTSSettings()``).
    init_params : optional ``{site: value}`` in the constrained space (the model's units), one value for all chains
        or with a leading ``num_chains`` axis; sites not named start at random (numpyro's ``init_to_uniform``).
        With ``neutra`` it centres the flow's initial location instead, and the chains start at independent
        standard-normal points of the flow's latent space (approximate posterior draws).
    **kwargs : fields of :class:`NUTSSettings` (``backend``, ``num_warmup``, ``num_samples``, ``num_chains``,
        ``seed``, ``target_accept``, ``dense_mass``, ``progress``, ``neutra``); the others are the model's keyword
        arguments (``model_kwargs``).

    Returns
    -------
    xarray.DataTree with groups ``posterior`` and ``sample_stats`` and the run's attributes
    (:mod:`inference.mcmc.chains`). ArviZ 0.x reads it as :func:`inference_data` ``(tree)``.

    Raises
    ------
    TypeError, ValueError : for a wrong argument or setting, before any work; ``ValueError`` (messages starting
        ``init_params``) for start values the model cannot start from (:func:`inference.mcmc.start.initial_positions`).

    Notes
    -----
    Precision. The samplers run in float64 (:func:`xcosmo.precision.float64`: x64 is on for the call); the ``x64``
    attribute records it.

    Chains run in parallel, vectorized or one after the other: :func:`inference.mcmc.settings.chain_method`.

    Timing. ``compile_time_s`` is the time JAX spent tracing, lowering and compiling during the run
    (:mod:`inference.mcmc.timing`); ``wall_time_s`` is the rest of the wall time of the flow fit (with ``neutra``),
    initialisation, warm-up and sampling.

    Gradient evaluations. ``n_grad_evals`` adds the leapfrog steps of every warm-up and sampling iteration of all
    chains, as the samplers report them (numpyro's ``num_steps``, blackjax's ``num_integration_steps``), and with
    ``neutra`` the flow fit's (SVI steps x particles, attributes ``n_grad_evals_neutra`` and ``neutra_loss``: the
    final negative ELBO). The handful of evaluations of initialisation and of numpyro's initial step-size search
    are not counted.

    Memory. Every run compiles new programs (the samplers' and the flow's closures are new at each call, so JAX's
    caches never serve a later run), and their machine code stays mapped while the caches hold it: about 10^4
    memory mappings for one run of the emulated-relation model, so that a handful of runs in one process exhausted
    the kernel's limit (``vm.max_map_count``, 65 530) and LLVM aborted the process. ``run_nuts`` therefore drops
    JAX's caches (``jax.clear_caches``) when it returns; other jitted functions compile again on their next call.
    """
    check_type("model", model, Callable, "a numpyro model function, called as model(data, **model_kwargs)")
    check_type("settings", settings, (NUTSSettings, type(None)), "None or an inference.mcmc.NUTSSettings")
    check_type("init_params", init_params, (Mapping, type(None)), "None or a dict {site name: constrained value}")
    given = {name: kwargs.pop(name) for name in _SETTING_NAMES & kwargs.keys()}
    settings = NUTSSettings(**given) if settings is None else dataclasses.replace(settings, **given)
    model_kwargs = kwargs
    k_init, k_run = jax.random.split(jax.random.key(settings.seed))
    sampled, flow = model, None
    with CompileClock() as clock:
        t0 = time.perf_counter()
        if settings.neutra_settings is not None:
            from inference.neutra import SHARED_LATENT, fit_neutra

            flow = fit_neutra(
                model, data, settings=settings.neutra_settings, seed=settings.seed,
                init_strategy=init_strategy(dict(init_params or {}), settings.num_chains),
                progress=settings.progress, **model_kwargs,
            )  # fmt: skip
            sampled = flow.model
            init_params = {SHARED_LATENT: jax.random.normal(k_init, (settings.num_chains, flow.latent_dim))}
        start = initial_positions(sampled, data, model_kwargs, k_init, settings.num_chains, init_params)
        draws = _SAMPLERS[settings.backend](start, k_run, settings)
        elapsed = time.perf_counter() - t0
    jax.clear_caches()  # Notes: Memory
    if flow is not None:  # the flow's coordinates are internal: the posterior holds the model's own sites
        samples = {k: v for k, v in draws.samples.items() if k != SHARED_LATENT}
        draws = dataclasses.replace(draws, samples=samples)
    attrs = run_attrs(settings, draws, model, flow, elapsed, clock.seconds)
    return to_tree(draws, attrs, start.site_order)
