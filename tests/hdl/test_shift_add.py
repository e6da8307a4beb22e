# amaranth: UnusedElaboratable=no
"""ShiftAdd against golden.digital.shift_add: random MVMs with and without gap cycles,
full-scale extremes, column-muxed beats (columns_per_adc = 1, 2, 3 ragged, 8) with
junk in the empty slots, and derived widths against golden.digital.out_width."""

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.digital import lut_width, mux_groups, out_width, shift_add
from golden.spec import MacroSpec
from hdl.shift_add import ShiftAdd, signed_width

SPECS = {
    "diff-unsigned-cb1": dict(input_bits=4, weight_bits=4, cell_bits=1, cols=2),
    "diff-signed-cb2": dict(input_bits=3, input_signed=True, weight_bits=4, cell_bits=2,
                            cols=2),
    "diff-unsigned-cb2-partial-slice": dict(input_bits=5, weight_bits=5, cell_bits=2, cols=2),
    "diff-signed-cb4-one-beat": dict(input_bits=1, input_signed=True, weight_bits=4,
                                     cell_bits=4, cols=3),
    "offset-unsigned-cb2": dict(input_bits=4, weight_bits=4, cell_bits=2, cols=2,
                                mapping="offset"),
    "offset-signed-cb4": dict(input_bits=4, input_signed=True, weight_bits=8, cell_bits=4,
                              cols=2, mapping="offset"),
    "offset-unsigned-cb1": dict(input_bits=2, weight_bits=3, cell_bits=1, cols=1,
                                mapping="offset"),
    "offset-signed-wb1": dict(input_bits=2, input_signed=True, weight_bits=1, cell_bits=1,
                              cols=2, mapping="offset"),
}

# name: (macro spec name, columns_per_adc, cols)
MUXED = {
    "diff-unsigned-k2": ("diff-unsigned-cb2-partial-slice", 2, 4),
    "offset-signed-k3-ragged": ("offset-signed-cb4", 3, 5),
    "diff-signed-k3-ragged": ("diff-signed-cb2", 3, 4),
    "offset-unsigned-k8": ("offset-unsigned-cb2", 8, 8),
    "offset-signed-k2-one-beat": ("offset-signed-wb1", 2, 3),
}


def make_spec(name, **adc):
    if name in MUXED:
        base, k, cols = MUXED[name]
        spec = make_spec(base, **adc).replace(macro={"cols": cols})
        return spec.replace(adc={"columns_per_adc": k})
    return MacroSpec().replace(macro={"rows": 16, **SPECS[name]},
                               adc={"lut_frac_bits": 4, **adc})


def to_slots(mvms, spec, rng):
    """Per-physical-column values ``(batch, input_bits, phys_cols)`` as the beat stream
    of ``columns_per_adc = k``: ``(batch, input_bits * k, n_groups)``, beat ``t*k + j``
    slot ``g`` = column ``mux_groups[g, j]``, random full-range junk where that is -1."""
    groups = mux_groups(spec)
    n, k = groups.shape
    half = 1 << (lut_width(spec) - 1)
    batch, bits, _ = mvms.shape
    out = rng.integers(-half, half, size=(batch, bits, k, n))
    g, j = np.nonzero(groups >= 0)
    out[:, :, j, g] = mvms[:, :, groups[g, j]]
    return out.reshape(batch, bits * k, n)


def coefficient_signs(spec):
    """Sign of each (beat, physical column) value in the output (before column sums)."""
    m = spec.macro
    beat = np.ones(m.input_bits, dtype=np.int64)
    if m.input_signed:
        beat[0] = -1
    col = np.ones(m.phys_cols, dtype=np.int64)
    if m.polarities == 2:
        col[1::2] = -1
    if m.has_ref_column:
        col[-1] = -1
    return beat[:, None] * col[None, :]


def extremes(spec):
    """The two MVMs that reach the largest and the smallest output."""
    half = 1 << (lut_width(spec) - 1)
    signs = coefficient_signs(spec)
    return np.stack([np.where(signs > 0, half - 1, -half), np.where(signs > 0, -half, half - 1)])


