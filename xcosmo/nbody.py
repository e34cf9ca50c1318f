"""Particle-mesh dark-matter boxes with jaxpm: Gaussian initial conditions, LPT, leapfrog integration.

One periodic box of ``mesh_shape`` cubic voxels of side ``voxel_mpc_h`` (cubic or not: the light-cone boxes of the
paper are 12 slabs, deeper or shallower than wide depending on Omega_m), one particle per voxel, evolved in float32:

1. the linear density field at z = 0, a Gaussian random field with the Eisenstein & Hu power spectrum of the
   cosmology (:func:`xcosmo.cosmology.linear_power`), drawn from an explicit ``jax.random`` key;
2. first- or second-order Lagrangian perturbation theory displacements at ``z_start`` (paper: z = 99);
3. jaxpm's particle-mesh equations of motion (those of ``jaxpm.pm.make_ode_fn``), with the forces of
   ``jaxpm.pm.pm_forces`` (CIC painting, FFT Poisson solver, CIC force interpolation) computed by
   :func:`xcosmo.forces.pm_forces` with a third of the memory traffic, integrated by a kick-drift-kick leapfrog with
   ``n_steps`` constant steps in ln a from a_start to the requested scale factor (:func:`kick_drift_kick`).

Positions are carried as displacements from the particles' initial grid points, in voxel units (jaxpm's relative
painting): particle ``(i, j, k)`` sits at ``(i, j, k) + dx[i, j, k]``, periodic in the box. Everything is a pure
function of (cosmology, key, scale factor) with the geometry static, so one compilation serves every box of a
light cone and every parameter set of a campaign with the same mesh.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .checks import check_integer, check_number, check_shape, check_type, fail, is_traced
from .cosmology import Cosmology, linear_power, to_jax_cosmo
from .forces import pm_forces
from .lpt import lpt

__all__ = [
    "Box",
    "PMSettings",
    "initial_conditions",
    "evolve",
    "evolve_from",
    "snapshots",
    "kick_drift_kick",
    "density",
    "particle_positions",
    "particle_grid",
    "power_spectrum",
    "BYTES_PER_PARTICLE",
    "FINE_MESH_BYTES_PER_CELL",
]

BYTES_PER_PARTICLE = 200
"""Peak memory of evolving one box, bytes per particle: the growth of the process's peak resident set from 64^3 to
128^3 particles on CPU (``python bench/pm_step.py``: 192 B, 2026-12-05), which leaves out what does not grow with the
box (interpreter, compiler, code). XLA's own account of the compiled run's buffers is 180 B per particle: the
displacements, momenta and forces carried by the leapfrog (36 B), the density and its real-to-complex transform, the
3-channel force mesh, and one corner's flat indices and weights at a time (:mod:`xcosmo.forces`)."""


FINE_MESH_BYTES_PER_CELL = 40
"""Memory per cell of a force mesh finer than the particle grid, bytes: the real density, its real-to-complex
transform, the 3-channel force mesh and one component's complex temporary (float32 / complex64), with XLA's
temporaries (an estimate, generous by about 10 B)."""


@dataclass(frozen=True)
class Box:
    """Geometry of one periodic particle-mesh box.

    Attributes
    ----------
    mesh_shape : voxels along (x, y, z); z is the line of sight in light cones. One particle per voxel.
    voxel_mpc_h : comoving side of a (cubic) voxel, Mpc/h.
    """

    mesh_shape: tuple[int, int, int]
    voxel_mpc_h: float

    def __post_init__(self):
        check_type("mesh_shape", self.mesh_shape, (tuple, list), "a tuple of three integers")
        check_shape("mesh_shape", self.mesh_shape, (3,), " (voxels along x, y, z)")
        shape = tuple(check_integer(f"mesh_shape[{i}]", n, 4) for i, n in enumerate(self.mesh_shape))
        voxel = check_number("voxel_mpc_h", self.voxel_mpc_h, 1e-3, 1e3, open=True, unit="Mpc/h")
        object.__setattr__(self, "mesh_shape", shape)
        object.__setattr__(self, "voxel_mpc_h", voxel)

    @property
    def box_size(self) -> tuple[float, float, float]:
        """Comoving side lengths along (x, y, z), Mpc/h."""
        return tuple(n * self.voxel_mpc_h for n in self.mesh_shape)

    @property
    def n_particles(self) -> int:
        """Number of particles (= voxels)."""
        return math.prod(self.mesh_shape)

    @property
    def memory_bytes(self) -> int:
        """Estimated peak memory of evolving this box (see :data:`BYTES_PER_PARTICLE`)."""
        return self.n_particles * BYTES_PER_PARTICLE


