"""The whole golden macro: ideal limit, fast conversion == match/decode, reproducibility,
and what calibration and super-resolution buy end to end."""

import numpy as np
import pytest

from golden import digital
from golden.calibration import lossless_calibration
from golden.macro import Macro
from golden.spec import MacroSpec

QUIET = {"program_sigma": "none", "read_sigma_us": 0.0, "bound_variation_pct": 0.0}


def spec_of(**sections):
    return MacroSpec().replace(**sections)


def random_operands(spec, batch, rng, sparsity=0.0):
    m = spec.macro
    wlo, whi = m.weight_range
    xlo, xhi = m.input_range
    w = rng.integers(wlo, whi + 1, (m.rows, m.cols))
    x = rng.integers(xlo, xhi + 1, (batch, m.rows))
    if sparsity:
        x[rng.random(x.shape) < sparsity] = 0
    return w, x


IDEAL_CASES = [
    # rows, cell_bits, weight_bits, mapping, signed, adc bits (lossless for the range)
    (8, 2, 4, "differential", False, 5),
    (8, 2, 5, "offset", True, 5),
    (16, 1, 3, "differential", True, 5),
    (12, 1, 4, "offset", False, 4),
    (4, 4, 8, "differential", True, 6),
    (4, 4, 6, "offset", False, 6),
]


def assert_run_is_digital_path(spec, batch, *, seed, sparsity):
    """Calibrate a macro on random operands and check that :meth:`Macro.run` is
    bit-identical to the digital path on its own match vectors and LUTs, with bubbles
    (some flag raised) among them."""
    w, x = random_operands(spec, batch, np.random.default_rng(seed), sparsity=sparsity)
    m = Macro(spec, w)
    m.calibrate(x)
    r = m.run(x)
    out, flags = digital.digital_path(m.match_vectors(x), m.calibration.lut_fixed(spec), spec)
    np.testing.assert_array_equal(r.out, out)
    np.testing.assert_array_equal(r.flags, flags)
    assert flags.any()  # bubbles did occur: the flags are compared, not all zero


@pytest.mark.parametrize(("rows", "cb", "wb", "mapping", "signed", "bits"), IDEAL_CASES)
@pytest.mark.parametrize(("encoding", "sr"), [("window", "none"), ("threshold", "nominal")])
def test_ideal_limit_through_qcells_equals_integer_matmul(rows, cb, wb, mapping, signed, bits,
                                                          encoding, sr):
    spec = spec_of(
        macro={"rows": rows, "cols": 3, "cell_bits": cb, "weight_bits": wb, "mapping": mapping,
               "input_signed": signed, "input_bits": 3},
        adc={"bits": bits, "encoding": encoding, "sr": sr, "lut_frac_bits": 4},
        device=QUIET,
    )
    rng = np.random.default_rng(rows * 7 + cb)
    w, x = random_operands(spec, 64, rng)
    m = Macro(spec, w, calibration=lossless_calibration(spec))
    r = m.run(x)
    np.testing.assert_array_equal(r.out, (x @ w) << 4)
    np.testing.assert_array_equal(r.values, x @ w)
    assert not r.flags.any()


def test_ideal_mode_any_size_equals_integer_matmul():
    spec = spec_of(macro={"rows": 256, "cols": 16, "input_bits": 8, "input_signed": True,
                          "weight_bits": 8, "cell_bits": 2})
    w, x = random_operands(spec, 32, np.random.default_rng(1))
    r = Macro(spec, w).run(x, ideal=True)
    np.testing.assert_array_equal(r.values, x @ w)


@pytest.mark.parametrize(
    ("encoding", "sr", "scope", "mapping"),
    [("window", "none", "per_slice", "differential"),
     ("threshold", "nominal", "shared", "offset"),
     ("window", "calibrated", "per_column", "differential"),
     ("threshold", "interleaved", "per_slice", "offset")],
)
def test_fast_conversion_equals_decoding_match_vectors(encoding, sr, scope, mapping):
    """The step-table conversion is bit-identical to match() + the digital path, bubbles
    included (strong variation and a thin guard, so gaps, overlaps and reorders occur)."""
    spec = spec_of(
        macro={"rows": 16, "cols": 3, "mapping": mapping},
        adc={"bits": 3, "encoding": encoding, "sr": sr, "lut_scope": scope,
             "window_guard_pct": 0.5},
        device={"bound_variation_pct": 8.0, "seed": 11},
    )
    assert_run_is_digital_path(spec, 200, seed=2, sparsity=0.3)


