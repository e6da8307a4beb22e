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

Everything is written into a temporary directory beside the output directory and
renamed into place only when complete; a failed run leaves its files, logs
included, in ``<out>.failed`` instead.

Memory mapping (``memory``): ``"block"``, ``"distributed"`` (ECP5 LUT RAM) or
``"logic"`` for every memory, or ``"auto"``: the emulator's own memories (weights,
bounds, inputs, results) in block RAM, and the periphery's LUTs, which are read
through one port per physical column, in distributed RAM on ECP5 (Yosys's own
search over block-RAM mappings of a memory with 16 or more read ports exhausts
the 4 GiB of the WebAssembly Yosys) and on iCE40 in block RAM whenever the
estimated block count fits the device (one 4-kbit block per read port; in logic a
16-entry, 15-bit LUT costs about 240 cells per read port, which fills a UP5K at 16
physical columns), else where Yosys puts them.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform as _platform
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from golden.digital import lut_width
from golden.macro import MacroCalibration
from golden.outdir import publish_dir
from golden.spec import MacroSpec

from .boards import Board
from .tools import Tool, ToolError, find_tool, run_tool

__all__ = ["MEMORY_POLICIES", "REPORT_FORMAT", "SynthOptions", "ice40_brams", "synthesize"]

REPORT_FORMAT = "cimgen-synth-report"
MEMORY_POLICIES = ("auto", "block", "distributed", "logic")
HARNESS_TOP = "cimgen_scan_harness"
EMULATOR_TOP = "cim_emulator"

