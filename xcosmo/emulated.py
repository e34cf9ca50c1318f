"""Expected XOD counts with emulated scaling relations: the analytical model on the six physical parameters
theta_sim (paper 5.3, table 2's simulation-based model as an explicit likelihood).

    lambda_i(theta) = Omega int_{z in i} dz dV/dz/dOmega int dlnM dn/dlnM(M, z)  P(CR in i, HR in i | M, z, theta)

- dn/dlnM: Tinker et al. (2008) for M200c (:mod:`xcosmo.hmf`), above ``m_min``: the relations are measured on masses
  of the voxels above 200 rho_c within each detection (paper 4.2), an M200c-like mass, and only above the smallest
  mass they were fitted on; dV/dz/dOmega of the flat LCDM background of (Omega_m, sigma_8).
- (log10 CR, log10 HR) given M and z: a bivariate normal around A_CR + B_CR x and A_HR + B_HR x, x = log10(M / M_pivot),
  with scatters sigma_CR, sigma_HR (dex) and correlation rho, all seven from the emulator at (theta, z)
  (``emulator.relations(theta, z)``: :class:`emulators.scaling.ScalingRelationEmulator`; any object with that method
  will do). CR is the [0.5-2] keV count rate of a cluster at z, so distance and K-correction are in the relation.
- P over a bin: the bivariate normal's probability over the rectangle of the CR bin (lowest edge raised to the
  survey's flux cut, top bin open) and the HR bin (the first and last open below and above, as the XOD's clip), by
  :func:`xcosmo.bivariate.rectangle_probabilities` (quadrature over HR, derivatives in closed form).

**The emulator's uncertainty.** :meth:`EmulatedRelationModel.from_theta` takes ``eps`` (7,): the relations used are
mean + std * eps, with eps = 0 the emulator's mean. Sampling eps as seven standard normals marginalises the emulator's
error as one coherent shift of each quantity, in units of its predicted error at every (z, M): a conservative model
of an error that varies smoothly over the design (:func:`inference.emulated.numpyro_model` does this by default).
Scatters are floored at :data:`MIN_SCATTER_DEX` and |rho| capped at :data:`MAX_CORRELATION`, which only the far tails
of eps reach.

Everything is float64 (:mod:`xcosmo.precision`) and differentiable in theta and eps.
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from xcosmo.bivariate import rectangle_probabilities
from xcosmo.checks import check_number, check_shape, is_traced
from xcosmo.constants import M_MAX
from xcosmo.cosmology import Cosmology, LagrangianWindows, comoving_volume_element
from xcosmo.hmf import mass_function_at
from xcosmo.precision import float64
from xcosmo.quadrature import nodes_and_weights
from xcosmo.xod import Binning, Survey, check_survey_binning

__all__ = ["EmulatedRelationModel", "MIN_SCATTER_DEX", "MAX_CORRELATION"]

_N_Z, _N_M = 4, 32  # Gauss-Legendre nodes per z bin and over ln M, as the analytical model
MIN_SCATTER_DEX = 1e-3
"""Smallest scatter (dex) the model uses."""
MAX_CORRELATION = 0.99
"""Largest |rho| the model uses."""


class EmulatedRelationModel(eqx.Module):
    """Expected XOD counts lambda(theta) for one survey, binning and emulator; build with :meth:`build`."""

    emulator: Any
    z_nodes: jax.Array  # (n_zbin, _N_Z)
    z_weights: jax.Array
    ln_m: jax.Array  # (_N_M,)
    ln_m_weights: jax.Array
    windows: LagrangianWindows
    log_cr_edges: jax.Array  # (n_cr,): lower edges, the lowest raised to the flux cut; the top bin is open
    log_hr_edges: jax.Array  # (n_hr - 1,): the inner edges (the first and last bins are open)
    survey: Survey = eqx.field(static=True)
    binning: Binning = eqx.field(static=True)
    pivot: float = eqx.field(static=True)
    m_min: float = eqx.field(static=True)

    @classmethod
    @float64
    def build(cls, emulator, survey: Survey | None = None, binning: Binning | None = None, *, m_min: float = 5e12,
              pivot: float = 1e14) -> "EmulatedRelationModel":  # fmt: skip
        """The model of ``survey`` and ``binning`` (defaults :class:`Survey`, :class:`Binning`) with ``emulator``'s
        relations, fitted above ``m_min`` (Msun/h, M200c-like) with the pivot mass ``pivot`` (Msun/h) (defaults:
        :data:`emulators.scaling.relations.M_MIN` and ``PIVOT_MASS``)."""
        survey = Survey() if survey is None else survey
        binning = Binning() if binning is None else binning
        check_survey_binning(survey, binning)
        # a Gaussian-process emulator factorises its training covariance once here rather than at every evaluation
        emulator = getattr(emulator, "conditioned", lambda: emulator)()
        check_number("m_min", m_min, 0.0, M_MAX, open=True, unit="Msun/h")
        check_number("pivot", pivot, 0.0, math.inf, open=True, unit="Msun/h")
        z_e, cr_e, hr_e = binning.edges
        zs, wz = nodes_and_weights(z_e[:-1], z_e[1:], _N_Z)
        ln_m, wm = nodes_and_weights(math.log(m_min), math.log(M_MAX), _N_M)
        log_cr = np.log10(np.maximum(cr_e[:-1], max(cr_e[0], survey.cr_min)))
        return cls(emulator, jnp.asarray(zs), jnp.asarray(wz), jnp.asarray(ln_m), jnp.asarray(wm),
                   LagrangianWindows.build(np.exp(ln_m)), jnp.asarray(log_cr), jnp.asarray(np.log10(hr_e[1:-1])),
                   survey, binning, float(pivot), float(m_min))  # fmt: skip

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.binning.shape

    @float64
    def from_theta(self, theta: jax.Array, eps: jax.Array | None = None) -> jax.Array:
        """lambda (n_z, n_cr, n_hr) at the six parameters ``theta`` (Omega_m, sigma_8, A_SN1, A_SN2, A_AGN1, A_AGN2)
        with the emulator's relations shifted by ``eps`` (7,) of their standard deviations (module docstring;
        default 0). Pure and traceable."""
        theta = jnp.asarray(theta)
        eps = jnp.zeros(7) if eps is None else jnp.asarray(eps)
        if not is_traced(theta, eps):
            check_shape("theta", theta, (6,), " (Omega_m, sigma_8, A_SN1, A_SN2, A_AGN1, A_AGN2)")
            check_shape("eps", eps, (7,), " (one shift per relation quantity)")
        return _counts(self, theta, eps)


@eqx.filter_jit
def _counts(model: EmulatedRelationModel, theta: jax.Array, eps: jax.Array) -> jax.Array:
    cosmo = Cosmology(theta[0], theta[1])
    z = model.z_nodes  # (Z, q)
    mean, std = model.emulator.relations(theta, z.ravel())
    r = (mean + std * eps).reshape(*z.shape, 7)  # (Z, q, 7)
    a_cr, b_cr, s_cr, a_hr, b_hr, s_hr = (r[..., k, None] for k in range(6))  # (Z, q, 1): broadcast over M
    s_cr, s_hr = jnp.maximum(s_cr, MIN_SCATTER_DEX), jnp.maximum(s_hr, MIN_SCATTER_DEX)
    rho = jnp.clip(r[..., 6, None], -MAX_CORRELATION, MAX_CORRELATION)
    x = (model.ln_m - math.log(model.pivot)) / math.log(10.0)  # (M,)
    mu_cr, mu_hr = a_cr + b_cr * x, a_hr + b_hr * x  # (Z, q, M)
    prob = rectangle_probabilities(mu_cr, mu_hr, s_cr, s_hr, rho, model.log_cr_edges, model.log_hr_edges)
    dndlnm = mass_function_at(cosmo, model.windows, z[..., None], "200c") * model.ln_m_weights  # (Z, q, M)
    per_z = jnp.einsum("zqm,zqmch->zqch", dndlnm, prob)
    dvdz = comoving_volume_element(cosmo, z)
    return model.survey.area_sr * jnp.einsum("zq,zqch->zch", model.z_weights * dvdz, per_z)
