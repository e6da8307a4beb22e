"""FPGA flows with the YoWASP tools (marker ``synth``; skipped with the reason when a
tool is missing): report-only builds of the periphery on iCE40 and ECP5 through the
CLI, their report fields checked against a second, independent read (Yosys ``stat``
of the whole design against nextpnr's utilisation), a design that does not fit, and
the emulator bitstream for the UP5K at the issue's minimum macro size."""

import json

import pytest

from cimgen import cli
from golden.spec import MacroSpec
from synth.boards import get_board
from synth.flow import SynthOptions, memory_policy, memory_script

TINY = {"macro": {"rows": 8, "cols": 2, "input_bits": 4, "weight_bits": 4, "cell_bits": 2},
        "adc": {"bits": 3}, "fpga": {"clock_mhz": 20.0}}
UP5K_MIN = {"macro": {"rows": 16, "cols": 4, "input_bits": 4, "weight_bits": 4,
                      "cell_bits": 2},
            "adc": {"bits": 4}}
REPORT_KEYS = {"format", "version", "design", "top", "mode", "scope", "board", "config",
               "memory", "resources", "yosys_cells", "placed", "utilisation", "fits",
               "over_capacity", "timing", "tools", "stages", "total_seconds", "files"}


def design_cells(out):
    """Cell counts of the whole design from Yosys's own stat.json (not the report)."""
    stat = json.loads((out / "stat.json").read_text())
    return {k: int(v) for k, v in stat["design"]["num_cells_by_type"].items()}


def run_synth(args, capsys):
    code = cli.main(["synth", *map(str, args)])
    return code, capsys.readouterr()


