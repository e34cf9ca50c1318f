"""Tests of xcosmo.detect: sep detection on count-rate and overdensity maps.

Injected sources are projected beta-models (beta = 2/3) truncated in projection at R_t, integrated over 1-pixel cells
with 5x5 sub-pixels by the helper below, which never calls the code under test. The expected count rate of a source is
the sum of its injected image (exact by construction); the helper itself is checked against the analytic flux
``2 pi r_c^2 S0 [1 - (1 + (R_t / r_c)^2)^(-1/2)]``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy import units as u
from astropy.cosmology import units as cu

from xcosmo.detect import (
    DEFAULT_CR_THRESHOLD,
    DEFAULT_MIN_AREA,
    Detection,
    detect_mass,
    detect_sources,
    match_by_overlap,
    select,
)

CR_COLUMNS = ["id", "x", "y", "cr_05_1", "cr_1_2", "cr_05_2", "hr", "npix"]
MASS_COLUMNS = ["id", "x", "y", "mass", "npix"]


def beta_image(shape, xc, yc, rc, rt, s0=1.0, oversample=5):
    """Pixel-averaged surface brightness of S0 (1 + r^2/rc^2)^(-3/2) for r < rt (pixel units, pixel (j, i) centred on
    (y, x) = (j, i)); per-pixel flux since a pixel has unit area."""
    ny, nx = shape
    gx = (np.arange(nx * oversample) + 0.5) / oversample - 0.5
    gy = (np.arange(ny * oversample) + 0.5) / oversample - 0.5
    r2 = (gx[None, :] - xc) ** 2 + (gy[:, None] - yc) ** 2
    s = s0 * (1.0 + r2 / rc**2) ** -1.5 * (r2 < rt**2)
    return s.reshape(ny, oversample, nx, oversample).mean(axis=(1, 3))


def source(shape, xc, yc, rc, rt, cr):
    """Image of a source whose pixels sum exactly to ``cr`` (c/s); the source must lie wholly inside ``shape``."""
    img = beta_image(shape, xc, yc, rc, rt)
    return img * (cr / img.sum())


def analytic_flux(rc, rt, s0=1.0):
    """Flux of the truncated beta = 2/3 model within rt."""
    return 2.0 * math.pi * rc**2 * s0 * (1.0 - (1.0 + (rt / rc) ** 2) ** -0.5)


def split(img, hr):
    """Split a [0.5-2] keV image into ([0.5-1], [1-2]) keV images with hardness ratio ``hr``."""
    return img / (1.0 + hr), img * hr / (1.0 + hr)


# (x, y, CR c/s, r_c pix, R_t pix, HR): r_c = 0.1-0.2 R500 and R_t = 3 R500 for R500 = 0.5-1 Mpc at z = 0.1
# (1 arcmin ~ 0.11 Mpc) to z = 0.5 (1 arcmin ~ 0.37 Mpc). The first source is the hardest case for the threshold: at
# the cut, R500 = 1 Mpc, r_c = 0.2 R500, z = 0.1. Truncation discs are separated by >= 2 pixels.
SOURCES = [
    (35.3, 35.6, 0.021, 1.82, 27.3, 0.5),
    (100.7, 36.2, 1.0, 1.36, 27.3, 0.8),
    (170.4, 34.9, 0.3, 0.91, 20.5, 0.3),
    (215.6, 35.5, 0.05, 0.68, 13.6, 0.6),
    (35.5, 110.2, 0.1, 0.74, 11.1, 1.0),
    (90.1, 110.8, 0.01, 0.45, 13.6, 0.4),
    (150.8, 110.4, 0.03, 0.14, 4.1, 0.9),
    (200.2, 109.7, 0.5, 0.54, 8.1, 0.7),
    (40.6, 180.3, 0.2, 0.41, 6.1, 0.35),
    (110.4, 180.6, 0.015, 0.28, 5.6, 0.45),
    (180.9, 179.5, 0.025, 1.02, 20.5, 0.55),
]
SHAPE = (240, 240)


@pytest.fixture(scope="module")
def injected():
    soft = np.zeros(SHAPE)
    hard = np.zeros(SHAPE)
    for x, y, cr, rc, rt, hr in SOURCES:
        s, h = split(source(SHAPE, x, y, rc, rt, cr), hr)
        soft += s
        hard += h
    table, seg = detect_sources(soft, hard)
    return soft, hard, table, seg


def test_image_helper_matches_analytic_flux():
    for rc, rt in [(0.91, 13.6), (1.36, 27.3), (1.82, 27.3)]:
        img = beta_image((80, 80), 40.3, 39.6, rc, rt)
        assert img.sum() == pytest.approx(analytic_flux(rc, rt), rel=0.01)


def test_injected_sources_found_and_measured(injected):
    soft, hard, table, seg = injected
    assert table.colnames == CR_COLUMNS
    assert len(table) >= sum(cr > 0.02 for _, _, cr, *_ in SOURCES)
    xs, ys = np.asarray(table["x"]), np.asarray(table["y"])
    for x, y, cr, rc, rt, hr in SOURCES:
        if cr <= 0.02:
            continue
        k = np.argmin(np.hypot(xs - x, ys - y))
        row = table[k]
        assert math.hypot(row["x"] - x, row["y"] - y) < 0.5, (x, y, cr)
        assert row["cr_05_2"] == pytest.approx(cr, rel=0.05), (x, y, cr)
        assert row["hr"] == pytest.approx(hr, rel=0.05), (x, y, cr)
        # One detection per source: no other detection within the source's truncation radius.
        assert np.count_nonzero(np.hypot(xs - x, ys - y) < rt) == 1, (x, y, cr)


def test_table_agrees_with_segmentation(injected):
    soft, hard, table, seg = injected
    assert seg.dtype == np.int32 and seg.shape == SHAPE
    assert seg.min() == 0 and seg.max() == len(table)
    assert list(table["id"]) == list(range(1, len(table) + 1))
    for row in table:
        mask = seg == row["id"]
        assert row["npix"] == np.count_nonzero(mask)
        assert row["cr_05_1"] == pytest.approx(soft[mask].sum(), rel=1e-10)
        assert row["cr_1_2"] == pytest.approx(hard[mask].sum(), rel=1e-10)
        assert row["cr_05_2"] == pytest.approx(row["cr_05_1"] + row["cr_1_2"], rel=1e-10)
        assert row["npix"] >= DEFAULT_MIN_AREA
        jj, ii = np.nonzero(mask)
        w = (soft + hard)[mask]
        assert row["x"] == pytest.approx(np.sum(w * ii) / w.sum(), abs=1e-9)
        assert row["y"] == pytest.approx(np.sum(w * jj) / w.sum(), abs=1e-9)
        assert (soft + hard)[mask].min() > DEFAULT_CR_THRESHOLD


def test_units_and_fits_round_trip(injected, tmp_path):
    _, _, table, _ = injected
    assert table["x"].unit == u.pix and table["y"].unit == u.pix
    for name in ("cr_05_1", "cr_1_2", "cr_05_2"):
        assert table[name].unit == u.ct / u.s
    from astropy.table import Table

    path = tmp_path / "cat.fits"
    table.write(path)
    back = Table.read(path)
    assert back["cr_05_2"].unit == u.ct / u.s
    np.testing.assert_allclose(back["cr_05_2"], table["cr_05_2"])


def test_select_applies_cut(injected):
    _, _, table, _ = injected
    sel = select(table, 0.02)
    assert np.all(np.asarray(sel["cr_05_2"]) > 0.02)
    assert len(sel) == sum(cr > 0.02 for _, _, cr, *_ in SOURCES)
    with pytest.raises(ValueError, match="cr_min"):
        select(table, -1.0)


def test_blended_pair_is_deblended():
    shape = (80, 80)
    xa, xb, y, rc, rt = 36.2, 44.2, 40.3, 0.91, 13.6
    a = source(shape, xa, y, rc, rt, 0.3)
    b = source(shape, xb, y, rc, rt, 0.1)
    # The two truncation discs overlap: one isophote at the default threshold contains both.
    assert xb - xa < 2 * rt
    table, seg = detect_sources(*split(a + b, 0.6))
    assert len(table) == 2
    order = np.argsort(np.asarray(table["x"]))
    rec_a, rec_b = np.asarray(table["cr_05_2"])[order]
    assert rec_a + rec_b == pytest.approx(0.4, rel=0.05)
    # Any sensible split errs by about the flux each source throws across the perpendicular bisector; bound each
    # recovered CR by the sum of both exchanges (computed from the injected images) plus 5%.
    cols = np.arange(shape[1])
    mid = 0.5 * (xa + xb)
    leak_a = a[:, cols > mid].sum()
    leak_b = b[:, cols < mid].sum()
    assert 0.01 < leak_a + leak_b < 0.03  # the wings really overlap, and the bound is far below the CRs
    assert abs(rec_a - 0.3) <= leak_a + leak_b + 0.05 * 0.3
    assert abs(rec_b - 0.1) <= leak_a + leak_b + 0.05 * 0.1
    # Without deblending the pair is a single source holding the total.
    merged, _ = detect_sources(*split(a + b, 0.6), Detection(deblend_cont=1.0))
    assert len(merged) == 1
    assert merged["cr_05_2"][0] == pytest.approx(0.4, rel=0.05)


@pytest.mark.parametrize("xc", [1.2, -3.4])
def test_source_at_edge(xc):
    shape = (60, 60)
    pad = 30
    rc, rt, cr, yc = 1.36, 20.5, 0.2, 30.4
    # Inject on a canvas padded by 30 pixels on the left, then crop: the flux inside the map is the cropped sum.
    canvas = source((shape[0], shape[1] + pad), xc + pad, yc, rc, rt, cr)
    img = canvas[:, pad:]
    inside = img.sum()
    assert 0.05 * cr < inside < 0.9 * cr  # really cut by the edge
    table, _ = detect_sources(*split(img, 0.5))
    assert len(table) == 1
    assert table["cr_05_2"][0] == pytest.approx(inside, rel=0.05)
    assert table["hr"][0] == pytest.approx(0.5, rel=0.05)
    # The centroid is the flux-weighted one of the part inside the map, not the centre of the clipped mask.
    jj, ii = np.indices(img.shape)
    assert table["x"][0] == pytest.approx(np.sum(img * ii) / inside, abs=0.3)
    assert table["y"][0] == pytest.approx(yc, abs=0.3)


def test_empty_and_zero_maps():
    zero = np.zeros((50, 40))
    table, seg = detect_sources(zero, zero)
    assert len(table) == 0 and table.colnames == CR_COLUMNS
    assert seg.shape == (50, 40) and not seg.any()
    faint = np.full((50, 40), 0.4 * DEFAULT_CR_THRESHOLD)
    table, _ = detect_sources(faint, faint)
    assert len(table) == 0
    table, seg = detect_mass(np.full((30, 30), 100.0), np.ones((30, 30)))
    assert len(table) == 0 and table.colnames == MASS_COLUMNS


def test_map_larger_than_seps_default_pixel_buffer():
    # 560 x 560 = 313600 pixels above threshold exceed sep's default buffer of 300000 pixels.
    ones = np.full((560, 560), 1e-4)
    table, seg = detect_sources(ones, 0.5 * ones)
    assert len(table) == 1 and table["npix"][0] == ones.size
    assert table["cr_05_2"][0] == pytest.approx(1.5e-4 * ones.size, rel=1e-9)
    assert table["hr"][0] == pytest.approx(0.5, rel=1e-9)


def test_hr_nan_when_soft_band_empty():
    img = source((40, 40), 20.2, 19.7, 0.9, 10.0, 0.1)
    table, _ = detect_sources(np.zeros_like(img), img)
    assert len(table) == 1
    assert np.isnan(table["hr"][0])
    assert table["cr_05_2"][0] == pytest.approx(0.1, rel=0.05)


def test_detect_mass_sums_mass_over_pixels_above_200():
    ny, nx = 70, 90
    yy, xx = np.mgrid[0:ny, 0:nx]
    centres = [(22.3, 30.6, 1500.0, 3.0), (65.7, 40.2, 600.0, 2.0)]  # (x, y, peak rho/rho_c, Gaussian sigma pix)
    delta = np.full((ny, nx), 40.0)
    for x, y, peak, sig in centres:
        delta += peak * np.exp(-0.5 * ((xx - x) ** 2 + (yy - y) ** 2) / sig**2)
    rng = np.random.default_rng(1)
    mass = delta * 1e11 * rng.uniform(0.5, 1.5, size=delta.shape)  # Msun/h per pixel, not proportional to delta
    table, seg = detect_mass(delta, mass)
    assert table.colnames == MASS_COLUMNS
    assert table["mass"].unit == u.Msun / cu.littleh
    assert len(table) == 2
    xs, ys = np.asarray(table["x"]), np.asarray(table["y"])
    for x, y, peak, sig in centres:
        k = np.argmin(np.hypot(xs - x, ys - y))
        # The blobs are 43 pixels apart; pixels above 200 near each one are its mask.
        near = (delta > 200.0) & (np.hypot(xx - x, yy - y) < 20.0)
        assert table["npix"][k] == np.count_nonzero(near)
        assert table["mass"][k] == pytest.approx(mass[near].sum(), rel=1e-10)
        assert math.hypot(xs[k] - x, ys[k] - y) < 0.5


def test_detect_mass_keeps_every_pixel_above_the_threshold_in_some_halo():
    """A clumpy field (many small bumps on the wings of big ones, where sep's cleaning would act): with the default
    settings the masks cover exactly the pixels above 200 and the haloes' masses add up to theirs."""
    rng = np.random.default_rng(3)
    ny, nx = 120, 120
    yy, xx = np.mgrid[0:ny, 0:nx]
    delta = np.full((ny, nx), 20.0)
    for _ in range(60):
        x, y = rng.uniform(0, nx), rng.uniform(0, ny)
        peak, sig = 10 ** rng.uniform(2.0, 3.5), rng.uniform(0.7, 4.0)
        delta += peak * np.exp(-0.5 * ((xx - x) ** 2 + (yy - y) ** 2) / sig**2)
    mass = np.where(delta >= 200.0, delta * 1e11, 0.0)
    table, seg = detect_mass(delta, mass)
    np.testing.assert_array_equal(seg > 0, delta >= 200.0)
    assert table["mass"].value.sum() == pytest.approx(mass.sum(), rel=1e-12)
    cleaned, seg_cleaned = detect_mass(delta, mass, Detection(threshold=200.0, min_area=1, clean=True))
    assert (seg_cleaned > 0).sum() < (seg > 0).sum()  # why the default does not clean


def test_match_by_overlap():
    a = np.zeros((6, 8), dtype=np.int32)
    b = np.zeros((6, 8), dtype=np.int32)
    a[0:2, 0:2] = 1  # overlaps b's 1 only
    a[3:6, 0:4] = 2  # overlaps b's 2 (4 pixels) and b's 3 (6 pixels): picks 3
    a[0:2, 5:8] = 3  # overlaps nothing
    a[4:6, 6:8] = 5  # label 4 absent; 5 ties between b's 4 and b's 5 (2 pixels each): picks 4
    b[0:3, 0:3] = 1
    b[3:5, 0:2] = 2
    b[3:6, 2:4] = 3
    b[4:6, 6] = 5
    b[4:6, 7] = 4
    result = match_by_overlap(a, b)
    assert result.tolist() == [1, 3, 0, 0, 4]
    assert match_by_overlap(b, a).tolist() == [1, 2, 2, 5, 5]
    assert match_by_overlap(np.zeros((3, 3), int), b[:3, :3]).tolist() == []
    with pytest.raises(ValueError, match="seg_b"):
        match_by_overlap(a, b[:, :4])
    with pytest.raises(ValueError, match="seg_a"):
        match_by_overlap(a.astype(float), b)


def test_big_endian_float32_input_works():
    img = source((60, 60), 30.3, 29.8, 0.91, 13.6, 0.1)
    soft, hard = split(img, 0.5)
    native, seg_native = detect_sources(soft.astype(np.float32), hard.astype(np.float32))
    big, seg_big = detect_sources(soft.astype(">f4"), hard.astype(">f4"))
    assert len(big) == 1
    np.testing.assert_array_equal(seg_big, seg_native)
    assert big["cr_05_2"][0] == pytest.approx(native["cr_05_2"][0], rel=1e-12)
    assert big["cr_05_2"][0] == pytest.approx(0.1, rel=0.05)


def test_jax_array_input_works():
    jnp = pytest.importorskip("jax.numpy")
    img = source((40, 40), 20.3, 19.8, 0.91, 10.0, 0.1)
    table, _ = detect_sources(jnp.asarray(img / 2, dtype=jnp.float32), jnp.asarray(img / 2, dtype=jnp.float32))
    assert len(table) == 1 and table["cr_05_2"][0] == pytest.approx(0.1, rel=1e-3)


def test_filter_kernel_is_used_and_settings_hashable():
    kernel = [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    det = Detection(filter_kernel=kernel)
    assert det.filter_kernel == ((1.0, 2.0, 1.0), (2.0, 4.0, 2.0), (1.0, 2.0, 1.0))
    hash(det)
    img = source((40, 40), 20.3, 19.8, 0.91, 10.0, 0.1)
    table, _ = detect_sources(img / 2, img / 2, det)
    assert len(table) == 1 and table["cr_05_2"][0] == pytest.approx(0.1, rel=0.05)
    assert table.meta["FILTER"] is True


@pytest.mark.parametrize(
    "soft, hard, match",
    [
        (np.zeros(10), np.zeros(10), "cr_05_1 has shape \\(10,\\).*2-D"),
        (np.zeros((10, 10)), np.zeros((10, 9)), "cr_1_2.*shape"),
        (np.zeros((0, 10)), np.zeros((0, 10)), "cr_05_1.*empty"),
        (np.where(np.eye(10) > 0, np.nan, 0.0), np.zeros((10, 10)), "cr_05_1.*finite"),
        (np.zeros((10, 10)), np.where(np.eye(10) > 0, np.inf, 0.0), "cr_1_2.*finite"),
        (np.zeros((10, 10)), -np.eye(10), "cr_1_2 = a negative pixel -1.0 at y=0, x=0 is not allowed: pixels must be >= 0"),
        (np.full((10, 10), "a"), np.zeros((10, 10)), "cr_05_1"),
        (np.zeros((10, 10)), np.zeros((10, 10), dtype=complex), "cr_1_2.*complex"),
    ],
)
def test_bad_count_rate_maps(soft, hard, match):
    with pytest.raises(ValueError, match=match):
        detect_sources(soft, hard)


def test_bad_mass_maps():
    with pytest.raises(ValueError, match="overdensity.*negative"):
        detect_mass(-np.ones((5, 5)), np.ones((5, 5)))
    with pytest.raises(ValueError, match="mass.*shape"):
        detect_mass(np.ones((5, 5)), np.ones((5, 6)))
    with pytest.raises(ValueError, match="mass.*finite"):
        detect_mass(np.ones((5, 5)), np.full((5, 5), np.nan))
    with pytest.raises(TypeError, match="detection = 200.0 is not allowed: expected an xcosmo.detect.Detection"):
        detect_mass(np.ones((5, 5)), np.ones((5, 5)), detection=200.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"threshold": -1.0}, "threshold"),
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"min_area": 0}, "min_area"),
        ({"deblend_nthresh": 0}, "deblend_nthresh"),
        ({"deblend_nthresh": 2000}, "deblend_nthresh"),
        ({"deblend_cont": 1.5}, "deblend_cont"),
        ({"deblend_cont": -0.1}, "deblend_cont"),
        ({"filter_kernel": [[1, 1], [1, 1]]}, "filter_kernel"),
        ({"filter_kernel": [[1, -1, 1]]}, "filter_kernel"),
        ({"filter_kernel": [1, 2, 1]}, "filter_kernel"),
    ],
)
def test_bad_detection_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Detection(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"threshold": "1e-6"}, "threshold = '1e-6'"), ({"min_area": 2.5}, "min_area = 2.5"), ({"clean": "yes"}, "clean")],
)
def test_detection_settings_of_the_wrong_type(kwargs, match):
    with pytest.raises(TypeError, match=match):
        Detection(**kwargs)


