# amaranth: UnusedElaboratable=no
# (The Periphery built here is converted at once; only a failed conversion leaves it
# unelaborated, and that failure is reported by its own exception.)
"""Yosys's gate counts of the generated periphery, per component, against :mod:`golden.gates`.

:func:`measure_gates` converts the :class:`hdl.periphery.Periphery` of a spec to
Verilog with its hierarchy (one Verilog module per decoder, SR combiner, LUT and
ShiftAdd, as Amaranth writes them) and runs a generic synthesis that keeps it::

    read_verilog; hierarchy -top <top>; synth -top <top>   (no -flatten)
    dffunmap                        # enables and sync resets as logic: plain $_DFF_P_
    abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX
    opt_clean; stat -json; stat -tech cmos

``synth`` maps the LUT memories to flip-flops and multiplexers (``memory_map``), the
unit the analytic count uses. Modules are grouped into the components of
:data:`golden.gates.COMPONENTS` by their instance names (``dec_*`` and ``sr_*``:
``decoders``; ``lut``; ``shift_add``; the top module itself: ``control``).
:func:`compare` gives analytic vs measured per component with their ratio.

The FPGA cells per component are measured by ``bench/bench_resources.py`` (the synth
flow's ``components`` option), not here.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog

from golden.gate_presets import CMOS_TRANSISTORS
from golden.gates import COMPONENTS, periphery_gates
from golden.spec import MacroSpec

from .tools import find_tool, run_tool

__all__ = [
    "GATE_SCRIPT",
    "RATIO_TOLERANCE",
    "Comparison",
    "analytic_gates",
    "compare",
    "component_of",
    "measure_gates",
    "periphery_verilog",
    "pipeline_stages",
]

GATE_SCRIPT = ("synth -top {top}; dffunmap; "
               "abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX; opt_clean; "
               "tee -q -o stat.json stat -json; tee -q -o stat.txt stat -tech cmos")
"""The Yosys passes after ``read_verilog <top>.v; hierarchy -top <top>``."""

RATIO_TOLERANCE = (0.5, 1.5)
"""Accepted ``measured / analytic`` transistor ratio per component. The analytic model
is textbook structure (AND/OR gates, ripple adders); Yosys's ABC restructures with
NAND/NOR (4 transistors against 6) and shares logic, so it comes out smaller where
logic dominates: measured 0.63..1.04 over the default and the random configs of
``tests/synth/test_gates.py`` (the decoders lowest, 0.63 for popcount decoders; LUT
and shift-add 0.88..1.04). Flip-flop counts agree exactly and are tested so."""


def component_of(module: str, top: str) -> str:
    """The :data:`golden.gates.COMPONENTS` entry a Yosys module belongs to.

    Raises
    ------
    ValueError
        A module name that is none of the periphery's components.
    """
    name = module.lstrip("\\")
    if name == top:
        return "control"
    inst = name.removeprefix(top + ".").split(".")[0]
    if inst.startswith(("dec_", "sr_")):
        return "decoders"
    if inst in ("lut", "shift_add"):
        return inst
    raise ValueError(f"module = {module!r}: not a component of {top!r} (expected "
                     f"{top}, {top}.dec_*, {top}.sr_*, {top}.lut or {top}.shift_add)")


def periphery_verilog(spec: MacroSpec, top: str = "cim_periphery") -> str:
    """Amaranth's hierarchical Verilog of ``Periphery(spec)`` (default calibration)."""
    from hdl.periphery import Periphery

    return verilog.convert(Periphery(spec), name=top, emit_src=False)


def _cell_name(yosys_type: str) -> str:
    """``$_DFF_P_`` -> ``DFF``, ``$_AND_`` -> ``AND``."""
    base = yosys_type.strip("$_")
    return "DFF" if base.startswith("DFF") else base


def _run(spec: MacroSpec, script: str, work: Path, top: str) -> None:
    (work / f"{top}.v").write_text(periphery_verilog(spec, top))
    ys = find_tool("yosys")
    full = f"read_verilog {top}.v; hierarchy -top {top}; {script}"
    run_tool(ys, ["-q", "-p", full], work, work / "yosys.log")


def _parse_transistors(text: str) -> dict[str, int]:
    """Yosys's own "Estimated number of transistors" per module of ``stat -tech cmos``."""
    out, module = {}, None
    for line in text.splitlines():
        m = re.match(r"=== (\S+) ===", line.strip())
        if m:
            module = m.group(1)
        m = re.search(r"Estimated number of transistors:\s+(\d+)", line)
        if m and module and module != "design hierarchy":
            out[module] = int(m.group(1))
    return out


