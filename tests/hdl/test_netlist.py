"""The Yosys-cleaned netlist is formally equivalent to Amaranth's raw Verilog."""

from pathlib import Path

import pytest
from amaranth.back import verilog

from hdl.decoders import WindowDecoder
from hdl.netlist import NetlistError, check_equivalent, clean_verilog


@pytest.mark.parametrize("cells", [8, 16])
def test_cleaned_window_decoder_is_equivalent(cells):
    raw = verilog.convert(WindowDecoder(cells), name="dec", emit_src=False)
    cleaned = clean_verilog(raw, "dec")
    assert "module dec" in cleaned
    check_equivalent(raw, cleaned, "dec")


def test_check_detects_a_difference():
    raw = verilog.convert(WindowDecoder(8), name="dec", emit_src=False)
    cleaned = clean_verilog(raw, "dec")
    op, other = (" | ", " & ") if " | " in cleaned else (" & ", " | ")
    broken = cleaned.replace(op, other, 1)
    assert broken != cleaned
    with pytest.raises(NetlistError):
        check_equivalent(raw, broken, "dec")


# -- the whole periphery top ----------------------------------------------------------

SMALL_TOP = {"macro": dict(rows=8, cols=2, input_bits=2, weight_bits=2, cell_bits=1),
             "adc": dict(bits=3, encoding="window", sr="none", lut_scope="shared")}


def _export(spec, out, mutant=None):
    from hdl.export import generate
    from sim import mutants

    res = generate(spec, None, out, source={"source": "test_netlist"},
                   parts=mutants.parts(mutant))
    files = res.manifest["files"]
    return out / files["verilog_raw"], out / files["verilog"], res.manifest["top"]


def test_cleaned_small_top_is_equivalent(tmp_path):
    from golden.spec import MacroSpec

    raw, clean, top = _export(MacroSpec.from_dict(SMALL_TOP), tmp_path)
    check_equivalent(raw, clean, top)


def test_cleaned_default_top_is_equivalent(tmp_path):
    """examples/default.toml's top (LUT memories, 512 match bits): proved, not sampled."""
    from cimgen.config import load_config

    spec = load_config(Path(__file__).resolve().parents[2] / "examples" / "default.toml")
    raw, clean, top = _export(spec, tmp_path)
    check_equivalent(raw, clean, top)


@pytest.mark.parametrize("mutant", ["shift_add_wrong_shift", "lut_addr_off_by_one"])
def test_a_mutated_top_netlist_is_refused(mutant, tmp_path):
    """The clean netlist of a deliberately faulty periphery (sim.mutants) is not
    equivalent to the real design's Amaranth output."""
    from golden.spec import MacroSpec

    spec = MacroSpec.from_dict(SMALL_TOP)
    raw, _, top = _export(spec, tmp_path / "good")
    _, bad, _ = _export(spec, tmp_path / "bad", mutant)
    with pytest.raises(NetlistError, match="yosys failed"):
        check_equivalent(raw, bad, top)
