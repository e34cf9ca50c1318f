"""NUTS (numpyro and blackjax, :func:`inference.mcmc.run_nuts`) against emcee on the same log density.

Target (default): the analytical cluster-count model ``inference.likelihood.numpyro_model`` on the Asimov XOD at the
fiducial (``asimov_data()``, 8 x 12 x 12 bins), float64, chains and walkers started at the prior means (for its
priors: the fiducial cosmology and scaling relations), NUTS with a dense mass matrix by default. ``--target toy``
samples a small conjugate model instead (seconds), ``--target module:function`` any function returning a
:class:`Target`.

- NUTS: ``num_chains`` chains x (``num_warmup`` + ``num_samples``); cost = leapfrog steps (gradient evaluations)
  of warm-up and sampling, from the run's ``n_grad_evals``. Mass matrix ("mass" column): ``run_nuts``'s
  ``dense_mass``, by default the target's (:attr:`Target.dense_mass`: dense for the analytical model, whose 8
  parameters are strongly correlated, diagonal for the toy); ``--dense-mass`` / ``--no-dense-mass`` override it.
- emcee: ``emcee.EnsembleSampler`` (stretch move), ``n_walkers`` walkers, ``n_steps`` steps of which the first
  ``burn`` are discarded, on numpyro's potential energy of the same model in the same unconstrained space, jitted and
  vectorised over walkers (``vectorize=True``); cost = log-density evaluations (``n_walkers x n_steps``, no gradient:
  a reverse-mode gradient costs a few times one evaluation).
- ESS of the worst latent parameter. For emcee ``n_walkers x n_kept / tau`` with ``tau`` from
  ``sampler.get_autocorr_time`` (the walkers' mean autocorrelation); for NUTS the same estimator on the chains
  (``emcee.autocorr.integrated_time``, "ESS(tau)"), both in the unconstrained space the samplers move in (the
  sample sites themselves for Gaussian priors: for the analytical model the standard-normal ``<name>_std`` of all
  eight parameters, probit coordinates for the uniform priors of Omega_m and sigma_8); the ratios use ESS(tau).
  "ESS(np)" beside it is the multi-chain ESS of the latent sites in their own units (:func:`summary`: ArviZ's bulk
  ESS; the table below was measured with numpyro's ``effective_sample_size``).
- Wall times exclude compilation (NUTS: ``wall_time_s``; emcee: the first, compiling, call is timed apart).

The comparison runs at every seed of ``--seeds`` (default :data:`DEFAULT_SEEDS`, five), prints each seed's rows, then
for each NUTS backend the ESS/s and ESS/eval ratios against emcee seed by seed, their median and range, the divergent
draws summed over seeds and the largest R-hat. Each row's "flow check" is the kept flow's Pareto k, variance of the log
importance weights, effective sample fraction and number of fits (:mod:`inference.neutra`).

Run: ``python bench/test_bench_mcmc.py [--target toy] [--seeds 3,4,5,6,7] [--chains 4 --warmup 1000 --samples 2000
--walkers 32 --steps 5000 --burn 1000] [--no-dense-mass]``, or ``python -m pytest bench/test_bench_mcmc.py --benchmark-enable -s``
(skipped without ``--benchmark-enable``; the sizes, seeds, target and mass matrix then come from ``XCOSMO_BENCH_MCMC``,
e.g. ``XCOSMO_BENCH_MCMC="target=analytic warmup=500 dense_mass=0 seeds=0,1"``; the default target is ``analytic`` on an
accelerator and ``toy`` on a CPU). The analytical target costs about 2.2 ms per gradient on a 2-core CPU, so its
full comparison (about 2.3e5 gradients per NUTS backend with the defaults, 1.6e5 log densities for emcee, about 25
minutes per seed) runs on a laptop, five seeds in about two hours here; the pytest entry point still defaults to the
toy on a CPU.

Over the 5 default seeds at commit 9657823 (4 chains x (1000 + 2000), flows refitted while their Pareto k exceeds
0.5; the README's performance section has every row): ESS/s against emcee, numpyro median x2.25 (range
x1.42-x3.81), blackjax median x2.01 (x0.81-x4.23); no divergent draw; R-hat <= 1.003. With flows
refitted only above k 0.7 (commit 7634d60) seed 6 diverged (numpyro 20, blackjax 5 of 8000 draws) and lost to
emcee.

With 1000 draws per chain (commit 6871e2c) seed 7 gave numpyro 2.59 and blackjax 3.98 ESS/s against emcee's
3.94: NUTS's fixed cost (flow fits, warm-up) is paid once, so its lead grows with the draws.

Measured on this project's 2-core CPU (2026-11-26, quiet machine; jax 0.10.2, numpyro 0.22.0, blackjax 1.7.1,
emcee 3.1.6), analytic target, the defaults of then (NUTS + NeuTra with a 10000-step flow fit, 4 chains x (1000 + 1000), dense
mass, target acceptance 0.97, chains sequential; emcee 32 walkers x 5000 steps, 1000 burn-in; seed 0),
``python bench/test_bench_mcmc.py --quiet`` at commit 8c0e902:

    sampler                              mass  compile s  wall s   evals   ESS(tau)  ESS(np)  ESS/s  ESS/eval  r_hat  div
    emcee (32 walkers)                   -           1.7   197.5  160000     622       -     3.15  0.0039      -      0
    NUTS numpyro + NeuTra (sequential)   dense     108.1   362.3  150767    2597     2483    7.17  0.0172   1.001    0
    NUTS blackjax + NeuTra (sequential)  dense      37.4   405.7  168078    2305     2209    5.68  0.0137   1.001    0

    NUTS numpyro + NeuTra / emcee:  ESS/s x2.28, ESS/eval x4.43
    NUTS blackjax + NeuTra / emcee: ESS/s x1.81, ESS/eval x3.53

NUTS evals include the flow fit's 40000 gradients and its wall time includes the fit; with compilation counted too,
numpyro is still x1.8 ahead of emcee. emcee's own tau (105-206 steps) is more than 1/50 of its 4000 kept steps, so
emcee flags its ESS as uncertain (integrated autocorrelation times of short chains are biased low: its ESS is, if
anything, optimistic).

History (same CPU): at commit ce12eca (slower likelihood, logit coordinates for the uniform priors, a 5000-step fit,
numpyro's chains vectorized, target acceptance 0.95) the goal was not met: ESS/s x0.35 (numpyro) and x0.68
(blackjax) of emcee; what changed since: the Lagrangian windows of the mass function tabulated once (ln L value +
gradient 5.9 -> 4.1 ms), numpyro's chains run one after the other (vectorized, every step pays the longest
trajectory of the four), Omega_m and sigma_8 sampled in probit coordinates (the uniform priors exactly, with
Gaussian tails that NUTS crosses smoothly) and the flow fitted for 10000 steps (variance of the log importance
weights 0.31 instead of 0.45-0.97). At target acceptance 0.95 blackjax had 1 divergent draw of 4000 (seed 1); at 0.97
none, on either backend, for seeds 0 and 1. On a lent H100 (2026-11-24) plain NUTS (no flow, acceptance 0.8)
reached ESS/s x0.32 (blackjax) and x0.095 (numpyro) of emcee with 2-3 % divergent transitions: the posterior's bent,
varying-width ridge (the Hessian of ln p whitened by the posterior covariance has largest eigenvalues 10-100 instead
of 1) is what the flow (:mod:`inference.neutra`) straightens. On the toy target NUTS wins per evaluation (x2-4).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
import os
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inference.mcmc import DEFAULT_TARGET_ACCEPT, NUTSSettings


@dataclasses.dataclass(frozen=True)
class Target:
    """A numpyro model to benchmark: ``model(data, **model_kwargs)``, started at ``init_params`` (constrained)."""

    name: str
    model: Callable
    data: Any
    init_params: dict[str, Any] | None = None
    model_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    x64: bool = False
    dense_mass: bool = False  # NUTS's default mass matrix for this target (run_nuts's dense_mass)
    neutra: bool = False  # NUTS's default: in the latent space of a flow fitted to the posterior (run_nuts's neutra)
    target_accept: float = DEFAULT_TARGET_ACCEPT  # NUTS's target acceptance probability (run_nuts's target_accept)


def prior_mean_start(model: Callable, data: Any, model_kwargs: dict | None = None, x64: bool = False) -> dict:
    """Constrained values of the latent sites at their prior means (numpyro's ``init_to_mean``)."""
    from numpyro.infer.initialization import init_to_mean
    from numpyro.infer.util import initialize_model

    with jax.enable_x64(x64):
        info = initialize_model(jax.random.key(0), model, init_strategy=init_to_mean, model_args=(data,),
                                model_kwargs=model_kwargs or {})
        values = info.postprocess_fn(info.param_info.z)
    return {name: np.asarray(values[name]) for name in info.param_info.z}


def analytic_target() -> Target:
    """The analytical XOD model on its Asimov data at the fiducial, float64, started at the prior means (for
    ``numpyro_model``'s priors: the fiducial cosmology and scaling relations); NUTS with a dense mass matrix in the
    latent space of a flow fitted to the posterior (its 8 parameters lie on a bent, varying-width ridge)."""
    from inference.likelihood import numpyro_model, asimov_data

    data = asimov_data()
    start = prior_mean_start(numpyro_model, data, x64=True)
    return Target("analytic XOD", numpyro_model, data, init_params=start, x64=True, dense_mass=True, neutra=True,
                  target_accept=0.97)  # the acceptance test's settings (tests/test_nuts_analytic.py)


def toy_target() -> Target:
    """A correlated 2-D Gaussian mean and a Gamma-Poisson rate: seconds on a CPU."""
    import numpyro
    import numpyro.distributions as dist

    def toy(data):
        mu = numpyro.sample("mu", dist.MultivariateNormal(jnp.zeros(2), jnp.array([[1.0, 0.6], [0.6, 2.0]])))
        rate = numpyro.sample("rate", dist.Gamma(3.0, 0.5))
        with numpyro.plate("obs", data["y"].shape[0]):
            numpyro.sample("y", dist.MultivariateNormal(mu, jnp.array([[0.8, -0.3], [-0.3, 0.5]])), obs=data["y"])
        with numpyro.plate("bins", data["counts"].shape[0]):
            numpyro.sample("counts", dist.Poisson(rate), obs=data["counts"])

    data = {"y": jnp.array([[0.9, -1.1], [1.6, -0.2], [0.4, -0.9], [1.2, -1.4]]), "counts": jnp.arange(3.0, 13.0)}
    return Target("toy (3 params)", toy, data)


TARGETS: dict[str, Callable[[], Target]] = {"analytic": analytic_target, "toy": toy_target}


def get_target(spec: str) -> Target:
    """``"analytic"``, ``"toy"`` or ``"package.module:function"`` returning a :class:`Target`."""
    if spec in TARGETS:
        return TARGETS[spec]()
    module, _, func = spec.partition(":")
    if not func:
        raise ValueError(f"target = {spec!r}: expected one of {sorted(TARGETS)} or 'module:function'")
    return getattr(importlib.import_module(module), func)()


def latent_sites(target: Target) -> list[str]:
    """The model's latent sample sites, in its order."""
    from numpyro.infer.initialization import init_to_value
    from numpyro.infer.util import initialize_model

    with jax.enable_x64(target.x64):
        info = initialize_model(
            jax.random.key(0), target.model, init_strategy=init_to_value(values=target.init_params or {}),
            model_args=(target.data,), model_kwargs=target.model_kwargs,
        )
    return [n for n, s in info.model_trace.items() if s["type"] == "sample" and not s["is_observed"]]


def unconstrained_draws(target: Target, tree, latent: list[str]) -> np.ndarray:
    """The latent draws of a run_nuts result in numpyro's unconstrained space, shape (draw, chain, n_dim)."""
    from numpyro.infer.util import unconstrain_fn

    post = tree["posterior"]
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    flat = {n: jnp.asarray(post[n].values).reshape(n_chain * n_draw, *post[n].shape[2:]) for n in latent}
    z = jax.jit(jax.vmap(lambda p: unconstrain_fn(target.model, (target.data,), target.model_kwargs, p)))(flat)
    cols = [np.asarray(z[n]).reshape(n_chain, n_draw, -1) for n in latent]
    return np.concatenate(cols, axis=-1).transpose(1, 0, 2)


def run_nuts_row(target: Target, backend: str, latent: list[str], *, num_chains, num_warmup, num_samples, seed,
                 progress, dense_mass: bool | None = None, neutra: bool | None = None) -> dict:
    """One NUTS run; ``dense_mass=None`` / ``neutra=None`` take the target's defaults."""
    import emcee

    from inference.mcmc import run_nuts, summary

    dense_mass = target.dense_mass if dense_mass is None else bool(dense_mass)
    neutra = target.neutra if neutra is None else bool(neutra)
    with jax.enable_x64(target.x64):
        tree = run_nuts(
            target.model, target.data, backend=backend, num_warmup=num_warmup, num_samples=num_samples,
            num_chains=num_chains, seed=seed, dense_mass=dense_mass, progress=progress,
            init_params=target.init_params, neutra=neutra, target_accept=target.target_accept, **target.model_kwargs,
        )
        draws = unconstrained_draws(target, tree, latent)
    tau = emcee.autocorr.integrated_time(draws, quiet=True)
    s = summary(tree, latent)
    ess_tau = float(np.min(num_chains * num_samples / tau))
    a = tree.attrs
    return {
        "sampler": f"NUTS {backend}{' + NeuTra' if neutra else ''} ({a['chain_method']})",
        "draws": f"{num_chains} x ({num_warmup} + {num_samples}), acc {target.target_accept:g}",
        "mass": "dense" if int(a.get("dense_mass", dense_mass)) else "diag",
        "compile_s": a["compile_time_s"],
        "wall_s": a["wall_time_s"],
        "evals": a["n_grad_evals"],
        "eval_kind": "grad",
        "ess_tau": ess_tau,
        "ess_numpyro": s["ess_min"],
        "r_hat_max": s["r_hat_max"],
        "divergences": s["num_divergences"],
        "flow": (f"k {a['neutra_pareto_k']:.2f}, var ln w {a['neutra_log_weight_variance']:.2f}, ESS frac "
                 f"{a['neutra_ess_fraction']:.2f}, {a['neutra_fits']} fit(s) in {a['neutra_wall_time_s']:.0f} s") if neutra else "",
    }


def run_emcee_row(target: Target, *, n_walkers, n_steps, burn, seed, progress) -> dict:
    import emcee
    from jax.flatten_util import ravel_pytree
    from numpyro.infer.initialization import init_to_value
    from numpyro.infer.util import initialize_model

    with jax.enable_x64(target.x64):
        info = initialize_model(
            jax.random.key(seed), target.model, init_strategy=init_to_value(values=target.init_params or {}),
            model_args=(target.data,), model_kwargs=target.model_kwargs,
        )
        z0, unravel = ravel_pytree(info.param_info.z)
        logp = jax.jit(jax.vmap(lambda x: -info.potential_fn(unravel(x))))

        def log_prob(xs: np.ndarray) -> np.ndarray:
            out = np.asarray(logp(jnp.asarray(xs)), dtype=np.float64)
            return np.where(np.isfinite(out), out, -np.inf)

        rng = np.random.default_rng(seed)
        p0 = np.asarray(z0) + 1e-3 * rng.standard_normal((n_walkers, z0.size))
        t0 = time.perf_counter()
        log_prob(p0)  # compiles
        compile_s = time.perf_counter() - t0
        sampler = emcee.EnsembleSampler(n_walkers, z0.size, log_prob, vectorize=True)
        # emcee draws its moves from a copy of numpy's global state unless the start says otherwise: seed it too
        start = emcee.State(p0, random_state=np.random.RandomState(seed).get_state())
        t0 = time.perf_counter()
        sampler.run_mcmc(start, n_steps, progress=progress)
        wall = time.perf_counter() - t0
    n_kept = n_steps - burn
    tau = sampler.get_autocorr_time(discard=burn, quiet=True)
    return {
        "sampler": f"emcee ({n_walkers} walkers)",
        "draws": f"{n_steps} steps, {burn} burn-in",
        "mass": "-",
        "compile_s": compile_s,
        "wall_s": wall,
        "evals": n_walkers * n_steps,
        "eval_kind": "logp",
        "ess_tau": float(np.min(n_walkers * n_kept / tau)),
        "ess_numpyro": math.nan,
        "r_hat_max": math.nan,
        "divergences": 0,
        "flow": "",
        "acceptance": float(np.mean(sampler.acceptance_fraction)),
    }


DEFAULT_SEEDS = (3, 4, 5, 6, 7)
"""The seeds of the comparison; each seeds emcee's start and moves, the flow fit and NUTS. Not 0 and 1, at which the
samplers' settings were chosen; 7 is the seed at which NeuTra's flow was poor and NUTS lost to emcee."""


_NUTS = NUTSSettings()


def compare(target: Target, *, num_chains=_NUTS.num_chains, num_warmup=_NUTS.num_warmup,
            num_samples=_NUTS.num_samples, n_walkers=32, n_steps=5000,
            burn=1000, seeds=DEFAULT_SEEDS, progress=True, backends=("numpyro", "blackjax"),
            dense_mass: bool | None = None, neutra: bool | None = None, report=None) -> list[dict]:
    """At every seed, run emcee, then NUTS with each backend; ``report(row)`` is called as each finishes.

    ``dense_mass``: NUTS's mass matrix, dense (True) or diagonal (False); ``neutra``: NUTS in the latent space of
    a flow fitted to the posterior (True) or on the model's own unconstrained space (False); None: the target's.
    """
    latent = latent_sites(target)
    rows = []
    for seed in seeds:
        runs = [lambda b=b: run_nuts_row(target, b, latent, num_chains=num_chains, num_warmup=num_warmup,
                                          num_samples=num_samples, seed=seed, progress=progress,
                                          dense_mass=dense_mass, neutra=neutra)
                for b in backends]
        if n_walkers:  # the reference first
            runs.insert(0, lambda: run_emcee_row(target, n_walkers=n_walkers, n_steps=n_steps, burn=burn, seed=seed,
                                                 progress=progress))
        for run in runs:
            r = run()
            r["seed"] = seed
            r["ess_per_s"] = r["ess_tau"] / r["wall_s"]
            r["ess_per_eval"] = r["ess_tau"] / r["evals"]
            rows.append(r)
            if report is not None:
                report(r)
    return rows


def format_row(r: dict) -> str:
    return (
        f"{r['seed']:>4} {r['sampler']:<36} {r['mass']:<5} {r['compile_s']:>9.1f} {r['wall_s']:>8.2f} "
        f"{r['evals']:>10} {r['ess_tau']:>9.1f} {r['ess_numpyro']:>8.1f} {r['ess_per_s']:>9.3g} "
        f"{r['ess_per_eval']:>9.3g} {r['r_hat_max']:>6.3f} {r['divergences']:>4}  {r['flow']}"
    )


def seed_ratios(rows: list[dict]) -> dict[str, list[tuple[int, float, float]]]:
    """For every NUTS sampler, ``(seed, ESS/s ratio, ESS/eval ratio)`` against emcee at the same seed."""
    ref = {r["seed"]: r for r in rows if r["sampler"].startswith("emcee")}
    out: dict[str, list] = {}
    for r in rows:
        if r["seed"] in ref and not r["sampler"].startswith("emcee"):
            e = ref[r["seed"]]
            out.setdefault(r["sampler"], []).append(
                (r["seed"], r["ess_per_s"] / e["ess_per_s"], r["ess_per_eval"] / e["ess_per_eval"]))
    return out


def format_summary(rows: list[dict]) -> str:
    """Per NUTS sampler: the ESS/s and ESS/eval ratios against emcee, seed by seed, their median and range; the
    divergent transitions summed over seeds and the largest R-hat."""
    lines = []
    for sampler, ratios in seed_ratios(rows).items():
        per_s = np.array([x[1] for x in ratios])
        per_eval = np.array([x[2] for x in ratios])
        mine = [r for r in rows if r["sampler"] == sampler]
        lines.append(
            f"{sampler} / emcee over {len(ratios)} seeds: ESS/s median x{np.median(per_s):.3g} (range "
            f"{per_s.min():.3g}-{per_s.max():.3g}), ESS/eval median x{np.median(per_eval):.3g} (range "
            f"{per_eval.min():.3g}-{per_eval.max():.3g}); divergences {sum(r['divergences'] for r in mine)}, "
            f"max r_hat {max(r['r_hat_max'] for r in mine):.3f}"
        )
        lines.append("    per seed ESS/s: " + ", ".join(f"{seed}: x{x:.3g}" for seed, x, _ in ratios))
    return "\n".join(lines)


def _device_name() -> str:
    dev = jax.devices()[0]
    return f"{jax.default_backend()} ({getattr(dev, 'device_kind', dev.platform)})"


def _versions() -> str:
    from importlib import metadata

    out = []
    for name in ("jax", "numpyro", "blackjax", "emcee"):
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} -")
    return ", ".join(out)


