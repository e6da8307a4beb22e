"""Tests of golden.qcell: nominal banks against quantize(), bubble rates against their
closed forms, realised sigmas against sigma_pct and the measured fig. 3c conductance
sigma, reproducibility and parameter checks."""

import math
from pathlib import Path

import numpy as np
import pytest

from golden import digital, presets, quantize
from golden.qcell import ConductanceMap, QCellBank, nominal_bank, realise

DATA = Path(__file__).parent.parent / "data"


def phi(z):
    """Standard normal CDF."""
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(z, dtype=np.float64) / math.sqrt(2)))


def probe_inputs(boundaries, full_scale, rng):
    """Random inputs plus every boundary, its float neighbours and far outside."""
    b = np.asarray(boundaries)
    lo, hi = full_scale
    return np.concatenate([
        rng.uniform(lo, hi, 2000), b, np.nextafter(b, -np.inf), np.nextafter(b, np.inf),
        [lo, hi, lo - 10.0, hi + 10.0, -np.inf, np.inf],
    ])


@pytest.fixture
def lloyd4():
    rng = np.random.default_rng(5)
    return quantize.lloyd_max(rng.standard_normal(5000), 4, full_scale=(-4.0, 4.0))


def test_nominal_window_is_one_hot_with_quantize_code(lloyd4):
    x = probe_inputs(lloyd4.boundaries, lloyd4.full_scale, np.random.default_rng(1))
    m = nominal_bank(lloyd4.boundaries, "window").match(x)
    assert m.shape == (x.size, 16)
    assert np.all(m.sum(axis=-1) == 1)
    codes, _ = lloyd4.quantize(x)
    np.testing.assert_array_equal(np.argmax(m, axis=-1), codes)
    dec, flags = digital.decode(m, "window")
    np.testing.assert_array_equal(dec, codes)
    assert not flags.any()


def test_nominal_threshold_is_thermometer_with_quantize_code(lloyd4):
    x = probe_inputs(lloyd4.boundaries, lloyd4.full_scale, np.random.default_rng(2))
    m = nominal_bank(lloyd4.boundaries, "threshold").match(x)
    assert m.shape == (x.size, 15)
    assert not np.any(~m[:, :-1] & m[:, 1:]), "a 0 below a 1"
    codes, _ = lloyd4.quantize(x)
    np.testing.assert_array_equal(m.sum(axis=-1), codes)


def test_value_on_boundary_goes_to_upper_cell():
    b = np.array([-0.5, 0.0, 0.5])
    m = nominal_bank(b, "window").match(b)
    np.testing.assert_array_equal(np.argmax(m, axis=-1), [1, 2, 3])
    t = nominal_bank(b, "threshold").match(b)
    np.testing.assert_array_equal(t.sum(axis=-1), [1, 2, 3])


def test_edge_cells_are_half_open():
    bank = nominal_bank([0.25, 0.5, 0.75], "window")
    assert bank.lower[0] == -np.inf and bank.upper[-1] == np.inf
    m = bank.match([-1e300, 1e300])
    np.testing.assert_array_equal(np.argmax(m, axis=-1), [0, 3])


def test_match_broadcasts_over_bank_shape():
    b = quantize.uniform(3, (0.0, 1.0)).boundaries
    bank = realise(b, "window", (0.0, 1.0), np.random.default_rng(0), sigma_pct=1.0,
                   bank_shape=(3, 2))
    assert bank.bank_shape == (3, 2) and bank.n_cells == 8 and bank.bits == 3
    x = np.random.default_rng(1).uniform(0, 1, (5, 3, 2))
    m = bank.match(x)
    assert m.shape == (5, 3, 2, 8)
    # Element (i, j, k) of the batch is bank (j, k) applied to x[i, j, k].
    ref = (x[1, 2, 1] >= bank.lower[2, 1]) & (x[1, 2, 1] < bank.upper[2, 1])
    np.testing.assert_array_equal(m[1, 2, 1], ref)
    assert bank.match(0.3).shape == (3, 2, 8)
    with pytest.raises(ValueError, match="bank_shape"):
        bank.match(np.zeros((5, 4)))


def test_transitions():
    b = np.array([0.25, 0.5, 0.75])
    t = QCellBank("threshold", thresholds=[[0.3, 0.2, 0.9]])
    np.testing.assert_array_equal(t.transitions, [[0.2, 0.3, 0.9]])
    w = nominal_bank(b, "window", bank_shape=(2,))
    np.testing.assert_array_equal(w.transitions, [b, b])
    assert nominal_bank(b, "threshold").n_codes == 4 and w.n_codes == 4


