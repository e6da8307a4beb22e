"""The board wrapper (hdl.emu.board.EmulatorBoard) prepared for a small iCE40 board
(no toolchain run): its pins, a board with fewer LEDs, and the memory names the
synthesis scripts select (``m:emu_*``)."""

import re
from typing import ClassVar

from amaranth.build import Attrs, Pins, PinsN, Resource, Subsignal
from amaranth.vendor import LatticeICE40Platform

from golden.spec import MacroSpec
from hdl.emu.board import EmulatorBoard

SPEC = MacroSpec().replace(macro=dict(rows=6, cols=2, input_bits=3, weight_bits=4,
                                      cell_bits=2), adc=dict(bits=3))


class OneLedBoard(LatticeICE40Platform):
    device, package = "iCE40UP5K", "SG48"
    default_clk = "clk12"
    resources: ClassVar = [
        Resource("clk12", 0, Pins("35", dir="i"), Attrs(IO_STANDARD="SB_LVCMOS")),
        Resource("uart", 0, Subsignal("rx", Pins("6", dir="i")),
                 Subsignal("tx", Pins("9", dir="o")), Attrs(IO_STANDARD="SB_LVTTL")),
        Resource("led", 0, PinsN("11", dir="o"), Attrs(IO_STANDARD="SB_LVCMOS")),
    ]
    connectors: ClassVar = []


def prepare():
    board = EmulatorBoard(SPEC, clk_hz=12e6, batch_max=4, por_s=20e-6)
    plan = OneLedBoard().prepare(board, name="cim_emulator", emit_src=False)
    return board, plan.files


def test_pins_and_missing_led():
    board, files = prepare()
    pcf = files["cim_emulator.pcf"]
    for pin in ("35", "6", "9", "11"):
        assert re.search(rf"^set_io .* {pin}$", pcf, re.M), (pin, pcf)
    assert len(re.findall(r"^set_io", pcf, re.M)) == 4      # led 1 (error) is absent
    assert board.por_cycles == 240
    assert board.emulator.divisor == 104


def test_memories_keep_their_names():
    _, files = prepare()
    mems = re.findall(r"^\s*memory width (\d+) size (\d+) \\(\S+)$", files["cim_emulator.il"],
                      re.M)
    names = {name: (int(w), int(n)) for w, n, name in mems}
    lay = prepare()[0].emulator.layout
    assert names["emu_weights"] == (lay.row_bits, SPEC.macro.rows)
    assert names["emu_bounds"] == (2 * lay.bound_width, lay.cells_total)
    assert names["emu_inputs"] == (SPEC.macro.input_bits, 4 * SPEC.macro.rows)
    assert names["emu_results"] == (8, 4 * lay.result_bytes)
