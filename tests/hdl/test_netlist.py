"""The Yosys-cleaned netlist is formally equivalent to Amaranth's raw Verilog."""

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
