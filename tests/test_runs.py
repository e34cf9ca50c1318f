"""One output folder, one run (xcosmo.runs): staging, commit, locking, refusals, orphans, permissions, kills."""

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from xcosmo.io import TEMP_PREFIX, atomic_path
from xcosmo.runs import MANIFEST, STAGING_PREFIX, run_folder, verify_run


def _write_run(out, files: dict[str, bytes], overwrite=False, command="test"):
    with run_folder(out, command=command, overwrite=overwrite) as stage:
        for name, data in files.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(stage / name) as tmp:
                tmp.write_bytes(data)
    return verify_run(out)


def test_a_complete_run_lists_every_file(tmp_path):
    out = tmp_path / "run"
    manifest = _write_run(out, {"a.txt": b"one", "maps/lightcone_00.fits": b"x" * 100})
    assert set(manifest["files"]) == {"a.txt", "maps/lightcone_00.fits"}
    assert manifest["files"]["maps/lightcone_00.fits"]["bytes"] == 100
    assert manifest["command"] == "test" and len(manifest["run_id"]) == 12
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "maps", MANIFEST]  # no staging, no temporary file


def test_a_non_empty_folder_is_refused_without_overwrite_and_nothing_is_touched(tmp_path):
    out = tmp_path / "run"
    first = _write_run(out, {"a.txt": b"one"})
    with pytest.raises(ValueError, match="already holds an earlier run.*--overwrite"):
        with run_folder(out, command="test"):
            pytest.fail("the block must not run")
    assert verify_run(out)["run_id"] == first["run_id"]


def test_overwrite_removes_the_stale_files_of_the_earlier_run(tmp_path):
    out = tmp_path / "run"
    _write_run(out, {"maps/lightcone_00.fits": b"0", "maps/lightcone_01.fits": b"1", "old.txt": b"old"})
    second = _write_run(out, {"maps/lightcone_00.fits": b"new"}, overwrite=True)
    assert not (out / "maps" / "lightcone_01.fits").exists() and not (out / "old.txt").exists()
    assert set(second["files"]) == {"maps/lightcone_00.fits"}


def test_overwrite_never_empties_a_folder_xcosmo_did_not_write(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="no xcosmo run wrote"):
        with run_folder(tmp_path, command="test", overwrite=True):
            pytest.fail("the block must not run")
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_an_error_during_the_run_keeps_the_earlier_run(tmp_path):
    out = tmp_path / "run"
    first = _write_run(out, {"a.txt": b"one"})
    with pytest.raises(RuntimeError, match="plot failed"):
        with run_folder(out, command="test", overwrite=True) as stage:
            (stage / "a.txt").write_bytes(b"two")
            raise RuntimeError("plot failed")
    assert verify_run(out)["run_id"] == first["run_id"]
    assert (out / "a.txt").read_bytes() == b"one"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_orphans_of_a_killed_run_are_removed_by_the_next_run(tmp_path):
    out = tmp_path / "run"
    _write_run(out, {"a.txt": b"one"})
    (out / f"{STAGING_PREFIX}deadbeef0000").mkdir()
    (out / f"{STAGING_PREFIX}deadbeef0000" / "xod.h5").write_bytes(b"")
    (out / f"{TEMP_PREFIX}catalogue.x1y2.fits").write_bytes(b"")
    _write_run(out, {"a.txt": b"two"}, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", MANIFEST]


def test_verify_run_tells_mixed_and_incomplete_folders(tmp_path):
    out = tmp_path / "run"
    _write_run(out, {"a.txt": b"one", "b.txt": b"two"})
    (out / "b.txt").write_bytes(b"other run")
    with pytest.raises(ValueError, match="mixes runs: b.txt"):
        verify_run(out)
    (out / "b.txt").write_bytes(b"two")
    (out / "c.txt").write_bytes(b"stray")
    with pytest.raises(ValueError, match=r"mixes runs: \['c.txt'\]"):
        verify_run(out)
    (out / "c.txt").unlink()
    (out / "a.txt").unlink()
    with pytest.raises(ValueError, match="incomplete: a.txt"):
        verify_run(out)
    (out / MANIFEST).unlink()
    with pytest.raises(ValueError, match="run.json is missing"):
        verify_run(out)


def test_files_and_folders_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        _write_run(out, {"maps/m.fits": b"x", "a.txt": b"y"})
    finally:
        os.umask(old)
    for path in (out / "a.txt", out / "maps" / "m.fits", out / MANIFEST):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert stat.S_IMODE((out / "maps").stat().st_mode) == 0o755


def test_an_empty_path_is_refused(tmp_path):
    with pytest.raises(ValueError, match="an empty path is not a folder"):
        with run_folder("", command="test"):
            pass


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from xcosmo.io import atomic_path
    from xcosmo.runs import run_folder
    out, n, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    with run_folder(out, command="child", overwrite=True) as stage:
        print("locked", flush=True)
        for i in range(n):
            with atomic_path(stage / f"f{i:03d}.bin") as tmp:
                tmp.write_bytes(bytes([i % 256]) * 20000)
            time.sleep(delay)
    print("done", flush=True)
    """
)


def _start_holder(out, n: int, delay: float):
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out), str(n), str(delay)], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    proc = _start_holder(out, 50, 0.05)
    try:
        with pytest.raises(ValueError, match="another xcosmo run is writing into it"):
            with run_folder(out, command="test", overwrite=True):
                pytest.fail("the block must not run")
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert len(verify_run(out)["files"]) == 50  # the first run completed, untouched by the refused one


@pytest.mark.parametrize("delay_s", [0.05, 0.3, 0.6, 0.9])
def test_a_run_killed_at_any_moment_leaves_the_earlier_run_or_a_folder_marked_incomplete(tmp_path, delay_s):
    """SIGKILL a run that replaces an earlier one, at several moments: the folder is then either the earlier run,
    complete, or has no run.json (incomplete); it never verifies as a mix. The next run cleans up."""
    out = tmp_path / "run"
    first = _write_run(out, {f"f{i:03d}.bin": b"old" for i in range(60)} | {"extra.bin": b"stale"})
    proc = _start_holder(out, 40, 0.02)
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    try:
        manifest = verify_run(out)
    except ValueError as err:
        assert "run.json is missing" in str(err)
        assert not (out / MANIFEST).exists()
    else:
        assert manifest["run_id"] == first["run_id"] or manifest["command"] == "child"
    fresh = _write_run(out, {"new.bin": b"new"}, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["new.bin", MANIFEST] and set(fresh["files"]) == {"new.bin"}
    assert json.loads((out / MANIFEST).read_text())["run_id"] == fresh["run_id"]
