"""Campaigns (issue 17): a driver killed by SIGKILL resumes to the uninterrupted store, failures are recorded and
retried without stopping the others, bad stores and configs are refused untouched, exports are what the store holds.

The simulations are the analytical model's Poisson draws (the real model, about 30 ms each once compiled), run on a
real Dask cluster: worker processes for the driver under test, threads in this process for the reference."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from xcosmo.campaign import CampaignConfig, CampaignStore, run_campaign
from xcosmo.campaign.runner import create_campaign
from xcosmo.campaign.store import DONE, FAILED, simulation_seed

XCOSMO = str(Path(sys.executable).parent / "xcosmo")


@pytest.fixture(scope="module")
def threads_client():
    """A Dask client of one worker thread in this process (the analytical model is built once for the module)."""
    from distributed import Client

    client = Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0")
    yield client
    client.close()


def _store_arrays(path):
    s = CampaignStore.open(path)
    return s.theta, s.seeds, np.asarray(s.group["xod"][:]), s.records()


def test_driver_killed_by_sigkill_resumes_to_the_uninterrupted_store(tmp_path, threads_client):
    n = 120
    out = tmp_path / "killed"
    command = [XCOSMO, "campaign", "run", str(out), "--preset", "analytic", "--n", str(n), "--seed", "5",
               "--workers", "1", "-q"]  # fmt: skip
    driver = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        done_at_kill = np.zeros(n, bool)
        while time.time() < deadline and driver.poll() is None:
            time.sleep(0.2)
            if out.is_dir() and (out / "zarr.json").exists():
                done_at_kill = CampaignStore.open(out).status() == DONE
                if done_at_kill.sum() >= 10:
                    break
        assert driver.poll() is None, f"the driver ended before it could be killed: {driver.stderr.read()}"
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        _, _, xod_before, rec_before = _store_arrays(out)
        done_at_kill = rec_before[:, 0] == DONE  # what the store held when the driver died
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # the orphaned worker processes
        except ProcessLookupError:
            pass
    assert 10 <= done_at_kill.sum() < n, "the kill did not land mid-run"

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    theta, seeds, xod, rec = _store_arrays(out)
    assert (rec[:, 0] == DONE).all()
    # nothing finished before the kill was run again: same XOD, one attempt, the same finishing time
    np.testing.assert_array_equal(xod[done_at_kill], xod_before[done_at_kill])
    assert (rec[done_at_kill, 1] == 1).all()
    np.testing.assert_array_equal(rec[done_at_kill, 4], rec_before[done_at_kill, 4])

    reference = tmp_path / "reference"
    run_campaign(reference, CampaignConfig(n=n, simulator="analytic", seed=5), client=threads_client, progress=False)
    theta_r, seeds_r, xod_r, _ = _store_arrays(reference)
    np.testing.assert_array_equal(theta, theta_r)
    np.testing.assert_array_equal(seeds, seeds_r)
    np.testing.assert_array_equal(xod, xod_r)
    assert seeds[7] == simulation_seed(5, 7)


def test_a_simulation_that_raises_is_recorded_retried_and_does_not_stop_the_others(tmp_path, threads_client):
    config = CampaignConfig(n=6, simulator="analytic", seed=1, max_attempts=2)
    store = create_campaign(tmp_path / "c", config)
    store.group["theta"][3, 0] = 0.9  # Omega_m outside the model's prior: the simulator refuses it
    summary = run_campaign(tmp_path / "c", client=threads_client, progress=False)
    assert (summary["done"], summary["failed"]) == (5, 1)
    (failure,) = summary["failures"]
    assert failure["index"] == 3 and failure["attempts"] == 2
    assert "omega_m" in failure["error"] and "0.9" in failure["error"]
    status = CampaignStore.open(tmp_path / "c").status()
    assert status[3] == FAILED and (np.delete(status, 3) == DONE).all()
    # run again: a failure past max_attempts stays failed, nothing done is redone
    before = CampaignStore.open(tmp_path / "c").records()
    run_campaign(tmp_path / "c", client=threads_client, progress=False)
    np.testing.assert_array_equal(CampaignStore.open(tmp_path / "c").records(), before)


def test_export_holds_the_done_simulations(tmp_path, threads_client):
    import xarray as xr

    from xcosmo.campaign.export import export_campaign

    run_campaign(tmp_path / "c", CampaignConfig(n=4, simulator="analytic", design="random"), client=threads_client,
                 progress=False)  # fmt: skip
    path = export_campaign(tmp_path / "c", tmp_path / "c.nc")
    ds = xr.open_dataset(path)
    store = CampaignStore.open(tmp_path / "c")
    np.testing.assert_array_equal(ds["theta"].values, store.theta)
    np.testing.assert_array_equal(ds["xod"].values, store.group["xod"][:])
    np.testing.assert_array_equal(ds["n_clusters"].values, ds["xod"].values.sum(axis=(1, 2, 3)))
    assert list(ds["param"].values)[:2] == ["omega_m", "sigma_8"]
    assert ds.attrs["z_edges"][0] == pytest.approx(0.1)


def test_a_store_of_another_config_is_refused_untouched(tmp_path):
    create_campaign(tmp_path / "c", CampaignConfig(n=3, simulator="analytic"))
    before = sorted((p.relative_to(tmp_path), p.stat().st_mtime_ns) for p in (tmp_path / "c").rglob("*"))
    with pytest.raises(ValueError, match=r"config.seed is 0 there and 2 here"):
        run_campaign(tmp_path / "c", CampaignConfig(n=3, simulator="analytic", seed=2), progress=False)
    assert sorted((p.relative_to(tmp_path), p.stat().st_mtime_ns) for p in (tmp_path / "c").rglob("*")) == before


def test_a_store_painted_with_other_weights_is_refused_untouched(tmp_path, monkeypatch):
    """A light-cone store records its painter's weights; after they change (a new eLDL shipped) it is not resumed."""
    import xcosmo.painting as painting
    from emulators.eldl.weights import PRETRAINED, load_eldl

    shipped = painting.painter_weights("eldl")
    assert shipped["sha256"] == load_eldl(PRETRAINED)[1]["sha256"]
    assert painting.painter_weights("power-law") is None
    config = CampaignConfig(n=3, preset="tiny", painter="eldl")
    monkeypatch.setattr(painting, "painter_weights", lambda name: {**shipped, "sha256": "a" * 64})
    create_campaign(tmp_path / "c", config)
    before = sorted((p.relative_to(tmp_path), p.stat().st_mtime_ns) for p in (tmp_path / "c").rglob("*"))
    monkeypatch.setattr(painting, "painter_weights", lambda name: shipped)
    with pytest.raises(ValueError, match=r"painter_weights.sha256 is 'a{64}' there and '[0-9a-f]{64}' here"):
        run_campaign(tmp_path / "c", config, progress=False)
    assert sorted((p.relative_to(tmp_path), p.stat().st_mtime_ns) for p in (tmp_path / "c").rglob("*")) == before


