"""Scoped double precision.

xcosmo never switches ``jax_enable_x64`` globally. The analytical side (halo mass function, expected counts,
likelihoods, Fisher matrices) runs in float64 by wrapping its public functions in :func:`float64`, which enables x64
only while the function runs. Simulations and baryon painting stay in float32.

To differentiate or jit a float64 function yourself, do it inside the same scope, so that the whole trace is in
double precision::

    with jax.enable_x64(True):
        g = jax.grad(lambda om: mass_function(make_cosmology(om, 0.8), 1e14, 0.3).sum())(0.3)
"""

from __future__ import annotations

import functools

import jax

__all__ = ["float64", "constant"]


def float64(fn):
    """Decorator: run ``fn`` with ``jax_enable_x64`` on, restoring the caller's setting afterwards."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper


def constant(x) -> jax.Array:
    """A module-level numpy constant (quadrature nodes, grids) as a JAX array in the current default float precision.

    The dtype is explicit on purpose: without it, JAX can hand back a float32 conversion of the same numpy array made
    earlier in a float32 trace (seen after a simulation had run: float64 distances then lost 2e-9 relative accuracy).
    """
    import jax.numpy as jnp

    return jnp.asarray(x, dtype=jnp.result_type(float))

