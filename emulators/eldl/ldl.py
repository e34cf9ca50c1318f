"""One Lagrangian Deep Learning model (paper 2.2.1, figure 2's bottom row): two displacement layers and one activation
layer (:mod:`emulators.eldl.layers`) mapping particle-mesh dark matter to one baryon field on the mesh.

The parameters Theta (:class:`LDLParams`) are a pytree of arrays, so that the extended LDL can add a learned
variation to them (eq. 7: Theta = Theta_fid + delta Theta(theta_sim)) and autodiff reaches through. The model's output
is dimensionless: the painter (:class:`emulators.eldl.eldl.ELDL`) multiplies the n_e model by the cosmic mean electron
density and reads the T model in keV.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from emulators.eldl.layers import activate, displace

__all__ = ["LDLParams", "ldl"]


class LDLParams(eqx.Module):
    """Theta of one LDL model (paper eq. 1-4), float32 arrays.

    Attributes
    ----------
    gamma : (2,) exponents of the two displacement layers' sources (1 + delta)^gamma.
    alpha : (2,) their displacement amplitudes.
    xi : (2, n_knots) their radial filters' B-spline coefficients.
    ln_b1, b0_over_b1, mu : the activation ReLU(b1 (1 + delta)^mu - b0) with b1 = exp(ln_b1) and b0 in units of b1:
        the same model, parametrised so that equal steps in the parameters are relative steps of the output (n_e
        spans decades) and the threshold does not move when the amplitude does.
    """

    gamma: jax.Array
    alpha: jax.Array
    xi: jax.Array
    ln_b1: jax.Array
    b0_over_b1: jax.Array
    mu: jax.Array

    @property
    def b1(self) -> jax.Array:
        return jnp.exp(self.ln_b1)

    @property
    def b0(self) -> jax.Array:
        return self.b0_over_b1 * self.b1

    @classmethod
    def identity(cls, n_knots: int = 8) -> "LDLParams":
        """Parameters that paint the input's own 1 + delta: no displacement (alpha = 0), F = 1 + delta. The starting
        point of training."""
        if n_knots < 4:
            raise ValueError(f"n_knots = {n_knots} is not allowed: a cubic B-spline filter needs at least 4")
        f32 = jnp.float32
        return cls(gamma=jnp.ones(2, f32), alpha=jnp.zeros(2, f32), xi=jnp.zeros((2, n_knots), f32),
                   ln_b1=jnp.zeros((), f32), b0_over_b1=jnp.zeros((), f32), mu=jnp.ones((), f32))  # fmt: skip

    @classmethod
    def shift_units(cls, n_knots: int = 8, fiducial: "LDLParams | None" = None) -> "LDLParams":
        """The size of a typical variation of each parameter, in which the conditioning MLPs speak (their outputs
        are O(1)): 0.1 for the filters and b0/b1, 0.3 for ln b1 (a factor 1.35), 0.1 for mu and for the exponents
        gamma, and 1e-3 for the displacement amplitudes alpha, which move particles by about 65 voxels r.m.s. per
        unit alpha at gamma = 1 on a 0.39 Mpc/h, z = 0.2 box (0.07 voxels per unit output). Given the ``fiducial``
        the variations are conditioned around, gamma's unit is a tenth of its |gamma| and alpha's a tenth of its
        |alpha| where that is larger than 1e-3: a diffusive fiducial (gamma ~ 0.05, alpha ~ -4: :func:`emulators.eldl.
        training.diffusion_params`) then varies by about 10% of its smoothing per unit output, as the others do."""
        f32 = jnp.float32
        gamma, alpha = jnp.full(2, 0.1, f32), jnp.full(2, 1e-3, f32)
        if fiducial is not None:
            gamma = 0.1 * jnp.abs(jnp.asarray(fiducial.gamma, f32))
            alpha = jnp.maximum(alpha, 0.1 * jnp.abs(jnp.asarray(fiducial.alpha, f32)))
        return cls(gamma=gamma, alpha=alpha, xi=jnp.full((2, n_knots), 0.1, f32), ln_b1=jnp.asarray(0.3, f32),
                   b0_over_b1=jnp.asarray(0.1, f32), mu=jnp.asarray(0.1, f32))  # fmt: skip


def ldl(params: LDLParams, dx: jax.Array) -> jax.Array:
    """The field painted by one LDL model from particle-mesh displacements ``dx`` ((n, n, n, 3), voxel units; one
    particle per voxel at rest): shape (n, n, n), dimensionless."""
    mesh_shape = dx.shape[:3]
    grid = jnp.stack(jnp.meshgrid(*[jnp.arange(n, dtype=dx.dtype) for n in mesh_shape], indexing="ij"), axis=-1)
    positions = (grid + dx).reshape(-1, 3)
    for layer in range(2):
        positions = displace(positions, mesh_shape, params.gamma[layer], params.alpha[layer], params.xi[layer])
    return activate(positions, mesh_shape, params.b0, params.b1, params.mu)
