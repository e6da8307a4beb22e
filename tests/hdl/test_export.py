# amaranth: UnusedElaboratable=no
"""Every component converts to Verilog, deterministically and with its signature's ports."""

import re

import numpy as np
import pytest
from amaranth.back import verilog

from golden.digital import n_luts
from golden.spec import MacroSpec
from hdl.decoders import ThermometerMajorityDecoder, ThermometerOnesDecoder, WindowDecoder
from hdl.lut import CodeLut
from hdl.qcell_ctrl import QCellSense
from hdl.shift_add import ShiftAdd
from hdl.sr import SRCombiner

SPEC = MacroSpec().replace(macro={"cols": 2, "mapping": "offset", "input_signed": True},
                           adc={"bits": 3, "sr": "nominal", "lut_scope": "per_slice"})

COMPONENTS = {
    "window_decoder": lambda: WindowDecoder(8),
    "ones_decoder": lambda: ThermometerOnesDecoder(7),
    "majority_decoder": lambda: ThermometerMajorityDecoder(7),
    "sr_combiner": lambda: SRCombiner(3),
    "code_lut": lambda: CodeLut(SPEC, np.arange(n_luts(SPEC) * 15).reshape(-1, 15) - 20),
    "shift_add": lambda: ShiftAdd(SPEC),
    "qcell_sense": lambda: QCellSense(8),
}
SYNC = {"code_lut", "shift_add", "qcell_sense"}


@pytest.mark.parametrize("name", list(COMPONENTS))
def test_converts_deterministically(name):
    first = verilog.convert(COMPONENTS[name](), name=name, emit_src=False)
    second = verilog.convert(COMPONENTS[name](), name=name, emit_src=False)
    assert first == second
    assert "src =" not in first
    header = re.search(rf"^module {name}\((.*?)\);", first, re.M)
    assert header, f"no module {name} in the output"
    ports = set(header.group(1).split(", "))
    want = set(COMPONENTS[name]().signature.members) | ({"clk", "rst"} if name in SYNC else set())
    assert ports == want
