"""inference.sbi (issue 18): splits, normalisation, the MDN against closed forms, the calibration tests on exact and on
miscalibrated posteriors, resumable training, and the NPE pipeline on a small campaign of the analytical model
(shapes, files, refusals), Poisson resampling. Accuracy against NUTS is measured by ``bench/sbi_vs_nuts.py`` (hours)."""

from __future__ import annotations

import dataclasses
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from inference.sbi import (
    NPESettings,
    SBIDataset,
    TrainSettings,
    XODScale,
    fit_npe,
    load_npe,
    mdn_split,
    poisson_resampler,
    split_indices,
)
from inference.sbi.calibration import coverage, ranks, sbc_pvalues, tarp
from inference.sbi.compressor import Compressor
from inference.sbi.mdn import MDN
from inference.sbi.training import train
from xcosmo.analytic import phi_from_unit


def test_splits_follow_the_paper_and_are_disjoint():
    s = split_indices(480, seed=3)
    assert {k: v.size for k, v in s.items()} == {"train": 320, "validation": 40, "test": 40, "heldout": 80}
    every = np.concatenate(list(s.values()))
    assert np.array_equal(np.sort(every), np.arange(480))
    assert all(np.array_equal(a, b) for a, b in zip(s.values(), split_indices(480, seed=3).values()))
    assert not np.array_equal(s["train"], split_indices(480, seed=4)["train"])
    with pytest.raises(ValueError, match="n = 47"):
        split_indices(47)


def test_an_mdn_fitted_to_statistics_learns_from_a_shuffle_of_training_and_validation_examples():
    s = split_indices(480, seed=3)
    m_tr, m_va = mdn_split(s["train"], s["validation"], seed=3)
    assert m_tr.size == 320 and m_va.size == 40
    assert np.array_equal(np.sort(np.concatenate([m_tr, m_va])), np.sort(np.concatenate([s["train"], s["validation"]])))
    # examples the compressor never trained on, on both sides
    assert np.isin(m_tr, s["validation"]).any() and np.isin(m_va, s["validation"]).any()
    assert np.array_equal(m_va, mdn_split(s["train"], s["validation"], seed=3)[1])
    assert not np.array_equal(m_va, mdn_split(s["train"], s["validation"], seed=4)[1])


def test_xod_scale_maps_the_training_maximum_to_one():
    counts = np.random.default_rng(0).poisson(5.0, size=(10, 3, 4, 4)).astype(float)
    scale = XODScale.fit(counts)
    x = scale(counts)
    assert x.dtype == np.float32 and x.min() >= 0
    assert np.allclose(x.max(axis=(0, 2, 3)), 1.0)
    assert np.allclose(scale(np.zeros((3, 4, 4))), 0.0)


def test_compressor_maps_an_xod_to_one_number_per_parameter():
    c = Compressor((8, 12, 12), 6, key=jax.random.key(0))
    y = jax.vmap(c)(jnp.ones((3, 8, 12, 12)))
    assert y.shape == (3, 6) and bool(jnp.all((y > 0) & (y < 1)))  # MSE head: a sigmoid, the targets are in [0, 1]
    assert len(c.blocks) == 4 and all(len(b.convs) == 3 for b in c.blocks)  # the paper's 4 blocks of 3 convolutions
    assert Compressor((8, 12, 12), 6, key=jax.random.key(0), loss="vmim")(jnp.ones((8, 12, 12))).shape == (6,)
    with pytest.raises(ValueError, match="loss"):
        Compressor((8, 12, 12), 6, key=jax.random.key(0), loss="l1")


