"""FPGA families (synth.families): the registry, each family's tool arguments and
constraint text, the iCE40 block-RAM estimate, and a family registered here (a
relabelled iCE40 with its own resource grouping) picked up by the whole flow
without touching synth/flow.py."""

import dataclasses
import json
from types import MappingProxyType

import pytest

from golden.digital import lut_width
from golden.spec import MacroSpec
from synth import families
from synth.boards import BOARDS, get_board
from synth.families import FAMILIES, Family, LutPlan, get_family, lut_split, register
from synth.families.ice40 import ICE40, estimate_brams, ice40_brams
from synth.flow import SynthOptions, format_table, synthesize

PINS = {"clk": "35", "sin": "6", "sout": "9"}


def test_every_board_names_a_registered_family():
    assert {"ice40", "ecp5"} <= set(FAMILIES)
    for board in BOARDS.values():
        assert board.fpga_family is FAMILIES[board.family]
        assert board.pnr_tool == f"nextpnr-{board.family}"
        assert set(board.fpga_family.packages) == {board.pnr_tool, board.pack_tool}
    assert get_board("icebreaker").pack_tool == "icepack"
    assert get_board("ulx3s-85f").pack_tool == "ecppack"


def test_unknown_family():
    with pytest.raises(KeyError, match="unknown FPGA family 'gowin'; known families: "):
        get_family("gowin")


def test_ice40_files_and_arguments():
    fam = get_family("ice40")
    assert fam.synth_command == "synth_ice40" and fam.constraints_suffix == ".pcf"
    assert fam.constraints(PINS, 12.0) == ("set_io clk 35\nset_io sin 6\nset_io sout 9\n"
                                           "set_frequency clk 12\n")
    assert fam.pnr_args("top", "top.pcf") == ["--pcf", "top.pcf", "--asc", "top.asc"]
    assert fam.pack("top") == ("top.bin", ["top.asc", "top.bin"])
    assert not fam.distributed_ram


def test_ecp5_files_and_arguments():
    fam = get_family("ecp5")
    assert fam.synth_command == "synth_ecp5" and fam.constraints_suffix == ".lpf"
    text = fam.constraints({"clk": "G2"}, 25.0)
    assert text == ('LOCATE COMP "clk" SITE "G2";\nIOBUF PORT "clk" IO_TYPE=LVCMOS33;\n'
                    'FREQUENCY PORT "clk" 25 MHZ;\n')
    assert fam.pnr_args("top", "top.lpf") == ["--lpf", "top.lpf", "--textcfg", "top.config"]
    assert fam.pack("top") == ("top.bit", ["--input", "top.config", "--bit", "top.bit"])
    assert fam.auto_memory(None, None, {})[0] == "distributed"


@pytest.mark.parametrize("width, depth, blocks", [
    (16, 256, 1), (15, 16, 1), (17, 16, 2), (4, 1024, 1), (2, 4096, 2), (8, 513, 2),
])
def test_ice40_brams(width, depth, blocks):
    assert ice40_brams(width, depth) == blocks


def test_ice40_auto_memory_fits_or_not():
    spec = MacroSpec()
    need = estimate_brams(spec)
    assert lut_width(spec) == 17 and spec.adc.lut_entries == 16
    assert need == 2 * spec.macro.phys_cols  # 17-bit words: two 256x16 blocks per port
    fam = get_family("ice40")
    assert fam.auto_memory(spec, None, {"bram": need}) == (
        "block", f"block RAM: an estimated {need} of {need} blocks")
    assert fam.auto_memory(spec, None, {"bram": need - 1})[0] == "auto"


class Toy40(ICE40):
    """An iCE40 under another name that reports carry cells with the LUTs and adds a
    resource of its own: everything the flow reads from a family, changed."""

    name = "toy40"
    cells = MappingProxyType({**ICE40.cells, "luts": ("SB_LUT4", "SB_CARRY"),
                              "io": ("SB_IO",)})
    placed = MappingProxyType({"cells": "ICESTORM_LC", "bram": "ICESTORM_RAM"})

    @property
    def synth_command(self):
        return "synth_ice40"

    def auto_memory(self, spec, layout, capacity):
        return "logic", "toy40: LUTs in logic"

    def lut_plan(self, spec, layout, capacity, ports):
        return LutPlan((0,) * ports, ("logic",) * ports, 0, "toy40: LUTs in logic")


@pytest.fixture
def toy_board():
    register(Toy40())
    yield dataclasses.replace(get_board("icebreaker"), name="toybreaker", family="toy40")
    del FAMILIES["toy40"]


