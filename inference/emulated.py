"""The explicit likelihood of the emulated-relation model: the XOD's Poisson likelihood on the six physical parameters
(:class:`xcosmo.emulated.EmulatedRelationModel`), sampled and Fisher-forecast through the same code as the analytical
model's (:mod:`inference.likelihood`, :func:`inference.mcmc.run_nuts`, :func:`inference.fisher.fisher_matrix`).

Priors: theta_sim has the paper's table 1 prior (:data:`xcosmo.params.PRIOR`: uniform in Omega_m and sigma_8,
log-uniform in the feedback amplitudes), sampled as standard normals ``<name>_std`` mapped through the normal CDF onto
the prior's unit cube (the analytical model's coordinates: the prior exactly, with Gaussian tails for NUTS). With
``marginalise=True`` (the default) the emulator's error enters as seven more standard normals ``eps_<quantity>``
(:mod:`xcosmo.emulated`); with ``False`` the emulator's mean is used as if exact.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from inference.likelihood import poisson_log_likelihood
from xcosmo.emulated import EmulatedRelationModel
from xcosmo.params import PARAM_NAMES, PRIOR
from xcosmo.precision import float64, require_x64

__all__ = ["EPS_NAMES", "numpyro_model", "theta_from_std", "asimov_data", "emulated_fisher", "fisher_comparison"]

EPS_NAMES = tuple(f"eps_{n}" for n in ("cr_norm", "cr_slope", "cr_scatter", "hr_norm", "hr_slope", "hr_scatter",
                                       "correlation"))  # fmt: skip
"""The emulator-error sites, in the order of :data:`emulators.scaling.relations.RELATION_NAMES`."""


def theta_from_std(std) -> jnp.ndarray:
    """theta (..., 6) from standard normal coordinates (..., 6): the table 1 prior through its unit cube."""
    return PRIOR.from_unit(ndtr(jnp.asarray(std)))


def numpyro_model(data=None, forward: EmulatedRelationModel | None = None, marginalise: bool = True):
    """numpyro model: theta_sim (and the emulator's errors) -> Poisson counts in every XOD bin of ``forward``
    (module docstring). ``data``: an observed or Asimov XOD (a ``numpyro.factor``), or None to draw one (an ``xod``
    sample site). Sample it with :func:`inference.mcmc.run_nuts` (float64)."""
    import numpyro
    import numpyro.distributions as dist

    require_x64("inference.emulated.numpyro_model")
    if forward is None:
        raise ValueError("forward = None: give the EmulatedRelationModel to sample (EmulatedRelationModel.build(emulator))")
    std = jnp.stack([numpyro.sample(f"{n}_std", dist.Normal()) for n in PARAM_NAMES])
    theta = theta_from_std(std)
    for i, name in enumerate(PARAM_NAMES):
        numpyro.deterministic(name, theta[i])
    eps = jnp.stack([numpyro.sample(n, dist.Normal()) for n in EPS_NAMES]) if marginalise else None
    lam = forward.from_theta(theta, eps)
    if data is None:
        numpyro.sample("xod", dist.Poisson(lam).to_event(3))
    else:
        numpyro.factor("xod", poisson_log_likelihood(lam, data))


@float64
def asimov_data(forward: EmulatedRelationModel, theta) -> np.ndarray:
    """The expected XOD at ``theta`` (emulator mean), used as data."""
    return np.asarray(forward.from_theta(jnp.asarray(theta, jnp.float64)))


def emulated_fisher(forward: EmulatedRelationModel, theta, *, marginalise: bool = True, method: str = "autodiff"):
    """Fisher matrix of the model at ``theta`` (:func:`inference.fisher.fisher_matrix`), over the six parameters,
    and with ``marginalise`` the seven emulator errors too, each with its unit Gaussian prior (marginalise them with
    :meth:`~inference.fisher.FisherResult.marginalise` over the first six). No prior on theta."""
    from inference.fisher import fisher_matrix

    theta = np.asarray(theta, np.float64)
    if not marginalise:
        return fisher_matrix(lambda p: forward.from_theta(p), theta, method=method, names=PARAM_NAMES)
    p0 = np.r_[theta, np.zeros(len(EPS_NAMES))]
    prior = np.r_[np.full(6, np.inf), np.ones(len(EPS_NAMES))]
    return fisher_matrix(lambda p: forward.from_theta(p[:6], p[6:]), p0, prior_sigma=prior, method=method,
                         names=(*PARAM_NAMES, *EPS_NAMES))  # fmt: skip


def fisher_comparison(forward: EmulatedRelationModel, theta=None) -> dict:
    """The Fisher forecasts of the emulated-relation model (2 + 4, the emulator's errors marginalised) and of the
    analytical model (2 + 6, with the likelihood's priors on its scaling relations) on the same survey and binning,
    at ``theta`` (default the fiducial) and the analytical model's fiducial: for each, the marginal errors, the
    correlation matrix and the (Omega_m, sigma_8) figure of merit."""
    from inference.fisher import analytic_fisher
    from inference.likelihood import nuisance_prior_sigma_phi
    from xcosmo.analytic import AnalyticModel
    from xcosmo.params import Params

    theta = np.asarray(Params.fiducial().to_array() if theta is None else theta, np.float64)
    analytic = AnalyticModel.build(forward.survey, forward.binning)
    results = {"emulated (2 + 4)": emulated_fisher(forward, theta).marginalise(PARAM_NAMES),
               "analytical (2 + 6)": analytic_fisher(analytic, prior_sigma=nuisance_prior_sigma_phi(analytic))}  # fmt: skip
    out = {}
    for label, f in results.items():
        out[label] = {"names": list(f.names), "errors": f.marginal_errors.tolist(),
                      "correlation": f.correlation.tolist(), "fom": float(f.figure_of_merit())}  # fmt: skip
    return out
