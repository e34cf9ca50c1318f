"""Neural-transport (NeuTra) reparametrisation: NUTS in the latent space of a normalising flow fitted to the posterior.

Hoffman et al. (2019, arXiv:1903.03704): fit a flow q = T_# N(0, I) to the posterior p(x | data) of a model's
parameters x by maximising the evidence lower bound (stochastic variational inference, SVI), then run HMC on the
pulled-back density

    p~(z) = p(T(z) | data) |det dT/dz|,

which is close to N(0, I) wherever q is close to p. A curved or varying-width degeneracy of x becomes a nearly
isotropic Gaussian in z, and NUTS takes long steps through it; the draws T(z) are exact draws of p (the flow only
changes the coordinates, not the target), so a mediocre flow costs efficiency, never correctness.

The analytical cluster-count posterior is such a case: with the paper's uniform priors on Omega_m and sigma_8 and
free scaling relations, the (Omega_m, sigma_8, A_MT, alpha_MT) degeneracy is a bent ridge whose width changes
along it (the Hessian of ln p, whitened by the posterior covariance, is far from the identity across the
posterior). NUTS with a dense mass matrix then needs many short leapfrog steps per effective draw; in the flow's
coordinates it takes far fewer (measured in ``bench/test_bench_mcmc.py``).

The flow is numpyro's :class:`~numpyro.infer.autoguide.AutoIAFNormal` (inverse autoregressive flow, Kingma et al.
2016) on the model's unconstrained latent vector, and the reparametrisation numpyro's
:class:`~numpyro.infer.reparam.NeuTraReparam`; both samplers of :func:`inference.mcmc.run_nuts` take the result.

For a posterior that is nearly Gaussian but narrow and correlated far beyond its prior (the emulated-relation
model: sigma(Omega_m) ~ 0.003), the flow can be the affine map of the Laplace approximation instead
(``NeuTraSettings(flow="laplace")``, numpyro's :class:`~numpyro.infer.autoguide.AutoLaplaceApproximation`): the
maximum a posteriori point x* found by L-BFGS, and T(z) = x* + L z with L L^T the inverse Hessian of -ln p at x*.
NUTS starts inside the posterior with its shape already whitened, instead of spending its first warm-up window, before any mass matrix is adapted, on trajectories of
a thousand steps of the size the narrowest direction allows.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from xcosmo.checks import check_bool, check_choice, check_integer, check_number, check_type, fail
from xcosmo.precision import float64

__all__ = ["NeuTraSettings", "NeuTra", "fit_neutra", "flow_check", "SHARED_LATENT", "FLOWS"]

CHECK_BATCH = 64
"""Flow draws evaluated together by :func:`flow_check`: the emulated-relation model holds ~24 MB per evaluation."""

FLOWS = ("iaf", "laplace")
"""The maps :class:`NeuTraSettings` can fit: an inverse autoregressive flow, or the Laplace approximation's affine
map."""

SHARED_LATENT = "auto_shared_latent"
"""Name of the flow's latent sample site in the reparametrised model (numpyro's autoguide prefix ``auto``)."""


@dataclasses.dataclass(frozen=True)
class NeuTraSettings:
    """How the flow is fitted.

    Attributes
    ----------
    flow : ``"iaf"`` (an inverse autoregressive flow, :class:`~numpyro.infer.autoguide.AutoIAFNormal`) or
        ``"laplace"`` (the affine map of the Laplace approximation at the posterior's mode,
        :class:`~numpyro.infer.autoguide.AutoLaplaceApproximation`, the mode found by L-BFGS: ``num_particles``,
        ``learning_rate``, ``num_flows`` and ``hidden_dims`` do not apply); one of :data:`FLOWS`.
    num_steps : SVI (Adam) steps; for the Laplace map, L-BFGS iterations at most. The default is long enough for
        the analytical model: a closer flow (smaller variance of the log importance weights log p/q) buys more ESS
        per gradient than the fit costs.
    num_particles : Monte Carlo draws per ELBO estimate; each costs one gradient of the model's log density.
    learning_rate : initial Adam learning rate, decayed exponentially to a tenth of it over ``num_steps``.
    num_flows : IAF layers.
    hidden_dims : widths of each layer's autoregressive network (MADE).
    max_fits : fits at most (seeds ``seed``, ``seed + 1``, ...): a fit that does not meet ``refit_pareto_k`` is
        followed by another, and the flow with the smallest :meth:`misfit` is kept.
    refit_pareto_k : the Pareto k of the log importance weights ln p/q (:func:`flow_check`) above which another fit is
        tried. Below 0.5 importance sampling from the flow converges at the Monte Carlo rate; between 0.5 and 0.7 it
        still works, more slowly (Vehtari et al. 2024), and NUTS in the flow's latent space may meet its walls: on the
        analytical Asimov posterior, the flow of seed 6 (k = 0.57, effective sample fraction 0.42) made both backends
        diverge (20 and 5 of 8000 draws) where the best of three fits (k = 0.55, fraction 0.59) gave none and 2.4-4
        times the effective sample size. A fit costs 2-3 minutes there.
    max_pareto_k : the Pareto k above which a flow is poor, and the user warned if no fit does better. Above 0.7
        the weights' tail is too heavy for importance sampling (Vehtari et al. 2024): the flow is narrower than the
        posterior somewhere in its tails, and NUTS in its latent space must go far out, where the flow extrapolates,
        to reach them (long trajectories, divergent transitions). On the analytical Asimov posterior the default
        flow has k = 0.27-0.57 at seeds 3, 4, 5, 6, 8 and 9 and 0.84 at seed 7, the seed at which NUTS was three
        times slower than emcee and numpyro diverged 7 times.
    max_log_weight_variance : the variance of ln p/q above which a flow is poor: a flow far from the posterior
        everywhere, also where it is wider (then k is small). A flow fitted to a banana for 5 steps has about 6000.
    num_check_draws : draws of the flow for the check (each costs one log density).
    """

    flow: str = "iaf"
    num_steps: int = 10000
    num_particles: int = 4
    learning_rate: float = 3e-3
    num_flows: int = 3
    hidden_dims: tuple[int, ...] = (64, 64)
    max_fits: int = 3
    refit_pareto_k: float = 0.5
    max_pareto_k: float = 0.7
    max_log_weight_variance: float = 1.0
    num_check_draws: int = 4000

    def __post_init__(self) -> None:
        check_choice("NeuTraSettings.flow", self.flow, FLOWS)
        checked = {
            name: check_integer(f"NeuTraSettings.{name}", getattr(self, name), 1)
            for name in ("num_steps", "num_particles", "num_flows", "max_fits", "num_check_draws")
        }
        for name in ("refit_pareto_k", "max_pareto_k", "max_log_weight_variance"):
            checked[name] = check_number(f"NeuTraSettings.{name}", getattr(self, name), 0.0, math.inf, open=True)
        checked["learning_rate"] = check_number("NeuTraSettings.learning_rate", self.learning_rate, 0.0, 1.0, open=True)
        dims = check_type("NeuTraSettings.hidden_dims", self.hidden_dims, (tuple, list), "a tuple of integers")
        if not dims:
            fail("NeuTraSettings.hidden_dims", self.hidden_dims, "expected one or more layer widths")
        checked["hidden_dims"] = tuple(
            check_integer(f"NeuTraSettings.hidden_dims[{i}]", d, 1) for i, d in enumerate(dims)
        )
        for name, value in checked.items():  # plain Python values from here on
            object.__setattr__(self, name, value)

    def misfit(self, check: Mapping[str, float]) -> float:
        """How poor a flow is by its :func:`flow_check`: the larger of ``pareto_k / max_pareto_k`` and
        ``log_weight_variance / max_log_weight_variance``; above 1 the flow is poor."""
        return max(check["pareto_k"] / self.max_pareto_k, check["log_weight_variance"] / self.max_log_weight_variance)


@dataclasses.dataclass(frozen=True)
class NeuTra:
    """A fitted flow and the model reparametrised by it.

    Attributes
    ----------
    model : the reparametrised numpyro model, called like the original one; its only latent sample site is
        :data:`SHARED_LATENT` (standard normal, dimension = the original unconstrained dimension), and every original
        site is recomputed from it (so posterior draws keep their names and units).
    guide, params : the trained :class:`~numpyro.infer.autoguide.AutoIAFNormal` and its parameters.
    losses : the negative ELBO at every SVI step (the Laplace map: -ln p at every L-BFGS iteration).
    settings : the :class:`NeuTraSettings` used.
    n_grad_evals : evaluations of the model's log density spent fitting and checking: per fit ``num_steps *
        num_particles`` gradients (the Laplace map: those of its L-BFGS iterations and line searches) and
        ``num_check_draws`` log densities (counted as gradients).
    wall_time_s : wall time of the fits and checks, compilation included.
    check : the kept flow's :func:`flow_check` (empty if unchecked).
    checks : every fit's, in order.
    """

    model: Callable
    guide: Any
    params: Mapping[str, Any]
    losses: np.ndarray
    settings: NeuTraSettings
    n_grad_evals: int
    wall_time_s: float
    check: Mapping[str, float] = dataclasses.field(default_factory=dict)
    checks: tuple[Mapping[str, float], ...] = ()

    @property
    def latent_dim(self) -> int:
        return int(self.guide.latent_dim)


def flow_check(flow_model: Callable, latent_dim: int, data: Any, key: jax.Array, n: int, **model_kwargs) -> dict:
    """How close the flow q is to the posterior p, from the log importance weights ln w = ln p~(z) - ln N(z; 0, I)
    of ``n`` draws z ~ N(0, I) of its latent space (p~: the posterior pulled back by the flow, the reparametrised
    model ``flow_model``; unknown normalisations cancel):

    - ``ess_fraction``: Kish's effective sample size of the weights, (sum w)^2 / sum w^2, over ``n`` (1 for a perfect
      flow, small where a few draws carry the weight);
    - ``pareto_k``: the shape of the generalised Pareto distribution fitted to the largest weights (ArviZ's
      ``psislw``, Vehtari et al. 2024): above 0.7 the weights' tail is too heavy for importance sampling;
    - ``log_weight_variance``: the variance of ln w (0 for a perfect flow).

    Draws where ln p~ is not finite make ``pareto_k`` and the variance infinite. The draws are evaluated
    :data:`CHECK_BATCH` at a time (a model's intermediate arrays times 4000 draws need not fit in memory)."""
    import arviz
    import jax.numpy as jnp
    from numpyro.infer.util import potential_energy

    z = jax.random.normal(key, (n, latent_dim))
    energy = jax.lax.map(lambda x: potential_energy(flow_model, (data,), model_kwargs, {SHARED_LATENT: x}), z,
                         batch_size=CHECK_BATCH)
    log_w = np.asarray(-energy + 0.5 * jnp.sum(z**2, axis=1), dtype=np.float64)
    if not np.isfinite(log_w).all():
        return {"pareto_k": math.inf, "log_weight_variance": math.inf, "ess_fraction": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ's own warning of a large k: this function reports it
        _, k = arviz.psislw(log_w)
    w = np.exp(log_w - log_w.max())
    return {"pareto_k": float(k), "log_weight_variance": float(np.var(log_w)),
            "ess_fraction": float(w.sum() ** 2 / (w**2).sum() / n)}  # fmt: skip


@float64
def fit_neutra(
    model: Callable,
    data: Any = None,
    /,
    *,
    settings: NeuTraSettings | None = None,
    seed: int = 0,
    init_strategy: Callable | None = None,
    progress: bool = False,
    **model_kwargs,
) -> NeuTra:
    """Fit an inverse autoregressive flow to the posterior of ``model(data, **model_kwargs)`` by SVI, and check it.

    ``settings`` defaults to ``NeuTraSettings()``; ``seed`` (0 <= seed < 2**32) seeds the first fit (the k-th uses
    ``seed + k``); ``init_strategy`` is a numpyro initialisation strategy for the flow's initial location (default
    ``init_to_uniform``; e.g. ``numpyro.infer.init_to_value(values={...})``); ``progress`` shows numpyro's progress
    bar. Every fit is checked (:func:`flow_check`); a fit with a Pareto k above ``settings.refit_pareto_k``, or a poor
    one (k above ``settings.max_pareto_k`` or variance of the log weights above ``settings.max_log_weight_variance``),
    is followed by another, up to ``settings.max_fits``, and the one with the smallest :meth:`NeuTraSettings.misfit`
    is kept; if it is poor, a ``RuntimeWarning`` names the diagnostics and their values. The fit runs in float64 (:func:`xcosmo.precision.float64`).
    Raises ``ValueError`` if the log density is not finite at the start, or the loss is not finite at the end (the
    flow then cannot be used).
    """
    check_type("model", model, Callable, "a numpyro model function, called as model(data, **model_kwargs)")
    check_type("settings", settings, (NeuTraSettings, type(None)), "None or an inference.neutra.NeuTraSettings")
    settings = NeuTraSettings() if settings is None else settings
    check_integer("seed", seed, 0, 2**32 - settings.max_fits)  # the k-th fit uses seed + k
    check_bool("progress", progress)
    if init_strategy is not None:
        check_type("init_strategy", init_strategy, Callable, "None or a numpyro init strategy")
    t0 = time.perf_counter()
    best, checks, n_evals = None, [], 0
    for k in range(settings.max_fits):
        flow = _fit_once(model, data, settings, seed + k, init_strategy, progress, model_kwargs)
        n_evals += flow.n_grad_evals + settings.num_check_draws
        checks.append(flow_check(flow.model, flow.latent_dim, data, jax.random.key(seed + k), settings.num_check_draws,
                                 **model_kwargs))  # fmt: skip
        if best is None or settings.misfit(checks[-1]) < settings.misfit(best[1]):
            best = (flow, checks[-1])
        if settings.misfit(checks[-1]) <= 1 and checks[-1]["pareto_k"] <= settings.refit_pareto_k:
            break
    flow, check = best
    fits = len(checks)
    if settings.misfit(check) > 1:
        each = "; ".join(f"k {c['pareto_k']:.3g}, variance {c['log_weight_variance']:.3g}" for c in checks)
        warnings.warn(
            f"NeuTra: the flow is a poor fit to the posterior: Pareto k of the log importance weights = "
            f"{check['pareto_k']:.3g} (max_pareto_k = {settings.max_pareto_k:g}), variance of the log weights = "
            f"{check['log_weight_variance']:.3g} (max_log_weight_variance = {settings.max_log_weight_variance:g}); "
            f"best of {fits} fits ({each}); effective sample fraction {check['ess_fraction']:.3g}. NUTS in its "
            "latent space will be slow or diverge: raise NeuTraSettings.num_steps or max_fits, or start the fit "
            "inside the posterior (init_params)",
            RuntimeWarning, stacklevel=2,
        )  # fmt: skip
    return dataclasses.replace(
        flow, check=check, checks=tuple(checks),
        n_grad_evals=n_evals,
        wall_time_s=time.perf_counter() - t0,
    )  # fmt: skip


def _fit_once(model, data, settings: NeuTraSettings, seed: int, init_strategy, progress: bool, model_kwargs) -> NeuTra:
    """One fit of the flow (:func:`fit_neutra`), unchecked: SVI for the IAF, the posterior's mode for the Laplace
    map (:func:`_mode`)."""
    import optax
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoIAFNormal, AutoLaplaceApproximation
    from numpyro.infer.initialization import init_to_uniform
    from numpyro.infer.reparam import NeuTraReparam

    if settings.flow == "laplace":
        guide = AutoLaplaceApproximation(model, init_loc_fn=init_strategy or init_to_uniform)
    else:
        guide = AutoIAFNormal(
            model, init_loc_fn=init_strategy or init_to_uniform, num_flows=settings.num_flows,
            hidden_dims=list(settings.hidden_dims),
        )
    schedule = optax.exponential_decay(settings.learning_rate, settings.num_steps, 0.1)
    particles = 1 if settings.flow == "laplace" else settings.num_particles  # a point mass: one draw is exact
    svi = SVI(model, guide, optax.adam(schedule), Trace_ELBO(num_particles=particles))  # Laplace: its loss only
    t0 = time.perf_counter()
    try:
        if settings.flow == "laplace":
            params, losses, n_evals = _mode(svi, jax.random.key(seed), settings.num_steps, progress, data, model_kwargs)
        else:
            result = svi.run(jax.random.key(seed), settings.num_steps, data, progress_bar=progress, **model_kwargs)
            params, losses = result.params, np.asarray(result.losses)
            n_evals = settings.num_steps * settings.num_particles
    except RuntimeError as err:
        if "Cannot find valid initial parameters" not in str(err):
            raise
        raise ValueError(
            "NeuTra: the log density or its gradient is not finite at the start values of the flow "
            "(init_strategy, by default numpyro's random init_to_uniform); start it inside the posterior"
        ) from None
    if not np.isfinite(losses[-1]):
        raise ValueError(
            f"NeuTra: the ELBO is not finite after {len(losses)} "
            f"{'L-BFGS iterations' if settings.flow == 'laplace' else 'SVI steps'} (last loss {losses[-1]}); "
            f"try a smaller learning_rate or start (init_strategy) inside the posterior"
        )
    reparam = NeuTraReparam(guide, params)
    if settings.flow == "laplace":  # the Hessian: one forward-mode derivative of the gradient per dimension
        n_evals += int(guide.latent_dim)
    return NeuTra(
        model=reparam.reparam(model),
        guide=guide,
        params=params,
        losses=losses,
        settings=settings,
        n_grad_evals=n_evals,
        wall_time_s=time.perf_counter() - t0,
    )


MODE_GTOL = 1e-6
"""The Laplace map's mode is found when the gradient of ln p in the unconstrained space is smaller than this (2-norm,
nats per unit)."""


def _mode(svi, key: jax.Array, max_steps: int, progress: bool, data, model_kwargs) -> tuple[dict, np.ndarray, int]:
    """The mode of the posterior, where the Laplace guide's point mass sits: L-BFGS (optax, zoom line search) on -ln p,
    which is deterministic for a point mass, until the gradient's norm is below :data:`MODE_GTOL` or after
    ``max_steps`` iterations. Returns the guide's parameters, -ln p after each iteration and the number of gradient
    evaluations (line-search trials included). Adam, at one stochastic step per gradient, crawls along the narrow
    curved ridges of such posteriors: thousands of steps leave it tens of nats from the mode."""
    import optax
    from tqdm.auto import tqdm

    state = svi.init(key, data, **model_kwargs)
    params = svi.get_params(state)

    def loss(p):
        return svi.loss.loss(key, p, svi.model, svi.guide, data, **model_kwargs)

    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss)

    @jax.jit
    def step(p, opt_state):
        value, grad = value_and_grad(p, state=opt_state)
        updates, opt_state = solver.update(grad, opt_state, p, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(p, updates), opt_state, value, optax.tree_utils.tree_norm(grad)

    opt_state, losses, n_evals = solver.init(params), [], 1
    for _ in tqdm(range(max_steps), desc="Laplace mode", disable=not progress, leave=False):
        params, opt_state, value, gnorm = step(params, opt_state)
        losses.append(float(value))
        n_evals += int(optax.tree_utils.tree_get(opt_state, "num_linesearch_steps"))
        if not np.isfinite(losses[-1]) or float(gnorm) < MODE_GTOL:
            break
    return params, np.asarray(losses), n_evals
