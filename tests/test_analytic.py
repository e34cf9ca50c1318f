"""The analytical XOD model (xcosmo.analytic) and its Poisson likelihood (inference.likelihood)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from inference.likelihood import (
    LAMBDA_FLOOR,
    nuisance_prior_sigma,
    numpyro_model,
    asimov_data,
    check_data,
    default_forward,
    poisson_draw,
    poisson_log_likelihood,
)
from xcosmo.analytic import PHI_NAMES, AnalyticModel, dndz, expected_counts, fiducial_phi, sample_catalogue
from xcosmo.cosmology import make_cosmology
from xcosmo.hmf import halo_counts
from xcosmo.params import Params
from xcosmo.scaling import ScalingRelations
from xcosmo.xod import Binning, Survey


@pytest.fixture(scope="module")
def lam():
    return np.asarray(expected_counts(Params.fiducial()))


def test_shape_dtype_and_dndz(lam):
    assert lam.shape == (8, 12, 12) and lam.dtype == np.float64
    assert np.all(lam >= 0) and 500 < lam.sum() < 5000
    np.testing.assert_allclose(dndz(Params.fiducial()), lam.sum(axis=(1, 2)), rtol=1e-12)


def test_readme_headline_count():
    """README: "At the fiducial it predicts 968 clusters in 200 deg^2 at 0.1 < z < 0.5" (the ``"xxl"`` relations)."""
    assert round(float(np.asarray(expected_counts(Params.fiducial())).sum())) == 968


def test_grad_and_jit_of_counts_and_likelihood_from_float32_code(lam):
    """The precision rule: ``jax.grad`` of a sum of expected_counts, and of the Poisson log-likelihood, from plain
    float32 code give the float64 derivatives (failed with "lax.scatter requires arguments to have the same dtypes"
    before); ``jax.jit`` gives the float64 values in float32."""
    assert not jax.config.jax_enable_x64
    data = np.round(lam)

    def counts(om):
        return expected_counts(Params(om, 0.8)).sum()

    def log_l(om):
        return poisson_log_likelihood(expected_counts(Params(om, 0.8)), data)

    with jax.enable_x64(True):
        ref = {f: jax.value_and_grad(f)(0.3) for f in (counts, log_l)}
    for f in (counts, log_l):
        value, grad = jax.jit(f)(0.3), jax.grad(f)(0.3)
        assert value.dtype == grad.dtype == jnp.float32
        assert float(value) == pytest.approx(float(ref[f][0]), rel=1e-6)
        assert float(grad) == pytest.approx(float(ref[f][1]), rel=1e-4)


def test_numpyro_model_refuses_float32_tracing():
    import numpyro
    from xcosmo.precision import PrecisionError

    with pytest.raises(PrecisionError, match="numpyro_model computes in float64"):
        numpyro.infer.util.log_density(numpyro_model, (asimov_data(),), {}, {})


def test_mass_limited_counts_match_halo_counts():
    """No flux cut (CR from 1e-12 c/s) and M500c > 1e14 Msun/h: the XOD sums to the mass-limited count."""
    survey = Survey(cr_min=1e-12)
    binning = Binning(cr_edges=(1e-12, 1e-6, 1e3))
    for m_min in (1e14, 3e14):
        forward = AnalyticModel.build(survey, binning, m_min=m_min)
        total = float(forward.expected_counts(Params.fiducial()).sum())
        ref = float(halo_counts(make_cosmology(0.3, 0.8), m_min, 0.1, 0.5, 200.0))
        assert total == pytest.approx(ref, rel=0.01)


def test_poisson_catalogues_average_to_lambda(lam):
    """Mock catalogues drawn halo by halo (HMF -> M-T -> L-T -> count rates, sample_catalogue), histogrammed: the
    mean over 200 catalogues of 200 deg^2 agrees with lambda in every bin within Poisson errors. The 200 catalogues
    are drawn as one catalogue over 200 x 200 deg^2 (a sum of independent Poisson processes is one)."""
    n = 200
    cat = sample_catalogue(jax.random.key(7), Params.fiducial(), survey=Survey(area_deg2=200.0 * n))
    hr = cat["cr_1_2"] / cat["cr_05_1"]
    mean = Binning().histogram(cat["cr_05_1"] + cat["cr_1_2"], hr, cat["z"]) / n
    sel = lam > 0.05
    z_scores = (mean - lam)[sel] / np.sqrt(lam[sel] / n)
    assert sel.sum() > 100
    assert np.max(np.abs(z_scores)) < 4.0  # ~180 bins: P(any |z| > 4) ~ 1%
    assert np.mean(np.abs(z_scores) > 3.0) < 0.02
    assert abs(mean.sum() - lam.sum()) < 3 * np.sqrt(lam.sum() / n)
    assert np.all(mean[~sel] < 0.05 + 5 * np.sqrt(0.05 / n))


def test_more_clusters_with_sigma_8_and_brighter_clusters():
    base = float(expected_counts(Params.fiducial()).sum())
    assert float(expected_counts(Params(0.3, 0.9)).sum()) > 1.3 * base
    brighter = ScalingRelations(a_lt=2 * ScalingRelations().a_lt)
    assert float(expected_counts(Params.fiducial(), brighter).sum()) > base


def test_gradient_matches_finite_differences():
    forward = default_forward()
    with jax.enable_x64(True):
        f = lambda phi: jnp.sum(jnp.sqrt(forward.from_phi(phi) + 1.0))  # noqa: E731 - a smooth scalar of all bins
        phi = jnp.asarray(fiducial_phi())
        grad = jax.grad(f)(phi)
        for a in range(len(phi)):
            h = 1e-5 * abs(float(phi[a])) if phi[a] != 0 else 1e-5
            e = jnp.zeros_like(phi).at[a].set(h)
            fd = (f(phi + e) - f(phi - e)) / (2 * h)
            assert float(grad[a]) == pytest.approx(float(fd), rel=1e-4, abs=1e-10), a


def test_interval_probabilities_keep_their_precision_in_the_tails():
    from scipy.integrate import quad
    from scipy.stats import norm

    from xcosmo.analytic import interval_probability, upper_edges

    edges = np.array([-14.0, -12.0, -9.0, -3.0, 0.0, 2.0, 8.0, 9.0, 12.0])
    with jax.enable_x64(True):
        t = jnp.asarray(edges)
        p = np.asarray(interval_probability(t, upper_edges(t)))
    uppers = list(edges[1:]) + [np.inf]
    exact = [quad(norm.pdf, lo, hi, epsabs=0.0, epsrel=1e-12, limit=200)[0] for lo, hi in zip(edges, uppers)]
    np.testing.assert_allclose(p, exact, rtol=1e-9)  # a plain difference of CDFs gives 0 above 8 sigma
    assert p.sum() + norm.cdf(edges[0]) == pytest.approx(1.0, rel=1e-14)


@pytest.mark.slow  # 40 s, mostly compiling the Hessian: a regression guard, run with -m slow
def test_likelihood_hessian_is_finite():
    # An infinite top CR edge used to make forward-over-reverse derivatives NaN (inf * 0 in the chain rule).
    model, data = default_forward(), asimov_data()
    with jax.enable_x64(True):
        hess = jax.hessian(lambda phi: poisson_log_likelihood(model.from_phi(phi), data))(jnp.asarray(fiducial_phi()))
    assert np.all(np.isfinite(np.asarray(hess)))


def test_poisson_log_likelihood_matches_scipy():
    from scipy.stats import poisson

    rng = np.random.default_rng(0)
    lam = rng.uniform(0.01, 20.0, 50)
    n = rng.poisson(lam)
    with jax.enable_x64(True):
        assert float(poisson_log_likelihood(lam, n)) == pytest.approx(poisson.logpmf(n, lam).sum(), rel=1e-12)
        assert float(poisson_log_likelihood(np.array([0.0]), np.array([0.0]))) == 0.0
        # an empty-predicted bin holding 2 clusters: floored, finite, zero gradient
        floored = 2 * np.log(LAMBDA_FLOOR) - np.log(2.0)
        assert float(poisson_log_likelihood(np.array([0.0]), np.array([2.0]))) == pytest.approx(floored)
        g = jax.grad(lambda x: poisson_log_likelihood(x, jnp.array([0.0, 3.0])))(jnp.array([0.0, 2.0]))
        np.testing.assert_allclose(g, [-1.0, 0.5])
        # integer counts, as a Poisson draw or a catalogue's histogram gives them: same value and gradient
        for counts in (np.array([0, 3]), poisson_draw(jax.random.key(0), np.array([0.5, 2.0]))):
            as_float = counts.astype(np.float64)
            g_int = jax.grad(poisson_log_likelihood)(jnp.array([0.7, 2.0]), counts)  # counts an argument, as in numpyro
            g_float = jax.grad(poisson_log_likelihood)(jnp.array([0.7, 2.0]), as_float)
            np.testing.assert_allclose(g_int, g_float, rtol=1e-12)


def test_asimov_data_is_the_maximum_likelihood_point():
    """With Asimov data the gradient of ln L vanishes at the fiducial: sum_i (n_i/lambda_i - 1) dlambda_i = 0."""
    data = asimov_data()
    forward = default_forward()
    with jax.enable_x64(True):
        grad = jax.grad(lambda phi: poisson_log_likelihood(forward.from_phi(phi), data))(jnp.asarray(fiducial_phi()))
        scale = jax.grad(lambda phi: jnp.sum(forward.from_phi(phi)))(jnp.asarray(fiducial_phi()))
    assert np.all(np.abs(np.asarray(grad)) < 1e-8 * np.abs(np.asarray(scale)) + 1e-8)


def test_numpyro_model_log_density():
    from numpyro.infer.util import log_density

    data = asimov_data()
    sites = {f"{n}_std": 0.0 for n in PHI_NAMES}
    with jax.enable_x64(True):
        lp, trace = log_density(numpyro_model, (data,), {}, sites)
        lp_off, off = log_density(numpyro_model, (data,), {}, {**sites, "omega_m_std": scipy.stats.norm.ppf(0.625)})
        _, shifted = log_density(numpyro_model, (data,), {}, {**sites, "a_mt_std": 1.0, "alpha_mt_std": 1.0})
    assert float(trace["omega_m"]["value"]) == pytest.approx(0.3) and float(trace["sigma_8"]["value"]) == pytest.approx(0.8)
    assert float(off["omega_m"]["value"]) == pytest.approx(0.35)  # 0.1 + 0.4 * 0.625
    s, widths = ScalingRelations(), nuisance_prior_sigma()
    assert float(trace["a_mt"]["value"]) == pytest.approx(s.a_mt, rel=1e-12)
    assert float(shifted["a_mt"]["value"]) == pytest.approx(s.a_mt * np.exp(widths["ln_a_mt"]))
    assert float(shifted["alpha_mt"]["value"]) == pytest.approx(s.alpha_mt + widths["alpha_mt"])
    assert float(lp) > float(lp_off)


def test_numpyro_model_priors_are_the_papers():
    """Omega_m and sigma_8 are sampled in probit coordinates: their prior must still be U(0.1, 0.5) x U(0.6, 1.0)."""
    from numpyro.infer import Predictive

    with jax.enable_x64(True):
        draws = Predictive(numpyro_model, num_samples=400, return_sites=["omega_m", "sigma_8"])(
            jax.random.key(3), asimov_data()
        )
    for name, low, high in (("omega_m", 0.1, 0.5), ("sigma_8", 0.6, 1.0)):
        x = np.asarray(draws[name])
        assert low <= x.min() and x.max() <= high, name
        assert scipy.stats.kstest(x, scipy.stats.uniform(low, high - low).cdf).pvalue > 0.01, name


def test_poisson_draw_is_reproducible(lam):
    a = poisson_draw(jax.random.key(1), lam)
    np.testing.assert_array_equal(a, poisson_draw(jax.random.key(1), lam))
    assert a.dtype == np.int64 and not np.array_equal(a, poisson_draw(jax.random.key(2), lam))


def test_bad_input():
    forward = default_forward()
    with pytest.raises(ValueError, match=r"data has shape \(4, 12, 12\), which is not allowed: expected \(8, 12, 12\)"):
        check_data(np.zeros((4, 12, 12)), forward)
    with pytest.raises(ValueError, match=r"data = .*-1.0.* is not allowed: must be finite and >= 0 counts"):
        check_data(-np.ones((8, 12, 12)), forward)
    with pytest.raises(ValueError, match=r"data = .*nan.* is not allowed: must be finite"):
        check_data(np.full((8, 12, 12), np.nan), forward)
    with pytest.raises(ValueError, match=r"omega_m = 0.7 is not allowed: allowed range \[0.1, 0.5\]"):
        expected_counts(Params(0.7, 0.8))
    with pytest.raises(ValueError, match="binning z edges = .* is not allowed: must lie within the survey's z range"):
        AnalyticModel.build(Survey(z_max=0.4), Binning())
    with pytest.raises(ValueError, match="m_min = -1"):
        AnalyticModel.build(m_min=-1.0, extrapolate=True)


def test_interval_probability_derivative_is_the_normal_density_at_the_edges():
    """The written-out derivative against jax's own derivative of a plain difference of CDFs (within 6 sigma, where
    that difference is exact enough) and against finite differences of the tail-exact values far out."""
    from jax.scipy.special import ndtr

    from xcosmo.analytic import interval_probability

    lo = jnp.array([-5.0, -2.0, -0.3, 0.0, 0.4, 3.0, 9.0, -11.0])
    hi = jnp.array([-4.0, 1.0, 0.3, 2.0, 0.5, 5.5, 9.5, -10.5])
    with jax.enable_x64(True):
        lo, hi = lo.astype(jnp.float64), hi.astype(jnp.float64)
        ours = jax.jacfwd(lambda a, b: interval_probability(a, b), argnums=(0, 1))(lo, hi)
        plain = jax.jacfwd(lambda a, b: ndtr(b) - ndtr(a), argnums=(0, 1))(lo, hi)
        rev = jax.grad(lambda a, b: jnp.sum(interval_probability(a, b) * jnp.arange(1.0, 9.0)), argnums=(0, 1))(lo, hi)
        near = np.abs(np.asarray(lo)) < 6
        for k in range(2):
            np.testing.assert_allclose(np.diag(ours[k])[near], np.diag(plain[k])[near], rtol=1e-12)
            np.testing.assert_allclose(np.asarray(rev[k]), np.diag(ours[k]) * np.arange(1.0, 9.0), rtol=1e-12)
        h = 1e-6
        fd_lo = (interval_probability(lo + h, hi) - interval_probability(lo - h, hi)) / (2 * h)
        np.testing.assert_allclose(np.diag(ours[0])[~near], np.asarray(fd_lo)[~near], rtol=1e-6)
