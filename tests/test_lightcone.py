"""Light-cone geometry against astropy.cosmology, box depths versus Omega_m (paper figure 4), footprint, and the
flux conservation of the slice-to-map projection."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM, z_at_value
import astropy.units as u

from xcosmo.cosmology import make_cosmology
from xcosmo.lightcone import LightCone, LightConeSpec, overlap_weights, project_slices, project_slices_max

PAPER = LightConeSpec()  # 20 deg^2, z = 0.1-0.5, 12 boxes, 0.39 Mpc/h
SMALL = LightConeSpec(area_deg2=1.0, n_boxes=4, voxel_mpc_h=2.0, pixel_arcmin=2.0)


def _astropy(omega_m, h=0.6766):
    # H0 = 100 km/s/Mpc gives distances in Mpc/h; no radiation, as in xcosmo and jaxpm
    return FlatLambdaCDM(H0=100.0, Om0=omega_m, Tcmb0=0.0)


@pytest.mark.parametrize("omega_m", [0.1, 0.3, 0.5])
def test_distances_and_slice_redshifts_match_astropy(omega_m):
    lc = LightCone.build(make_cosmology(omega_m, 0.8), PAPER)
    ref = _astropy(omega_m)
    for got, z in ((lc.chi_min, 0.1), (lc.chi_max, 0.5)):
        want = ref.comoving_distance(z).to_value(u.Mpc)
        assert got == pytest.approx(want, rel=1e-3)
    for b, j in [(0, 0), (5, 37), (11, int(lc.slice_mask[11].sum()) - 1)]:
        z = z_at_value(ref.comoving_distance, lc.slice_chi[b, j] * u.Mpc).value
        assert lc.slice_z[b, j] == pytest.approx(z, rel=1e-3)
    # every box sits at the redshift of its central distance
    mid = lc.slice_chi[:, 0] - 0.5 * lc.box.voxel_mpc_h + 0.5 * lc.box_depth_mpc_h
    z_mid = [z_at_value(ref.comoving_distance, c * u.Mpc).value for c in mid]
    np.testing.assert_allclose(lc.box_z, z_mid, rtol=1e-3)


def test_boxes_fill_the_line_of_sight_and_depth_changes_with_omega_m():
    depths = []
    for omega_m in (0.1, 0.3, 0.5):
        lc = LightCone.build(make_cosmology(omega_m, 0.8), PAPER)
        ref = _astropy(omega_m)
        span = (ref.comoving_distance(0.5) - ref.comoving_distance(0.1)).to_value(u.Mpc)
        v = lc.box.voxel_mpc_h
        # 12 adjacent boxes of equal depth, at most one voxel per box longer than needed
        assert span <= 12 * lc.box_depth_mpc_h < span + 12 * v
        np.testing.assert_allclose(np.diff(lc.slice_chi, axis=1), v)
        np.testing.assert_allclose(lc.slice_chi[1:, 0] - lc.slice_chi[:-1, -1], v)  # adjacent, no gap or overlap
        # slices beyond z_max are masked, all others kept
        assert np.all((lc.slice_chi <= lc.chi_max) == (lc.slice_mask == 1))
        assert lc.slice_mask[:-1].all()
        depths.append(lc.box_depth_mpc_h)
    # paper figure 4: a denser universe is shallower in comoving distance, so its boxes are shorter
    assert depths[0] > depths[1] > depths[2]
    assert depths[0] / depths[2] == pytest.approx(
        ((_astropy(0.1).comoving_distance(0.5) - _astropy(0.1).comoving_distance(0.1))
         / (_astropy(0.5).comoving_distance(0.5) - _astropy(0.5).comoving_distance(0.1))).value,
        rel=0.01,
    )


def test_footprint_is_20_deg2_at_z_max():
    lc = LightCone.build(make_cosmology(0.3, 0.8), PAPER)
    theta = math.radians(math.sqrt(20.0))
    side = lc.box.box_size[0]
    # the transverse side covers the footprint at the far end, within one voxel
    assert theta * lc.chi_max <= side < theta * lc.chi_max + lc.box.voxel_mpc_h
    assert lc.box.mesh_shape[0] == lc.box.mesh_shape[1]
    # the maps: n_pix pixels of about 1 arcmin, solid angle 20 deg^2 by the WCS's own pixel area
    assert lc.pixel_arcmin == pytest.approx(1.0, rel=0.01)
    wcs = lc.sky_wcs((35.0, -4.5))
    assert wcs.proj_plane_pixel_area().to_value(u.deg**2) * lc.n_pix**2 == pytest.approx(20.0, rel=1e-6)
    # paper: ~1e9 particles for ten light cones
    assert 1e8 < lc.n_particles < 3e8


def _inside_fraction_independent(lc, b):
    """Fraction of each voxel column inside the footprint, from interval arithmetic in Mpc/h at each slice."""
    v, n = lc.box.voxel_mpc_h, lc.box.mesh_shape[0]
    lo = (np.arange(n) - n / 2) * v
    half = math.radians(lc.spec.side_arcmin / 60.0) / 2.0 * lc.slice_chi[b][:, None]  # (n_depth, 1) Mpc/h
    inside = np.clip(np.minimum(lo + v, half) - np.maximum(lo, -half), 0.0, v) / v  # (n_depth, n_side)
    return np.einsum("jx,jy->xyj", inside, inside) * lc.slice_mask[b]


@pytest.mark.parametrize("b", [0, 3])
def test_projection_conserves_flux_inside_the_footprint(b):
    lc = LightCone.build(make_cosmology(0.3, 0.8), SMALL)
    rng = np.random.default_rng(b)
    field = rng.lognormal(size=lc.box.mesh_shape).astype(np.float32)
    w = jnp.asarray(lc.weights(b) * lc.slice_mask[b][:, None, None], jnp.float32)
    image = np.asarray(project_slices(jnp.asarray(field), w), np.float64)
    expected = (field * _inside_fraction_independent(lc, b)).sum()
    assert image.sum() == pytest.approx(expected, rel=1e-4)
    np.testing.assert_allclose(lc.footprint_fraction(b), _inside_fraction_independent(lc, b), atol=1e-12)
    # voxels wholly outside the footprint contribute nothing; wholly inside, everything
    frac = _inside_fraction_independent(lc, b)
    outside = np.where(frac == 0, field, 0.0).astype(np.float32)
    assert np.asarray(project_slices(jnp.asarray(outside), w)).sum() == 0.0
    inside = np.where(frac == 1, field, 0.0).astype(np.float32)
    assert np.asarray(project_slices(jnp.asarray(inside), w), np.float64).sum() == pytest.approx(inside.sum(), rel=1e-5)


def test_overlap_weights_of_a_voxel_matching_a_pixel():
    # a voxel exactly one pixel wide at chi lands in one pixel; at 2 chi it covers half a pixel
    chi = 1000.0
    pixel_rad = 2.0 / chi
    side_arcmin = 4 * math.degrees(pixel_rad) * 60
    w = overlap_weights(np.array([chi, 2 * chi]), 4, 2.0, side_arcmin, 4)
    np.testing.assert_allclose(w[0], np.eye(4), atol=1e-12)
    np.testing.assert_allclose(w[1].sum(axis=0), 1.0)  # every voxel inside
    np.testing.assert_allclose(w[1].sum(axis=1), [0.0, 2.0, 2.0, 0.0], atol=1e-12)  # squeezed into the two central pixels


def test_maximum_projection_of_a_constant_is_the_constant():
    lc = LightCone.build(make_cosmology(0.3, 0.8), SMALL)
    w = jnp.asarray(lc.weights(2), jnp.float32)
    field = jnp.full(lc.box.mesh_shape, 3.5, jnp.float32).at[1, 2, 5].set(50.0)
    image = np.asarray(project_slices_max(field, w))
    assert image.min() == pytest.approx(3.5, rel=1e-6)
    assert 3.5 < image.max() < 50.0  # the peak voxel is averaged over the pixel it shares


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"z_min": 0.5, "z_max": 0.5}, "z_min"),
        ({"z_min": 0.6, "z_max": 0.5}, "z_min"),
        ({"area_deg2": -1.0}, "area_deg2"),
        ({"area_deg2": float("nan")}, "area_deg2"),
        ({"n_boxes": 0}, "n_boxes"),
        ({"voxel_mpc_h": 0.0}, "voxel_mpc_h"),
        ({"pixel_arcmin": -2.0}, "pixel_arcmin"),
    ],
)
def test_bad_spec(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LightConeSpec(**kwargs)
