"""NUTS sampling of numpyro models with numpyro or blackjax; chains as an ArviZ-compatible ``xarray.DataTree``.

:func:`run_nuts` samples any numpyro model ``model(data, **model_kwargs)`` with the No-U-Turn sampler (Hoffman &
Gelman 2014) and Stan's windowed warm-up (step size by dual averaging, diagonal mass matrix), through either

- ``backend="numpyro"``: ``numpyro.infer.NUTS`` driven by ``numpyro.infer.MCMC``;
- ``backend="blackjax"``: ``blackjax.nuts`` after ``blackjax.window_adaptation``, on the log density that numpyro
  derives from the same model in its unconstrained space (``numpyro.infer.util.initialize_model``).

With ``neutra=True`` either backend samples in the latent space of a normalising flow fitted to the posterior
first (neural transport, :mod:`inference.neutra`): the cure for curved, varying-width posteriors such as the
analytical cluster-count model's, on which plain NUTS needs many short leapfrog steps and diverges.

Both return the same :class:`xarray.DataTree` (ArviZ's layout and names):

- ``posterior``: one variable per latent sample site and per ``numpyro.deterministic`` site, in the model's units,
  dims ``(chain, draw, <name>_dim_0, ...)``;
- ``sample_stats``: ``diverging`` (bool), ``n_steps`` (leapfrog steps of the draw, int), ``acceptance_rate``
  (mean Metropolis acceptance probability over the trajectory), ``step_size`` (the adapted one), ``lp`` (log
  density of the draw in the unconstrained space, Jacobian included, up to a constant) and ``energy`` (Hamiltonian);
- root attributes: ``backend``, ``chain_method``, ``num_warmup``, ``num_samples``, ``num_chains``, ``seed``,
  ``target_accept``, ``wall_time_s`` and ``compile_time_s`` (s), ``n_grad_evals`` (= flow fit + warm-up + sampling),
  ``n_grad_evals_warmup``, ``n_grad_evals_sampling``, ``neutra`` (0/1), ``n_grad_evals_neutra`` (the flow fit's,
  included in ``n_grad_evals``), ``neutra_loss``, ``model``, ``device``, ``x64``, ``xcosmo_version``,
  ``inference_library`` and ``inference_library_version``, ``created_at`` (UTC, ISO 8601).

With ArviZ 0.x read it as ``arviz.InferenceData(posterior=tree["posterior"].to_dataset(),
sample_stats=tree["sample_stats"].to_dataset())``; ArviZ >= 1.0 takes the tree itself. :func:`summary` and
:func:`format_summary` give means, R-hat, ESS and sampling efficiency; :func:`save_chains` / :func:`load_chains`
write and read netCDF (HDF5) files, :func:`corner_plot` a corner plot.

Precision: the sampler runs in the dtype of the model's values, float32 by default. To sample in float64 (the
analytical likelihood), call :func:`run_nuts` inside ``with jax.enable_x64(True):``; the ``x64`` attribute records it.
"""

from __future__ import annotations

import datetime
import functools
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from xcosmo.io import atomic_path, ensure_writable_dir

if TYPE_CHECKING:  # imported lazily at run time: inference.neutra pulls in optax and numpyro's autoguides
    from inference.neutra import NeuTraSettings

__all__ = ["BACKENDS", "run_nuts", "summary", "format_summary", "save_chains", "load_chains", "corner_plot"]

BACKENDS: tuple[str, ...] = ("numpyro", "blackjax")
"""The NUTS implementations :func:`run_nuts` can drive."""

_COMPILE_EVENTS = frozenset(
    {
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    }
)
_NUMPYRO_STATS = {  # numpyro extra field -> ArviZ sample_stats name
    "diverging": "diverging",
    "num_steps": "n_steps",
    "accept_prob": "acceptance_rate",
    "adapt_state.step_size": "step_size",
    "potential_energy": "lp",
    "energy": "energy",
}


