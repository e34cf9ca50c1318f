"""The precision rule: simulations in float32, the analytical side in float64, and one way to get there.

xcosmo never switches ``jax_enable_x64`` on for the process. Simulations, painting and emission maps run in float32
(the precision of their inputs). The analytical side (halo mass function, halo counts, expected XOD counts, the
Poisson likelihood, Fisher matrices, NUTS and NeuTra) computes in float64, and every one of its public functions is
decorated with :func:`float64`, which makes it usable from any code:

- called with concrete values, it switches x64 on for its own duration and returns float64 results;
- called inside a float64 scope (``with jax.enable_x64(True):``), it runs as written, so that any transformation
  (``jax.jit``, ``jax.grad``, ``jax.jacfwd``, ``jax.vmap``) sees one float64 trace;
- traced from float32 code (``jax.grad`` or ``jax.jit`` of a function that calls it, with x64 off), it still computes
  in float64: its inputs are promoted, its value and its reverse-mode derivative (a ``jax.custom_vjp``) are evaluated
  under x64, and its results come back in the caller's precision (float32). Forward-mode derivatives
  (``jax.jvp``, ``jax.jacfwd``) of such a call are not available from float32 code: JAX refuses them ("can't apply
  forward-mode autodiff (jvp) to a custom_vjp function"); call them inside ``with jax.enable_x64(True):``.

Code that foreign libraries trace on their own (a numpyro model run by ``numpyro.infer.MCMC``) cannot be wrapped
this way; it calls :func:`require_x64`, which refuses at once with :class:`PrecisionError` and says what to do.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["float64", "require_x64", "x64_enabled", "PrecisionError", "constant"]


class PrecisionError(RuntimeError):
    """A float64 computation was asked for in a context that runs in float32."""


def x64_enabled() -> bool:
    """Whether the current scope computes in double precision (``jax_enable_x64``)."""
    return bool(jax.config.jax_enable_x64)


def require_x64(what: str) -> None:
    """Refuse with :class:`PrecisionError` unless x64 is on: for float64 code that a foreign library traces."""
    if not x64_enabled():
        raise PrecisionError(
            f"{what} computes in float64 and is being traced with jax_enable_x64 off: run it with xcosmo's "
            "samplers (inference.mcmc.run_nuts), or inside `with jax.enable_x64(True):` (see xcosmo.precision)"
        )


def _promote(tree):
    return jax.tree.map(lambda x: x.astype(jnp.float64) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def _demote(tree):
    """Floating leaves to the caller's default float dtype (float32 when x64 is off)."""
    default = jnp.result_type(float)
    return jax.tree.map(lambda x: x.astype(default) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def _is_float_tracer(x) -> bool:
    return isinstance(x, jax.core.Tracer) and jnp.issubdtype(x.dtype, jnp.inexact)


def float64(fn):
    """Decorator: run ``fn`` in float64 whatever the caller's precision (the module docstring's three cases).

    Only floating-point values traced by the caller are differentiated; everything else (concrete arrays and
    numbers, strings, settings objects) is passed through as a constant.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if x64_enabled():
            return fn(*args, **kwargs)
        dynamic, static = eqx.partition((args, kwargs), _is_float_tracer)
        if not jax.tree.leaves(dynamic):
            with jax.enable_x64(True):
                return fn(*args, **kwargs)
        in_dtypes = jax.tree.map(lambda x: x.dtype, dynamic)

        def call(dyn):
            a, k = eqx.combine(_promote(dyn), static)
            return fn(*a, **k)

        @jax.custom_vjp
        def traced(dyn):
            with jax.enable_x64(True):
                return call(dyn)

        def forward(dyn):
            with jax.enable_x64(True):
                out, vjp = jax.vjp(call, dyn)
            return out, vjp

        def backward(vjp, cotangent):
            with jax.enable_x64(True):
                (grads,) = vjp(_promote(cotangent))
                return (jax.tree.map(lambda g, d: g.astype(d), grads, in_dtypes),)

        traced.defvjp(forward, backward)
        return _demote(traced(dynamic))

    return wrapper


def constant(x) -> jax.Array:
    """A module-level numpy constant (quadrature nodes, grids) as a JAX array in the current default float precision.

    The dtype is explicit on purpose: without it, JAX can hand back a float32 conversion of the same numpy array made
    earlier in a float32 trace (float64 distances then lose 2e-9 relative accuracy).
    """
    return jnp.asarray(x, dtype=jnp.result_type(float))
