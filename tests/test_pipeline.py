"""The simulation pipeline end to end on the ``tiny`` preset: outputs, flux conservation, determinism, bad input."""

import json

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from xcosmo import Params, __version__
from xcosmo.cosmology import Cosmology
from xcosmo.nbody import evolve
from xcosmo.painting import PowerLawPainter
from xcosmo.pipeline import MAP_NAMES, plan_run, simulate_survey
from xcosmo.presets import PRESET_NAMES, Preset, load_preset
from xcosmo.runs import verify_run
from xcosmo.xod import Binning, load_xod
from xcosmo.xray import voxel_count_rates

FIDUCIAL = Params.fiducial()
SEED = 3  # a tiny light cone with two clusters above the cut (0.034 and 0.044 c/s), well clear of it


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    return simulate_survey(FIDUCIAL, SEED, "tiny", out=out, progress=False), out


def test_outputs_on_disk(run):
    result, out = run
    # catalogue: FITS table with the documented columns and units
    cat = Table.read(out / "catalogue.fits")
    for name in ("ra", "dec", "z", "box", "cr_05_1", "cr_1_2", "cr_05_2", "hr", "npix", "mass"):
        assert name in cat.colnames, name
    assert cat["ra"].unit == u.deg and cat["dec"].unit == u.deg
    assert cat["cr_05_2"].unit == u.ct / u.s
    assert len(cat) == len(result.catalogue) >= 1
    assert np.all(cat["cr_05_2"] > 0.02)
    np.testing.assert_allclose(cat["cr_05_2"], cat["cr_05_1"] + cat["cr_1_2"], rtol=1e-6)
    np.testing.assert_allclose(cat["hr"], cat["cr_1_2"] / cat["cr_05_1"], rtol=1e-6)
    assert set(np.unique(cat["z"])) <= set(result.lightcone.box_z)
    # XOD with metadata
    xod, binning, survey, meta = load_xod(out / "xod.h5")
    assert survey == result.survey and survey.area_deg2 == 1.0
    np.testing.assert_array_equal(xod, result.xod)
    assert binning == Binning()
    assert meta["seed"] == SEED and meta["preset"] == "tiny" and meta["xcosmo_version"] == __version__
    assert json.loads(meta["params"]) == FIDUCIAL.as_dict()
    assert xod.sum() == len(cat)  # every cluster of the tiny light cone lies inside the binning (z 0.1-0.5)
    # maps: one cube per quantity, a valid celestial TAN WCS, units
    with fits.open(out / "maps" / "lightcone_00.fits") as hdul:
        for name in MAP_NAMES:
            hdu = hdul[name.upper()]
            assert hdu.data.shape == (4, result.lightcone.n_pix, result.lightcone.n_pix)
            np.testing.assert_array_equal(hdu.data, result.maps[name][0])
            wcs = WCS(hdu.header).celestial
            assert wcs.has_celestial and list(wcs.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
            assert "BUNIT" in hdu.header
        assert hdul["CR_05_1"].header["BUNIT"] == "ct / s"
        boxes = Table.read(hdul["BOXES"])
        np.testing.assert_allclose(boxes["z"], result.lightcone.box_z)
        # sky positions of the catalogue agree with the map WCS
        wcs = WCS(hdul["CR_05_1"].header).celestial
        ra, dec = wcs.pixel_to_world_values(cat["x"], cat["y"])
        np.testing.assert_allclose(ra, cat["ra"], atol=1e-9)
        np.testing.assert_allclose(dec, cat["dec"], atol=1e-9)
        # the footprint's area from the WCS
        assert wcs.proj_plane_pixel_area().to_value(u.deg**2) * result.lightcone.n_pix**2 == pytest.approx(1.0, rel=1e-6)
    assert (out / "previews" / "lightcone_00.png").stat().st_size > 0
    assert (out / "previews" / "xod.png").stat().st_size > 0
    assert not list(out.rglob(".*"))  # no temporary files left
    assert set(verify_run(out)["files"]) == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"run.json"}


def test_the_catalogue_reads_back_with_its_h_units_and_no_warning(run):
    import warnings

    import astropy.cosmology.units as cu

    from xcosmo.io import read_table

    _, out = run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cat = read_table(out / "catalogue.fits")
    assert cat["mass"].unit == u.Msun / cu.littleh and cat["cr_05_2"].unit == u.ct / u.s


def test_maps_conserve_the_voxel_count_rates(run):
    """Recompute box 2's voxel count rates from its particles and compare the map total with the in-footprint sum."""
    result, _ = run
    lc, b = result.lightcone, 2
    cosmo = Cosmology.from_params(FIDUCIAL)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(SEED), 0), b)
    dx, _ = evolve(cosmo, key, lc.box, 1.0 / (1.0 + lc.box_z[b]), load_preset("tiny").pm)
    n_e, kt = PowerLawPainter()(dx, lc.box, jnp.float32(lc.box_z[b]), FIDUCIAL)
    frac = lc.footprint_fraction(b)
    for band, name in enumerate(("cr_05_1", "cr_1_2")):
        total = 0.0
        for j in range(lc.box.mesh_shape[2]):  # each slice at its own redshift, one call per slice
            if lc.slice_mask[b, j]:
                rates = voxel_count_rates(cosmo, n_e[..., j], kt[..., j], float(lc.slice_z[b, j]), lc.box.voxel_mpc_h)
                total += float((np.asarray(rates[band], np.float64) * frac[..., j]).sum())
        assert result.maps[name][0, b].sum(dtype=np.float64) == pytest.approx(total, rel=1e-4)


