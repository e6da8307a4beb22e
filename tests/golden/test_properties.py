"""Property tests (hypothesis) of the golden model: quantisers, SR, decoders, arithmetic.

Each property is a theorem of the model, checked against an independent formulation:
orderings of MSEs that follow from what the algorithms guarantee (a global optimum, the
monotone descent of Lloyd iterations), bubble flags from a plain-Python reading of the
policy, and the ideal limit against integer matmul.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden import digital, metrics, qcell, quantize, sr
from golden.macro import Macro
from golden.spec import MacroSpec

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


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