def test_registered_family_is_looked_up(toy_board):
    fam = toy_board.fpga_family
    assert isinstance(fam, Family) and fam is families.get_family("toy40")
    assert toy_board.pnr_tool == "nextpnr-ice40" and toy_board.pack_tool == "icepack"


@pytest.mark.synth
def test_registered_family_drives_the_flow(toy_board, toolchain, tmp_path):
    toolchain("yosys", "nextpnr-ice40")
    pytest.importorskip("amaranth_boards")
    spec = MacroSpec.from_dict({"macro": {"rows": 8, "cols": 2}, "adc": {"bits": 3}})
    lines = []
    report = synthesize(spec, SynthOptions(board=toy_board, report_only=True),
                        tmp_path / "toy", progress=lines.append)
    assert report["board"]["family"] == "toy40" and report["board"]["name"] == "toybreaker"
    ports = spec.macro.phys_cols
    assert report["memory"] == {
        "lut": "logic", "emulator": None, "why": "toy40: LUTs in logic",
        "ports": {"block": 0, "split": 0, "distributed": 0, "logic": ports,
                  "logic_bits": ports * lut_width(spec)},
        "ram_bits": [0] * ports, "styles": ["logic"] * ports}
    assert report["resources"]["bram"] == 0
    cells = report["yosys_cells"]
    assert report["resources"]["luts"] == cells["SB_LUT4"] + cells.get("SB_CARRY", 0)
    assert set(report["resources"]) == set(Toy40.cells)
    assert set(report["placed"]) == {"cells", "bram"}
    assert report["placed"]["cells"]["nextpnr"] == "ICESTORM_LC"
    assert "[2/4] synthesise (Yosys synth_ice40) ..." in lines
    assert (tmp_path / "toy" / "cimgen_scan_harness.pcf").is_file()
    assert json.loads((tmp_path / "toy" / "report.json").read_text()) == report
    assert "toybreaker" in format_table(report)


@pytest.mark.parametrize("ports, width, per, budget", [
    (32, 17, 16, 30), (32, 17, 16, 64), (32, 17, 16, 40), (32, 17, 16, 0), (16, 15, 16, 30),
    (5, 40, 16, 7), (5, 40, 16, 12), (3, 8, 18, 2), (4, 32, 16, -3),
])
def test_lut_split_closed_form(ports, width, per, budget):
    """Against the closed form: whole blocks first, then one block per port for the
    remainder bits, while blocks last."""
    bits = lut_split(ports, width, per, budget)
    whole, rest = divmod(width, per)
    left = max(budget, 0)
    n_whole = min(left, ports * whole)
    n_rest = min(ports, left - n_whole) if rest and n_whole == ports * whole else 0
    assert len(bits) == ports
    assert sum(bits) == n_whole * per + n_rest * rest
    used = sum(b // per + (b % per > 0) for b in bits)
    assert used == n_whole + n_rest <= left
    assert all(b == width or b % per == 0 for b in bits)


def test_ice40_plan_default_icebreaker():
    """Default macro (32 read ports of 17 bits, 16 entries) on 30 blocks: 30 ports
    read 16 bits from one block each and 1 bit from logic, 2 ports all in logic."""
    spec = MacroSpec()
    board = get_board("icebreaker")
    plan = board.fpga_family.lut_plan(spec, None, board.capacity, 32)
    assert plan.ram_bits == (16,) * 30 + (0, 0)
    assert plan.styles == ("block",) * 30 + ("logic",) * 2 and plan.blocks == 30
    assert plan.counts(17) == {"block": 0, "split": 30, "distributed": 0, "logic": 2,
                               "logic_bits": 30 + 2 * 17}
    assert "30 split" in plan.why and "30 of 30 blocks" in plan.why
    wide = board.fpga_family.lut_plan(spec, None, {"bram": 64}, 32)
    assert wide.ram_bits == (17,) * 32 and wide.blocks == 64
    assert wide.counts(17)["block"] == 32


def test_ecp5_plan_blocks_then_distributed():
    spec = MacroSpec()
    fam = get_family("ecp5")
    assert fam.block_bits(16) == 18 and fam.block_bits(1025) == 9
    plan = fam.lut_plan(spec, None, get_board("ulx3s-85f").capacity, 32)
    assert plan.ram_bits == (17,) * 32 and plan.styles == ("block",) * 32
    few = fam.lut_plan(spec, None, {"bram": 10}, 32)
    assert few.ram_bits == (17,) * 32 and few.blocks == 10
    assert few.styles == ("block",) * 10 + ("distributed",) * 22
    assert few.counts(17) == {"block": 10, "split": 0, "distributed": 22, "logic": 0,
                              "logic_bits": 0}