def test_same_seed_same_xod_bit_for_bit_and_different_seeds_differ(run):
    result, _ = run
    again = simulate_survey(FIDUCIAL, SEED, "tiny", progress=False)
    np.testing.assert_array_equal(again.xod, result.xod)
    for name in result.catalogue.colnames:
        np.testing.assert_array_equal(again.catalogue[name], result.catalogue[name])
    for name in MAP_NAMES:
        np.testing.assert_array_equal(again.maps[name], result.maps[name])
    other = simulate_survey(FIDUCIAL, 1, "tiny", progress=False)
    assert not np.array_equal(other.maps["cr_05_1"], result.maps["cr_05_1"])
    assert set(result.timings) == {"nbody", "painting", "emission", "detection", "output"}


def test_presets_load_and_describe():
    for name in PRESET_NAMES:
        preset = load_preset(name)
        assert preset.name == name
    paper = load_preset("paper")
    assert paper.lightcone.voxel_mpc_h == 0.39 and paper.lightcone.area_deg2 == 20.0
    assert paper.lightcone.n_boxes == 12 and paper.n_lightcones == 10 and paper.survey_area_deg2 == 200.0
    plan = plan_run(FIDUCIAL, "paper")
    assert plan.n_particles_total == plan.n_particles_box * 120
    assert "particles" in plan.describe() and "GiB" in plan.describe()
    with pytest.raises(ValueError, match="unknown setting 'voxels'"):
        Preset.from_dict({"base": "tiny", "voxels": 3})
    with pytest.raises(ValueError, match=r"setting\(s\) \['name', 'description', 'pm', .*\] are missing"):
        Preset.from_dict({"lightcone": {}})  # a partial preset without a base is never completed silently
    assert Preset.from_dict(load_preset("tiny").as_nested()) == load_preset("tiny")  # a complete one needs no base
    with pytest.raises(ValueError, match="preset = 'huge'"):
        load_preset("huge")
    with pytest.raises(FileNotFoundError):
        load_preset("/nonexistent/preset.yaml")
    assert (load_preset("tiny").painter, load_preset("quickstart").painter, paper.painter) == ("power-law", "eldl", "eldl")
    assert load_preset("quickstart").lightcone.voxel_mpc_h == 0.39  # the shipped eLDL's resolution
    with pytest.raises(ValueError, match=r"painter = 'magic' is not allowed: allowed values are \('eldl', 'power-law'\)"):
        Preset.from_dict({"base": "tiny", "painter": "magic"})


def test_the_eldl_painter_is_refused_at_another_resolution_before_simulating(monkeypatch):
    """The presets name their painter; the shipped eLDL (0.39 Mpc/h voxels) on the tiny preset's 1 Mpc/h voxels is
    refused before any simulation, with the sizes in the message."""
    import xcosmo.pipeline as pipeline

    monkeypatch.setattr(pipeline, "evolve", lambda *a, **k: pytest.fail("simulation started"))
    with pytest.raises(ValueError, match="voxel_mpc_h = 1 is not allowed with the painter ELDL: it was trained on 0.39"):
        simulate_survey(FIDUCIAL, 0, load_preset("tiny").replace(painter="eldl"), progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"params": Params.fiducial().to_array().at[0].set(0.7)}, "omega_m"),
        ({"seed": -1}, "seed"),
        ({"preset": "enormous"}, "preset"),
        ({"out": "/proc/forbidden/out"}, "output directory"),
    ],
)
def test_bad_input_is_refused_before_simulating(kwargs, match, monkeypatch):
    import xcosmo.pipeline as pipeline

    monkeypatch.setattr(pipeline, "evolve", lambda *a, **k: pytest.fail("simulation started"))
    args = {"params": FIDUCIAL, "seed": 0, "preset": "tiny"} | kwargs
    with pytest.raises(ValueError, match=match):
        simulate_survey(args.pop("params"), args.pop("seed"), progress=False, **args)


def test_a_seed_of_the_wrong_type_is_refused_before_simulating(monkeypatch):
    import xcosmo.pipeline as pipeline

    monkeypatch.setattr(pipeline, "evolve", lambda *a, **k: pytest.fail("simulation started"))
    with pytest.raises(TypeError, match="seed = 1.5 is not allowed: expected an integer"):
        simulate_survey(FIDUCIAL, 1.5, "tiny", progress=False)


def test_impossible_geometry_and_memory_are_refused(monkeypatch):
    import xcosmo.pipeline as pipeline

    monkeypatch.setattr(pipeline, "evolve", lambda *a, **k: pytest.fail("simulation started"))
    tiny = load_preset("tiny")
    with pytest.raises(ValueError, match="z_min"):
        tiny.replace(z_min=0.5, z_max=0.3)
    with pytest.raises(ValueError, match="GiB"):
        simulate_survey(FIDUCIAL, 0, tiny.replace(area_deg2=20.0, voxel_mpc_h=0.01), progress=False)
    # the count-rate tables end at z = 2: a deeper light cone is refused before it runs, not with NaN maps
    with pytest.raises(ValueError, match=r"z_max = 2.5 is not allowed: the light cone's deepest slice is at z = 2\.\d+"):
        simulate_survey(FIDUCIAL, 0, tiny.replace(z_min=2.0, z_max=2.5, area_deg2=0.01), progress=False)


def test_new_parameter_values_do_not_recompile(run, caplog):
    """Campaigns vary the parameters: at fixed geometry (same Omega_m) the jitted stages must be reused."""
    import logging

    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level(logging.WARNING):
            simulate_survey(Params(0.3, 0.7, 2.0, 1.5, 0.5, 1.2), SEED, "tiny", progress=False)
    finally:
        jax.config.update("jax_log_compiles", False)
    compiled = [r.getMessage() for r in caplog.records if "Compiling" in r.getMessage()]
    stages = [m for m in compiled if any(f"jit({name}" in m for name in ("_evolve", "_paint", "_emission_maps"))]
    assert stages == [], stages