@pytest.mark.parametrize("d", [-1.5, -0.5, 0.0, 0.5, 1.5])
def test_gap_and_overlap_rate_at_boundary(d):
    # Boundary b with copies u = b + e1 (upper of cell k), l = b + e2 (lower of k+1),
    # e1, e2 ~ N(0, s) independent. At x = b + d*s: gap iff u <= x < l and overlap iff
    # l <= x < u, each with probability Phi(d) * (1 - Phi(d)). Neighbouring boundaries
    # are 6.25 s away and do not contribute at this precision.
    n = 20000
    bank = realise(quantize.uniform(4, (0.0, 1.0)).boundaries, "window", (0.0, 1.0),
                   np.random.default_rng(10), sigma_pct=1.0, bank_shape=(n,))
    hot = bank.match(np.full(n, 0.5 + d * 0.01)).sum(axis=-1)
    p = float(phi(d) * (1 - phi(d)))
    tol = 5 * math.sqrt(p * (1 - p) / n)
    assert abs(np.mean(hot == 0) - p) < tol
    assert abs(np.mean(hot == 2) - p) < tol
    assert not np.any(hot > 2)


def test_zero_hot_rate_over_full_scale():
    # Gap length at one boundary = max(0, e2 - e1) with e2 - e1 ~ N(0, 2 s^2), so its
    # mean is s / sqrt(pi); uniform inputs see zero-hot with probability
    # (K - 1) s / (sqrt(pi) * full scale), and two-hot with the same probability.
    n_chips, s = 400, 0.01
    bank = realise(quantize.uniform(4, (0.0, 1.0)).boundaries, "window", (0.0, 1.0),
                   np.random.default_rng(11), sigma_pct=100 * s, bank_shape=(n_chips,))
    x = (np.arange(4000) + 0.5) / 4000
    hot = bank.match(x[:, None]).sum(axis=-1)
    expected = 15 * s / math.sqrt(math.pi)
    for rate in (np.mean(hot == 0, axis=0), np.mean(hot == 2, axis=0)):
        assert abs(rate.mean() - expected) < 5 * rate.std() / math.sqrt(n_chips)


def test_threshold_reorder_rate():
    # Two thresholds 2h apart, x in the middle: the vector has a 0 below a 1 iff the
    # lower threshold rose above x and the upper fell to or below it:
    # (1 - Phi(h/s))^2. The outer thresholds are 29 s away.
    n, s = 40000, 0.01
    bank = realise([0.2, 0.49, 0.51, 0.8], "threshold", (0.0, 1.0),
                   np.random.default_rng(12), sigma_pct=100 * s, bank_shape=(n,))
    m = bank.match(np.full(n, 0.5))
    rate = np.mean(np.any(~m[:, :-1] & m[:, 1:], axis=-1))
    p = float((1 - phi(1.0)) ** 2)
    assert abs(rate - p) < 5 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("encoding", ["window", "threshold"])
def test_realised_sigma_matches_sigma_pct(encoding):
    n, fs, pct = 20000, (-2.0, 2.0), 0.5
    b = quantize.uniform(3, fs).boundaries
    bank = realise(b, encoding, fs, np.random.default_rng(3), sigma_pct=pct, bank_shape=(n,))
    copies = [bank.thresholds] if encoding == "threshold" \
        else [bank.upper[:, :-1], bank.lower[:, 1:]]
    s = pct / 100 * (fs[1] - fs[0])
    for c in copies:
        err = c - b
        # Sample sigma of n normals: relative standard error 1/sqrt(2n).
        np.testing.assert_allclose(err.std(axis=0), s, rtol=5 / math.sqrt(2 * n))
        assert np.all(np.abs(err.mean(axis=0)) < 5 * s / math.sqrt(n))
    if encoding == "window":
        # The two copies of a boundary are independent.
        r = np.corrcoef(copies[0][:, 3], copies[1][:, 3])[0, 1]
        assert abs(r) < 5 / math.sqrt(n)


def test_conductance_map_is_linear():
    g = ConductanceMap(100.0, 400.0, (-1.0, 2.0))
    np.testing.assert_allclose(g.to_bound([100.0, 250.0, 400.0]), [-1.0, 0.5, 2.0])
    v = np.linspace(-1, 2, 7)
    np.testing.assert_allclose(g.to_bound(g.to_conductance(v)), v)
    # 3 uS of a 300 uS window is 1 % of a 3-wide full scale.
    np.testing.assert_allclose(g.bound_sigma(3.0), 0.03)


