"""The two explicit-likelihood models of the comparison, each through the code paths it has everywhere else:

=============  ========================================================================================================
``analytic``   the analytical model (2 + 6: Omega_m, sigma_8 and the M-T, L-T coefficients with the likelihood's
               priors; :mod:`inference.likelihood`), at a point's cosmology with the fiducial XXL relations
``emulated``   the emulated-relation model (2 + 4: theta_sim, the emulator's errors marginalised;
               :mod:`inference.emulated`), at the point itself
=============  ========================================================================================================

For each, :func:`fisher` (paper eq. 8, on the full XOD or one of its summary statistics,
:mod:`inference.sbi.summaries`) and :func:`nuts` (an Asimov XOD at the point, chains cached as netCDF).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from xcosmo.checks import check_choice

__all__ = ["MODELS", "analytic_phi", "analytic_model", "emulated_model", "fisher", "nuts"]

MODELS = ("analytic", "emulated")


def analytic_phi(theta) -> np.ndarray:
    """The analytical model's phi at ``theta``'s cosmology and the fiducial relations of its relation set."""
    from xcosmo.analytic import fiducial_phi

    phi = fiducial_phi()
    phi[:2] = np.asarray(theta, np.float64)[:2]
    return phi


@functools.lru_cache(maxsize=1)
def analytic_model():
    """The analytical model of the default survey and binning (built once)."""
    from xcosmo.analytic import AnalyticModel

    return AnalyticModel.build()


@functools.lru_cache(maxsize=1)
def emulated_model():
    """The emulated-relation model of the shipped emulator, default survey and binning (built once)."""
    from emulators.scaling.emulator import ScalingRelationEmulator
    from xcosmo.emulated import EmulatedRelationModel

    return EmulatedRelationModel.build(ScalingRelationEmulator.pretrained())


@functools.lru_cache(maxsize=None)
def _expected(model: str, summary: str):
    """The ``summary`` of ``model``'s expected XOD as a function of its parameters, one function per pair so that
    :func:`inference.fisher.fisher_matrix` compiles it once for every point."""
    from inference.sbi.summaries import summarise

    if model == "analytic":
        forward = analytic_model()
        return lambda p: summarise(forward.from_phi(p), summary)
    forward = emulated_model()
    return lambda p: summarise(forward.from_theta(p[:6], p[6:]), summary)


def fisher(model: str, theta, summary: str = "z-cr-hr"):
    """The :class:`inference.fisher.FisherResult` of ``model`` (module docstring) at the point ``theta`` from the
    ``summary`` statistic: over (Omega_m, sigma_8) and the model's other parameters, with the analytical model's
    priors on its relations and the emulator's errors marginalised."""
    from inference.fisher import fisher_matrix
    from inference.sbi.summaries import SUMMARIES

    check_choice("model", model, MODELS)
    check_choice("summary", summary, tuple(SUMMARIES))
    if model == "analytic":
        from inference.likelihood import nuisance_prior_sigma_phi
        from xcosmo.analytic import PHI_NAMES

        return fisher_matrix(_expected(model, summary), analytic_phi(theta),
                             prior_sigma=nuisance_prior_sigma_phi(analytic_model()), names=PHI_NAMES)  # fmt: skip
    from inference.emulated import EPS_NAMES
    from xcosmo.params import PARAM_NAMES

    p0 = np.r_[np.asarray(theta, np.float64), np.zeros(len(EPS_NAMES))]
    prior = np.r_[np.full(len(PARAM_NAMES), np.inf), np.ones(len(EPS_NAMES))]
    result = fisher_matrix(_expected(model, summary), p0, prior_sigma=prior, names=(*PARAM_NAMES, *EPS_NAMES))
    return result.marginalise(PARAM_NAMES)


def nuts(model: str, theta, settings, path: Path) -> tuple[np.ndarray, tuple[str, ...], dict]:
    """Posterior draws (n, p), their names and the chains' diagnostics (divergences, R-hat, ESS) from NUTS
    (``settings``: :class:`inference.mcmc.NUTSSettings`, its ``neutra`` the model's) on the Asimov XOD of ``model``
    at ``theta``; the chains are kept at ``path`` (netCDF) and read from there if present."""
    from inference.mcmc import load_chains, run_nuts, save_chains, summary

    check_choice("model", model, MODELS)
    path = Path(path)
    if model == "analytic":
        from inference.likelihood import asimov_data, numpyro_model
        from xcosmo.analytic import PHI_NAMES as names

        forward = analytic_model()
        data, kwargs = asimov_data(analytic_phi(theta), forward), {"forward": forward}
    else:
        from inference.emulated import asimov_data, numpyro_model
        from xcosmo.params import PARAM_NAMES as names

        forward = emulated_model()
        data, kwargs = asimov_data(forward, theta), {"forward": forward}
    if path.is_file():
        tree = load_chains(path)
    else:
        tree = run_nuts(numpyro_model, data, settings=settings, **kwargs)
        save_chains(tree, path)
    post = tree["posterior"]
    draws = np.stack([np.asarray(post[n].values).reshape(-1) for n in names], axis=1)
    diag = summary(tree, list(names))
    return draws, tuple(names), {k: diag[k] for k in ("num_divergences", "r_hat_max", "ess_min")}
