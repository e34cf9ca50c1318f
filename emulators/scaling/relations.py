"""The CR-M and HR-M relations of a cluster catalogue, with bootstrap uncertainties (paper 5.3, figure 13).

Above a mass ``m_min`` (the catalogue is mass-selected, so regressing the observables on the mass is unbiased), with
x = log10(M / M_pivot):

    log10 CR = A_CR + B_CR x + e_CR,        log10 HR = A_HR + B_HR x + e_HR,

fitted by least squares; the scatters sigma_CR, sigma_HR are the standard deviations of the residuals (dex, with
the two fitted parameters' degrees of freedom removed) and rho their correlation coefficient. CR is the [0.5-2] keV
count rate and HR = CR[1-2] / CR[0.5-1], as the XODs define them (:mod:`xcosmo.xod`). The uncertainties are the
standard deviations of the same fits over ``n_boot`` bootstrap resamplings of the clusters.
"""

from __future__ import annotations

import numpy as np

from xcosmo.checks import check_integer, check_number, check_shape, fail

__all__ = ["RELATION_NAMES", "PIVOT_MASS", "M_MIN", "fit_relations"]

RELATION_NAMES = ("cr_norm", "cr_slope", "cr_scatter", "hr_norm", "hr_slope", "hr_scatter", "correlation")
"""A_CR, B_CR, sigma_CR, A_HR, B_HR, sigma_HR, rho (module docstring; normalisations and scatters in dex)."""

PIVOT_MASS = 1e14
"""M_pivot, Msun/h."""

M_MIN = 5e12
"""Smallest mass (Msun/h) of the fitted clusters: above it the detections are haloes resolved by several voxels
(as :data:`emulators.eldl.validation.M_MIN`)."""

MIN_CLUSTERS = 10
"""Fewest clusters a fit accepts."""


def _fit(x: np.ndarray, log_cr: np.ndarray, log_hr: np.ndarray) -> np.ndarray:
    """The seven relation values of one sample (module docstring), for arrays of shape (..., n)."""
    n = x.shape[-1]
    xm = x - x.mean(-1, keepdims=True)
    sxx = (xm**2).sum(-1)
    out = []
    residuals = []
    for y in (log_cr, log_hr):
        slope = (xm * (y - y.mean(-1, keepdims=True))).sum(-1) / sxx
        norm = y.mean(-1) - slope * x.mean(-1)
        r = y - norm[..., None] - slope[..., None] * x
        out += [norm, slope, np.sqrt((r**2).sum(-1) / (n - 2))]
        residuals.append(r)
    a, b = residuals
    out.append((a * b).sum(-1) / np.sqrt((a**2).sum(-1) * (b**2).sum(-1)))
    return np.stack(out, axis=-1)


def fit_relations(catalogue: np.ndarray, *, pivot: float = PIVOT_MASS, m_min: float = M_MIN, n_boot: int = 200,
                  seed: int = 0) -> dict:  # fmt: skip
    """The relations of a catalogue (n, 3) of mass (Msun/h), CR[0.5-1] and CR[1-2] (counts/s; rows of NaN, the
    padding of a campaign store, are ignored) above ``m_min``.

    Returns ``{"value": (7,), "error": (7,), "covariance": (7, 7), "n_clusters": int}``, the values, their bootstrap
    standard deviations and covariance in the order of :data:`RELATION_NAMES`. Clusters with a zero count rate in
    either band (no gas) are left out, and counted in ``"n_dark"``.
    """
    catalogue = check_shape("catalogue", np.asarray(catalogue, np.float64), (None, 3))
    check_number("pivot", pivot, 0.0, np.inf, open=True, unit="Msun/h")
    check_number("m_min", m_min, 0.0, np.inf, unit="Msun/h")
    n_boot = check_integer("n_boot", n_boot, 2)
    rows = catalogue[np.all(np.isfinite(catalogue), axis=1) & (catalogue[:, 0] > m_min)]
    bright = (rows[:, 1] > 0) & (rows[:, 2] > 0)
    mass, soft, hard = rows[bright].T
    if mass.size < MIN_CLUSTERS:
        fail("catalogue", f"{mass.size} clusters above m_min = {m_min:g} Msun/h with gas",
             f"at least {MIN_CLUSTERS} to fit the relations (larger volumes, or a lower m_min)")  # fmt: skip
    x, log_cr, log_hr = np.log10(mass / pivot), np.log10(soft + hard), np.log10(hard / soft)
    value = _fit(x, log_cr, log_hr)
    pick = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    boot = _fit(x[pick], log_cr[pick], log_hr[pick])
    covariance = np.cov(boot, rowvar=False)
    return {"value": value, "error": np.sqrt(np.diag(covariance)), "covariance": covariance, "n_clusters": int(x.size),
            "n_dark": int((~bright).sum())}  # fmt: skip
