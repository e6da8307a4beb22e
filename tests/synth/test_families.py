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
from synth.families import FAMILIES, Family, get_family, register
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
    assert report["memory"] == {"lut": "logic", "emulator": None,
                                "why": "toy40: LUTs in logic"}
    cells = report["yosys_cells"]
    assert report["resources"]["luts"] == cells["SB_LUT4"] + cells.get("SB_CARRY", 0)
    assert set(report["resources"]) == set(Toy40.cells)
    assert set(report["placed"]) == {"cells", "bram"}
    assert report["placed"]["cells"]["nextpnr"] == "ICESTORM_LC"
    assert "[2/4] synthesise (Yosys synth_ice40) ..." in lines
    assert (tmp_path / "toy" / "cimgen_scan_harness.pcf").is_file()
    assert json.loads((tmp_path / "toy" / "report.json").read_text()) == report
    assert "toybreaker" in format_table(report)
