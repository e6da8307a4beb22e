# amaranth: UnusedElaboratable=no
"""The scan harness in amaranth.sim around a small stand-in top: every input bit is
reachable from the scan pin, every output bit reaches the XOR pin; and its counts."""

import pytest
from amaranth.back import rtlil
from amaranth.sim import Simulator

from golden.spec import MacroSpec
from hdl.periphery import Periphery
from synth.harness import ScanHarness

PORTS = [
    {"name": "clk", "direction": "input", "width": 1},
    {"name": "rst", "direction": "input", "width": 1},
    {"name": "a", "direction": "input", "width": 5},
    {"name": "y", "direction": "output", "width": 9},
]


def test_counts():
    h = ScanHarness("dut", PORTS)
    assert h.chain_bits == 6
    assert h.output_bits == 9
    assert h.xor_registers == 3 + 1          # ceil(9/4) = 3 XORs, then one


def test_counts_of_the_periphery():
    spec = MacroSpec().replace(macro={"rows": 8, "cols": 2}, adc={"bits": 3})
    per = Periphery(spec)
    h = ScanHarness(spec.hdl.top, per.ports)
    ins = sum(p["width"] for p in per.ports if p["direction"] == "input") - 1   # no clk
    assert h.chain_bits == ins
    assert h.output_bits == sum(p["width"] for p in per.ports if p["direction"] == "output")
    text = rtlil.convert(h, name="cimgen_scan_harness", emit_src=False)
    assert f"cell \\{spec.hdl.top} " in text


def test_rejects_ports_without_clock_or_output():
    with pytest.raises(ValueError, match="the wrapped top needs a 'clk' input"):
        ScanHarness("dut", PORTS[1:])
    with pytest.raises(ValueError, match="the wrapped top has no output"):
        ScanHarness("dut", PORTS[:3])


class Model(ScanHarness):
    """The harness with the wrapped top replaced by ``y = a * 3``."""

    def instantiate(self, m, ports):
        m.d.comb += ports["o_y"].eq(ports["i_a"] * 3)


def test_scan_in_and_xor_out():
    h = Model("dut", PORTS)
    sim = Simulator(h)
    seen = []
    pattern = [1, 0, 1, 1, 0, 1]         # the last bit shifted in ends in chain[0]

    async def tb(ctx):
        async def tick():
            ctx.set(h.clk, 1)
            await ctx.delay(1e-6)
            ctx.set(h.clk, 0)
            await ctx.delay(1e-6)

        for bit in pattern:
            ctx.set(h.sin, bit)
            await tick()
        for _ in range(3):               # two XOR levels and the output register
            seen.append(ctx.get(h.sout))
            await tick()
        seen.append(ctx.get(h.sout))

    sim.add_testbench(tb)
    sim.run()
    chain = list(reversed(pattern))      # chain = [rst, a0..a4]
    a = sum(b << i for i, b in enumerate(chain[1:6]))
    assert seen[-1] == bin(a * 3).count("1") % 2
