"""The binned Poisson likelihood of an XOD and the numpyro model of the analytical forward model (paper 4.1, 5.1).

    ln L(phi) = sum_i [ n_i ln lambda_i(phi) - lambda_i(phi) - ln n_i! ]

over the (z, CR, HR) bins, lambda from :class:`xcosmo.analytic.AnalyticModel` (2 cosmological + 6 scaling-relation
parameters). ``n_i`` may be non-integer (an Asimov XOD, the expectation itself): the formula is used as written.

Priors: Omega_m ~ U(0.1, 0.5) and sigma_8 ~ U(0.6, 1.0) (the paper's table 1); the scaling relations get Gaussian
priors around the fiducial values of the model's relation set (:mod:`xcosmo.scaling`), in ln A for the normalisations
(:func:`nuisance_prior_sigma`): about twice the published 1-sigma uncertainties of Lieu et al. (2016) and Giles et
al. (2016), wide enough for the XOD to dominate.

Everything here computes in float64 (:mod:`xcosmo.precision`); :func:`numpyro_model` is traced by numpyro itself and
so refuses float32 tracing: sample it with :func:`inference.mcmc.run_nuts`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, xlogy

from xcosmo.analytic import PHI_NAMES, AnalyticModel, phi_from_std
from xcosmo.checks import check_shape, in_range
from xcosmo.precision import float64, require_x64
from xcosmo.xod import StoredXOD, check_same_survey

__all__ = [
    "poisson_log_likelihood",
    "LAMBDA_FLOOR",
    "numpyro_model",
    "asimov_data",
    "poisson_draw",
    "check_data",
    "default_forward",
    "nuisance_prior_sigma",
    "phi_from_sites",
    "nuisance_prior_sigma_phi",
]

def nuisance_prior_sigma(forward: AnalyticModel | None = None) -> dict[str, float]:
    """Widths of the Gaussian nuisance priors of the model's relation set (:attr:`xcosmo.scaling.RelationSet.
    prior_sigma`; ``ln_<name>`` for the normalisations A_MT and A_LT), centred on the set's fiducial values."""
    spec = (default_forward() if forward is None else forward).relations
    return {(f"ln_{n}" if n in ("a_mt", "a_lt") else n): s for n, s in zip(PHI_NAMES[2:], spec.prior_sigma)}


def nuisance_prior_sigma_phi(forward: AnalyticModel | None = None) -> np.ndarray:
    """The nuisance prior widths as Gaussian widths on phi (:data:`PHI_NAMES`; A_MT, A_LT linearised from ln A),
    with no prior (inf) on Omega_m and sigma_8: for Fisher matrices comparable with the numpyro model."""
    forward = default_forward() if forward is None else forward
    fid = dict(zip(PHI_NAMES, forward.fiducial_phi()))
    widths = nuisance_prior_sigma(forward)
    out = [np.inf, np.inf]
    for name in PHI_NAMES[2:]:
        out.append(widths[f"ln_{name}"] * fid[name] if name in ("a_mt", "a_lt") else widths[name])
    return np.array(out)


LAMBDA_FLOOR = 1e-30
"""Smallest expected count per bin used in the log-likelihood (a bin predicted empty that holds clusters costs
ln(1e-30) = -69 per cluster instead of -inf)."""


@float64
def poisson_log_likelihood(lam: jax.Array, counts: jax.Array) -> jax.Array:
    """sum_i [n_i ln lambda_i - lambda_i - ln Gamma(n_i + 1)], with lambda_i floored at :data:`LAMBDA_FLOOR`.

    The floor matters in the far tails of the model, where the error functions of the CR bins underflow to exactly
    0 (they reach 1e-69 at the fiducial already): without it, NUTS trajectories meet walls of -inf a few sigma from
    the fiducial (seen as ~90% divergent transitions). Its gradient there is zero.

    ``counts`` may be integers (a catalogue's histogram, :func:`poisson_draw`): they are converted to lambda's float
    type, as the derivative rule of ``xlogy`` cannot take an integer argument's (float0) tangent.
    """
    lam = jnp.asarray(lam)
    counts = jnp.asarray(counts, dtype=lam.dtype if jnp.issubdtype(lam.dtype, jnp.floating) else None)
    return jnp.sum(xlogy(counts, jnp.maximum(lam, LAMBDA_FLOOR)) - lam - gammaln(counts + 1.0))


@functools.lru_cache(maxsize=1)
def default_forward() -> AnalyticModel:
    """The analytical model of the default survey, binning and relation set (built once per process)."""
    return AnalyticModel.build()


def check_data(data, forward: AnalyticModel) -> np.ndarray:
    """Validate an observed XOD against the forward model and return its counts as numpy (``ValueError`` if not).

    An array is checked by its shape (the model's binning), finiteness and sign. An XOD read from a file
    (:class:`xcosmo.xod.StoredXOD`, from :func:`xcosmo.xod.load_xod`) must also describe the model's survey: the
    same area, flux cut, redshift range and bin edges; a mismatch names both values.
    """
    if isinstance(data, StoredXOD):
        check_same_survey("data", (data.survey, data.binning), (forward.survey, forward.binning))
        data = data.counts
    arr = np.asarray(data, dtype=float)
    check_shape("data", arr, forward.shape, " (n_z, n_cr, n_hr) of the model's binning")
    return in_range("data", arr, 0.0, np.inf, unit="counts")


def phi_from_sites(sites: dict) -> jax.Array:
    """The 8-vector of :data:`PHI_NAMES` from a dict holding each parameter under its own name."""
    return jnp.stack([jnp.asarray(sites[name]) for name in PHI_NAMES])


def numpyro_model(data=None, forward: AnalyticModel | None = None):
    """numpyro model: cosmology and scaling relations -> Poisson counts in every XOD bin.

    ``forward`` is the :class:`AnalyticModel` (default: :func:`default_forward`, the default survey and binning).
    Every sample site is a standard normal ``<name>_std`` and every parameter a deterministic site of it, so that the
    sampled coordinates are O(1) and a priori isotropic (good NUTS geometry; numpyro's default initialisation stays
    physical):

    - Omega_m and sigma_8 (uniform priors of the paper on [low, high]) by the probability integral transform,
      ``low + (high - low) Phi(<name>_std)``: exactly the uniform prior. Where the posterior runs into a prior edge
      (sigma_8 does at both ends of the Omega_m-sigma_8 ridge), its tail in this coordinate is the Gaussian one of
      the prior, not the exponential one of numpyro's default logit coordinate, which is what a flow with a Gaussian
      base (``run_nuts(..., neutra=True)``) represents well;
    - each scaling-relation parameter: its prior centre plus :func:`nuisance_prior_sigma` times ``<name>_std``, in
      ln A for the normalisations.

    The likelihood is a ``numpyro.factor`` when ``data`` is given (Asimov data allowed), a Poisson ``xod`` sample
    site otherwise.
    """
    import numpyro
    import numpyro.distributions as dist

    require_x64("inference.likelihood.numpyro_model")
    forward = default_forward() if forward is None else forward
    std = jnp.stack([numpyro.sample(f"{name}_std", dist.Normal()) for name in PHI_NAMES])
    phi = phi_from_std(std, forward.relations)
    for i, name in enumerate(PHI_NAMES):
        numpyro.deterministic(name, phi[i])
    lam = forward.from_phi(phi)
    if data is None:
        numpyro.sample("xod", dist.Poisson(lam).to_event(3))
    else:
        numpyro.factor("xod", poisson_log_likelihood(lam, data))


@float64
def asimov_data(phi=None, forward: AnalyticModel | None = None) -> np.ndarray:
    """The expected XOD lambda(phi) (default: the fiducial), used as data: an "Asimov" data set."""
    forward = default_forward() if forward is None else forward
    phi = forward.fiducial_phi() if phi is None else np.asarray(phi, dtype=float)
    return np.asarray(forward.from_phi(jnp.asarray(phi)))


@float64
def poisson_draw(key: jax.Array, lam) -> np.ndarray:
    """One Poisson realisation of an expected XOD (integer counts)."""
    return np.asarray(jax.random.poisson(key, jnp.asarray(lam, dtype=jnp.float64)), dtype=np.int64)
