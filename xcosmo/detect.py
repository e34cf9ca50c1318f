"""Source detection on projected maps with sep (Barbary 2016; SExtractor, Bertin & Arnouts 1996), paper sections 2.3
and 4.2.

Maps are 2-D arrays on a regular flat-sky grid of about 1 arcmin pixels, axes ``(y, x)`` as FITS and sep expect; pixel
``(j, i)`` covers ``x in [i - 0.5, i + 0.5]``, ``y in [j - 0.5, j + 0.5]`` (0-based pixel coordinates, pix).

Clusters (paper 2.3): sep runs on the [0.5-2] keV count-rate map (the sum of the [0.5-1] and [1-2] keV maps, counts/s
per pixel, pn+MOS1+MOS2). The maps hold no Poisson noise, no background and no AGN, so the detection threshold is an
*absolute* surface brightness (sep with ``err=None``), not a multiple of a noise level. Each source's count rate in each
band is the sum of that band's map over the source's segmentation mask; the flux cut CR_[0.5-2] > 0.02 c/s is applied
afterwards by the caller (:func:`select`).

Masses (paper 4.2): sep runs on a projected rho_DM / rho_c map with the threshold 200 (an M200c-like, non-spherical
mass including line-of-sight contaminants) and a column-mass map (Msun/h per pixel) is summed over each mask.

Choice of the default threshold
-------------------------------
The mask sum is the source's count rate, so the threshold must sit far enough down the wings that a cluster at the
survey cut keeps almost all of its flux inside the mask. Model clusters as projected beta-models with beta = 2/3,

    S(r) = S0 (1 + r^2 / r_c^2)^(-3 beta + 1/2) = S0 (1 + x^2)^(-3/2),   x = r / r_c,

truncated in projection at R_t = 3 R500 (x_t = R_t / r_c; a generous outer edge: observed profiles steepen beyond
R500, so real clusters put less flux at large radii than this model). The flux within x is
``2 pi r_c^2 S0 [1 - (1 + x^2)^(-1/2)]``; the isophote ``S = t`` lies at ``x_i`` with
``(1 + x_i^2)^(-1/2) = (t / S0)^(1/3)``, so for ``x_i < x_t`` the mask holds the fraction of the (truncated) flux

    f(t) = [1 - (t / S0)^(1/3)] / [1 - (1 + x_t^2)^(-1/2)].

Because of the cube root, beta = 2/3 wings are heavy: capturing 95% of an untruncated profile needs
``t / S0 = 0.05^3 ~ 1e-4``; with the truncation at x_t = 15-30 it needs ``t / S0 ~ 1e-3``. For a cluster at the cut
(CR = 0.02 c/s) with R500 = 0.5-1 Mpc, r_c = 0.1-0.2 R500, at z = 0.1 (1 arcmin ~ 0.11 Mpc) to z = 0.5 (1 arcmin ~ 0.37
Mpc), integrating the profile over 1 arcmin pixels (5x5 sub-pixels) gives the threshold at which the pixels above it
hold 95% of the flux:

    ===================================  =========  =========  ==============  ===============
    case (r_c in units of R500)          r_c (pix)  R_t (pix)  t_95 (c/s/pix)  f(1e-6 c/s/pix)
    ===================================  =========  =========  ==============  ===============
    z = 0.1, R500 = 1 Mpc, r_c = 0.2     1.8        27         1.5e-6          0.965
    z = 0.1, R500 = 1 Mpc, r_c = 0.1     0.9        27         2.2e-6          0.969
    z = 0.1, R500 = 0.5 Mpc, r_c = 0.15  0.7        14         6.7e-6          0.998
    z = 0.3, R500 = 1 Mpc, r_c = 0.15    0.6        11         1.0e-5          0.999
    z = 0.5, R500 = 0.5-1 Mpc, any r_c   0.1-0.5    4-8        2e-5 - 1e-4     >= 0.999
    ===================================  =========  =========  ==============  ===============

(the first row agrees with f(t) above: S0 = 1.03e-3 c/s/pix gives f = 0.901 / 0.934 = 0.965).

The most extended case (large, nearby, wide core) sets the requirement, t <= 1.5e-6 c/s/pixel; it is also the least
realistic one at the cut (a 1 Mpc R500 cluster at z = 0.1 is far brighter than 0.02 c/s, and brighter clusters keep a
larger fraction: f rises with S0). :data:`DEFAULT_CR_THRESHOLD` = 1e-6 c/s/pixel leaves a factor 1.5 of margin and
recovers >= 96.5% of every case above (>= 98% for R500 <= 0.75 Mpc). Lowering it further makes neighbouring clusters
and filaments merge into one isophote more often (deblending then has to separate them); raise it with
``Detection(threshold=...)`` for crowded maps, at the cost of flux in the wings.

:data:`DEFAULT_MIN_AREA` = 5 pixels: the most compact cluster at the cut (z = 0.5, r_c = 0.14 pix, R_t = 4 pix) still
has ~60 pixels above 1e-6 c/s/pixel, so the minimum area never removes a real cluster; it only rejects isolated
one- to four-pixel bumps (particle shot noise of the painted maps).

No filtering by default (``filter_kernel=None``): the maps are noiseless, smoothing would not help detection, would blur
close pairs together before deblending and would make the threshold refer to a smoothed map instead of the count rate
per pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.cosmology import units as cu
from astropy.table import Table

from .checks import check_bool, check_integer, check_number, check_shape, check_type, described, fail, require
from .constants import DETECTION_OVERDENSITY

__all__ = [
    "DEFAULT_CR_THRESHOLD",
    "DEFAULT_MIN_AREA",
    "DEFAULT_DETECTION",
    "DEFAULT_MASS_DETECTION",
    "Detection",
    "detect_sources",
    "detect_mass",
    "projected_haloes",
    "match_by_overlap",
    "select",
]

DEFAULT_CR_THRESHOLD = 1e-6
"""Absolute detection threshold on the [0.5-2] keV count-rate map, counts/s per 1 arcmin pixel (module docstring)."""

DEFAULT_MIN_AREA = 5
"""Minimum number of connected pixels above the threshold for a detection (pixels)."""



@dataclass(frozen=True)
class Detection:
    """Settings of a sep detection run.

    Attributes
    ----------
    threshold : absolute detection threshold in the units of the detection map (counts/s per pixel for count-rate
        maps, default :data:`DEFAULT_CR_THRESHOLD`; dimensionless rho/rho_c for mass maps, :data:`xcosmo.constants.DETECTION_OVERDENSITY`);
        a pixel belongs to a source when its value is above it. Must be finite and > 0.
    min_area : minimum number of connected pixels above ``threshold`` (pixels, >= 1).
    deblend_nthresh : number of deblending sub-thresholds between ``threshold`` and the peak (SExtractor
        DEBLEND_NTHRESH, 1-1024; 1 disables deblending).
    deblend_cont : minimum flux fraction of a branch to be deblended as a separate source (SExtractor DEBLEND_MINCONT,
        0-1; 1 disables deblending).
    filter_kernel : ``None`` (default, no filtering) or a 2-D kernel with odd sides, finite non-negative entries and a
        positive sum, convolved with the map before thresholding (sep ``filter_type='conv'``). Stored as a tuple of
        tuples so the settings stay hashable.
    clean : whether sep merges spurious detections explained by the wings of a brighter neighbour (SExtractor CLEAN,
        with CLEAN_PARAM = 1).
    """

    threshold: float = DEFAULT_CR_THRESHOLD
    min_area: int = DEFAULT_MIN_AREA
    deblend_nthresh: int = 32
    deblend_cont: float = 0.005
    filter_kernel: tuple[tuple[float, ...], ...] | None = None
    clean: bool = True

    def __post_init__(self):
        check_number("threshold", self.threshold, 0.0, math.inf, open=True, unit="(absolute, in map units)")
        check_integer("min_area", self.min_area, 1)
        check_integer("deblend_nthresh", self.deblend_nthresh, 1, 1025)
        check_number("deblend_cont", self.deblend_cont, 0.0, 1.0)
        check_bool("clean", self.clean)
        if self.filter_kernel is not None:
            try:
                kernel = np.asarray(self.filter_kernel, dtype=np.float64)
            except (TypeError, ValueError):
                msg = f"filter_kernel = {self.filter_kernel!r}: must be None or a 2-D array of numbers"
                raise ValueError(msg) from None
            require(kernel.ndim == 2 and kernel.shape[0] % 2 == 1 and kernel.shape[1] % 2 == 1, "filter_kernel",
                    self.filter_kernel, "must be None or a 2-D array with odd sides")  # fmt: skip
            require(bool(np.all(np.isfinite(kernel) & (kernel >= 0))) and kernel.sum() > 0, "filter_kernel",
                    self.filter_kernel, "entries must be finite and >= 0 with a positive sum")  # fmt: skip
            object.__setattr__(self, "filter_kernel", tuple(tuple(float(v) for v in row) for row in kernel))
        object.__setattr__(self, "threshold", float(self.threshold))
        object.__setattr__(self, "deblend_cont", float(self.deblend_cont))
        object.__setattr__(self, "clean", bool(self.clean))


DEFAULT_DETECTION = Detection()
"""Default settings for count-rate maps: threshold :data:`DEFAULT_CR_THRESHOLD`, min_area :data:`DEFAULT_MIN_AREA`."""

DEFAULT_MASS_DETECTION = Detection(threshold=DETECTION_OVERDENSITY, min_area=1, clean=False)
"""Default settings for rho_DM / rho_c maps (paper 4.2): threshold 200, min_area 1 pixel, no cleaning: sep's segmentation
map drops the pixels of the detections it cleans (it does not hand them to the neighbour that explains them), which
would lose their mass; without cleaning every pixel above the threshold belongs to a halo."""


def _as_map(value, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Native-endian, C-contiguous float64 copy of a 2-D finite, non-negative map (what sep accepts)."""
    require(not np.iscomplexobj(value), name, described("a complex array"), "must hold real numbers")
    try:
        arr = np.ascontiguousarray(np.asarray(value), dtype=np.float64)
    except (TypeError, ValueError):
        fail(name, value, "must be a 2-D array of real numbers")
    check_shape(name, arr, (None, None), " (a 2-D map, y, x)" if shape is None else f" (the first map's shape {shape})")
    require(arr.size > 0, name, described(f"an empty map of shape {arr.shape}"), "the map must have pixels")
    if shape is not None:
        check_shape(name, arr, shape, " (the first map's shape)")
    finite = np.isfinite(arr)
    if not finite.all():
        j, i = np.argwhere(~finite)[0]
        fail(name, described(f"{np.count_nonzero(~finite)} non-finite pixels, first at y={j}, x={i}"), "pixels must be finite")
    if arr.min() < 0:
        j, i = np.unravel_index(np.argmin(arr), arr.shape)
        fail(name, described(f"a negative pixel {float(arr[j, i])!r} at y={j}, x={i}"), "pixels must be >= 0")
    return arr


