"""Lagrangian perturbation theory displacements and momenta of the particles at the start of a particle-mesh run.

The equations of jaxpm 0.1's ``jaxpm.pm.lpt`` (Jenkins 2010, eq. 2 and 3), with its growth functions
(``jaxpm.growth``) and its mesh operators (the 4-point gradient and the exact inverse Laplacian of
:mod:`xcosmo.forces`), for particles on the grid points (relative positions, zero displacement):

    psi_1 = F[delta_L],  psi_2 = F[delta_2],  delta_2 = sum_{i<j} (phi_ii phi_jj - phi_ij^2),  nabla^2 phi = delta_L,
    dx = D_1 psi_1 + (3/7) D_2 psi_2,  p = a^2 E(a) (f_1 D_1 psi_1 + f_2 (3/7) D_2 psi_2),

where F[delta] = -grad nabla^-2 delta is the force field of a density contrast (:func:`xcosmo.forces.force_mesh`),
phi_ij its second derivatives by the same gradient kernel, D_1, D_2 the growth factors and f_1, f_2 the growth
rates (jaxpm's normalisation: -D_2 = (3/7) ``growth_factor_second``). jaxpm reads the force field at the particles
with CIC; at zero displacement the read returns the node values, so here the field is used as it is, which saves
jaxpm's two (N, 8, 3) CIC reads per order and their memory.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .forces import force_mesh, gradient_kernel, wavenumbers

__all__ = ["lpt"]


def lpt(cosmo, linear: jax.Array, a, order: int = 2) -> tuple[jax.Array, jax.Array]:
    """Displacements (voxel units) and jaxpm momenta at scale factor ``a`` of the particles on the grid points of the
    linear density contrast ``linear`` (at z = 0, shape ``(nx, ny, nz)``), to first or second ``order``; ``cosmo`` is
    a ``jax_cosmo.Cosmology``. Shapes ``(nx, ny, nz, 3)``; ``jaxpm.pm.lpt(cosmo, linear, a=a, order=order)[:2]``."""
    import jax_cosmo
    from jaxpm.growth import growth_factor, growth_factor_second, growth_rate, growth_rate_second

    shape = linear.shape
    a = jnp.atleast_1d(a)
    e = jnp.sqrt(jax_cosmo.background.Esqr(cosmo, a))
    delta_k = jnp.fft.rfftn(linear)
    psi = force_mesh(delta_k, shape)
    dx = growth_factor(cosmo, a) * psi
    p = a**2 * growth_rate(cosmo, a) * e * dx
    if order == 2:
        kvec = wavenumbers(shape, linear.dtype)
        k2 = sum(kj**2 for kj in kvec)
        phi_k = -delta_k * jnp.where(k2 > 0, 1.0 / jnp.where(k2 > 0, k2, 1.0), 0.0)
        d = [1j * gradient_kernel(kj) for kj in kvec]

        def hessian(i, j):
            return jnp.fft.irfftn(d[i] * d[j] * phi_k, s=shape)

        diagonal = [hessian(i, i) for i in range(3)]
        delta2 = diagonal[0] * diagonal[1] + diagonal[2] * (diagonal[0] + diagonal[1])
        for i, j in ((0, 1), (0, 2), (1, 2)):
            delta2 = delta2 - hessian(i, j) ** 2
        dx2 = 3.0 / 7.0 * growth_factor_second(cosmo, a) * force_mesh(jnp.fft.rfftn(delta2), shape)
        dx = dx + dx2
        p = p + a**2 * growth_rate_second(cosmo, a) * e * dx2
    return dx, p
