"""Is an amortised posterior calibrated? Rank statistics, coverage and TARP on simulations it was not trained on.

For simulations (u*_i, x_i) from the prior, with L posterior draws u_il ~ q(u | x_i) each (u in the prior's unit cube,
:mod:`inference.sbi.dataset`):

- **simulation-based calibration** (Talts et al. 2018; paper appendix A): the rank r_ij = #{l : u_ilj < u*_ij} of
  every parameter j is uniform on {0, ..., L} when q is the posterior. Tested by Kolmogorov-Smirnov against the
  uniform distribution on (r_ij + v_ij) / (L + 1), v_ij ~ U(0, 1) (the randomised ranks are uniform on [0, 1]
  exactly when the ranks are uniform): a p-value per parameter;
- **expected coverage** of the central credible intervals, per parameter: the fraction of simulations whose truth
  lies in the central interval of credibility alpha, against alpha (from the same ranks);
- **TARP** (Lemos et al. 2023, "Sampling-based accuracy testing of posterior estimators"), a test of the joint
  posterior: with a reference point r_i drawn uniformly in the unit cube, f_i = #{l : |u_il - r_i| < |u*_i - r_i|} / L;
  the expected coverage probability ECP(alpha) = mean_i [f_i < alpha] equals alpha for every alpha if and only if q is
  the posterior (their theorem 3). Reported as the curve and its largest distance from the diagonal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ranks", "sbc_pvalues", "coverage", "tarp", "ALPHAS"]

ALPHAS = np.linspace(0.0, 1.0, 21)
"""Credibility levels of the coverage curves."""


def ranks(truth: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Ranks (n, p) of ``truth`` (n, p) among ``draws`` (n, L, p)."""
    return np.sum(draws < truth[:, None, :], axis=1)


def sbc_pvalues(r: np.ndarray, n_draws: int, seed: int = 0) -> np.ndarray:
    """Kolmogorov-Smirnov p-values (p,) of the randomised ranks ``r`` (n, p) against uniformity (module docstring)."""
    from scipy.stats import kstest

    v = np.random.default_rng(seed).uniform(size=r.shape)
    x = (r + v) / (n_draws + 1)
    return np.array([kstest(x[:, j], "uniform").pvalue for j in range(r.shape[1])])


def coverage(r: np.ndarray, n_draws: int, alphas: np.ndarray = ALPHAS) -> np.ndarray:
    """Fraction (len(alphas), p) of truths inside the central credible interval of each level, from the ranks."""
    q = (r + 0.5) / (n_draws + 1)  # the truth's posterior quantile
    return np.array([np.mean(np.abs(q - 0.5) <= a / 2, axis=0) for a in alphas])


def tarp(truth: np.ndarray, draws: np.ndarray, seed: int = 0, alphas: np.ndarray = ALPHAS,
         references: np.ndarray | None = None) -> dict:  # fmt: skip
    """TARP's expected coverage probability (module docstring) of ``truth`` (n, p) and ``draws`` (n, L, p) in the unit
    cube: ``{"alpha", "ecp", "max_deviation"}``; the reference points are uniform draws seeded by ``seed`` unless
    given (``references``, (n, p))."""
    ref = np.random.default_rng(seed).uniform(size=truth.shape) if references is None else np.asarray(references)
    d_draws = np.linalg.norm(draws - ref[:, None, :], axis=2)
    d_true = np.linalg.norm(truth - ref, axis=1)
    f = np.mean(d_draws < d_true[:, None], axis=1)
    ecp = np.array([np.mean(f < a) for a in alphas])
    return {"alpha": alphas, "ecp": ecp, "max_deviation": float(np.max(np.abs(ecp - alphas)))}