def test_mdn_density_is_the_gaussian_mixture_it_describes():
    mdn = MDN(3, 2, key=jax.random.key(1), n_components=4)
    y = jnp.array([0.3, -1.0, 2.0])
    log_w, means, chol = mdn.mixture(y)
    z = np.array([0.2, -0.4])
    expected = np.log(sum(np.exp(lw) * multivariate_normal(m, l @ l.T).pdf(z)
                          for lw, m, l in zip(np.asarray(log_w), np.asarray(means), np.asarray(chol))))  # fmt: skip
    assert float(mdn.log_prob(jnp.asarray(z), y)) == pytest.approx(expected, rel=1e-5)
    draws = np.asarray(mdn.sample(jax.random.key(2), y, 200_000))
    w = np.exp(np.asarray(log_w))
    mean = (w[:, None] * np.asarray(means)).sum(0)
    assert np.allclose(draws.mean(0), mean, atol=0.02)


def _linear_gaussian(n, rng):
    """z ~ N(0, 1) (2-D), y = A z + N(0, 0.5^2): the posterior of z given y is Gaussian with known moments."""
    a = np.array([[1.0, 0.5], [0.0, 1.5]])
    z = rng.standard_normal((n, 2))
    y = z @ a.T + 0.5 * rng.standard_normal((n, 2))
    precision = np.eye(2) + a.T @ a / 0.25
    cov = np.linalg.inv(precision)
    return z.astype(np.float32), y.astype(np.float32), a, cov


def test_mdn_learns_a_known_posterior():
    rng = np.random.default_rng(0)
    z, y, a, cov = _linear_gaussian(20_000, rng)
    mdn = MDN(2, 2, key=jax.random.key(0), n_components=1, width=32).with_standardisation(y[:18_000])
    loss = lambda m, b: -jnp.mean(jax.vmap(m.log_prob)(b[1], b[0]))  # noqa: E731
    mdn, history = train(mdn, loss, (y[:18_000], z[:18_000]), (y[18_000:], z[18_000:]),
                         TrainSettings(max_epochs=60, batch_size=128, learning_rate=3e-3, patience=10))  # fmt: skip
    y0 = np.array([1.0, -2.0])
    mean = cov @ a.T @ y0 / 0.25
    draws = np.asarray(mdn.sample(jax.random.key(3), jnp.asarray(y0), 20_000))
    sd = np.sqrt(np.diag(cov))
    # a network fitted to 18 000 simulations, evaluated at one y: its errors are a few percent of the posterior's
    assert np.all(np.abs(draws.mean(0) - mean) < 0.15 * sd), (draws.mean(0), mean)
    assert np.allclose(draws.std(0), sd, rtol=0.1), (draws.std(0), sd)
    assert history[-1]["epoch"] <= 60 and min(h["validation"] for h in history) < history[0]["validation"]


def test_calibration_tests_pass_exact_posteriors_and_fail_overconfident_ones():
    rng = np.random.default_rng(1)
    n, n_draws = 500, 200
    z, y, a, cov = _linear_gaussian(n, rng)
    mean = y @ (cov @ a.T / 0.25).T
    chol = np.linalg.cholesky(cov)
    exact = mean[:, None, :] + rng.standard_normal((n, n_draws, 2)) @ chol.T
    narrow = mean[:, None, :] + 0.5 * rng.standard_normal((n, n_draws, 2)) @ chol.T
    r_exact, r_narrow = ranks(z, exact), ranks(z, narrow)
    assert np.all(sbc_pvalues(r_exact, n_draws) > 0.01)
    assert np.all(sbc_pvalues(r_narrow, n_draws) < 1e-4)
    cov_exact, cov_narrow = coverage(r_exact, n_draws), coverage(r_narrow, n_draws)
    assert np.allclose(cov_exact[10], 0.5, atol=0.07) and np.all(cov_narrow[14] < 0.5)  # alpha = 0.5, 0.7
    # TARP works in the unit cube: map the standard normal coordinates there
    from scipy.special import ndtr

    assert tarp(ndtr(z), ndtr(exact))["max_deviation"] < 0.08
    assert tarp(ndtr(z), ndtr(narrow))["max_deviation"] > 0.15


