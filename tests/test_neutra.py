"""inference.neutra: the flow fit, and NUTS in the flow's latent space against closed-form posteriors.

The flow only changes the coordinates NUTS moves in, never the target: the posterior of the toy model of
``tests/test_mcmc.py`` (Gaussian, Gamma and Beta blocks, all known exactly) must come out unchanged, with the
model's own sites and units in the DataTree, and the fit's cost counted.
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import optax
import pytest
from numpyro.infer import SVI, Trace_ELBO
from numpyro.infer.autoguide import AutoMultivariateNormal

from inference.mcmc import run_nuts, summary
from inference.neutra import SHARED_LATENT, NeuTraSettings, fit_neutra
from test_mcmc import DATA, NUMPYRO_FIRST, _assert_matches_exact, toy_model

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning:arviz")

SMALL = NeuTraSettings(num_steps=400, num_particles=2, num_flows=1, hidden_dims=(16, 16))


def banana(data=None):
    """x ~ N(0, 1), y | x ~ N(x^2, 0.3^2): a bent ridge, whose ELBO a flow improves on a Gaussian's."""
    x = numpyro.sample("x", dist.Normal(0.0, 1.0))
    numpyro.sample("y", dist.Normal(x**2, 0.3))


def test_fit_neutra_on_a_banana():
    settings = NeuTraSettings(num_steps=2000, num_particles=4, num_flows=2, hidden_dims=(32, 32))
    flow = fit_neutra(banana, settings=settings)
    fits = len(flow.checks)
    assert flow.n_grad_evals == fits * (2000 * 4 + settings.num_check_draws) and flow.wall_time_s > 0
    assert flow.latent_dim == 2
    assert flow.losses.shape == (2000,)
    # -ELBO >= -ln Z = 0 for this normalised joint density; numpyro's full-rank Gaussian guide, fitted the same
    # way, stays at ~1.26 nats; the flow must come much closer.
    gaussian = SVI(banana, AutoMultivariateNormal(banana), optax.adam(optax.exponential_decay(3e-3, 2000, 0.1)),
                   Trace_ELBO(num_particles=4)).run(jax.random.key(0), 2000, progress_bar=False)  # fmt: skip
    final, final_gaussian = float(np.mean(flow.losses[-200:])), float(np.mean(gaussian.losses[-200:]))
    assert final > -0.05, final
    assert final < final_gaussian - 0.5, (final, final_gaussian)
    # Draws of the flow follow the bend: y - x^2 has the conditional spread 0.3 (reverse-KL fits are known to
    # under-disperse along the ridge, so std(x) < 1 is expected: NUTS corrects that, the flow only preconditions).
    with jax.enable_x64(True):  # the flow's parameters are float64, as fit_neutra computes
        draws = flow.guide.sample_posterior(jax.random.key(1), flow.params, sample_shape=(4000,))
        spread = float(jnp.std(draws["y"] - draws["x"] ** 2))
    assert spread == pytest.approx(0.3, abs=0.05)


def correlated_gaussian(data=None):
    """A 2-D Gaussian with correlation 0.9: a flow represents it exactly."""
    x = numpyro.sample("x", dist.Normal(0.0, 1.0))
    numpyro.sample("y", dist.Normal(0.9 * x, math.sqrt(1 - 0.9**2)))


def test_a_poor_flow_is_refitted_and_the_user_warned():
    """Five SVI steps leave the flow far from the banana (variance of the log importance weights in the thousands):
    each fit is checked, refitted up to max_fits, and the warning names the diagnostics and their values. A flow fitted to a Gaussian for 2000 steps
    passes the check at once, with nearly constant importance weights."""
    poor = NeuTraSettings(num_steps=5, num_particles=2, num_flows=1, hidden_dims=(8,), max_fits=2)
    with pytest.warns(RuntimeWarning, match=r"Pareto k of the log importance weights = [0-9.e+]+ .*, variance of the "
                                            r"log weights = [0-9.e+]+ .*; best of 2 fits"):  # fmt: skip
        flow = fit_neutra(banana, settings=poor)
    misfits = [poor.misfit(c) for c in flow.checks]
    assert len(misfits) == 2 and poor.misfit(flow.check) == min(misfits) > 1
    good = NeuTraSettings(num_steps=2000, num_particles=4, num_flows=2, hidden_dims=(32, 32))
    fitted = fit_neutra(correlated_gaussian, settings=good)
    assert fitted.checks == (fitted.check,) and good.misfit(fitted.check) <= 1
    assert fitted.check["log_weight_variance"] < 0.1 and fitted.check["ess_fraction"] > 0.9  # for Gaussian ln w, exp(-variance): the weights nearly constant