# --------------------------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------------------------
def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value >= high):
        allowed = f"an integer >= {low}" + (f" and < {high}" if high is not None else "")
        raise ValueError(f"{name} = {value!r}: expected {allowed}")
    return int(value)


def _validate(model, backend, num_warmup, num_samples, num_chains, seed, target_accept, progress, init_params, neutra):
    if not callable(model):
        raise ValueError(f"model = {model!r}: expected a numpyro model function, called as model(data, **model_kwargs)")
    if backend not in BACKENDS:
        raise ValueError(f"backend = {backend!r}: expected one of {BACKENDS}")
    _check_int("num_warmup", num_warmup, 1)
    _check_int("num_samples", num_samples, 1)
    _check_int("num_chains", num_chains, 1)
    _check_int("seed", seed, 0, 2**32)
    if isinstance(target_accept, bool) or not isinstance(target_accept, (int, float, np.floating)) or not (
        0.0 < float(target_accept) < 1.0
    ):
        raise ValueError(f"target_accept = {target_accept!r}: expected a number in the open interval (0, 1)")
    if not isinstance(progress, bool):
        raise ValueError(f"progress = {progress!r}: expected True or False")
    if init_params is not None and not isinstance(init_params, Mapping):
        raise ValueError(f"init_params = {init_params!r}: expected None or a dict {{site name: constrained value}}")
    from inference.neutra import NeuTraSettings

    if not isinstance(neutra, (bool, NeuTraSettings)):
        raise ValueError(f"neutra = {neutra!r}: expected True, False or an inference.neutra.NeuTraSettings")


# --------------------------------------------------------------------------------------------------------------------
# timing: time spent tracing/lowering/compiling, from JAX's own monitoring events
# --------------------------------------------------------------------------------------------------------------------
class _CompileClock:
    """Collect the time spans of JAX's trace/lower/compile events while active; :attr:`seconds` is their union.

    The listener is process-wide: compilations started by other threads in the meantime are counted too.
    """

    def __init__(self) -> None:
        self._spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def _listener(self, event: str, start: float, end: float, **kwargs) -> None:
        if event in _COMPILE_EVENTS:
            with self._lock:
                self._spans.append((start, end))

    def __enter__(self) -> "_CompileClock":
        jax.monitoring.register_event_time_span_listener(self._listener)
        return self

    def __exit__(self, *exc) -> None:
        jax.monitoring.unregister_event_time_span_listener(self._listener)

    @property
    def seconds(self) -> float:
        total, cur_start, cur_end = 0.0, None, None
        for start, end in sorted(self._spans):  # nested traces overlap: add up the union of the intervals
            if cur_end is None or start > cur_end:
                if cur_end is not None:
                    total += cur_end - cur_start
                cur_start, cur_end = start, end
            else:
                cur_end = max(cur_end, end)
        return total + (cur_end - cur_start if cur_end is not None else 0.0)


# --------------------------------------------------------------------------------------------------------------------
# initial positions (shared by both backends)
# --------------------------------------------------------------------------------------------------------------------
def _site_shape(site) -> tuple[int, ...]:
    return tuple(site["fn"].shape())


def _init_strategy(site=None, values=None, num_chains=1):
    """numpyro init strategy: ``values`` (constrained; for per-chain values, chain 0's), else ``init_to_uniform``."""
    from numpyro.infer.initialization import init_to_uniform

    if site is None:
        return functools.partial(_init_strategy, values=values, num_chains=num_chains)
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


