"""The synthetic training suite's plan, store and resumable run (emulators.data.suite, .store), tiny size."""

import json

import numpy as np
import pytest

from emulators.data import store
from emulators.data.suite import make_suite, suite_plan


def test_the_plan_splits_and_seeds_the_boxes():
    plan = suite_plan("default", seed=3)
    roles = [b["role"] for b in plan["boxes"]]
    assert roles.count("CV") == 6 and roles.count("LH") == 24
    assert sum(b["held_out"] for b in plan["boxes"] if b["role"] == "CV") == 2
    assert sum(b["held_out"] for b in plan["boxes"] if b["role"] == "LH") == 4
    assert len({b["seed"] for b in plan["boxes"]}) == 30
    assert plan == suite_plan("default", seed=3) and plan != suite_plan("default", seed=4)
    lh = np.array([b["theta"] for b in plan["boxes"] if b["role"] == "LH"])
    assert lh.min(axis=0)[0] >= 0.1 and lh.max(axis=0)[0] <= 0.5  # Omega_m within the prior
    with pytest.raises(ValueError, match="size = 'huge' is not allowed"):
        suite_plan("huge")


def test_a_tiny_suite_is_made_resumed_and_read_back(tmp_path):
    out = tmp_path / "suite"
    make_suite(out, "tiny", seed=1, progress=False)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["box_0000.h5", "box_0001.h5", "box_0002.h5", "box_0003.h5", "suite.json"]
    attrs, samples = store.read_box(out / "box_0002.h5")
    assert attrs["role"] == "LH" and not attrs["held_out"] and [s.z for s in samples] == [0.21, 0.54]
    assert samples[0].n_e.shape == (24, 24, 24) and samples[0].dx.shape == (24, 24, 24, 3)
    # a killed run resumes: remove one box, run again, only it is remade (the others keep their mtime)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("box_*.h5")}
    _, first = store.read_box(out / "box_0001.h5")
    (out / "box_0001.h5").unlink()
    make_suite(out, "tiny", seed=1, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("box_*.h5")}
    assert after["box_0000.h5"] == before["box_0000.h5"] and "box_0001.h5" in after
    _, again = store.read_box(out / "box_0001.h5")
    np.testing.assert_array_equal(again[0].n_e, first[0].n_e)  # the remade box is the same box
    with pytest.raises(ValueError, match="was made with another plan"):
        make_suite(out, "tiny", seed=2, progress=False)
    assert json.loads((out / "suite.json").read_text())["seed"] == 1  # nothing touched


def test_bad_box_files_are_refused(tmp_path):
    import h5py

    with h5py.File(tmp_path / "box_0000.h5", "w") as f:
        f.create_group("z=0.21")
    with pytest.raises(ValueError, match=r"box_0000.h5.*group z=0.21 lacks \['dx', 'n_e', 'kt'"):
        store.read_box(tmp_path / "box_0000.h5")


def test_the_command_line_refuses_bad_input_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from xcosmo.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["make-training-set", "--out", str(tmp_path / "s"), "--source", "hydro"])
    assert bad.exit_code == 2 and "source = 'hydro' is not allowed" in bad.output
    bad = runner.invoke(app, ["make-training-set", "--out", str(tmp_path / "s"), "--source", "camels"])
    assert bad.exit_code == 2 and "--source camels needs PATH" in bad.output
    bad = runner.invoke(app, ["make-training-set", "--out", str(tmp_path / "s"), "--size", "medium"])
    assert bad.exit_code == 2 and "size = 'medium' is not allowed" in bad.output
    table = tmp_path / "lh.txt"
    table.write_text("LH_0 0.9 0.8 1 1 1 1 0\n")
    bad = runner.invoke(app, ["make-training-set", "--out", str(tmp_path / "s"), "--lh-params", str(table)])
    assert bad.exit_code == 2 and "omega_m = 0.9, which is not allowed" in bad.output
    assert not (tmp_path / "s").exists()
