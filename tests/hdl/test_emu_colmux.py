# amaranth: UnusedElaboratable=no
# (test_refuses_non_spec builds a ColumnMux that raises in its constructor.)
"""hdl.emu.colmux.ColumnMux in amaranth.sim against golden.digital.to_beats: the beats
it offers for random per-column match vectors, under random valid gaps and
back-pressure, for both mappings and ragged column groups."""

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from golden.digital import mux_groups, to_beats
from golden.spec import MacroSpec
from hdl.emu.colmux import ColumnMux


def spec_for(mapping: str, k: int, sr: str = "none") -> MacroSpec:
    return MacroSpec().replace(
        macro=dict(rows=4, cols=3, input_bits=2, weight_bits=4, cell_bits=2, mapping=mapping),
        adc=dict(bits=2, sr=sr, columns_per_adc=k))


def pack(beat: np.ndarray) -> int:
    flat = np.asarray(beat, dtype=bool).reshape(-1)
    return int.from_bytes(np.packbits(flat, bitorder="little").tobytes(), "little")


def run_mux(spec, match, seed):
    """Offer every input beat of ``match`` (mvms, input_bits, phys_cols, adcs, cells)
    with random gaps; take output beats with random back-pressure. Returns the output
    words and lasts in order."""
    dut = ColumnMux(spec)
    rng = np.random.default_rng(seed)
    beats = [(pack(match[v, t]), t == spec.macro.input_bits - 1)
             for v in range(match.shape[0]) for t in range(match.shape[1])]
    want = len(beats) * dut.phases
    got = []

    async def producer(ctx):
        for word, last in beats:
            while rng.random() < 0.3:
                ctx.set(dut.i.valid, 0)
                ctx.set(dut.i.payload.match.as_value(), int(rng.integers(0, 2**31)))
                await ctx.tick()
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload.match.as_value(), word)
            ctx.set(dut.i.payload.last, last)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def consumer(ctx):
        while len(got) < want:
            ready = rng.random() < 0.6
            ctx.set(dut.o.ready, ready)
            if ready and ctx.get(dut.o.valid):
                got.append((ctx.get(dut.o.payload.match.as_value()), ctx.get(dut.o.payload.last)))
            await ctx.tick()

    top = Module()
    top.submodules.dut = dut
    top.domains.sync = ClockDomain()  # k = 1 is combinational: the bench still needs a clock
    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run_until(1e-6 * 20 * want + 1e-5)
    return got


@pytest.mark.parametrize("mapping,k,sr", [
    ("differential", 1, "none"), ("differential", 2, "none"), ("differential", 3, "nominal"),
    ("offset", 2, "none"), ("offset", 3, "none"),
])
def test_beats_equal_golden(mapping, k, sr):
    spec = spec_for(mapping, k, sr)
    a, m = spec.adc, spec.macro
    rng = np.random.default_rng(k)
    match = rng.random((3, m.input_bits, m.phys_cols, a.adcs_per_column, a.cells)) < 0.4
    got = run_mux(spec, match, seed=k)
    ref = to_beats(match, spec)
    words = [pack(b) for v in range(ref.shape[0]) for b in ref[v]]
    lasts = [bool(i % ref.shape[1] == ref.shape[1] - 1) for i in range(len(words))]
    assert [w for w, _ in got] == words
    assert [bool(x) for _, x in got] == lasts
    if k > 1:
        assert (mux_groups(spec) < 0).any() or m.cols % k == 0


def test_refuses_non_spec():
    with pytest.raises(ValueError, match="must be a MacroSpec"):
        ColumnMux("default")
