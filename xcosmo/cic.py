"""Cloud-in-cell painting and reading for any number of particles on any periodic mesh, in JAX.

jaxpm's ``cic_paint`` and ``cic_read`` (0.1.x) reshape the particles to the mesh's shape, so they serve one particle
per cell only. These serve any count, as a force mesh finer than the particle grid needs
(:class:`xcosmo.nbody.PMSettings` ``force_mesh_factor``): the same kernel (mesh node i holds what lies at position i,
weights 1 - |x - i| per axis), summed over the 8 corners one at a time with flat indices, so no (N, 8, 3) temporary
is built. Positions are in mesh units (0 <= x < n, wrapped periodically).
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
    weights = jnp.broadcast_to(jnp.asarray(weights, positions.dtype), positions.shape[:1])
    for flat, w in _corners(positions, shape):
        mesh = mesh.at[flat].add(w * weights)
    return mesh.reshape(shape)


def read(mesh: jax.Array, positions: jax.Array) -> jax.Array:
    """CIC interpolation of ``mesh`` at ``positions`` (N, 3), mesh units: shape (N,) (the adjoint of :func:`paint`)."""
    flat_mesh = mesh.reshape(-1)
    out = jnp.zeros(positions.shape[:1], mesh.dtype)
    for flat, w in _corners(jnp.asarray(positions), mesh.shape):
        out = out + w * flat_mesh[flat]
    return out

