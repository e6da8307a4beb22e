# amaranth: UnusedElaboratable=no
# (Each component is converted right after it is built.)
"""The periphery's components as stand-alone Verilog designs, one per cocotb bench.

For a config, :func:`components_for` lists the components its periphery is built from
(the decoder of its encoding, the SR combiner with super-resolution, the LUTs, the
shift-add accumulator) plus the Q-cell sense controller. :func:`export` writes each one's
Verilog and a ``facts.json`` - ports with widths, latency and the parameters its bench
needs - read by the bench instead of retyping anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Shape
from amaranth.lib import wiring

from golden.calibration import default_calibration
from golden.spec import MacroSpec
from hdl import netlist
from hdl.export import VERILOG_FORM, verilator_waivers
from hdl.qcell_ctrl import QCellSense

from . import mutants

__all__ = ["Component", "components_for", "export", "ports_of"]


@dataclass(frozen=True)
class Component:
    """One component bench: its Verilog module name, the cocotb module that tests it,
    whether it is clocked, a constructor and the facts for its bench."""

    name: str
    bench: str
    sync: bool
    build: Callable[[], wiring.Component]
    facts: Callable[[wiring.Component], dict]


def ports_of(comp: wiring.Component, sync: bool) -> list[dict]:
    """Every Verilog port of ``comp``: name, direction and width (``clk``/``rst``
    first when clocked)."""
    out = [{"name": n, "direction": "input", "width": 1} for n in ("clk", "rst") if sync]
    for name, member in comp.signature.members.items():
        out.append({"name": name,
                    "direction": "input" if member.flow == wiring.In else "output",
                    "width": Shape.cast(member.shape).width})
    return out


def components_for(spec: MacroSpec, mutant: str | None = None) -> list[Component]:
    """The components of ``spec``'s periphery (built from mutant ``mutant``'s
    :func:`sim.mutants.parts` when given, so a faulty component is tested on its own
    too)."""
    parts = mutants.parts(mutant)
    a = spec.adc
    dec_name = a.decoder_name
    init = default_calibration(spec).lut_fixed(spec)

    def dec_facts(d):
        return {"encoding": a.encoding, "decoder": dec_name, "n_cells": d.n_cells,
                "bits": d.bits, "latency": d.latency}

    def lut_facts(lut):
        return {"latency": lut.latency, "addr_map": lut.addr_map(), "init": init.tolist(),
                "lut_width": lut.data_width, "config": spec.to_dict()}

    def sa_facts(sa):
        return {"latency": sa.latency, "lut_width": sa.lut_width, "out_width": sa.out_width,
                "acc_width": sa.acc_width, "out_range": list(sa.out_range),
                "config": spec.to_dict()}

    def sense_facts(q):
        return {"n_bits": q.n_bits, "duration_bits": q.duration_bits,
                "latency_formula": "t_precharge + t_evaluate + t_latch + 1 (0 counts as 1)"}

    comps = [
        Component(f"{dec_name}_decoder", "sim.bench_decoder", False,
                  lambda: parts.make_decoder(a.encoding, dec_name, a.cells), dec_facts),
    ]
    if a.sr != "none":
        comps.append(Component("sr_combiner", "sim.bench_sr", False,
                               lambda: parts.sr_combiner(a.bits),
                               lambda c: {"bits": c.bits, "latency": c.latency}))
    comps += [
        Component("code_lut", "sim.bench_lut", True, lambda: parts.lut(spec, init),
                  lut_facts),
        Component("shift_add", "sim.bench_shift_add", True, lambda: parts.shift_add(spec),
                  sa_facts),
        Component("qcell_sense", "sim.bench_qcell_sense", True,
                  lambda: QCellSense(min(a.cells * a.adcs_per_column, 32), duration_bits=3),
                  sense_facts),
    ]
    return comps


def export(comp: Component, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<name>.v``, ``<name>.vlt`` (Verilator waivers, as for the top) and
    ``facts.json`` for ``comp`` into ``out_dir``; returns the Verilog and facts paths.

    ``<name>.v`` is the Yosys-cleaned netlist (:func:`hdl.netlist.clean_verilog`), the
    form the top is built from too, so a component bench tests what the top bench
    simulates; Amaranth's own output is kept as ``<name>.amaranth.v``. Deterministic
    (``emit_src=False``).

    Raises
    ------
    hdl.netlist.NetlistError
        Yosys is missing or failed on the component's Verilog.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    c = comp.build()
    facts = {"component": comp.name, "module": comp.name, "sync": comp.sync,
             "ports": ports_of(c, comp.sync), **comp.facts(c)}
    raw = verilog.convert(c, name=comp.name, emit_src=False)
    facts["verilog_form"] = VERILOG_FORM
    files = {f"{comp.name}.amaranth.v": raw,
             f"{comp.name}.v": netlist.clean_verilog(raw, comp.name),
             f"{comp.name}.vlt": verilator_waivers(comp.name),
             "facts.json": json.dumps(facts, indent=2) + "\n"}
    for fname, content in files.items():  # facts.json last: its presence marks completion
        tmp = out_dir / f".{fname}.tmp"
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(out_dir / fname)
    return out_dir / f"{comp.name}.v", out_dir / "facts.json"
