"""Tests of emulators.scaling.training and the scaling commands, on a measurement store whose catalogues are drawn
here from relations known at every design point (the particle mesh is tested in test_sr_measure.py): the measured
relations recover them, the leave-out validation is calibrated, and the commands write what they say."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from emulators.scaling.relations import PIVOT_MASS, RELATION_NAMES
from emulators.scaling.simulator import ScalingSimulator
from xcosmo.campaign.config import CampaignConfig
from xcosmo.campaign.runner import campaign_attrs
from xcosmo.campaign.store import CampaignStore
from xcosmo.cli import app

N_POINTS = 36


def truth(u):
    """The seven relation quantities as smooth functions of the design coordinates u (n, 7)."""
    return np.stack([-0.8 + 0.6 * u[:, 0] - 1.2 * u[:, 6], 1.5 + 0.3 * u[:, 2], 0.25 + 0.05 * u[:, 2],
                     -0.3 + 0.1 * u[:, 6], 0.3 + 0.0 * u[:, 0], 0.08 + 0.02 * u[:, 4], 0.5 - 0.2 * u[:, 3]], 1)  # fmt: skip


def catalogue(rel, n, rng):
    a_cr, b_cr, s_cr, a_hr, b_hr, s_hr, rho = rel
    x = rng.uniform(-1.2, 0.8, n)
    e = rng.multivariate_normal([0, 0], [[s_cr**2, rho * s_cr * s_hr], [rho * s_cr * s_hr, s_hr**2]], n)
    cr, hr = 10 ** (a_cr + b_cr * x + e[:, 0]), 10 ** (a_hr + b_hr * x + e[:, 1])
    soft = cr / (1 + hr)
    return np.stack([PIVOT_MASS * 10**x, soft, cr - soft], 1)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("sr") / "store"
    config = CampaignConfig(n=N_POINTS, simulator="scaling", preset="cpu", seed=3)
    sim = ScalingSimulator.named("cpu")
    theta_z = sim.from_unit(config.unit_design(7))
    s = CampaignStore.create(path, theta=theta_z, seeds=np.arange(N_POINTS, dtype=np.uint64),
                             xod_shape=sim.output_shape, attrs=campaign_attrs(config, sim))  # fmt: skip
    rng = np.random.default_rng(0)
    for i, rel in enumerate(truth(sim.to_unit(theta_z))):
        cat = catalogue(rel, 300, rng)
        out = np.full(sim.output_shape, np.nan, np.float32)
        out[: len(cat)] = cat
        s.write_done(i, out, len(cat), 1.0, "test", 1)
    return path


def test_measurements_recover_the_relations_of_every_point(store):
    from emulators.scaling.training import measurements

    data = measurements(store)
    assert len(data["index"]) == N_POINTS and data["skipped"] == []
    pulls = (data["value"] - truth(data["unit"])) / data["error"]
    assert np.all(np.abs(pulls.mean(0)) < 0.6) and np.all(pulls.std(0) < 1.5), pulls.std(0)


def test_validation_is_calibrated_on_held_out_points(store):
    from emulators.scaling.training import measurements, validate

    report = validate(measurements(store), folds=4, seed=1, steps=600)
    assert report["n_points"] == N_POINTS and np.bincount(report["fold"]).tolist() == [9, 9, 9, 9]
    pooled = np.asarray(report["pulls"]).ravel()
    assert 0.6 < pooled.std() < 1.5, report["pull_std"]


def test_bad_folds_are_refused(store, tmp_path):
    from emulators.scaling.training import measurements, validate

    with pytest.raises(ValueError, match="folds"):
        validate(measurements(store), folds=N_POINTS + 1)
    refused = CliRunner().invoke(app, ["scaling", "fit", str(store), "--out", str(tmp_path / "f"), "--folds", "1"])
    assert refused.exit_code == 2 and "error: folds" in refused.output, refused.output
    assert not (tmp_path / "f").exists()


def test_commands_fit_query_and_draw(store, tmp_path):
    runner = CliRunner()
    fit = runner.invoke(app, ["scaling", "fit", str(store), "--out", str(tmp_path / "fit"), "--quiet"])
    assert fit.exit_code == 0, fit.output
    meta = json.loads((tmp_path / "fit" / "scaling.json").read_text())
    assert meta["n_points"] == N_POINTS and set(meta["validation"]["pull_std"]) == set(RELATION_NAMES)
    assert (tmp_path / "fit" / "validation.png").stat().st_size > 0
    weights = str(tmp_path / "fit" / "scaling.eqx")
    query = runner.invoke(app, ["emulate-sr", "--emulator", weights, "--a-sn1", "2", "--z", "0.3",
                                "--plot", str(tmp_path / "cr_m.png")])  # fmt: skip
    assert query.exit_code == 0, query.output
    assert "CR-M slope" in query.output and (tmp_path / "cr_m.png").is_file()
    refused = runner.invoke(app, ["emulate-sr", "--emulator", weights, "--z", "0.9"])
    assert refused.exit_code == 2 and "z" in refused.output
    figures = runner.invoke(app, ["scaling", "figures", "--emulator", weights, "--out", str(tmp_path / "fig"),
                                  "--measured", str(tmp_path / "fit" / "measurements.json"), "--quiet"])  # fmt: skip
    assert figures.exit_code == 0, figures.output
    assert {p.name for p in (tmp_path / "fig").iterdir()} >= {"figure13.png", "figureB1.png", "run.json"}


def test_measurements_refuse_a_campaign_of_xods(tmp_path):
    from emulators.scaling.training import measurements
    from xcosmo.campaign.simulators import AnalyticSimulator

    config = CampaignConfig(n=2, simulator="analytic")
    sim = AnalyticSimulator()
    CampaignStore.create(tmp_path / "xods", theta=np.zeros((2, 8)), seeds=np.arange(2, dtype=np.uint64),
                         xod_shape=sim.output_shape, attrs=campaign_attrs(config, sim))  # fmt: skip
    with pytest.raises(ValueError, match="scaling-relation measurement"):
        measurements(tmp_path / "xods")


def test_measurements_pool_stores_of_one_simulator_and_refuse_others(store, tmp_path):
    from emulators.scaling.training import measurements

    one, two = measurements(store), measurements([store, store])
    assert len(two["index"]) == 2 * len(one["index"])
    assert two["store"].tolist() == [0] * N_POINTS + [1] * N_POINTS
    np.testing.assert_array_equal(two["theta_z"][N_POINTS:], one["theta_z"])
    np.testing.assert_array_equal(two["value"][:N_POINTS], one["value"])  # the first store's bootstrap unchanged
    assert not np.array_equal(two["error"][N_POINTS:], one["error"])  # the second's resampled with other seeds

    config = CampaignConfig(n=2, simulator="scaling", preset="paper", seed=4)
    sim = ScalingSimulator.named("paper")
    other = CampaignStore.create(tmp_path / "paper", theta=sim.from_unit(config.unit_design(7)),
                                 seeds=np.arange(2, dtype=np.uint64), xod_shape=sim.output_shape,
                                 attrs=campaign_attrs(config, sim))  # fmt: skip
    with pytest.raises(ValueError, match="volumes and painter"):
        measurements([store, other.path])


def test_fit_refuses_stores_painted_with_other_eldl_weights(store, tmp_path):
    source = CampaignStore.open(store)
    attrs = {**source.attrs, "painter_weights": {"path": "emulators/eldl/pretrained/eldl.eqx", "sha256": "0" * 64}}
    other = CampaignStore.create(tmp_path / "other", theta=source.theta, seeds=np.arange(N_POINTS, dtype=np.uint64),
                                 xod_shape=ScalingSimulator.named("cpu").output_shape, attrs=attrs)  # fmt: skip
    refused = CliRunner().invoke(app, ["scaling", "fit", str(store), str(other.path), "--out", str(tmp_path / "f")])
    assert refused.exit_code == 2, refused.output
    assert "error: stores" in refused.output and "one set of eLDL weights" in refused.output, refused.output
    assert not (tmp_path / "f").exists()
