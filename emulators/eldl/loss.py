"""The training losses of the LDL models (paper eq. 5 and 6), aimed at the X-ray emissivity n_e^2 T^1/2:

    L_ne = sum_i | O_s * [(n_e,LDL^2 - n_e,true^2) T_true^1/2] |(x_i) rho_DM(x_i),
    L_T  = sum_i | O_s * [n_e,true^2 (T_LDL^1/2 - T_true^1/2)] |(x_i) rho_DM(x_i),

with the smoothing operator O_s(k) = 1 + k^-n applied in Fourier space (k in h/Mpc; Dai & Seljak 2021 take n = 1,
which this module keeps as the default), the absolute value per voxel, and each voxel weighted by its own dark-matter
density rho_DM / rho_mean (1 + delta of the PM input), as the equations are written. The k = 0 mode, where k^-n
diverges, gets the operator's value at the box's fundamental wavenumber. n_e enters in units of the cosmic mean
electron density and T in keV, so that the losses are of order one per voxel.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["smoothing_operator", "smooth", "ne_loss", "t_loss", "SMOOTHING_N"]

SMOOTHING_N = 1.0
"""Default exponent n of the smoothing operator (Dai & Seljak 2021)."""


def smoothing_operator(mesh_shape: tuple[int, int, int], voxel_mpc_h: float, n: float = SMOOTHING_N) -> jax.Array:
    """O_s(k) = 1 + k^-n on the rfft half-space of the mesh (k in h/Mpc; module docstring for k = 0)."""
    freqs = [jnp.fft.fftfreq(m, d=voxel_mpc_h) for m in mesh_shape[:2]] + [jnp.fft.rfftfreq(mesh_shape[2], d=voxel_mpc_h)]
    k = 2 * jnp.pi * jnp.sqrt(sum(f**2 for f in jnp.meshgrid(*freqs, indexing="ij")))
    k_fundamental = 2 * jnp.pi / (max(mesh_shape) * voxel_mpc_h)
    return 1.0 + jnp.maximum(k, k_fundamental) ** -n


def smooth(field: jax.Array, operator: jax.Array) -> jax.Array:
    """O_s * field (the operator from :func:`smoothing_operator` on the same mesh)."""
    return jnp.fft.irfftn(jnp.fft.rfftn(field) * operator, s=field.shape)


def ne_loss(ne_model, ne_true, t_true, rho_dm, operator) -> jax.Array:
    """Eq. 5, summed over the voxels (n_e in units of its cosmic mean, T in keV, rho_dm as 1 + delta)."""
    residual = (ne_model**2 - ne_true**2) * jnp.sqrt(t_true)
    return jnp.sum(jnp.abs(smooth(residual, operator)) * rho_dm)


def t_loss(t_model, ne_true, t_true, rho_dm, operator) -> jax.Array:
    """Eq. 6, summed over the voxels (units as :func:`ne_loss`)."""
    residual = ne_true**2 * (jnp.sqrt(jnp.maximum(t_model, 1e-10)) - jnp.sqrt(t_true))  # sqrt has no gradient at 0
    return jnp.sum(jnp.abs(smooth(residual, operator)) * rho_dm)
