"""Gauss-Legendre quadrature, the one integration rule of the analytical side.

With n nodes the rule integrates polynomials of degree 2n - 1 exactly over [lo, hi] (Abramowitz & Stegun 25.4.29):

    int_lo^hi f(x) dx ~= sum_i w_i f(x_i),   x_i = lo + (hi - lo)(t_i + 1)/2,   w_i = (hi - lo) u_i / 2,

with (t_i, u_i) numpy's ``leggauss(n)`` nodes and weights on [-1, 1]. ``lo`` and ``hi`` may be arrays (one interval
per element); nodes and weights gain a trailing axis of length n. Numpy bounds give numpy float64 nodes (tables
built once); JAX bounds give JAX nodes in the bounds' precision (through :func:`xcosmo.precision.constant`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from xcosmo.checks import check_integer
from xcosmo.precision import constant

__all__ = ["legendre", "nodes_and_weights", "integrate"]


@functools.lru_cache(maxsize=32)
def legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n Gauss-Legendre nodes and weights on [-1, 1] (numpy float64, read-only)."""
    check_integer("n", n, 1)
    t, u = np.polynomial.legendre.leggauss(n)
    t.setflags(write=False)
    u.setflags(write=False)
    return t, u


def nodes_and_weights(lo, hi, n: int):
    """Nodes and weights of the n-point rule on [lo, hi], shape ``broadcast(lo, hi) + (n,)``."""
    t, u = legendre(n)
    if isinstance(lo, jax.Array) or isinstance(hi, jax.Array):
        lo, hi = jnp.asarray(lo), jnp.asarray(hi)
        t, u = constant(t), constant(u)
        xp = jnp
    else:
        lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        xp = np
    half = 0.5 * (hi - lo)
    return (lo + half)[..., None] + half[..., None] * t, half[..., None] * xp.asarray(u)


def integrate(f, lo, hi, n: int):
    """int_lo^hi f(x) dx by the n-point rule; ``f`` maps nodes of shape ``S + (n,)`` to values of that shape."""
    x, w = nodes_and_weights(jnp.asarray(lo), jnp.asarray(hi), n)
    return jnp.sum(w * f(x), axis=-1)