def measure_gates(spec: MacroSpec, *, top: str = "cim_periphery",
                  work_dir: Path | None = None) -> dict[str, dict]:
    """Yosys's generic cells per component of the periphery of ``spec``.

    Parameters
    ----------
    spec : MacroSpec
    top : str
        Verilog top module name.
    work_dir : Path, optional
        Where the Verilog, log and stats go (kept); default a temporary directory.

    Returns
    -------
    dict
        :data:`golden.gates.COMPONENTS` -> ``{"cells": {name: count}, "ffs", "gates",
        "transistors", "yosys_transistors"}``; ``transistors`` from the cell counts by
        :data:`golden.gate_presets.CMOS_TRANSISTORS`, ``yosys_transistors`` as Yosys's
        ``stat -tech cmos`` prints it (the two agree when the table is Yosys's).

    Raises
    ------
    synth.tools.ToolMissing
        No Yosys.
    synth.tools.ToolError
        Yosys failed.
    ValueError
        A cell type outside the generic library, or a module of no component.
    """
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work_dir) if work_dir is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        _run(spec, GATE_SCRIPT.format(top=top), work, top)
        stat = json.loads((work / "stat.json").read_text())
        est = _parse_transistors((work / "stat.txt").read_text())
    out = {c: {"cells": {}, "yosys_transistors": 0} for c in COMPONENTS}
    for module, info in stat["modules"].items():
        comp = out[component_of(module, top)]
        # Yosys's estimate of a module includes its submodules: keep the local part.
        subs = sum(est.get(t.lstrip("\\"), 0) * int(n)
                   for t, n in info["num_cells_by_type"].items() if not t.startswith("$"))
        comp["yosys_transistors"] += est.get(module.lstrip("\\"), 0) - subs
        for typ, n in info["num_cells_by_type"].items():
            if not typ.startswith("$"):
                continue  # a submodule instance, counted in its own module
            name = _cell_name(typ)
            if name not in CMOS_TRANSISTORS:
                raise ValueError(f"cell type {typ!r} in {module}: not in the generic "
                                 "library of golden.gate_presets.CMOS_TRANSISTORS")
            comp["cells"][name] = comp["cells"].get(name, 0) + int(n)
    for comp in out.values():
        cells = comp["cells"]
        comp["ffs"] = cells.get("DFF", 0)
        comp["gates"] = sum(v for k, v in cells.items() if k != "DFF")
        comp["transistors"] = sum(CMOS_TRANSISTORS[k] * v for k, v in cells.items())
    return out


@dataclass(frozen=True)
class Comparison:
    """Analytic vs measured counts of one component.

    Attributes
    ----------
    component : str
    analytic_transistors, measured_transistors : int
    analytic_ffs, measured_ffs : int
    analytic_gates, measured_gates : int
    """

    component: str
    analytic_transistors: int
    measured_transistors: int
    analytic_ffs: int
    measured_ffs: int
    analytic_gates: int
    measured_gates: int

    @property
    def ratio(self) -> float:
        """``measured_transistors / analytic_transistors`` (1.0 when both are 0)."""
        return _ratio(self.measured_transistors, self.analytic_transistors)

    @property
    def ff_ratio(self) -> float:
        """``measured_ffs / analytic_ffs`` (1.0 when both are 0)."""
        return _ratio(self.measured_ffs, self.analytic_ffs)

    def within(self, tolerance: tuple[float, float] = RATIO_TOLERANCE) -> bool:
        """Both ratios inside ``tolerance`` (inclusive)."""
        lo, hi = tolerance
        return lo <= self.ratio <= hi and lo <= self.ff_ratio <= hi


def _ratio(measured: int, analytic: int) -> float:
    if analytic == 0:
        return 1.0 if measured == 0 else float("inf")
    return measured / analytic


def pipeline_stages(spec: MacroSpec) -> dict[str, int]:
    """The pipeline registers of the generated RTL that :func:`golden.gates.periphery_gates`
    takes as parameters, read from the components' latencies: ``code_stages =
    Periphery.latency - CodeLut.latency - ShiftAdd.latency`` and ``tree_stages =
    ShiftAdd.latency - 2`` (2: combine register and accumulator)."""
    from hdl.periphery import Periphery

    p = Periphery(spec)
    lut, sa = p._lut, p._shift_add
    return {"code_stages": p.latency - lut.latency - sa.latency,
            "tree_stages": sa.latency - 2}


def analytic_gates(spec: MacroSpec) -> dict:
    """:func:`golden.gates.periphery_gates` with the RTL's :func:`pipeline_stages`."""
    return periphery_gates(spec, **pipeline_stages(spec))


def compare(spec: MacroSpec, measured: dict[str, dict] | None = None) -> list[Comparison]:
    """Analytic (:func:`golden.gates.periphery_gates`) vs Yosys (:func:`measure_gates`,
    run unless ``measured`` is given) per component, in :data:`COMPONENTS` order."""
    measured = measure_gates(spec) if measured is None else measured
    analytic = analytic_gates(spec)
    return [Comparison(c, analytic[c].transistors, measured[c]["transistors"],
                       analytic[c].ffs, measured[c]["ffs"],
                       analytic[c].gates, measured[c]["gates"]) for c in COMPONENTS]