def _initialise(model, data, model_kwargs, key, num_chains, init_params):
    """numpyro's model info, and unconstrained initial positions with a leading chain axis.

    Without ``init_params`` every chain starts at its own random point (numpyro's ``init_to_uniform``: uniform in
    (-2, 2) in the unconstrained space). ``init_params`` sets sites by constrained value, shared by all chains or
    with a leading ``num_chains`` axis; the sites it does not name keep their random start.
    """
    from numpyro.infer.util import initialize_model, unconstrain_fn

    init_params = dict(init_params or {})
    keys = jax.random.split(key, num_chains)
    try:
        info = initialize_model(
            keys,
            model,
            init_strategy=_init_strategy(values=init_params, num_chains=num_chains),
            model_args=(data,),
            model_kwargs=model_kwargs,
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
    latent = [name for name in _posterior_order(info.model_trace) if name in z0]
    latent += sorted(set(z0) - set(latent))
    unknown = sorted(set(init_params) - set(latent))
    if unknown:
        raise ValueError(f"init_params: unknown site(s) {unknown}; the model's latent sample sites are {latent}")
    per_chain = {
        name: jnp.asarray(value)
        for name, value in init_params.items()
        if jnp.shape(value) == (num_chains, *_site_shape(info.model_trace[name]))
    }
    if num_chains == 1 or not per_chain:
        return info, z0
    start = jax.vmap(info.postprocess_fn)(z0)  # chain 0's values everywhere, random starts elsewhere
    start = {name: per_chain.get(name, start[name]).astype(start[name].dtype) for name in latent}
    z0 = jax.vmap(lambda p: unconstrain_fn(model, (data,), model_kwargs, p))(start)
    z0 = {name: z0[name] for name in latent}
    potential = np.asarray(jax.vmap(info.potential_fn)(z0))
    if not np.all(np.isfinite(potential)):
        chain = int(np.flatnonzero(~np.isfinite(potential))[0])
        raise ValueError(
            f"init_params: the log density is not finite at the values of chain {chain}; every value must lie "
            f"inside the support of its prior"
        )
    return info, z0


def _posterior_order(model_trace) -> list[str]:
    """Latent sample sites and deterministic sites, in the order the model declares them."""
    return [
        name
        for name, site in model_trace.items()
        if (site["type"] == "sample" and not site.get("is_observed", False)) or site["type"] == "deterministic"
    ]


# --------------------------------------------------------------------------------------------------------------------
# backends
# --------------------------------------------------------------------------------------------------------------------
def _run_numpyro(
    model, data, model_kwargs, z0, key, num_warmup, num_samples, num_chains, target_accept, dense_mass, progress
):
    from numpyro.infer import MCMC, NUTS

    if num_chains > 1 and jax.local_device_count() >= num_chains:
        chain_method = "parallel"
    else:  # as for blackjax: one chain after the other on CPU (see run_nuts, Notes)
        chain_method = "sequential" if jax.default_backend() == "cpu" else "vectorized"
    mcmc = MCMC(
        NUTS(model, target_accept_prob=target_accept, dense_mass=dense_mass),
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        chain_method=chain_method,
        progress_bar=progress,
    )
    init = z0 if num_chains > 1 else jax.tree.map(lambda x: x[0], z0)
    k_warmup, k_sample = jax.random.split(key)
    # Warm-up first, collecting the leapfrog steps of every warm-up iteration (the samples themselves are dropped).
    mcmc.warmup(
        k_warmup,
        data,
        extra_fields=("num_steps", *(f"~z.{name}" for name in z0)),
        collect_warmup=True,
        init_params=init,
        **model_kwargs,
    )
    steps_warmup = int(np.sum(np.asarray(mcmc.get_extra_fields()["num_steps"], dtype=np.int64)))
    mcmc.run(k_sample, data, extra_fields=tuple(_NUMPYRO_STATS), **model_kwargs)
    samples = jax.device_get(mcmc.get_samples(group_by_chain=True))
    fields = jax.device_get(mcmc.get_extra_fields(group_by_chain=True))
    stats = {arviz: np.asarray(fields[field]) for field, arviz in _NUMPYRO_STATS.items()}
    stats["lp"] = -stats["lp"]
    return samples, stats, steps_warmup, chain_method


def _run_blackjax(info, z0, key, num_warmup, num_samples, num_chains, target_accept, dense_mass, progress):
    import blackjax
    from blackjax.adaptation.base import get_filter_adapt_info_fn
    from tqdm.auto import tqdm

    def logdensity(z):
        return -info.potential_fn(z)

    warmup = blackjax.window_adaptation(
        blackjax.nuts,
        logdensity,
        target_acceptance_rate=target_accept,
        is_mass_matrix_diagonal=not dense_mass,
        adaptation_info_fn=get_filter_adapt_info_fn(info_keys={"num_integration_steps"}),
    )

    def one_chain(chain_key, position):
        k_warmup, k_sample = jax.random.split(chain_key)
        (state, parameters), warmup_info = warmup.run(k_warmup, position, num_warmup)
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

    chain_keys = jax.random.split(key, num_chains)
    # On CPU the chains run one after the other (see run_nuts, Notes); on accelerators they run vectorized.
    chain_method = "sequential" if jax.default_backend() == "cpu" else "vectorized"
    bar = tqdm(total=num_chains, desc=f"blackjax NUTS ({chain_method})", unit="chain", disable=not progress)
    with bar:
        if chain_method == "vectorized":
            out = jax.block_until_ready(jax.jit(jax.vmap(one_chain))(chain_keys, z0))
            bar.update(num_chains)
        else:
            run_chain = jax.jit(one_chain)
            per_chain = []
            for c in range(num_chains):
                per_chain.append(jax.block_until_ready(run_chain(chain_keys[c], jax.tree.map(lambda x: x[c], z0))))
                bar.update(1)
            out = jax.tree.map(lambda *xs: jnp.stack(xs), *per_chain)
    samples, stats, steps_warmup = jax.device_get(out)
    stats = {k: np.asarray(v) for k, v in stats.items()}
    return samples, stats, int(np.sum(steps_warmup, dtype=np.int64)), chain_method


# --------------------------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------------------------
def _dataset(arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> xr.Dataset:
    data_vars = {}
    for name, value in arrays.items():
        value = np.asarray(value)
        data_vars[name] = (("chain", "draw", *(f"{name}_dim_{i}" for i in range(value.ndim - 2))), value)
    n_chain, n_draw = np.shape(next(iter(arrays.values())))[:2]
    return xr.Dataset(data_vars, coords={"chain": np.arange(n_chain), "draw": np.arange(n_draw)}, attrs=dict(attrs))


def run_nuts(
    model: Callable,
    data: Any = None,
    /,
    *,
    backend: str = "numpyro",
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    seed: int = 0,
    target_accept: float = 0.8,
    dense_mass: bool = False,
    progress: bool = True,
    init_params: Mapping[str, Any] | None = None,
    neutra: bool | NeuTraSettings = False,
    **model_kwargs,
) -> xr.DataTree:
    """Sample a numpyro model with NUTS; return the chains as an ArviZ-compatible ``xarray.DataTree``.

    Parameters
    ----------
    model : numpyro model function, called as ``model(data, **model_kwargs)``. ``model`` and ``data`` are
        positional-only, so that a model may itself take keyword arguments of those names (``analytic_model(data,
        model=...)``: ``run_nuts(analytic_model, xod, model=my_analytic_model)``).
    data : its first argument (observations), passed through unchanged.
    backend : ``"numpyro"`` (``numpyro.infer.NUTS`` + ``MCMC``) or ``"blackjax"`` (``blackjax.window_adaptation``
        + ``blackjax.nuts`` on numpyro's potential energy in the unconstrained space).
    num_warmup, num_samples : warm-up (adaptation) iterations and kept draws per chain, >= 1.
    num_chains : independent chains, >= 1.
    seed : seed of the ``jax.random`` key (0 <= seed < 2**32); the same seed gives the same draws on the same machine.
    target_accept : target mean acceptance probability of the step-size adaptation, in (0, 1).
    dense_mass : adapt a dense (full covariance) mass matrix during warm-up instead of a diagonal one; much shorter
        trajectories on strongly correlated posteriors such as the 2+6 parameter analytical model.
    progress : show progress bars (numpyro's own; for blackjax a tqdm bar over chains); ``False`` silences them.
    init_params : optional ``{site: value}`` in the constrained space (the model's units), one value for all chains
        or with a leading ``num_chains`` axis; sites not named start at random (numpyro's ``init_to_uniform``).
    neutra : first fit a normalising flow to the posterior and run NUTS in its latent space (neural transport,
        :mod:`inference.neutra`; ``True`` for the default :class:`~inference.neutra.NeuTraSettings`). For posteriors
        with curved or varying-width degeneracies, such as the analytical model's. The chains then start at
        independent standard-normal points of the flow's latent space (approximate posterior draws); ``init_params``
        centres the flow's initial location instead. The fit's gradients and time count in ``n_grad_evals`` and
        ``wall_time_s`` (attributes ``n_grad_evals_neutra``, ``neutra_loss``: the final negative ELBO).
    **model_kwargs : keyword arguments of the model.

    Returns
    -------
    xarray.DataTree with groups ``posterior`` and ``sample_stats`` and the run's attributes (module docstring).

    Notes
    -----
    Chains. numpyro runs them ``"parallel"`` (one per device) when ``jax.local_device_count() >= num_chains`` (on
    CPU, more host devices exist only if the *application* called ``numpyro.set_host_device_count`` before JAX
    started). Otherwise both backends run them ``"vectorized"`` (``jax.vmap``) on accelerators and ``"sequential"``
    (one compiled chain function, called per chain) on CPU. Vectorized NUTS
    advances the chains in lock-step, each iteration as long as the longest trajectory and computed for all chains:
    on a 2-core CPU it compiled 1.5-2 s slower, and ran 10 % slower on a 20000-point logistic regression (it wins
    only on models whose gradient costs microseconds, where compilation dominates anyway). The ``chain_method``
    attribute records the choice.

    Timing. ``compile_time_s`` is the time JAX spent tracing, lowering and compiling during the run (from its
    monitoring events); ``wall_time_s`` is the rest of the wall time of the flow fit (with ``neutra``),
    initialisation, warm-up and sampling.

    Gradient evaluations. ``n_grad_evals`` adds the leapfrog steps of every warm-up and sampling iteration of all
    chains, as the samplers report them (numpyro's ``num_steps``, collected during warm-up with
    ``collect_warmup=True``; blackjax's ``num_integration_steps``), and with ``neutra`` the flow fit's
    (SVI steps x particles). The handful of evaluations of initialisation and of numpyro's initial step-size search
    are not counted.
    """
    _validate(model, backend, num_warmup, num_samples, num_chains, seed, target_accept, progress, init_params, neutra)
    model_kwargs = dict(model_kwargs)
    k_init, k_run = jax.random.split(jax.random.key(seed))
    sampled, flow = model, None
    with _CompileClock() as clock:
        t0 = time.perf_counter()
        if neutra is not False:
            from inference.neutra import SHARED_LATENT, NeuTraSettings, fit_neutra

            flow = fit_neutra(
                model, data, settings=neutra if isinstance(neutra, NeuTraSettings) else None, seed=seed,
                init_strategy=_init_strategy(values=dict(init_params or {}), num_chains=num_chains),
                progress=progress, **model_kwargs,
            )
            sampled = flow.model
            init_params = {SHARED_LATENT: jax.random.normal(k_init, (num_chains, flow.latent_dim))}
        info, z0 = _initialise(sampled, data, model_kwargs, k_init, num_chains, init_params)
        if backend == "numpyro":
            samples, stats, steps_warmup, chain_method = _run_numpyro(
                sampled, data, model_kwargs, z0, k_run, num_warmup, num_samples, num_chains, target_accept, dense_mass,
                progress,
            )
        else:
            samples, stats, steps_warmup, chain_method = _run_blackjax(
                info, z0, k_run, num_warmup, num_samples, num_chains, target_accept, dense_mass, progress
            )
        elapsed = time.perf_counter() - t0
    compile_s = min(clock.seconds, elapsed)

    import importlib.metadata

    import xcosmo

    if flow is not None:  # the flow's coordinates are internal: the posterior holds the model's own sites
        samples = {k: v for k, v in samples.items() if k != SHARED_LATENT}
    order = _posterior_order(info.model_trace)
    names = [n for n in order if n in samples] + sorted(set(samples) - set(order))
    steps_sampling = int(np.sum(stats["n_steps"], dtype=np.int64))
    steps_neutra = 0 if flow is None else flow.n_grad_evals
    attrs = {
        "backend": backend,
        "chain_method": chain_method,
        "num_warmup": num_warmup,
        "num_samples": num_samples,
        "num_chains": num_chains,
        "seed": seed,
        "target_accept": float(target_accept),
        "dense_mass": int(bool(dense_mass)),
        "wall_time_s": elapsed - compile_s,
        "compile_time_s": compile_s,
        "n_grad_evals": steps_neutra + steps_warmup + steps_sampling,
        "n_grad_evals_warmup": steps_warmup,
        "n_grad_evals_sampling": steps_sampling,
        "neutra": int(flow is not None),
        "n_grad_evals_neutra": steps_neutra,
        "neutra_loss": math.nan if flow is None else float(flow.losses[-1]),
        "model": getattr(model, "__qualname__", type(model).__name__),
        "device": jax.default_backend(),
        "x64": int(jax.config.jax_enable_x64),
        "xcosmo_version": xcosmo.__version__,
        "inference_library": backend,
        "inference_library_version": importlib.metadata.version(backend),
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    stats = {
        "diverging": stats["diverging"].astype(bool),
        "n_steps": stats["n_steps"].astype(np.int64),
        **{k: stats[k] for k in ("acceptance_rate", "step_size", "lp", "energy")},
    }
    group_attrs = {k: attrs[k] for k in ("backend", "inference_library", "inference_library_version", "created_at")}
    return xr.DataTree.from_dict(
        {
            "/": xr.Dataset(attrs=attrs),
            "posterior": _dataset({n: samples[n] for n in names}, group_attrs),
            "sample_stats": _dataset(stats, group_attrs),
        }
    )


def _posterior(tree: xr.DataTree, var_names: Sequence[str] | None) -> tuple[xr.Dataset, list[str]]:
    if not isinstance(tree, xr.DataTree) or "posterior" not in tree.children:
        raise ValueError(
            f"tree: expected an xarray.DataTree with a 'posterior' group (from run_nuts), got {type(tree).__name__}"
        )
    posterior = tree["posterior"].to_dataset()
    available = list(posterior.data_vars)
    if var_names is None:
        return posterior, available
    if isinstance(var_names, str):
        var_names = [var_names]
    unknown = [v for v in var_names if v not in available]
    if unknown or not var_names:
        raise ValueError(f"var_names = {list(var_names)!r}: unknown {unknown}; the posterior holds {available}")
    return posterior, list(var_names)


def _elements(posterior: xr.Dataset, var_names: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    """Each scalar component of the selected variables as ``(label, array (chain, draw))``, labels like ``mu[0]``."""
    out = []
    for name in var_names:
        values = np.asarray(posterior[name].values, dtype=np.float64)
        if values.ndim == 2:
            out.append((name, values))
            continue
        for index in np.ndindex(values.shape[2:]):
            out.append((f"{name}[{','.join(map(str, index))}]", values[(slice(None), slice(None), *index)]))
    return out


def summary(tree: xr.DataTree, var_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Posterior summary and sampling efficiency of a :func:`run_nuts` result, as a plain (JSON-serialisable) dict.

    Parameters
    ----------
    tree : the DataTree returned by :func:`run_nuts` (or read by :func:`load_chains`).
    var_names : posterior variables to summarise (default: all, deterministic sites included).

    Returns
    -------
    dict with

    - ``"variables"``: ``{label: {"mean", "std", "mcse_mean", "r_hat", "ess"}}``, one entry per scalar component
      (``"mu[1]"`` for element 1 of ``mu``), in the variables' units. ``r_hat`` is the split Gelman-Rubin statistic
      (``numpyro.diagnostics.split_gelman_rubin``; NaN with fewer than 4 draws); ``ess`` the effective sample size of
      the mean (``numpyro.diagnostics.effective_sample_size``: Geyer's initial monotone sequence over all chains, not
      rank-normalised, i.e. ArviZ's ``ess_mean``); ``mcse_mean = std / sqrt(ess)``.
    - ``"num_divergences"``: divergent transitions after warm-up, all chains.
    - ``"r_hat_max"``, ``"ess_min"`` and ``"ess_min_variable"``: the worst component.
    - ``"wall_time_s"``, ``"n_grad_evals"``: from the run's attributes (NaN if absent).
    - ``"ess_per_s"``: ``ess_min / wall_time_s`` [1/s], the wall time of warm-up + sampling without compilation;
      ``"ess_per_grad"``: ``ess_min / n_grad_evals``, warm-up gradients included.
    """
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    posterior, names = _posterior(tree, var_names)
    variables = {}
    for label, values in _elements(posterior, names):
        n_chain, n_draw = values.shape
        std = float(np.std(values, ddof=1)) if values.size > 1 else math.nan
        ess = float(effective_sample_size(values)) if n_draw >= 2 else math.nan
        r_hat = float(split_gelman_rubin(values)) if n_draw >= 4 else math.nan
        variables[label] = {
            "mean": float(np.mean(values)),
            "std": std,
            "mcse_mean": std / math.sqrt(ess) if ess > 0 else math.nan,
            "r_hat": r_hat,
            "ess": ess,
        }
    ess_all = {k: v["ess"] for k, v in variables.items() if np.isfinite(v["ess"])}
    worst = min(ess_all, key=ess_all.get) if ess_all else None
    ess_min = ess_all[worst] if worst is not None else math.nan
    r_hats = [v["r_hat"] for v in variables.values() if np.isfinite(v["r_hat"])]
    attrs = tree.attrs
    wall = float(attrs.get("wall_time_s", math.nan))
    grads = float(attrs.get("n_grad_evals", math.nan))
    divergences = 0
    if "sample_stats" in tree.children and "diverging" in tree["sample_stats"].data_vars:
        divergences = int(np.sum(tree["sample_stats"]["diverging"].values))
    return {
        "variables": variables,
        "num_divergences": divergences,
        "r_hat_max": max(r_hats) if r_hats else math.nan,
        "ess_min": ess_min,
        "ess_min_variable": worst,
        "wall_time_s": wall,
        "n_grad_evals": grads,
        "ess_per_s": ess_min / wall if wall > 0 else math.nan,
        "ess_per_grad": ess_min / grads if grads > 0 else math.nan,
    }


def format_summary(result: xr.DataTree | Mapping[str, Any], var_names: Sequence[str] | None = None) -> str:
    """A printable table of :func:`summary` (given the DataTree, or the dict :func:`summary` returned)."""
    if isinstance(result, xr.DataTree):
        backend = result.attrs.get("backend", "?")
        result = summary(result, var_names)
    else:
        backend = None
    width = max([8, *(len(k) for k in result["variables"])])
    lines = [f"{'variable':<{width}} {'mean':>11} {'std':>11} {'mcse_mean':>11} {'r_hat':>7} {'ess':>8}"]
    for label, s in result["variables"].items():
        lines.append(
            f"{label:<{width}} {s['mean']:>11.4g} {s['std']:>11.4g} {s['mcse_mean']:>11.3g} "
            f"{s['r_hat']:>7.3f} {s['ess']:>8.1f}"
        )
    lines.append(
        f"divergences: {result['num_divergences']}   r_hat max: {result['r_hat_max']:.3f}   "
        f"ESS min: {result['ess_min']:.1f} ({result['ess_min_variable']})"
    )
    lines.append(
        f"wall time (warm-up + sampling, no compilation): {result['wall_time_s']:.3g} s   "
        f"gradient evaluations: {result['n_grad_evals']:.4g}   ESS/s: {result['ess_per_s']:.4g}   "
        f"ESS/grad: {result['ess_per_grad']:.3g}" + (f"   backend: {backend}" if backend else "")
    )
    return "\n".join(lines)


def save_chains(tree: xr.DataTree, path: str | os.PathLike) -> Path:
    """Write a :func:`run_nuts` DataTree to a netCDF-4 (HDF5) file, atomically (h5netcdf engine); return the path.

    The file is what ArviZ writes (one HDF5 group per DataTree group); ``diverging`` is stored as int8 with a bool
    flag that xarray decodes back to bool.
    """
    if not isinstance(tree, xr.DataTree):
        raise ValueError(f"tree: expected an xarray.DataTree (from run_nuts), got {type(tree)}")
    path = Path(path)
    ensure_writable_dir(path.parent)
    with atomic_path(path) as tmp:
        tree.to_netcdf(tmp, engine="h5netcdf", mode="w")
    return path


def load_chains(path: str | os.PathLike) -> xr.DataTree:
    """Read a file written by :func:`save_chains` into memory (the file is closed on return).

    Raises ``FileNotFoundError`` if the file does not exist and ``ValueError`` if it is not a netCDF/HDF5 file with a
    ``posterior`` group.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chain file {str(path)!r} not found")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as opened:
            tree = opened.load().copy()
    except Exception as err:  # h5py/h5netcdf raise OSError, ValueError or their own types on corrupt files
        raise ValueError(f"chain file {str(path)!r} is not a readable netCDF/HDF5 chain file: {err}") from None
    if "posterior" not in tree.children:
        raise ValueError(f"chain file {str(path)!r} has no 'posterior' group (groups: {list(tree.children)})")
    return tree


def corner_plot(
    tree: xr.DataTree,
    path: str | os.PathLike,
    var_names: Sequence[str] | None = None,
    truths: Mapping[str, Any] | Sequence[float] | None = None,
) -> Path:
    """Corner plot (``corner`` package) of the posterior, written atomically as PNG; return the path.

    Parameters
    ----------
    tree : a :func:`run_nuts` DataTree; all chains are pooled.
    path : output PNG file.
    var_names : posterior variables to show (default: all); vector variables give one panel per component.
    truths : reference values drawn as lines: ``{variable: value}`` (array-valued for vector variables; missing
        variables get no line) or one number per plotted component, in order.
    """
    import corner
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    posterior, names = _posterior(tree, var_names)
    elements = _elements(posterior, names)
    labels = [label for label, _ in elements]
    samples = np.stack([values.reshape(-1) for _, values in elements], axis=-1)
    if truths is not None:
        if isinstance(truths, Mapping):
            unknown = sorted(set(truths) - set(names))
            if unknown:
                raise ValueError(f"truths: unknown variable(s) {unknown}; the plotted variables are {names}")
            flat = []
            for name in names:
                shape, value = posterior[name].shape[2:], truths.get(name)
                if value is None:
                    flat += [None] * math.prod(shape)
                else:
                    flat += list(np.broadcast_to(np.asarray(value, dtype=float), shape).ravel())
            truths = flat
        else:
            truths = list(truths)
            if len(truths) != len(labels):
                raise ValueError(f"truths: {len(truths)} values given for {len(labels)} plotted components {labels}")
    path = Path(path)
    ensure_writable_dir(path.parent)
    fig = Figure(figsize=(2.2 * len(labels) + 0.8,) * 2)
    FigureCanvasAgg(fig)
    lo, hi = samples.min(axis=0), samples.max(axis=0)
    ranges = [(a, b) if b > a else (a - 0.5 * abs(a) - 0.5, b + 0.5 * abs(b) + 0.5) for a, b in zip(lo, hi)]
    corner.corner(samples, labels=labels, truths=truths, range=ranges, fig=fig, show_titles=True, title_fmt=".3g")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return path