def test_a_fit_above_the_refit_pareto_k_is_followed_by_another_without_a_warning():
    """A Pareto k above ``refit_pareto_k`` (here an unreachable 1e-6) but below ``max_pareto_k`` asks for another fit,
    up to ``max_fits``; the flow kept is the one with the smallest misfit, and it is good, so nobody is warned."""
    strict = NeuTraSettings(num_steps=2000, num_particles=4, num_flows=2, hidden_dims=(32, 32), max_fits=2,
                            refit_pareto_k=1e-6)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fitted = fit_neutra(correlated_gaussian, settings=strict)
    assert len(fitted.checks) == 2
    assert strict.misfit(fitted.check) == min(strict.misfit(c) for c in fitted.checks) <= 1


@pytest.mark.parametrize("backend", NUMPYRO_FIRST)
def test_nuts_with_neutra_recovers_exact_posterior(backend):
    tree = run_nuts(toy_model, DATA, backend=backend, num_warmup=300, num_samples=500, num_chains=2, seed=5,
                    progress=False, neutra=SMALL)  # fmt: skip
    result = summary(tree, ["mu", "rate", "p"])
    _assert_matches_exact(result)
    assert result["num_divergences"] == 0
    post = tree["posterior"]
    assert list(post.data_vars) == ["mu", "rate", "p", "log_rate"] and SHARED_LATENT not in post
    assert np.all(post["rate"].values > 0) and np.all((post["p"].values > 0) & (post["p"].values < 1))
    a = tree.attrs
    assert a["neutra"] == 1
    assert a["n_grad_evals_neutra"] == a["neutra_fits"] * (SMALL.num_steps * SMALL.num_particles + SMALL.num_check_draws)
    assert 0 < a["neutra_ess_fraction"] <= 1 and math.isfinite(a["neutra_pareto_k"])
    assert a["n_grad_evals"] == a["n_grad_evals_neutra"] + a["n_grad_evals_warmup"] + a["n_grad_evals_sampling"]
    assert math.isfinite(a["neutra_loss"])


def test_the_laplace_map_of_a_gaussian_is_exact():
    """For a Gaussian posterior the Laplace approximation is the posterior: the map found from the mode and the
    Hessian must give constant importance weights and the exact correlation; L-BFGS stops at the mode (a quadratic
    in two dimensions: a few iterations), and its evaluations are counted."""
    laplace = NeuTraSettings(flow="laplace", num_steps=200)
    fitted = fit_neutra(correlated_gaussian, settings=laplace)
    assert fitted.check["log_weight_variance"] < 1e-6 and fitted.check["ess_fraction"] > 0.999
    assert len(fitted.losses) < 20 and fitted.losses[-1] <= fitted.losses[0]
    assert len(fitted.checks) == 1 and laplace.num_check_draws + len(fitted.losses) <= fitted.n_grad_evals
    with jax.enable_x64(True):
        draws = fitted.guide.sample_posterior(jax.random.key(2), fitted.params, sample_shape=(20000,))
    assert np.corrcoef(draws["x"], draws["y"])[0, 1] == pytest.approx(0.9, abs=0.01)
    assert float(np.std(draws["y"])) == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("backend", NUMPYRO_FIRST)
def test_nuts_in_the_laplace_coordinates_recovers_the_exact_non_gaussian_posterior(backend):
    """The toy model's Gamma and Beta blocks are not Gaussian: the affine map only preconditions, NUTS corrects."""
    laplace = NeuTraSettings(flow="laplace", num_steps=200)
    tree = run_nuts(toy_model, DATA, backend=backend, num_warmup=300, num_samples=500, num_chains=2, seed=5,
                    progress=False, neutra=laplace)  # fmt: skip
    result = summary(tree, ["mu", "rate", "p"])
    _assert_matches_exact(result)
    assert result["num_divergences"] == 0


