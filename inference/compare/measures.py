"""What the comparison reports of one posterior, from its draws or from a Fisher matrix (paper table 3, figures 10-12).

- the marginal errors (standard deviations) and the correlation coefficients of every pair of parameters;
- the figure of merit of (Omega_m, sigma_8), FoM = 1 / sqrt(det Cov(Omega_m, sigma_8)) (paper table 3's
  Cov(Omega_m, sigma_8)^-1, as :meth:`inference.fisher.FisherResult.figure_of_merit`);
- the 68% half-widths of Omega_m and sigma_8: (q_84 - q_16) / 2 of the draws, one marginal error for a Fisher matrix
  (its posterior is Gaussian);
- the degeneracy of cosmology with the other parameters (:func:`degeneracy`): the largest |correlation| between
  Omega_m or sigma_8 and any parameter that is not cosmological (a scaling-relation coefficient of the analytical
  model, a feedback amplitude of the physical ones).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from xcosmo.checks import check_shape, fail

__all__ = ["COSMOLOGY", "from_draws", "from_fisher", "degeneracy"]

COSMOLOGY = ("omega_m", "sigma_8")


def _check_cosmology(names: Sequence[str]) -> tuple[int, int]:
    if not set(COSMOLOGY) <= set(names):
        fail("names", list(names), f"parameters including {COSMOLOGY}")
    return names.index(COSMOLOGY[0]), names.index(COSMOLOGY[1])


def from_draws(draws: np.ndarray, names: Sequence[str]) -> dict:
    """The measures of the module docstring from posterior draws (n, p) of the parameters ``names``."""
    names = list(names)
    draws = check_shape("draws", np.asarray(draws, np.float64), (None, len(names)), f" (draws, {names})")
    if draws.shape[0] < 10:
        fail("draws", f"{draws.shape[0]} draws", "at least 10 posterior draws")
    i, j = _check_cosmology(names)
    cov = np.cov(draws.T)
    errors = np.sqrt(np.diag(cov))
    q16, q84 = np.percentile(draws[:, [i, j]], [16, 84], axis=0)
    return {"names": names, "mean": draws.mean(axis=0).tolist(), "errors": errors.tolist(),
            "correlation": (cov / np.outer(errors, errors)).tolist(),
            "fom": float(1.0 / np.sqrt(np.linalg.det(cov[np.ix_([i, j], [i, j])]))),
            "half_width_68": dict(zip(COSMOLOGY, ((q84 - q16) / 2).tolist())), "n_draws": int(draws.shape[0])}  # fmt: skip


def from_fisher(fisher) -> dict:
    """The measures of the module docstring from a :class:`inference.fisher.FisherResult` (its fiducial as the
    mean)."""
    names = list(fisher.names)
    i, j = _check_cosmology(names)
    errors = fisher.marginal_errors
    return {"names": names, "mean": fisher.fiducial.tolist(), "errors": errors.tolist(),
            "correlation": fisher.correlation.tolist(), "fom": float(fisher.figure_of_merit(COSMOLOGY)),
            "half_width_68": dict(zip(COSMOLOGY, errors[[i, j]].tolist()))}  # fmt: skip


def degeneracy(measures: dict) -> dict:
    """The largest |correlation| between Omega_m or sigma_8 and a parameter outside :data:`COSMOLOGY` in
    ``measures`` (:func:`from_draws` or :func:`from_fisher`): ``{"pair": [cosmology, other], "abs_correlation"}``."""
    names = measures["names"]
    corr = np.abs(np.asarray(measures["correlation"]))
    others = [k for k, n in enumerate(names) if n not in COSMOLOGY]
    if not others:
        fail("measures", names, "parameters beyond the cosmological ones")
    best = max(((corr[names.index(c), k], c, names[k]) for c in COSMOLOGY for k in others))
    return {"pair": [best[1], best[2]], "abs_correlation": float(best[0])}