@pytest.mark.parametrize("buckets", [4096, 6])
@pytest.mark.parametrize(("signed", "sr"), [(True, "calibrated"), (False, "none")])
def test_fused_run_equals_values_then_shift_add(buckets, signed, sr, monkeypatch):
    """run()'s fused gather + Horner equals the per-conversion values followed by the
    reference shift_add; with 6 buckets most conversions take the exact (dirty) path."""
    import golden.macro as gm

    monkeypatch.setattr(gm, "BUCKETS", buckets)
    spec = spec_of(
        macro={"rows": 12, "cols": 2, "input_bits": 3, "input_signed": signed,
               "mapping": "offset" if signed else "differential"},
        adc={"bits": 3, "encoding": "threshold", "sr": sr},
        device={"bound_variation_pct": 3.0, "seed": 5},
    )
    w, x = random_operands(spec, 150, np.random.default_rng(4), sparsity=0.2)
    m = Macro(spec, w)
    m.calibrate(x)
    sig = m.crossbar.column_signals(x)
    values, flags = m.convert_values(sig)
    r = m.run(x)
    np.testing.assert_array_equal(r.out, digital.shift_add(values, spec))
    np.testing.assert_array_equal(r.flags, np.bitwise_or.reduce(flags.reshape(150, -1), axis=1))
    dirty = m._gather(sig.reshape(-1, sig.shape[-1]), m._bucket_tables()[3]) == 1
    if buckets == 6:
        assert dirty.mean() > 0.2


def test_same_seed_same_outputs_whatever_the_batching():
    spec = spec_of(adc={"sr": "calibrated"}, device={"bound_variation_pct": 1.0, "seed": 3})
    rng = np.random.default_rng(4)
    w, x = random_operands(spec, 1000, rng, sparsity=0.5)
    m = Macro(spec, w)
    m.calibrate(x[:300])
    whole = m.run(x).out
    ids = np.arange(1000)
    tens = np.concatenate([m.run(x[i:i + 100], vector_ids=ids[i:i + 100]).out
                           for i in range(0, 1000, 100)])
    rev = m.run(x[::-1], vector_ids=ids[::-1]).out[::-1]
    np.testing.assert_array_equal(whole, tens)
    np.testing.assert_array_equal(whole, rev)
    again = Macro(spec, w)
    again.calibration = m.calibration
    np.testing.assert_array_equal(again.run(x).out, whole)


def sparse_workload(spec, batch, seed):
    """ReLU-like activations (60 % zeros, small values common) and bell-shaped weights."""
    rng = np.random.default_rng(seed)
    m = spec.macro
    xhi = m.input_range[1]
    x = np.minimum(rng.geometric(0.35, (batch, m.rows)) - 1, xhi)
    x[rng.random(x.shape) < 0.6] = 0
    wlo, whi = m.weight_range
    w = np.clip(np.round(rng.normal(0, whi / 2.5, (m.rows, m.cols))), wlo, whi).astype(int)
    return w, x


def rms_error(spec, w, x_cal, x, seed=0):
    m = Macro(spec, w)
    m.calibrate(x_cal)
    return float(np.sqrt(np.mean((m.run(x).values - x @ w) ** 2)))


@pytest.mark.parametrize("bits", [3, 4])
def test_lloyd_max_beats_uniform_end_to_end(bits):
    base = spec_of(macro={"rows": 64, "cols": 8, "input_bits": 4, "weight_bits": 4},
                   adc={"bits": bits})
    w, x = sparse_workload(base, 800, seed=bits)
    uni = rms_error(base.replace(adc={"method": "uniform"}), w, x[:400], x[400:])
    lm = rms_error(base.replace(adc={"method": "lloyd-max"}), w, x[:400], x[400:])
    assert lm < 0.8 * uni, (lm, uni)


@pytest.mark.parametrize("bits", [3, 4])
@pytest.mark.parametrize("variation", [1.0, 2.0])
def test_calibrated_sr_beats_single_adc_under_bound_variation(bits, variation):
    base = spec_of(macro={"rows": 64, "cols": 8}, adc={"bits": bits, "encoding": "threshold"},
                   device={"bound_variation_pct": variation, "program_sigma": "none"})
    w, x = sparse_workload(base, 800, seed=10 + bits)
    single = np.mean([rms_error(base.replace(device={"seed": s}), w, x[:400], x[400:])
                      for s in range(3)])
    srcal = np.mean([rms_error(base.replace(adc={"sr": "calibrated"}, device={"seed": s}),
                               w, x[:400], x[400:]) for s in range(3)])
    assert srcal < single, (srcal, single)


def test_run_needs_calibration():
    spec = MacroSpec()
    w, x = random_operands(spec, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="not calibrated"):
        Macro(spec, w).run(x)


def test_gather_blocks_do_not_change_results(monkeypatch):
    """The blocked table gather gives the same words whatever its block shape (ragged
    last blocks in both directions)."""
    import golden.macro as gm

    spec = spec_of(macro={"rows": 10, "cols": 3}, adc={"sr": "calibrated"},
                   device={"bound_variation_pct": 2.0, "seed": 8})
    w, x = random_operands(spec, 40, np.random.default_rng(9), sparsity=0.2)
    m = Macro(spec, w)
    m.calibrate(x)
    ref = m.run(x)
    monkeypatch.setattr(gm, "GATHER_ROWS", 7)
    monkeypatch.setattr(gm, "GATHER_COLS", 5)
    r = m.run(x)
    np.testing.assert_array_equal(r.out, ref.out)
    np.testing.assert_array_equal(r.flags, ref.flags)
    codes_ref = m.convert(m.crossbar.column_signals(x))
    monkeypatch.setattr(gm, "GATHER_COLS", 64)
    codes = m.convert(m.crossbar.column_signals(x))
    np.testing.assert_array_equal(codes[0], codes_ref[0])


