"""Runner glue of the board emulator's UART bench: export the emulator top
(:class:`hdl.emulator.Emulator`) as Verilog into the build cache, build it and run
:mod:`sim.bench_emulator`, which talks to its UART pins through the host protocol code
of :mod:`synth.host`.

Build cache (default root ``build/sim``, shared with :mod:`sim.runner`)::

    <root>/cim_emulator-<key>/rtl/cim_emulator.v   the emulator top
    <root>/cim_emulator-<key>/rtl/emulator.json    build options and derived facts
    <root>/cim_emulator-<key>/<sim>[-waves]/       the simulator build
    <root>/cim_emulator-<key>/run-<sim>-<id>/      default run directory (one per run,
                                                   see :class:`sim.rundir.RunDir`)

``key`` hashes the config and the emulator's build options. The Verilog is regenerated
when ``golden/``, ``hdl/`` or this exporter change and rebuilt only
when its text changes (:func:`sim.runner.build`).

The emulator runs at a nominal :data:`CLK_HZ` with :data:`BAUD` (4 clock cycles per
UART bit, the shortest :mod:`hdl.uart` allows), so a frame of ``n`` bytes takes
``40 n`` cycles and the bench stays quick.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from golden.spec import MacroSpec

from .designs import DEFAULT_ROOT, _fingerprint, _locked
from .results import BenchResult
from .runner import _build_dir
from .simulators import build, find_simulator, run_bench

__all__ = ["BAUD", "CLK_HZ", "EMULATOR_BENCH", "EMULATOR_TOP", "EmulatorDesign",
           "prepare_emulator", "run_emulator", "start_comb_blocks"]

EMULATOR_TOP = "cim_emulator"
"""Verilog module name of the exported emulator top."""

EMULATOR_BENCH = "sim.bench_emulator"

CLK_HZ = 1e6
"""Nominal clock of the simulated emulator (only the ratio to :data:`BAUD` matters)."""

BAUD = 250e3
"""UART rate of the simulated emulator: 4 clock cycles per bit."""


@dataclass(frozen=True)
class EmulatorDesign:
    """An exported emulator top in the build cache.

    Attributes
    ----------
    spec : MacroSpec
    options : dict
        The :class:`hdl.emulator.Emulator` build options (``clk_hz``, ``baud``,
        ``batch_max``, ``noise_bits_max``; the decoder is ``spec.adc.decoder``).
    key : str
    dir : Path
    """

    spec: MacroSpec
    options: dict
    key: str
    dir: Path

    @property
    def verilog(self) -> Path:
        return self.dir / "rtl" / f"{EMULATOR_TOP}.v"

    @property
    def facts_path(self) -> Path:
        return self.dir / "rtl" / "emulator.json"

    @property
    def facts(self) -> dict:
        """Build options plus what the bench needs and must not recompute: the UART
        divisor, the frame timeout, cycles per MVM, the layout's ``describe()``."""
        return json.loads(self.facts_path.read_text())


_COMB_TRIGGER = re.compile(
    r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$", re.M)


def start_comb_blocks(text: str) -> tuple[str, int]:
    """Make every ``always @*`` block of Yosys' Verilog run once at time 0 in Icarus.

    ``write_verilog`` makes each such block sensitive to a dummy register initialised
    in its declaration, meant as a time-0 event; under the IEEE 1800 rules (the cocotb
    runner compiles with ``-g2012``) that initialisation raises no event, so a block
    whose inputs never change stays X - in the emulator the noise mask, while the
    noise stays off. An ``initial #0`` toggle of each dummy is the missing event; it
    changes nothing else (the FPGA flow does not use this copy)."""
    return _COMB_TRIGGER.subn(lambda m: f"{m.group(0)}\n{m.group(1)}initial #0 "
                                         f"{m.group(2)} = 1;", text)


def _export(spec: MacroSpec, options: dict, rtl: Path) -> None:
    from amaranth.back import verilog

    from hdl.emulator import Emulator

    emu = Emulator(spec, **options)
    text, starts = start_comb_blocks(verilog.convert(emu, name=EMULATOR_TOP, emit_src=False))
    rtl.mkdir(parents=True, exist_ok=True)
    facts = {"top": EMULATOR_TOP, "config": spec.to_dict(), "options": options,
             "divisor": emu.divisor, "timeout_cycles": emu.timeout_cycles,
             "cycles_per_mvm": emu.cycles_per_mvm(), "layout": emu.layout.describe(),
             "comb_blocks_started": starts,
             "ports": {"clk": 1, "rst": 1, "uart_rx": 1, "uart_tx": 1, "busy": 1,
                       "error": 1}}
    (rtl / f"{EMULATOR_TOP}.v").write_text(text)
    (rtl / "emulator.json").write_text(json.dumps(facts, indent=1) + "\n")


def _current(stamp: Path, output: Path, sources: str) -> bool:
    """``output`` exists and ``stamp`` records ``sources`` (``golden/``, ``hdl/`` and this
    exporter); the simulator build downstream compares the Verilog text itself."""
    try:
        return output.exists() and json.loads(stamp.read_text()).get("sources") == sources
    except (OSError, ValueError):
        return False


def prepare_emulator(spec: MacroSpec, *, batch_max: int = 4, noise_bits_max: int = 3,
                     clk_hz: float = CLK_HZ,
                     baud: float = BAUD, root=None) -> EmulatorDesign:
    """Export the emulator top of ``spec`` into the build cache, unless it is there
    already from the same sources.

    Raises
    ------
    ValueError
        Options the emulator refuses (:class:`hdl.emulator.Emulator`).
    """
    options = {"clk_hz": float(clk_hz), "baud": float(baud), "batch_max": batch_max,
               "noise_bits_max": noise_bits_max}
    root = Path(root if root is not None else DEFAULT_ROOT).resolve()
    ident = {"config": spec.to_dict(), "emulator": options}
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]
    d = root / f"{EMULATOR_TOP}-{key}"
    stamp = d / "design.json"
    sources = _fingerprint() + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    with _locked(root / f".{d.name}.lock"):
        if not _current(stamp, d / "rtl" / "emulator.json", sources):
            _export(spec, options, d / "rtl")
            stamp.write_text(json.dumps({**ident, "sources": sources}, indent=1) + "\n")
    return EmulatorDesign(spec, options, key, d)


