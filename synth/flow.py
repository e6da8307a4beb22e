"""FPGA flows: the periphery (out of context) or the board emulator, through YoWASP.

:func:`synthesize` runs the stages, each timed and logged beside the outputs:

1. **elaborate** (Amaranth): the periphery as its own RTLIL module inside the
   :class:`synth.harness.ScanHarness` with constraint files written here (clock on
   the board's clock pin at ``[fpga] clock_mhz``); or the emulator top
   (:class:`hdl.emulator.EmulatorBoard`) through the board's amaranth-boards
   platform, whose pin and clock constraints it uses (the board oscillator).
2. **synthesise** (Yosys ``synth_ice40`` / ``synth_ecp5``), then ``stat -json``.
3. **place and route** (nextpnr, ``--report``: utilisation and Fmax per clock).
4. **pack** (``icepack`` / ``ecppack``), unless report only.
5. **report**: ``report.json`` (see :func:`synthesize`).

Each stage is a function of one :class:`_Run`, timed by a
:class:`synth.steps.StepTimer`; what differs between FPGA families (commands, tool
arguments, cell names, constraint files, the ``auto`` memory policy) is asked of the
board's :class:`synth.families.Family`.

Everything is written into a temporary directory beside the output directory and
renamed into place only when complete; a failed run leaves its files, logs
included, in ``<out>.failed`` instead.

Per component (``components``): the periphery's decoders, SR combiners, LUT and
shift-add keep their own modules through synthesis (``keep_hierarchy``), and the
report adds their cells per component (:func:`synth.gates.component_of`), the top
module's own cells as ``control``. Logic is then not optimised across component
boundaries, so the totals can differ a little from the flat build's. With ``place``
off the flow stops after Yosys (no placement, no timing, ``fits`` None).

Memory mapping (``memory``): ``"block"``, ``"distributed"`` (ECP5 LUT RAM) or
``"logic"`` for every memory, or ``"auto"``. The periphery alone is built with its
:class:`hdl.lut.CodeLut` split per read port (``ram_bits``): under ``auto`` as the
family's :meth:`~synth.families.Family.lut_plan` says (the most LUT bits in the
device's block RAM, one block per read port, the rest in logic on iCE40 or in
distributed RAM on ECP5), under a forced style every read port in it (``logic``:
the CodeLut register file). The emulator top keeps one memory per LUT: its own
memories (weights, bounds, inputs, results) in block RAM and the LUTs where the
family's :meth:`~synth.families.Family.auto_memory` says. Every LUT read port's
read-during-write collision is a don't-care for Yosys (the CodeLut contract).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform as _platform
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from golden.digital import lut_width, mux_groups
from golden.macro import MacroCalibration
from golden.outdir import staged
from golden.spec import MacroSpec

from .boards import Board
from .families import Family, LutPlan
from .steps import StepTimer
from .tools import Tool, ToolError, find_tool, run_tool

__all__ = ["MEMORY_POLICIES", "REPORT_FORMAT", "SynthOptions", "format_table", "memory_policy",
           "memory_script", "synthesize"]

REPORT_FORMAT = "cimgen-synth-report"
MEMORY_POLICIES = ("auto", "block", "distributed", "logic")
HARNESS_TOP = "cimgen_scan_harness"
EMULATOR_TOP = "cim_emulator"


@dataclass(frozen=True)
class SynthOptions:
    """What to build.

    Attributes
    ----------
    board : synth.boards.Board
    report_only : bool
        Stop after place and route (no bitstream).
    emulator : bool
        Build the emulator top (else the periphery in the scan harness).
    memory : {"auto", "block", "distributed", "logic"}
        Memory mapping (see the module docstring).
    calibration : golden.macro.MacroCalibration or None
        LUT contents (and the emulator's initial Q-cell bounds).
    baud, batch_max, noise_bits_max : emulator options (:class:`hdl.emulator.Emulator`)
    seed : int
        nextpnr placement seed.
    components : bool
        Keep the periphery's components apart and report their cells (periphery
        only; see the module docstring).
    place : bool
        Place and route (else stop after synthesis: resources only).
    """

    board: Board
    report_only: bool = False
    emulator: bool = False
    memory: str = "auto"
    calibration: MacroCalibration | None = None
    baud: float = 115200
    batch_max: int = 32
    noise_bits_max: int = 3
    seed: int = 1
    components: bool = False
    place: bool = True

    def __post_init__(self):
        if self.components and self.emulator:
            raise ValueError("components = True: only for the periphery (emulator = False)")
        if not self.place and not self.report_only:
            raise ValueError("place = False: needs report_only = True (no bitstream "
                             "without placement)")


def memory_policy(opts: SynthOptions, spec: MacroSpec, layout, ports: int) -> dict:
    """Where the LUT memories and the emulator's memories (``m:emu_*``) go.

    Returns ``{"lut": style, "emulator": style or None, "why": text}`` with styles
    ``block``, ``distributed``, ``logic``, ``auto`` (Yosys's choice) or ``mixed``;
    for the periphery alone (``layout`` None) also ``ports`` (read ports per place,
    :meth:`synth.families.LutPlan.counts`), ``ram_bits`` and ``styles`` (per read
    port, :class:`synth.families.LutPlan`) for :class:`hdl.lut.CodeLut` with
    ``ports`` read ports.
    """
    emu = "block" if layout is not None else None
    fam = opts.board.fpga_family
    if layout is not None:
        if opts.memory != "auto":
            return {"lut": opts.memory, "emulator": opts.memory,
                    "why": f"--memory {opts.memory}"}
        lut, why = fam.auto_memory(spec, layout, opts.board.capacity)
        return {"lut": lut, "emulator": emu, "why": why}
    width = lut_width(spec)
    if opts.memory == "auto":
        plan = fam.lut_plan(spec, None, opts.board.capacity, ports)
    else:
        style = opts.memory
        plan = LutPlan((0 if style == "logic" else width,) * ports, (style,) * ports, 0,
                       f"--memory {style}")
    kinds = {s if b else "logic" for b, s in zip(plan.ram_bits, plan.styles, strict=True)}
    split = any(0 < b < width for b in plan.ram_bits)
    return {"lut": kinds.pop() if len(kinds) == 1 and not split else "mixed",
            "emulator": None, "why": plan.why, "ports": plan.counts(width),
            "ram_bits": list(plan.ram_bits), "styles": list(plan.styles)}


_LUT_READS = "t:$memrd_v2 r:MEMID=*lut* %i"
"""The read ports of the LUT memories (for their read-during-write don't-care)."""


def memory_script(policy: dict) -> str:
    """Yosys commands: each memory's ``ram_style``, and the LUT read ports'
    read-during-write collision as don't-care (``COLLISION_X_MASK``; the
    :class:`hdl.lut.CodeLut` contract), which spares the old-value bypass logic."""
    lines = []
    if "ram_bits" in policy:
        for k, (bits, style) in enumerate(zip(policy["ram_bits"], policy["styles"],
                                              strict=True)):
            if bits and style != "auto":
                lines.append(f'setattr -set ram_style "{style}" m:lut*_r{k}')
        sels = [("m:emu_*", policy["emulator"])]
    else:
        sels = [("m:lut*", policy["lut"]), ("m:emu_*", policy["emulator"])]
    for sel, style in sels:
        if style and style != "auto":
            lines.append(f'setattr -set ram_style "{style}" {sel}')
    lines.append(f"setparam -set COLLISION_X_MASK 1 {_LUT_READS}")
    return "\n".join(lines)


def _lut_factory(run: _Run) -> Callable:
    """``PeripheryParts.lut`` building :class:`hdl.lut.CodeLut` with the policy's
    ``ram_bits`` (one per LUT read port: the policy is made for ``len(mux_groups)``
    ports, the ports the periphery builds; CodeLut refuses any other count)."""
    from hdl.lut import CodeLut

    def make(spec, init, **kw):
        return CodeLut(spec, init, ram_bits=run.policy["ram_bits"], **kw)
    return make


def _dist(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- one run ------------------------------------------------------------------------------

@dataclass
class _Run:
    """What the steps of one :func:`synthesize` share: inputs, the work directory,
    and what each step leaves for the next."""

    spec: MacroSpec
    opts: SynthOptions
    work: Path
    tools: dict[str, Tool]
    timer: StepTimer
    say: Callable[[str], None]
    config_file: str | None = None
    board_top: object = None
    layout: object = None
    policy: dict = field(default_factory=dict)
    design: dict = field(default_factory=dict)
    overflow: dict = field(default_factory=dict)
    bitstream: str | None = None

    @property
    def board(self) -> Board:
        return self.opts.board

    @property
    def family(self) -> Family:
        return self.opts.board.fpga_family


def _prepare(run: _Run) -> None:
    """The emulator top (its layout feeds the memory policy), and the policy."""
    opts = run.opts
    if opts.emulator:
        from hdl.emulator import EmulatorBoard

        run.board_top = EmulatorBoard(
            run.spec, opts.calibration, clk_hz=run.board.pins()["clk_hz"], baud=opts.baud,
            batch_max=opts.batch_max, noise_bits_max=opts.noise_bits_max)
        run.layout = run.board_top.emulator.layout
    # One LUT read port per ADC group (hdl.periphery.Periphery.port_luts).
    run.policy = memory_policy(opts, run.spec, run.layout, len(mux_groups(run.spec)))


# -- step 1: elaboration -----------------------------------------------------------------

def _elaborate(run: _Run) -> None:
    run.design = _elaborate_emulator(run) if run.opts.emulator else _elaborate_periphery(run)


def _elaborate_periphery(run: _Run) -> dict:
    from amaranth.back import rtlil

    from hdl.periphery import Periphery, PeripheryParts

    from .harness import ScanHarness

    spec, work, fam = run.spec, run.work, run.family
    top = spec.hdl.top
    per = Periphery(spec, run.opts.calibration, parts=PeripheryParts(lut=_lut_factory(run)))
    (work / f"{top}.il").write_text(rtlil.convert(per, name=top, emit_src=False))
    harness = ScanHarness(top, per.ports)
    (work / f"{HARNESS_TOP}.il").write_text(
        rtlil.convert(harness, name=HARNESS_TOP, emit_src=False))
    (work / "synth.ys").write_text("\n".join([
        f"read_rtlil {top}.il",
        f"read_rtlil {HARNESS_TOP}.il",
        f"hierarchy -top {HARNESS_TOP}",
        f"setattr -mod -set keep_hierarchy 1 {top}"
        + (f" {top}.*" if run.opts.components else ""),
        memory_script(run.policy),
        *_synth_commands(f"{fam.synth_command} -top {HARNESS_TOP}", run.opts.components),
        "tee -q -o stat.json stat -json",
        f"write_json {HARNESS_TOP}.json",
    ]) + "\n")
    pins = run.board.pins()
    ports = {"clk": pins["clk"], "sin": pins["rx"], "sout": pins["tx"]}
    mhz = spec.fpga.clock_mhz
    cons = HARNESS_TOP + fam.constraints_suffix
    (work / cons).write_text(fam.constraints(ports, mhz))
    return {
        "name": HARNESS_TOP, "script": "synth.ys", "constraints": cons, "top": top,
        "target_mhz": mhz, "module": top,
        "harness": {
            "module": HARNESS_TOP, "scan_chain_ffs": harness.chain_bits,
            "xor_tree_ffs": harness.xor_registers, "output_bits": harness.output_bits,
            "pins": ports,
        },
        "periphery": {"latency": per.latency, "match_width": per.match_width,
                      "out_width": per.out_width, "lut_width": per.lut_width,
                      "decoder": per.decoder},
    }


def _synth_commands(synth: str, components: bool) -> list[str]:
    """The synthesis command; with the components kept apart it is split before LUT
    mapping by ``opt_clean -purge`` (without it Yosys 0.70's ABC9 re-integration
    asserts on the kept shift-add module: a wire name taken twice)."""
    if not components:
        return [synth]
    return [f"{synth} -run :map_luts", "opt_clean -purge", f"{synth} -run map_luts:"]


def _elaborate_emulator(run: _Run) -> dict:
    plat = run.board.make_platform()
    plan = plat.build(
        run.board_top, name=EMULATOR_TOP, do_build=False, emit_src=False,
        script_after_read=memory_script(run.policy),
        script_after_synth="tee -q -o stat.json stat -json",
    )
    for fname, content in plan.files.items():
        path = run.work / fname
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
    emu = run.board_top.emulator
    return {
        "name": EMULATOR_TOP, "script": f"{EMULATOR_TOP}.ys",
        "constraints": EMULATOR_TOP + run.family.constraints_suffix,
        "top": EMULATOR_TOP, "target_mhz": emu.clk_hz / 1e6, "module": None,
        "emulator": {
            **emu.layout.describe(), "config_id": emu.layout.config_id,
            "baud": run.opts.baud, "divisor": emu.divisor, "clk_hz": emu.clk_hz,
            "cycles_per_mvm": emu.cycles_per_mvm(),
            "periphery_latency": emu.periphery.latency,
            "pins": run.board.pins(),
        },
    }


# -- steps 2-4: the tools ------------------------------------------------------------------

def _synthesise(run: _Run) -> None:
    run_tool(run.tools["yosys"], ["-q", "-l", "yosys.log", run.design["script"]], run.work,
             run.work / "yosys.stdout.log")


def _place_and_route(run: _Run) -> None:
    """nextpnr; a design that does not fit is recorded in ``run.overflow`` (its
    utilisation from the log), any other failure raised."""
    name, fam = run.design["name"], run.family
    args = [*run.board.pnr_args, "--json", f"{name}.json", "--report", "pnr.json",
            "--seed", str(run.opts.seed), "--timing-allow-fail",
            *fam.pnr_args(name, run.design["constraints"])]
    try:
        run_tool(run.tools[fam.pnr_tool], args, run.work, run.work / "nextpnr.log")
    except ToolError:
        util = _log_utilisation(run.work / "nextpnr.log")
        over = {k: v for k, v in util.items() if v["used"] > v["available"]}
        if not over:
            raise
        run.overflow.update(util=util, over=over)
        run.say("    the design does not fit: " + ", ".join(
            f"{k} {v['used']}/{v['available']}" for k, v in over.items()))


def _pack(run: _Run) -> None:
    fam = run.family
    bitstream, args = fam.pack(run.design["name"])
    run_tool(run.tools[fam.pack_tool], args, run.work, run.work / "pack.log")
    run.bitstream = bitstream


# -- step 5: the report --------------------------------------------------------------------

def _cell_counts(stat: dict, module: str | None) -> dict:
    if module is None:
        cells = stat.get("design", {}).get("num_cells_by_type", {})
    else:
        mods = stat["modules"]
        key = next(k for k in mods if k.lstrip("\\") == module)
        cells = mods[key].get("num_cells_by_type", {})
    return {k: int(v) for k, v in cells.items()}


COMPONENTS = ("decoders", "lut", "shift_add", "control")
"""The periphery's components in ``report["components"]`` (``components``)."""


def _component(module: str, top: str) -> str | None:
    """The component of Yosys module ``module`` of periphery ``top`` (Amaranth names
    submodule ``x`` of ``top`` ``top.x``): decoders and SR combiners (``dec_*``,
    ``sr_*``), ``lut``, ``shift_add``, the top itself ``control``; None for a module
    outside the periphery (the harness)."""
    name = module.lstrip("\\")
    if name == top:
        return "control"
    if not name.startswith(top + "."):
        return None
    inst = name.removeprefix(top + ".").split(".")[0]
    if inst.startswith(("dec_", "sr_")):
        return "decoders"
    return inst if inst in ("lut", "shift_add") else "control"


def _component_cells(stat: dict, top: str) -> dict[str, dict]:
    """Cell counts per periphery component (:data:`COMPONENTS`) from the ``stat`` of a
    build that kept the components' modules (``components``)."""
    out: dict[str, dict] = {c: {} for c in COMPONENTS}
    for name, info in stat["modules"].items():
        comp_name = _component(name, top)
        if comp_name is None:
            continue
        comp = out[comp_name]
        for typ, n in info.get("num_cells_by_type", {}).items():
            comp[typ] = comp.get(typ, 0) + int(n)
    return out


def _resources(cells: dict, family: Family) -> dict:
    return {name: sum(cells.get(t, 0) for t in types)
            for name, types in family.cells.items()}


def _timing(pnr: dict, target_mhz: float) -> dict:
    clocks = []
    for net, d in sorted(pnr.get("fmax", {}).items()):
        fmax = float(d["achieved"])
        target = float(d.get("constraint", target_mhz))
        clocks.append({"net": net, "fmax_mhz": round(fmax, 3),
                       "target_mhz": round(target, 3), "met": fmax >= target})
    return {"target_mhz": target_mhz, "clocks": clocks,
            "met": bool(clocks) and all(c["met"] for c in clocks)}


_UTIL_LINE = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%\s*$")


def _log_utilisation(log: Path) -> dict:
    """nextpnr's "Device utilisation" table from its log (printed before placement,
    so also present when the design does not fit)."""
    util = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        mt = _UTIL_LINE.match(line.strip("\n"))
        if mt:
            util[mt.group(1)] = {"used": int(mt.group(2)), "available": int(mt.group(3))}
    return util


def _capacity(family: Family, util: dict) -> dict:
    out = {}
    for name, key in family.placed.items():
        if key in util:
            out[name] = {"used": int(util[key]["used"]),
                         "available": int(util[key]["available"]), "nextpnr": key}
    return out


_SCOPE = {
    True: "the whole emulator top (UART, crossbar and Q-cell twin, periphery), at the "
          "board clock",
    False: "the periphery alone, out of context (scan harness, clock at [fpga] clock_mhz)",
}


def _report(run: _Run) -> dict:
    """The report from the files the tools left in the work directory."""
    opts, board, fam, design, spec = run.opts, run.board, run.family, run.design, run.spec
    stat = json.loads((run.work / "stat.json").read_text())
    if run.overflow:
        pnr = {"utilization": run.overflow["util"], "fmax": {}}
    elif not opts.place:
        pnr = {"utilization": {}, "fmax": {}}
    else:
        pnr = json.loads((run.work / "pnr.json").read_text())
    cells = _cell_counts(stat, design["module"])
    util = pnr.get("utilization", {})
    report = {
        "format": REPORT_FORMAT, "version": 1,
        "design": "emulator" if opts.emulator else "periphery",
        "top": design["top"],
        "mode": ("synthesis-only" if not opts.place else
                 "report-only" if opts.report_only else "bitstream"),
        "scope": _SCOPE[opts.emulator],
        "board": {"name": board.name, "title": board.title, "family": fam.name,
                  "device": board.device, "package": board.package},
        "config": {"file": run.config_file, "spec": spec.to_dict(),
                   "phys_cols": spec.macro.phys_cols,
                   "decoder": spec.adc.decoder_name},
        "memory": run.policy,
        "resources": _resources(cells, fam),
        "yosys_cells": {k: v for k, v in sorted(cells.items()) if not k.startswith("$")},
        "placed": _capacity(fam, util),
        "utilisation": {k: v for k, v in util.items() if v.get("used")},
        "fits": None if not opts.place else not run.overflow,
        "over_capacity": run.overflow.get("over", {}),
        "timing": _timing(pnr, design["target_mhz"]),
        "tools": {
            **{n: t.version for n, t in run.tools.items()},
            "amaranth": _dist("amaranth"), "amaranth-boards": _dist("amaranth-boards"),
            "cimgen": _dist("cimgen"), "python": _platform.python_version(),
        },
    }
    if opts.components:
        comps = _component_cells(stat, design["module"])
        report["components"] = {c: _resources(v, fam) for c, v in comps.items()}
        total: dict[str, int] = {}
        for cells_of in comps.values():
            for typ, n in cells_of.items():
                total[typ] = total.get(typ, 0) + n
        report["resources"] = _resources(total, fam)
    if "harness" in design:
        hc = _cell_counts(stat, HARNESS_TOP)
        report["harness"] = {**design["harness"], **_resources(hc, fam)}
        report["periphery"] = design["periphery"]
    if "emulator" in design:
        report["emulator"] = design["emulator"]
    return report


def format_table(report: dict) -> str:
    """The report as a plain-text table (what ``cimgen synth`` prints)."""
    b = report["board"]
    res = report["resources"]
    placed = report["placed"]
    lines = [f"{report['top']} on {b['name']} ({b['device']} {b['package']}): "
             f"{report['scope']}"]
    cap = {"luts": placed.get("lcs", placed.get("luts", {})).get("available"),
           "ffs": placed.get("lcs", placed.get("ffs", {})).get("available"),
           "bram": placed.get("bram", {}).get("available"),
           "dsp": placed.get("dsp", {}).get("available")}
    lines.append(f"{'resource':<22}{'used':>8}{'device':>9}{'use':>8}")
    for name, label in (("luts", "LUT4"), ("ffs", "flip-flops"), ("carry", "carry cells"),
                        ("bram", "block RAM"), ("dsp", "DSP / multipliers"),
                        ("lutram", "LUT RAM (16x4)"), ("spram", "SPRAM")):
        if name not in res:
            continue
        avail = cap.get(name)
        pct = f"{100 * res[name] / avail:.1f}%" if avail else ""
        lines.append(f"{label:<22}{res[name]:>8}{avail or '':>9}{pct:>8}")
    for name, d in placed.items():
        if name in ("lcs", "luts", "ffs"):
            label = {"lcs": "logic cells" + (" (placed)" if report.get("fits", True)
                                             else " (needed)"), "luts": "placed LUT4 (comb)",
                     "ffs": "placed flip-flops"}[name]
            lines.append(f"{label:<22}{d['used']:>8}{d['available']:>9}"
                         f"{100 * d['used'] / d['available']:>7.1f}%")
    if "harness" in report:
        h = report["harness"]
        lines.append(f"  (placed counts include the scan harness: {h['luts']} LUT4, "
                     f"{h['ffs']} flip-flops)")
    mem = report.get("memory", {})
    if mem.get("why"):
        lines.append(f"LUT memory ({mem['lut']}): {mem['why']}")
    if not report.get("fits", True):
        lines.append("not placed: the design does not fit the device")
        return "\n".join(lines)
    lines.append(f"{'clock net':<36}{'Fmax MHz':>10}{'target':>9}  met")
    for c in report["timing"]["clocks"]:
        lines.append(f"{c['net'][:35]:<36}{c['fmax_mhz']:>10.2f}{c['target_mhz']:>9.2f}  "
                     f"{'yes' if c['met'] else 'NO'}")
    return "\n".join(lines)


# -- step 6: publish -----------------------------------------------------------------------

def _finish(run: _Run, report: dict) -> None:
    """Stage times, file list and ``report.json`` into the work directory (which then
    becomes ``out``)."""
    work = run.work
    report["stages"] = [{"stage": s.title, "seconds": round(s.seconds, 3)}
                        for s in run.timer.steps]
    report["total_seconds"] = round(run.timer.elapsed, 3)
    report["files"] = {
        "bitstream": run.bitstream,
        "logs": sorted(p.name for p in work.glob("*.log")),
        "all": sorted([p.name for p in work.iterdir()] + ["report.json"]),
    }
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")


def _no_check(out: Path, force: bool) -> None:
    """The caller checked ``out`` before the build (``cimgen synth``'s ``-o`` rules)."""


def _keep_failed(work: Path, out: Path, exc: BaseException) -> None:
    """After a failure: drop the work directory of a refused write (nothing partial is
    kept), else keep it, logs included, as ``<out>.failed``."""
    if not work.exists():
        return
    if isinstance(exc, OSError):
        shutil.rmtree(work, ignore_errors=True)
        return
    failed = out.with_name(out.name + ".failed")
    shutil.rmtree(failed, ignore_errors=True)
    try:
        os.rename(work, failed)
    except OSError:
        shutil.rmtree(work, ignore_errors=True)


# -- the flow -----------------------------------------------------------------------------

def _tools(board: Board, report_only: bool) -> dict[str, Tool]:
    fam = board.fpga_family
    names = ["yosys", fam.pnr_tool] + ([] if report_only else [fam.pack_tool])
    return {n: find_tool(n) for n in names}


def _run_steps(run: _Run) -> dict:
    """Steps 1-5 (pack only for a bitstream of a design that fits); the report."""
    t, fam = run.timer, run.family
    t.run("elaborate (Amaranth)", _elaborate, run)
    t.run(f"synthesise (Yosys {fam.synth_command})", _synthesise, run)
    if run.opts.place:
        t.run(f"place and route ({fam.pnr_tool})", _place_and_route, run)
    if not run.opts.report_only and not run.overflow:
        t.run(f"pack ({fam.pack_tool})", _pack, run)
    return t.run("report", _report, run, index=t.total)


def synthesize(spec: MacroSpec, opts: SynthOptions, out_dir, *,
               progress: Callable[[str], None] | None = None,
               config_file: str | None = None) -> dict:
    """Run the flow; return the report (also written as ``out_dir/report.json``).

    ``report.json`` holds: ``format``/``version``; ``design`` (``periphery`` or
    ``emulator``), ``top``, ``mode`` and ``scope``; ``board`` (name, family,
    device, package); ``config`` (the spec, and the config file name);
    ``memory`` (policy and why); ``resources`` (LUT4s, flip-flops, carry cells,
    block RAMs, DSPs / multipliers, and per family LUT RAM or SPRAM, from Yosys
    ``stat`` of the periphery module alone, or of the whole emulator);
    ``yosys_cells`` (every cell type); ``harness`` (the scan harness's own cells,
    periphery only); ``placed`` (nextpnr's utilisation of the whole placed design,
    with the device's capacity) and ``utilisation`` (nextpnr's raw table);
    ``timing`` (Fmax per clock net against its target, ``met``); ``tools``
    (versions); ``stages`` (seconds per stage); ``files``; and ``emulator`` (layout,
    UART divisor, cycles per MVM) for emulator builds.

    Raises
    ------
    synth.tools.ToolMissing
        A tool is not installed (before anything is written).
    synth.tools.ToolError
        A tool failed; the run's files are kept in ``<out_dir>.failed``.
    """
    say = progress or (lambda s: None)
    tools = _tools(opts.board, opts.report_only)
    out = Path(out_dir)
    keep = lambda work, exc: _keep_failed(work, out, exc)  # noqa: E731
    with staged(out, True, check=_no_check, on_error=keep) as work:
        timer = StepTimer(3 if not opts.place else 4 if opts.report_only else 5, say)
        run = _Run(spec, opts, work, tools, timer, say, config_file)
        _prepare(run)
        report = _run_steps(run)
        _finish(run, report)
    shutil.rmtree(out.with_name(out.name + ".failed"), ignore_errors=True)
    return report