# -- ADCs shared through a column mux (adc.columns_per_adc) ----------------------------------

def group_closed_form(m, k):
    """The ADC group of every physical column, from the contract's closed form (not
    golden.digital): ``p = (col*S + s)*P + pol`` -> ``((col // k)*S + s)*P + pol``; the
    offset reference column is the last group."""
    p = np.arange(m.cols * m.slices * m.polarities)
    col, s, pol = p // (m.slices * m.polarities), p // m.polarities % m.slices, p % m.polarities
    g = ((col // k) * m.slices + s) * m.polarities + pol
    if m.has_ref_column:
        g = np.append(g, -(-m.cols // k) * m.slices * m.polarities)
    return g


def rederived_banks(m, groups):
    """The Q-cell banks from the calibration and unit-normal draws keyed directly by
    each column's group (the physical column for k = 1)."""
    from golden.calibration import bound_sigmas, guard_bands
    from golden.device import keyed_normal
    from golden.macro import STREAM_QCELL
    from golden.qcell import bank_from_draws

    spec, cal = m.spec, m.calibration
    a = spec.adc
    copies = 2 if a.encoding == "window" else 1
    z = keyed_normal(spec.device.seed, STREAM_QCELL, m.array_id,
                     groups[:, None, None, None], np.arange(a.adcs_per_column)[None, :, None, None],
                     np.arange(copies)[None, None, :, None],
                     np.arange(a.levels - 1)[None, None, None, :])
    li = digital.lut_index(spec)
    sig = bound_sigmas(spec, cal.boundaries, cal.full_scale)
    guard = guard_bands(spec, cal.full_scale, sig)[li][:, None, None] \
        if a.encoding == "window" else 0.0
    return bank_from_draws(cal.boundaries[li], a.encoding, sig[li], z, guard=guard)


def bank_arrays(bank):
    return [getattr(bank, n) for n in ("lower", "upper", "thresholds")
            if getattr(bank, n) is not None]


MUX_MACRO = [("window", "none", "differential", 1), ("threshold", "nominal", "offset", 1),
             ("window", "calibrated", "offset", 2), ("threshold", "none", "differential", 3),
             ("window", "nominal", "differential", 5)]


@pytest.mark.parametrize(("encoding", "sr", "mapping", "k"), MUX_MACRO)
def test_qcell_bounds_are_drawn_per_adc_group(encoding, sr, mapping, k):
    """Columns sharing an ADC see the same Q-cell bounds, distinct ADCs distinct ones;
    the banks equal a re-derivation keyed by the closed-form group (for k = 1 by the
    physical column, as before ADC groups existed)."""
    spec = spec_of(macro={"rows": 8, "cols": 5, "weight_bits": 4, "cell_bits": 2,
                          "mapping": mapping},
                   adc={"bits": 3, "encoding": encoding, "sr": sr, "columns_per_adc": k},
                   device={"bound_variation_pct": 4.0, "seed": 21})
    w, x = random_operands(spec, 32, np.random.default_rng(k))
    m = Macro(spec, w)
    m.calibrate(x)
    groups = group_closed_form(spec.macro, k)
    for got, want in zip(bank_arrays(m.banks), bank_arrays(rederived_banks(m, groups)),
                         strict=True):
        np.testing.assert_array_equal(got, want)
    for arr in bank_arrays(m.banks):
        for g in np.unique(groups):
            cols = np.flatnonzero(groups == g)
            assert all(np.array_equal(arr[c], arr[cols[0]]) for c in cols)
        first = [arr[np.flatnonzero(groups == g)[0]] for g in np.unique(groups)]
        li = digital.lut_index(spec)[[np.flatnonzero(groups == g)[0] for g in np.unique(groups)]]
        for i in range(len(first)):  # same LUT, different ADC: different draws
            for j in range(i):
                if li[i] == li[j]:
                    assert not np.array_equal(first[i], first[j])


@pytest.mark.parametrize("k", [2, 8])
@pytest.mark.parametrize("mapping", ["differential", "offset"])
def test_mvm_with_shared_adcs_is_digital_path_on_its_own_matches(mapping, k):
    """For k > 1 the macro's output is still golden's digital path on its own match
    vectors and LUTs (the mux changes which Q-cells a column sees, not the function)."""
    spec = spec_of(macro={"rows": 12, "cols": 8, "mapping": mapping, "input_bits": 3},
                   adc={"bits": 4, "sr": "calibrated", "columns_per_adc": k},
                   device={"bound_variation_pct": 3.0, "seed": 4})
    assert_run_is_digital_path(spec, 48, seed=k, sparsity=0.2)
