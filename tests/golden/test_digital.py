"""The bit-exact digital periphery: decoders, SR combiner, fixed point, LUT, shift-add.

References are built independently in this file: decoder policies in plain Python over
the bits, rounding with exact fractions, and the ideal-limit arithmetic from integer
matmul with the test's own weight slicing and input bit planes.
"""

import itertools
import math
import re
from fractions import Fraction

import numpy as np
import pytest

from golden import digital
from golden.digital import (
    DECODERS,
    FLAG_MULTI_HOT,
    FLAG_NON_MONOTONE,
    FLAG_SR_DISAGREE,
    FLAG_ZERO_HOT,
    beats_per_mvm,
    decode,
    digital_path,
    from_beats,
    group_of,
    lookup,
    lut_index,
    lut_width,
    mux_groups,
    n_luts,
    out_width,
    shift_add,
    sr_combine,
    to_beats,
    to_fixed,
)
from golden.spec import MacroSpec


def spec_of(adc=None, **macro):
    return MacroSpec().replace(macro=macro, adc=adc or {})


# ---------------------------------------------------------------- decoders


def all_vectors(n):
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=bool).reshape(-1, n)


def ref_window(v):
    on = [k for k, b in enumerate(v) if b]
    if not on:
        return 0, FLAG_ZERO_HOT
    return on[0], FLAG_MULTI_HOT if len(on) > 1 else 0


def ref_threshold(v, decoder):
    v = [int(b) for b in v]
    flag = 0 if v == sorted(v, reverse=True) else FLAG_NON_MONOTONE
    if decoder == "ones":
        return sum(v), flag
    p = [1, *v, 0]
    return sum(1 for k in range(len(v)) if p[k] + p[k + 1] + p[k + 2] >= 2), flag


def test_flag_values_are_the_contract():
    assert (FLAG_ZERO_HOT, FLAG_MULTI_HOT, FLAG_NON_MONOTONE, FLAG_SR_DISAGREE) == (1, 2, 4, 8)
    assert digital.Flag(FLAG_ZERO_HOT | FLAG_SR_DISAGREE) == (
        digital.Flag.ZERO_HOT | digital.Flag.SR_DISAGREE)
    assert DECODERS == {"window": ("priority",), "threshold": ("ones", "majority")}


@pytest.mark.parametrize("n_cells", [1, 2, 4, 8])
def test_window_decode_is_total_and_follows_policy(n_cells):
    vecs = all_vectors(n_cells)
    codes, flags = decode(vecs, "window")
    assert codes.dtype == np.uint8 and flags.dtype == np.uint8
    assert codes.shape == flags.shape == (len(vecs),)
    assert np.all(codes < n_cells)
    expected = [ref_window(v) for v in vecs]
    assert codes.tolist() == [c for c, _ in expected]
    assert flags.tolist() == [f for _, f in expected]
    codes_u8, flags_u8 = decode(vecs.astype(np.uint8), "window", "priority")
    assert np.array_equal(codes_u8, codes) and np.array_equal(flags_u8, flags)


@pytest.mark.parametrize("decoder", ["ones", "majority"])
@pytest.mark.parametrize("n_cells", [1, 3, 7])
def test_threshold_decode_is_total_and_follows_policy(n_cells, decoder):
    vecs = all_vectors(n_cells)
    codes, flags = decode(vecs, "threshold", decoder)
    assert codes.dtype == np.uint8 and flags.dtype == np.uint8
    assert np.all(codes <= n_cells)
    expected = [ref_threshold(v, decoder) for v in vecs]
    assert codes.tolist() == [c for c, _ in expected]
    assert flags.tolist() == [f for _, f in expected]


@pytest.mark.parametrize("n_cells", [1, 2, 4, 16, 256])
def test_one_hot_gives_its_index_unflagged(n_cells):
    codes, flags = decode(np.eye(n_cells, dtype=bool), "window")
    assert codes.tolist() == list(range(n_cells))
    assert not flags.any()


@pytest.mark.parametrize("decoder", ["ones", "majority"])
@pytest.mark.parametrize("n_cells", [1, 3, 15, 255])
def test_thermometer_gives_its_count_unflagged(n_cells, decoder):
    k = np.arange(n_cells + 1)
    thermo = np.arange(n_cells)[None, :] < k[:, None]
    codes, flags = decode(thermo, "threshold", decoder)
    assert codes.tolist() == k.tolist()
    assert not flags.any()


