"""Training the extended LDL (emulators.eldl.samples, .training) on a tiny synthetic store: the split, the three
stages, early stopping on the best parameters, checkpoints (issue 16). A few steps only: the default suite trains
nothing bigger."""

import json

import equinox as eqx
import jax
import numpy as np
import pytest

from emulators.data.suite import make_suite
from emulators.eldl.eldl import ELDL
from emulators.eldl.ldl import LDLParams
from emulators.eldl.samples import load_split
from emulators.eldl.training import FitSettings, relative_loss, train_base, train_eldl
from xcosmo.nbody import Box
from xcosmo.params import Params


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """2 CV boxes (1 held out) and 2 LH boxes at z = 0.21 and 0.54 (1 held out), 24^3 voxels."""
    out = tmp_path_factory.mktemp("store") / "tiny"
    make_suite(out, "tiny", seed=3, progress=False)
    return out


def test_the_split_never_reads_held_out_boxes(store):
    split = load_split(store)
    assert split.test == () and {(s.role, s.z) for s in split.train} == {("CV", 0.21), ("LH", 0.21), ("LH", 0.54)}
    assert split.validation == ()  # one kept box per role: it trains, nothing validates
    full = load_split(store, load_test=True)
    assert {(s.role, s.index) for s in full.test}.isdisjoint({(s.role, s.index) for s in full.train})
    s = split.train[0]
    assert s.dx.shape == (24, 24, 24, 3) and float(s.rho.mean()) == pytest.approx(1.0, rel=1e-5)
    assert float(s.ne.mean()) == pytest.approx(1.0, rel=0.3)  # n_e in units of the cosmic mean


def test_the_base_fit_keeps_its_best_parameters_and_checkpoints_them(store, tmp_path):
    split = load_split(store)
    best, history = train_base(split, "ne", FitSettings(steps=6, eval_every=2, optimizer="lbfgs"), tmp_path / "b.eqx")
    assert history[0]["step"] == 0 and len(history) >= 2
    start, values = history[0]["validation"], [h["validation"] for h in history]
    sample = split.select("train", "CV", 0.21)[0]
    assert float(relative_loss("ne", best, sample.arrays)) == pytest.approx(min(values), rel=1e-4) and min(values) < start
    saved = eqx.tree_deserialise_leaves(tmp_path / "b.eqx", LDLParams.identity())
    np.testing.assert_array_equal(saved.alpha, best.alpha)


def test_train_ldl_runs_the_three_stages_writes_weights_and_resumes(store, tmp_path):
    """`xcosmo train-ldl STORE` (two steps a fit): every stage checkpointed and recorded, the weights and their
    metadata written and loadable as a painter; a rerun into the folder loads every finished stage."""
    from typer.testing import CliRunner

    from emulators.eldl.weights import load_eldl
    from xcosmo.cli import app

    run = tmp_path / "run"
    done = CliRunner().invoke(app, ["train-ldl", str(store), "--out", str(run), "--source", "synthetic", "--steps", "2",
                                    "--conditioning-steps", "2", "-q"])  # fmt: skip
    assert done.exit_code == 0, done.output
    history = json.loads((run / "stages.json").read_text())
    assert set(history) == {"base_ne", "base_t", "conditioning_ne", "conditioning_t_0.21", "conditioning_t_0.54"}
    assert {p.name for p in run.glob("*.eqx")} == {f"{k}.eqx" for k in history} | {"eldl.eqx"}
    model, meta = load_eldl(run / "eldl.eqx", voxel_mpc_h=0.39)
    assert isinstance(model, ELDL) and model.t_redshifts == (0.21, 0.54)
    assert meta["training"]["source"] == "synthetic" and meta["training"]["samples"]["train"] == 3
    split = load_split(store)
    s = split.select("train", "LH", 0.54)[0]
    ne, kt = model(s.dx, Box((24,) * 3, 0.39), 0.4, Params.from_array(s.theta))
    assert ne.shape == kt.shape == (24, 24, 24) and bool(jax.numpy.isfinite(ne).all() & jax.numpy.isfinite(kt).all())
    again = train_eldl(split, run, (0.21, 0.54), FitSettings(steps=50), FitSettings(steps=50))
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(eqx.filter(model, eqx.is_array)),
                                                   jax.tree.leaves(eqx.filter(again, eqx.is_array))))  # fmt: skip
    refused = CliRunner().invoke(app, ["train-ldl", str(store), "--out", str(tmp_path / "x"), "--source", "camels"])
    assert refused.exit_code == 2 and "holds 'synthetic' samples" in refused.output
    # validate-ldl on the held-out boxes (a low threshold: a 9 Mpc/h PM box holds no 200 rho_c voxel)
    checked = CliRunner().invoke(app, ["validate-ldl", str(run / "eldl.eqx"), "--store", str(store), "--out",
                                       str(tmp_path / "v"), "--threshold", "20"])  # fmt: skip
    assert checked.exit_code == 0, checked.output
    report = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert set(report["painters"]) == {"eLDL", "power law"} and (tmp_path / "v" / "clusters.png").is_file()
    assert report["weights"]["training"]["source"] == "synthetic"
    assert "eLDL: voxel deviation correlation" in checked.output


