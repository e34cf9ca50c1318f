"""Particle-mesh gravitational forces: the physics of jaxpm's ``pm_forces``, with a third of its memory traffic.

The force on every particle is that of jaxpm 0.1 (``jaxpm.pm.pm_forces`` with relative painting):

1. the density 1 + delta is the cloud-in-cell (CIC) deposit of the particles, weight 1 each (mean 1);
2. the potential solves the Poisson equation on the periodic mesh, phi_k = -delta_k / k^2 (phi_0 = 0), with k in
   radians per cell;
3. the force is minus the gradient of phi by the 4-point finite difference, whose Fourier kernel is i D(k_j),
   D(w) = (8 sin w - sin 2w) / 6 (jaxpm's ``gradient_kernel``), so F_j = IFFT(i D(k_j) delta_k / k^2);
4. each particle reads F with the CIC kernel, the adjoint of step 1.

jaxpm reads the three components one at a time, recomputing the 8 corner indices and weights and building an
(N, 8, 3) index tensor for each read and for the paint. Here the three inverse transforms fill one 3-channel force
mesh, read in one gather of 12-byte rows per corner (:func:`xcosmo.cic.read`), no (N, 8, 3) temporary is built, and
real-to-complex transforms halve the complex grids. On CPU, where XLA's scatter and gather are serial loops, the
step is those 8 scatters and 8 gathers: jaxpm's paint plus one of its three reads.

Positions are displacements ``dx`` from the particles' initial grid points, voxel units, shape ``(*mesh_shape, 3)``,
one particle per voxel, as in :mod:`xcosmo.nbody`. A force mesh ``factor`` times finer than the particle grid
resolves forces below the particle spacing: positions scale by ``factor``, each particle is painted with weight
``factor`` (the Laplacian scales as factor^2 and the density per cell as factor^-3, so the potential stays in
particle-grid units), and the gradient, taken in fine-mesh units, is multiplied by ``factor``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import cic

__all__ = ["pm_forces", "force_mesh", "gradient_kernel", "wavenumbers"]


def gradient_kernel(w: jax.Array) -> jax.Array:
    """D(w) = (8 sin w - sin 2w) / 6, w in radians per cell: the 4-point central difference
    (2/3) (f(x+1) - f(x-1)) - (1/12) (f(x+2) - f(x-2)) in Fourier space, without its factor i (jaxpm's
    ``gradient_kernel`` of order 1)."""
    return (8.0 * jnp.sin(w) - jnp.sin(2.0 * w)) / 6.0


def wavenumbers(shape: tuple[int, int, int], dtype=jnp.float32) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(kx, ky, kz) in radians per cell on the layout of ``jnp.fft.rfftn`` of a ``shape`` mesh, broadcastable."""
    w = [jnp.fft.fftfreq(n) for n in shape[:2]] + [jnp.fft.rfftfreq(shape[2])]
    return tuple(jnp.meshgrid(*[(2.0 * jnp.pi * wi).astype(dtype) for wi in w], indexing="ij", sparse=True))


def force_mesh(delta_k: jax.Array, shape: tuple[int, int, int]) -> jax.Array:
    """The force field -grad phi, nabla^2 phi = delta, on the mesh nodes, from ``delta_k = rfftn(delta)``: steps 2
    and 3 above, F_j = IRFFT(i D(k_j) delta_k / k^2), shape ``(*shape, 3)``."""
    kvec = wavenumbers(shape, delta_k.real.dtype)
    k2 = sum(kj**2 for kj in kvec)
    source = delta_k * jnp.where(k2 > 0, 1.0 / jnp.where(k2 > 0, k2, 1.0), 0.0)
    return jnp.stack([jnp.fft.irfftn(1j * gradient_kernel(kj) * source, s=shape) for kj in kvec], axis=-1)


def pm_forces(dx: jax.Array, factor: int = 1) -> jax.Array:
    """Particle-mesh forces on the particles displaced by ``dx`` (voxel units, shape ``(*mesh_shape, 3)``) from their
    grid points, on a force mesh ``factor`` times finer than the particle grid: shape ``(*mesh_shape, 3)``, in the
    units of ``jaxpm.pm.pm_forces(dx, mesh_shape, paint_absolute_pos=False)``, which it equals for ``factor = 1``."""
    grid = dx.shape[:-1]
    shape = tuple(n * factor for n in grid)
    lagrangian = jnp.stack(jnp.meshgrid(*[jnp.arange(n, dtype=dx.dtype) for n in grid], indexing="ij"), axis=-1)
    positions = ((lagrangian + dx) * factor).reshape(-1, 3)
    delta_k = jnp.fft.rfftn(cic.paint(shape, positions, jnp.asarray(factor, dx.dtype)))
    return factor * cic.read(force_mesh(delta_k, shape), positions).reshape(*grid, 3)
