"""inference.mcmc: NUTS with numpyro and blackjax against closed-form posteriors; the DataTree, files, plots.

The toy model has three independent blocks whose posteriors are known exactly (conjugate priors):

- ``mu``: 2-D Gaussian prior with correlation, Gaussian likelihood with a known correlated noise covariance:
  the posterior is Gaussian, ``S_n = (S_0^-1 + n Sigma^-1)^-1``, ``m_n = S_n (S_0^-1 m_0 + Sigma^-1 sum_i y_i)``;
- ``rate``: Gamma(a, b) prior, Poisson counts: posterior Gamma(a + sum k, b + n) (positive: a constrained site);
- ``p``: Uniform(0, 1) prior, k successes in N Binomial trials: posterior Beta(1 + k, 1 + N - k) (in (0, 1));

plus a deterministic site ``log_rate``. Runs are short (2 chains x 300 warm-up + 500 draws); compilation dominates
their cost, so each backend samples the toy model once (module fixture) and a few tiny runs check the seeds.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
import xarray as xr

from inference.mcmc import (
    BACKENDS,
    DEFAULT_TARGET_ACCEPT,
    NUTSSettings,
    corner_plot,
    format_summary,
    inference_data,
    load_chains,
    run_nuts,
    save_chains,
    summary,
)
from inference.neutra import NeuTraSettings

# the slowest backend tests run on blackjax with -m slow only: the default suite samples with blackjax elsewhere
NUMPYRO_FIRST = [pytest.param(b, marks=pytest.mark.slow) if b == "blackjax" else b for b in BACKENDS]

M0 = np.array([0.5, -0.3])
S0 = np.array([[1.0, 0.6], [0.6, 2.0]])
NOISE = np.array([[0.8, -0.3], [-0.3, 0.5]])
Y = np.array([[0.9, -1.1], [1.6, -0.2], [0.4, -0.9], [1.2, -1.4]])
GAMMA_A, GAMMA_B = 3.0, 0.5
COUNTS = np.array([4, 7, 6, 5, 9, 6, 3, 8, 7, 5])
TRIALS, SUCCESSES = 40, 12
DATA = {"y": Y, "counts": COUNTS, "successes": SUCCESSES}

# importing arviz (ours, or corner's) announces its 1.0 refactor
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning:arviz")

NUM_WARMUP, NUM_SAMPLES, NUM_CHAINS = 300, 500, 2
# Split-R-hat bound for 2 chains x 500 draws: with ~500-1000 effective draws its sampling spread is ~0.005 for
# perfectly mixed chains, so 1.01 would fail by chance now and then; 1.02 still flags a chain that has not mixed.
R_HAT_MAX = 1.02


def toy_model(data, trials=TRIALS):
    mu = numpyro.sample("mu", dist.MultivariateNormal(jnp.asarray(M0), jnp.asarray(S0)))
    rate = numpyro.sample("rate", dist.Gamma(GAMMA_A, GAMMA_B))
    p = numpyro.sample("p", dist.Uniform(0.0, 1.0))
    numpyro.deterministic("log_rate", jnp.log(rate))
    with numpyro.plate("obs", data["y"].shape[0]):
        numpyro.sample("y", dist.MultivariateNormal(mu, jnp.asarray(NOISE)), obs=jnp.asarray(data["y"]))
    with numpyro.plate("bins", data["counts"].shape[0]):
        numpyro.sample("counts", dist.Poisson(rate), obs=jnp.asarray(data["counts"]))
    numpyro.sample("successes", dist.Binomial(trials, p), obs=data["successes"])


def exact_posterior() -> dict[str, tuple[float, float]]:
    """{component: (mean, std)} and the correlation of mu, in closed form."""
    prec = np.linalg.inv(S0) + len(Y) * np.linalg.inv(NOISE)
    cov = np.linalg.inv(prec)
    mean = cov @ (np.linalg.solve(S0, M0) + np.linalg.solve(NOISE, Y.sum(axis=0)))
    a, b = GAMMA_A + COUNTS.sum(), GAMMA_B + len(COUNTS)
    al, be = 1.0 + SUCCESSES, 1.0 + TRIALS - SUCCESSES
    return {
        "mu[0]": (mean[0], math.sqrt(cov[0, 0])),
        "mu[1]": (mean[1], math.sqrt(cov[1, 1])),
        "rate": (a / b, math.sqrt(a) / b),
        "p": (al / (al + be), math.sqrt(al * be / ((al + be) ** 2 * (al + be + 1)))),
        "mu_corr": (cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]), math.nan),
    }


@pytest.fixture(scope="module", params=BACKENDS)
def chains(request) -> xr.DataTree:
    return run_nuts(
        toy_model,
        DATA,
        backend=request.param,
        num_warmup=NUM_WARMUP,
        num_samples=NUM_SAMPLES,
        num_chains=NUM_CHAINS,
        seed=0,
        progress=False,
    )


def _assert_matches_exact(result):
    """Posterior means within 4 Monte-Carlo standard errors and stds within 10% of the closed form."""
    exact = exact_posterior()
    for label in ("mu[0]", "mu[1]", "rate", "p"):
        s, (mean, std) = result["variables"][label], exact[label]
        assert abs(s["mean"] - mean) < 4 * s["mcse_mean"], (label, s, mean)
        assert abs(s["std"] / std - 1) < 0.1, (label, s["std"], std)


def test_recovers_exact_posterior(chains):
    exact = exact_posterior()
    result = summary(chains, ["mu", "rate", "p"])
    _assert_matches_exact(result)
    for label in ("mu[0]", "mu[1]", "rate", "p"):
        s = result["variables"][label]
        assert s["r_hat"] < R_HAT_MAX, (label, s["r_hat"])
        assert s["ess"] > 200, (label, s["ess"])
    mu = chains["posterior"]["mu"].values.reshape(-1, 2)
    assert np.corrcoef(mu.T)[0, 1] == pytest.approx(exact["mu_corr"][0], abs=0.1)
    assert result["num_divergences"] == 0


def test_constrained_sites_in_support_and_deterministic_sites(chains):
    post = chains["posterior"]
    assert list(post.data_vars) == ["mu", "rate", "p", "log_rate"]  # the model's order, deterministic included
    rate, p = post["rate"].values, post["p"].values
    assert np.all(rate > 0)
    assert np.all((p > 0) & (p < 1))
    np.testing.assert_allclose(post["log_rate"].values, np.log(rate), rtol=1e-5)


def test_tree_structure_and_attrs(chains):
    assert set(chains.children) == {"posterior", "sample_stats"}
    post, stats = chains["posterior"], chains["sample_stats"]
    assert post["mu"].dims == ("chain", "draw", "mu_dim_0")
    assert post["mu"].shape == (NUM_CHAINS, NUM_SAMPLES, 2)
    assert post["rate"].dims == ("chain", "draw")
    np.testing.assert_array_equal(post["chain"].values, np.arange(NUM_CHAINS))
    assert set(stats.data_vars) == {"diverging", "n_steps", "acceptance_rate", "step_size", "lp", "energy"}
    assert stats["diverging"].dtype == bool
    assert np.issubdtype(stats["n_steps"].dtype, np.integer) and np.all(stats["n_steps"].values >= 1)
    assert np.all(np.isfinite(stats["lp"].values)) and np.all(np.isfinite(stats["energy"].values))
    assert 0.6 < float(stats["acceptance_rate"].mean()) <= 1.0
    step = stats["step_size"].values
    assert np.all(step > 0) and np.all(step == step[:, :1])  # the adapted step size, fixed while sampling

    a = chains.attrs
    assert a["backend"] in BACKENDS and a["inference_library"] == a["backend"]
    assert a["chain_method"] in ("vectorized", "parallel", "sequential")
    assert (a["num_warmup"], a["num_samples"], a["num_chains"], a["seed"]) == (NUM_WARMUP, NUM_SAMPLES, NUM_CHAINS, 0)
    assert a["target_accept"] == DEFAULT_TARGET_ACCEPT == 0.97 and a["model"] == "toy_model"
    assert a["x64"] == 1 and post["mu"].dtype == np.float64  # samplers run in float64 (xcosmo.precision)
    assert a["wall_time_s"] > 0 and a["compile_time_s"] >= 0
    assert a["n_grad_evals_sampling"] == int(stats["n_steps"].sum())
    assert a["n_grad_evals"] == a["n_grad_evals_warmup"] + a["n_grad_evals_sampling"]
    assert a["n_grad_evals_warmup"] >= NUM_CHAINS * NUM_WARMUP
    import xcosmo

    assert a["xcosmo_version"] == xcosmo.__version__


def test_summary_and_format(chains):
    result = summary(chains)
    assert set(result["variables"]) == {"mu[0]", "mu[1]", "rate", "p", "log_rate"}
    ess_min = min(v["ess"] for v in result["variables"].values())
    assert result["ess_min"] == ess_min
    assert result["ess_per_s"] == pytest.approx(ess_min / chains.attrs["wall_time_s"])
    assert result["ess_per_grad"] == pytest.approx(ess_min / chains.attrs["n_grad_evals"])
    assert result["r_hat_max"] == max(v["r_hat"] for v in result["variables"].values())
    text = format_summary(chains)
    for word in ("mu[0]", "log_rate", "r_hat", "ess", "divergences: 0", "ESS/s", "ESS/grad", chains.attrs["backend"]):
        assert word in text
    assert format_summary(result).splitlines()[:6] == text.splitlines()[:6]
    with pytest.raises(ValueError, match=r"var_names = \['sigma'\] is not allowed: unknown \['sigma'\]; the posterior holds"):
        summary(chains, ["sigma"])
    with pytest.raises(TypeError, match=r"tree = <xarray.*Dataset object> is not allowed: expected an xarray.DataTree \(from run_nuts\), got Dataset"):
        summary(chains["posterior"].to_dataset())
    with pytest.raises(ValueError, match="tree = a DataTree with groups .* is not allowed: expected a 'posterior' group"):
        summary(xr.DataTree.from_dict({"sample_stats": chains["sample_stats"].to_dataset()}))


def test_arviz_reads_the_tree(chains):
    import arviz as az

    by_hand = az.InferenceData(
        posterior=chains["posterior"].to_dataset(), sample_stats=chains["sample_stats"].to_dataset()
    )
    table = az.summary(by_hand, var_names=["mu", "rate", "p"], round_to="none")
    assert list(table.index) == ["mu[0]", "mu[1]", "rate", "p"]
    assert int(by_hand.sample_stats["diverging"].sum()) == 0
    idata = inference_data(chains)
    assert set(idata.groups()) == {"posterior", "sample_stats"}
    xr.testing.assert_identical(idata.posterior, by_hand.posterior)
    # summary() is ArviZ's computation on the same draws: rank-normalised split R-hat, bulk ESS, mcse of the mean.
    ours = summary(chains, ["mu", "rate", "p"])["variables"]
    rhat, ess = az.rhat(by_hand), az.ess(by_hand, method="bulk")
    for label, name, index in (("mu[0]", "mu", 0), ("mu[1]", "mu", 1), ("rate", "rate", ()), ("p", "p", ())):
        draws = np.asarray(chains["posterior"][name].values[(slice(None), slice(None), *np.atleast_1d(index))])
        assert ours[label]["r_hat"] == pytest.approx(float(az.rhat(draws)), rel=1e-12)
        assert ours[label]["ess"] == pytest.approx(float(az.ess(draws, method="bulk")), rel=1e-12)
        assert ours[label]["r_hat"] == pytest.approx(float(rhat[name].values[index]), rel=1e-12)
        assert ours[label]["ess"] == pytest.approx(float(ess[name].values[index]), rel=1e-12)
        for column, key in (("mean", "mean"), ("sd", "std"), ("mcse_mean", "mcse_mean"), ("ess_bulk", "ess"),
                            ("r_hat", "r_hat")):  # fmt: skip
            assert ours[label][key] == pytest.approx(table.loc[label, column], rel=1e-10), (label, key)


def _tree_of(draws: dict[str, np.ndarray]) -> xr.DataTree:
    """A DataTree with only a posterior group, as run_nuts lays it out."""
    posterior = xr.Dataset({name: (("chain", "draw"), value) for name, value in draws.items()})
    return xr.DataTree.from_dict({"posterior": posterior})


def test_summary_on_draws_with_known_answers():
    rng = np.random.default_rng(42)
    iid = rng.normal(size=(4, 1000))  # 4000 independent draws: ESS ~ 4000, R-hat ~ 1
    ar1 = np.zeros((4, 1000))  # AR(1), rho = 0.9: ESS ~ n (1 - rho) / (1 + rho) = 4000 / 19 ~ 210
    for t in range(1, 1000):
        ar1[:, t] = 0.9 * ar1[:, t - 1] + math.sqrt(1 - 0.81) * rng.normal(size=4)
    shifted = rng.normal(size=(2, 1000)) + np.array([[0.0], [1.0]])  # two chains stuck one sigma apart
    result = summary(_tree_of({"iid": iid, "ar1": ar1}))
    assert result["variables"]["iid"]["ess"] == pytest.approx(4000, rel=0.1)
    assert result["variables"]["iid"]["r_hat"] == pytest.approx(1.0, abs=0.005)
    assert result["variables"]["iid"]["mcse_mean"] == pytest.approx(1 / math.sqrt(4000), rel=0.1)
    assert result["variables"]["ar1"]["ess"] == pytest.approx(4000 / 19, rel=0.35)
    assert result["ess_min_variable"] == "ar1" and result["num_divergences"] == 0
    assert math.isnan(result["wall_time_s"]) and math.isnan(result["ess_per_s"])
    assert summary(_tree_of({"shifted": shifted}))["r_hat_max"] > 1.1


_ON_TWO_DEVICES = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from test_mcmc import DATA, NUM_CHAINS, NUM_SAMPLES, NUM_WARMUP, toy_model
from inference.mcmc import run_nuts
tree = run_nuts(toy_model, DATA, backend={backend!r}, num_warmup=NUM_WARMUP, num_samples=NUM_SAMPLES,
                num_chains=NUM_CHAINS, seed=0, progress=False)
np.savez({out!r}, mu=tree["posterior"]["mu"].values, method=tree.attrs["chain_method"])
"""


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="host devices stand in for a CPU's cores")
def test_chains_on_host_devices_are_the_sequential_chains(chains, tmp_path):
    """With two host devices (``XLA_FLAGS``) the two chains run in parallel, and draw what they draw one after the
    other: the same per-chain keys through the same compiled chain."""
    backend, out = chains.attrs["backend"], tmp_path / "parallel.npz"
    assert chains.attrs["chain_method"] == "sequential"
    script = _ON_TWO_DEVICES.format(tests=str(Path(__file__).parent), backend=backend, out=str(out))
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=600)
    parallel = np.load(out)
    assert str(parallel["method"]) == "parallel"
    np.testing.assert_allclose(parallel["mu"], chains["posterior"]["mu"].values, rtol=1e-9, atol=1e-12)