def test_without_neutra_the_attributes_say_so():
    tree = run_nuts(toy_model, DATA, backend="blackjax", num_warmup=20, num_samples=10, num_chains=1, progress=False)
    assert tree.attrs["neutra"] == 0 and tree.attrs["n_grad_evals_neutra"] == 0
    assert math.isnan(tree.attrs["neutra_loss"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"flow": "maf"}, ValueError, r"NeuTraSettings.flow = 'maf' is not allowed"),
        ({"num_steps": 0}, ValueError, r"NeuTraSettings.num_steps = 0 is not allowed: expected an integer >= 1"),
        ({"num_particles": 2.5}, TypeError, r"NeuTraSettings.num_particles = 2.5 is not allowed: expected an integer"),
        ({"num_flows": True}, TypeError, r"NeuTraSettings.num_flows = True is not allowed: expected an integer"),
        ({"learning_rate": 0.0}, ValueError, r"NeuTraSettings.learning_rate = 0.0 is not allowed: allowed range \(0, 1"),
        ({"hidden_dims": ()}, ValueError, r"NeuTraSettings.hidden_dims = \(\) is not allowed: expected one or more"),
        ({"hidden_dims": (8, -1)}, ValueError, r"NeuTraSettings.hidden_dims\[1\] = -1 is not allowed: expected an"),
        ({"hidden_dims": 8}, TypeError, r"NeuTraSettings.hidden_dims = 8 is not allowed: expected a tuple of integers"),
    ],
)
def test_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        NeuTraSettings(**kwargs)


def test_settings_are_plain_values():
    s = NeuTraSettings(num_steps=np.int64(5), learning_rate=np.float32(0.01), hidden_dims=[np.int32(8)])
    assert type(s.num_steps) is int and type(s.learning_rate) is float and s.hidden_dims == (8,)
    assert type(s.hidden_dims[0]) is int


def test_bad_neutra_argument_raises_before_any_work():
    def never(data):
        raise AssertionError("the model must not run when the arguments are invalid")

    with pytest.raises(TypeError, match=r"neutra = 'yes' is not allowed: expected True, False or an inference.neutra"):
        run_nuts(never, DATA, neutra="yes")
    with pytest.raises(TypeError, match=r"settings = 'small' is not allowed: expected None or an inference.neutra"):
        fit_neutra(never, DATA, settings="small")


def test_non_finite_fit_is_an_error():
    def nan_in_the_tails(data=None):  # finite where numpyro starts (it retries until |x| < 0.5), NaN where the flow's draws reach
        x = numpyro.sample("x", dist.Normal(0.0, 1.0))
        numpyro.sample("y", dist.Normal(0.0, 1.0))  # the flow needs 2 or more dimensions
        numpyro.factor("bad", jnp.where(jnp.abs(x) < 0.5, 0.0, jnp.nan))

    def nan_everywhere(data=None):
        x = numpyro.sample("x", dist.Normal(0.0, 1.0))
        numpyro.sample("y", dist.Normal(0.0, 1.0))
        numpyro.factor("bad", x * jnp.nan)

    tiny = NeuTraSettings(num_steps=50, num_particles=8, num_flows=1, hidden_dims=(4,))
    with pytest.raises(ValueError, match="NeuTra: the ELBO is not finite after 50 SVI steps"):
        fit_neutra(nan_in_the_tails, settings=tiny)
    with pytest.raises(ValueError, match="NeuTra: the log density or its gradient is not finite at the start"):
        fit_neutra(nan_everywhere, settings=tiny)


@pytest.mark.parametrize("field", ["refit_pareto_k", "max_pareto_k"])
def test_a_non_positive_pareto_threshold_is_refused_naming_it(field):
    with pytest.raises(ValueError, match=f"NeuTraSettings.{field} = -0.5"):
        NeuTraSettings(**{field: -0.5})
