"""The radial Fourier filter of the LDL displacement layer, 1 + S(Xi, k) (paper eq. 2; after Lanzieri et al. 2022).

S is a uniform cubic B-spline in u = |k| / k_max, k_max = pi sqrt(3) rad per voxel (the corner of the Fourier cube),
with ``n`` coefficients Xi_j on knots spaced 1 / (n - 3) apart from u = -1 / (n - 3), so that every u in [0, 1] lies
where the basis is complete:

    S(Xi, u) = sum_j Xi_j B((n - 3) u + 1 - j),
    B(t) = (4 - 6 t^2 + 3 |t|^3) / 6 for |t| < 1,  (2 - |t|)^3 / 6 for 1 <= |t| < 2,  0 beyond.

Xi = 0 is the identity filter; equal coefficients give a constant, S = Xi (the B-splines sum to one).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

__all__ = ["K_MAX", "bspline_basis", "radial_filter"]

K_MAX = math.pi * math.sqrt(3.0)
"""|k| of the Fourier cube's corner, rad per voxel: the filter's argument is |k| / K_MAX."""


def bspline_basis(t):
    """The uniform cubic B-spline B(t) (module docstring)."""
    a = jnp.abs(t)
    inner = (4.0 - 6.0 * a**2 + 3.0 * a**3) / 6.0
    outer = (2.0 - a) ** 3 / 6.0
    return jnp.where(a < 1.0, inner, jnp.where(a < 2.0, outer, 0.0))


def radial_filter(xi, k):
    """1 + S(xi, |k| / K_MAX) for wavenumbers ``k`` (rad per voxel, any shape) and coefficients ``xi`` (n >= 4)."""
    n = xi.shape[-1]
    u = jnp.clip(k / K_MAX, 0.0, 1.0)[..., None]
    j = jnp.arange(n, dtype=u.dtype)
    return 1.0 + jnp.sum(xi * bspline_basis((n - 3) * u + 1.0 - j), axis=-1)
