"""The two layers of Lagrangian Deep Learning (Dai & Seljak 2021; paper 2.2.1), as pure functions of particles on a
periodic mesh. Positions are in voxel units (0 <= x < n), FFTs and wavenumbers are jaxpm's (``fft3d``, ``fftk``:
rad per voxel), densities are painted by cloud-in-cell (:mod:`xcosmo.cic`).

**Displacement** (eq. 1-3): from the particles' overdensity delta, the source f = (1 + delta)^gamma, filtered by the
radial Fourier filter 1 + S(Xi, k) (:mod:`emulators.eldl.spline`), gives the displacement

    d x = alpha grad F^-1[(1 + S(Xi, k)) f(k)],

read at each particle (cloud-in-cell) and added to its position. The gradient is jaxpm's finite-difference kernel
(i (8 sin k - sin 2k) / 6 per axis), as in its force computation. alpha > 0 moves particles up the filtered source:
towards the peaks, clustering them; alpha < 0 spreads them.

**Activation** (eq. 4): on the density of the displaced particles, F = ReLU(b1 (1 + delta)^mu - b0).

Empty voxels have 1 + delta = 0 and stay 0 under any power (a negative gamma or mu would make them infinite); other
voxels' powers are taken of max(1 + delta, ``FLOOR``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from emulators.eldl.spline import radial_filter
from xcosmo import cic

__all__ = ["FLOOR", "overdensity", "displace", "activate"]

FLOOR = 1e-3
"""Smallest non-zero 1 + delta raised to a learnable power."""


def _power(rho: jax.Array, exponent) -> jax.Array:
    """rho^exponent where rho > 0, 0 in empty voxels (module docstring)."""
    return jnp.where(rho > 0, jnp.maximum(rho, FLOOR) ** exponent, 0.0)


def overdensity(positions: jax.Array, mesh_shape: tuple[int, int, int]) -> jax.Array:
    """1 + delta of particles at ``positions`` (N, 3; voxel units) on the mesh (mean 1 over the mesh)."""
    n_cells = mesh_shape[0] * mesh_shape[1] * mesh_shape[2]
    return cic.paint(mesh_shape, positions) * (n_cells / positions.shape[0])


def displace(positions: jax.Array, mesh_shape: tuple[int, int, int], gamma, alpha, xi) -> jax.Array:
    """The positions after one displacement layer (module docstring) with parameters ``gamma``, ``alpha`` and the
    filter coefficients ``xi``."""
    from jaxpm.distributed import fft3d, ifft3d
    from jaxpm.kernels import fftk, gradient_kernel

    source = _power(overdensity(positions, mesh_shape), gamma)
    source_k = fft3d(source)
    kvec = fftk(source_k)
    filtered = source_k * radial_filter(xi, jnp.sqrt(sum(k**2 for k in kvec)))
    gradient = jnp.stack([ifft3d(gradient_kernel(kvec, i) * filtered).real for i in range(3)], axis=-1)
    return positions + alpha * cic.read(gradient, positions)


def activate(positions: jax.Array, mesh_shape: tuple[int, int, int], b0, b1, mu) -> jax.Array:
    """ReLU(b1 (1 + delta)^mu - b0) of the particles' density on the mesh (eq. 4)."""
    return jax.nn.relu(b1 * _power(overdensity(positions, mesh_shape), mu) - b0)