def check_common(report, out, board, family):
    assert REPORT_KEYS <= set(report)
    assert report["format"] == "cimgen-synth-report" and report["board"]["name"] == board
    assert report["board"]["family"] == family
    res = report["resources"]
    assert res["luts"] > 0 and res["ffs"] > 0
    assert report["fits"] is True and report["over_capacity"] == {}
    clocks = report["timing"]["clocks"]
    assert clocks and all(c["fmax_mhz"] > 0 for c in clocks)
    assert report["timing"]["met"] == all(c["fmax_mhz"] >= c["target_mhz"] for c in clocks)
    for tool in ("yosys", f"nextpnr-{family}"):
        assert report["tools"][tool] and report["tools"][tool] != "unknown"
    assert report["tools"]["amaranth"] and report["tools"]["amaranth-boards"]
    assert [s["stage"].split(" ")[0] for s in report["stages"]][:3] == \
        ["elaborate", "synthesise", "place"]
    for name in ("report.json", "yosys.log", "nextpnr.log", "stat.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "report.json").read_text()) == report
    assert not list(out.parent.glob(f".{out.name}.*")), "temporary directory left behind"


@pytest.mark.synth
def test_report_only_icebreaker(config_file, toolchain, tmp_path, capsys):
    toolchain("yosys", "nextpnr-ice40")
    out = tmp_path / "ice"
    code, cap = run_synth([config_file(TINY), "--report-only", "--board", "icebreaker",
                           "-o", out], capsys)
    assert code == 0, cap.err
    report = json.loads((out / "report.json").read_text())
    check_common(report, out, "icebreaker", "ice40")
    assert report["mode"] == "report-only" and report["files"]["bitstream"] is None
    assert not list(out.glob("*.bin"))
    assert report["timing"]["target_mhz"] == 20.0
    assert all(c["target_mhz"] == pytest.approx(20.0, abs=0.01)
               for c in report["timing"]["clocks"])
    # Second read: Yosys's whole-design counts against nextpnr's placed logic cells.
    cells = design_cells(out)
    luts = cells.get("SB_LUT4", 0)
    ffs = sum(v for k, v in cells.items() if k.startswith("SB_DFF"))
    lcs = report["placed"]["lcs"]["used"]
    assert max(luts, ffs) <= lcs <= luts + ffs + cells.get("SB_CARRY", 0)
    assert lcs <= report["placed"]["lcs"]["available"] == 5280
    assert report["placed"]["bram"]["used"] == cells.get("SB_RAM40_4K", 0) \
        == report["resources"]["bram"]
    h = report["harness"]
    assert report["resources"]["luts"] + h["luts"] == luts
    assert report["resources"]["ffs"] + h["ffs"] == ffs
    assert h["ffs"] == h["scan_chain_ffs"] + h["xor_tree_ffs"]
    assert report["memory"]["lut"] == "block"
    assert report["resources"]["bram"] == report["config"]["phys_cols"]  # 1 per read port
    # The printed table carries the same numbers.
    assert f"{report['resources']['luts']:>8}" in cap.out and "Fmax MHz" in cap.out
    assert "[3/4] place and route (nextpnr-ice40)" in cap.out


@pytest.mark.synth
def test_report_only_ulx3s(config_file, toolchain, tmp_path, capsys):
    toolchain("yosys", "nextpnr-ecp5")
    out = tmp_path / "ecp5"
    code, cap = run_synth([config_file(TINY), "--report-only", "--board", "ulx3s-85f",
                           "-o", out], capsys)
    assert code == 0, cap.err
    report = json.loads((out / "report.json").read_text())
    check_common(report, out, "ulx3s-85f", "ecp5")
    assert report["board"]["device"] == "LFE5U-85F"
    cells = design_cells(out)
    placed = report["placed"]
    assert placed["ffs"]["used"] == cells["TRELLIS_FF"]          # exact on ECP5
    assert placed["luts"]["used"] >= cells["LUT4"]
    assert placed["luts"]["available"] == 83640
    # One DP16KD per LUT read port (the 85F has blocks for all of them).
    ports = report["config"]["phys_cols"]
    assert placed["bram"]["used"] == cells["DP16KD"] == report["resources"]["bram"] == ports
    assert report["memory"]["lut"] == "block" and report["memory"]["ports"]["block"] == ports


@pytest.mark.synth
def test_does_not_fit(config_file, toolchain, tmp_path, capsys):
    """The default macro's 32 LUT read ports forced into logic (about 230 LUT4 each)
    overflow the UP5K."""
    toolchain("yosys", "nextpnr-ice40")
    out = tmp_path / "big"
    code, cap = run_synth([config_file({}), "--report-only", "--memory", "logic",
                           "-o", out], capsys)
    assert code == 1
    assert "does not fit iCE40UP5K: ICESTORM_LC" in cap.err
    report = json.loads((out / "report.json").read_text())
    assert report["fits"] is False
    assert report["over_capacity"]["ICESTORM_LC"]["used"] > 5280
    assert report["resources"]["luts"] > 5280 and report["resources"]["bram"] == 0
    assert report["memory"]["ports"]["logic"] == 32
    assert report["timing"] == {"target_mhz": 12.0, "clocks": [], "met": False}


@pytest.mark.synth
def test_emulator_bitstream_icebreaker(config_file, toolchain, tmp_path, capsys):
    toolchain("yosys", "nextpnr-ice40", "icepack")
    out = tmp_path / "emu"
    code, cap = run_synth([config_file(UP5K_MIN), "--emulator", "-o", out], capsys)
    assert code == 0, cap.err
    report = json.loads((out / "report.json").read_text())
    assert report["design"] == "emulator" and report["mode"] == "bitstream"
    assert report["fits"] and report["timing"]["met"]
    assert [c["target_mhz"] for c in report["timing"]["clocks"]] == [pytest.approx(12.0)]
    bits = out / report["files"]["bitstream"]
    assert bits.name == "cim_emulator.bin" and bits.stat().st_size == 104090  # UP5K image
    assert report["placed"]["lcs"]["used"] <= 5280
    assert report["placed"]["bram"]["used"] <= 30
    emu = report["emulator"]
    assert emu["rows"] == 16 and emu["cols"] == 4 and emu["divisor"] == 104
    assert emu["config_id"] > 0 and emu["pins"]["rx"] == "6"
    assert "pack (icepack)" in cap.out and "bitstream:" in cap.out


# -- the memory policy (no tools) -----------------------------------------------------------

def test_policy_default_icebreaker_split():
    """Default macro on the UP5K: 30 of 32 read ports split (16 bits in one block, 1 in
    logic), 2 all in logic; one ram_style line per block copy and the LUT read ports'
    collision don't-care."""
    spec = MacroSpec()
    opts = SynthOptions(board=get_board("icebreaker"))
    pol = memory_policy(opts, spec, None, 32)
    assert pol["lut"] == "mixed" and pol["emulator"] is None
    assert pol["ram_bits"] == [16] * 30 + [0, 0]
    assert pol["ports"] == {"block": 0, "split": 30, "distributed": 0, "logic": 2,
                            "logic_bits": 64}
    lines = memory_script(pol).splitlines()
    assert lines == [f'setattr -set ram_style "block" m:lut*_r{k}' for k in range(30)] + [
        "setparam -set COLLISION_X_MASK 1 t:$memrd_v2 r:MEMID=*lut* %i"]


@pytest.mark.parametrize("memory, bits, lut", [("logic", 0, "logic"), ("block", 17, "block")])
def test_policy_forced(memory, bits, lut):
    spec = MacroSpec()
    pol = memory_policy(SynthOptions(board=get_board("icebreaker"), memory=memory), spec,
                         None, 8)
    assert pol["ram_bits"] == [bits] * 8 and pol["lut"] == lut
    assert pol["why"] == f"--memory {memory}"
    lines = memory_script(pol).splitlines()
    assert len(lines) == (9 if bits else 1)


def test_policy_ports_follow_the_periphery():
    """Another read-port count (a column mux) recomputes the split for that count."""
    spec = MacroSpec()
    opts = SynthOptions(board=get_board("icebreaker"))
    assert memory_policy(opts, spec, None, 16)["ram_bits"] == [17] * 14 + [16, 16]


@pytest.mark.synth
def test_emulator_32x8_column_mux_fits_icebreaker(toolchain, tmp_path):
    """Issue 15: the emulator of a 32 x 8 macro (default ADCs and weights, 32 physical
    columns) fits the UP5K with one ADC per 8 columns (placed, report only)."""
    from synth.flow import synthesize

    toolchain("yosys", "nextpnr-ice40")
    spec = MacroSpec().replace(macro={"rows": 32, "cols": 8}, adc={"columns_per_adc": 8})
    report = synthesize(spec, SynthOptions(board=get_board("icebreaker"), report_only=True,
                                           emulator=True), tmp_path / "emu")
    assert spec.macro.phys_cols == 32
    assert report["fits"] is True and report["over_capacity"] == {}
    assert report["placed"]["lcs"]["used"] <= 5280 and report["placed"]["bram"]["used"] <= 30
    assert report["timing"]["met"]
    assert report["emulator"]["rows"] == 32 and report["emulator"]["cols"] == 8
