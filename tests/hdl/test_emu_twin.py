"""The crossbar and Q-cell twin (hdl.emu.twin) in amaranth.sim, through a pure function
``rtl_beats(...) -> beats`` checked against the protocol module's model
(hdl.emu.client.twin_match): every ``in_match`` beat of a batch, with and without read
noise, the ``last`` flags, back-pressure, and the cycles per beat."""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, Value
from amaranth.lib import memory
from amaranth.sim import Simulator

from golden.macro import Macro
from golden.spec import MacroSpec
from hdl.emu.client import program_macro, twin_match
from hdl.emu.layout import EmulatorLayout
from hdl.emu.twin import MacroTwin

SPECS = {
    "window-unsigned": MacroSpec().replace(
        macro=dict(rows=6, cols=2, input_bits=3, weight_bits=4, cell_bits=2),
        adc=dict(bits=3, window_guard_pct=0.0),
        device=dict(program_sigma="none", read_sigma_us=0.0, bound_variation_pct=4.0)),
    "threshold-signed-offset": MacroSpec().replace(
        macro=dict(rows=5, cols=2, input_bits=3, input_signed=True, weight_bits=3,
                   cell_bits=1, mapping="offset"),
        adc=dict(bits=3, encoding="threshold"),
        device=dict(program_sigma="none", read_sigma_us=0.0, bound_variation_pct=8.0)),
}


def words(lay, lo, hi):
    bw, mask = lay.bound_width, (1 << lay.bound_width) - 1
    return [(int(a) & mask) | ((int(b) & mask) << bw)
            for a, b in zip(lo.ravel().tolist(), hi.ravel().tolist(), strict=True)]


def rtl_beats(lay, levels, lo, hi, x, *, noise_bits=0, seed=1, stall=0):
    """Run a :class:`MacroTwin` (weights written through its port, bounds as its
    initial contents, inputs from a memory as in the core) on the vectors ``x``; the
    beat sink is not ready for ``stall`` cycles per beat. Returns ``(matches, lasts,
    cycles)``: the accepted beats' ``in_match`` integers and ``last`` flags, and the
    cycles from each beat offered to the next offered."""
    m_ = lay.spec.macro
    twin = MacroTwin(lay, words(lay, lo, hi))
    top = Module()
    top.submodules.twin = twin
    ib_mask = (1 << m_.input_bits) - 1
    xmem = memory.Memory(shape=m_.input_bits, depth=x.size,
                         init=[int(v) & ib_mask for v in x.ravel().tolist()])
    top.submodules.xmem = xmem
    rd = xmem.read_port()
    vbase = Signal(range(x.size + 1))
    top.d.comb += [rd.addr.eq(vbase + twin.x_row), twin.x_bits.eq(rd.data)]
    matches, lasts, offered = [], [], []

    async def tb(ctx):
        for r, row in enumerate(levels.tolist()):
            word = sum(int(v) << (p * m_.cell_bits) for p, v in enumerate(row))
            ctx.set(twin.weights.addr, r)
            ctx.set(twin.weights.data, word)
            ctx.set(twin.weights.en, 1)
            await ctx.tick()
        ctx.set(twin.weights.en, 0)
        ctx.set(twin.noise_bits, noise_bits)
        ctx.set(twin.seed, seed)
        cyc = 0
        for v in range(x.shape[0]):
            ctx.set(vbase, v * m_.rows)
            ctx.set(twin.start.valid, 1)
            ctx.set(twin.start.payload, v == 0)
            await ctx.tick()
            cyc += 1
            ctx.set(twin.start.valid, 0)
            waiting = 0
            while True:
                valid = ctx.get(twin.beats.valid)
                if valid and waiting == 0:
                    offered.append(cyc)
                waiting = waiting + 1 if valid else 0
                ready = valid and waiting > stall
                ctx.set(twin.beats.ready, ready)
                if ready:
                    matches.append(ctx.get(Value.cast(twin.beats.payload.match)))
                    lasts.append(ctx.get(twin.beats.payload.last))
                    waiting = 0
                await ctx.tick()
                cyc += 1
                ctx.set(twin.beats.ready, 0)
                if ready and lasts[-1]:
                    break

    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return matches, lasts, np.diff(offered)


def as_ints(match):
    flat = match.reshape(*match.shape[:2], -1).astype(object)
    weights = np.array([1 << i for i in range(flat.shape[-1])], dtype=object)
    return (flat * weights).sum(axis=-1).ravel().tolist()


def program(name, vectors):
    spec = SPECS[name]
    lay = EmulatorLayout(spec, batch_max=vectors, noise_bits_max=3)
    rng = np.random.default_rng(7)
    m = spec.macro
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, size=(m.rows, m.cols))
    x = rng.integers(m.input_range[0], m.input_range[1] + 1, size=(vectors, m.rows))
    x[0] = m.input_range[1]
    prog = program_macro(lay, w, Macro(spec, w).calibrate(x))
    return lay, prog, x


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("noise_bits", [0, 2])
def test_beats_equal_the_model(name, noise_bits):
    lay, prog, x = program(name, 4)
    got, lasts, _ = rtl_beats(lay, prog.levels, prog.lo, prog.hi, x, noise_bits=noise_bits,
                              seed=0xBEEF)
    want = twin_match(lay, prog.levels, prog.lo, prog.hi, x, noise_bits=noise_bits,
                      seed=0xBEEF)
    assert got == as_ints(want)
    ib = lay.spec.macro.input_bits
    assert lasts == ([0] * (ib - 1) + [1]) * x.shape[0]
    if noise_bits:
        assert got != as_ints(twin_match(lay, prog.levels, prog.lo, prog.hi, x))


def test_back_pressure_and_cycles_per_beat():
    lay, prog, x = program("window-unsigned", 2)
    quick, _, cycles = rtl_beats(lay, prog.levels, prog.lo, prog.hi, x)
    slow, _, slow_cycles = rtl_beats(lay, prog.levels, prog.lo, prog.hi, x, stall=5)
    assert slow == quick == as_ints(twin_match(lay, prog.levels, prog.lo, prog.hi, x))
    # within a vector: the crossbar (rows + 2 cycles), the Q-cells (cells_total + 1),
    # the beat and the accumulator reset
    per_beat = lay.spec.macro.rows + lay.cells_total + 4 + 1
    ib = lay.spec.macro.input_bits
    within = [c for i, c in enumerate(cycles) if (i + 1) % ib]
    assert within == [per_beat] * len(within)
    assert [c for i, c in enumerate(slow_cycles) if (i + 1) % ib] == \
        [per_beat + 5] * len(within)
