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
    best, history = train_base(split, "ne", FitSettings(steps=6, eval_every=2, learning_rate=0.002), tmp_path / "b.eqx")
    assert history[0]["step"] == 0 and len(history) >= 2
    start, values = history[0]["validation"], [h["validation"] for h in history]
    sample = split.select("train", "CV", 0.21)[0]
    assert float(relative_loss("ne", best, sample)) == pytest.approx(min(values), rel=1e-4) and min(values) < start
    saved = eqx.tree_deserialise_leaves(tmp_path / "b.eqx", LDLParams.identity())
    np.testing.assert_array_equal(saved.alpha, best.alpha)


def test_all_three_stages_give_an_eldl_painter(store, tmp_path):
    split = load_split(store)
    quick = FitSettings(steps=2, eval_every=1)
    model = train_eldl(split, tmp_path / "run", (0.21, 0.54), quick, quick)
    assert isinstance(model, ELDL) and model.t_redshifts == (0.21, 0.54)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert set(history) == {"base_ne", "base_t", "conditioning_ne", "conditioning_t_0.21", "conditioning_t_0.54"}
    assert {p.name for p in (tmp_path / "run").glob("*.eqx")} <= {f"{k}.eqx" for k in history}
    s = split.select("train", "LH", 0.54)[0]
    ne, kt = model(s.dx, Box((24,) * 3, 0.39), 0.4, Params.from_array(s.theta))
    assert ne.shape == kt.shape == (24, 24, 24) and bool(jax.numpy.isfinite(ne).all() & jax.numpy.isfinite(kt).all())


def test_a_store_without_boxes_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no suite.json"):
        load_split(tmp_path)