def test_default_decoders():
    v = np.array([1, 1, 0, 1, 1, 0, 0], dtype=bool)
    assert decode(v, "threshold")[0] == decode(v, "threshold", "ones")[0] == 4
    w = np.array([0, 1, 1, 0], dtype=bool)
    assert decode(w, "window")[0] == decode(w, "window", "priority")[0]


def test_decode_keeps_leading_axes():
    rng = np.random.default_rng(1)
    m = rng.random((2, 3, 5, 16)) < 0.2
    codes, flags = decode(m, "window")
    assert codes.shape == flags.shape == (2, 3, 5)
    flat_c, flat_f = decode(m.reshape(-1, 16), "window")
    assert np.array_equal(codes.ravel(), flat_c) and np.array_equal(flags.ravel(), flat_f)


def test_two_hot_adjacent():
    codes, flags = decode(np.array([0, 0, 1, 1, 0, 0, 0, 0], dtype=bool), "window")
    assert (codes, flags) == (2, FLAG_MULTI_HOT)


def test_gap_between_windows():
    codes, flags = decode(np.zeros(4, dtype=bool), "window")
    assert (codes, flags) == (0, FLAG_ZERO_HOT)


def test_non_monotone_thermometer():
    codes, flags = decode(np.array([1, 0, 1, 0, 0, 0, 0], dtype=bool), "threshold")
    assert (codes, flags) == (2, FLAG_NON_MONOTONE)
    # a 1 in the top cell above all zeros is also non-monotone
    codes, flags = decode(np.array([0, 0, 1], dtype=bool), "threshold")
    assert (codes, flags) == (1, FLAG_NON_MONOTONE)


def test_majority_corrects_single_bubble():
    bubble = np.array([1, 1, 0, 1, 1, 0, 0], dtype=bool)
    assert decode(bubble, "threshold", "majority") == (5, FLAG_NON_MONOTONE)
    assert decode(bubble, "threshold", "ones") == (4, FLAG_NON_MONOTONE)
    stray = np.array([1, 1, 0, 0, 1, 0, 0], dtype=bool)
    assert decode(stray, "threshold", "majority") == (2, FLAG_NON_MONOTONE)
    # a swap of two adjacent thresholds keeps the count in both decoders
    swap = np.array([1, 0, 1, 0, 0, 0, 0], dtype=bool)
    assert decode(swap, "threshold", "majority")[0] == decode(swap, "threshold", "ones")[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.zeros(4, bool), "flash"), "encoding 'flash'"),
        ((np.zeros(4, bool), "window", "ones"), "decoder 'ones'"),
        ((np.zeros(7, bool), "threshold", "priority"), "decoder 'priority'"),
        ((np.zeros(3, bool), "window"), "3 cells is not a window"),
        ((np.zeros(4, bool), "threshold"), "4 cells is not a threshold"),
        ((np.zeros(0, bool), "window"), "0 cells"),
        ((np.zeros(512, bool), "window"), "512 cells"),
        ((np.array([0, 2, 0, 0]), "window"), "must be 0 or 1"),
        ((np.zeros(4), "window"), "dtype float64"),
        ((np.bool_(True), "window"), "no cell axis"),
    ],
)
def test_decode_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        decode(*args)


# ---------------------------------------------------------------- SR combiner


def test_sr_combine_exhaustive_3bit():
    a, b = np.meshgrid(np.arange(8, dtype=np.uint8), np.arange(8, dtype=np.uint8))
    sr, flags = sr_combine(a, b)
    assert sr.dtype == np.uint16 and flags.dtype == np.uint8
    for ai, bi, s, f in zip(a.ravel(), b.ravel(), sr.ravel(), flags.ravel(), strict=True):
        assert s == int(ai) + int(bi)
        assert f == (FLAG_SR_DISAGREE if abs(int(ai) - int(bi)) > 1 else 0)


def test_sr_combine_full_8bit_codes_do_not_wrap():
    sr, flags = sr_combine(np.uint8(255), np.uint8(255))
    assert sr == 510 and flags == 0
    sr, flags = sr_combine(np.uint8(0), np.uint8(255))
    assert sr == 255 and flags == FLAG_SR_DISAGREE


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [(-1, 0, "a: codes -1..-1"), (0, 256, "b: codes 256..256"), (0.0, 1, "a: dtype float64")],
)
def test_sr_combine_rejects_bad_codes(a, b, message):
    with pytest.raises(ValueError, match=message):
        sr_combine(np.asarray(a), np.asarray(b))


# ---------------------------------------------------------------- fixed point


def ref_fixed(v, f, width):
    q = math.floor(Fraction(v) * 2**f + Fraction(1, 2))
    return min(max(q, -(2 ** (width - 1))), 2 ** (width - 1) - 1)


