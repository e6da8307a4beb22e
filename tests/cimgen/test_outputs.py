"""Output locations that fail: a full disk midway, a read-only or unwritable location,
and the permissions of what is written.

A write refused midway is exit 1 with a message naming the output and the OS reason,
and leaves nothing partial (no temporary, no half-written file or directory); a
location that cannot be written, known before any work, is exit 2. The full disk is
real: a subprocess gets ``RLIMIT_FSIZE`` (with ``SIGXFSZ`` ignored, so a write raises
``EFBIG``) at the moment it first opens a file of its output, so the work before it
(Amaranth's Yosys, which maps its memory through a file, the build caches) runs as
usual and the write of the output is what fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cimgen import cli

SMALL = (Path(__file__).resolve().parents[2] / "tests" / "data"
         / "small_bad_inputs.toml").read_text()

# Runs cimgen with a "disk" that fills (RLIMIT_FSIZE = LIMIT bytes per file) as soon as
# a file of the output TARGET (TARGET itself, inside it, or its temporary sibling
# .TARGET.*) is opened for writing.
FULL_DISK = r"""
import os, resource, signal, sys
limit, target = int(sys.argv[1]), os.path.abspath(sys.argv[2])
parent, name = os.path.split(target)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

def full_disk(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)) \
            and args[2] & (os.O_WRONLY | os.O_RDWR):
        p = os.path.abspath(os.fsdecode(args[0]))
        head = p[len(parent) + 1:].split(os.sep, 1)[0] if p.startswith(parent + os.sep) else ""
        if head == name or head.startswith(f".{name}."):
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

sys.addaudithook(full_disk)
from cimgen.cli import main
sys.exit(main(sys.argv[3:]))
"""

needs_icarus = pytest.mark.skipif(
    shutil.which("iverilog") is None or shutil.which("vvp") is None,
    reason="iverilog/vvp (Icarus Verilog) not found on PATH")


def _synth_tools() -> bool:
    from synth.tools import ToolMissing, find_tool

    try:
        find_tool("yosys")
        find_tool("nextpnr-ice40")
    except ToolMissing:
        return False
    return True


def _files(tmp: Path) -> None:
    import tomllib

    from cimgen.calfile import save_calibration
    from golden.calibration import default_calibration
    from golden.spec import MacroSpec

    (tmp / "small.toml").write_text(SMALL)
    rng = np.random.default_rng(0)
    np.save(tmp / "data.npy", rng.normal(size=2000))
    np.save(tmp / "w.npy", rng.integers(-8, 8, size=(8, 2)))
    np.save(tmp / "x.npy", rng.integers(0, 4, size=(3, 8)))
    spec = MacroSpec.from_dict(tomllib.loads(SMALL))
    save_calibration(tmp / "cal_ok.json", spec, {(0, 0): default_calibration(spec)})


def _snapshot(tmp: Path) -> dict[str, str]:
    """Every file and directory under ``tmp`` (but the build caches under build/)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(tmp):
        rel = os.path.relpath(dirpath, tmp)
        if rel == "build" or rel.startswith("build" + os.sep):
            continue
        dirnames[:] = [d for d in dirnames if rel != "." or d != "build"]
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel, d)) + "/"] = "dir"
        for f in filenames:
            out[os.path.normpath(os.path.join(rel, f))] = \
                hashlib.sha256(Path(dirpath, f).read_bytes()).hexdigest()
    return out


MVM = ["mvm", "small.toml", "--weights", "w.npy", "--inputs", "x.npy",
       "--save-calibration", "cal.json", "-o", "y.npz"]
SYNTH_TOOLS = pytest.mark.skipif(not _synth_tools(), reason="the FPGA toolchain (yosys, "
                                 "nextpnr-ice40) is not installed")

# id, argv, the output the disk fills on, the path the message names
WRITERS = [
    pytest.param("calibrate", ["calibrate", "data.npy", "--bits", "3", "-o", "c.json"],
                 "c.json", "c.json", id="calibrate"),
    pytest.param("mvm", MVM, "y.npz", "y.npz", id="mvm"),
    pytest.param("mvm-save-calibration", MVM, "cal.json", "cal.json",
                 id="mvm-save-calibration"),
    pytest.param("board", ["board", "run", "small.toml", "--port", "sim", "--vectors", "4",
                           "-o", "b.npz"], "b.npz", "b.npz", id="board"),
    pytest.param("verilog", ["verilog", "small.toml", "-o", "v"], "v", "v", id="verilog"),
    pytest.param("program", ["program", "small.toml", "--calibration", "cal_ok.json",
                             "-o", "p"], "p", "p", id="program"),
    pytest.param("sweep", ["sweep", "small.toml", "--serial", "--bits", "3", "--variation",
                           "0", "--sr", "none", "--trials", "1", "-o", "sw"],
                 "sw", "sw/grid.json", id="sweep"),
    pytest.param("flow", ["flow", "small.toml", "--quick", "--no-rtl", "-o", "f"], "f", "f",
                 id="flow"),
    pytest.param("synth", ["synth", "small.toml", "--report-only", "-o", "s"], "s", "s",
                 marks=SYNTH_TOOLS, id="synth"),
    pytest.param("sim", ["sim", "small.toml", "--mvms", "2", "-o", "r"], "r", "r",
                 marks=needs_icarus, id="sim"),
]