def test_a_folder_that_is_not_a_store_or_a_partial_store_is_refused(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    with pytest.raises(ValueError, match="not readable as a campaign store"):
        run_campaign(tmp_path / "notes", CampaignConfig(n=3, simulator="analytic"), progress=False)
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine"

    create_campaign(tmp_path / "c", CampaignConfig(n=3, simulator="analytic"))
    import shutil

    shutil.rmtree(tmp_path / "c" / "record")
    with pytest.raises(ValueError, match=r"\['record'\] missing: a partial store"):
        CampaignStore.open(tmp_path / "c")


def test_an_unreachable_scheduler_is_refused_before_a_store_is_made(tmp_path):
    with pytest.raises(ConnectionError, match="scheduler = 'tcp://127.0.0.1:9' cannot be reached"):
        run_campaign(tmp_path / "c", CampaignConfig(n=3, simulator="analytic"), scheduler="tcp://127.0.0.1:9",
                     progress=False)  # fmt: skip
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("field, value, match", [("n", 0, "n = 0"), ("simulator", "hydro", "simulator = 'hydro'"),
                                                 ("design", "sobol", "design = 'sobol'"), ("seed", -1, "seed = -1")])  # fmt: skip
def test_bad_config_fields_are_named(field, value, match):
    kwargs = {"n": 3, "simulator": "analytic", field: value}
    with pytest.raises(ValueError, match=match):
        CampaignConfig(**kwargs)


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_its_task_resubmitted(tmp_path):
    from distributed import Client, LocalCluster

    from xcosmo.campaign.runner import WORKER_ENV

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0", env=WORKER_ENV) as cluster, \
            Client(cluster) as client:  # fmt: skip
        result = {}
        thread = threading.Thread(target=lambda: result.update(run_campaign(
            tmp_path / "c", CampaignConfig(n=300, simulator="analytic"), client=client, window=1, progress=False)))  # fmt: skip
        thread.start()
        while not (tmp_path / "c" / "zarr.json").exists() or (CampaignStore.open(tmp_path / "c").status() == DONE).sum() < 5:
            time.sleep(0.2)
        (pid,) = client.run(os.getpid).values()
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=300)
    assert result["done"] == 300 and result["failed"] == 0