def run_emulator(spec: MacroSpec, *, simulator: str = "icarus", seed: int = 0,
                 vectors: int = 9, noise_bits: int = 0, noise_seed: int = 1,
                 batch_max: int = 4, noise_bits_max: int = 3,
                 waves: bool = False, out=None, root=None,
                 tests=None, replace: bool = True, step=None) -> BenchResult:
    """Export (if needed), build (if needed) and run the emulator UART bench.

    Parameters
    ----------
    spec : MacroSpec
    simulator : {"icarus", "verilator"}
    seed : int
        Seed of the random weights and inputs.
    vectors : int
        MVMs run over the UART (in RUN batches of ``batch_max``).
    noise_bits, noise_seed : int
        The emulator's read noise for the session (0: off).
    batch_max, noise_bits_max
        Emulator build options (the decoder is ``spec.adc.decoder``).
    waves : bool
        One waveform per cocotb test under ``<out>/waves/``.
    out : path-like, optional
        Run directory, renamed into place when the run is complete (default: a new
        ``<design dir>/run-<simulator>-<id>``; see :class:`sim.rundir.RunDir`).
    root : path-like, optional
        Build cache root (default :data:`sim.runner.DEFAULT_ROOT`).
    tests : sequence of str, optional
        Only these bench tests.
    replace : bool
        Replace a non-empty ``out`` (see :func:`sim.runner.run_config`).
    step : callable, optional
        Progress reporter (:data:`sim.runner.Step`).

    Raises
    ------
    SimulatorMissing, BuildFailed, ValueError
    """
    if not 0 <= noise_bits <= noise_bits_max:
        raise ValueError(f"noise_bits = {noise_bits}: must be in 0..{noise_bits_max} "
                         "(noise_bits_max)")
    if vectors < 1:
        raise ValueError(f"vectors = {vectors}: must be at least 1")
    from .rundir import RunDir
    from .runner import KEEP_RUNS, relocate

    step = step or (lambda text: contextlib.nullcontext())
    tool = find_simulator(simulator)
    with step("generating the emulator"):
        design = prepare_emulator(spec, batch_max=batch_max, noise_bits_max=noise_bits_max,
                                  root=root)
    t0 = time.perf_counter()
    with step(f"building {EMULATOR_TOP} ({tool.name})"):
        bdir = build(tool, [design.verilog], EMULATOR_TOP,
                     _build_dir(design.dir, tool, waves), waves)
    built = time.perf_counter() - t0
    run = RunDir(out, design.dir, f"run-{simulator}", replace=replace, keep=KEEP_RUNS)
    plan = {"emulator": str(design.facts_path.resolve()), "seed": seed, "vectors": vectors,
            "noise_bits": noise_bits, "noise_seed": noise_seed}
    try:
        with step(f"running {EMULATOR_BENCH.rsplit('.', 1)[-1]}: {vectors} MVMs"):
            res = run_bench(tool, name="emulator", toplevel=EMULATOR_TOP,
                            module=EMULATOR_BENCH, build_dir=bdir, run_dir=run.work,
                            plan=plan, waves=waves, tests=tests)
        run.publish()
    except BaseException as e:
        run.discard(interrupted=not isinstance(e, Exception))
        raise
    relocate(res, run)
    res.build_time = built
    return res
