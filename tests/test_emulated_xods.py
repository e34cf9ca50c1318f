"""Tests of emulators.scaling.xods: Poisson XODs of the emulated-relation model as a campaign simulator.

The emulator is a real one (Gaussian processes fitted here to smooth relations with large errors, so that its
predictive error is large); the draws are checked against the law of total variance of the hierarchical model
eps ~ N(0, 1), N ~ Poisson(lambda(theta, eps)), whose two terms are estimated here with numpy's own normal draws."""

from __future__ import annotations

import numpy as np
import pytest

from xcosmo.params import Params

THETA = np.asarray(Params.fiducial().to_array(), np.float64)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    from emulators.scaling.emulator import fit_emulator, save_emulator

    rng = np.random.default_rng(0)
    u = rng.uniform(size=(30, 7))
    base = np.array([-0.9, 1.4, 0.25, -0.25, 0.25, 0.08, 0.45])
    values = base + 0.1 * np.sin(3 * u[:, :1]) - 0.6 * u[:, 6:7] + 0.05 * rng.normal(size=(30, 7))
    emulator = fit_emulator(u, values, np.full((30, 7), 0.05), steps=200)
    return save_emulator(emulator, tmp_path_factory.mktemp("emu") / "scaling.eqx", {"note": "test"})


@pytest.fixture(scope="module")
def simulator(weights):
    from emulators.scaling.xods import EmulatedXODSimulator

    return EmulatedXODSimulator.named(str(weights))


def test_draws_follow_the_marginalised_model(simulator):
    """Mean and variance of the total count over 150 seeds against E[Lambda] and E[Lambda] + Var[Lambda], Lambda the
    expected total at eps ~ N(0, 1) (300 draws): the emulator's error is drawn per XOD, not fixed or absent (then the
    variance would be the mean, a tenth of it here). The variances' sampling errors are ~12% together."""
    import jax

    totals = np.array([simulator(THETA, seed).xod.sum() for seed in range(150)], np.float64)
    forward = simulator._forward
    with jax.enable_x64(True):
        eps = np.random.default_rng(1).normal(size=(300, 7))
        lam = np.array([float(forward.from_theta(THETA, e).sum()) for e in eps])
    mean, var = lam.mean(), lam.mean() + lam.var()
    assert lam.var() > 10 * lam.mean(), "the test's emulator should be imprecise enough to tell the models apart"
    assert abs(totals.mean() - mean) < 4 * np.sqrt(var / len(totals)), (totals.mean(), mean)
    assert 0.6 < totals.var() / var < 1.4, (totals.var(), var)


def test_expected_xods_are_those_each_seed_draws_from(simulator):
    """The draw of each seed is a Poisson realisation of ``expected`` at that seed: standardised residuals near 0 and 1
    in the well-filled bins, where the expectation at another seed's emulator error (this emulator's error is large:
    previous test) or at none is far off."""
    seeds = np.arange(20)
    theta = np.broadcast_to(THETA, (20, 6))
    xods = np.stack([simulator(THETA, int(s)).xod for s in seeds])
    for lam, right in ((simulator.expected(theta, seeds), True), (simulator.expected(theta, seeds + 100), False)):
        filled = lam > 20
        r = (xods - lam)[filled] / np.sqrt(lam[filled])
        assert filled.sum() > 200
        assert (abs(r.mean()) < 0.1 and 0.85 < r.std() < 1.15) == right, (r.mean(), r.std())


def test_a_draw_is_an_integer_xod_set_by_its_seed(simulator):
    one, again, other = simulator(THETA, 7), simulator(THETA, 7), simulator(THETA, 8)
    assert one.xod.shape == (8, 12, 12) and np.all(one.xod == np.round(one.xod)) and one.n_clusters == one.xod.sum()
    np.testing.assert_array_equal(one.xod, again.xod)
    assert not np.array_equal(one.xod, other.xod)