@dataclass(frozen=True)
class PMSettings:
    """Time integration of the particle-mesh run.

    Attributes
    ----------
    z_start : redshift of the LPT initial conditions (paper: 99).
    n_steps : leapfrog steps, constant in ln a, from z_start to the box's redshift.
    lpt_order : 1 (Zel'dovich) or 2 (2LPT) initial displacements.
    force_mesh_factor : the force mesh has this many cells per particle-grid cell along each axis. 1 is the
        pipeline's and the paper's PM; 2 or more resolves forces below the particle spacing, for the more accurate
        runs the synthetic training suite uses as its "hydro" dark matter (:func:`xcosmo.forces.pm_forces`, about
        factor^3 more memory for the mesh).
    """

    z_start: float = 99.0
    n_steps: int = 40
    lpt_order: int = 2
    force_mesh_factor: int = 1

    def __post_init__(self):
        object.__setattr__(self, "z_start", check_number("z_start", self.z_start, 1.0, 1000.0))
        object.__setattr__(self, "n_steps", check_integer("n_steps", self.n_steps, 1, 10001))
        object.__setattr__(self, "lpt_order", check_integer("lpt_order", self.lpt_order, 1, 3))
        object.__setattr__(self, "force_mesh_factor", check_integer("force_mesh_factor", self.force_mesh_factor, 1, 5))

    @property
    def a_start(self) -> float:
        return 1.0 / (1.0 + self.z_start)

    def memory_bytes(self, box: "Box") -> int:
        """Estimated peak memory of evolving ``box`` with these settings: :attr:`Box.memory_bytes`, plus the finer
        force mesh's complex FFT grids (:data:`FINE_MESH_BYTES_PER_CELL` per extra cell)."""
        extra_cells = (self.force_mesh_factor**3 - 1) * box.n_particles
        return box.memory_bytes + FINE_MESH_BYTES_PER_CELL * extra_cells


def _wavenumber_mesh(field_k: jax.Array, box: Box) -> jax.Array:
    """|k| in h/Mpc on jaxpm's (transposed) layout of the Fourier transform ``field_k`` of a field on the box mesh."""
    from jaxpm.kernels import fftk

    # fftk gives k in radians per voxel along x, y, z, broadcast to the layout of field_k
    return jnp.sqrt(sum(k**2 for k in fftk(field_k))) / box.voxel_mpc_h


def initial_conditions(cosmo: Cosmology, key: jax.Array, box: Box) -> jax.Array:
    """Linear density contrast at z = 0 on the mesh (float32): a Gaussian field with P(k) = ``linear_power``.

    Each Fourier mode of a unit white-noise field is multiplied by sqrt(P(k) N / V) (N voxels, V volume in
    (Mpc/h)^3), so that the field's power spectrum estimated with the same conventions is P(k).
    """
    from jaxpm.distributed import fft3d, ifft3d

    noise_k = fft3d(jax.random.normal(key, box.mesh_shape, dtype=jnp.float32))
    k = _wavenumber_mesh(noise_k, box)
    k_safe = jnp.where(k > 0, k, 1.0)
    pk = jnp.where(k > 0, linear_power(cosmo, k_safe), 0.0)
    scale = jnp.sqrt(pk * box.n_particles / math.prod(box.box_size)).astype(jnp.float32)
    return ifft3d(noise_k * scale).astype(jnp.float32)


def evolve(
    cosmo: Cosmology,
    key: jax.Array,
    box: Box,
    a_final: ArrayLike,
    settings: PMSettings = PMSettings(),
) -> tuple[jax.Array, jax.Array]:
    """Evolve one box from Gaussian initial conditions to the scale factor ``a_final`` (may be traced).

    Returns ``(dx, p)``: displacements from the initial grid in voxel units and jaxpm's momenta, both of shape
    ``(*mesh_shape, 3)``, float32. Jit-compiled (the geometry and settings are static).
    """
    if not is_traced(a_final):
        a = np.asarray(a_final, dtype=np.float64)
        if a.shape != () or not settings.a_start < float(a) <= 1.0:
            fail("a_final", a_final, f"must be a scale factor in ({settings.a_start:g}, 1] (after z_start)")
    return _evolve(cosmo, key, jnp.asarray(a_final, jnp.float32), box, settings)