def _segment(image: np.ndarray, detection: Detection) -> np.ndarray:
    """Run sep on ``image`` (float64, validated) and return an int32 segmentation with labels 1..n (0 = background)."""
    import sep

    kernel = None if detection.filter_kernel is None else np.asarray(detection.filter_kernel, dtype=np.float64)

    def extract():
        return sep.extract(
            image,
            detection.threshold,
            err=None,
            minarea=detection.min_area,
            filter_kernel=kernel,
            filter_type="conv",
            deblend_nthresh=detection.deblend_nthresh,
            deblend_cont=detection.deblend_cont,
            clean=detection.clean,
            segmentation_map=True,
        )

    try:
        try:
            _, seg = extract()
        except Exception as err:
            # sep's pixel buffer (a process-wide setting, 300000 pixels by default) must hold every pixel above the
            # threshold (plus a little working space); when a large map overflows it, enlarge it to twice the map
            # size (never shrink it) and retry once.
            if "pixel buffer full" not in str(err) or sep.get_extract_pixstack() >= 2 * image.size:
                raise
            sep.set_extract_pixstack(2 * int(image.size))
            _, seg = extract()
    except Exception as err:  # sep raises plain Exceptions carrying its C error message
        raise RuntimeError(
            f"sep.extract failed on a {image.shape} map with threshold {detection.threshold!r}: {err} "
            "(if deblending overflowed, raise the threshold or sep.set_sub_object_limit)"
        ) from err
    seg = np.asarray(seg)
    # Relabel to 1..n, keeping sep's order, in case an object owns no pixel (keeps "label k = row k - 1").
    present = np.unique(seg[seg > 0])
    if present.size and present[-1] != present.size:
        lut = np.zeros(int(present[-1]) + 1, dtype=np.int32)
        lut[present] = np.arange(1, present.size + 1, dtype=np.int32)
        seg = lut[seg]
    return np.ascontiguousarray(seg, dtype=np.int32)