def test_conductance_route_matches_fig3c():
    csv = np.genfromtxt(DATA / "fig3c_variation.csv", delimiter=",", skip_header=1)
    g_map = ConductanceMap(100.0, 400.0, (0.0, 1.0))
    b = quantize.uniform(4, (0.0, 1.0)).boundaries
    # The bound's target conductance and its measured programming sigma (fig. 3c,
    # linear interpolation between the measured targets), in % of the full scale.
    expected = np.interp(100.0 + 300.0 * b, csv[:, 0], csv[:, 1]) / 300.0
    assert np.all((expected >= 0.008) & (expected <= 0.010))
    n = 20000
    for sigma in (presets.READC_FIG3C_PROGRAM, "readc-fig3c"):
        bank = realise(b, "threshold", (0.0, 1.0), np.random.default_rng(4), g_map=g_map,
                       program_sigma=sigma, bank_shape=(n,))
        np.testing.assert_allclose((bank.thresholds - b).std(axis=0), expected,
                                   rtol=5 / math.sqrt(2 * n))


def test_constant_program_sigma_adds_to_sigma_pct():
    n = 20000
    g_map = ConductanceMap(100.0, 400.0, (0.0, 1.0))
    b = quantize.uniform(2, (0.0, 1.0)).boundaries
    bank = realise(b, "threshold", (0.0, 1.0), np.random.default_rng(6), sigma_pct=0.4,
                   g_map=g_map, program_sigma=0.9, bank_shape=(n,))
    # 0.9 uS / 300 uS = 0.3 % of the full scale, independent of the 0.4 %: 0.5 %.
    np.testing.assert_allclose((bank.thresholds - b).std(axis=0), 0.005,
                               rtol=5 / math.sqrt(2 * n))


def test_reproducible_with_seed():
    b = quantize.uniform(3, (0.0, 1.0)).boundaries

    def chip(seed, shape=()):
        return realise(b, "window", (0.0, 1.0), np.random.default_rng(seed), sigma_pct=1.0,
                       bank_shape=shape)

    np.testing.assert_array_equal(chip(7).lower, chip(7).lower)
    np.testing.assert_array_equal(chip(7).upper, chip(7).upper)
    assert not np.array_equal(chip(7).upper, chip(8).upper)
    np.testing.assert_array_equal(chip(7, (4,)).upper[0], chip(7).upper)


def test_zero_variation_is_nominal():
    b = quantize.uniform(3, (0.0, 1.0)).boundaries
    for enc in ("window", "threshold"):
        got = realise(b, enc, (0.0, 1.0), np.random.default_rng(0), bank_shape=(2,))
        want = nominal_bank(b, enc, bank_shape=(2,))
        x = np.linspace(-0.1, 1.1, 301)[:, None]
        np.testing.assert_array_equal(got.match(x), want.match(x))


def test_bank_bounds_are_read_only():
    bank = nominal_bank([0.5], "window")
    with pytest.raises(ValueError):
        bank.lower[0] = 0.0


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"encoding": "flash"}, "encoding"),
    ({"boundaries": [0.5, 0.2]}, "boundaries"),
    ({"full_scale": (1.0, 0.0)}, "full_scale"),
    ({"sigma_pct": -1.0}, "sigma_pct"),
    ({"rng": 0}, "rng"),
    ({"bank_shape": (-1,)}, "bank_shape"),
    ({"program_sigma": 2.0}, "program_sigma"),
    ({"g_map": ConductanceMap(100.0, 400.0, (0.0, 2.0)), "program_sigma": 2.0},
     "g_map.full_scale"),
    ({"g_map": ConductanceMap(100.0, 400.0, (0.0, 1.0))}, "program_sigma"),
    ({"g_map": ConductanceMap(100.0, 400.0, (0.0, 1.0)), "program_sigma": "fig9"},
     "program_sigma"),
])
def test_realise_rejects(kwargs, name):
    args = {"boundaries": [0.25, 0.5, 0.75], "encoding": "window", "full_scale": (0.0, 1.0),
            "rng": np.random.default_rng(0)}
    args.update(kwargs)
    pos = [args.pop(k) for k in ("boundaries", "encoding", "full_scale", "rng")]
    with pytest.raises(ValueError, match=name):
        realise(*pos, **args)