def evolve_from(
    cosmo: Cosmology,
    box: Box,
    dx: ArrayLike,
    p: ArrayLike,
    a_start: float,
    a_final: ArrayLike,
    n_steps: int,
    force_mesh_factor: int = 1,
) -> tuple[jax.Array, jax.Array]:
    """Continue a particle-mesh state ``(dx, p)`` (displacements in voxel units and jaxpm momenta, shape
    ``(*mesh_shape, 3)``) from the scale factor ``a_start`` to ``a_final`` with ``n_steps`` leapfrog steps in ln a:
    the paper's PM input is re-simulated from the hydro run's own dark matter at z = 6
    (:func:`emulators.data.camels.read_dark_matter` reads it). ``force_mesh_factor`` as in :class:`PMSettings`.
    Returns ``(dx, p)`` at ``a_final``, float32."""
    shape = tuple(box.mesh_shape) + (3,)
    check_shape("dx", dx, shape, " (the box's mesh, 3)")
    check_shape("p", p, shape, " (the box's mesh, 3)")
    check_integer("n_steps", n_steps, 1, 10001)
    check_integer("force_mesh_factor", force_mesh_factor, 1, 5)
    a0 = check_number("a_start", a_start, 0.0, 1.0, open=True)
    if not is_traced(a_final) and not a0 < float(np.asarray(a_final)) <= 1.0:
        fail("a_final", a_final, f"must be a scale factor in ({a0:g}, 1] (after a_start)")
    return _evolve_from(cosmo, box, jnp.asarray(dx, jnp.float32), jnp.asarray(p, jnp.float32), jnp.float32(a0),
                        jnp.asarray(a_final, jnp.float32), n_steps, force_mesh_factor)  # fmt: skip


@functools.partial(jax.jit, static_argnums=(1, 6, 7))
def _evolve_from(cosmo, box, dx, p, a_start, a_final, n_steps, force_mesh_factor):
    dp_da, dx_da = _equations_of_motion(cosmo, box, force_mesh_factor)
    return kick_drift_kick(dp_da, dx_da, dx, p, a_start, a_final, n_steps)


def snapshots(
    cosmo: Cosmology,
    key: jax.Array,
    box: Box,
    scale_factors,
    settings: PMSettings = PMSettings(),
) -> jax.Array:
    """Displacements of one run saved at several increasing scale factors: shape ``(n, *mesh_shape, 3)``, float32.

    ``settings.n_steps`` leapfrog steps in all, shared among the intervals in proportion to their length in ln a
    (at least one each); ``scale_factors`` must be concrete, increasing and above a_start.
    """
    a = np.asarray(scale_factors, dtype=np.float64).ravel()
    if a.size == 0 or np.any(np.diff(a) <= 0) or a[0] <= settings.a_start or a[-1] > 1.0:
        fail("scale_factors", scale_factors, f"must increase strictly within ({settings.a_start:g}, 1]")
    ln_a = np.log(np.concatenate([[settings.a_start], a]))
    steps = np.maximum(1, np.round(settings.n_steps * np.diff(ln_a) / (ln_a[-1] - ln_a[0]))).astype(int)
    return _snapshots(cosmo, key, box, settings, tuple(float(x) for x in a), tuple(int(n) for n in steps))


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5))
def _snapshots(cosmo, key, box, settings, scale_factors, steps):
    x, p, dp_da, dx_da = _initial_state(cosmo, key, box, settings)
    out, a0 = [], settings.a_start
    for a1, n in zip(scale_factors, steps):
        x, p = kick_drift_kick(dp_da, dx_da, x, p, a0, jnp.float32(a1), n)
        out.append(x)
        a0 = a1
    return jnp.stack(out)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _evolve(cosmo, key, a_final, box, settings):
    x, p, dp_da, dx_da = _initial_state(cosmo, key, box, settings)
    return kick_drift_kick(dp_da, dx_da, x, p, settings.a_start, a_final, settings.n_steps)


def _initial_state(cosmo, key, box, settings):
    """LPT displacements and momenta at a_start, and jaxpm's equations of motion for this box."""
    linear = initial_conditions(cosmo, key, box)
    jc = to_jax_cosmo(cosmo)  # a fresh jax_cosmo object: jaxpm caches its growth tables in it
    # (jaxpm's LPT also returns an acceleration at a0, but starting the leapfrog from it instead of from the PM force
    # loses 6% of the large-scale power at z = 0.3: kick_drift_kick evaluates the first force)
    dx, p = lpt(jc, linear, settings.a_start, settings.lpt_order)
    return (dx, p) + _equations_of_motion(cosmo, box, settings.force_mesh_factor)


def _equations_of_motion(cosmo, box, force_mesh_factor: int = 1):
    """jaxpm's equations of motion (jaxpm.pm.make_ode_fn), split into the velocity and position updates, with the
    forces of :func:`xcosmo.forces.pm_forces`."""
    import jax_cosmo

    jc = to_jax_cosmo(cosmo)

    def dp_da(x, a):
        forces = pm_forces(x, force_mesh_factor)
        return 1.5 * jc.Omega_m * forces / (a**2 * jnp.sqrt(jax_cosmo.background.Esqr(jc, a)))

    def dx_da(p, a):
        return p / (a**3 * jnp.sqrt(jax_cosmo.background.Esqr(jc, a)))

    return dp_da, dx_da