def run_shift_add(dut, mvms, gaps):
    """Feed MVMs (per physical column, converted by :func:`to_slots`) beat by beat;
    ``gaps[k]`` idle cycles precede beat ``k`` (flattened).

    Returns the outputs in order and, per output, the cycles from its ``last`` beat.
    """
    mvms = to_slots(mvms, dut.spec, np.random.default_rng(1))
    batch, beats, phys = mvms.shape
    outs, lat, last_cycles = [], [], []
    rng = np.random.default_rng(0)
    half = 1 << (dut.lut_width - 1)

    async def tb(ctx):
        cycle = 0

        async def tick():
            nonlocal cycle
            await ctx.tick()
            cycle += 1
            if ctx.get(dut.out_valid):
                outs.append(list(ctx.get(dut.out)))
                lat.append(cycle - last_cycles[len(outs) - 1])

        for k, (b, t) in enumerate(itertools.product(range(batch), range(beats))):
            for _ in range(gaps[k]):
                ctx.set(dut.valid, 0)
                ctx.set(dut.last, int(rng.integers(0, 2)))  # ignored without valid
                ctx.set(dut.values, [int(v) for v in rng.integers(-half, half, size=phys)])
                await tick()
            ctx.set(dut.valid, 1)
            ctx.set(dut.last, int(t == beats - 1))
            ctx.set(dut.values, [int(v) for v in mvms[b, t]])
            if t == beats - 1:
                last_cycles.append(cycle)
            await tick()
        ctx.set(dut.valid, 0)
        for _ in range(dut.latency + 2):
            await tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return np.array(outs, dtype=np.int64).reshape(len(outs), dut.spec.macro.cols), lat


@pytest.mark.parametrize("name", [*SPECS, *MUXED])
def test_random_mvms_match_golden(name):
    spec = make_spec(name)
    m = spec.macro
    rng = np.random.default_rng(sum(map(ord, name)))
    half = 1 << (lut_width(spec) - 1)
    random = rng.integers(-half, half, size=(40, m.input_bits, m.phys_cols))
    # values near full scale more often than uniform draws give
    random[rng.random(random.shape) < 0.2] = -half
    random[rng.random(random.shape) < 0.2] = half - 1
    mvms = np.concatenate([extremes(spec), random, extremes(spec)[::-1]])
    beats = m.input_bits * spec.adc.columns_per_adc
    n_beats = mvms.shape[0] * beats
    gaps = np.where(rng.random(n_beats) < 0.3, rng.integers(1, 4, size=n_beats), 0)
    gaps[: 20 * beats] = 0  # the first MVMs back to back, no gap cycles
    dut = ShiftAdd(spec)
    got, lat = run_shift_add(dut, mvms, gaps)
    want = shift_add(mvms, spec)
    assert got.shape == want.shape
    assert np.array_equal(got, want)
    assert set(lat) == {dut.latency}


@pytest.mark.parametrize("name", [*SPECS, *MUXED])
def test_full_scale(name):
    spec = make_spec(name)
    dut = ShiftAdd(spec)
    beats = spec.macro.input_bits * spec.adc.columns_per_adc
    got, _ = run_shift_add(dut, extremes(spec), np.zeros(2 * beats, int))
    lo, hi = dut.out_range
    assert got.tolist() == shift_add(extremes(spec), spec).tolist()
    assert got.tolist() == [[hi] * spec.macro.cols, [lo] * spec.macro.cols]
    assert signed_width(lo, hi) == out_width(spec)


def test_zero():
    spec = make_spec("offset-signed-cb4")
    m = spec.macro
    got, _ = run_shift_add(ShiftAdd(spec), np.zeros((3, m.input_bits, m.phys_cols), int),
                           np.zeros(3 * m.input_bits, int))
    assert got.tolist() == [[0] * m.cols] * 3