def test_tarp_matches_the_tarp_package():
    """Lemos et al.'s own implementation (``tarp.get_tarp_coverage``), same draws and reference points: the expected
    coverage at its credibility edges (f < alpha, as ours; its last edge counts f = alpha too)."""
    from tarp import get_tarp_coverage

    rng = np.random.default_rng(5)
    truth = rng.uniform(size=(300, 3))
    draws = np.clip(truth[:, None, :] + 0.1 * rng.standard_normal((300, 400, 3)) + 0.03, 0, 1)
    refs = rng.uniform(size=(300, 3))
    ecp, alpha = get_tarp_coverage(draws.transpose(1, 0, 2), truth, references=refs, norm=False, num_alpha_bins=30)
    ours = tarp(truth, draws, alphas=alpha[:-1], references=refs)["ecp"]
    assert np.allclose(ours, ecp[:-1], atol=1e-12)


def test_early_stopping_refines_from_the_best_state_at_a_tenth_of_the_step():
    rng = np.random.default_rng(4)
    z, y, _, _ = _linear_gaussian(200, rng)  # few examples, a large step: the validation loss soon stops improving
    loss = lambda m, b: -jnp.mean(jax.vmap(m.log_prob)(b[1], b[0]))  # noqa: E731
    mdn = MDN(2, 2, key=jax.random.key(0), n_components=2, width=32).with_standardisation(y)
    data = ((y[:100], z[:100]), (y[100:], z[100:]))
    plain = TrainSettings(max_epochs=300, batch_size=20, learning_rate=3e-2, patience=4, refinements=0)
    best_model, stopped = train(mdn, loss, *data, plain)
    _, refined = train(mdn, loss, *data, dataclasses.replace(plain, refinements=1))
    k = len(stopped)
    assert k < 300 and k - int(np.argmin([h["validation"] for h in stopped])) - 1 == 4  # stopped by patience
    # the first phase is the plain training, epoch for epoch; then Adam restarts at a tenth of the step
    assert [h["validation"] for h in refined[:k]] == [h["validation"] for h in stopped]
    assert {h["learning_rate"] for h in refined[:k]} == {3e-2}
    assert len(refined) >= k + 4 and np.allclose([h["learning_rate"] for h in refined[k:]], 3e-3)
    # restarted from the best state, not from where the large step had wandered to: the first refined epoch is one
    # epoch of a fresh Adam at 3e-3 from the best model (the batches in the module docstring's order)
    import optax

    params, static = eqx.partition(best_model, eqx.is_inexact_array)
    adam = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(3e-3))
    state = adam.init(params)
    order = np.random.default_rng([0, k]).permutation(100)
    for a in range(0, 100, 20):
        batch = tuple(jnp.asarray(x[order[a:a + 20]]) for x in data[0])
        grads = eqx.filter_grad(lambda q: loss(eqx.combine(q, static), batch))(params)
        updates, state = adam.update(grads, state, params)
        params = eqx.apply_updates(params, updates)
    expected = float(loss(eqx.combine(params, static), tuple(jnp.asarray(x) for x in data[1])))
    assert refined[k]["validation"] == pytest.approx(expected, abs=1e-4)
    with pytest.raises(ValueError, match="TrainSettings.refinements"):
        TrainSettings(refinements=-1)


