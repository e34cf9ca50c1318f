"""Fisher matrices of Poisson counts (paper eq. 8): closed forms, Cramer-Rao by Monte Carlo, the analytical model."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

from inference.fisher import FisherResult, analytic_fisher, delta_chi2, fisher_matrix
from inference.fisher_plots import plot_fisher

# --- toy models with known answers -------------------------------------------------------------------------------


def test_linear_model_matches_numpy():
    """lambda = A theta + b: F = A^T diag(1/lambda) A exactly; finite differences are exact for a linear model."""
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 20.0, (40, 3))
    b = rng.uniform(1.0, 5.0, 40)
    theta = np.array([2.0, 0.5, 7.0])
    lam = a @ theta + b
    expected = a.T @ (a / lam[:, None])
    fn = lambda t: jnp.asarray(a) @ t + jnp.asarray(b)  # noqa: E731
    res = fisher_matrix(fn, theta)
    np.testing.assert_allclose(res.matrix, expected, rtol=1e-12)
    assert res.names == ("p_0", "p_1", "p_2") and res.n_bins == 40
    np.testing.assert_allclose(res.covariance, np.linalg.inv(expected), rtol=1e-10)
    fd = fisher_matrix(fn, theta, method="finite_difference")
    np.testing.assert_allclose(fd.matrix, expected, rtol=1e-8)


def test_one_parameter_closed_forms():
    """Binomial split lambda = N (p, 1 - p): F = N / (p (1 - p)); lambda = N theta^2 in one bin: F = 4 N."""
    n = 1234.0
    for p in (0.1, 0.5, 0.8):
        res = fisher_matrix(lambda t: n * jnp.stack([t[0], 1.0 - t[0]]), [p])
        np.testing.assert_allclose(res.matrix[0, 0], n / (p * (1.0 - p)), rtol=1e-12)
        np.testing.assert_allclose(res.marginal_errors[0], math.sqrt(p * (1.0 - p) / n), rtol=1e-12)
        np.testing.assert_allclose(res.conditional_errors, res.marginal_errors, rtol=1e-12)
    res = fisher_matrix(lambda t: n * t**2, np.array([0.37]))
    np.testing.assert_allclose(res.matrix, [[4.0 * n]], rtol=1e-12)


def test_cramer_rao_monte_carlo():
    """Maximum-likelihood estimates of (amplitude, scale) of lambda_i = A exp(-x_i / s) over 1000 Poisson draws
    (~10^2-10^3 counts per bin) scatter with the covariance F^-1: variances within 15% (the Monte-Carlo error on a
    variance from 1000 draws is 4.5%), correlation within 0.05."""
    x = np.linspace(0.0, 3.0, 10)
    theta = np.array([500.0, 1.5])
    res = fisher_matrix(lambda t: t[0] * jnp.exp(-jnp.asarray(x) / t[1]), theta, names=("amp", "scale"))

    def nll(t, k):
        lam = t[0] * np.exp(-x / t[1])
        r = 1.0 - k / lam
        return np.sum(lam - k * np.log(lam)), np.array([np.sum(r * lam / t[0]), np.sum(r * lam * x / t[1] ** 2)])

    draws = np.random.default_rng(0).poisson(theta[0] * np.exp(-x / theta[1]), (1000, x.size))
    fits = [minimize(nll, theta, args=(k,), jac=True, method="BFGS") for k in draws]
    assert max(np.abs(f.jac).max() for f in fits) < 1e-3  # converged (BFGS may stop on 'precision loss' there)
    est = np.array([f.x for f in fits])
    cov = np.cov(est.T)
    np.testing.assert_allclose(np.diag(cov), np.diag(res.covariance), rtol=0.15)
    assert abs(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]) - res.correlation[0, 1]) < 0.05


def test_does_not_switch_x64_globally():
    before = jax.config.read("jax_enable_x64")
    fisher_matrix(lambda t: 10.0 * jnp.exp(t), np.zeros(2))
    assert jax.config.read("jax_enable_x64") == before


def test_prior_marginalise_fix_on_a_toy():
    f = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    res = FisherResult(f, [1.0, 2.0, 3.0], ("a", "b", "c"))
    cov = np.linalg.inv(f)
    np.testing.assert_allclose(res.marginalise(["c", "a"]).covariance, cov[np.ix_([2, 0], [2, 0])], rtol=1e-12)
    assert res.marginalise(["c", "a"]).names == ("c", "a")
    np.testing.assert_array_equal(res.fix(["b"]).matrix, f[np.ix_([0, 2], [0, 2])])
    with_prior = res.add_prior({"b": 0.5, "c": None})
    np.testing.assert_allclose(with_prior.matrix, f + np.diag([0.0, 4.0, 0.0]), rtol=1e-15)
    np.testing.assert_array_equal(res.add_prior([math.inf, None, math.inf]).matrix, f)
    np.testing.assert_allclose(fisher_matrix(lambda t: 5.0 * jnp.exp(t), [0.0, 0.0], prior_sigma=[0.1, None]).matrix,
                               np.diag([5.0 + 100.0, 5.0]), rtol=1e-12)  # fmt: skip
    # ellipse: the outline lies on Delta chi^2 = 2.30 and the area is pi Delta chi^2 / FoM
    e = res.ellipse(("a", "b"), n_sigma=1)
    c2 = cov[:2, :2]
    d = e.points - res.fiducial[:2]
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", d, np.linalg.inv(c2), d), 2.2957, rtol=1e-4)
    np.testing.assert_allclose(e.area, math.pi * 2.2957 / res.figure_of_merit(("a", "b")), rtol=1e-4)
    assert e.width >= e.height > 0
    np.testing.assert_allclose([delta_chi2(1), delta_chi2(2)], [2.2958, 6.1801], rtol=1e-4)


# --- the analytical model ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analytic():
    from xcosmo.analytic import AnalyticModel

    forward = AnalyticModel.build()
    return forward, analytic_fisher(forward), analytic_fisher(forward, method="finite_difference")


def test_analytic_autodiff_matches_finite_differences(analytic):
    """Acceptance criterion: autodiff and finite differences (relative step 1e-4) agree to 1e-3, elementwise in
    |F_ad - F_fd|_ab / sqrt(F_aa F_bb) (scale-free: the parameters span 57 decades), and as a plain relative
    difference on every entry with |F_ab| > 1e-3 sqrt(F_aa F_bb). Measured: ~2e-7."""
    _, ad, fd = analytic
    scale = np.sqrt(np.outer(np.diag(ad.matrix), np.diag(ad.matrix)))
    assert np.abs(ad.matrix - fd.matrix).max() > 0  # two different computations
    assert np.abs((ad.matrix - fd.matrix) / scale).max() < 1e-3
    well = np.abs(ad.matrix) > 1e-3 * scale
    assert well.sum() >= 40
    np.testing.assert_allclose(fd.matrix[well], ad.matrix[well], rtol=1e-3)
    np.testing.assert_allclose(fd.marginal_errors, ad.marginal_errors, rtol=1e-3)


def test_readme_headline_fisher_errors(analytic):
    """README: with the published-width scaling-relation priors, sigma(Omega_m) = 0.040, sigma(sigma_8) = 0.091,
    FoM 1038 on the Asimov XOD (the ``"xxl"`` relations)."""
    from inference.likelihood import nuisance_prior_sigma_phi

    _, res, _ = analytic
    with_priors = res.add_prior(nuisance_prior_sigma_phi())
    err = with_priors.marginal_errors
    assert (round(float(err[0]), 3), round(float(err[1]), 3)) == (0.040, 0.091)
    assert round(with_priors.figure_of_merit()) == 1038


def test_the_degeneracies_of_figure_11_show(analytic):
    """Paper figure 11: without priors, A_MT is degenerate with Omega_m and alpha_MT with gamma_MT."""
    _, res, _ = analytic
    cov = res.covariance
    rho = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    names = list(res.names)
    assert abs(rho[names.index("a_mt"), names.index("omega_m")]) > 0.6
    assert abs(rho[names.index("alpha_mt"), names.index("gamma_mt")]) > 0.6


def test_analytic_fisher_properties(analytic, tmp_path):
    from xcosmo.analytic import PHI_NAMES

    _, res, _ = analytic
    assert res.names == PHI_NAMES and res.matrix.dtype == np.float64
    assert 0 < res.n_bins < 8 * 12 * 12  # the bins below the flux cut are left out
    np.testing.assert_array_equal(res.matrix, res.matrix.T)
    s = 1.0 / np.sqrt(np.diag(res.matrix))
    assert np.linalg.eigvalsh(res.matrix * np.outer(s, s)).min() > 0  # positive definite
    np.testing.assert_allclose((res.covariance / np.outer(s, s)) @ (res.matrix * np.outer(s, s)), np.eye(8), atol=1e-9)
    assert np.all(res.marginal_errors >= res.conditional_errors)
    assert np.all(np.abs(res.correlation) <= 1 + 1e-12)
    fom = res.figure_of_merit()
    assert fom > 0
    cosmo = res.marginalise(["omega_m", "sigma_8"])
    np.testing.assert_allclose(math.sqrt(np.linalg.det(cosmo.matrix)), fom, rtol=1e-8)
    np.testing.assert_allclose(cosmo.marginal_errors, res.marginal_errors[:2], rtol=1e-8)
    # fixing the nuisance parameters: cosmology errors shrink to those of the cosmology-only Fisher block
    fixed = res.fix(PHI_NAMES[2:])
    np.testing.assert_array_equal(fixed.matrix, res.matrix[:2, :2])
    assert np.all(fixed.marginal_errors <= res.marginal_errors[:2])
    assert fixed.figure_of_merit() > fom
    # a prior tightens every marginal error and raises the FoM
    prior = res.add_prior({"a_mt": 0.15 * res.fiducial[2], "alpha_mt": 0.12, "a_lt": 0.1 * res.fiducial[5]})
    assert np.all(prior.marginal_errors <= res.marginal_errors * (1 + 1e-12)) and prior.figure_of_merit() > fom
    # figure 11 degeneracies, and a triangle comparing two results
    out = plot_fisher(res, tmp_path / "fig11.png", pairs=[("a_mt", "omega_m"), ("alpha_mt", "gamma_mt")])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    tri = plot_fisher([res, prior], tmp_path / "tri.png", names=PHI_NAMES[:3], labels=["free", "prior"])
    assert tri.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig11.png", "tri.png"]  # no temporary left behind


# --- errors ------------------------------------------------------------------------------------------------------


def _lin(t):
    return 10.0 + jnp.stack([t[0], t[1], t[0] - t[1]])


def test_bad_fiducial_and_bad_counts():
    with pytest.raises(ValueError, match=r"fiducial\[1\] \(sigma_8\) = nan is not allowed: must be finite"):
        fisher_matrix(_lin, [0.3, np.nan], names=("omega_m", "sigma_8"))
    with pytest.raises(ValueError, match="float32 overflow"):
        fisher_matrix(_lin, [0.3, np.inf])
    with pytest.raises(ValueError, match=r"fiducial has shape \(2, 2\), which is not allowed: expected \(n,\) \(a 1-D parameter vector\)"):
        fisher_matrix(_lin, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"negative expected counts: lambda\[1\] = -3"):
        fisher_matrix(lambda t: jnp.stack([5.0 + t[0], -3.0 + t[0]]), [0.0])
    with pytest.raises(ValueError, match="dtype float32: expected float64"):
        fisher_matrix(lambda t: (10.0 * jnp.exp(t)).astype(jnp.float32), [0.0])
    with pytest.raises(ValueError, match="non-finite expected counts"):
        fisher_matrix(lambda t: jnp.log(t - 1.0), [0.5])
    with pytest.raises(ValueError, match="method = 'numeric' is not allowed: allowed values"):
        fisher_matrix(_lin, [0.0, 0.0], method="numeric")
    with pytest.raises(ValueError, match=r"prior_sigma\['b'\] = -1.0 is not allowed: must be > 0"):
        fisher_matrix(_lin, [0.0, 0.0], names=("a", "b"), prior_sigma=[None, -1.0])
    with pytest.raises(ValueError, match="prior_sigma parameter = 'c' is not allowed: allowed values are"):
        fisher_matrix(_lin, [0.0, 0.0], names=("a", "b"), prior_sigma={"c": 1.0})


def test_singular_fisher_names_the_degenerate_direction():
    res = fisher_matrix(lambda t: 10.0 + jnp.stack([t[0] + t[1], 2 * (t[0] + t[1])]) + 0 * t[2], [0.0, 0.0, 1.0],
                        names=("omega_m", "sigma_8", "a_mt"))  # fmt: skip
    with pytest.raises(ValueError, match="parameter 'a_mt' carries no information"):
        res.covariance
    sub = res.fix(["a_mt"])
    with pytest.raises(ValueError, match=r"singular .*direction [+-]1.00\*omega_m [+-]1.00\*sigma_8"):
        sub.marginal_errors
    assert np.isfinite(sub.add_prior([0.1, None]).covariance).all()  # a prior lifts the degeneracy


def test_unknown_names():
    res = FisherResult(np.diag([1.0, 2.0]), [0.0, 1.0], ("a", "b"))
    msg = r"parameter = 'omega_m' is not allowed: allowed values are \('a', 'b'\)"
    with pytest.raises(ValueError, match=msg):
        res.figure_of_merit()
    with pytest.raises(ValueError, match=msg):
        res.marginalise(["omega_m"])
    with pytest.raises(ValueError, match=msg):
        res.fix(["omega_m"])
    with pytest.raises(ValueError, match=msg):
        plot_fisher(res, "unused.png", pairs=[("a", "omega_m")])
    with pytest.raises(ValueError, match="names = \\('a', 'a'\\) is not allowed: need 2 distinct names"):
        FisherResult(np.eye(2), [0.0, 1.0], ("a", "a"))
    with pytest.raises(ValueError, match="matrix = a non-symmetric matrix is not allowed: a Fisher matrix is symmetric"):
        FisherResult([[1.0, 0.5], [0.2, 1.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="expected two parameter names"):
        res.ellipse(("a", "b", "a"))
    with pytest.raises(ValueError, match="give names .* or pairs"):
        plot_fisher(res, "unused.png", names=["a", "b"], pairs=[("a", "b")])