def test_request_host_devices_only_before_jax_starts():
    """Asked before JAX computes, the CPU gets the devices; asked after, it keeps its one (and says so); a count the
    user set in XLA_FLAGS stands."""
    ask = "from inference.mcmc import request_host_devices; import jax; print(request_host_devices(3), " \
          "jax.local_device_count())"
    late = "import jax.numpy as jnp; jnp.ones(1).block_until_ready(); " + ask
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"} | {"JAX_PLATFORMS": "cpu"}

    def run(code, **extra):
        return subprocess.run([sys.executable, "-c", code], env=env | extra, check=True, capture_output=True,
                              text=True, timeout=120).stdout.split()  # fmt: skip

    assert run(ask) == ["True", "3"]
    assert run(late) == ["False", "1"]
    assert run(ask, XLA_FLAGS="--xla_force_host_platform_device_count=2") == ["False", "2"]
    from inference.mcmc import request_host_devices

    with pytest.raises(ValueError, match="n = 0 is not allowed"):  # refused before anything is asked
        request_host_devices(0)


def test_save_load_roundtrip(chains, tmp_path):
    path = save_chains(chains, tmp_path / "sub" / "chains.nc")
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == ["chains.nc"]  # no temporary left
    back = load_chains(path)
    assert back.identical(chains)
    assert back["sample_stats"]["diverging"].dtype == bool
    assert summary(back) == summary(chains)


