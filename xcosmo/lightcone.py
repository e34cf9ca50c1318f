"""Light-cone geometry and the projection of box slices onto sky maps (paper section 2.3, figure 4).

A light cone of solid angle ``area_deg2`` from ``z_min`` to ``z_max`` is made of ``n_boxes`` adjacent periodic boxes
of equal comoving size stacked along the line of sight (the z axis of each box):

* the comoving distance range [chi(z_min), chi(z_max)] is cut into ``n_boxes`` slabs of ``n_depth`` voxels each,
  ``n_depth = ceil((chi_max - chi_min) / (n_boxes voxel))``: the depth changes with Omega_m (figure 4), the voxel
  size does not; slices of the last box beyond chi_max are masked out;
* every box has the transverse size of the footprint at the far end, ``n_side = ceil(side chi_max / voxel)``
  voxels, side = sqrt(area) the angular side of the square footprint (flat sky);
* each box has its own initial conditions and is evolved to the redshift of its central distance.

Sky maps use the flat-sky approximation: a voxel at transverse offset x from the box axis, in the slice at comoving
distance chi, spans the angles [x, x + voxel] / chi. Each slice is resampled onto the map pixels by the exact
overlap of the voxels' angular extent with the pixels (a separable, conservative remap: every voxel's quantity is
shared among the pixels it covers in proportion to the covered fraction, and the part outside the footprint is
dropped), so a map's total equals the sum over voxels of the quantity times the voxel's fraction inside the
footprint.

Distances are computed in float64 once per cosmology (:class:`LightCone` holds numpy arrays); the projection runs
in float32 inside jit.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .checks import check_integer, check_number, require
from .cosmology import Cosmology, comoving_distance
from .nbody import Box
from .precision import float64

__all__ = ["LightConeSpec", "LightCone", "overlap_weights", "project_slices", "project_slices_max"]

ARCMIN_PER_RAD = 180.0 * 60.0 / math.pi


@dataclass(frozen=True)
class LightConeSpec:
    """What a light cone covers (cosmology-independent).

    Attributes
    ----------
    area_deg2 : footprint solid angle, deg^2 (a square of side sqrt(area); paper: 20 deg^2).
    z_min, z_max : redshift range (paper: 0.1-0.5).
    n_boxes : adjacent periodic boxes along the line of sight (paper: 12).
    voxel_mpc_h : comoving voxel side, Mpc/h (paper: 0.39).
    pixel_arcmin : target map pixel side, arcmin (paper: about 1); the footprint is cut into an integer number of
        pixels, so the actual pixel is side / round(side / pixel_arcmin).
    """

    area_deg2: float = 20.0
    z_min: float = 0.1
    z_max: float = 0.5
    n_boxes: int = 12
    voxel_mpc_h: float = 0.39
    pixel_arcmin: float = 1.0

    def __post_init__(self):
        check_number("area_deg2", self.area_deg2, 0.0, 400.0, unit="deg^2 (flat-sky footprints only)")
        require(self.area_deg2 > 0, "area_deg2", self.area_deg2, "must be > 0 deg^2")
        check_number("z_min", self.z_min, 0.0, 5.0)
        check_number("z_max", self.z_max, 0.0, 5.0)
        require(self.z_max > self.z_min, "z_min", self.z_min, f"must be smaller than z_max = {self.z_max!r}")
        check_integer("n_boxes", self.n_boxes, 1, 1001)
        check_number("voxel_mpc_h", self.voxel_mpc_h, 1e-3, 100.0, unit="Mpc/h")
        check_number("pixel_arcmin", self.pixel_arcmin, 1e-3, 600.0, unit="arcmin")

    @property
    def side_arcmin(self) -> float:
        """Side of the square footprint, arcmin."""
        return math.sqrt(self.area_deg2) * 60.0


@dataclass(frozen=True, eq=False)
class LightCone:
    """A light cone laid out for one cosmology: boxes, slices and map pixels (float64 numpy, concrete).

    Attributes
    ----------
    spec : the :class:`LightConeSpec`.
    box : geometry of every box (``mesh_shape = (n_side, n_side, n_depth)``, z along the line of sight).
    chi_min, chi_max : comoving distances of z_min and z_max, Mpc/h.
    slice_chi : (n_boxes, n_depth) comoving distance of each slice's centre, Mpc/h.
    slice_z : (n_boxes, n_depth) redshift of each slice.
    slice_mask : (n_boxes, n_depth) 1 for slices inside [chi_min, chi_max], 0 beyond chi_max.
    box_z : (n_boxes,) redshift at each box's central distance (the box is evolved and painted there).
    n_pix : map pixels per side; pixel_arcmin = side / n_pix.
    """

    spec: LightConeSpec
    box: Box
    chi_min: float
    chi_max: float
    slice_chi: np.ndarray
    slice_z: np.ndarray
    slice_mask: np.ndarray
    box_z: np.ndarray
    n_pix: int

    @classmethod
    def build(cls, cosmo: Cosmology, spec: LightConeSpec = LightConeSpec()) -> "LightCone":
        """Lay out ``spec`` for the (concrete) cosmology ``cosmo``."""
        chi = float64(lambda z: np.asarray(comoving_distance(cosmo, jnp.asarray(z, jnp.float64))))
        chi_min, chi_max = (float(c) for c in chi(np.array([spec.z_min, spec.z_max])))
        v = spec.voxel_mpc_h
        side = math.radians(math.sqrt(spec.area_deg2))
        n_side = max(4, math.ceil(side * chi_max / v - 1e-9))
        n_depth = max(4, math.ceil((chi_max - chi_min) / (spec.n_boxes * v) - 1e-9))
        start = chi_min + np.arange(spec.n_boxes)[:, None] * n_depth * v
        slice_chi = start + (np.arange(n_depth)[None, :] + 0.5) * v
        # invert chi(z) on a fine grid (chi is smooth and monotonic): redshift of every slice
        z_hi = spec.z_max + 0.1 + 2.0 * n_depth * v * spec.n_boxes / max(chi_max, 1.0)
        z_grid = np.linspace(0.0, z_hi, 4097)
        chi_grid = chi(z_grid)
        slice_z = np.interp(slice_chi, chi_grid, z_grid)
        box_z = np.interp(start[:, 0] + 0.5 * n_depth * v, chi_grid, z_grid)
        slice_mask = (slice_chi <= chi_max).astype(np.float64)
        n_pix = max(1, round(spec.side_arcmin / spec.pixel_arcmin))
        footprint = side * chi_max
        if n_side * v > footprint + v or n_depth * v * spec.n_boxes > chi_max - chi_min + n_depth * v:
            warnings.warn(
                f"voxel_mpc_h = {v:g} Mpc/h makes each box ({n_side} x {n_side} x {n_depth} voxels, at least 4 per "
                f"side) larger than the footprint ({footprint:.1f} Mpc/h across at z_max, "
                f"{(chi_max - chi_min) / spec.n_boxes:.1f} Mpc/h deep per box): most of the simulated volume falls "
                "outside the maps; use smaller voxels, a larger area or fewer boxes",
                stacklevel=2,
            )
        return cls(spec, Box((n_side, n_side, n_depth), v), chi_min, chi_max, slice_chi, slice_z, slice_mask, box_z, n_pix)

    @property
    def pixel_arcmin(self) -> float:
        """Actual map pixel side, arcmin."""
        return self.spec.side_arcmin / self.n_pix

    @property
    def box_depth_mpc_h(self) -> float:
        """Comoving depth of each box along the line of sight, Mpc/h."""
        return self.box.box_size[2]

    @property
    def n_particles(self) -> int:
        """Particles in the whole light cone (all boxes)."""
        return self.box.n_particles * self.spec.n_boxes

    def weights(self, b: int) -> np.ndarray:
        """Overlap weights of box ``b``'s slices onto map pixels, (n_depth, n_pix, n_side), float64; zero for the
        slices beyond z_max, so projecting with them drops those slices."""
        w = overlap_weights(self.slice_chi[b], self.box.mesh_shape[0], self.box.voxel_mpc_h, self.spec.side_arcmin, self.n_pix)
        return w * self.slice_mask[b][:, None, None]

    def sky_wcs(self, centre: tuple[float, float]):
        """Celestial WCS (astropy) of the maps: gnomonic (TAN) projection about ``centre`` = (RA, Dec) in degrees.

        The flat-sky angles of this module are the tangent-plane coordinates, x along +RA (east, so CDELT1 < 0 as on
        the sky) and y along +Dec; the footprint's centre is the centre of the map.
        """
        from astropy.wcs import WCS

        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crval = [float(centre[0]), float(centre[1])]
        w.wcs.crpix = [(self.n_pix + 1) / 2.0, (self.n_pix + 1) / 2.0]
        step = self.pixel_arcmin / 60.0
        w.wcs.cdelt = [-step, step]
        w.wcs.cunit = ["deg", "deg"]
        w.wcs.radesys = "ICRS"
        return w

    def footprint_fraction(self, b: int) -> np.ndarray:
        """Fraction of each voxel of box ``b`` inside the footprint, (n_side, n_side, n_depth), masked slices 0."""
        w = self.weights(b).sum(axis=1)  # (n_depth, n_side): covered fraction along one transverse axis
        return np.einsum("jx,jy->xyj", w, w)


def overlap_weights(chi: np.ndarray, n_side: int, voxel_mpc_h: float, side_arcmin: float, n_pix: int) -> np.ndarray:
    """Fraction of each voxel column's angular extent falling in each map pixel, one matrix per slice.

    Voxel i of a box centred on the line of sight spans transverse offsets [(i - n_side/2), (i + 1 - n_side/2)]
    voxels, i.e. angles [x_i, x_i + voxel] / chi at slice distance chi; pixel p spans
    [-side/2 + p dpix, -side/2 + (p + 1) dpix]. Returns ``w[j, p, i]`` = |voxel i (slice j) intersect pixel p| /
    |voxel i|, shape (len(chi), n_pix, n_side); columns sum to the fraction of the voxel inside the footprint.
    """
    chi = np.atleast_1d(np.asarray(chi, dtype=np.float64))
    edges_vox = (np.arange(n_side + 1) - n_side / 2.0) * voxel_mpc_h  # Mpc/h
    ang = edges_vox[None, :] / chi[:, None] * ARCMIN_PER_RAD  # (n_slices, n_side + 1) arcmin
    pix = -side_arcmin / 2.0 + np.arange(n_pix + 1) * (side_arcmin / n_pix)
    lo = np.maximum(ang[:, None, :-1], pix[None, :-1, None])
    hi = np.minimum(ang[:, None, 1:], pix[None, 1:, None])
    return np.clip(hi - lo, 0.0, None) / (ang[:, None, 1:] - ang[:, None, :-1])


def project_slices(field: jax.Array, weights: jax.Array) -> jax.Array:
    """Sum of the conservative angular remaps of every slice: map[p, q] = sum_j sum_xy w[j,p,x] F[x,y,j] w[j,q,y].

    ``field`` (n_side, n_side, n_depth) holds an extensive quantity per voxel (count rate, mass); ``weights`` from
    :func:`overlap_weights` or :meth:`LightCone.weights` (which zeroes the slices beyond z_max). Returns (n_pix, n_pix)
    with axes (y, x) as FITS images.
    """
    return jnp.einsum("jqy,xyj,jpx->qp", weights, field, weights)


def project_slices_max(field: jax.Array, weights: jax.Array) -> jax.Array:
    """Maximum over slices of the area-weighted mean of an intensive field (e.g. rho/rho_c) in each pixel.

    Pixels that no voxel of a slice covers get 0 from that slice. Returns (n_pix, n_pix) with axes (y, x).
    """

    def one(carry, slice_and_w):
        f, w = slice_and_w
        total = w @ f @ w.T  # (p, q) in (x, y) order
        cover = w.sum(axis=1)[:, None] * w.sum(axis=1)[None, :]
        mean = jnp.where(cover > 0, total / jnp.where(cover > 0, cover, 1.0), 0.0)
        return jnp.maximum(carry, mean), None

    n_pix = weights.shape[1]
    out, _ = jax.lax.scan(one, jnp.zeros((n_pix, n_pix), field.dtype), (jnp.moveaxis(field, -1, 0), weights))
    return out.T