def test_training_resumes_from_its_checkpoint_to_the_uninterrupted_result(tmp_path):
    rng = np.random.default_rng(2)
    z, y, _, _ = _linear_gaussian(600, rng)
    loss = lambda m, b: -jnp.mean(jax.vmap(m.log_prob)(b[1], b[0]))  # noqa: E731
    mdn = MDN(2, 2, key=jax.random.key(0), n_components=2, width=16).with_standardisation(y)
    data = ((y[:500], z[:500]), (y[500:], z[500:]))
    full = TrainSettings(max_epochs=6, batch_size=100, patience=100)
    reference, _ = train(mdn, loss, *data, full)
    ckpt = tmp_path / "mdn.ckpt"
    train(mdn, loss, *data, TrainSettings(max_epochs=3, batch_size=100, patience=100), checkpoint=ckpt)
    with pytest.raises(ValueError, match="another training"):
        train(mdn, loss, *data, full, checkpoint=ckpt)  # settings differ: refused
    info = json.loads(ckpt.read_bytes().split(b"\n", 1)[0])
    info["settings"]["max_epochs"], info["done"] = 6, False  # the same run, stopped after 3 epochs
    leaves = ckpt.read_bytes().split(b"\n", 1)[1]
    ckpt.write_bytes(json.dumps(info).encode() + b"\n" + leaves)
    resumed, history = train(mdn, loss, lambda: data[0], data[1], full, checkpoint=ckpt)  # training data on demand
    assert [h["epoch"] for h in history] == list(range(1, 7))
    # a finished training returns its best model without asking for its training data
    again, _ = train(mdn, loss, lambda: pytest.fail("the training data of a finished training was asked for"), data[1],
                     full, checkpoint=ckpt)  # fmt: skip
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(eqx.filter(again, eqx.is_array)),
                                                    jax.tree.leaves(eqx.filter(resumed, eqx.is_array))))  # fmt: skip
    arrays = lambda m: jax.tree.leaves(eqx.filter(m, eqx.is_array))  # noqa: E731
    for a, b in zip(arrays(reference), arrays(resumed), strict=True):
        assert np.allclose(a, b, atol=1e-6)
    ckpt.write_bytes(ckpt.read_bytes()[:-100])
    with pytest.raises(ValueError, match="cannot be resumed"):
        train(mdn, loss, *data, full, checkpoint=ckpt)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A campaign of 96 Poisson XODs of the analytical model, simulated in this process."""
    from xcosmo.campaign import campaign_preset
    from xcosmo.campaign.runner import create_campaign

    path = tmp_path_factory.mktemp("sbi") / "store"
    config = campaign_preset("analytic", 96, seed=1)
    simulator = config.simulator_object()
    s = create_campaign(path, config, simulator)
    for i, (theta, seed) in enumerate(zip(s.theta, s.seeds)):
        out = simulator(theta, int(seed))
        s.write_done(i, out.xod, out.n_clusters, out.wall_s, out.host, 1)
    return path


QUICK = NPESettings(loss="vmim", channels=(4, 4), mlp_width=16, n_components=2, mdn_width=16,
                    compressor_training=TrainSettings(max_epochs=3, batch_size=32),
                    mdn_training=TrainSettings(max_epochs=3, batch_size=32))  # fmt: skip


def test_npe_pipeline_on_a_campaign_store(store, tmp_path):
    data = SBIDataset.from_store(store)
    assert data.n == 96 and data.names[:2] == ("omega_m", "sigma_8") and data.counts.shape == (96, 8, 12, 12)
    assert np.all((data.unit > 0) & (data.unit < 1))
    assert np.allclose(data.theta, phi_from_unit(data.unit))
    post = fit_npe(data, QUICK, out=tmp_path / "npe")
    assert post.meta["sizes"] == {"train": 64, "validation": 8, "test": 8, "heldout": 16}
    # with VMIM the posterior is the compressor's jointly trained head: its validation ln q is the best VMIM loss
    best = min(h["validation"] for h in post.meta["history"]["compressor"])
    assert post.meta["history"]["mdn"] == [] and post.meta["validation_log_q"][0] == pytest.approx(-best, abs=1e-4)
    seen = set(post.meta["splits"]["train"]) | set(post.meta["splits"]["validation"])
    assert len(post.meta["mdn_validation"]) == 8 and set(post.meta["mdn_validation"]) <= seen
    draws = post.sample(data.counts[0], 500, seed=1)
    assert draws["theta"].shape == (500, 8)
    assert np.all((draws["theta"][:, 0] > 0.1) & (draws["theta"][:, 0] < 0.5))  # inside the prior
    again = load_npe(tmp_path / "npe" / "npe.eqx", binning=data.binning)
    assert np.allclose(again.log_prob(data.theta[:4], data.counts[0]), post.log_prob(data.theta[:4], data.counts[0]))
    ds = again.posterior_dataset(data.counts[0], 100)
    assert set(ds.data_vars) == set(data.names) and ds.sizes == {"chain": 1, "draw": 100}
    # refusals
    with pytest.raises(ValueError, match="xod"):
        post.sample(data.counts[0][:4], 10)  # another binning's shape
    with pytest.raises(ValueError, match="omega_m"):
        post.log_prob(np.array([[0.6, *data.theta[0, 1:]]]), data.counts[0])  # Omega_m outside U(0.1, 0.5)
    with pytest.raises(ValueError, match="like the training simulations"):
        post.sample(100 * data.counts[0] + 1000, 10)
    with pytest.raises(ValueError, match="another survey or binning"):
        load_npe(tmp_path / "npe" / "npe.eqx", binning={"survey": {}, "binning": {}})
    weights = tmp_path / "npe" / "npe.eqx"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ValueError, match="SHA-256"):
        load_npe(weights)


def test_mdns_fitted_to_mse_statistics_are_validated_and_weighted_on_their_own_examples(store):
    data = SBIDataset.from_store(store)
    post = fit_npe(data, dataclasses.replace(QUICK, loss="mse", ensemble=2))
    assert len(post.mdns) == 2 and len(post.meta["history"]["mdn"]) == 2
    held = np.isin(data.index, post.meta["mdn_validation"])
    assert held.sum() == 8
    y, z = post.statistics(data.counts[held]), jnp.asarray(data.normal[held], jnp.float32)
    expected = [float(jnp.mean(jax.vmap(m.log_prob)(z, y))) for m in post.mdns]
    np.testing.assert_allclose(post.meta["validation_log_q"], expected, rtol=1e-5)
    np.testing.assert_allclose(np.exp(post.log_weights), np.exp(expected) / np.exp(expected).sum(), rtol=1e-5)


def test_a_store_with_too_few_simulations_is_refused(store):
    with pytest.raises(ValueError, match="at least 200 finished simulations"):
        SBIDataset.from_store(store, min_simulations=200)


def test_sbi_command_line(store, tmp_path):
    """train, sample and diagnose from the console script, on the small campaign; an XOD of another survey refused."""
    import xarray as xr
    from typer.testing import CliRunner

    from xcosmo.cli import app
    from xcosmo.xod import Binning, Survey, save_xod

    runner = CliRunner()
    npe = tmp_path / "npe"
    result = runner.invoke(app, ["sbi", "train", str(store), "--out", str(npe), "--epochs", "2", "-q"])
    assert result.exit_code == 0, result.output
    data = SBIDataset.from_store(store)
    xod = tmp_path / "xod.h5"
    save_xod(xod, data.counts[0], Binning(), Survey())
    result = runner.invoke(app, ["sbi", "sample", str(npe / "npe.eqx"), "--xod", str(xod), "--out",
                                 str(tmp_path / "post.nc"), "-n", "200"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "omega_m" in result.output and "68% interval" in result.output
    post = xr.open_dataset(tmp_path / "post.nc")
    assert post.sizes == {"chain": 1, "draw": 200} and set(post.data_vars) == set(data.names)
    other = tmp_path / "other.h5"
    save_xod(other, data.counts[0], Binning(), Survey(area_deg2=50.0))
    result = runner.invoke(app, ["sbi", "sample", str(npe / "npe.eqx"), "--xod", str(other), "--out",
                                 str(tmp_path / "other.nc")])  # fmt: skip
    assert result.exit_code == 2 and "area_deg2" in result.output, result.output
    result = runner.invoke(app, ["sbi", "diagnose", str(npe / "npe.eqx"), "--store", str(store), "--out",
                                 str(tmp_path / "diag"), "--draws", "50", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "diag" / "diagnostics.json").read_text())
    assert report["n_xods"] == 16 and set(report["sbc_ks_pvalue"]) == set(data.names)
    for name in ("sbc.png", "coverage.png", "regression.png", "gallery.png"):
        assert (tmp_path / "diag" / name).stat().st_size > 0
    result = runner.invoke(app, ["sbi", "train", str(store), "--out", str(tmp_path / "eps"), "--poisson-resampling",
                                 "--emulator-errors", "2", "-q"])  # fmt: skip
    assert result.exit_code == 2 and "error: NPESettings.emulator_errors = 2" in result.output, result.output
    assert not (tmp_path / "eps" / "compressor.ckpt").exists()


def test_summaries_are_the_xod_summed_over_their_axes():
    from inference.sbi.summaries import summarise, summary_shape

    xods = np.random.default_rng(0).poisson(3.0, size=(5, 8, 12, 12))
    expected = {"z-cr-hr": xods, "cr-hr": xods.sum(axis=1)[:, None], "z-cr": xods.sum(axis=3)[..., None],
                "z": xods.sum(axis=(2, 3))[..., None, None]}  # fmt: skip
    for name, want in expected.items():
        got = summarise(xods, name)
        np.testing.assert_array_equal(got, want, err_msg=name)
        assert summary_shape((8, 12, 12), name) == got.shape[1:], name
    with pytest.raises(ValueError, match="summary = 'cr-z' is not allowed"):
        summarise(xods, "cr-z")
    with pytest.raises(ValueError, match="NPESettings.summary"):
        NPESettings(summary="hr")


def test_an_npe_of_dn_dz_sees_only_the_counts_per_redshift_bin(store, tmp_path):
    data = SBIDataset.from_store(store)
    post = fit_npe(data, dataclasses.replace(QUICK, summary="z"), out=tmp_path / "npe")
    xod = data.counts[0]
    shuffled = np.stack([np.random.default_rng(z).permutation(plane.ravel()).reshape(plane.shape) for z, plane in
                         enumerate(xod)])  # fmt: skip
    moved = xod.copy()
    moved[0, 0, 0] += 5  # another total in the first redshift bin
    again = load_npe(tmp_path / "npe" / "npe.eqx")
    np.testing.assert_allclose(again.statistic(shuffled), post.statistic(xod), rtol=1e-6)
    assert not np.allclose(again.statistic(moved), post.statistic(xod))
    assert again.sample(xod, 50)["theta"].shape == (50, 8)


def test_fresh_draws_redraw_each_training_batch_but_never_the_validation_set():
    """train(draw=...): the recorded training loss of a one-batch epoch is the loss of the batch redrawn with the key
    of the module docstring (seed, epoch, position); the validation loss is that of the validation set as given."""
    rng = np.random.default_rng(5)
    z, y, _, _ = _linear_gaussian(300, rng)
    loss = lambda m, b: -jnp.mean(jax.vmap(m.log_prob)(b[1], b[0]))  # noqa: E731
    mdn = MDN(2, 2, key=jax.random.key(0), n_components=2, width=16).with_standardisation(y)
    data = ((y[:200], z[:200]), (y[200:], z[200:]))
    draw = lambda key, b: (b[0], b[1] + 2 * jax.random.normal(key, b[1].shape))  # noqa: E731
    settings = TrainSettings(max_epochs=1, batch_size=200, patience=5, seed=3)
    model, history = train(mdn, loss, *data, settings, draw=draw)
    order = np.random.default_rng([3, 0]).permutation(200)
    batch = tuple(jnp.asarray(x[order]) for x in data[0])
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(3), 0), 0)
    assert history[0]["train"] == pytest.approx(float(loss(mdn, draw(key, batch))), rel=1e-5)
    assert history[0]["train"] > float(loss(mdn, batch)) + 0.5  # the redrawn targets are further from the model
    validation = tuple(jnp.asarray(x) for x in data[1])
    assert history[0]["validation"] == pytest.approx(float(loss(model, validation)), rel=1e-5)


def test_poisson_resampling_trains_on_draws_of_the_expected_xods(store, tmp_path):
    data = SBIDataset.from_store(store)
    lam = data.expected()
    assert lam.shape == data.counts.shape and np.all(lam >= 0)
    # the stored XODs are Poisson draws of these expectations: each XOD's total count, standardised, is ~ N(0, 1)
    total = lam.sum(axis=(1, 2, 3))
    pull = (data.counts.sum(axis=(1, 2, 3)) - total) / np.sqrt(total)
    assert abs(pull.mean()) < 0.4 and 0.7 < pull.std() < 1.4
    post = fit_npe(data, dataclasses.replace(QUICK, poisson_resampling=True), out=tmp_path / "npe")
    assert post.meta["settings"]["poisson_resampling"] is True
    assert load_npe(tmp_path / "npe" / "npe.eqx").meta["settings"]["poisson_resampling"] is True
    # a light-cone campaign has no expected XODs to redraw from: refused before any training
    from xcosmo.campaign.simulators import LightConeSimulator

    lightcone = dataclasses.replace(data, spec=LightConeSimulator.named("tiny").spec())
    with pytest.raises(ValueError, match="expected XODs"):
        fit_npe(lightcone, dataclasses.replace(QUICK, poisson_resampling=True), out=tmp_path / "refused")
    assert not (tmp_path / "refused" / "compressor.ckpt").exists()
    with pytest.raises(TypeError, match="NPESettings.poisson_resampling"):
        NPESettings(poisson_resampling="yes")
    # other emulator errors: only with Poisson resampling, and only where the expectation has one (not here)
    with pytest.raises(ValueError, match="NPESettings.emulator_errors"):
        NPESettings(emulator_errors=2)
    with pytest.raises(ValueError, match="NPESettings.emulator_errors.*'analytic'"):
        fit_npe(data, dataclasses.replace(QUICK, poisson_resampling=True, emulator_errors=2), out=tmp_path / "no-eps")
    assert not (tmp_path / "no-eps" / "compressor.ckpt").exists()
    with pytest.raises(ValueError, match="error.*seed"):
        data.expected(error=1)


def test_a_poisson_resampler_picks_one_of_each_simulations_expectations_at_random():
    """Half the simulations have expectations (4, 4) and half (4, 400) in their one bin: the first half never draws
    near 400, the second does half the time (2000 fair picks: 0.5 +- 0.011), and each pick is a Poisson draw of its
    expectation (mean and variance)."""
    n = 4000
    lam = np.full((n, 2, 1, 1, 1), 4.0, np.float32)
    lam[n // 2 :, 1] = 400.0
    x, rows = poisson_resampler(XODScale(np.ones(1)))(jax.random.key(0), (jnp.asarray(lam), jnp.arange(n)))
    np.testing.assert_array_equal(rows, np.arange(n))
    counts = np.round(np.expm1(np.asarray(x, np.float64))).ravel()
    high = counts > 200
    assert not high[: n // 2].any()
    assert 0.45 < high[n // 2 :].mean() < 0.55
    for picked, mean in ((counts[~high], 4.0), (counts[high], 400.0)):
        assert abs(picked.mean() - mean) < 5 * np.sqrt(mean / picked.size)
        assert 0.85 < picked.var() / mean < 1.15


def test_a_vmim_statistic_may_be_longer_than_the_parameters(store, tmp_path):
    data = SBIDataset.from_store(store)
    post = fit_npe(data, dataclasses.replace(QUICK, statistic_size=12), out=tmp_path / "npe")
    xod = data.counts[0]
    again = load_npe(tmp_path / "npe" / "npe.eqx")
    assert post.statistic(xod).shape == (12,) and again.sample(xod, 50)["theta"].shape == (50, 8)
    np.testing.assert_allclose(again.statistic(xod), post.statistic(xod), rtol=1e-6)
    with pytest.raises(ValueError, match="NPESettings.statistic_size = 12 is not allowed: None with loss = 'mse'"):
        NPESettings(loss="mse", statistic_size=12)