def _mask_sums(seg: np.ndarray, n: int, *maps: np.ndarray) -> list[np.ndarray]:
    """Sum each map over each label 1..n of ``seg`` (float64, length n)."""
    flat = seg.ravel()
    return [np.bincount(flat, weights=m.ravel(), minlength=n + 1)[1 : n + 1] for m in maps]


def _base_table(seg: np.ndarray, weight: np.ndarray) -> tuple[Table, int]:
    """Table with id, x, y (weight-weighted centroids over each mask, pix) and npix; also returns n."""
    n = int(seg.max())
    yy, xx = np.indices(seg.shape, dtype=np.float64)
    wsum, wx, wy = _mask_sums(seg, n, weight, weight * xx, weight * yy)
    npix = np.bincount(seg.ravel(), minlength=n + 1)[1 : n + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(wsum > 0, wx / wsum, np.nan)
        y = np.where(wsum > 0, wy / wsum, np.nan)
    table = Table()
    table["id"] = np.arange(1, n + 1, dtype=np.int32)
    table["id"].description = "segmentation label (row index + 1)"
    table["x"] = x * u.pix
    table["x"].description = "weighted centroid over the mask, 0-based x pixel coordinate"
    table["y"] = y * u.pix
    table["y"].description = "weighted centroid over the mask, 0-based y pixel coordinate"
    table["npix"] = npix.astype(np.int64)
    table["npix"].description = "number of pixels in the segmentation mask"
    return table, n


def _meta(table: Table, detection: Detection) -> None:
    table.meta["THRESH"] = detection.threshold
    table.meta["MINAREA"] = detection.min_area
    table.meta["DBNTHR"] = detection.deblend_nthresh
    table.meta["DBCONT"] = detection.deblend_cont
    table.meta["FILTER"] = detection.filter_kernel is not None
    table.meta["CLEAN"] = detection.clean


def detect_sources(cr_05_1, cr_1_2, detection: Detection = DEFAULT_DETECTION) -> tuple[Table, np.ndarray]:
    """Detect sources on the [0.5-2] keV count-rate map and measure their count rates (paper 2.3).

    sep runs on ``cr_05_1 + cr_1_2`` with the absolute threshold ``detection.threshold`` (counts/s per pixel); each
    band's map is then summed over each source's segmentation mask.

    Parameters
    ----------
    cr_05_1, cr_1_2 : 2-D arrays (y, x) of the same shape, [0.5-1] and [1-2] keV count rates, counts/s per pixel
        (pn+MOS1+MOS2); finite and >= 0. Any dtype or byte order (FITS big-endian is fine), numpy or JAX.
    detection : :class:`Detection` settings.

    Returns
    -------
    table : `astropy.table.Table`, one row per source, in sep's order, with columns
        ``id`` (segmentation label = row + 1), ``x``, ``y`` (count-rate-weighted centroid over the mask, 0-based, pix),
        ``cr_05_1``, ``cr_1_2``, ``cr_05_2`` (counts/s summed over the mask), ``hr`` (= cr_1_2 / cr_05_1,
        dimensionless, nan where cr_05_1 = 0), ``npix`` (pixels in the mask). Meta: the detection settings.
        Empty (zero rows, same columns) when nothing is above the threshold.
    segmentation : int32 array of the maps' shape, 0 = background, k = the source in row k - 1.
    """
    check_type("detection", detection, Detection, "an xcosmo.detect.Detection")
    soft = _as_map(cr_05_1, "cr_05_1")
    hard = _as_map(cr_1_2, "cr_1_2", soft.shape)
    total = soft + hard
    seg = _segment(total, detection)
    table, n = _base_table(seg, total)
    s, h, t = _mask_sums(seg, n, soft, hard, total)
    rate = u.ct / u.s
    with np.errstate(invalid="ignore", divide="ignore"):
        hr = np.where(s > 0, h / s, np.nan)
    table.add_column(s * rate, name="cr_05_1", index=3)
    table.add_column(h * rate, name="cr_1_2", index=4)
    table.add_column(t * rate, name="cr_05_2", index=5)
    table.add_column(hr * u.dimensionless_unscaled, name="hr", index=6)
    table["cr_05_1"].description = "[0.5-1] keV count rate summed over the mask (pn+MOS1+MOS2)"
    table["cr_1_2"].description = "[1-2] keV count rate summed over the mask (pn+MOS1+MOS2)"
    table["cr_05_2"].description = "[0.5-2] keV count rate summed over the mask (pn+MOS1+MOS2)"
    table["hr"].description = "hardness ratio CR[1-2] / CR[0.5-1]"
    _meta(table, detection)
    return table, seg


def detect_mass(overdensity, mass, detection: Detection = DEFAULT_MASS_DETECTION) -> tuple[Table, np.ndarray]:
    """Detect haloes on a projected rho_DM / rho_c map and integrate their mass (paper 4.2).

    With the threshold 200 the mask mass approximates M200c, without the spherical assumption and including any
    contaminants along the line of sight.

    Parameters
    ----------
    overdensity : 2-D array (y, x), rho_DM / rho_c (dimensionless), finite and >= 0; the map sep runs on.
    mass : 2-D array of the same shape, mass per pixel in Msun/h (the column to integrate), finite and >= 0.
    detection : :class:`Detection` settings; default threshold 200, min_area 1.

    Returns
    -------
    table : `astropy.table.Table` with columns ``id`` (segmentation label = row + 1), ``x``, ``y`` (mass-weighted
        centroid over the mask, 0-based, pix), ``mass`` (Msun/h summed over the mask), ``npix`` (pixels in the mask).
    segmentation : int32 array of the maps' shape, 0 = background, k = the halo in row k - 1.
    """
    check_type("detection", detection, Detection, "an xcosmo.detect.Detection")
    delta = _as_map(overdensity, "overdensity")
    column = _as_map(mass, "mass", delta.shape)
    seg = _segment(delta, detection)
    table, n = _base_table(seg, column)
    (m,) = _mask_sums(seg, n, column)
    table.add_column(m * (u.Msun / cu.littleh), name="mass", index=3)
    table["mass"].description = "mass summed over the mask"
    _meta(table, detection)
    return table, seg


def projected_haloes(overdensity, mass, rates: dict, axis: int, detection: Detection = DEFAULT_MASS_DETECTION) -> Table:
    """The haloes of one periodic box seen along ``axis`` (paper 4.2), with the count rates of their masks.

    The 3-D fields are projected along ``axis``: rho_DM / rho_c by its maximum along the line of sight (the map
    :func:`detect_mass` runs on, so a pixel is in a halo when some voxel behind it is above the threshold), the mass
    and every count-rate cube by their sums; each halo's count rates are the projected rates summed over its mask.

    Parameters
    ----------
    overdensity : 3-D array, rho_DM / rho_c per voxel.
    mass : 3-D array of the same shape, Msun/h per voxel (the voxels that count towards a halo's mass, e.g. those
        above the threshold; zero elsewhere).
    rates : ``{column name: 3-D array}``, counts/s per voxel (e.g. the [0.5-1] and [1-2] keV bands).
    axis : 0, 1 or 2, the line of sight.
    detection : :class:`Detection` settings of :func:`detect_mass`.

    Returns
    -------
    The :func:`detect_mass` table with one more column per entry of ``rates`` (counts/s summed over the mask).
    """
    axis = check_integer("axis", axis, 0, 3)
    delta = np.asarray(overdensity)
    require(delta.ndim == 3, "overdensity", described(f"an array of shape {delta.shape}"), "must be a 3-D box")
    check_shape("mass", np.asarray(mass), delta.shape)
    for name, cube in rates.items():
        check_shape(f"rates[{name!r}]", np.asarray(cube), delta.shape)
    table, seg = detect_mass(delta.max(axis=axis), np.asarray(mass).sum(axis=axis), detection)
    n = len(table)
    for name, cube in rates.items():
        (summed,) = _mask_sums(seg, n, np.asarray(cube, np.float64).sum(axis=axis))
        table[name] = summed * (u.ct / u.s)
        table[name].description = "count rate summed over the mask"
    return table


def match_by_overlap(seg_a, seg_b) -> np.ndarray:
    """Match the sources of one segmentation map to those of another by largest pixel overlap.

    Parameters
    ----------
    seg_a, seg_b : 2-D integer arrays of the same shape, 0 = background, labels >= 1 (sep convention).

    Returns
    -------
    int64 array of length ``n_a = seg_a.max()``: element ``k - 1`` is the label in ``seg_b`` that shares the most
    pixels with label ``k`` of ``seg_a``, 0 where label ``k`` overlaps no source of ``seg_b`` (or does not occur).
    Ties go to the smallest label of ``seg_b``.
    """
    a = np.asarray(seg_a)
    b = np.asarray(seg_b)
    for name, arr in (("seg_a", a), ("seg_b", b)):
        check_shape(name, arr, (None, None), " (a 2-D segmentation map)")
        require(np.issubdtype(arr.dtype, np.integer), name, described(f"an array of dtype {arr.dtype}"), "must hold integer labels")
        lowest = arr.min() if arr.size else 0
        require(lowest >= 0, name, described(f"an array with minimum {lowest}"), "labels must be >= 0")
    check_shape("seg_b", b, a.shape, " (seg_a's shape)")
    n_a = int(a.max()) if a.size else 0
    result = np.zeros(n_a, dtype=np.int64)
    both = (a > 0) & (b > 0)
    if n_a == 0 or not both.any():
        return result
    la = a[both].astype(np.int64)
    lb = b[both].astype(np.int64)
    base = int(lb.max()) + 1
    pairs, counts = np.unique(la * base + lb, return_counts=True)
    pa, pb = pairs // base, pairs % base
    # Sort by label a, then count, then label b descending: the last row of each a-group is the best match.
    order = np.lexsort((-pb, counts, pa))
    pa, pb = pa[order], pb[order]
    last = np.r_[pa[1:] != pa[:-1], True]
    result[pa[last] - 1] = pb[last]
    return result


def select(table: Table, cr_min: float = 0.02) -> Table:
    """Rows of a :func:`detect_sources` table with ``cr_05_2`` > ``cr_min`` (counts/s; paper: 0.02 c/s)."""
    check_number("cr_min", cr_min, 0.0, unit="counts/s")
    require("cr_05_2" in table.colnames, "table", described(f"a table with columns {table.colnames}"), "needs a 'cr_05_2' column")
    cr = u.Quantity(table["cr_05_2"], u.ct / u.s).value
    return table[cr > cr_min]