def test_projected_haloes_sum_the_rates_of_each_halo_along_every_axis():
    """Two cubic haloes above 200 rho_c in an empty box, each with its own count rate per voxel: seen along any axis,
    each is one detection whose mass and rates are its own voxels' totals (computed here from the construction), and
    a faint sheet below the threshold in front of one adds its rate to that halo's mask only."""
    from xcosmo.detect import projected_haloes

    shape = (24, 20, 16)
    rho_c = np.zeros(shape)
    mass = np.zeros(shape)
    soft, hard = np.zeros(shape), np.zeros(shape)
    haloes = [((3, 3, 3), (4, 4, 4), 500.0, 1e12, 2e-4, 1e-4), ((15, 12, 9), (3, 3, 3), 300.0, 5e11, 1e-5, 3e-5)]
    for corner, size, delta, m_voxel, r_soft, r_hard in haloes:
        sl = tuple(slice(c, c + s) for c, s in zip(corner, size))
        rho_c[sl], mass[sl], soft[sl], hard[sl] = delta, m_voxel, r_soft, r_hard
    expected = [(np.prod(size) * m, np.prod(size) * rs, np.prod(size) * rh) for _, size, _, m, rs, rh in haloes]
    for axis in range(3):
        table = projected_haloes(rho_c, mass, {"cr_05_1": soft, "cr_1_2": hard}, axis)
        assert len(table) == 2
        got = sorted(zip(table["mass"].value, table["cr_05_1"].value, table["cr_1_2"].value), reverse=True)
        np.testing.assert_allclose(got, sorted(expected, reverse=True), rtol=1e-12)
        assert table["cr_05_1"].unit == u.ct / u.s
    # a sheet of 10 rho_c (below 200) covering the first halo's columns along axis 2, outside the halo itself
    sheet = np.zeros(shape)
    sheet[3:7, 3:7, 12] = 1e-6
    rho_sheet = rho_c.copy()
    rho_sheet[3:7, 3:7, 12] = 10.0
    table = projected_haloes(rho_sheet, mass, {"cr_05_1": soft + sheet}, 2)
    rates = sorted(table["cr_05_1"].value, reverse=True)
    np.testing.assert_allclose(rates, [expected[0][1] + 16e-6, expected[1][1]], rtol=1e-12)


@pytest.mark.parametrize(("field", "value", "match"), [
    ("axis", 3, "axis"),
    ("mass", np.zeros((4, 4, 5)), "mass has shape"),
    ("rates", {"cr": np.zeros((4, 4))}, "rates\\['cr'\\] has shape"),
    ("overdensity", np.zeros((4, 4)), "overdensity"),
])  # fmt: skip
def test_projected_haloes_refuses_bad_input_naming_the_field(field, value, match):
    from xcosmo.detect import projected_haloes

    args = {"overdensity": np.zeros((4, 4, 4)), "mass": np.zeros((4, 4, 4)), "rates": {}, "axis": 0}
    args[field] = value
    with pytest.raises(ValueError, match=match):
        projected_haloes(**args)