def test_an_emulated_campaign_trains_the_sbi_dataset(tmp_path, weights):
    from distributed import Client

    from inference.sbi import SBIDataset
    from xcosmo.campaign import CampaignConfig, CampaignStore, campaign_preset, run_campaign

    config = campaign_preset("emulated", 6, preset=str(weights), design="random")
    assert isinstance(config, CampaignConfig)
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        summary = run_campaign(tmp_path / "c", config, client=client, progress=False)
    assert summary["done"] == 6
    data = SBIDataset.from_store(tmp_path / "c", min_simulations=6)
    assert data.names[:2] == ("omega_m", "sigma_8") and data.counts.shape == (6, 8, 12, 12)
    assert np.all((data.unit > 0) & (data.unit < 1)) and len(np.unique(data.counts.sum(axis=(1, 2, 3)))) > 1
    lam = data.expected()  # each stored XOD's expectation, from its own seed (previous test)
    r = (data.counts - lam)[lam > 20] / np.sqrt(lam[lam > 20])
    assert abs(r.mean()) < 0.15 and 0.8 < r.std() < 1.2, (r.mean(), r.std())
    np.testing.assert_array_equal(data.expected([4, 1]), lam[[4, 1]])

    attrs = CampaignStore.open(tmp_path / "c").attrs
    assert attrs["emulator"]["sha256"] == attrs["simulator"]["sha256"] and attrs["binning"]["z_edges"][0] == 0.1


def test_an_npe_trains_on_other_emulator_errors_of_its_simulations(tmp_path, weights):
    """``emulator_errors``: the expected XODs of the same simulations at other seeds' emulator errors, which the stored
    XODs are not draws of (they are of the campaign's: previous test); the rows asked give the rows of the whole; an
    NPE trains on two errors per simulation and records it."""
    from distributed import Client

    from inference.sbi import NPESettings, SBIDataset, TrainSettings, fit_npe, other_seeds
    from xcosmo.campaign import campaign_preset, run_campaign

    config = campaign_preset("emulated", 48, preset=str(weights), design="random", seed=5)
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as client:
        run_campaign(tmp_path / "c", config, client=client, progress=False)
    data = SBIDataset.from_store(tmp_path / "c")
    seeds = other_seeds(data.seeds, 1)
    assert len({*seeds, *other_seeds(data.seeds, 2), *data.seeds}) == 3 * data.n
    other = data.expected(error=1)
    np.testing.assert_allclose(data.expected([7, 3], error=1), other[[7, 3]], rtol=1e-6)
    filled = other > 20
    r = (data.counts - other)[filled] / np.sqrt(other[filled])
    assert filled.sum() > 200 and not (abs(r.mean()) < 0.15 and 0.8 < r.std() < 1.2), (r.mean(), r.std())

    quick = NPESettings(loss="mse", channels=(4, 4), mlp_width=16, n_components=2, mdn_width=16,
                        poisson_resampling=True, emulator_errors=2,
                        compressor_training=TrainSettings(max_epochs=2, batch_size=16),
                        mdn_training=TrainSettings(max_epochs=2, batch_size=16))  # fmt: skip
    post = fit_npe(data, quick)
    assert post.meta["settings"]["emulator_errors"] == 2
    assert NPESettings.from_dict(post.meta["settings"]) == quick


def test_changed_weights_painter_and_parameters_outside_the_prior_are_refused(simulator, weights):
    from emulators.scaling.xods import EmulatedXODSimulator

    stale = EmulatedXODSimulator.from_spec({**simulator.spec(), "sha256": "0" * 64})
    with pytest.raises(ValueError, match="emulator.*SHA-256 000000000000"):
        stale(THETA, 0)
    with pytest.raises(ValueError, match="painter = 'eldl'"):
        EmulatedXODSimulator.named(str(weights), "eldl")
    with pytest.raises(ValueError, match="a_sn1"):
        simulator(np.r_[THETA[:2], 9.0, THETA[3:]], 0)
    with pytest.raises(ValueError, match="seeds"):
        simulator.expected(THETA[None], [-1])
    with pytest.raises(ValueError, match="seeds"):
        simulator.expected(np.stack([THETA, THETA]), [1])
    with pytest.raises(ValueError, match="theta"):
        simulator.expected(THETA[None, :5], [1])
    with pytest.raises(FileNotFoundError, match="not found"):
        EmulatedXODSimulator.named(str(weights.parent / "missing.eqx"))