@pytest.mark.parametrize("frac_bits", [0, 1, 3, 8])
def test_to_fixed_rounds_half_up(frac_bits):
    ties = [(k + 0.5) / 2**frac_bits for k in range(-4, 4)]
    near = [np.nextafter(t, np.inf) for t in ties] + [np.nextafter(t, -np.inf) for t in ties]
    other = [0.0, -0.0, 0.3, -0.3, 1 / 3, -2 / 3, 100.125, -100.125,
             0.49999999999999994, -0.49999999999999994, 2.0**40 + 0.5, -(2.0**40) - 0.5]
    values = np.array(ties + near + other)
    got = to_fixed(values, frac_bits, 60)
    assert got.dtype == np.int64
    assert got.tolist() == [ref_fixed(v, frac_bits, 60) for v in values]


def test_to_fixed_ties_go_up():
    assert to_fixed([0.5, -0.5, 1.5, -1.5, 2.5, -2.5], 0, 8).tolist() == [1, 0, 2, -1, 3, -2]


def test_to_fixed_saturates_at_the_edges():
    # 8-bit, 2 fractional bits: -128..127 = -32.0 .. 31.75
    v = [31.75, 31.874, 31.875, 1e300, np.inf, -32.0, -32.125, -32.126, -1e300, -np.inf]
    assert to_fixed(v, 2, 8).tolist() == [127, 127, 127, 127, 127, -128, -128, -128, -128, -128]
    big = to_fixed([2.0**70, -(2.0**70), 2.0**62, -(2.0**62)], 0, 63)
    assert big.tolist() == [2**62 - 1, -(2**62), 2**62 - 1, -(2**62)]
    assert to_fixed([0.4, -0.6, 3.0], 0, 1).tolist() == [0, -1, 0]


def test_to_fixed_keeps_shape():
    assert to_fixed(np.zeros((2, 3)), 4, 16).shape == (2, 3)
    assert to_fixed(1.25, 2, 8) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1.0], 0, 0), "width = 0"),
        (([1.0], 0, 64), "width = 64"),
        (([1.0], -1, 8), "frac_bits = -1"),
        (([1.0], 1.5, 8), "frac_bits = 1.5"),
        (([1.0], True, 8), "frac_bits = True"),
        (([1.0, np.nan], 0, 8), "NaN"),
    ],
)
def test_to_fixed_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        to_fixed(*args)


@pytest.mark.parametrize(
    ("rows", "cell_bits", "weight_bits", "frac_bits"),
    [(64, 2, 4, 8), (64, 2, 4, 0), (1, 1, 2, 0), (100, 3, 6, 5), (4096, 8, 16, 16)],
)
def test_lut_width_holds_the_adc_full_scale_and_is_tight(rows, cell_bits, weight_bits, frac_bits):
    spec = spec_of(rows=rows, cell_bits=cell_bits, weight_bits=weight_bits,
                   adc={"lut_frac_bits": frac_bits})
    width = lut_width(spec)
    top = rows * (2**cell_bits - 1) + Fraction(1, 2)
    hi = ref_fixed(top, frac_bits, 200)
    lo = ref_fixed(Fraction(-1, 2), frac_bits, 200)
    assert -(2 ** (width - 1)) <= lo and hi <= 2 ** (width - 1) - 1
    assert hi > 2 ** (width - 2) - 1


# ---------------------------------------------------------------- LUT map


@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("scope", ["shared", "per_slice", "per_column"])
def test_lut_index_follows_scope(mapping, scope):
    spec = spec_of(cols=3, weight_bits=5, cell_bits=2, mapping=mapping,
                   adc={"lut_scope": scope})
    m = spec.macro
    idx = lut_index(spec)
    assert idx.shape == (m.phys_cols,) and idx.dtype == np.int64
    assert sorted(set(idx.tolist())) == list(range(n_luts(spec)))
    for c, s, p in itertools.product(range(m.cols), range(m.slices), range(m.polarities)):
        phys = m.phys_index(c, s, p)
        assert idx[phys] == {"shared": 0, "per_slice": s, "per_column": phys}[scope]
    if mapping == "offset":
        ref = m.phys_cols - 1
        assert idx[ref] == {"shared": 0, "per_slice": m.slices, "per_column": ref}[scope]
    assert n_luts(spec) == {
        "shared": 1,
        "per_slice": m.slices + (mapping == "offset"),
        "per_column": m.phys_cols,
    }[scope]