def test_a_store_without_boxes_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no suite.json"):
        load_split(tmp_path)


def test_a_painter_that_returns_the_target_scores_perfectly_and_the_baseline_does_not(store):
    """The validation measures (figures 5 and 6) on a tiny store's box: a painter returning the target exactly has
    deviation correlations of 1 and no prediction error; the power-law baseline has errors."""
    from emulators.eldl.eldl import H, OMEGA_B
    from emulators.eldl.validation import cluster_comparison, cluster_rates, voxel_comparison
    from xcosmo.painting import PowerLawPainter, mean_electron_density

    sample = load_split(store).select("train", "CV", 0.21)[0]
    mean_ne = float(mean_electron_density(OMEGA_B, H))

    def oracle(dx, box, z, params):
        return sample.ne * mean_ne, sample.kt

    voxels = voxel_comparison(oracle, [sample])
    assert voxels["deviation_correlation"] == pytest.approx(1.0, abs=1e-6)
    assert voxels["painter_power_law"] == pytest.approx(voxels["target_power_law"], rel=1e-6)
    rates = cluster_rates(oracle, sample, threshold=20.0)  # a 9 Mpc/h PM box holds no 200 rho_c voxel
    assert len(rates["mass"]) >= 5 and np.allclose(rates["painter"], rates["target"], rtol=1e-6)
    clusters = cluster_comparison(rates)
    assert clusters["deviation_correlation"] == pytest.approx(1.0, abs=1e-6) and clusters["error_scatter_dex"] < 1e-6
    baseline = cluster_comparison(cluster_rates(PowerLawPainter(), sample, threshold=20.0))
    assert baseline["error_scatter_dex"] > 0.05


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["train-ldl", "STORE", "--steps", "0"], "steps = 0 is not allowed"),
        (["train-ldl", "STORE", "--batch", "0"], "batch = 0 is not allowed"),
        (["train-ldl", "STORE", "--source", "hydro"], "source = 'hydro' is not allowed"),
        (["train-ldl", "NOWHERE"], "has no suite.json"),
        (["validate-ldl", "NOWHERE/eldl.eqx", "--store", "STORE"], "eLDL weights"),
        (["validate-ldl", "W", "--store", "STORE", "--threshold", "-1"], "threshold = -1.0 is not allowed"),
        (["validate-suite", "--box-mesh", "-1"], "box_mesh = -1 is not allowed"),
        (["validate-suite", "--camels", "NOWHERE"], "CAMELS data folder"),
        (["make-training-set", "STORE", "--out", "OUT"], "is not allowed with --source synthetic"),
    ],
)
def test_the_training_commands_refuse_bad_input_with_exit_2(args, match, tmp_path):
    """Refusals before any work: exit status 2, one 'error:' line naming the option and the value."""
    from typer.testing import CliRunner

    from xcosmo.cli import app

    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "suite.json").write_text('{"source": "synthetic", "boxes": [], "voxel_mpc_h": 0.39}')
    names = {"STORE": str(tmp_path / "store"), "NOWHERE": str(tmp_path / "nowhere"), "W": str(tmp_path / "w.eqx"),
             "OUT": str(tmp_path / "out")}  # fmt: skip
    result = CliRunner().invoke(app, [names.get(a, a.replace("NOWHERE", str(tmp_path / "nowhere"))) for a in args]
                                + (["--out", str(tmp_path / "o")] if args[0] == "validate-suite" else []))  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "error: " in result.output and match in result.output
