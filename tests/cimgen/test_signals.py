"""SIGINT and SIGTERM stop long commands within seconds: exit 130 / 143 with one line,
no traceback, no temporary left beside the output, no child process left running."""

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "default.toml"
BUILD = ROOT / "build" / "sim"
STOP_S = 5.0

SMALL = (ROOT / "tests" / "data" / "small_window.toml").read_text() + """
[hdl]
top = "sig_small"
"""

needs_icarus = pytest.mark.skipif(
    shutil.which("iverilog") is None or shutil.which("vvp") is None,
    reason="iverilog/vvp (Icarus Verilog) not found on PATH")

SIGNALS = [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]


def _interrupt(argv, mark: str, sig, delay: float):
    """Start ``cimgen ARGV``, wait for a line holding ``mark``, let it run ``delay``
    seconds more, send ``sig``; returns (exit code, seconds to stop, output, children
    that were running)."""
    p = subprocess.Popen([sys.executable, "-m", "cimgen.cli", *map(str, argv)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in p.stdout:
            seen.append(line)
            if mark in line:
                break
        else:
            pytest.fail(f"cimgen {argv[0]} ended before {mark!r}:\n{''.join(seen)}")
        time.sleep(delay)
        kids = psutil.Process(p.pid).children(recursive=True)
        t0 = time.perf_counter()
        p.send_signal(sig)
        rest, _ = p.communicate(timeout=60)  # EOF: nothing holds the pipe any more
        dt = time.perf_counter() - t0
    finally:
        if p.poll() is None:
            p.kill()
    # (multiprocessing's resource tracker ends by itself, just after its parent)
    _, alive = psutil.wait_procs(kids, timeout=3.0)
    alive = [k for k in alive if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]
    return p.returncode, dt, "".join(seen) + rest, alive


def _check(code, dt, out, alive, want, word, cmd, parent: Path):
    assert code == want, out
    assert dt < STOP_S, f"took {dt:.1f} s to stop"
    assert out.rstrip().splitlines()[-1] == f"cimgen {cmd}: {word}", out
    assert "Traceback" not in out and "leaked semaphore" not in out, out
    assert not alive, alive
    assert not list(parent.glob(".*.tmp")), list(parent.iterdir())


@pytest.mark.parametrize(("sig", "want", "word"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_flow_stops_on_a_signal(tmp_path, sig, want, word):
    """During the accuracy sweep (worker processes) and the RTL check (a simulator in
    a thread)."""
    pytest.importorskip("sklearn")
    out = tmp_path / "flow"
    res = _interrupt(["flow", CONFIG, "--quick", "--seeds", "2", "--rtl-mvms", "30",
                      "--workers", "2", "-o", out], "[2/6]", sig, 2.0)
    _check(*res, want, word, "flow", tmp_path)
    assert not out.exists()


@pytest.mark.sim
@needs_icarus
@pytest.mark.parametrize(("sig", "want", "word"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_sim_stops_on_a_signal(tmp_path, sig, want, word):
    """While a bench runs in the simulator."""
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "run"
    res = _interrupt(["sim", cfg, "--mvms", "400", "--build-dir", BUILD, "-o", out],
                     "building sig_small", sig, 1.0)
    _check(*res, want, word, "sim", tmp_path)
    assert not out.exists()
