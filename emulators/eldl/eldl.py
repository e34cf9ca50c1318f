"""The extended Lagrangian Deep Learning painter (paper 2.2.2, eq. 7, figure 2): two LDL models, one for the electron
density and one for the temperature, whose parameters depend on the simulation parameters and, for T, on redshift.

    Theta = Theta_fid + delta Theta(theta_sim)                                                             (eq. 7)

delta Theta is a small MLP (:class:`Conditioning`) of theta_sim mapped to the unit hypercube of the prior
(:meth:`xcosmo.params.Prior.to_unit`: log-uniform amplitudes in their logarithm), shifted to [-1, 1]; its last layer
starts at zero, so an untrained conditioning leaves Theta_fid. n_e has one conditioning and no redshift dependence
(the paper's finding for comoving n_e at z < 0.5); T has one per training redshift z_k, and between two of them delta
Theta is interpolated linearly in z. Outside [z_0, z_last] the T model is refused (a traced check,
:func:`equinox.error_if`): it was never trained there.

:class:`ELDL` follows the painter protocol of :mod:`xcosmo.painting`: ``painter(dx, box, z, params) -> (n_e [comoving
cm^-3], kT [keV])``, n_e being the n_e model's output times the cosmic mean electron density
(:func:`xcosmo.painting.mean_electron_density`, Omega_b = 0.049 and h = 0.6711 of CAMELS).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from emulators.data.camels import CAMELS_H as H
from emulators.data.camels import CAMELS_OMEGA_B as OMEGA_B
from emulators.eldl.ldl import LDLParams, ldl
from xcosmo.painting import mean_electron_density
from xcosmo.params import PRIOR, Params

__all__ = ["Conditioning", "ELDL", "OMEGA_B", "H"]



class Conditioning(eqx.Module):
    """delta Theta(theta_sim) of one LDL model: an MLP from theta_sim (6, scaled to [-1, 1] over the prior) to the
    flattened variation of the model's parameters in ``units`` (:meth:`LDLParams.shift_units` of the fiducial it
    varies, fixed), zero until trained. The units give every output the same leverage on the painted field, so that
    one learning rate suits them all."""

    mlp: eqx.nn.MLP
    units: jax.Array

    def __init__(self, units: jax.Array, key: jax.Array, width: int = 32, depth: int = 2):
        mlp = eqx.nn.MLP(6, units.size, width, depth, activation=jax.nn.tanh, key=key)
        last = mlp.layers[-1]
        self.mlp = eqx.tree_at(lambda m: (m.layers[-1].weight, m.layers[-1].bias), mlp,
                               (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)))  # fmt: skip
        self.units = units

    def __call__(self, theta: jax.Array) -> jax.Array:
        return self.mlp(2.0 * PRIOR.to_unit(theta) - 1.0) * jax.lax.stop_gradient(self.units)


class ELDL(eqx.Module):
    """The extended LDL (module docstring).

    Attributes
    ----------
    ne, t : Theta_fid of the n_e and T models.
    ne_shift : delta Theta of the n_e model.
    t_shifts : delta Theta of the T model, one per redshift of ``t_redshifts`` (increasing).
    voxel_mpc_h : the voxel size (Mpc/h) of the training boxes, where the weights come from a file: the pipeline
        refuses other resolutions (:func:`xcosmo.painting.check_painter_resolution`).
    """

    ne: LDLParams
    t: LDLParams
    ne_shift: Conditioning
    t_shifts: tuple[Conditioning, ...]
    t_redshifts: tuple[float, ...] = eqx.field(static=True)
    voxel_mpc_h: float | None = eqx.field(static=True, default=None)

    @classmethod
    def pretrained(cls) -> "ELDL":
        """The shipped weights (:func:`emulators.eldl.weights.pretrained`)."""
        from emulators.eldl.weights import pretrained

        return pretrained()

    @classmethod
    def untrained(cls, t_redshifts, key: jax.Array, n_knots: int = 8, width: int = 32, depth: int = 2) -> "ELDL":
        """Identity models (:meth:`LDLParams.identity`) and zero conditionings for the given T redshifts."""
        zs = tuple(sorted(float(z) for z in t_redshifts))
        if not zs:
            raise ValueError("t_redshifts is empty: the T model needs at least one training redshift")
        base = LDLParams.identity(n_knots)
        units = ravel_pytree(LDLParams.shift_units(n_knots))[0]
        keys = jax.random.split(key, len(zs) + 1)
        return cls(base, base, Conditioning(units, keys[0], width, depth),
                   tuple(Conditioning(units, k, width, depth) for k in keys[1:]), zs)  # fmt: skip

    def ne_params(self, theta: jax.Array) -> LDLParams:
        """Theta of the n_e model at ``theta`` (6, xcosmo's order)."""
        flat, unravel = ravel_pytree(self.ne)
        return unravel(flat + self.ne_shift(theta))

    def t_params(self, theta: jax.Array, z) -> LDLParams:
        """Theta of the T model at ``theta`` and redshift ``z`` (delta Theta interpolated between the two nearest
        training redshifts; refused outside them)."""
        flat, unravel = ravel_pytree(self.t)
        zs = jnp.asarray(self.t_redshifts)
        z = eqx.error_if(jnp.asarray(z, jnp.float32), (z < zs[0] - 1e-6) | (z > zs[-1] + 1e-6),
                         f"z is not allowed: the eLDL temperature model was trained at z = {self.t_redshifts[0]:g}-"
                         f"{self.t_redshifts[-1]:g} only")  # fmt: skip
        shifts = jnp.stack([c(theta) for c in self.t_shifts])
        if len(self.t_redshifts) == 1:
            return unravel(flat + shifts[0])
        i = jnp.clip(jnp.searchsorted(zs, z, side="right") - 1, 0, len(self.t_redshifts) - 2)
        w = (z - zs[i]) / (zs[i + 1] - zs[i])
        return unravel(flat + (1.0 - w) * shifts[i] + w * shifts[i + 1])

    def fields(self, dx: jax.Array, theta: jax.Array, z) -> tuple[jax.Array, jax.Array]:
        """The models' outputs: n_e in units of the cosmic mean and kT in keV, on the mesh of ``dx``."""
        return ldl(self.ne_params(theta), dx), ldl(self.t_params(theta, z), dx)

    def __call__(self, dx: jax.Array, box, z, params: Params) -> tuple[jax.Array, jax.Array]:
        """The painter protocol of :mod:`xcosmo.painting`: (n_e [comoving cm^-3], kT [keV])."""
        ne, kt = self.fields(dx, params.to_array(), z)
        return ne * mean_electron_density(OMEGA_B, H), kt