def test_load_chains_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="chain file .*missing.nc' not found"):
        load_chains(tmp_path / "missing.nc")
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"this is not HDF5")
    with pytest.raises(ValueError, match="is not a readable netCDF/HDF5 chain file"):
        load_chains(junk)
    other = tmp_path / "other.nc"
    xr.DataTree.from_dict({"/": xr.Dataset({"x": ("a", [1.0, 2.0])})}).to_netcdf(other, engine="h5netcdf")
    with pytest.raises(ValueError, match="has no 'posterior' group"):
        load_chains(other)


def test_corner_plot(chains, tmp_path):
    exact = exact_posterior()
    path = corner_plot(chains, tmp_path / "corner.png", var_names=["mu", "rate"],
                       truths={"mu": [exact["mu[0]"][0], exact["mu[1]"][0]]})
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    with pytest.raises(ValueError, match=r"truths = \[.*\] is not allowed: expected 3 values, one per plotted component"):
        corner_plot(chains, tmp_path / "bad.png", var_names=["mu", "rate"], truths=[0.0, 1.0])
    with pytest.raises(ValueError, match=r"truths = .* is not allowed: unknown variable\(s\) \['sigma'\]"):
        corner_plot(chains, tmp_path / "bad.png", truths={"sigma": 1.0})
    assert not (tmp_path / "bad.png").exists()


