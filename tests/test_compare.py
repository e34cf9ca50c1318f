"""Tests of inference.compare, the head-to-head study (issue 21): its measures against a Gaussian whose moments are
known, the Fisher matrices of the summary statistics against the information they must lose, refused settings, and
(slow) the whole study at a tiny size."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from inference.compare.measures import degeneracy, from_draws, from_fisher
from inference.fisher import FisherResult

NAMES = ["omega_m", "sigma_8", "a_sn1", "a_agn2"]
MEAN = np.array([0.3, 0.8, 1.0, 1.2])
SIGMA = np.array([0.02, 0.03, 0.3, 0.1])
CORR = np.array([[1.0, -0.7, 0.1, 0.2], [-0.7, 1.0, 0.0, -0.5], [0.1, 0.0, 1.0, 0.3], [0.2, -0.5, 0.3, 1.0]])
COV = CORR * np.outer(SIGMA, SIGMA)


def test_measures_of_gaussian_draws_and_of_its_fisher_matrix():
    draws = np.random.default_rng(0).multivariate_normal(MEAN, COV, 200_000)
    fom = 1.0 / np.sqrt(COV[0, 0] * COV[1, 1] - COV[0, 1] ** 2)
    m = from_draws(draws, NAMES)
    np.testing.assert_allclose(m["errors"], SIGMA, rtol=0.01)
    np.testing.assert_allclose(m["correlation"], CORR, atol=0.01)
    assert m["fom"] == pytest.approx(fom, rel=0.02)
    # (q84 - q16) / 2 of a normal is 0.9945 sigma
    assert m["half_width_68"]["sigma_8"] == pytest.approx(0.9945 * SIGMA[1], rel=0.02)
    f = from_fisher(FisherResult(np.linalg.inv(COV), MEAN, NAMES))
    np.testing.assert_allclose(f["errors"], SIGMA, rtol=1e-10)
    assert f["fom"] == pytest.approx(fom, rel=1e-10) and f["half_width_68"]["omega_m"] == pytest.approx(SIGMA[0])
    assert degeneracy(f) == {"pair": ["sigma_8", "a_agn2"], "abs_correlation": pytest.approx(0.5)}


def test_the_report_lists_every_pairs_correlation_in_every_posterior():
    """report.md's correlation table: one row per pair of parameters of any posterior, the coefficients of the draws
    of a known Gaussian and of its Fisher matrix in their columns, empty cells where a posterior lacks the pair."""
    from inference.compare.report import markdown

    draws = np.random.default_rng(1).multivariate_normal(MEAN, COV, 100_000)
    other = ["omega_m", "sigma_8", "a_mt"]  # a posterior of other parameters beside cosmology
    fisher = from_fisher(FisherResult(np.linalg.inv(COV[:3, :3]), MEAN[:3], other))
    posteriors = {label: {**m, "degeneracy": degeneracy(m)}
                  for label, m in (("NPE", from_draws(draws, NAMES)), ("analytic Fisher", fisher))}  # fmt: skip
    text = markdown({"training_set": "test", "points": [{"theta": MEAN.tolist(), "posteriors": posteriors}],
                     "table3": {}, "conclusion": {"analytic": 0.3, "physical": 0.5, "holds": False}})  # fmt: skip
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| ") and ", " in line.split("|")[1]}  # fmt: skip
    assert len(rows) == 6 + 3 - 1  # the NPE's 6 pairs and the Fisher's 3, (omega_m, sigma_8) in both
    npe = posteriors["NPE"]["correlation"]  # from_draws's coefficients (checked above), rounded in the table
    for (i, a), (j, b) in [((0, "omega_m"), (1, "sigma_8")), ((1, "sigma_8"), (3, "a_agn2")),
                           ((2, "a_sn1"), (3, "a_agn2"))]:  # fmt: skip
        assert rows[f"{a}, {b}"][0] == f"{npe[i][j]:+.2f}"
        assert float(rows[f"{a}, {b}"][0]) == pytest.approx(CORR[i, j], abs=0.005 + 0.01)  # rounding + 3 sigma
    assert float(rows["omega_m, sigma_8"][1]) == pytest.approx(CORR[0, 1], abs=0.005)
    assert float(rows["sigma_8, a_mt"][1]) == pytest.approx(CORR[1, 2], abs=0.005) and rows["sigma_8, a_mt"][0] == ""
    assert rows["a_sn1, a_agn2"][1] == ""


def test_the_report_counts_the_sbc_p_values_below_one_percent():
    from inference.compare.report import markdown

    calibration = {"z-0": {"omega_m": 0.5, "sigma_8": 0.004}, "z-1": {"omega_m": 0.0005, "sigma_8": 0.011}}
    text = markdown({"training_set": "test", "points": [], "table3": {}, "calibration": calibration,
                     "sbc_xods": 1666, "conclusion": {"analytic": 0.3, "physical": 0.5, "holds": False}})  # fmt: skip
    assert "| z-1 | 0.001 | 0.011 |" in text and "2 of 4 p-values below 0.01 (0.04 expected" in text
    assert "every NPE on 1666 held-out XODs each" in text


def test_measures_refuse_draws_without_cosmology_or_too_few():
    with pytest.raises(ValueError, match="names"):
        from_draws(np.zeros((100, 2)), ["a_sn1", "a_sn2"])
    with pytest.raises(ValueError, match="at least 10 posterior draws"):
        from_draws(np.zeros((3, 4)), NAMES)


@pytest.mark.parametrize("model", ["analytic", pytest.param("emulated", marks=pytest.mark.slow)])
def test_a_summary_statistic_never_holds_more_information_than_the_xod(model):
    """Summing Poisson bins loses information: F(XOD) - F(summary) is positive semi-definite, and dn/dz alone
    constrains (Omega_m, sigma_8) less than the whole XOD."""
    from emulators.scaling.emulator import PRETRAINED
    from inference.compare.explicit import fisher
    from inference.compare.settings import AWAY

    if model == "emulated" and not PRETRAINED.is_file():
        pytest.skip("no scaling-relation emulator shipped")
    full = fisher(model, AWAY[0])
    for summary in ("z",):
        part = fisher(model, AWAY[0], summary)
        assert part.names == full.names
        diff = full.matrix - part.matrix
        scale = np.sqrt(np.outer(np.diag(full.matrix), np.diag(full.matrix)))
        assert np.linalg.eigvalsh(diff / scale).min() > -1e-8, summary
        assert part.figure_of_merit() < full.figure_of_merit(), summary


@pytest.mark.parametrize("changes, match", [
    ({"points": ((0.6, 0.8, 1.0, 1.0, 1.0, 1.0),)}, "points omega_m = 0.6 is not allowed"),
    ({"points": ((0.3, 0.8),)}, "six values"),
    ({"summaries": ("z", "hr")}, "summaries = 'hr' is not allowed"),
    ({"n_simulations": 20}, "n_simulations = 20 is not allowed"),
    ({"summaries": ("z",)}, "including 'z-cr-hr'"),
    ({"light_cones": "no/such/store"}, "light_cones = 'no/such/store' is not allowed"),
])  # fmt: skip
def test_bad_settings_are_refused_naming_the_field(changes, match):
    from inference.compare import compare_preset

    with pytest.raises(ValueError, match=match):
        compare_preset("cpu", **changes)


def test_an_npe_of_light_cones_refuses_a_campaign_of_other_xods(tmp_path):
    from distributed import Client

    from inference.compare.simulated import light_cone_data
    from xcosmo.campaign import CampaignConfig, run_campaign

    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        run_campaign(tmp_path / "a", CampaignConfig(n=48, simulator="analytic"), client=client, progress=False)
    with pytest.raises(ValueError, match="light_cones = .* simulated light cones .* not of 'analytic' XODs"):
        light_cone_data(tmp_path / "a")


def test_a_finished_npe_or_calibration_of_other_settings_is_refused_or_redone(tmp_path):
    from distributed import Client

    from inference.compare.simulated import calibration, trained_npe
    from inference.sbi import NPESettings, SBIDataset, TrainSettings
    from xcosmo.campaign import CampaignConfig, run_campaign

    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        run_campaign(tmp_path / "a", CampaignConfig(n=48, simulator="analytic"), client=client, progress=False)
    data = SBIDataset.from_store(tmp_path / "a")
    once = TrainSettings(max_epochs=1, batch_size=32)
    settings = NPESettings(loss="mse", channels=(4, 4), mlp_width=16, n_components=2, mdn_width=16,
                           compressor_training=once, mdn_training=once)  # fmt: skip
    trained_npe(data, tmp_path / "npe", settings, progress=False)
    written = (tmp_path / "npe" / "npe.eqx").stat().st_mtime_ns
    trained_npe(data, tmp_path / "npe", settings, progress=False)  # loaded, not trained again
    assert (tmp_path / "npe" / "npe.eqx").stat().st_mtime_ns == written
    with pytest.raises(ValueError, match="npe' was trained with other settings .* remove the folder"):
        trained_npe(data, tmp_path / "npe", dataclasses.replace(settings, seed=1), progress=False)
    npe = trained_npe(data, tmp_path / "npe", settings, progress=False)
    assert calibration(npe, data, tmp_path / "sbc", n_xods=3, n_draws=20)["n_xods"] == 3
    assert calibration(npe, data, tmp_path / "sbc", n_xods=5, n_draws=20)["n_xods"] == 5  # not the cached 3


@pytest.mark.slow
def test_the_study_at_a_tiny_size_writes_its_tables_and_figures_and_resumes(tmp_path):
    from inference.compare import CompareSettings, run_comparison
    from inference.mcmc.settings import NUTSSettings
    from inference.neutra import NeuTraSettings
    from inference.sbi import NPESettings, TrainSettings

    from distributed import Client

    from xcosmo.campaign import CampaignConfig, run_campaign

    light_cones = tmp_path / "light-cones"
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        run_campaign(light_cones, CampaignConfig(n=48, preset="tiny"), client=client, progress=False)
    quick = TrainSettings(max_epochs=3, batch_size=32)
    settings = CompareSettings(
        n_simulations=96, npe_seeds=2, summaries=("z-cr-hr", "z"), draws=300, sbc_xods=8, workers=1,
        light_cones=str(light_cones),
        npe=NPESettings(loss="mse", channels=(4, 4), mlp_width=16, n_components=2, mdn_width=16,
                        compressor_training=quick, mdn_training=quick, poisson_resampling=True),  # as the cpu preset
        nuts=NUTSSettings(num_chains=1, num_warmup=30, num_samples=30, dense_mass=True, progress=False),
        analytic_neutra=NeuTraSettings(flow="laplace", num_steps=50, max_fits=1),
        emulated_neutra=NeuTraSettings(flow="laplace", num_steps=50, max_fits=1),
    )  # fmt: skip
    result = run_comparison(tmp_path / "c", settings, progress=False)
    names = {p.name for p in (tmp_path / "c").iterdir()}
    assert {"report.json", "report.md", "corner_0.png", "corner_1.png", "cosmology_0.png", "figure12.png"} <= names
    saved = json.loads((tmp_path / "c" / "report.json").read_text())
    assert set(saved["table3"]) == {"z-cr-hr", "z"} and saved["table3"]["z"]["npe"]["seeds"] == 2
    assert saved["sbc_xods"] == 8  # of 16 held out
    posteriors = saved["points"][0]["posteriors"]
    assert set(posteriors) == {"analytic Fisher", "analytic NUTS", "emulated Fisher", "emulated NUTS", "NPE",
                               "NPE (light cones)"}  # fmt: skip
    assert posteriors["analytic NUTS"]["names"][:2] == ["omega_m", "sigma_8"] and len(posteriors["NPE"]["names"]) == 6
    assert saved["light_cones"]["n"] == 48 and saved["light_cones"]["train"] == 32
    text = (tmp_path / "c" / "report.md").read_text()
    assert "Table 3" in text and "48 simulated light cones" in text
    chains = (tmp_path / "c" / "nuts" / "emulated-0.nc").stat().st_mtime
    again = run_comparison(tmp_path / "c", settings, progress=False)  # resumes: nothing is run again
    assert (tmp_path / "c" / "nuts" / "emulated-0.nc").stat().st_mtime == chains
    assert again["points"][0]["posteriors"]["emulated NUTS"]["fom"] == result["points"][0]["posteriors"][
        "emulated NUTS"]["fom"]  # fmt: skip


@pytest.mark.parametrize("args, message", [
    (["compare", "--preset", "hydro"], "error: preset = 'hydro' is not allowed"),
    (["compare", "--light-cones", "no/such/store"], "error: light_cones = 'no/such/store' is not allowed"),
    (["sbi", "train", "no-store", "--out", "npe", "--summary", "hr"], "error: NPESettings.summary = 'hr'"),
])  # fmt: skip
def test_bad_command_options_exit_2_with_an_error_line(tmp_path, args, message):
    from typer.testing import CliRunner

    from xcosmo.cli import app

    result = CliRunner().invoke(app, [a if a not in ("npe",) else str(tmp_path / a) for a in args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "npe").exists()
