"""Cloud-in-cell painting and reading for any number of particles on any periodic mesh, in JAX.

jaxpm's ``cic_paint`` and ``cic_read`` (0.1.x) reshape the particles to the mesh's shape, so they serve one particle
per cell only, and build an (N, 8, 3) index tensor on every call. These serve any count, as a force mesh finer than
the particle grid needs (:class:`xcosmo.nbody.PMSettings` ``force_mesh_factor``), with the same kernel (mesh node i
holds what lies at position i, weights 1 - |x - i| per axis), summed over the 8 corners one at a time with flat
indices: one (N,) index and one (N,) weight live at a time. The indices are wrapped periodically before use, so the
scatter and gather are told they are in bounds and skip XLA's bounds handling. Positions are in mesh units (any real
value; wrapped periodically).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp

__all__ = ["paint", "read"]


def _corners(positions: jax.Array, shape: tuple[int, ...]):
    """For each of the 8 corners: the flat mesh index of every particle's corner node and its CIC weight."""
    floor = jnp.floor(positions)
    frac = positions - floor
    base = floor.astype(jnp.int32)
    dims = jnp.asarray(shape, jnp.int32)
    for offset in itertools.product((0, 1), repeat=3):
        idx = jnp.mod(base + jnp.asarray(offset, jnp.int32), dims)
        flat = (idx[:, 0] * shape[1] + idx[:, 1]) * shape[2] + idx[:, 2]
        w = jnp.prod(jnp.where(jnp.asarray(offset) == 1, frac, 1.0 - frac), axis=1)
        yield flat, w


def paint(shape: tuple[int, int, int], positions: jax.Array, weights: jax.Array | float = 1.0) -> jax.Array:
    """Deposit ``weights`` (scalar or (N,)) of the particles at ``positions`` (N, 3), mesh units, on a periodic mesh of
    ``shape``; the mesh's total is the total weight."""
    positions = jnp.asarray(positions)
    size = shape[0] * shape[1] * shape[2]
    mesh = jnp.zeros(size, positions.dtype)
    weights = jnp.asarray(weights, positions.dtype)
    for flat, w in _corners(positions, shape):
        mesh = mesh.at[flat].add(w * weights, mode="promise_in_bounds")
    return mesh.reshape(shape)


def read(mesh: jax.Array, positions: jax.Array) -> jax.Array:
    """CIC interpolation of ``mesh`` at ``positions`` (N, 3), mesh units (the adjoint of :func:`paint`).

    ``mesh`` is a field of shape (nx, ny, nz), read as (N,), or of several channels, shape (nx, ny, nz, C), read as
    (N, C) with one gather of C-value rows per corner (a vector field costs one read, not C)."""
    shape = mesh.shape[:3]
    flat_mesh = mesh.reshape(shape[0] * shape[1] * shape[2], *mesh.shape[3:])
    out = jnp.zeros(positions.shape[:1] + mesh.shape[3:], mesh.dtype)
    for flat, w in _corners(jnp.asarray(positions), shape):
        w = w.reshape(w.shape + (1,) * (mesh.ndim - 3))
        out = out + w * flat_mesh.at[flat].get(mode="promise_in_bounds")
    return out
