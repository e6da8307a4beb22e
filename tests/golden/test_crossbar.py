"""Tests of golden/crossbar.py: mapping, bit planes, ideal limit, noise, keys, IR drop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from golden.crossbar import (
    Crossbar,
    input_bit_planes,
    ir_drop_relative,
    ir_transfer_exact,
    ir_transfer_fast,
    map_weights,
)
from golden.device import Device
from golden.presets import READC_FIG3C_PROGRAM, READC_FIG3D_READ
from golden.spec import MacroSpec

QUIET = {"program_sigma": "none", "read_sigma_us": 0.0}


def make_spec(*, rows=16, cols=4, input_bits=4, input_signed=False, weight_bits=4,
              cell_bits=2, mapping="differential", **device) -> MacroSpec:
    return MacroSpec.from_dict({
        "macro": {"rows": rows, "cols": cols, "input_bits": input_bits,
                  "input_signed": input_signed, "weight_bits": weight_bits,
                  "cell_bits": cell_bits, "mapping": mapping},
        "device": device,
    })


def random_operands(spec: MacroSpec, batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    m = spec.macro
    lo, hi = m.weight_range
    w = rng.integers(lo, hi + 1, (m.rows, m.cols))
    xlo, xhi = m.input_range
    x = rng.integers(xlo, xhi + 1, (batch, m.rows))
    return w, x


# --- mapping ----------------------------------------------------------------------------

MAPPING_CASES = [(8, 1), (8, 2), (8, 4), (5, 2), (7, 4), (3, 2), (4, 4), (6, 4)]


@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize(("weight_bits", "cell_bits"), MAPPING_CASES)
def test_mapping_round_trip(mapping, weight_bits, cell_bits):
    n = 1 << weight_bits
    spec = make_spec(rows=n, cols=2, weight_bits=weight_bits, cell_bits=cell_bits,
                     mapping=mapping)
    m = spec.macro
    every = np.arange(-(n // 2), n // 2)
    w = np.stack([every, every[::-1]], axis=1)
    levels = map_weights(w, m)
    assert levels.shape == (n, m.phys_cols) and levels.dtype == np.int64
    assert levels.min() >= 0 and levels.max() <= (1 << cell_bits) - 1
    back = np.zeros_like(w)
    for c in range(m.cols):
        for s in range(m.slices):
            scale = 1 << (s * cell_bits)
            back[:, c] += scale * levels[:, m.phys_index(c, s, 0)]
            if mapping == "differential":
                back[:, c] -= scale * levels[:, m.phys_index(c, s, 1)]
    if mapping == "offset":
        back -= n // 2
        assert np.all(levels[:, -1] == 1)
    else:
        for c in range(m.cols):
            pos = sum(levels[:, m.phys_index(c, s, 0)] for s in range(m.slices))
            neg = sum(levels[:, m.phys_index(c, s, 1)] for s in range(m.slices))
            assert not np.any((pos > 0) & (neg > 0))
    assert np.array_equal(back, w)


@pytest.mark.parametrize(("input_bits", "signed"), [(1, False), (1, True), (4, False),
                                                    (4, True), (8, True), (8, False)])
def test_bit_planes_round_trip(input_bits, signed):
    spec = make_spec(rows=1 << input_bits, input_bits=input_bits, input_signed=signed)
    m = spec.macro
    lo, hi = m.input_range
    x = np.arange(lo, hi + 1)[None, :]
    planes = input_bit_planes(x, m)
    assert planes.shape == (1, input_bits, m.rows) and planes.dtype == np.uint8
    assert set(np.unique(planes)) <= {0, 1}
    weights = [1 << (input_bits - 1 - t) for t in range(input_bits)]
    if signed:
        weights[0] = -weights[0]
    back = sum(int(wt) * planes[:, t].astype(np.int64) for t, wt in enumerate(weights))
    assert np.array_equal(back, x)


def test_weight_errors_name_the_entry():
    spec = make_spec(weight_bits=8)
    w = np.zeros((16, 4), dtype=np.int64)
    w[2, 1] = 300
    w[5, 3] = -200
    with pytest.raises(ValueError, match=r"weights\[2, 1\] = 300 .* -128\.\.127 .*2 entries"):
        map_weights(w, spec.macro)
    with pytest.raises(ValueError, match=r"shape \(macro.rows, macro.cols\) = \(16, 4\)"):
        map_weights(np.zeros((4, 16), dtype=np.int64), spec.macro)
    with pytest.raises(ValueError, match="integer array; got dtype float64"):
        map_weights(np.zeros((16, 4)), spec.macro)


def test_input_errors_name_the_entry():
    spec = make_spec(input_bits=4, input_signed=True)
    x = np.zeros((3, 16), dtype=np.int64)
    x[1, 7] = 8
    with pytest.raises(ValueError, match=r"x\[1, 7\] = 8 .* -8\.\.7 .*input_signed = True"):
        input_bit_planes(x, spec.macro)
    with pytest.raises(ValueError, match=r"\(batch, macro.rows\) = \(batch, 16\)"):
        input_bit_planes(np.zeros(16, dtype=np.int64), spec.macro)
    with pytest.raises(ValueError, match="dtype float64"):
        input_bit_planes(np.zeros((1, 16)), spec.macro)


# --- ideal limit ------------------------------------------------------------------------

def test_partial_sums_brute_force_and_ideal_signals():
    spec = make_spec(rows=24, cols=3, input_bits=5, weight_bits=6, cell_bits=4)
    w, x = random_operands(spec, 40)
    xb = Crossbar(spec, w)
    ps = xb.partial_sums(x)
    bits = input_bit_planes(x, spec.macro).astype(np.int64)
    brute = np.einsum("btr,rj->btj", bits, map_weights(w, spec.macro))
    assert ps.dtype == np.int64 and np.array_equal(ps, brute)
    ideal = xb.column_signals(x, ideal=True)
    assert ideal.dtype == np.float64 and np.array_equal(ideal, ps.astype(np.float64))


def shift_add(ps: np.ndarray, m) -> np.ndarray:
    """The shift-add arithmetic with an identity LUT: signed cycle, slice and polarity weights."""
    ib = m.input_bits
    cycle_w = np.array([1 << (ib - 1 - t) for t in range(ib)], dtype=np.int64)
    if m.input_signed:
        cycle_w[0] = -cycle_w[0]
    per_col = np.einsum("btj,t->bj", ps, cycle_w)
    y = np.zeros((ps.shape[0], m.cols), dtype=np.int64)
    for c in range(m.cols):
        for s in range(m.slices):
            for p in range(m.polarities):
                sign = 1 if p == 0 else -1
                y[:, c] += sign * (1 << (s * m.cell_bits)) * per_col[:, m.phys_index(c, s, p)]
    if m.has_ref_column:
        y -= (1 << (m.weight_bits - 1)) * per_col[:, [m.phys_cols - 1]]
    return y


@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize(("input_bits", "weight_bits", "cell_bits"),
                         [(8, 8, 2), (4, 5, 2), (3, 7, 4), (6, 4, 1)])
def test_shift_add_of_partial_sums_is_integer_matmul(mapping, signed, input_bits,
                                                     weight_bits, cell_bits):
    spec = make_spec(rows=32, cols=5, input_bits=input_bits, input_signed=signed,
                     weight_bits=weight_bits, cell_bits=cell_bits, mapping=mapping)
    w, x = random_operands(spec, 64, seed=weight_bits)
    lo, hi = spec.macro.weight_range
    w[0, :] = lo  # the most negative weight needs the full magnitude range
    w[1, :] = hi
    ps = Crossbar(spec, w).partial_sums(x)
    assert np.array_equal(shift_add(ps, spec.macro), x @ w)


@pytest.mark.parametrize("mapping", ["differential", "offset"])
def test_noise_free_device_gives_partial_sums(mapping):
    spec = make_spec(rows=32, cols=4, input_bits=4, weight_bits=6, mapping=mapping,
                     g_min_us=37.0, g_max_us=412.5, **QUIET)
    w, x = random_operands(spec, 50)
    xb = Crossbar(spec, w)
    assert np.array_equal(xb.column_signals(x), xb.partial_sums(x))


def test_all_cells_stuck_on_give_full_scale():
    spec = make_spec(stuck_on_rate=1.0, **QUIET)
    w, x = random_operands(spec, 20)
    xb = Crossbar(spec, w)
    n_active = input_bit_planes(x, spec.macro).sum(axis=2)
    expect = np.repeat(n_active[:, :, None] * 3.0, spec.macro.phys_cols, axis=2)
    assert np.array_equal(xb.column_signals(x), expect)


def test_drift_scales_the_gain():
    spec = make_spec(**QUIET)
    w, x = random_operands(spec, 20)
    xb = Crossbar(spec, w, drift_time=500.0, device=Device(spec, drift_nu=0.04))
    factor = 500.0 ** -0.04
    tol = spec.macro.rows * xb.resolution / 2 + 1e-12
    assert np.allclose(xb.column_signals(x), xb.partial_sums(x) * factor, rtol=0, atol=tol)


# --- noise statistics -------------------------------------------------------------------

@pytest.mark.parametrize("read_shape", ["readc-fig3d", "constant"])
def test_read_noise_variance_matches_prediction(read_shape):
    spec = make_spec(rows=32, cols=4, input_bits=4, weight_bits=4, program_sigma="none",
                     read_sigma_us=2.0, seed=21)
    w, x1 = random_operands(spec, 1)
    n = 2000
    x = np.repeat(x1, n, axis=0)
    xb = Crossbar(spec, w, device=Device(spec, read_shape=read_shape))
    sig = xb.column_signals(x)
    ps = xb.partial_sums(x1)[0]
    g = 100.0 + map_weights(w, spec.macro) * 100.0
    sigma = (np.full(g.shape, 2.0) if read_shape == "constant"
             else READC_FIG3D_READ(g) * 2.0 / np.mean(READC_FIG3D_READ.sigma_us))
    bits = input_bit_planes(x1, spec.macro)[0].astype(np.float64)
    predicted = bits @ sigma**2 / 100.0**2
    sample_var = sig.var(axis=0, ddof=1)
    live = predicted > 0
    assert np.all(sample_var[~live] == 0)
    ratio = sample_var[live] / predicted[live]
    assert np.all(np.abs(ratio - 1) < 5 * math.sqrt(2 / (n - 1)))
    assert abs(ratio.mean() - 1) < 4 * math.sqrt(2 / (n - 1) / ratio.size)
    se = np.sqrt(predicted / n)
    assert np.all(np.abs(sig.mean(axis=0) - ps)[live] < 5 * se[live])


def test_programming_error_variance_matches_prediction():
    spec = make_spec(rows=32, cols=1024, input_bits=2, weight_bits=8, read_sigma_us=0.0,
                     seed=5)
    w, x = random_operands(spec, 1)
    xb = Crossbar(spec, w)
    err = (xb.column_signals(x) - xb.partial_sums(x))[0, 0]  # MSB cycle, every column
    bits = input_bit_planes(x, spec.macro)[0, 0].astype(np.float64)
    g = 100.0 + map_weights(w, spec.macro) * 100.0
    predicted = bits @ READC_FIG3C_PROGRAM(g) ** 2 / 100.0**2
    z = err / np.sqrt(predicted)
    n = z.size
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert abs(z.var() - 1) < 4 * math.sqrt(2 / n)


# --- reproducibility --------------------------------------------------------------------

@pytest.mark.parametrize(("window", "dtype"), [((100.0, 400.0), np.float32),
                                               ((399.5, 400.0), np.float64)])
def test_signals_independent_of_batching(window, dtype):
    spec = make_spec(rows=64, cols=64, input_bits=4, weight_bits=4, g_min_us=window[0],
                     g_max_us=window[1], read_sigma_us=0.3, seed=8)
    w, x = random_operands(spec, 1000)
    xb = Crossbar(spec, w, array_id=3)
    assert xb.compute_dtype == dtype
    whole = xb.column_signals(x)
    ids = np.arange(1000)
    parts = np.concatenate([xb.column_signals(x[i:i + 100], vector_ids=ids[i:i + 100])
                            for i in range(0, 1000, 100)])
    assert np.array_equal(parts, whole)
    rev = xb.column_signals(x[::-1], vector_ids=ids[::-1])
    assert np.array_equal(rev[::-1], whole)
    again = Crossbar(spec, w, array_id=3).column_signals(x[:10])
    assert np.array_equal(again, whole[:10])


def test_different_array_or_seed_draws_differently():
    spec = make_spec(read_sigma_us=0.3)
    w, x = random_operands(spec, 50)
    base = Crossbar(spec, w).column_signals(x)
    other_id = Crossbar(spec, w, array_id=1)
    other_seed = Crossbar(spec.replace(device={"seed": 1}), w)
    for xb in (other_id, other_seed):
        assert np.mean(xb.column_signals(x) != base) > 0.99
    # read noise alone: same static draws, fresh dynamic draws per vector id
    ids = np.arange(50, 100)
    quiet = Crossbar(spec.replace(device={"read_sigma_us": 0.0}), w).column_signals(x)
    moved = Crossbar(spec, w).column_signals(x, vector_ids=ids)
    assert np.mean(moved != base) > 0.99
    assert np.abs(moved - quiet).max() < 0.1


def test_vector_id_errors():
    spec = make_spec()
    w, x = random_operands(spec, 4)
    xb = Crossbar(spec, w)
    with pytest.raises(ValueError, match=r"vector_ids\[2\] = -1"):
        xb.column_signals(x, vector_ids=np.array([0, 1, -1, 3]))
    with pytest.raises(ValueError, match=r"shape \(batch,\) = \(4,\)"):
        xb.column_signals(x, vector_ids=np.arange(3))


def test_device_from_another_spec_is_rejected():
    spec = make_spec()
    w, _ = random_operands(spec, 1)
    with pytest.raises(ValueError, match="same spec"):
        Crossbar(spec, w, device=Device(make_spec(cell_bits=1)))


# --- IR drop ----------------------------------------------------------------------------

def test_exact_network_single_cell_is_series_resistance():
    g_us, rw, rs, rsen = 250.0, 3.0, 5.0, 7.0
    t = ir_transfer_exact(np.array([[g_us]]), rw, source_ohm=rs, sense_ohm=rsen)
    series = 1.0 / (1e6 / g_us + rs + rw + rw + rsen) * 1e6
    assert t[0, 0] == pytest.approx(series, rel=1e-12)


def test_exact_network_one_row_two_cells_closed_form():
    g1, g2, rw, rs, rsen = 300e-6, 150e-6, 40.0, 25.0, 10.0
    r1 = 1 / g1 + rw + rsen           # node 0 -> cell 1 -> sense 0
    r2 = rw + 1 / g2 + rw + rsen      # node 0 -> segment -> cell 2 -> sense 1
    gin = 1 / (rs + rw)
    v0 = gin / (gin + 1 / r1 + 1 / r2)
    t = ir_transfer_exact(np.array([[g1, g2]]) * 1e6, rw, source_ohm=rs, sense_ohm=rsen)
    assert np.allclose(t[0], np.array([v0 / r1, v0 / r2]) * 1e6, rtol=1e-12)


@pytest.mark.parametrize("shape", [(8, 8), (16, 4), (4, 16)])
@pytest.mark.parametrize("wire_ohm", [0.01, 0.1, 1.0, 10.0])
def test_fast_ir_model_within_bound_of_exact_network(shape, wire_ohm):
    rng = np.random.default_rng(shape[0])
    g = 100.0 + 100.0 * rng.integers(0, 4, shape) + rng.normal(0, 3.0, shape)
    kw = {"source_ohm": 2 * wire_ohm, "sense_ohm": 3 * wire_ohm}
    exact = ir_transfer_exact(g, wire_ohm, **kw)
    fast = ir_transfer_fast(g, wire_ohm, **kw)
    eps = ir_drop_relative(g, wire_ohm, **kw).max()
    assert eps <= 0.6
    error = np.abs(fast - exact).max()
    assert error <= eps**2 / 4 * g.max()
    drop = np.abs(g - exact).max()
    assert drop > eps / 2 * 100.0  # the drop is real and of first order ...
    assert error < drop * eps / 2  # ... and the fast model removes all but O(eps^2) of it


def test_crossbar_signals_with_ir_drop_match_exact_network():
    spec = make_spec(rows=8, cols=2, input_bits=4, weight_bits=4, wire_ohm=2.0, **QUIET)
    w, x = random_operands(spec, 30)
    xb = Crossbar(spec, w, source_ohm=1.0, sense_ohm=1.0)
    exact = ir_transfer_exact(xb.cells.g, 2.0, source_ohm=1.0, sense_ohm=1.0)
    bits = input_bit_planes(x, spec.macro).astype(np.float64)
    expect = (bits @ exact - bits.sum(axis=2, keepdims=True) * 100.0) / 100.0
    bound = 8 * xb.ir_epsilon**2 / 4 * 400.0 / 100.0
    got = xb.column_signals(x)
    assert np.abs(got - expect).max() <= bound
    assert np.abs(got - xb.partial_sums(x)).max() > 10 * bound


def test_zero_wire_resistance_means_no_ir_drop():
    spec = make_spec(wire_ohm=0.0)
    w, _ = random_operands(spec, 1)
    xb = Crossbar(spec, w)
    assert xb.ir_epsilon == 0.0
    assert np.array_equal(xb.transfer, xb.cells.g)
    assert np.all(ir_drop_relative(xb.cells.g, 0.0) == 0.0)


def test_ir_argument_errors():
    g = np.full((2, 2), 100.0)
    with pytest.raises(ValueError, match="wire_ohm = 0"):
        ir_transfer_exact(g, 0.0)
    with pytest.raises(ValueError, match="source_ohm = -1"):
        ir_drop_relative(g, 1.0, source_ohm=-1.0)
    with pytest.raises(ValueError, match="limited to 4096 nodes"):
        ir_transfer_exact(np.full((64, 64), 100.0), 1.0)
