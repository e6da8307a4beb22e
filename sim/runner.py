"""Runner glue: generate a config's Verilog, build it once per config and simulator,
run the cocotb benches and collect what they checked.

Build cache (default root ``build/sim``; nothing is written into the source tree)::

    <root>/<top>-<key>/rtl/                    hdl.export.generate output (Verilog, manifest)
    <root>/<top>-<key>/<sim>[-waves]/          the top's simulator build
    <root>/<top>-<key>/components/<name>/      a component's Verilog, facts.json, .vlt
    <root>/<top>-<key>/components/<name>/<sim>[-waves]/   and its build
    <root>/<top>-<key>/run-<sim>-<id>/         default run directory (one per run)

``key`` hashes the config (with its decoder) and the mutant (:mod:`sim.mutants`). The
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from golden.spec import MacroSpec

from .designs import DEFAULT_ROOT, Design, prepare_components, prepare_design
from .results import BenchResult, Outcome, list_tests
from .simulators import (
    SIMULATORS,
    BuildFailed,
    SimTool,
    SimulatorMissing,
    build,
    find_simulator,
    remove_build,
    run_bench,
    trace_format,
)

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

TOP_BENCH = "sim.bench_top"

KEEP_RUNS = 8
"""Default run directories kept per design and simulator (older finished ones go)."""

Step = Callable[[str], contextlib.AbstractContextManager]
"""A progress reporter: ``step("building top (icarus)")`` is a context manager around
the work it names (``cimgen.progress.timed`` prints one line with its time)."""


def _quiet(text: str) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


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
               waves: bool = False, out=None, root=None,
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
    mutant : str, optional
        Deliberate fault (:mod:`sim.mutants`). The decoder is ``spec.adc.decoder``.
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
        design = prepare_design(spec, mutant=mutant, root=root)
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