# Yosys cell types per resource, per family.
_CELLS = {
    "ice40": {
        "luts": ("SB_LUT4",),
        "ffs": ("SB_DFF", "SB_DFFE", "SB_DFFSR", "SB_DFFR", "SB_DFFS", "SB_DFFESR",
                "SB_DFFER", "SB_DFFES", "SB_DFFSS", "SB_DFFESS", "SB_DFFN", "SB_DFFNE",
                "SB_DFFNSR", "SB_DFFNR", "SB_DFFNS", "SB_DFFNESR", "SB_DFFNER",
                "SB_DFFNES", "SB_DFFNSS", "SB_DFFNESS"),
        "carry": ("SB_CARRY",),
        "bram": ("SB_RAM40_4K",),
        "dsp": ("SB_MAC16",),
        "spram": ("SB_SPRAM256KA",),
    },
    "ecp5": {
        "luts": ("LUT4",),
        "ffs": ("TRELLIS_FF",),
        "carry": ("CCU2C",),
        "bram": ("DP16KD", "PDPW16KD"),
        "dsp": ("MULT18X18D", "ALU54B"),
        "lutram": ("TRELLIS_DPR16X4",),
    },
}
# nextpnr utilisation keys of the headline numbers.
_PLACED = {
    "ice40": {"lcs": "ICESTORM_LC", "bram": "ICESTORM_RAM", "dsp": "ICESTORM_DSP",
              "io": "SB_IO"},
    "ecp5": {"luts": "TRELLIS_COMB", "ffs": "TRELLIS_FF", "bram": "DP16KD",
             "dsp": "MULT18X18D", "lutram": "TRELLIS_RAMW", "io": "TRELLIS_IO"},
}


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
    decoder : str or None
    baud, batch_max, noise_bits_max : emulator options (:class:`hdl.emulator.Emulator`)
    seed : int
        nextpnr placement seed.
    """

    board: Board
    report_only: bool = False
    emulator: bool = False
    memory: str = "auto"
    calibration: MacroCalibration | None = None
    decoder: str | None = None
    baud: float = 115200
    batch_max: int = 32
    noise_bits_max: int = 3
    seed: int = 1


def ice40_brams(width: int, depth: int) -> int:
    """iCE40 4-kbit blocks (modes 256x16, 512x8, 1024x4, 2048x2) for one read port."""
    return min(-(-depth // d) * -(-width // w)
               for d, w in ((256, 16), (512, 8), (1024, 4), (2048, 2)))


def _estimate_brams(spec: MacroSpec, emulator_layout=None) -> int:
    a, m = spec.adc, spec.macro
    n = m.phys_cols * ice40_brams(lut_width(spec), a.lut_entries)
    if emulator_layout is not None:
        lay = emulator_layout
        n += ice40_brams(lay.row_bits, m.rows) + ice40_brams(2 * lay.bound_width, lay.cells_total)
        n += ice40_brams(m.input_bits, lay.batch_max * m.rows)
        n += ice40_brams(8, lay.batch_max * lay.result_bytes)
    return n


def _memory_policy(opts: SynthOptions, spec: MacroSpec, layout) -> dict:
    """Where the LUT memories (``m:lut*``) and the emulator's memories (``m:emu_*``) go.

    Returns ``{"lut": style, "emulator": style or None, "why": text}`` with styles
    ``block``, ``distributed``, ``logic`` or ``auto`` (Yosys's choice).
    """
    emu = "block" if layout is not None else None
    if opts.memory != "auto":
        return {"lut": opts.memory, "emulator": emu and opts.memory,
                "why": f"--memory {opts.memory}"}
    if opts.board.family == "ecp5":
        # Yosys's own choice tries block RAM for the LUTs too, and memory_libmap's
        # search over 16+ read ports per memory exhausts the 4 GiB of a wasm32 Yosys.
        return {"lut": "distributed", "emulator": emu,
                "why": "LUTs in distributed RAM (one 16x4 RAM per 4 bits per read port), "
                       "emulator memories in block RAM"}
    need = _estimate_brams(spec, layout)
    have = opts.board.capacity["bram"]
    if need <= have:
        return {"lut": "block", "emulator": emu,
                "why": f"block RAM: an estimated {need} of {have} blocks"}
    return {"lut": "auto", "emulator": emu,
            "why": f"LUTs: Yosys's choice (in block RAM they would need about {need} "
                   f"blocks, the device has {have})"}


def _setattr_memory(policy: dict) -> str:
    lines = []
    for sel, style in (("m:lut*", policy["lut"]), ("m:emu_*", policy["emulator"])):
        if style and style != "auto":
            lines.append(f'setattr -set ram_style "{style}" {sel}')
    return "\n".join(lines)


def _dist(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- elaboration -------------------------------------------------------------------------

def _elaborate_periphery(spec, opts, work: Path, policy: str) -> dict:
    from amaranth.back import rtlil

    from hdl.periphery import Periphery

    from .harness import ScanHarness

    top = spec.hdl.top
    per = Periphery(spec, opts.calibration, opts.decoder)
    (work / f"{top}.il").write_text(rtlil.convert(per, name=top, emit_src=False))
    harness = ScanHarness(top, per.ports)
    (work / f"{HARNESS_TOP}.il").write_text(
        rtlil.convert(harness, name=HARNESS_TOP, emit_src=False))
    fam = opts.board.family
    (work / "synth.ys").write_text("\n".join([
        f"read_rtlil {top}.il",
        f"read_rtlil {HARNESS_TOP}.il",
        f"hierarchy -top {HARNESS_TOP}",
        f"setattr -mod -set keep_hierarchy 1 {top}",
        _setattr_memory(policy),
        f"synth_{fam} -top {HARNESS_TOP}",
        "tee -q -o stat.json stat -json",
        f"write_json {HARNESS_TOP}.json",
    ]) + "\n")
    pins = opts.board.pins()
    mhz = spec.fpga.clock_mhz
    if fam == "ice40":
        text = [f"set_io clk {pins['clk']}", f"set_io sin {pins['rx']}",
                f"set_io sout {pins['tx']}", f"set_frequency clk {mhz:g}"]
        cons = f"{HARNESS_TOP}.pcf"
    else:
        text = []
        for port, pin in (("clk", pins["clk"]), ("sin", pins["rx"]), ("sout", pins["tx"])):
            text += [f'LOCATE COMP "{port}" SITE "{pin}";',
                     f'IOBUF PORT "{port}" IO_TYPE=LVCMOS33;']
        text.append(f'FREQUENCY PORT "clk" {mhz:g} MHZ;')
        cons = f"{HARNESS_TOP}.lpf"
    (work / cons).write_text("\n".join(text) + "\n")
    return {
        "name": HARNESS_TOP, "script": "synth.ys", "constraints": cons, "top": top,
        "target_mhz": mhz, "module": top,
        "harness": {
            "module": HARNESS_TOP, "scan_chain_ffs": harness.chain_bits,
            "xor_tree_ffs": harness.xor_registers, "output_bits": harness.output_bits,
            "pins": {"clk": pins["clk"], "sin": pins["rx"], "sout": pins["tx"]},
        },
        "periphery": {"latency": per.latency, "match_width": per.match_width,
                      "out_width": per.out_width, "lut_width": per.lut_width,
                      "decoder": per.decoder},
    }


def _elaborate_emulator(spec, opts, work: Path, policy: str, board_top) -> dict:
    plat = opts.board.make_platform()
    plan = plat.build(
        board_top, name=EMULATOR_TOP, do_build=False, emit_src=False,
        script_after_read=_setattr_memory(policy),
        script_after_synth="tee -q -o stat.json stat -json",
    )
    for fname, content in plan.files.items():
        path = work / fname
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
    emu = board_top.emulator
    lay = emu.layout
    cons = f"{EMULATOR_TOP}.pcf" if opts.board.family == "ice40" else f"{EMULATOR_TOP}.lpf"
    return {
        "name": EMULATOR_TOP, "script": f"{EMULATOR_TOP}.ys", "constraints": cons,
        "top": EMULATOR_TOP, "target_mhz": emu.clk_hz / 1e6, "module": None,
        "emulator": {
            **lay.describe(), "config_id": lay.config_id, "baud": opts.baud,
            "divisor": emu.divisor, "clk_hz": emu.clk_hz,
            "cycles_per_mvm": emu.cycles_per_mvm(),
            "periphery_latency": emu.periphery.latency,
            "pins": opts.board.pins(),
        },
    }


# -- reports -------------------------------------------------------------------------------

def _cell_counts(stat: dict, module: str | None) -> dict:
    if module is None:
        cells = stat.get("design", {}).get("num_cells_by_type", {})
    else:
        mods = stat["modules"]
        key = next(k for k in mods if k.lstrip("\\") == module)
        cells = mods[key].get("num_cells_by_type", {})
    return {k: int(v) for k, v in cells.items()}


def _resources(cells: dict, family: str) -> dict:
    return {name: sum(cells.get(t, 0) for t in types)
            for name, types in _CELLS[family].items()}


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


def _capacity(board: Board, util: dict) -> dict:
    keys = _PLACED[board.family]
    out = {}
    for name, key in keys.items():
        if key in util:
            out[name] = {"used": int(util[key]["used"]),
                         "available": int(util[key]["available"]), "nextpnr": key}
    return out


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
    if not report.get("fits", True):
        lines.append("not placed: the design does not fit the device")
        return "\n".join(lines)
    lines.append(f"{'clock net':<36}{'Fmax MHz':>10}{'target':>9}  met")
    for c in report["timing"]["clocks"]:
        lines.append(f"{c['net'][:35]:<36}{c['fmax_mhz']:>10.2f}{c['target_mhz']:>9.2f}  "
                     f"{'yes' if c['met'] else 'NO'}")
    return "\n".join(lines)


# -- the flow -----------------------------------------------------------------------------

@dataclass
class _Stage:
    name: str
    seconds: float


def _tools(board: Board, report_only: bool) -> dict[str, Tool]:
    names = ["yosys", board.pnr_tool] + ([] if report_only else [board.pack_tool])
    return {n: find_tool(n) for n in names}


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
    board = opts.board
    tools = _tools(board, opts.report_only)
    out = Path(out_dir)
    parent = out.parent if str(out.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    stages: list[_Stage] = []
    n_stages = 4 if opts.report_only else 5
    t_all = time.perf_counter()

    def stage(i: int, title: str, fn):
        say(f"[{i}/{n_stages}] {title} ...")
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        stages.append(_Stage(title, dt))
        say(f"[{i}/{n_stages}] {title}: {dt:.1f} s")
        return result

    try:
        layout = None
        board_top = None
        if opts.emulator:
            from hdl.emulator import EmulatorBoard

            board_top = EmulatorBoard(spec, opts.calibration, clk_hz=board.pins()["clk_hz"],
                                      baud=opts.baud, batch_max=opts.batch_max,
                                      noise_bits_max=opts.noise_bits_max, decoder=opts.decoder)
            layout = board_top.emulator.layout
        policy = _memory_policy(opts, spec, layout)

        def elaborate():
            if opts.emulator:
                return _elaborate_emulator(spec, opts, work, policy, board_top)
            return _elaborate_periphery(spec, opts, work, policy)

        design = stage(1, "elaborate (Amaranth)", elaborate)
        name = design["name"]
        fam = board.family

        stage(2, f"synthesise (Yosys synth_{fam})", lambda: run_tool(
            tools["yosys"], ["-q", "-l", "yosys.log", design["script"]], work,
            work / "yosys.stdout.log"))

        pnr_args = [*board.pnr_args, "--json", f"{name}.json", "--report", "pnr.json",
                    "--seed", str(opts.seed), "--timing-allow-fail"]
        if fam == "ice40":
            pnr_args += ["--pcf", design["constraints"], "--asc", f"{name}.asc"]
        else:
            pnr_args += ["--lpf", design["constraints"], "--textcfg", f"{name}.config"]
        overflow = {}

        def place_and_route():
            try:
                run_tool(tools[board.pnr_tool], pnr_args, work, work / "nextpnr.log")
            except ToolError:
                util = _log_utilisation(work / "nextpnr.log")
                over = {k: v for k, v in util.items() if v["used"] > v["available"]}
                if not over:
                    raise
                overflow.update(util=util, over=over)
                say("    the design does not fit: " + ", ".join(
                    f"{k} {v['used']}/{v['available']}" for k, v in over.items()))

        stage(3, f"place and route ({board.pnr_tool})", place_and_route)

        bitstream = None
        if not opts.report_only and not overflow:
            if fam == "ice40":
                bitstream = f"{name}.bin"
                pack_args = [f"{name}.asc", bitstream]
            else:
                bitstream = f"{name}.bit"
                pack_args = ["--input", f"{name}.config", "--bit", bitstream]
            stage(4, f"pack ({board.pack_tool})",
                  lambda: run_tool(tools[board.pack_tool], pack_args, work, work / "pack.log"))

        def make_report():
            stat = json.loads((work / "stat.json").read_text())
            if overflow:
                pnr = {"utilization": overflow["util"], "fmax": {}}
            else:
                pnr = json.loads((work / "pnr.json").read_text())
            cells = _cell_counts(stat, design["module"])
            report = {
                "format": REPORT_FORMAT, "version": 1,
                "design": "emulator" if opts.emulator else "periphery",
                "top": design["top"],
                "mode": "report-only" if opts.report_only else "bitstream",
                "scope": ("the whole emulator top (UART, crossbar and Q-cell twin, "
                          "periphery), at the board clock" if opts.emulator else
                          "the periphery alone, out of context (scan harness, clock at "
                          "[fpga] clock_mhz)"),
                "board": {"name": board.name, "title": board.title, "family": fam,
                          "device": board.device, "package": board.package},
                "config": {"file": config_file, "spec": spec.to_dict(),
                           "phys_cols": spec.macro.phys_cols,
                           "decoder": design.get("periphery", {}).get("decoder")
                           or (layout.decoder if layout else None)},
                "memory": policy,
                "resources": _resources(cells, fam),
                "yosys_cells": {k: v for k, v in sorted(cells.items())
                                if not k.startswith("$")},
                "placed": _capacity(board, pnr.get("utilization", {})),
                "utilisation": {k: v for k, v in pnr.get("utilization", {}).items()
                                if v.get("used")},
                "fits": not overflow,
                "over_capacity": overflow.get("over", {}),
                "timing": _timing(pnr, design["target_mhz"]),
                "tools": {
                    **{n: t.version for n, t in tools.items()},
                    "amaranth": _dist("amaranth"), "amaranth-boards": _dist("amaranth-boards"),
                    "cimgen": _dist("cimgen"), "python": _platform.python_version(),
                },
            }
            if "harness" in design:
                hc = _cell_counts(stat, HARNESS_TOP)
                report["harness"] = {**design["harness"], **_resources(hc, fam)}
                report["periphery"] = design["periphery"]
            if "emulator" in design:
                report["emulator"] = design["emulator"]
            return report

        report = stage(n_stages, "report", make_report)
        report["stages"] = [{"stage": s.name, "seconds": round(s.seconds, 3)} for s in stages]
        report["total_seconds"] = round(time.perf_counter() - t_all, 3)
        report["files"] = {
            "bitstream": bitstream,
            "logs": sorted(p.name for p in work.glob("*.log")),
            "all": sorted([p.name for p in work.iterdir()] + ["report.json"]),
        }
        (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        umask = os.umask(0)
        os.umask(umask)
        work.chmod(0o777 & ~umask)
        _publish(work, out)
        work = None
        return report
    except BaseException as exc:
        if work is not None and work.exists() and isinstance(exc, OSError):
            shutil.rmtree(work, ignore_errors=True)  # a refused write: nothing partial kept
        elif work is not None and work.exists():
            failed = out.with_name(out.name + ".failed")
            shutil.rmtree(failed, ignore_errors=True)
            try:
                os.rename(work, failed)
            except OSError:
                shutil.rmtree(work, ignore_errors=True)
        raise


def _publish(tmp: Path, out: Path) -> None:
    """Put the finished build in place (:func:`golden.outdir.publish_dir`) and drop
    the ``DIR.failed`` of an earlier failed build."""
    publish_dir(tmp, out)
    shutil.rmtree(out.with_name(out.name + ".failed"), ignore_errors=True)
