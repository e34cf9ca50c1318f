"""Baryon painters: dark matter in, electron density and temperature grids out.

The light-cone pipeline takes its painter as an argument (DESIGN: xcosmo never imports the learned models). A
painter is any callable (an equinox module, so it can carry weights through jit)

    painter(dx, box, z, params) -> (n_e, kT)

* ``dx``: particle displacements from their initial grid points, voxel units, shape ``(*box.mesh_shape, 3)``
  (:func:`xcosmo.nbody.evolve`); :func:`xcosmo.nbody.density` and :func:`xcosmo.nbody.particle_positions` turn
  it into a CIC density or absolute positions;
* ``box``: the :class:`xcosmo.nbody.Box` (static), ``z``: the box's redshift (traced scalar), ``params``: the
  :class:`xcosmo.params.Params` of the simulation (traced);
* ``n_e``: electron number density per comoving cm^3 (the physical density is n_e (1+z)^3), and ``kT``: gas
  temperature in keV, both float32 arrays of shape ``box.mesh_shape`` (what
  :func:`xcosmo.xray.voxel_count_rates` expects).

:class:`PowerLawPainter` is the simple, documented baseline. The extended LDL of the ``emulators`` package implements
the same protocol. A painter trained at one resolution says so with an attribute ``voxel_mpc_h`` (Mpc/h); the pipeline
refuses boxes of another voxel size before any work (:func:`check_painter_resolution`).

Presets name their painter (``painter: eldl`` or ``power-law``); :func:`named_painter` makes it from the entry points
of the group ``xcosmo.painters`` that the distribution declares (``pyproject.toml``), so that xcosmo names no learned
model in its code and any installed package can add a painter.
"""

from __future__ import annotations

from typing import Protocol

import equinox as eqx
import jax
import jax.numpy as jnp

from .constants import M_PROTON_G, RHO_CRIT_0_G_CM3
from .cosmology import Cosmology
from .nbody import Box, density
from .params import Params

__all__ = ["Painter", "PowerLawPainter", "mean_electron_density", "named_painter", "painter_names", "painter_weights",
           "check_painter_resolution", "PAINTER_GROUP"]

PAINTER_GROUP = "xcosmo.painters"
"""Entry-point group of the named painters: each entry is a callable of no argument returning a painter."""

MU_E = 1.14
"""Mean mass per electron in proton masses for a fully ionised plasma with X = 0.76 (metals neglected)."""


class Painter(Protocol):
    """The baryon-painter protocol (see the module docstring)."""

    def __call__(self, dx: jax.Array, box: Box, z: jax.Array, params: Params) -> tuple[jax.Array, jax.Array]: ...


def mean_electron_density(omega_b, h) -> jax.Array:
    """Cosmic mean electron density, per comoving cm^3: Omega_b rho_crit,0 / (mu_e m_p) (about 2.2e-7 for Planck)."""
    return omega_b * RHO_CRIT_0_G_CM3 * h**2 / (MU_E * M_PROTON_G)


class PowerLawPainter(eqx.Module):
    """Baseline painter: power laws of the local dark-matter density (a toy model, not calibrated on CAMELS).

    With 1 + delta the CIC dark-matter density of the box (mean 1),

        n_e = n_e,mean (1 + delta)^ne_slope
        kT  = kt_mean (1 + delta)^kt_slope  A_SN1^sn_heating  A_AGN1^agn_heating,   clipped to [kt_min, kt_max]

    Gas traces dark matter (ne_slope = 1; n_e,mean from Omega_b, :func:`mean_electron_density`) and is heated
    adiabatically-like with density: kT = 0.09 keV (1e6 K, warm-hot intergalactic medium) at the mean density and
    about 2 keV at 1 + delta = 500, the typical temperature of the 1e14 Msun/h groups that dominate a 0.02 c/s
    survey. The feedback amplitudes raise the temperature weakly (exponents 0.05), so that the pipeline responds to
    all six parameters; Omega_m and sigma_8 act through the dark matter. This only exists so that the pipeline and its
    tests run end to end; the extended LDL replaces it.
    """

    ne_slope: float = 1.0
    kt_mean: float = 0.09
    kt_slope: float = 0.5
    sn_heating: float = 0.05
    agn_heating: float = 0.05
    kt_min: float = 1e-3
    kt_max: float = 20.0

    def __call__(self, dx: jax.Array, box: Box, z: jax.Array, params: Params) -> tuple[jax.Array, jax.Array]:
        cosmo = Cosmology.from_params(params)
        rho = jnp.maximum(density(dx), 0.0)
        n_e = mean_electron_density(cosmo.omega_b, cosmo.h) * rho**self.ne_slope
        heating = params.a_sn1**self.sn_heating * params.a_agn1**self.agn_heating
        kt = jnp.clip(self.kt_mean * rho**self.kt_slope * heating, self.kt_min, self.kt_max)
        return n_e.astype(jnp.float32), kt.astype(jnp.float32)


def _registered() -> dict:
    """The entry points of :data:`PAINTER_GROUP` by name; ``RuntimeError`` where the package is not installed."""
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group=PAINTER_GROUP)}
    if not found:
        raise RuntimeError(f"no baryon painter is registered in the entry points {PAINTER_GROUP!r}: install the "
                           "package (pip install -e .), which declares them")  # fmt: skip
    return found


def painter_names() -> tuple[str, ...]:
    """Names of the installed painters (entry points of :data:`PAINTER_GROUP`)."""
    return tuple(sorted(_registered()))


def named_painter(name: str) -> Painter:
    """The painter called ``name`` (``eldl``: the shipped extended LDL; ``power-law``: :class:`PowerLawPainter`)."""
    from .checks import check_choice

    found = _registered()
    check_choice("painter", name, tuple(sorted(found)))
    return found[name].load()()


def painter_weights(name: str) -> dict | None:
    """The identity of the weights the painter called ``name`` paints with (the shipped eLDL's SHA-256, creation date
    and command), recorded by the campaigns that use it so that a store is never resumed with other weights; None for
    a painter without weights."""
    if name != "eldl":
        return None
    from emulators.eldl.weights import FORMAT_VERSION, PRETRAINED

    from .weights import read_weights_meta

    _, meta = read_weights_meta(PRETRAINED, what="eLDL", format_version=FORMAT_VERSION)
    return {"path": "emulators/eldl/pretrained/eldl.eqx", **{k: meta.get(k) for k in ("sha256", "created", "command")}}


def check_painter_resolution(painter, voxel_mpc_h: float) -> None:
    """Refuse a painter trained at another voxel size than ``voxel_mpc_h`` (to 1%), naming both."""
    trained = getattr(painter, "voxel_mpc_h", None)
    if trained is not None and abs(voxel_mpc_h / trained - 1.0) > 0.01:
        raise ValueError(f"voxel_mpc_h = {voxel_mpc_h:g} is not allowed with the painter {type(painter).__name__}: it "
                         f"was trained on {trained:g} Mpc/h voxels (use a preset at that resolution, or the power-law "
                         "painter)")  # fmt: skip