def _never_called(data):
    raise AssertionError("the model must not run when the arguments are invalid")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"backend": "stan"}, ValueError, r"backend = 'stan' is not allowed: allowed values are \('numpyro', 'blackj"),
        ({"num_warmup": 0}, ValueError, r"num_warmup = 0 is not allowed: expected an integer >= 1"),
        ({"num_warmup": 1.5}, TypeError, r"num_warmup = 1.5 is not allowed: expected an integer, got float"),
        ({"num_samples": -5}, ValueError, r"num_samples = -5 is not allowed: expected an integer >= 1"),
        ({"num_chains": 2.0}, TypeError, r"num_chains = 2.0 is not allowed: expected an integer, got float"),
        ({"num_chains": True}, TypeError, r"num_chains = True is not allowed: expected an integer, got bool"),
        ({"seed": -1}, ValueError, r"seed = -1 is not allowed: expected an integer with 0 <= value < 4294967296"),
        ({"target_accept": 1.0}, ValueError, r"target_accept = 1.0 is not allowed: allowed range \(0, 1\)"),
        ({"target_accept": "high"}, TypeError, r"target_accept = 'high' is not allowed: expected a number, got str"),
        ({"dense_mass": 1}, TypeError, r"dense_mass = 1 is not allowed: expected True or False, got int"),
        ({"progress": "yes"}, TypeError, r"progress = 'yes' is not allowed: expected True or False, got str"),
        ({"init_params": [0.1]}, TypeError, r"init_params = \[0.1\] is not allowed: expected None or a dict"),
        ({"settings": {"num_chains": 2}}, TypeError, r"settings = \{'num_chains': 2\} is not allowed: expected None"),
    ],
)
def test_bad_arguments_raise_before_sampling(kwargs, error, message):
    with pytest.raises(error, match=message):
        run_nuts(_never_called, DATA, **kwargs)