@pytest.mark.parametrize(("args", "name"), [
    ((0.0, 400.0, (0.0, 1.0)), "g_min_us"),
    ((400.0, 100.0, (0.0, 1.0)), "g_max_us"),
    ((100.0, 400.0, (0.0, np.nan)), "full_scale"),
])
def test_conductance_map_rejects(args, name):
    with pytest.raises(ValueError, match=name):
        ConductanceMap(*args)


def test_bank_rejects():
    with pytest.raises(ValueError, match="encoding"):
        QCellBank("window", thresholds=[0.5])
    with pytest.raises(ValueError, match="shape"):
        QCellBank("window", lower=[-np.inf, 0.5], upper=[0.5, 1.0, np.inf])
    with pytest.raises(ValueError, match="n_codes"):
        _ = QCellBank("threshold", thresholds=[0.1, 0.2]).bits


def test_window_guard_band_keeps_codes_exact_without_variation():
    q = quantize.uniform(4, (0.0, 1.0))
    bank = realise(q.boundaries, "window", (0.0, 1.0), np.random.default_rng(0), guard_pct=2.0)
    x = np.linspace(-0.1, 1.1, 20001)
    codes, flags = digital.decode(bank.match(x), "window")
    np.testing.assert_array_equal(codes, q.quantize(x)[0])
    assert not np.any(flags & digital.FLAG_ZERO_HOT)
    # Inside a guard band two windows match on purpose; the decoder corrects it.
    in_guard = np.any((x[:, None] >= q.boundaries - 0.02) & (x[:, None] < q.boundaries), axis=1)
    np.testing.assert_array_equal((flags & digital.FLAG_MULTI_HOT) != 0, in_guard)


def test_window_guard_band_turns_gaps_into_corrected_overlaps():
    fs = (0.0, 1.0)
    q = quantize.uniform(4, fs)
    sigma_pct = 0.5
    x = np.random.default_rng(1).uniform(0.0, 1.0, 20000)
    rates = {}
    for guard in (0.0, 4 * np.sqrt(2) * sigma_pct):
        bank = realise(q.boundaries, "window", fs, np.random.default_rng(2),
                       sigma_pct=sigma_pct, bank_shape=(64,), guard_pct=guard)
        codes, flags = digital.decode(bank.match(x[:, None]), "window")
        rates[guard] = float(np.mean(flags & digital.FLAG_ZERO_HOT != 0))
        if guard:
            err = np.abs(codes.astype(int) - q.quantize(x)[0][:, None])
            # Transitions are the upper bounds alone: within one code of nominal.
            assert err.max() <= 1
    # Without guard: expected gap rate (K-1) * s / sqrt(pi) over a unit full scale.
    s = sigma_pct / 100
    assert rates[0.0] == pytest.approx(15 * s / np.sqrt(np.pi), rel=0.15)
    assert rates[4 * np.sqrt(2) * sigma_pct] < 1e-3


def test_guard_pct_validated():
    with pytest.raises(ValueError, match=r"guard_pct = -1: must be a number in \[0, 100\]"):
        realise([0.5], "window", (0.0, 1.0), np.random.default_rng(0), guard_pct=-1)


def test_targets_clip_to_the_device_window_and_keep_the_rails():
    gm = ConductanceMap(100.0, 400.0, (0.0, 30.0))
    t = gm.targets([-np.inf, -3.0, 0.0, 15.0, 31.0, np.inf], "none")
    np.testing.assert_array_equal(t["g_us"], [100.0, 100.0, 100.0, 250.0, 400.0, 400.0])
    np.testing.assert_array_equal(t["clipped"], [0, -1, 0, 0, 1, 0])
    np.testing.assert_array_equal(t["rail"], [True, False, False, False, False, True])
    t = gm.targets([15.0], 3.0, sigma_pct=1.0)
    np.testing.assert_allclose(t["sigma_bound"], [np.hypot(0.3, 3.0 * gm.gain)])


def test_program_sigma_presets():
    g = np.array([100.0, 175.0, 400.0])
    np.testing.assert_array_equal(presets.program_sigma_us("readc-fig3c", g),
                                  presets.READC_FIG3C_PROGRAM(g))
    np.testing.assert_array_equal(presets.program_sigma_us("none", g), np.zeros(3))
    np.testing.assert_array_equal(presets.program_sigma_us(2.5, g), np.full(3, 2.5))
    with pytest.raises(ValueError, match="program_sigma = 'fig9': must be 'readc-fig3c'"):
        presets.program_sigma_us("fig9", g)
    with pytest.raises(ValueError, match="must give a finite sigma >= 0"):
        presets.program_sigma_us(lambda g: -g, g)
