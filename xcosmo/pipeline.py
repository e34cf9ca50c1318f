"""The simulation forward model (paper section 2.3): parameters and a seed in, catalogue and XOD out.

For every light cone and every box of it (:mod:`xcosmo.lightcone`):

1. **N-body**: Gaussian initial conditions of the box's own key, LPT at z_start and particle-mesh leapfrog to the
   box's redshift (:mod:`xcosmo.nbody`);
2. **painting**: the baryon painter turns the dark matter into n_e and kT grids (:mod:`xcosmo.painting`);
3. **emission**: the count rate of every voxel in [0.5-1] and [1-2] keV at its slice's own redshift and distance
   (:func:`xcosmo.xray.voxel_count_rates`), projected onto the footprint's pixels; the dark matter gives a
   rho/rho_c map (maximum along the line of sight) and a column-mass map of the voxels above 200 rho_c;
4. **detection** with sep on each box's [0.5-2] keV map and on its rho/rho_c map (:mod:`xcosmo.detect`), masses
   matched to X-ray sources by segmentation overlap, flux cut CR[0.5-2] > cr_min, redshift of the box.

The catalogues of ``n_lightcones`` light cones make one XOD in the shared :class:`xcosmo.xod.Binning`. Steps 1-3 are
jit-compiled (float32; one compilation per box geometry), step 4 runs sep on the host. The random key of box ``b`` of
light cone ``l`` is ``fold_in(fold_in(key(seed), l), b)``: the same seed gives bit-identical outputs on one machine.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from astropy import units as u
from astropy.cosmology import units as cu
from astropy.table import Table, vstack

from .checks import check_integer, require
from .constants import DETECTION_OVERDENSITY, RHO_CRIT_0
from .cosmology import Cosmology, efunc
from .detect import Detection, detect_mass, detect_sources, match_by_overlap
from .lightcone import LightCone, project_slices, project_slices_max
from .nbody import Box, PMSettings, density, evolve
from .painting import Painter, check_painter_resolution, named_painter
from .params import Params
from .presets import Preset, load_preset
from .xod import Binning, Survey, check_survey_binning
from .xray import voxel_count_rates
from .xray.countrates import Z_MAX, default_table

__all__ = ["simulate_survey", "SurveyResult", "RunPlan", "plan_run", "available_memory", "MAP_NAMES"]

MAP_NAMES = ("cr_05_1", "cr_1_2", "rho_dm", "mass_200c")
"""Maps of every box: count rates in [0.5-1] and [1-2] keV (counts/s per pixel), dark-matter rho/rho_crit (maximum
along the line of sight, dimensionless) and the column mass of voxels above 200 rho_crit (Msun/h per pixel)."""
FIELD_CENTRE = (35.0, -4.5)
"""Default (RA, Dec) of the first light cone's centre, degrees (the XXL-North field); further light cones are placed
side by side in RA."""
BASE_MEMORY = 1.8 * 2**30
"""Memory of the process before the first box (JAX, compiled programs, X-ray tables, sep, the output writers), bytes:
the peak RSS of a whole ``tiny`` run on CPU (1.80 GiB, jax 0.10, 2026-12-05) less its boxes' share of the estimate
(0.04 GiB). Checked against real runs by ``tests/test_cli_process.py`` (tiny) and ``bench/memory_plan.py`` (tiny, quickstart)."""
BYTES_PER_VOXEL_MAPS = 48
"""Per-voxel memory of painting and emission on top of the N-body state: n_e, kT, two band rates, rho and the
projection temporaries (float32)."""


@dataclass(frozen=True)
class RunPlan:
    """What a run needs, known before anything is allocated (``xcosmo simulate --dry-run`` prints it).

    ``params`` are the validated parameters and ``cosmology`` their cosmology, built once for the whole run.
    """

    params: Params
    cosmology: Cosmology
    preset: Preset
    lightcone: LightCone
    n_particles_box: int
    n_particles_total: int
    memory_bytes: int
    available_bytes: int
    device: str

    @property
    def fits(self) -> bool:
        return self.memory_bytes <= self.available_bytes

    def describe(self) -> str:
        lc, box = self.lightcone, self.lightcone.box
        gib = 2.0**30
        return "\n".join(
            [
                f"preset {self.preset.name}: {self.preset.description}",
                f"light cones: {self.preset.n_lightcones} x {lc.spec.area_deg2:g} deg^2, z = {lc.spec.z_min:g}-{lc.spec.z_max:g}",
                f"boxes: {lc.spec.n_boxes} per light cone, mesh {box.mesh_shape[0]} x {box.mesh_shape[1]} x {box.mesh_shape[2]}"
                f" of {box.voxel_mpc_h:g} Mpc/h = {box.box_size[0]:.1f} x {box.box_size[1]:.1f} x {box.box_size[2]:.1f} (Mpc/h)^3",
                f"particles: {self.n_particles_box:,} per box, {self.n_particles_total:,} in all",
                f"maps: {lc.n_pix} x {lc.n_pix} pixels of {lc.pixel_arcmin:.3f} arcmin",
                f"PM: z_start = {self.preset.pm.z_start:g}, {self.preset.pm.n_steps} steps, LPT order {self.preset.pm.lpt_order}",
                f"peak memory: {self.memory_bytes / gib:.2f} GiB needed, {self.available_bytes / gib:.2f} GiB available on {self.device}"
                + ("" if self.fits else "  -> DOES NOT FIT"),
            ]
        )


def available_memory() -> tuple[int, str]:
    """Memory the run may use: the accelerator's limit, or the host's available memory on CPU."""
    dev = jax.devices()[0]
    if dev.platform != "cpu":
        stats = dev.memory_stats() or {}
        if "bytes_limit" in stats:
            return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)), str(dev.device_kind)
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f}
        return info["MemAvailable"], "cpu"
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "cpu"


def _as_params(params) -> Params:
    """``params`` as validated :class:`Params` (an array in the order of ``PARAM_NAMES`` is converted and checked)."""
    return params if isinstance(params, Params) else Params.from_array(np.asarray(params, dtype=float))


def plan_run(params: Params, preset: str | Path | Preset = "quickstart") -> RunPlan:
    """Lay out the light cone for ``params`` and estimate the peak memory of one box (boxes run one at a time)."""
    params = _as_params(params)
    preset = load_preset(preset)
    cosmo = Cosmology.from_params(params)
    lc = LightCone.build(cosmo, preset.lightcone)
    deepest = float(lc.slice_z.max())  # slices beyond z_max are masked, but their count rates are still computed
    require(deepest <= Z_MAX, "z_max", preset.lightcone.z_max, f"the light cone's deepest slice is at z = "
            f"{deepest:.3f}, beyond the count-rate tables (z <= {Z_MAX:g})")  # fmt: skip
    box = lc.box
    weights = 4 * box.mesh_shape[2] * lc.n_pix * box.mesh_shape[0]
    maps = 4 * len(MAP_NAMES) * lc.n_pix**2 * preset.lightcone.n_boxes * preset.n_lightcones
    memory = int(BASE_MEMORY) + preset.pm.memory_bytes(box) + BYTES_PER_VOXEL_MAPS * box.n_particles + weights + maps
    available, device = available_memory()
    return RunPlan(params, cosmo, preset, lc, box.n_particles, lc.n_particles * preset.n_lightcones, memory, available, device)


@dataclass
class SurveyResult:
    """The outputs of :func:`simulate_survey`.

    Attributes
    ----------
    catalogue : astropy Table of the clusters above the flux cut: ra, dec (deg), z, lightcone, box, x, y (pix),
        cr_05_1, cr_1_2, cr_05_2 (counts/s), hr, npix, mass (Msun/h, M200c-like from the rho/rho_c map; 0 when no
        overdense region overlaps the source).
    xod : (n_z, n_cr, n_hr) integer counts in ``binning``.
    maps : name -> array (n_lightcones, n_boxes, n_pix, n_pix), axes (y, x); names and units in :data:`MAP_NAMES`.
    lightcone : the geometry (boxes, slice redshifts, pixels).
    binning, survey : the XOD binning and the survey the catalogue represents.
    params, seed, preset : what was run.
    timings : wall-clock seconds per stage (nbody, painting, emission, detection, output).
    centres : (RA, Dec) of each light cone's centre, degrees.
    painter : the baryon painter used.
    """

    catalogue: Table
    xod: np.ndarray
    maps: dict[str, np.ndarray]
    lightcone: LightCone
    binning: Binning
    survey: Survey
    params: Params
    seed: int
    preset: Preset
    timings: dict[str, float] = field(default_factory=dict)
    centres: list[tuple[float, float]] = field(default_factory=list)
    painter: object = None

    @property
    def metadata(self) -> dict:
        from . import __version__

        return {
            "params": self.params.as_dict(),
            "seed": self.seed,
            "preset": self.preset.name,
            "preset_settings": self.preset.as_dict(),
            "xcosmo_version": __version__,
            "area_deg2": self.survey.area_deg2,
            "cr_min": self.survey.cr_min,
            "n_clusters": len(self.catalogue),
            "painter": repr(self.painter),
        }


def simulate_survey(
    params: Params,
    seed: int,
    preset: str | Path | Preset = "quickstart",
    painter: Painter | None = None,
    out: str | Path | None = None,
    *,
    progress: bool = True,
    field_centre: tuple[float, float] = FIELD_CENTRE,
    binning: Binning | None = None,
    overwrite: bool = False,
) -> SurveyResult:
    """Simulate a survey: ``n_lightcones`` light cones, their maps, catalogue and XOD (paper section 2.3).

    Parameters
    ----------
    params : the six parameters (a :class:`Params` or an array in the order of ``PARAM_NAMES``), inside the prior.
    seed : integer seed of all random initial conditions.
    preset : ``"tiny"``, ``"quickstart"``, ``"paper"``, a YAML file or a :class:`Preset`.
    painter : baryon painter (default: the preset's, :func:`xcosmo.painting.named_painter`).
    out : folder to write ``catalogue.fits``, ``xod.h5``, ``maps/``, ``previews/`` and ``run.json`` into, as one run
        (:func:`xcosmo.runs.run_folder`: locked, staged, committed when complete).
    progress : show a progress bar over boxes.
    field_centre : (RA, Dec) in degrees of the first light cone's centre.
    binning : XOD binning (default :class:`Binning` with its lowest CR edge at the preset's flux cut if lower).
    overwrite : replace an earlier run in ``out`` (without it, a non-empty ``out`` is refused before any work).

    Raises ``ValueError`` before any simulation for parameters outside the prior, a bad seed or preset, a painter
    trained at another resolution than the preset's voxels, a binning that
    cannot hold the survey, an output folder that is unwritable, locked by another run or not empty (unless
    ``overwrite``), or a run whose estimated memory exceeds what the device has.
    """
    from .checks import check_bool
    from .runs import run_folder

    check_integer("seed", seed, 0, 2**32)
    check_bool("overwrite", overwrite)
    plan = plan_run(params, preset)
    preset = plan.preset
    if not plan.fits:
        raise ValueError(
            f"preset {preset.name!r} needs about {plan.memory_bytes / 2**30:.1f} GiB but {plan.device} has "
            f"{plan.available_bytes / 2**30:.1f} GiB available: use a smaller area, larger voxel_mpc_h, or a bigger device"
        )
    spec = preset.lightcone
    survey = Survey(area_deg2=preset.survey_area_deg2, cr_min=preset.cr_min, z_min=spec.z_min, z_max=spec.z_max)
    binning = Binning().with_flux_cut(preset.cr_min) if binning is None else binning
    check_survey_binning(survey, binning)
    painter = named_painter(preset.painter) if painter is None else painter
    check_painter_resolution(painter, preset.lightcone.voxel_mpc_h)
    if out is None:
        return _simulate(plan, seed, painter, survey, binning, progress, field_centre)
    from .outputs import write_survey_files

    meta = {"params": plan.params.as_dict(), "seed": seed, "preset": preset.name}
    with run_folder(out, command="simulate_survey", overwrite=overwrite, metadata=meta) as stage:
        result = _simulate(plan, seed, painter, survey, binning, progress, field_centre)
        t = time.perf_counter()
        write_survey_files(result, stage)
        result.timings["output"] += time.perf_counter() - t
    return result


def _simulate(plan: RunPlan, seed: int, painter, survey: Survey, binning: Binning, progress: bool, field_centre
              ) -> SurveyResult:  # fmt: skip
    """The simulation of :func:`simulate_survey`, its inputs validated."""
    from tqdm.auto import tqdm

    params, cosmo, preset = plan.params, plan.cosmology, plan.preset
    lc = plan.lightcone
    spec = preset.lightcone
    detection = Detection(threshold=preset.threshold_ct_s_arcmin2 * lc.pixel_arcmin**2, min_area=preset.min_area)

    n_lc, n_box = preset.n_lightcones, spec.n_boxes
    maps = {name: np.zeros((n_lc, n_box, lc.n_pix, lc.n_pix), np.float32) for name in MAP_NAMES}
    timings = dict.fromkeys(("nbody", "painting", "emission", "detection", "output"), 0.0)
    side_deg = spec.side_arcmin / 60.0
    centres = [(field_centre[0] + l * side_deg / math.cos(math.radians(field_centre[1])), field_centre[1]) for l in range(n_lc)]
    # the jitted stages take the parameters as float32 arrays (traced), so one compilation serves every parameter set
    as_arrays = lambda tree: jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), tree)  # noqa: E731
    traced_cosmo, traced_params = as_arrays(cosmo), as_arrays(params)
    rows = []
    root = jax.random.key(seed)
    bar = tqdm(total=n_lc * n_box, desc=f"simulate {preset.name}", unit="box", disable=not progress)
    for l in range(n_lc):
        for b in range(n_box):
            key = jax.random.fold_in(jax.random.fold_in(root, l), b)
            box_maps = _simulate_box(traced_cosmo, traced_params, painter, lc, preset.pm, b, key, timings)
            for name, image in zip(MAP_NAMES, box_maps):
                maps[name][l, b] = image
            t = time.perf_counter()
            rows.append(_detect_box(maps, l, b, lc, detection, centres[l]))
            timings["detection"] += time.perf_counter() - t
            bar.update()
    bar.close()

    catalogue = vstack(rows) if rows else Table()
    catalogue = catalogue[catalogue["cr_05_2"] > preset.cr_min]
    catalogue.meta.update({"CR_MIN": preset.cr_min, "PRESET": preset.name, "SEED": seed})
    xod = binning.histogram(np.asarray(catalogue["cr_05_2"]), np.asarray(catalogue["hr"]), np.asarray(catalogue["z"]))
    return SurveyResult(catalogue, xod, maps, lc, binning, survey, params, seed, preset, timings, centres, painter)


def _timed(timings: dict, stage: str, fn, *args):
    t = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    timings[stage] += time.perf_counter() - t
    return out


def _simulate_box(cosmo: Cosmology, params: Params, painter, lc: LightCone, pm: PMSettings, b: int, key, timings):
    """N-body, painting and emission of box ``b``: its four maps as numpy arrays (n_pix, n_pix)."""
    box = lc.box
    a_box = jnp.float32(1.0 / (1.0 + lc.box_z[b]))
    dx, _ = _timed(timings, "nbody", evolve, cosmo, key, box, a_box, pm)
    n_e, kt = _timed(timings, "painting", _paint, painter, dx, box, jnp.float32(lc.box_z[b]), params)
    weights = jnp.asarray(lc.weights(b), jnp.float32)  # slices beyond z_max have zero weight
    slice_z = jnp.asarray(lc.slice_z[b], jnp.float32)
    table = default_table()  # built (or read from the cache) outside jit
    out = _timed(timings, "emission", _emission_maps, cosmo, table, n_e, kt, dx, slice_z, weights, box, jnp.float32(lc.box_z[b]))
    return [np.asarray(m) for m in out]


@eqx.filter_jit
def _paint(painter, dx, box: Box, z, params):
    return painter(dx, box, z, params)


@eqx.filter_jit
def _emission_maps(cosmo, table, n_e, kt, dx, slice_z, weights, box: Box, z_box):
    """Count-rate maps of both bands (each slice at its own redshift) and the dark-matter maps of one box."""

    def rates(ne_j, kt_j, z_j):
        return voxel_count_rates(cosmo, ne_j, kt_j, z_j, box.voxel_mpc_h, table)

    soft, hard = jax.vmap(rates, in_axes=(2, 2, 0), out_axes=2)(n_e, kt, slice_z)
    rho = density(dx)  # 1 + delta
    rho_c = rho * cosmo.omega_m * (1.0 + z_box) ** 3 / efunc(cosmo, z_box) ** 2  # rho_m / rho_crit(z)
    voxel_mass = cosmo.omega_m * RHO_CRIT_0 * box.voxel_mpc_h**3  # Msun/h of a mean-density voxel
    mass_200 = jnp.where(rho_c >= DETECTION_OVERDENSITY, rho * voxel_mass, 0.0)
    return (
        project_slices(soft, weights),
        project_slices(hard, weights),
        project_slices_max(rho_c, weights),
        project_slices(mass_200, weights),
    )


def _detect_box(maps, l: int, b: int, lc: LightCone, detection: Detection, centre) -> Table:
    """Sources of box ``b`` of light cone ``l`` with sky coordinates, redshift and matched masses."""
    soft, hard = maps["cr_05_1"][l, b], maps["cr_1_2"][l, b]
    sources, seg = detect_sources(soft, hard, detection)
    halos, seg_mass = detect_mass(maps["rho_dm"][l, b], maps["mass_200c"][l, b])
    match = match_by_overlap(seg, seg_mass) if len(sources) else np.zeros(0, int)
    halo_mass = np.concatenate([[0.0], np.asarray(halos["mass"], float)])  # label 0: no overlapping halo
    mass = halo_mass[match]
    ra, dec = lc.sky_wcs(centre).pixel_to_world_values(np.asarray(sources["x"]), np.asarray(sources["y"]))
    table = Table()
    table["ra"] = np.asarray(ra, float) * u.deg
    table["dec"] = np.asarray(dec, float) * u.deg
    table["z"] = np.full(len(sources), lc.box_z[b])
    table["lightcone"] = np.full(len(sources), l, np.int32)
    table["box"] = np.full(len(sources), b, np.int32)
    for name in ("x", "y", "cr_05_1", "cr_1_2", "cr_05_2", "hr", "npix"):
        table[name] = sources[name]
    table["mass"] = mass * (u.Msun / cu.littleh)
    return table
