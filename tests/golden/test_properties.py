"""Property tests (hypothesis) of the golden model: quantisers, SR, decoders, arithmetic.

Each property is a theorem of the model, checked against an independent formulation:
orderings of MSEs that follow from what the algorithms guarantee (a global optimum, the
monotone descent of Lloyd iterations), bubble flags from a plain-Python reading of the
policy, and the ideal limit against integer matmul.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden import digital, metrics, qcell, quantize, randcfg, sr
from golden.calibration import lossless_calibration
from golden.macro import Macro
from golden.spec import MacroSpec
from sim.stimulus import bubbly_match, ideal_match

# derandomize + no example database: every run draws the same examples, so a
# failure reproduces with the plain pytest command.
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
FEW = settings(SETTINGS, max_examples=60)


@st.composite
def sample_sets(draw, min_distinct=16):
    """Finite samples with enough distinct values, drawn from a random mixture."""
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(min_distinct * 2, 400))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["normal", "bimodal", "exponential", "integers"]))
    if kind == "normal":
        x = rng.normal(draw(st.floats(-100, 100)), draw(st.floats(0.01, 50)), n)
    elif kind == "bimodal":
        x = np.concatenate([rng.normal(0, 1, n // 2), rng.normal(draw(st.floats(3, 30)), 2,
                                                                  n - n // 2)])
    elif kind == "exponential":
        x = rng.exponential(draw(st.floats(0.1, 10)), n)
    else:
        x = rng.integers(0, 60, n).astype(np.float64)
    if np.unique(x).size < min_distinct:
        x = x + np.arange(n) * 1e-3
    return x


def cell_edges(q):
    return np.concatenate([[q.full_scale[0]], q.boundaries, [q.full_scale[1]]])


@SETTINGS
@given(x=sample_sets(), bits=st.integers(1, 4),
       method=st.sampled_from(["uniform", "lloyd-max", "optimal"]))
def test_quantiser_structure(x, bits, method):
    q = quantize.design(method, x, bits)
    k = 1 << bits
    lo, hi = q.full_scale
    assert q.boundaries.shape == (k - 1,) and q.levels.shape == (k,)
    assert np.all(np.diff(q.boundaries) > 0)
    assert np.all((q.boundaries > lo) & (q.boundaries < hi))
    e = cell_edges(q)
    assert np.all((q.levels >= e[:-1]) & (q.levels <= e[1:]))
    codes, values = q.quantize(np.sort(np.concatenate([x, [lo - 1, hi + 1]])))
    assert codes.min() >= 0 and codes.max() <= k - 1
    assert np.all(np.diff(codes) >= 0) and np.all(np.diff(values) >= 0)  # monotone


@SETTINGS
@given(x=sample_sets(), bits=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_mse_ordering(x, bits, seed):
    """optimal <= lloyd_max <= its uniform start; optimal <= any quantiser; Lloyd from a
    random start <= that random quantiser (Lloyd iterations never raise the MSE)."""
    k = 1 << bits
    fs = (float(x.min()), float(x.max()))

    def err(q):
        return metrics.mse(x, q.quantize(x)[1])

    opt = err(quantize.optimal(x, bits))
    lm = err(quantize.lloyd_max(x, bits))
    uni = err(quantize.uniform(bits, fs))
    rng = np.random.default_rng(seed)
    levels = np.sort(rng.choice(np.unique(x), k, replace=False))
    rand = quantize.Quantizer((levels[:-1] + levels[1:]) / 2, levels, fs, "random")
    lm_rand = err(quantize.lloyd_max(x, bits, init=levels))
    tol = 1e-9 * (1 + uni)
    assert opt <= lm + tol
    assert lm <= uni + tol
    assert opt <= err(rand) + tol
    assert lm_rand <= err(rand) + tol


@SETTINGS
@given(a=st.lists(st.integers(0, 255), min_size=1, max_size=50),
       b=st.lists(st.integers(0, 255), min_size=1, max_size=50))
def test_sr_code_is_sum(a, b):
    n = min(len(a), len(b))
    s, f = digital.sr_combine(np.array(a[:n]), np.array(b[:n]))
    for i in range(n):
        assert int(s[i]) == a[i] + b[i]
        assert bool(f[i] & digital.FLAG_SR_DISAGREE) == (abs(a[i] - b[i]) > 1)


@SETTINGS
@given(x=sample_sets(), bits=st.integers(1, 4), sigma=st.floats(0, 5),
       seed=st.integers(0, 2**32 - 1))
def test_calibrated_table_entries_inside_their_cells(x, bits, sigma, seed):
    """With threshold cells and the ones counter, SR code s is the cell between the s-th
    and (s+1)-th smallest of both ADCs' realised thresholds: its calibrated entry (the
    centroid of the samples there) lies inside it."""
    fs = (float(x.min()), float(x.max()))
    q = quantize.lloyd_max(x, bits)
    rng = np.random.default_rng(seed)
    ba = qcell.realise(q.boundaries, "threshold", fs, rng, sigma_pct=sigma)
    bb = qcell.realise(q.boundaries, "threshold", fs, rng, sigma_pct=sigma)
    table = sr.nominal_table(q)
    s, _, _ = sr.sr_quantize(x, ba, bb, table)
    cal = sr.calibrated_table(x, s, table.size, table)
    t = np.sort(np.concatenate([ba.thresholds, bb.thresholds]))
    edges = np.concatenate([[-np.inf], t, [np.inf]])
    for code in np.unique(s):
        assert edges[code] <= cal[code] < edges[code + 1] or np.isclose(cal[code],
                                                                         edges[code + 1])


def policy(bits, encoding):
    """The bubble policy read literally, bit by bit."""
    n = len(bits)
    ones = [i for i, v in enumerate(bits) if v]
    if encoding == "window":
        if not ones:
            return 0, digital.FLAG_ZERO_HOT
        return ones[0], digital.FLAG_MULTI_HOT if len(ones) > 1 else 0
    monotone = all(bits[i] >= bits[i + 1] for i in range(n - 1))
    return len(ones), 0 if monotone else digital.FLAG_NON_MONOTONE


@SETTINGS
@given(data=st.data(), bits=st.integers(1, 6),
       encoding=st.sampled_from(["window", "threshold"]))
def test_decode_total_and_flags_follow_policy(data, bits, encoding):
    n = (1 << bits) - (encoding == "threshold")
    vecs = data.draw(st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=1,
                              max_size=20))
    codes, flags = digital.decode(np.array(vecs, dtype=bool), encoding)
    for v, c, f in zip(vecs, codes, flags, strict=True):
        assert (int(c), int(f)) == policy(v, encoding)
        assert 0 <= c < (1 << bits)


@SETTINGS
@given(data=st.data())
def test_shift_add_linear_in_lut_values(data):
    spec = MacroSpec().replace(macro={
        "rows": 4, "cols": data.draw(st.integers(1, 3)),
        "input_bits": data.draw(st.integers(1, 5)),
        "input_signed": data.draw(st.booleans()),
        "weight_bits": data.draw(st.integers(2, 6)), "cell_bits": 1,
        "mapping": data.draw(st.sampled_from(["differential", "offset"]))})
    m = spec.macro
    lim = 1 << (digital.lut_width(spec) - 3)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a = rng.integers(-lim, lim, (3, m.input_bits, m.phys_cols))
    b = rng.integers(-lim, lim, (3, m.input_bits, m.phys_cols))
    k = int(rng.integers(-3, 4))
    np.testing.assert_array_equal(digital.shift_add(a + b, spec),
                                  digital.shift_add(a, spec) + digital.shift_add(b, spec))
    np.testing.assert_array_equal(digital.shift_add(k * a, spec), k * digital.shift_add(a, spec))


@SETTINGS
@given(data=st.data())
def test_ideal_limit_equals_integer_matmul(data):
    wb = data.draw(st.integers(2, 8))
    spec = MacroSpec().replace(macro={
        "rows": data.draw(st.integers(1, 40)), "cols": data.draw(st.integers(1, 6)),
        "input_bits": data.draw(st.integers(1, 8)), "input_signed": data.draw(st.booleans()),
        "weight_bits": wb, "cell_bits": data.draw(st.integers(1, min(wb, 4))),
        "mapping": data.draw(st.sampled_from(["differential", "offset"]))})
    m = spec.macro
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    w = rng.integers(*m.weight_range, (m.rows, m.cols), endpoint=True)
    x = rng.integers(*m.input_range, (data.draw(st.integers(1, 20)), m.rows), endpoint=True)
    r = Macro(spec, w).run(x, ideal=True)
    np.testing.assert_array_equal(r.out, (x @ w) << spec.adc.lut_frac_bits)


# -- quantisers: centroids, and what Lloyd-Max does not promise ---------------------------

def centroid_quantiser(x, boundaries, fs):
    """Cells from ``boundaries``, each level the centroid of the samples in its cell
    (the cell's midpoint when it holds none); cell membership as ``quantize`` sees it."""
    e = np.concatenate([[fs[0]], boundaries, [fs[1]]])
    mid = (e[:-1] + e[1:]) / 2
    codes, _ = quantize.quantize(x, boundaries, mid)
    k = mid.size
    n = np.bincount(codes, minlength=k)
    s = np.bincount(codes, weights=x, minlength=k)
    levels = np.where(n > 0, s / np.maximum(n, 1), mid)
    return quantize.Quantizer(boundaries, np.clip(levels, e[:-1], e[1:]), fs, "random-centroid")


@FEW
@given(x=sample_sets(), bits=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_centroids_are_the_best_levels_for_their_cells(x, bits, seed):
    """For random cells, the centroid levels give the least MSE of all levels in those
    cells; optimal beats the random-centroid quantiser too, and so does Lloyd-Max
    started from its levels (Lloyd iterations never raise the MSE).

    Not asserted: lloyd_max (uniform start) <= a random quantiser, even one with
    centroid levels. Lloyd-Max is a local optimum; on random multi-modal samples about
    0.5 % of random centroid quantisers beat it (by up to 25 % in MSE; see
    test_lloyd_max_is_a_local_optimum)."""
    k = 1 << bits
    fs = (float(x.min()), float(x.max()))
    rng = np.random.default_rng(seed)
    b = np.unique(rng.uniform(*fs, k - 1))
    if b.size < k - 1 or b[0] <= fs[0]:
        return
    cen = centroid_quantiser(x, b, fs)
    e = cell_edges(cen)
    other = quantize.Quantizer(b, rng.uniform(e[:-1], e[1:]), fs, "random")

    def err(q):
        return metrics.mse(x, q.quantize(x)[1])

    tol = 1e-9 * (1 + err(other))
    assert err(cen) <= err(other) + tol
    assert err(quantize.optimal(x, bits)) <= err(cen) + tol
    lev = np.unique(cen.levels)
    if lev.size == k:
        assert err(quantize.lloyd_max(x, bits, init=lev)) <= err(cen) + tol


def test_lloyd_max_is_a_local_optimum():
    """Two clusters (seed 21 of a bimodal family): Lloyd-Max from its uniform start
    stops 37 % above the optimum, and random quantisers with centroid levels beat it
    (so "lloyd_max <= a random quantiser" is not a property of the model)."""
    rng = np.random.default_rng(21)
    n = int(rng.integers(20, 60))
    x = np.concatenate([rng.normal(0, 1, n), rng.normal(rng.uniform(3, 30), 2, n)])
    fs = (float(x.min()), float(x.max()))

    def err(q):
        return metrics.mse(x, q.quantize(x)[1])

    lm, opt = err(quantize.lloyd_max(x, 2)), err(quantize.optimal(x, 2))
    assert opt < lm / 1.3
    draws = np.random.default_rng(0)
    rand = [err(centroid_quantiser(x, np.sort(draws.uniform(*fs, 3)), fs)) for _ in range(200)]
    assert min(rand) < lm and opt <= min(rand)


# -- decoders: total over every match vector ----------------------------------------------

def majority_policy(bits):
    """The majority decoder read literally: c[k] = maj(b[k-1], b[k], b[k+1]) with
    b[-1] = 1, b[n] = 0; code = popcount(c); flag from the raw bits."""
    b = [1, *bits, 0]
    c = [int(b[k - 1] + b[k] + b[k + 1] >= 2) for k in range(1, len(b) - 1)]
    _, flag = policy(bits, "threshold")
    return sum(c), flag


def all_vectors(n):
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(bool)


@pytest.mark.parametrize(("encoding", "bits"),
                         [("window", b) for b in range(0, 5)]
                         + [("threshold", b) for b in range(1, 5)])
def test_decode_total_over_every_vector(encoding, bits):
    """Every match vector of the width, with every decoder: a code in 0..2**N-1, only
    the encoding's flags, and exactly the policy's code and flags (up to 2**12
    vectors checked one by one against the literal policy)."""
    n = (1 << bits) - (encoding == "threshold")
    vecs = all_vectors(n)
    allowed = (digital.FLAG_ZERO_HOT | digital.FLAG_MULTI_HOT if encoding == "window"
               else digital.FLAG_NON_MONOTONE)
    for dec in digital.DECODERS[encoding]:
        codes, flags = digital.decode(vecs, encoding, dec)
        assert codes.shape == flags.shape == (1 << n,)
        assert int(codes.max()) <= (1 << bits) - 1 and not np.any(flags.astype(np.int64) & ~allowed)
        ref = majority_policy if dec == "majority" else (lambda v: policy(v, encoding))
        step = max(1, (1 << n) >> 12)
        for i in range(0, 1 << n, step):
            v = [int(b) for b in vecs[i]]
            assert (int(codes[i]), int(flags[i])) == ref(v), (dec, v)


@SETTINGS
@given(bits=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_majority_decoder_follows_policy(bits, seed):
    """Thermometer codes with 1..3 flipped cells (isolated and adjacent bubbles) and
    random vectors, up to 255 cells."""
    n = (1 << bits) - 1
    rng = np.random.default_rng(seed)
    vecs = np.arange(n) < rng.integers(0, n + 1, (8, 1))
    for v in vecs[:6]:
        v[rng.integers(0, n, rng.integers(1, 4))] ^= True
    vecs[6:] = rng.random((2, n)) < 0.5
    codes, flags = digital.decode(vecs, "threshold", "majority")
    for v, c, f in zip(vecs, codes, flags, strict=True):
        assert (int(c), int(f)) == majority_policy([int(b) for b in v])


# -- digital path: linear in the LUT, exact in the ideal limit ----------------------------

@FEW
@given(seed=st.integers(0, 2**32 - 1))
def test_digital_path_linear_in_lut(seed):
    """For a random config (golden.randcfg) and random match vectors, the whole digital
    path (decode, SR, lookup, shift-add) is linear in the LUT contents; flags do not
    depend on them."""
    spec = randcfg.random_spec(seed % 100_000)
    dec = randcfg.random_decoder(seed % 100_000, spec.adc.encoding)
    spec = spec.replace(adc={"decoder": dec})
    rng = np.random.default_rng(seed)
    match = bubbly_match(spec, 3, rng)
    shape = (digital.n_luts(spec), spec.adc.lut_entries)
    lim = 1 << (digital.lut_width(spec) - 3)
    a, b = rng.integers(-lim, lim, shape), rng.integers(-lim, lim, shape)
    k = int(rng.integers(-3, 4))
    ya, fa = digital.digital_path(match, a, spec)
    yb, fb = digital.digital_path(match, b, spec)
    yab, fab = digital.digital_path(match, a + b, spec)
    yk, _ = digital.digital_path(match, k * a, spec)
    np.testing.assert_array_equal(yab, ya + yb)
    np.testing.assert_array_equal(yk, k * ya)
    np.testing.assert_array_equal(fa, fb)
    np.testing.assert_array_equal(fa, fab)


@FEW
@given(data=st.data())
def test_digital_path_ideal_limit_equals_integer_matmul(data):
    """Bubble-free match vectors of the exact partial sums, decoded and looked up in the
    lossless calibration's LUT, shift-add to ``(x @ W) << frac_bits`` with no flags,
    for every encoding, SR mode, LUT scope and decoder."""
    wb = data.draw(st.integers(2, 6))
    cb = data.draw(st.integers(1, min(wb, 3)))
    rows = data.draw(st.integers(1, 255 // ((1 << cb) - 1)))
    top = rows * ((1 << cb) - 1)
    enc = data.draw(st.sampled_from(["window", "threshold"]))
    spec = MacroSpec().replace(
        macro={"rows": rows, "cols": data.draw(st.integers(1, 3)),
               "input_bits": data.draw(st.integers(1, 6)),
               "input_signed": data.draw(st.booleans()), "weight_bits": wb, "cell_bits": cb,
               "mapping": data.draw(st.sampled_from(["differential", "offset"]))},
        adc={"bits": data.draw(st.integers(max(1, top.bit_length()), 8)), "encoding": enc,
             "sr": data.draw(st.sampled_from(["none", "nominal", "calibrated",
                                              "interleaved"])),
             "lut_scope": data.draw(st.sampled_from(["shared", "per_slice", "per_column"])),
             "lut_frac_bits": data.draw(st.integers(0, 8))})
    dec = data.draw(st.sampled_from(digital.DECODERS[enc]))
    spec = spec.replace(adc={"decoder": dec})
    m = spec.macro
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    w = rng.integers(*m.weight_range, (m.rows, m.cols), endpoint=True)
    x = rng.integers(*m.input_range, (data.draw(st.integers(1, 6)), m.rows), endpoint=True)
    ps = Macro(spec, w).crossbar.partial_sums(x)
    codes = np.repeat(ps[..., None], spec.adc.adcs_per_column, axis=-1)
    lut = lossless_calibration(spec).lut_fixed(spec)
    out, flags = digital.digital_path(ideal_match(spec, codes), lut, spec)
    np.testing.assert_array_equal(out, (x @ w) << spec.adc.lut_frac_bits)
    assert not flags.any()
