"""The ``xcosmo`` console script: help on every subcommand, the quickstart outputs, clear errors."""

import pytest
from typer.testing import CliRunner

from xcosmo.cli import app
from xcosmo.runs import verify_run

runner = CliRunner()


def _subcommands():
    import typer.main

    return sorted(typer.main.get_command(app).commands)


def test_help_everywhere():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "quickstart" in result.output
    for name in _subcommands():
        sub = runner.invoke(app, [name, "--help"])
        assert sub.exit_code == 0, name
        assert "Usage" in sub.output


def test_quickstart_simulates_and_compares_with_the_analytical_model(tmp_path):
    from astropy.table import Table

    result = runner.invoke(app, ["quickstart", "--out", str(tmp_path), "--preset", "tiny", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet prints nothing
    for name in ("catalogue.fits", "xod.h5", "maps/lightcone_00.fits", "previews/lightcone_00.png",
                 "analytic/xod.h5", "analytic/dndz.fits", "analytic/xod.png"):  # fmt: skip
        assert (tmp_path / name).stat().st_size > 0, name
    assert Table.read(tmp_path / "analytic" / "dndz.fits")["n_clusters"].sum() > 1  # 1 deg^2: ~7 expected
    assert not list(tmp_path.rglob(".*"))  # no temporary files left behind
    first = verify_run(tmp_path)
    assert first["command"] == "quickstart" and "analytic/xod.h5" in first["files"]

    again = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--preset", "tiny", "--quiet"])
    assert again.exit_code == 2 and "already holds an earlier run" in again.output
    assert verify_run(tmp_path)["run_id"] == first["run_id"]  # the refused run touched nothing

    replaced = runner.invoke(app, ["simulate", "--out", str(tmp_path), "--preset", "tiny", "--seed", "1", "--overwrite", "-q"])
    assert replaced.exit_code == 0, replaced.output
    second = verify_run(tmp_path)
    assert second["command"] == "simulate" and second["metadata"]["seed"] == 1
    assert not (tmp_path / "analytic").exists()  # the earlier run's files are gone, not left beside the new ones


def test_simulate_dry_run_prints_the_plan_and_runs_nothing(tmp_path):
    from xcosmo.params import Params
    from xcosmo.pipeline import plan_run

    result = runner.invoke(app, ["simulate", "--preset", "paper", "--dry-run", "--out", str(tmp_path / "x")])
    # the paper preset fits a large GPU, not this CPU: the exit status says which, and nothing else varies
    assert result.exit_code == (0 if plan_run(Params.fiducial(), "paper").fits else 2), result.output
    assert "15,449,500 per box" in result.output  # 265 x 265 x 220 voxels of 0.39 Mpc/h at Omega_m = 0.3
    assert "1,853,940,000 in all" in result.output  # 10 light cones x 12 boxes
    assert not (tmp_path / "x").exists()
    tiny = runner.invoke(app, ["simulate", "--preset", "tiny", "--dry-run", "--out", str(tmp_path / "y")])
    assert tiny.exit_code == 0 and "DOES NOT FIT" not in tiny.output and not (tmp_path / "y").exists()
    too_big = runner.invoke(app, ["simulate", "--preset", "quickstart", "--voxel", "0.02", "--dry-run"])
    assert too_big.exit_code == 2 and "DOES NOT FIT" in too_big.output and "GiB" in too_big.output


@pytest.mark.parametrize(
    "args, match",
    [
        (["quickstart", "--omega-m", "0.7"], "omega_m = 0.7 is not allowed: allowed range [0.1, 0.5]"),
        (["quickstart", "--sigma-8", "nan"], "sigma_8 = nan"),
        (["hmf", "--mdef", "vir"], "mdef = 'vir'"),
        (["hmf", "--z", "a,b"], "z = 'a,b'"),
        (["quickstart", "--out", "/proc/forbidden"], "output directory"),
        (["mcmc", "--backend", "emcee"], "backend = 'emcee'"),
        (["mcmc", "--chains", "0"], "chains = 0"),
        (["mcmc", "--target-accept", "1.2"], "target_accept = 1.2"),
        (["mcmc", "--data", "/nonexistent/xod.h5"], "not found"),
        (["counts", "--area", "0"], "area_deg2 = 0.0"),
        (["simulate", "--a-sn1", "9"], "a_sn1"),
        (["simulate", "--preset", "huge"], "preset = 'huge'"),
        (["simulate", "--preset", "tiny", "--area", "-1"], "area_deg2"),
        (["simulate", "--preset", "tiny", "--out", "/proc/forbidden"], "output directory"),
        (["simulate", "--preset", "tiny", "--seed", "-1"], "seed = -1 is not allowed"),
        (["simulate", "--preset", "tiny", "--seed", str(2**32)], "seed = 4294967296 is not allowed"),
        (["simulate", "--preset", "tiny", "--seed", "-1", "--dry-run"], "seed = -1 is not allowed"),
        (["simulate", "--seed", "abc"], "Invalid value for '--seed'"),
        (["mcmc", "--seed", "-3"], "seed = -3 is not allowed"),
        (["simulate", "--preset", "tiny", "--out", ""], "an empty path is not a folder"),
        (["counts", "--out", ""], "an empty path is not a folder"),
        (["hmf", "--out", "/nonexistent-folder/hmf.fits"], "does not exist"),
        (["hmf", "--out", "/proc/hmf.fits"], "is not writable"),
        (["hmf", "--out", "/tmp"], "it is a folder"),
        (["hmf", "--out", "hmf.txt"], "unknown table format"),
        (["hmf", "--n-m", "2000000000"], "n_m = 2000000000 is not allowed"),
        (["no-such-command"], "No such command"),
    ],
)
def test_bad_input_exit_2_with_message(args, match):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert match in result.output
    assert "error: " in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "is empty"),
        ("lightcone: {area_deg2: 2.0}\n", "are missing"),
        ("base: tiny\nlightcone: {area_deg2: 2.0\n", "is not valid YAML"),
        ("base: tiny\ndetection: {min_aera: 3}\n", "unknown detection setting(s) ['min_aera']"),
        ("base: tiny\ndetection: {min_area: three}\n", "min_area = 'three' is not allowed"),
        ("base: tiny\nlightcone: {voxel_mpc_h: '1'}\n", "voxel_mpc_h = '1' is not allowed"),
        ("- base: tiny\n", "top level = [{'base': 'tiny'}] is not allowed"),
        ("base: huge\n", "base = 'huge' is not allowed"),
        ("base: tiny\nbaryons: eldl\n", "unknown setting 'baryons'"),
        ("base: tiny\npainter: hydro\n", "painter = 'hydro' is not allowed: allowed values are ('eldl', 'power-law')"),
    ],
)
def test_bad_preset_files_exit_2_with_message(tmp_path, text, match):
    preset = tmp_path / "my.yaml"
    preset.write_text(text)
    result = runner.invoke(app, ["simulate", "--preset", str(preset), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert match in result.output and "Traceback" not in result.output


def test_a_binary_preset_file_exits_2(tmp_path):
    preset = tmp_path / "my.yaml"
    preset.write_bytes(bytes(range(256)) * 4)
    result = runner.invoke(app, ["simulate", "--preset", str(preset), "--dry-run"])
    assert result.exit_code == 2 and "is not a text (YAML) file" in result.output


def test_a_preset_that_names_its_base_changes_only_what_it_says(tmp_path):
    preset = tmp_path / "my.yaml"
    preset.write_text("base: tiny\nlightcone: {area_deg2: 2.0}\n")
    result = runner.invoke(app, ["simulate", "--preset", str(preset), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 x 2 deg^2" in result.output and "8 steps" in result.output  # area changed, the rest is tiny's


def test_xod_files_whose_counts_are_not_a_dataset_are_refused(tmp_path):
    import h5py

    path = tmp_path / "xod.h5"
    with h5py.File(path, "w") as f:
        f.create_group("counts")
        for name in ("z_edges", "cr_edges", "hr_edges"):
            f.create_dataset(name, data=[0.1, 0.2])
    result = runner.invoke(app, ["mcmc", "--data", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "['counts'] must be datasets, not groups" in result.output
    assert not (tmp_path / "m").exists()  # refused before the model is built or a folder made


def test_version_and_plain_flags_in_help():
    from xcosmo import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"xcosmo {__version__}"
    for name in _subcommands():
        assert "<bool>" not in runner.invoke(app, [name, "--help"]).output, name


def test_quiet_silences_warnings():
    args = ["simulate", "--preset", "tiny", "--voxel", "20", "--dry-run"]
    loud = runner.invoke(app, args)
    assert loud.exit_code == 0 and "warning: voxel_mpc_h = 20 Mpc/h makes each box" in loud.output
    quiet = runner.invoke(app, args + ["-q"])
    assert quiet.exit_code == 0 and "warning" not in quiet.output


def test_counts_below_the_lowest_cr_edge_are_computed_as_printed(tmp_path):
    from xcosmo.xod import load_xod

    low = runner.invoke(app, ["counts", "--out", str(tmp_path / "low"), "--area", "10", "--cr-min", "0.01"])
    assert low.exit_code == 0, low.output
    assert "CR[0.5-2] > 0.01 c/s" in low.output and "lowest CR bin now starts at 0.01 c/s" in low.output
    stored = load_xod(tmp_path / "low" / "xod.h5")
    assert stored.binning.cr_edges[0] == 0.01 and stored.survey.cr_min == 0.01
    runner.invoke(app, ["counts", "--out", str(tmp_path / "ref"), "--area", "10"])
    reference = load_xod(tmp_path / "ref" / "xod.h5")
    assert stored.counts.sum() > 1.3 * reference.counts.sum()  # a fainter cut sees more clusters


def test_hmf_table_output(tmp_path):
    from astropy.table import Table

    out = tmp_path / "hmf.ecsv"
    result = runner.invoke(app, ["hmf", "--z", "0.2,0.4", "--n-m", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import astropy.cosmology.units as cu
    import astropy.units as u

    with u.add_enabled_units(cu):
        table = Table.read(out)
    assert len(table) == 10 and table["m"].unit == u.Msun / cu.littleh


def test_counts_writes_the_analytic_xod(tmp_path):
    from xcosmo.xod import load_xod

    result = runner.invoke(app, ["counts", "--out", str(tmp_path), "--area", "50"])
    assert result.exit_code == 0, result.output
    xod, binning, survey, meta = load_xod(tmp_path / "xod.h5")
    assert xod.shape == binning.shape == (8, 12, 12)
    assert survey.area_deg2 == 50.0 and meta["omega_m"] == 0.3 and meta["model"] == "analytic"
    assert 100 < xod.sum() < 1000
    for name in ("dndz.fits", "xod.png", "dndz.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_mcmc_writes_chains_summary_and_corner_plot_for_the_data_files_survey(tmp_path):
    """An XOD file of another survey (50 deg^2) is analysed with a model built for that survey, said on screen."""
    import json

    from inference.mcmc import DEFAULT_TARGET_ACCEPT, load_chains

    assert runner.invoke(app, ["counts", "--out", str(tmp_path / "data"), "--area", "50", "-q"]).exit_code == 0
    out = tmp_path / "mcmc"
    args = ["mcmc", "--out", str(out), "--backend", "blackjax", "--warmup", "30", "--samples", "20",
            "--chains", "1", "--no-neutra", "--data", str(tmp_path / "data" / "xod.h5")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "50 deg^2, CR[0.5-2] > 0.02 c/s, 0.1 < z < 0.5, 8x12x12 bins: the model is built for this survey" in result.output
    assert set(verify_run(out)["files"]) == {"chains.nc", "summary.json", "corner.png"}
    tree = load_chains(out / "chains.nc")
    assert tree["posterior"]["omega_m"].shape == (1, 20)
    assert tree.attrs["dense_mass"] == 1 and tree.attrs["neutra"] == 0 and tree.attrs["target_accept"] == DEFAULT_TARGET_ACCEPT
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["variables"]) >= {"omega_m", "sigma_8", "alpha_mt", "gamma_lt"}
    assert (out / "corner.png").stat().st_size > 10_000