def particle_grid(mesh_shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """The particles' initial grid points, voxel units: shape ``(*mesh_shape, 3)``."""
    return jnp.stack(jnp.meshgrid(*[jnp.arange(n, dtype=dtype) for n in mesh_shape], indexing="ij"), axis=-1)


def kick_drift_kick(dp_da, dx_da, x, p, a_start, a_final, n_steps: int):
    """Leapfrog (kick-drift-kick) integration of the particle-mesh equations of motion.

    ``dp_da(x, a)`` (the particle-mesh force term, which depends on positions only) and ``dx_da(p, a)`` (the drift,
    which depends on momenta only) are jaxpm's equations of motion, so a kick (p += dt/2 dp/dt at fixed x) and a
    drift (x += dt dx/dt at fixed p) are exact sub-flows and their symmetric composition is second order and
    symplectic. The time variable is t = ln a with constant steps (d/dt = a d/da): equal fractions of the
    expansion, which resolves the early growth far better than steps constant in a. One force evaluation per step
    (the last kick's force is reused by the next step's first kick), plus one at the start.
    """
    t0 = jnp.log(jnp.asarray(a_start, x.dtype))
    dt = (jnp.log(a_final) - t0) / n_steps

    def step(carry, i):
        x, p, f = carry
        a_mid = jnp.exp(t0 + (i + 0.5) * dt)
        a_end = jnp.exp(t0 + (i + 1.0) * dt)
        p = p + 0.5 * dt * f
        x = x + dt * a_mid * dx_da(p, a_mid)
        f = a_end * dp_da(x, a_end)
        p = p + 0.5 * dt * f
        return (x, p, f), None

    a0 = jnp.exp(t0)
    f0 = a0 * dp_da(x, a0)
    (x, p, _), _ = jax.lax.scan(step, (x, p, f0), jnp.arange(n_steps, dtype=x.dtype))
    return x, p


def particle_positions(dx: jax.Array) -> jax.Array:
    """Absolute particle positions in voxel units, wrapped into the box: grid point + displacement, shape (N, 3)."""
    shape = dx.shape[:-1]
    return jnp.mod(particle_grid(shape, dx.dtype) + dx, jnp.asarray(shape, dx.dtype)).reshape(-1, 3)


def density(dx: jax.Array) -> jax.Array:
    """1 + delta on the mesh: CIC deposit of the particles (one per voxel, so the mean is exactly 1).

    Painted by :func:`xcosmo.cic.paint`, not jaxpm's ``cic_paint_dx``: jaxpm 0.1.6 fails on meshes of more than 2^24
    voxels that are not a multiple of 2^24 (its remainder chunk is scattered with an integer offset)."""
    from xcosmo import cic

    return cic.paint(dx.shape[:-1], particle_positions(dx))


def power_spectrum(field: np.ndarray, box: Box, n_bins: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Spherically averaged power spectrum of a density-contrast field: (k in h/Mpc, P(k) in (Mpc/h)^3).

    Linear bins from half the fundamental mode of the longest side to the Nyquist frequency of the voxels; modes are
    weighted equally (numpy FFT, independent of jaxpm's conventions).
    """
    field = np.asarray(field, dtype=np.float64)
    check_shape("field", field, box.mesh_shape, " (the box mesh)")
    fk = np.fft.rfftn(field)
    power = np.abs(fk) ** 2 * math.prod(box.box_size) / box.n_particles**2
    freqs = [np.fft.fftfreq(n, d=box.voxel_mpc_h) for n in box.mesh_shape[:-1]]
    freqs.append(np.fft.rfftfreq(box.mesh_shape[-1], d=box.voxel_mpc_h))
    kx, ky, kz = np.meshgrid(*freqs, indexing="ij")
    k = 2.0 * np.pi * np.sqrt(kx**2 + ky**2 + kz**2)
    # modes in the rfft half-space with kz > 0 (and kz < Nyquist) stand for two modes of the full transform
    weight = np.where((kz > 0) & (kz < 0.5 / box.voxel_mpc_h - 1e-12), 2.0, 1.0)
    k_f = 2.0 * np.pi / max(box.box_size)
    edges = np.linspace(k_f / 2, np.pi / box.voxel_mpc_h, n_bins + 1)
    idx = np.digitize(k.ravel(), edges) - 1
    ok = (idx >= 0) & (idx < n_bins) & (k.ravel() > 0)
    w = weight.ravel()[ok]
    counts = np.bincount(idx[ok], weights=w, minlength=n_bins)
    k_mean = np.bincount(idx[ok], weights=w * k.ravel()[ok], minlength=n_bins)
    p_mean = np.bincount(idx[ok], weights=w * power.ravel()[ok], minlength=n_bins)
    good = counts > 0
    return k_mean[good] / counts[good], p_mean[good] / counts[good]