def test_settings_defaults_frozen_and_checked():
    s = NUTSSettings()
    assert (s.backend, s.num_warmup, s.num_samples, s.num_chains, s.seed) == ("numpyro", 1000, 2000, 4, 0)
    assert s.target_accept == DEFAULT_TARGET_ACCEPT == 0.97
    assert (s.dense_mass, s.progress, s.neutra, s.neutra_settings) == (False, True, False, None)
    assert NUTSSettings(neutra=True).neutra_settings == NeuTraSettings()
    small = NeuTraSettings(num_steps=10)
    assert NUTSSettings(neutra=small).neutra_settings is small
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.num_chains = 2
    # numpy scalars are accepted and stored as plain Python values
    t = NUTSSettings(num_chains=np.int64(2), target_accept=np.float32(0.5), progress=np.bool_(False))
    assert type(t.num_chains) is int and type(t.target_accept) is float and t.progress is False
    with pytest.raises(ValueError, match=r"num_chains = 0 is not allowed: expected an integer >= 1"):
        NUTSSettings(num_chains=0)
    with pytest.raises(TypeError, match=r"seed = '1' is not allowed: expected an integer, got str"):
        NUTSSettings(seed="1")
    with pytest.raises(TypeError, match=r"neutra = 'yes' is not allowed: expected True, False or an inference.neutra"):
        NUTSSettings(neutra="yes")
    # run_nuts states no default of its own: the keywords replace fields of the settings given, checked the same way
    with pytest.raises(ValueError, match=r"num_warmup = 0 is not allowed"):
        run_nuts(_never_called, DATA, settings=NUTSSettings(num_chains=2), num_warmup=0)
    assert not set(inspect.signature(run_nuts).parameters) & {f.name for f in dataclasses.fields(NUTSSettings)}