def format_table(target: Target, rows: list[dict]) -> str:
    head = (f"{'seed':>4} {'sampler':<36} {'mass':<5} {'compile s':>9} {'wall s':>8} {'evals':>10} "
            f"{'ESS(tau)':>9} {'ESS(np)':>8} {'ESS/s':>9} {'ESS/eval':>9} {'r_hat':>6} {'div':>4}  flow check")
    draws = sorted({f"{r['sampler'].split(' (')[0]}: {r['draws']}" for r in rows})
    lines = [f"target: {target.name}, device: {_device_name()}; {_versions()}", "; ".join(draws), head,
             "-" * len(head)]
    lines += [format_row(r) for r in rows]
    lines.append("evals: gradient evaluations (NUTS, warm-up and flow fit included) or log-density evaluations "
                 "(emcee); mass: NUTS's adapted mass matrix; flow check: inference.neutra.flow_check of the kept flow")
    lines.append(format_summary(rows))
    return "\n".join(lines)


def _env_options() -> dict[str, str]:
    spec = os.environ.get("XCOSMO_BENCH_MCMC", "")
    return dict(item.split("=", 1) for item in spec.split() if "=" in item)


@pytest.mark.benchmark(group="mcmc: NUTS vs emcee")
def test_nuts_vs_emcee(benchmark):
    if benchmark.disabled:
        pytest.skip("long comparison: run with --benchmark-enable, or python bench/test_bench_mcmc.py")
    opts = _env_options()
    # The analytical target's full comparison takes hours on a CPU: there the default is the toy target.
    target = get_target(opts.get("target", "analytic" if jax.default_backend() != "cpu" else "toy"))
    sizes = {k: int(opts[k2]) for k, k2 in [("num_chains", "chains"), ("num_warmup", "warmup"),
                                             ("num_samples", "samples"), ("n_walkers", "walkers"),
                                             ("n_steps", "steps"), ("burn", "burn")] if k2 in opts}
    if "seeds" in opts:
        sizes["seeds"] = tuple(int(x) for x in opts["seeds"].split(","))
    for flag in ("dense_mass", "neutra"):
        if flag in opts:
            sizes[flag] = opts[flag].lower() in ("1", "true", "yes", "dense")
    rows = benchmark.pedantic(lambda: compare(target, progress=False, **sizes), rounds=1, iterations=1)
    print("\n" + format_table(target, rows))
    for r in rows:
        benchmark.extra_info[r["sampler"]] = {k: r[k] for k in ("wall_s", "evals", "ess_tau", "ess_per_s",
                                                                 "ess_per_eval")}
    assert all(r["ess_tau"] > 0 for r in rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="analytic", help="analytic, toy, or module:function returning a Target")
    parser.add_argument("--chains", type=int, default=_NUTS.num_chains)
    parser.add_argument("--warmup", type=int, default=_NUTS.num_warmup)
    parser.add_argument("--samples", type=int, default=_NUTS.num_samples)
    parser.add_argument("--walkers", type=int, default=32, help="0 skips emcee")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--burn", type=int, default=1000)
    parser.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)),
                        help="comma-separated seeds, each a full comparison (default: %(default)s)")
    parser.add_argument("--backends", default="numpyro,blackjax")
    parser.add_argument("--dense-mass", action=argparse.BooleanOptionalAction, default=None,
                        help="NUTS with a dense (--dense-mass) or diagonal (--no-dense-mass) mass matrix; default: the "
                             "target's (dense for analytic, diagonal for toy)")
    parser.add_argument("--neutra", action=argparse.BooleanOptionalAction, default=None,
                        help="NUTS in the latent space of a flow fitted to the posterior (--neutra) or on the model's own "
                             "unconstrained space (--no-neutra); default: the target's (NeuTra for analytic)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    target = get_target(args.target)
    rows = compare(target, num_chains=args.chains, num_warmup=args.warmup, num_samples=args.samples,
                   n_walkers=args.walkers, n_steps=args.steps, burn=args.burn,
                   seeds=tuple(int(x) for x in args.seeds.split(",") if x),
                   progress=not args.quiet, backends=tuple(b for b in args.backends.split(",") if b),
                   dense_mass=args.dense_mass, neutra=args.neutra,
                   report=lambda r: print(format_row(r), flush=True))
    print(format_table(target, rows))


if __name__ == "__main__":
    main()
