"""The ``xcosmo`` console script: help on every subcommand, the quickstart outputs, clear errors."""

import pytest
from typer.testing import CliRunner

from xcosmo.cli import app

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
    ],
)
def test_bad_input_exit_2_with_message(args, match):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert match in result.output


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
    xod, binning, meta = load_xod(tmp_path / "xod.h5")
    assert xod.shape == binning.shape == (8, 12, 12)
    assert meta["area_deg2"] == 50.0 and meta["omega_m"] == 0.3 and meta["model"] == "analytic"
    assert 100 < xod.sum() < 1000
    for name in ("dndz.fits", "xod.png", "dndz.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_mcmc_writes_chains_summary_and_corner_plot(tmp_path):
    import json

    from inference.mcmc import DEFAULT_TARGET_ACCEPT, load_chains

    args = ["mcmc", "--out", str(tmp_path), "--backend", "blackjax", "--warmup", "30", "--samples", "20",
            "--chains", "1", "--no-neutra", "--quiet"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    tree = load_chains(tmp_path / "chains.nc")
    assert tree["posterior"]["omega_m"].shape == (1, 20)
    assert tree.attrs["dense_mass"] == 1 and tree.attrs["neutra"] == 0 and tree.attrs["target_accept"] == DEFAULT_TARGET_ACCEPT
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["variables"]) >= {"omega_m", "sigma_8", "alpha_mt", "gamma_lt"}
    assert (tmp_path / "corner.png").stat().st_size > 10_000
