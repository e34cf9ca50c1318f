"""Observed X-ray spectra of a plasma: XSPEC's apec normalisation and the photon flux in observer-frame energy bins.

A plasma of emission measure EM = int n_e n_H dV (cm^-3) at redshift z and angular-diameter distance D_A has the
normalisation of XSPEC's ``apec`` / ``bremss`` models (XSPEC manual, apec model)

    norm = 1e-14 EM / (4 pi [D_A (1+z)]^2)                                                  [cm^-5]

and, as XSPEC's ``apec`` and ``zbremss`` compute it, a photon flux per observer-frame bin [E_lo, E_hi) obtained from
the rest-frame emissivity eps(E', kT) (:class:`xcosmo.xray.emission.BremsTable`) on the rest-frame bin
[E_lo (1+z), E_hi (1+z)], divided by (1+z) for time dilation:

    F_i = 1e14 norm / (1+z) int_{E_lo,i (1+z)}^{E_hi,i (1+z)} eps(E', kT) dE'
        = 1e14 norm int_{E_lo,i}^{E_hi,i} eps(E (1+z), kT) dE = 1e14 norm int E eps(E (1+z), kT) d(ln E)

[photons cm^-2 s^-1 per bin]. The energy flux sum_i E_i F_i is then L / (4 pi D_L^2) with D_L = D_A (1+z)^2. Each bin
is integrated by Gauss-Legendre quadrature in ln E (:mod:`xcosmo.quadrature`). Everything runs in JAX, in the
precision of the inputs, jit-able and differentiable in kT, z and norm.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from xcosmo.checks import check_increasing, check_shape, in_range, is_traced, require
from xcosmo.quadrature import nodes_and_weights
from xcosmo.xray.emission import END_SLACK, BremsTable, as_float

__all__ = ["apec_norm", "photon_flux"]


def apec_norm(emission_measure_cm3: ArrayLike, d_a_cm: ArrayLike, z: ArrayLike) -> jax.Array:
    """XSPEC apec/bremss normalisation, cm^-5: 1e-14 / (4 pi [D_A (1+z)]^2) * int n_e n_H dV.

    ``emission_measure_cm3`` is int n_e n_H dV in cm^-3 (densities in cm^-3, volume in cm^3), ``d_a_cm`` the
    angular-diameter distance in cm (XSPEC manual, apec model).
    """
    z = jnp.asarray(z)
    return 1e-14 * jnp.asarray(emission_measure_cm3) / (4.0 * jnp.pi * (jnp.asarray(d_a_cm) * (1.0 + z)) ** 2)


def photon_flux(
    table: BremsTable,
    edges_kev: ArrayLike,
    kt_kev: ArrayLike,
    z: ArrayLike,
    norm: ArrayLike,
    n_nodes: int = 8,
) -> jax.Array:
    """Observer-frame photon flux of a plasma in energy bins, photons cm^-2 s^-1 per bin (XSPEC's convention).

    F_i = 1e14 norm int_{E_lo,i}^{E_hi,i} eps(E (1+z), kT) dE (the module docstring), with ``norm`` from
    :func:`apec_norm`; the energy flux sum_i E_i F_i is L / (4 pi D_L^2).

    Parameters
    ----------
    table : the emissivity table.
    edges_kev : increasing observer-frame bin edges, keV, shape (n_bins + 1,); their rest-frame energies
        edges (1+z) must lie inside the table.
    kt_kev : temperature kT in keV, any shape S (broadcast with ``z`` and ``norm``), inside the table.
    z : redshift, 0 <= z <= 1000.
    norm : apec normalisation, cm^-5, finite and >= 0.
    n_nodes : Gauss-Legendre nodes per bin, in ln E. With 8 nodes a single bin as wide as 0.3-12 keV at
        kT = 3 keV, or 0.5-2 keV at kT = 0.1 keV, is integrated to 1e-7 (tested on a Kramers spectrum).

    Concrete values out of range raise ``ValueError``; traced ones make the compiled function raise.

    Returns
    -------
    Array of shape S + (n_bins,), photons cm^-2 s^-1 per bin, in the dtype of the inputs.
    """
    edges = as_float(edges_kev)
    if is_traced(edges):
        check_shape("edges_kev", edges, (None,))
    else:
        check_increasing("edges_kev", edges, unit="keV")
    kt = as_float(kt_kev)
    z = in_range("z", as_float(z), 0.0, 1e3, rtol=END_SLACK)
    norm = in_range("norm", as_float(norm), 0.0, math.inf, unit="cm^-5")
    _check_rest_frame(table, edges, z)
    dtype = jnp.result_type(edges, kt, z, norm)
    nodes, weights = nodes_and_weights(jnp.log(edges[:-1].astype(dtype)), jnp.log(edges[1:].astype(dtype)), n_nodes)
    energies = jnp.exp(nodes)  # (n_bins, n_nodes)
    kt, z, norm = jnp.broadcast_arrays(kt, z, norm)
    eps = table.emissivity(energies * (1.0 + z[..., None, None]), kt[..., None, None])  # S + (n_bins, n_nodes)
    integral = jnp.sum(weights * energies * eps, axis=-1)  # int E eps d(ln E)
    return (1e14 * norm[..., None] * integral).astype(dtype)


def _check_rest_frame(table: BremsTable, edges: jax.Array, z: jax.Array) -> None:
    """Concrete edges and z: the rest-frame energies edges (1+z) lie in the table (traced ones: the table checks)."""
    if is_traced(edges, z):
        return
    zs = np.asarray(z)
    rest = (float(edges[0]) * (1.0 + float(zs.min())), float(edges[-1]) * (1.0 + float(zs.max())))
    lo, hi = table.energy_range
    require(rest[0] >= lo * (1.0 - END_SLACK) and rest[1] <= hi * (1.0 + END_SLACK),
            "rest-frame energies edges_kev * (1+z)", rest,
            f"allowed range [{lo:g}, {hi:g}] keV (use a wider BremsGrid)")  # fmt: skip
