"""The console script as a separate process: Ctrl-C, concurrent runs into one folder, and the dry run's memory
estimate against the real peak memory of a run."""

import glob
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from xcosmo.cli import app

CLI = [sys.executable, "-c", "from xcosmo.cli import main; main()"]


def _start_tiny_run(out):
    """A tiny simulation in its own process, returned once it holds the folder (its staging folder exists). The
    child gets SIGINT's default disposition, as from a terminal: a test suite started in the background by a
    non-interactive shell inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    proc = subprocess.Popen(CLI + ["simulate", "--preset", "tiny", "--out", str(out), "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.monotonic() + 120
    while not glob.glob(str(out / ".xcosmo-staging-*")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.02)
    return proc


@pytest.mark.parametrize("delay_s", [0.2, 2.0])
def test_ctrl_c_exits_130_with_one_line_and_keeps_the_folder_as_it_was(tmp_path, delay_s):
    out = tmp_path / "run"
    proc = _start_tiny_run(out)
    second = CliRunner().invoke(app, ["simulate", "--preset", "tiny", "--out", str(out), "--overwrite", "-q"])
    assert second.exit_code == 2 and "another xcosmo run is writing into it" in second.output
    time.sleep(delay_s)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip() == "interrupted (Ctrl-C): the output folder keeps what it held before"
    assert list(out.iterdir()) == []  # nothing committed, no staging folder or temporary file left


def test_the_dry_run_memory_estimate_matches_a_real_run():
    """The plan's peak-memory estimate for the tiny preset against the peak RSS of the same run (CPU)."""
    # VmHWM is this process's own peak (ru_maxrss would inherit the pytest process's peak through fork and exec)
    code = (
        "from xcosmo import Params; from xcosmo.pipeline import plan_run, simulate_survey; "
        "plan = plan_run(Params.fiducial(), 'tiny'); simulate_survey(Params.fiducial(), 0, 'tiny', progress=False); "
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
        "print(plan.memory_bytes, int(hwm) * 1024)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    estimate, peak = map(int, done.stdout.split())
    assert 0.95 <= estimate / peak <= 1.5, (estimate / 2**30, peak / 2**30)
