"""Probabilities of a bivariate normal over the cells of a rectangular grid, with their exact derivatives.

For (X, Y) normal with means (mu_x, mu_y), standard deviations (s_x, s_y) and correlation rho, and a grid whose
x bins have the lower edges x_0 < ... < x_{C-1} (the top bin open) and whose y bins have the inner edges
y_1 < ... < y_{H-1} (the first and last bins open),

    R_cj = P(x_c < X < x_{c+1}, y_j < Y < y_{j+1}),   c < C, j < H.

**Value.** Y is integrated with :data:`N_NODES` Gauss-Legendre nodes over the part of each y bin within
:data:`SIGMAS` s_y of mu_y, the nodes' weights in each part scaled to its exact probability (so that a part many s_y
wide, an open bin's, keeps its total to rounding); given Y = y, X is normal with mean mu_x + rho s_x (y - mu_y) / s_y
and width s_x sqrt(1 - rho^2), and its x-bin probabilities are differences of tail-exact normal CDFs
(:func:`xcosmo.analytic.interval_probability`). The window is wider than Y's own probability needs because a cell far
in the tail of X takes its mass from Y near rho times as far out: at rho = 0.9, a cell of 1e-29 (a likelihood still
counts it) lies mostly beyond 7 s_y, where a 7 s_y window made the value 15% smaller than the integral whose
derivatives are written out below.

**Derivatives.** Written out at the grid's corners rather than traced through the quadrature (which costs x5 the
value in reverse mode on a CPU). With the standardised edges a_k = (x_k - mu_x) / s_x, b_l = (y_l - mu_y) / s_y,
F(a, b) = P(X' < a, Y' < b) for the standardised pair, r = sqrt(1 - rho^2) (e.g. Genz 2004, Stat. Comput. 14, 251):

    dF/da = phi(a) Phi((b - rho a) / r),   dF/db = phi(b) Phi((a - rho b) / r),
    dF/drho = phi_2(a, b; rho) = exp(-(a^2 - 2 rho a b + b^2) / (2 r^2)) / (2 pi r),

so that dR_cj/da_k = +-phi(a_k) P(Y' in bin j | X' = a_k), dR_cj/db_l = +-phi(b_l) P(X' in bin c | Y' = b_l) and
dR_cj/drho is the alternating sum of phi_2 over the cell's four corners; da_k = (dx_k - dmu_x - a_k ds_x) / s_x and
likewise for b, with the y edges clipped to |b_l| <= SIGMAS as the value's are (there they do not move): they are
the derivatives of the R the value computes, to its quadrature error, also in the far tails, where the derivatives of
the unclipped R would not be (with ln R in a likelihood, their ratio to R there reached 1e15).

**Accuracy.** The value matches scipy's bivariate normal CDF (Genz's algorithm) to 1e-6 relative while each y bin
is at most a few s_y wide (``tests/test_bivariate.py``); the XOD's HR bins are 0.098 dex and the emulated HR scatter
0.03-0.07 dex. Bins many s_y wide at |rho| near 1 are beyond it: against adaptive quadrature, with s_y = 0.013 dex and
rho = 0.98 cells above 1e-12 were off by up to 50% (24 nodes then resolve neither the narrow Y nor X's steep
dependence on it); a rule with nodes per s_y rather than per bin (1 s_y pieces of 8 nodes: 3e-6 there) costs about as
many nodes but sorts the pieces into bins, x2 slower here.

Open edges stand :data:`xcosmo.analytic.OPEN_EDGE` out (in data units for the value, where it is as many standard
deviations while s_x <= 1, and standardised for the derivatives), so every number stays finite.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from xcosmo.analytic import OPEN_EDGE, interval_probability, normal_density as _phi, upper_edges
from xcosmo.quadrature import nodes_and_weights

__all__ = ["rectangle_probabilities", "N_NODES", "SIGMAS"]

N_NODES = 24
"""Gauss-Legendre nodes over Y in each y bin (16 kept 1e-6 of scipy's probabilities within 7 s_y, not within 12)."""
SIGMAS = 12.0
"""Half-width (in s_y) of the range of Y integrated over (module docstring: the far cells of a correlated pair)."""


@jax.custom_jvp
def rectangle_probabilities(mu_x, mu_y, s_x, s_y, rho, x_lower, y_inner):
    """R (S + (C, H)) for means, standard deviations and correlations of the broadcast shape S, the x bins' lower
    edges ``x_lower`` (C,) and the y bins' inner edges ``y_inner`` (H - 1,) (module docstring). Pure, traceable,
    differentiable to any order in every argument."""
    moments = jnp.broadcast_arrays(mu_x, mu_y, s_x, s_y, rho)
    if moments[0].ndim == 0:
        return _rectangles(*moments, x_lower, y_inner)
    # one row of the last axis of S at a time: its (S[-1], H, t, C) intermediate stays in cache (a few hundred kB
    # where the likelihood's whole grid takes 30 MB), which makes the value x1.5 faster on a CPU
    shape = moments[0].shape
    rows = [m.reshape((-1, shape[-1])) for m in moments] if len(shape) > 1 else [m[None] for m in moments]
    out = jax.lax.map(lambda m: _rectangles(*m, x_lower, y_inner), rows)
    return out.reshape(shape + out.shape[-2:])


def _rectangles(mu_x, mu_y, s_x, s_y, rho, x_lower, y_inner):
    mu_x, mu_y, s_x, s_y, rho = (v[..., None] for v in (mu_x, mu_y, s_x, s_y, rho))  # S + (1,)
    inf = jnp.full((1,), jnp.inf)
    lo = jnp.maximum(jnp.concatenate([-inf, y_inner]), mu_y - SIGMAS * s_y)  # S + (H,)
    hi = jnp.minimum(jnp.concatenate([y_inner, inf]), mu_y + SIGMAS * s_y)
    y, w = nodes_and_weights(lo, jnp.maximum(hi, lo), N_NODES)  # S + (H, t); an empty part integrates to zero
    u = (y - mu_y[..., None]) / s_y[..., None]
    density = _phi(u) * w  # normalised to each part's exact probability (module docstring)
    exact = interval_probability((lo - mu_y) / s_y, (jnp.maximum(hi, lo) - mu_y) / s_y)  # S + (H,)
    density = density * (exact / jnp.maximum(density.sum(-1), jnp.finfo(density.dtype).tiny))[..., None]
    cond_mu = mu_x[..., None] + (rho * s_x)[..., None] * u  # S + (H, t)
    inv_s = (1.0 / (s_x * jnp.sqrt(1.0 - rho**2)))[..., None, None]
    x_upper = upper_edges(x_lower)
    p_x = interval_probability((x_lower - cond_mu[..., None]) * inv_s, (x_upper - cond_mu[..., None]) * inv_s)
    return jnp.einsum("...ht,...htc->...ch", density, p_x)


@rectangle_probabilities.defjvp
def _rectangle_probabilities_jvp(primals, tangents):
    value = rectangle_probabilities(*primals)
    *moments, x_lower, y_inner = primals
    *d_moments, dx_lower, dy_inner = tangents
    shape = jnp.broadcast_shapes(*(jnp.shape(v) for v in moments))
    mu_x, mu_y, s_x, s_y, rho = (jnp.broadcast_to(v, shape)[..., None] for v in moments)  # S + (1,)
    dmu_x, dmu_y, ds_x, ds_y, drho = (jnp.broadcast_to(v, shape)[..., None] for v in d_moments)
    r = jnp.sqrt(1.0 - rho**2)
    a, b = (x_lower - mu_x) / s_x, (y_inner - mu_y) / s_y  # S + (C,), S + (H - 1,)
    da, db = (dx_lower - dmu_x - a * ds_x) / s_x, (dy_inner - dmu_y - b * ds_y) / s_y
    # the value integrates Y over |b| <= SIGMAS only: its y edges are clipped there, where they do not move
    db = jnp.where(jnp.abs(b) < SIGMAS, db, 0.0)
    b = jnp.clip(b, -SIGMAS, SIGMAS)
    far, none = jnp.ones(shape + (1,)), jnp.zeros(shape + (1,))
    a, da = jnp.concatenate([a, OPEN_EDGE * far], -1), jnp.concatenate([da, none], -1)  # S + (C + 1,)
    b, db = jnp.concatenate([-SIGMAS * far, b, SIGMAS * far], -1), jnp.concatenate([none, db, none], -1)  # S + (H + 1,)
    rho_, r_ = rho[..., None], r[..., None]  # S + (1, 1)

    def conditional_bins(edges, given):  # P(bin of `edges` | the other variable = each of `given`): S + (K, bins)
        mean = rho_ * given[..., :, None]
        return interval_probability((edges[..., None, :-1] - mean) / r_, (edges[..., None, 1:] - mean) / r_)

    along_a = (_phi(a) * da)[..., None] * conditional_bins(b, a)  # S + (C + 1, H)
    along_b = (_phi(b) * db)[..., None] * conditional_bins(a, b)  # S + (H + 1, C)
    quad = a[..., :, None] ** 2 - 2.0 * rho_ * a[..., :, None] * b[..., None, :] + b[..., None, :] ** 2
    phi2 = jnp.exp(-0.5 * quad / r_**2) / (2.0 * math.pi * r_)  # S + (C + 1, H + 1)
    corners = phi2[..., 1:, 1:] - phi2[..., :-1, 1:] - phi2[..., 1:, :-1] + phi2[..., :-1, :-1]
    tangent = (along_a[..., 1:, :] - along_a[..., :-1, :]
               + jnp.swapaxes(along_b[..., 1:, :] - along_b[..., :-1, :], -1, -2)
               + corners * drho[..., None])  # fmt: skip
    return value, tangent