def test_bad_model_and_init_params():
    with pytest.raises(TypeError, match="model = 3 is not allowed: expected a numpyro model function"):
        run_nuts(3, DATA)
    with pytest.raises(ValueError, match=r"init_params: unknown site\(s\) \['sigma'\]; .* \['mu', 'rate', 'p'\]"):
        run_nuts(toy_model, DATA, init_params={"sigma": 1.0}, progress=False)
    with pytest.raises(ValueError, match=r"init_params\['mu'\]: shape \(3,\), expected the site's shape \(2,\)"):
        run_nuts(toy_model, DATA, init_params={"mu": np.zeros(3)}, progress=False)
    with pytest.raises(ValueError, match=r"init_params: the model rejected the start values \{'rate': -1.0\}: Poisson"):
        run_nuts(toy_model, DATA, init_params={"rate": -1.0}, progress=False)
    # 1e200: its squared distance overflows in float64, the samplers' precision
    with pytest.raises(ValueError, match="log density or its gradient is not finite at init_params .* support of its"):
        run_nuts(toy_model, DATA, init_params={"mu": np.array([1e200, 1e200])}, progress=False)
    with pytest.raises(ValueError, match="log density is not finite at the values of chain 1; every value must lie"):
        run_nuts(toy_model, DATA, num_chains=2, init_params={"rate": np.array([6.0, -1.0])}, progress=False)


@pytest.mark.parametrize("backend", NUMPYRO_FIRST)
def test_seeds_reproducible(backend):
    # Tiny runs; numpyro with one chain (its vectorized chains take twice as long to compile). Chains start from
    # init_params here (rate, with its own value per chain for blackjax), which exercises that path too.
    n_chains = 1 if backend == "numpyro" else 2
    init = {"rate": 6.0} if n_chains == 1 else {"rate": np.array([5.0, 7.0]), "p": 0.3}

    def run(seed):
        return run_nuts(toy_model, DATA, backend=backend, num_warmup=60, num_samples=40, num_chains=n_chains,
                        seed=seed, progress=False, init_params=init)

    a, b, c = run(7), run(7), run(8)
    for name in ("mu", "rate", "p", "log_rate"):
        np.testing.assert_array_equal(a["posterior"][name].values, b["posterior"][name].values)
        assert not np.array_equal(a["posterior"][name].values, c["posterior"][name].values)
    xr.testing.assert_equal(a["sample_stats"].to_dataset(), b["sample_stats"].to_dataset())
    assert a.attrs["n_grad_evals"] == b.attrs["n_grad_evals"]


@pytest.mark.parametrize("backend", NUMPYRO_FIRST)
def test_a_run_releases_the_compiled_programs(backend):
    # Each run's programs are new; kept, they exhausted the kernel's memory mappings after a few runs of the emulated
    # model (run_nuts Notes: Memory). Linux only: the maps are counted in /proc.
    import jax

    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("no /proc/self/maps on this system")
    count = lambda: len(maps.read_text().splitlines())  # noqa: E731
    run_nuts(toy_model, DATA, backend=backend, num_warmup=20, num_samples=10, num_chains=1, progress=False)
    before, square = count(), jax.jit(lambda x: x * x)
    square(3.0)
    assert square._cache_size() == 1
    for seed in range(3):
        run_nuts(toy_model, DATA, backend=backend, num_warmup=20, num_samples=10, num_chains=1, seed=seed,
                 progress=False)
    assert square._cache_size() == 0
    assert count() - before < 300, (before, count())


@pytest.mark.parametrize("backend", BACKENDS)
def test_dense_mass_recovers_exact_posterior(backend):
    tree = run_nuts(toy_model, DATA, backend=backend, num_warmup=NUM_WARMUP, num_samples=NUM_SAMPLES,
                    num_chains=NUM_CHAINS, seed=3, dense_mass=True, progress=False)  # fmt: skip
    assert tree.attrs["dense_mass"] == 1
    result = summary(tree, ["mu", "rate", "p"])
    _assert_matches_exact(result)
    assert result["num_divergences"] == 0
