"""Tests of emulators.scaling.relations: CR-M and HR-M fits of cluster catalogues with bootstrap errors.

Catalogues are drawn here from known relations (log-normal, correlated scatter) and the fits are checked against the
truth, against scipy's linregress on the same clusters, and their bootstrap errors against the textbook standard
errors of least squares."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from emulators.scaling.relations import M_MIN, PIVOT_MASS, RELATION_NAMES, fit_relations

TRUTH = dict(cr_norm=-0.8, cr_slope=1.6, cr_scatter=0.25, hr_norm=-0.3, hr_slope=0.35, hr_scatter=0.08, correlation=0.6)


def catalogue(n, seed=0, truth=TRUTH, x_range=(-1.0, 1.0)):
    """n clusters, masses log-uniform in PIVOT_MASS 10^x_range (default 1e13-1e15 Msun/h), with the relations of
    ``truth``: (n, 3) mass, CR soft, CR hard."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(*x_range, n)
    cov = np.array([[truth["cr_scatter"] ** 2, truth["correlation"] * truth["cr_scatter"] * truth["hr_scatter"]],
                    [truth["correlation"] * truth["cr_scatter"] * truth["hr_scatter"], truth["hr_scatter"] ** 2]])  # fmt: skip
    e = rng.multivariate_normal([0, 0], cov, n)
    cr = 10 ** (truth["cr_norm"] + truth["cr_slope"] * x + e[:, 0])
    hr = 10 ** (truth["hr_norm"] + truth["hr_slope"] * x + e[:, 1])
    soft = cr / (1 + hr)
    return np.stack([PIVOT_MASS * 10**x, soft, cr - soft], axis=1)


def test_fits_agree_with_scipy_linregress_on_the_same_clusters():
    cat = catalogue(300)
    fit = fit_relations(cat, n_boot=50)
    x = np.log10(cat[:, 0] / PIVOT_MASS)
    for prefix, y in (("cr", np.log10(cat[:, 1] + cat[:, 2])), ("hr", np.log10(cat[:, 2] / cat[:, 1]))):
        ref = stats.linregress(x, y)
        got = dict(zip(RELATION_NAMES, fit["value"]))
        assert got[f"{prefix}_norm"] == pytest.approx(ref.intercept, abs=1e-10)
        assert got[f"{prefix}_slope"] == pytest.approx(ref.slope, abs=1e-10)
        residual = y - ref.intercept - ref.slope * x
        assert got[f"{prefix}_scatter"] == pytest.approx(np.std(residual, ddof=2), rel=1e-10)


def test_recovers_the_truth_within_its_bootstrap_errors_and_the_errors_are_the_least_squares_ones():
    """Over 40 catalogues of 400 clusters: the standardised errors (fit - truth) / bootstrap error have mean ~0 and
    standard deviation ~1 for every quantity, and the slope's bootstrap error is the least-squares standard error
    sigma / sqrt(S_xx)."""
    pulls, ratio = [], []
    for seed in range(40):
        cat = catalogue(400, seed)
        fit = fit_relations(cat, n_boot=200, seed=seed)
        pulls.append((fit["value"] - np.array([TRUTH[k] for k in RELATION_NAMES])) / fit["error"])
        x = np.log10(cat[:, 0] / PIVOT_MASS)
        ratio.append(fit["error"][1] / (fit["value"][2] / np.sqrt(((x - x.mean()) ** 2).sum())))
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls.mean(0)) < 0.5), dict(zip(RELATION_NAMES, pulls.mean(0)))
    assert np.all((pulls.std(0) > 0.7) & (pulls.std(0) < 1.35)), dict(zip(RELATION_NAMES, pulls.std(0)))
    assert np.median(ratio) == pytest.approx(1.0, abs=0.1)


def test_bootstrap_covariance_has_the_least_squares_correlations():
    """Clusters below the pivot, as in the simulated volumes: the normalisation at the pivot is an extrapolation, so
    its error is correlated with the slope's, corr(A, B) = -mean(x) / sqrt(mean(x^2)) for least squares; the CR and HR
    normalisations share the clusters' correlated scatter, corr(A_CR, A_HR) = rho."""
    cat = catalogue(400, seed=3, x_range=(-1.5, -0.5))
    fit = fit_relations(cat, n_boot=1000, seed=3)
    cov = fit["covariance"]
    assert cov.shape == (7, 7)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), fit["error"], rtol=1e-12)
    corr = cov / np.outer(fit["error"], fit["error"])
    x = np.log10(cat[:, 0] / PIVOT_MASS)
    expected = -x.mean() / np.sqrt(np.mean(x**2))
    assert corr[0, 1] == pytest.approx(expected, abs=0.03)
    assert corr[3, 4] == pytest.approx(expected, abs=0.03)
    assert corr[0, 3] == pytest.approx(TRUTH["correlation"], abs=0.1)


def test_ignores_padding_small_masses_and_dark_clusters():
    cat = catalogue(200)
    fit = fit_relations(cat, n_boot=20)
    extra = np.array([[np.nan, np.nan, np.nan], [M_MIN / 2, 1.0, 1.0], [1e14, 0.0, 0.0], [2e14, 1e-3, 0.0]])
    padded = fit_relations(np.concatenate([cat, extra]), n_boot=20)
    np.testing.assert_array_equal(padded["value"], fit["value"])
    assert (padded["n_clusters"], padded["n_dark"]) == (200, 2)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(catalogue=np.ones((5, 2))), "catalogue has shape"),
    (dict(catalogue=catalogue(5)), "5 clusters above m_min"),
    (dict(catalogue=catalogue(50), pivot=-1.0), "pivot"),
    (dict(catalogue=catalogue(50), n_boot=1), "n_boot"),
])  # fmt: skip
def test_refuses_bad_input_naming_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_relations(**kwargs)