def test_analytic_campaign_parameters_are_a_latin_hypercube_of_the_likelihood_priors():
    from scipy.special import ndtr

    from inference.likelihood import default_forward, nuisance_prior_sigma
    from xcosmo.analytic import PHI_NAMES
    from xcosmo.campaign.simulators import AnalyticSimulator

    n = 50
    config = CampaignConfig(n=n, simulator="analytic", seed=3)
    phi = AnalyticSimulator().from_unit(config.unit_design(len(PHI_NAMES)))
    fid = dict(zip(PHI_NAMES, default_forward().fiducial_phi()))
    widths = nuisance_prior_sigma()
    u = {"omega_m": (phi[:, 0] - 0.1) / 0.4, "sigma_8": (phi[:, 1] - 0.6) / 0.4}
    for i, name in enumerate(PHI_NAMES[2:], start=2):
        if name in ("a_mt", "a_lt"):
            u[name] = ndtr(np.log(phi[:, i] / fid[name]) / widths[f"ln_{name}"])
        else:
            u[name] = ndtr((phi[:, i] - fid[name]) / widths[name])
    for name, values in u.items():  # one point in each of the n equal-probability strata of every prior
        np.testing.assert_array_equal(np.sort(np.floor(values * n)), np.arange(n), err_msg=name)


def test_status_command_prints_counts_rate_and_failures(tmp_path):
    store = create_campaign(tmp_path / "c", CampaignConfig(n=4, simulator="analytic"))
    shape = store.group["xod"].shape[1:]
    store.write_done(0, np.ones(shape), 1152, 0.5, "node-a", 1)
    store.write_done(1, np.ones(shape), 1152, 0.5, "node-a", 1)
    store.write_failed(2, "ValueError: omega_m = 0.9 is not allowed", 3)
    out = subprocess.run([XCOSMO, "campaign", "status", str(tmp_path / "c")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "4 simulations: 2 done, 1 pending, 1 failed" in out.stdout
    assert "failed #2 after 3 attempt(s): ValueError: omega_m = 0.9 is not allowed" in out.stdout
    assert "1152.0 clusters per simulation" in out.stdout
    # two simulations of 0.5 s each, written together: as if run side by side, about 2 per 0.5 s
    assert 2 / 5.5 * 3600 < store.summary()["rate_per_hour"] <= 2 / 0.5 * 3600


@pytest.mark.parametrize("args, message", [
    (["--preset", "hydro", "--n", "3"], "error: preset = 'hydro' is not allowed"),
    (["--preset", "analytic"], "error: --preset and --n go together"),
    (["--preset", "analytic", "--n", "3", "--design", "sobol"], "error: design = 'sobol' is not allowed"),
])  # fmt: skip
def test_bad_campaign_options_exit_2_with_an_error_line(tmp_path, args, message):
    out = subprocess.run([XCOSMO, "campaign", "run", str(tmp_path / "c"), *args, "-q"], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert not (tmp_path / "c").exists()