def test_one_beat_mvms_every_cycle():
    spec = make_spec("diff-signed-cb4-one-beat")
    m = spec.macro
    rng = np.random.default_rng(11)
    half = 1 << (lut_width(spec) - 1)
    mvms = rng.integers(-half, half, size=(30, 1, m.phys_cols))
    got, lat = run_shift_add(ShiftAdd(spec), mvms, np.zeros(30, int))
    assert np.array_equal(got, shift_add(mvms, spec)) and set(lat) == {2}


def grid():
    for ib, sgn, mapping, (wb, cb) in itertools.product(
        [1, 2, 5, 8, 16], [False, True], ["differential", "offset"],
        [(2, 1), (4, 1), (4, 2), (5, 2), (8, 3), (8, 4), (16, 8), (1, 1)],
    ):
        if mapping == "differential" and wb < 2:
            continue
        for rows, frac in [(1, 0), (64, 8), (4096, 16)]:
            yield MacroSpec().replace(
                macro=dict(input_bits=ib, input_signed=sgn, mapping=mapping, weight_bits=wb,
                           cell_bits=cb, rows=rows, cols=1),
                adc={"lut_frac_bits": frac},
            )


def comb_closed_form(spec):
    """Range of the combined value of one beat: ``+-(2h-1)*Kp`` (differential),
    ``[-h*Kp - (h-1)*R, (h-1)*Kp + h*R]`` (offset, ``R = 2**(weight_bits-1)``), with
    ``Kp = sum_s 2**(s*cell_bits)``; signed inputs add its negation."""
    m = spec.macro
    h = 1 << (lut_width(spec) - 1)
    kp = sum(1 << (s * m.cell_bits) for s in range(m.slices))
    if m.polarities == 2:
        lo, hi = -(2 * h - 1) * kp, (2 * h - 1) * kp
    else:
        r = 1 << (m.weight_bits - 1)
        lo, hi = -h * kp - (h - 1) * r, (h - 1) * kp + h * r
    return (min(lo, -hi), max(hi, -lo)) if m.input_signed else (lo, hi)


def test_widths_match_golden():
    for spec in grid():
        dut = ShiftAdd(spec)
        assert dut.out_width == dut.acc_width == out_width(spec), spec
        assert dut.comb_range == comb_closed_form(spec), spec
        assert dut.comb_width == signed_width(*comb_closed_form(spec))
        assert dut.lut_width == lut_width(spec)
        muxed = ShiftAdd(spec.replace(macro={"cols": 5}).replace(adc={"columns_per_adc": 3}))
        assert muxed.out_width == out_width(spec) and muxed.comb_range == dut.comb_range


def test_signature_and_depth():
    spec = make_spec("offset-signed-cb4")  # 2 slices + reference: 3 leaves, signed: +1
    dut = ShiftAdd(spec)
    m = spec.macro
    assert dut.latency == 2 and dut.tree_depth == 3
    assert dut.n_groups == m.phys_cols and dut.column_groups == m.cols
    assert len(dut.values.as_value()) == m.phys_cols * lut_width(spec)
    assert len(dut.out.as_value()) == m.cols * out_width(spec)
    diff = ShiftAdd(make_spec("diff-unsigned-cb1"))  # 4 slices x +/-: 8 leaves
    assert diff.tree_depth == 3
    muxed = ShiftAdd(make_spec("offset-signed-k3-ragged"))  # 5 columns, 3 per ADC
    groups = mux_groups(muxed.spec)
    assert muxed.n_groups == len(groups) == 2 * 2 + 1 and muxed.column_groups == 2
    assert len(muxed.values.as_value()) == len(groups) * lut_width(muxed.spec)
    assert len(muxed.out.as_value()) == 5 * out_width(muxed.spec)


def test_zero_muxed():
    spec = make_spec("diff-signed-k3-ragged")
    m = spec.macro
    got, _ = run_shift_add(ShiftAdd(spec), np.zeros((3, m.input_bits, m.phys_cols), int),
                           np.zeros(3 * m.input_bits * 3, int))
    assert got.tolist() == [[0] * m.cols] * 3


def test_bad_spec():
    with pytest.raises(ValueError, match=r"spec = None: must be a golden\.spec\.MacroSpec"):
        ShiftAdd(None)