def test_lookup_reads_each_columns_lut():
    spec = spec_of(cols=2, weight_bits=4, cell_bits=2, adc={"bits": 2, "lut_scope": "per_column"})
    pc, entries = spec.macro.phys_cols, spec.adc.lut_entries
    luts = (np.arange(pc)[:, None] * 100 + np.arange(entries)[None, :]).astype(np.int64)
    rng = np.random.default_rng(2)
    codes = rng.integers(0, entries, (5, 3, pc))
    vals = lookup(codes, luts, spec)
    assert vals.dtype == np.int64
    assert np.array_equal(vals, np.arange(pc) * 100 + codes)


# ---------------------------------------------------------------- shift-add


def slice_weights(w, weight_bits, cell_bits, mapping):
    """Conductance levels (rows, phys_cols) of signed weights, per the DESIGN mapping."""
    n_slices = -(-weight_bits // cell_bits)
    mask = (1 << cell_bits) - 1
    if mapping == "offset":
        stored = [w + (1 << (weight_bits - 1))]
    else:
        stored = [np.maximum(w, 0), np.maximum(-w, 0)]
    rows, cols = w.shape
    g = np.zeros((rows, cols, n_slices, len(stored)), dtype=np.int64)
    for s in range(n_slices):
        for p, u in enumerate(stored):
            g[:, :, s, p] = (u >> (s * cell_bits)) & mask
    back = sum(g[:, :, s, 0] << (s * cell_bits) for s in range(n_slices))
    if mapping == "offset":
        assert np.array_equal(back - (1 << (weight_bits - 1)), w)
    else:
        neg = sum(g[:, :, s, 1] << (s * cell_bits) for s in range(n_slices))
        assert np.array_equal(back - neg, w)
    g = g.reshape(rows, -1)
    if mapping == "offset":
        g = np.concatenate([g, np.ones((rows, 1), dtype=np.int64)], axis=1)
    return g


def bit_planes(x, input_bits):
    """(batch, rows) integers -> (batch, input_bits, rows) bits, MSB first."""
    u = x & ((1 << input_bits) - 1)
    shifts = input_bits - 1 - np.arange(input_bits)
    return (u[:, None, :] >> shifts[None, :, None]) & 1


def random_operands(spec, rng, batch=40):
    m = spec.macro
    wlo, whi = m.weight_range
    xlo, xhi = m.input_range
    w = rng.integers(wlo, whi + 1, (m.rows, m.cols))
    w[:, 0], w[:, -1] = wlo, whi
    x = rng.integers(xlo, xhi + 1, (batch, m.rows))
    x[0], x[1] = xlo, xhi
    return w, x


def partial_sums(spec, w, x):
    m = spec.macro
    g = slice_weights(w, m.weight_bits, m.cell_bits, m.mapping)
    assert g.shape == (m.rows, m.phys_cols)
    return bit_planes(x, m.input_bits) @ g


IDEAL_SHAPES = [  # (weight_bits, cell_bits, rows, input_bits); 5/2 and 6/4 do not divide
    (4, 1, 64, 4),
    (5, 2, 32, 3),
    (6, 4, 16, 5),
    (8, 4, 16, 4),
    (2, 1, 8, 1),
]


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize(("weight_bits", "cell_bits", "rows", "input_bits"), IDEAL_SHAPES)
def test_ideal_limit_equals_integer_matmul(weight_bits, cell_bits, rows, input_bits, mapping,
                                           signed):
    scope = ["shared", "per_slice", "per_column"][(weight_bits + input_bits) % 3]
    frac = weight_bits % 4
    spec = spec_of(rows=rows, cols=5, input_bits=input_bits, input_signed=signed,
                   weight_bits=weight_bits, cell_bits=cell_bits, mapping=mapping,
                   adc={"bits": 8, "lut_frac_bits": frac, "lut_scope": scope})
    rng = np.random.default_rng(weight_bits * 100 + rows + signed)
    w, x = random_operands(spec, rng)
    ps = partial_sums(spec, w, x)
    assert ps.max() < spec.adc.lut_entries
    y = shift_add(lookup(ps, identity_luts(spec), spec), spec)
    assert y.dtype == np.int64
    assert np.array_equal(y, (x @ w) << frac)


def identity_luts(spec):
    """LUTs mapping code k to k in fixed point, for every code a partial sum can reach
    (higher codes, outside the ADC full scale, read 0)."""
    m = spec.macro
    k = np.arange(spec.adc.lut_entries, dtype=np.int64)
    k[k > m.rows * (2**m.cell_bits - 1)] = 0
    return np.tile(k << spec.adc.lut_frac_bits, (n_luts(spec), 1))


def path_spec(encoding, sr, mapping="offset"):
    return spec_of(rows=16, cols=3, input_bits=4, input_signed=True, weight_bits=6,
                   cell_bits=4, mapping=mapping,
                   adc={"bits": 8, "encoding": encoding, "sr": sr, "lut_frac_bits": 3})


def ideal_match(spec, ps):
    """Match vectors of ideal ADCs whose code equals the partial sum."""
    cells = np.arange(spec.adc.cells)
    if spec.adc.encoding == "window":
        one = ps[..., None] == cells
    else:
        one = ps[..., None] >= cells + 1
    return np.repeat(one[..., None, :], spec.adc.adcs_per_column, axis=-2)


def ideal_luts(spec, rng):
    entries, frac = spec.adc.lut_entries, spec.adc.lut_frac_bits
    if spec.adc.sr == "none":
        return identity_luts(spec)
    # a + b = 2k for agreeing ADCs; odd entries must not be read
    table = rng.integers(-1000, 1000, entries)
    table[0::2] = np.arange(0, entries, 2) << (frac - 1)
    return np.tile(table, (n_luts(spec), 1))


@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("sr", ["none", "nominal"])
@pytest.mark.parametrize("encoding", ["window", "threshold"])
def test_digital_path_ideal_limit(encoding, sr, mapping):
    spec = path_spec(encoding, sr, mapping)
    rng = np.random.default_rng(7)
    w, x = random_operands(spec, rng, batch=12)
    match = ideal_match(spec, partial_sums(spec, w, x))
    out, flags = digital_path(match, ideal_luts(spec, rng), spec)
    assert out.dtype == np.int64 and flags.dtype == np.uint8
    assert np.array_equal(out, (x @ w) << spec.adc.lut_frac_bits)
    assert flags.shape == (12,) and not flags.any()


@pytest.mark.parametrize(
    ("encoding", "sr", "flag"),
    [
        ("window", "none", FLAG_ZERO_HOT),
        ("window", "none", FLAG_MULTI_HOT),
        ("threshold", "none", FLAG_NON_MONOTONE),
        ("window", "nominal", FLAG_SR_DISAGREE),
    ],
)
def test_digital_path_flags_only_the_mvm_that_saw_it(encoding, sr, flag):
    spec = path_spec(encoding, sr)
    rng = np.random.default_rng(8)
    w, x = random_operands(spec, rng, batch=5)
    match = ideal_match(spec, partial_sums(spec, w, x))
    adc = match[3, 2, spec.macro.phys_cols - 2]  # a view: MVM 3, cycle 2, one column
    code = int(adc[0].sum()) if encoding == "threshold" else int(np.argmax(adc[0]))
    other = code + 2 if code + 2 < spec.adc.cells else code - 2
    if flag == FLAG_ZERO_HOT:
        adc[0, :] = False
    elif flag == FLAG_MULTI_HOT:
        adc[0, other] = True
    elif flag == FLAG_NON_MONOTONE:
        adc[0, spec.adc.cells - 1] = True  # partial sums stay below 241
    else:
        adc[1, :] = np.arange(spec.adc.cells) == other
    _, flags = digital_path(match, ideal_luts(spec, rng), spec)
    assert flags.tolist() == [0, 0, 0, flag, 0]


def coefficients(spec):
    """(input_bits, phys_cols, cols) weights of each LUT value in each output (DESIGN)."""
    m = spec.macro
    t = np.arange(m.input_bits)
    cyc = 2 ** (m.input_bits - 1 - t)
    if m.input_signed:
        cyc[0] = -cyc[0]
    col = np.zeros((m.phys_cols, m.cols), dtype=np.int64)
    for c, s, p in itertools.product(range(m.cols), range(m.slices), range(m.polarities)):
        col[m.phys_index(c, s, p), c] = (-1) ** p * 2 ** (s * m.cell_bits)
    if m.has_ref_column:
        col[-1, :] = -(2 ** (m.weight_bits - 1))
    return cyc[:, None, None] * col[None, :, :]


WIDTH_SPECS = [
    {"rows": 64, "input_bits": 4, "weight_bits": 4, "cell_bits": 2},
    {"rows": 9, "input_bits": 3, "weight_bits": 5, "cell_bits": 2},
    {"rows": 100, "input_bits": 8, "weight_bits": 8, "cell_bits": 3},
    {"rows": 3, "input_bits": 1, "weight_bits": 2, "cell_bits": 1},
]


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("macro", WIDTH_SPECS)
def test_shift_add_equals_weighted_sum(macro, mapping, signed):
    spec = spec_of(cols=4, mapping=mapping, input_signed=signed, **macro)
    half = 1 << (lut_width(spec) - 1)
    rng = np.random.default_rng(3)
    vals = rng.integers(-half, half, (30, spec.macro.input_bits, spec.macro.phys_cols))
    expected = np.einsum("btp,tpc->bc", vals, coefficients(spec))
    assert np.array_equal(shift_add(vals, spec), expected)


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("mapping", ["differential", "offset"])
def test_shift_add_is_linear(mapping, signed):
    spec = spec_of(cols=3, mapping=mapping, input_signed=signed, weight_bits=5, cell_bits=2)
    quarter = 1 << (lut_width(spec) - 2)
    rng = np.random.default_rng(4)
    shape = (25, spec.macro.input_bits, spec.macro.phys_cols)
    a = rng.integers(-quarter, quarter, shape)
    b = rng.integers(-quarter, quarter, shape)
    assert np.array_equal(shift_add(a + b, spec), shift_add(a, spec) + shift_add(b, spec))
    assert np.array_equal(shift_add(-a, spec), -shift_add(a, spec))
    assert not shift_add(np.zeros(shape, dtype=np.int64), spec).any()


def test_shift_add_keeps_leading_axes():
    spec = spec_of(cols=2)
    rng = np.random.default_rng(5)
    vals = rng.integers(-50, 50, (2, 3, spec.macro.input_bits, spec.macro.phys_cols))
    y = shift_add(vals, spec)
    assert y.shape == (2, 3, 2)
    flat = shift_add(vals.reshape(6, *vals.shape[2:]), spec)
    assert np.array_equal(y.reshape(6, 2), flat)


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("macro", WIDTH_SPECS)
def test_out_width_holds_every_lut_content_and_is_tight(macro, mapping, signed):
    spec = spec_of(cols=2, mapping=mapping, input_signed=signed, **macro)
    lw, ow = lut_width(spec), out_width(spec)
    lut_lo, lut_hi = -(2 ** (lw - 1)), 2 ** (lw - 1) - 1
    sign = coefficients(spec).sum(axis=-1)
    y_max = shift_add(np.where(sign > 0, lut_hi, lut_lo)[None], spec)
    y_min = shift_add(np.where(sign > 0, lut_lo, lut_hi)[None], spec)
    assert y_min.min() >= -(2 ** (ow - 1)) and y_max.max() <= 2 ** (ow - 1) - 1
    assert y_min.min() < -(2 ** (ow - 2)) or y_max.max() > 2 ** (ow - 2) - 1


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("mapping", ["differential", "offset"])
def test_extreme_inputs_and_weights_fit_out_width(mapping, signed):
    spec = spec_of(rows=16, cols=4, input_bits=4, input_signed=signed, weight_bits=6,
                   cell_bits=4, mapping=mapping, adc={"bits": 8, "lut_frac_bits": 5})
    m = spec.macro
    (wlo, whi), (xlo, xhi) = m.weight_range, m.input_range
    w = np.tile(np.array([wlo, whi, wlo, whi]), (m.rows, 1))
    x = np.array([[xlo] * m.rows, [xhi] * m.rows])
    y = shift_add(lookup(partial_sums(spec, w, x), identity_luts(spec), spec), spec)
    assert np.array_equal(y, (x @ w) << 5)
    ow = out_width(spec)
    assert y.min() >= -(2 ** (ow - 1)) and y.max() <= 2 ** (ow - 1) - 1


# ---------------------------------------------------------------- argument errors


def test_shift_add_rejects_bad_arguments():
    spec = spec_of(cols=2)
    good = np.zeros((3, spec.macro.input_bits, spec.macro.phys_cols), dtype=np.int64)
    with pytest.raises(ValueError, match=r"shape \(3, 4, 7\) must end in"):
        shift_add(good[..., :7], spec)
    with pytest.raises(ValueError, match="dtype float64"):
        shift_add(good.astype(np.float64), spec)
    too_wide = good.copy()
    too_wide[0, 0, 0] = 1 << (lut_width(spec) - 1)
    with pytest.raises(ValueError, match=f"signed {lut_width(spec)}-bit range"):
        shift_add(too_wide, spec)
    with pytest.raises(ValueError, match="spec: dict"):
        shift_add(good, {"macro": {}})


def test_shift_add_refuses_widths_int64_cannot_hold():
    spec = spec_of(rows=4096, input_bits=16, weight_bits=16, cell_bits=8, mapping="offset",
                   adc={"lut_frac_bits": 16})
    assert out_width(spec) > 63
    vals = np.zeros((1, 16, spec.macro.phys_cols), dtype=np.int64)
    with pytest.raises(ValueError, match=r"out_width = \d+ bits exceeds 63"):
        shift_add(vals, spec)


def test_lookup_rejects_bad_arguments():
    spec = spec_of(cols=2, adc={"bits": 3})
    entries, luts_n, pc = spec.adc.lut_entries, n_luts(spec), spec.macro.phys_cols
    luts = np.zeros((luts_n, entries), dtype=np.int64)
    codes = np.zeros((2, 4, pc), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"luts: shape \(2, 7\) must be"):
        lookup(codes, luts[:, :7], spec)
    with pytest.raises(ValueError, match=r"codes: values 8\.\.8 are out of range 0\.\.7"):
        lookup(codes + 8, luts, spec)
    with pytest.raises(ValueError, match="codes: shape"):
        lookup(codes[..., 1:], luts, spec)
    bad = luts.copy()
    bad[0, 0] = -(1 << (lut_width(spec) - 1)) - 1
    with pytest.raises(ValueError, match="luts: values"):
        lookup(codes, bad, spec)


def test_digital_path_rejects_wrong_match_shape():
    spec = path_spec("window", "none")
    m = spec.macro
    match = np.zeros((2, m.input_bits, m.phys_cols, 1, 128), dtype=bool)
    with pytest.raises(ValueError, match=r"match: shape .* must be \(batch, input_bits"):
        digital_path(match, ideal_luts(spec, np.random.default_rng(0)), spec)


# ---------------------------------------------------------------- column mux (ADC groups)

MUX_CASES = [(cols, k, mapping) for mapping in ("differential", "offset")
             for cols, k in ((3, 1), (4, 2), (5, 2), (7, 3), (8, 8), (9, 8), (1, 1))]


def mux_spec(cols, k, mapping, scope="per_slice", **macro):
    return spec_of(cols=cols, weight_bits=5, cell_bits=2, mapping=mapping,
                   adc={"columns_per_adc": k, "lut_scope": scope}, **macro)


def mux_reference(m, k):
    """The contract's table by enumeration: physical column ``p = (col*S + s)*P + pol``
    goes to group ``((col // k)*S + s)*P + pol`` in phase ``col % k``."""
    n = -(-m.cols // k) * m.slices * m.polarities + int(m.has_ref_column)
    table = [[-1] * k for _ in range(n)]
    for p in range(m.cols * m.slices * m.polarities):
        col, rest = divmod(p, m.slices * m.polarities)
        s, pol = divmod(rest, m.polarities)
        table[((col // k) * m.slices + s) * m.polarities + pol][col % k] = p
    if m.has_ref_column:
        table[-1][0] = m.phys_cols - 1
    return np.array(table, dtype=np.int64)


@pytest.mark.parametrize(("cols", "k", "mapping"), MUX_CASES)
def test_mux_groups_match_enumeration(cols, k, mapping):
    spec = mux_spec(cols, k, mapping)
    groups = mux_groups(spec)
    assert groups.dtype == np.int64
    np.testing.assert_array_equal(groups, mux_reference(spec.macro, k))
    live = groups[groups >= 0]
    assert sorted(live.tolist()) == list(range(spec.macro.phys_cols))  # each column once
    ragged = cols % k != 0 or (mapping == "offset" and k > 1)
    assert (groups < 0).any() == ragged
    assert beats_per_mvm(spec) == spec.macro.input_bits * k


@pytest.mark.parametrize("mapping", ["differential", "offset"])
def test_mux_groups_for_one_column_per_adc_is_the_identity(mapping):
    spec = mux_spec(5, 1, mapping, scope="per_column")
    p = spec.macro.phys_cols
    np.testing.assert_array_equal(mux_groups(spec), np.arange(p)[:, None])
    np.testing.assert_array_equal(group_of(spec), np.arange(p))
    assert beats_per_mvm(spec) == spec.macro.input_bits


def test_mux_groups_ragged_last_group():
    """cols = 5, k = 2, one slice, differential: groups 0..3 full, 4 and 5 (the + and -
    of logical column 4) read in phase 0 only."""
    spec = spec_of(cols=5, weight_bits=2, cell_bits=2, adc={"columns_per_adc": 2})
    np.testing.assert_array_equal(
        mux_groups(spec), [[0, 2], [1, 3], [4, 6], [5, 7], [8, -1], [9, -1]])


@pytest.mark.parametrize(("cols", "k", "mapping"), MUX_CASES)
@pytest.mark.parametrize("scope", ["shared", "per_slice"])
def test_group_of_inverts_mux_groups_and_groups_share_a_lut(cols, k, mapping, scope):
    spec = mux_spec(cols, k, mapping, scope)
    groups, owner, idx = mux_groups(spec), group_of(spec), lut_index(spec)
    assert owner.shape == (spec.macro.phys_cols,) and owner.dtype == np.int64
    for p in range(spec.macro.phys_cols):
        g = owner[p]
        assert p in groups[g].tolist()
        assert len({int(idx[q]) for q in groups[g] if q >= 0}) == 1  # one LUT per group
    for g, row in enumerate(groups):
        assert all(owner[q] == g for q in row if q >= 0)


def random_bits(rng, *shape):
    return rng.random(shape) < 0.5


@pytest.mark.parametrize(("cols", "k", "mapping"), MUX_CASES)
def test_to_beats_order_and_round_trip(cols, k, mapping):
    spec = mux_spec(cols, k, mapping, input_bits=3)
    m, a = spec.macro, spec.adc
    rng = np.random.default_rng(cols * 10 + k)
    match = random_bits(rng, 2, m.input_bits, m.phys_cols, a.adcs_per_column, a.cells)
    beats = to_beats(match, spec)
    groups = mux_groups(spec)
    assert beats.shape == (2, m.input_bits * k, len(groups), a.adcs_per_column, a.cells)
    for t, j, g in itertools.product(range(m.input_bits), range(k), range(len(groups))):
        p = groups[g, j]
        want = match[:, t, p] if p >= 0 else np.zeros_like(match[:, t, 0])
        np.testing.assert_array_equal(beats[:, t * k + j, g], want)
    np.testing.assert_array_equal(from_beats(beats, spec), match)


@pytest.mark.parametrize(("cols", "k", "mapping"), [c for c in MUX_CASES if c[1] > 1])
def test_from_beats_drops_junk_in_empty_slots_only(cols, k, mapping):
    spec = mux_spec(cols, k, mapping)
    m, a = spec.macro, spec.adc
    rng = np.random.default_rng(k)
    match = random_bits(rng, 3, m.input_bits, m.phys_cols, a.adcs_per_column, a.cells)
    beats = to_beats(match, spec).reshape(3, m.input_bits, k, -1, a.adcs_per_column, a.cells)
    empty = mux_groups(spec).T < 0
    junk = beats.copy()
    junk[:, :, empty] = True
    np.testing.assert_array_equal(from_beats(junk.reshape(3, m.input_bits * k, *junk.shape[3:]),
                                             spec), match)
    live = beats.copy()
    live[:, :, ~empty] ^= True  # every live slot flipped: every column changes
    back = from_beats(live.reshape(3, m.input_bits * k, *live.shape[3:]), spec)
    np.testing.assert_array_equal(back, ~match)


def test_beats_reject_wrong_shapes():
    spec = mux_spec(4, 2, "offset")  # 13 physical columns in 7 groups, 16 cells
    m, a = spec.macro, spec.adc
    match = np.zeros((1, m.input_bits, m.phys_cols, a.adcs_per_column, a.cells), dtype=bool)
    with pytest.raises(ValueError, match=re.escape(
            "match: shape (1, 4, 12, 1, 16) must be (batch, input_bits, phys_cols, "
            "adcs_per_column, cells) = (batch, 4, 13, 1, 16)")):
        to_beats(match[:, :, 1:], spec)
    beats = to_beats(match, spec)
    with pytest.raises(ValueError, match=re.escape(
            "beats: shape (1, 4, 7, 1, 16) must be (batch, input_bits * columns_per_adc, "
            "n_groups, adcs_per_column, cells) = (batch, 8, 7, 1, 16)")):
        from_beats(beats[:, :4], spec)


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("encoding", ["window", "threshold"])
def test_digital_path_through_the_beat_stream(encoding, k):
    """The periphery's function on the beats is digital_path on from_beats: a round
    trip (with junk in the empty slots) changes no output or flag."""
    spec = path_spec(encoding, "nominal").replace(adc={"columns_per_adc": k})
    m, a = spec.macro, spec.adc
    rng = np.random.default_rng(k)
    match = random_bits(rng, 4, m.input_bits, m.phys_cols, a.adcs_per_column, a.cells)
    beats = to_beats(match, spec).reshape(4, m.input_bits, k, -1, a.adcs_per_column, a.cells)
    beats[:, :, mux_groups(spec).T < 0] = True
    luts = rng.integers(-100, 100, size=(n_luts(spec), a.lut_entries))
    back = from_beats(beats.reshape(4, m.input_bits * k, *beats.shape[3:]), spec)
    for got, want in zip(digital_path(back, luts, spec), digital_path(match, luts, spec),
                         strict=True):
        np.testing.assert_array_equal(got, want)
