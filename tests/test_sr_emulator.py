"""Tests of emulators.scaling.emulator: Gaussian-process emulation of the relation quantities over (theta, z).

The GP's prediction is checked against the textbook formulas (Rasmussen & Williams 2006, eq. 2.25-2.26) written here
in numpy; its calibration on held-out points of a known smooth function measured with noise; its refusals of queries
outside the training domain and of damaged or foreign files."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from emulators.scaling.emulator import (
    ScalingRelationEmulator,
    fit_emulator,
    fit_relation_gp,
    load_emulator,
    save_emulator,
)
from emulators.scaling.relations import RELATION_NAMES


def truth(u):
    """A smooth function of the 7 design coordinates, mostly of the first three (as relations of Omega_m, sigma_8
    and A_SN1 would be)."""
    return 1.2 + 0.8 * u[:, 0] - 0.5 * u[:, 1] ** 2 + 0.3 * np.sin(3 * u[:, 2]) + 0.05 * u[:, 6]


@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(0)
    u = rng.uniform(size=(90, 7))
    err = rng.uniform(0.02, 0.06, size=90)
    y = truth(u) + err * rng.normal(size=90)
    return u, y, err


@pytest.fixture(scope="module")
def gp(design):
    u, y, err = design
    return fit_relation_gp(u[:60], y[:60], err[:60], steps=800)


@pytest.mark.parametrize("form", ["as fitted", "conditioned once"])
def test_prediction_is_the_textbook_conditional_gaussian(gp, design, form):
    u, y, err = design
    with jax.enable_x64(True):
        predictor = gp if form == "as fitted" else gp.conditioned()
        mean, std = (np.asarray(a) for a in predictor.predict(u[60:]))
    amp2, lengths = np.exp(2 * float(gp.log_amp)), np.exp(np.asarray(gp.log_lengths))

    def k(a, b):
        return amp2 * np.exp(-0.5 * (((a[:, None, :] - b[None, :, :]) / lengths) ** 2).sum(-1))

    ys = (y[:60] - float(gp.offset)) / float(gp.unit)
    noise = (err[:60] / float(gp.unit)) ** 2 + np.exp(2 * float(gp.log_nugget))
    kxx = k(u[:60], u[:60]) + np.diag(noise)
    ks = k(u[60:], u[:60])
    alpha = np.linalg.solve(kxx, ys - float(gp.mean))
    ref_mean = float(gp.mean) + ks @ alpha
    ref_var = amp2 - np.einsum("ij,ji->i", ks, np.linalg.solve(kxx, ks.T))
    np.testing.assert_allclose(mean, float(gp.offset) + float(gp.unit) * ref_mean, rtol=1e-8, atol=1e-10)
    # the variance is a^2 minus a number close to it (the points constrain the function well): both computations
    # lose digits to that cancellation, so the widths agree to 1e-4 where the means agree to 1e-8
    np.testing.assert_allclose(std, float(gp.unit) * np.sqrt(ref_var), rtol=1e-4)


def test_held_out_points_are_within_the_predicted_uncertainty(gp, design):
    """On 30 points it was not fitted on: standardised residuals of the measured values, with the emulator's and
    the measurement's variances, have a standard deviation in 0.7-1.5, and the emulator's own error is below a
    single point's measurement error at most of them."""
    u, y, err = design
    with jax.enable_x64(True):
        mean, std = (np.asarray(a) for a in gp.predict(u[60:]))
    nugget = float(gp.nugget)
    pulls = (y[60:] - mean) / np.sqrt(std**2 + err[60:] ** 2 + nugget**2)
    assert 0.7 < np.std(pulls) < 1.5, np.std(pulls)
    assert np.mean(std < err[60:]) > 0.5
    assert np.sqrt(np.mean((mean - truth(u[60:])) ** 2)) < np.mean(err)


def test_emulator_predicts_in_parameters_and_refuses_points_outside_its_domain(design, tmp_path):
    from xcosmo.params import PRIOR, Params

    u, y, err = design
    values = np.stack([y + j for j in range(7)], axis=1)
    emu = fit_emulator(u[:30], values[:30], np.repeat(err[:30, None], 7, 1), steps=50)
    theta = np.asarray(PRIOR.from_unit(u[40:43, :6]))
    z = 0.1 + 0.4 * u[40:43, 6]
    out = emu.predict(theta, z)
    assert list(out) == list(RELATION_NAMES)
    with jax.enable_x64(True):
        ref_mean, ref_std = emu.predict_unit(np.asarray(u[40:43]))
    np.testing.assert_allclose(out["cr_slope"][0], np.asarray(ref_mean[:, 1]), rtol=1e-5)
    assert out["cr_norm"][1].shape == (3,) and np.all(out["cr_norm"][1] > 0)
    single = emu.predict(Params.fiducial(), 0.3)
    assert np.shape(single["cr_norm"][0]) == ()
    bad = theta.copy()
    bad[0, 0] = 0.6
    with pytest.raises(ValueError, match="omega_m"):
        emu.predict(bad, z)
    with pytest.raises(ValueError, match="z"):
        emu.predict(theta, np.array([0.3, 0.3, 0.7]))
    with jax.enable_x64(True), pytest.raises(Exception, match="outside its training domain"):
        jax.jit(lambda v: emu.predict_unit(v)[0])(np.full((1, 7), 1.2))


def test_saved_emulator_loads_identically_and_damaged_files_are_refused(design, tmp_path):
    u, y, err = design
    values = np.stack([y] * 7, axis=1)
    emu = fit_emulator(u[:20], values[:20], np.repeat(err[:20, None], 7, 1), steps=20)
    path = save_emulator(emu, tmp_path / "sr.eqx", {"design": "test"})
    again, meta = load_emulator(path)
    assert isinstance(again, ScalingRelationEmulator) and meta["design"] == "test"
    with jax.enable_x64(True):
        np.testing.assert_array_equal(np.asarray(again.predict_unit(u[50:52])[0]), np.asarray(emu.predict_unit(u[50:52])[0]))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="SHA-256"):
        load_emulator(path)
    save_emulator(emu, tmp_path / "v.eqx", {})
    meta_path = tmp_path / "v.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ValueError, match="format_version = 99"):
        load_emulator(tmp_path / "v.eqx")
    meta_path.write_text(json.dumps({**meta, "structure": {**meta["structure"], "names": ["a"]}}))
    with pytest.raises(ValueError, match="emulates"):
        load_emulator(tmp_path / "v.eqx")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_emulator(tmp_path / "missing.eqx")


def test_fit_refuses_bad_input_naming_the_field():
    u = np.random.default_rng(0).uniform(size=(5, 7))
    with pytest.raises(ValueError, match="values has shape"):
        fit_emulator(u, np.zeros((5, 3)), np.zeros((5, 7)))
    with pytest.raises(ValueError, match="errors"):
        fit_emulator(u, np.zeros((5, 7)), np.full((5, 7), np.nan))
    with pytest.raises(ValueError, match="u has shape"):
        fit_emulator(u[:, :6], np.zeros((5, 7)), np.zeros((5, 7)))