@pytest.mark.parametrize(("name", "argv", "target", "named"), WRITERS)
def test_disk_full_midway_is_exit_1_and_leaves_nothing(name, argv, target, named, tmp_path):
    _files(tmp_path)
    before = _snapshot(tmp_path)
    r = subprocess.run([sys.executable, "-c", FULL_DISK, "64", target, *argv], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 1, f"{name}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert "Traceback" not in r.stderr
    assert f"cimgen {argv[0]}: error: cannot write {named!r}: File too large" in r.stderr, \
        r.stderr
    after = _snapshot(tmp_path)
    if name == "sweep":   # the sweep's directory (made to hold its resumable state)
        assert after.pop("sw/") == "dir"
    assert after == before, f"{name}: left {sorted(set(after) - set(before))}"


COMMANDS = [
    ("calibrate", ["calibrate", "data.npy", "--bits", "3", "-o", "{out}.json"]),
    ("mvm", ["mvm", "small.toml", "--weights", "w.npy", "--inputs", "x.npy",
             "-o", "{out}.npz"]),
    ("mvm-save-calibration", ["mvm", "small.toml", "--weights", "w.npy", "--inputs", "x.npy",
                              "--save-calibration", "{out}.json", "-o", "y.npz"]),
    ("board", ["board", "run", "small.toml", "--port", "sim", "-o", "{out}.npz"]),
    ("verilog", ["verilog", "small.toml", "-o", "{out}"]),
    ("sim", ["sim", "small.toml", "-o", "{out}"]),
    ("synth", ["synth", "small.toml", "--report-only", "-o", "{out}"]),
    ("flow", ["flow", "small.toml", "--quick", "-o", "{out}"]),
    ("program", ["program", "small.toml", "--calibration", "cal_ok.json", "-o", "{out}"]),
    ("sweep", ["sweep", "small.toml", "-o", "{out}"]),
]


def _refused_up_front(argv, out, tmp_path, capsys):
    argv = [a.replace("{out}", str(out)) for a in argv]
    before = _snapshot(tmp_path)
    code = cli.main(argv)
    err = capsys.readouterr().err
    flag = "--save-calibration" if "--save-calibration" in argv and \
        argv[argv.index("--save-calibration") + 1].startswith(str(out)) else "-o"
    given = argv[argv.index(flag) + 1]
    assert code == 2, err
    assert f"cimgen {argv[0]}: error: {flag} {given!r}: " in err
    assert "is not writable" in err and "Traceback" not in err
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(("name", "argv"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_read_only_location_refused_before_work(name, argv, tmp_path, monkeypatch, capsys):
    """/proc/sys is read-only even for root (access(2) says so), so this needs no user."""
    _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert not os.access("/proc/sys", os.W_OK)
    _refused_up_front(argv, Path("/proc/sys/cimgen-out"), tmp_path, capsys)


@pytest.mark.parametrize(("name", "argv"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_unwritable_directory_refused_before_work(name, argv, tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:
        pytest.skip("running as root: permissions are not enforced")
    _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        _refused_up_front(argv, Path("ro") / "deeper" / "out", tmp_path, capsys)
    finally:
        ro.chmod(0o700)


def test_permission_refused_midway_is_exit_1(tmp_path, monkeypatch, capsys):
    """A location access(2) allows but the file system refuses (sysfs for root): known
    only when writing, so exit 1 with the OS reason; for other users it is refused up
    front."""
    _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["calibrate", "data.npy", "--bits", "3", "-o", "/sys/cimgen.json"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if os.access("/sys", os.W_OK):
        assert code == 1, err
        assert "cannot write '/sys/cimgen.json': Permission denied" in err
    else:
        assert code == 2 and "'/sys' is not writable" in err, err
    assert not list(Path("/sys").glob(".cimgen.json.*"))


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], ids=oct)
def test_outputs_follow_the_umask(umask, tmp_path, monkeypatch, capsys):
    _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    old = os.umask(umask)
    try:
        assert cli.main(["calibrate", "data.npy", "--bits", "2", "--method", "uniform",
                         "-o", "c.json"]) == 0
        assert cli.main(["program", "small.toml", "--calibration", "cal_ok.json",
                         "-o", "p"]) == 0
        assert cli.main(["calibrate", "data.npy", "--bits", "2", "--method", "uniform",
                         "-o", "c.json", "--force"]) == 0   # a replaced file too
    finally:
        os.umask(old)
    capsys.readouterr()
    assert (tmp_path / "c.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "p").stat().st_mode & 0o777 == 0o777 & ~umask


def test_existing_file_replaced_only_with_force(tmp_path, monkeypatch, capsys):
    _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "y.npz").write_text("an earlier result")
    argv = ["mvm", "small.toml", "--weights", "w.npy", "--inputs", "x.npy", "-o", "y.npz"]
    assert cli.main(argv) == 2
    assert "-o 'y.npz': exists; allowed: a new file name, or --force" in capsys.readouterr().err
    assert (tmp_path / "y.npz").read_text() == "an earlier result"
    assert cli.main([*argv, "--force"]) == 0
    assert set(np.load(tmp_path / "y.npz").files) >= {"y", "raw", "exact"}
