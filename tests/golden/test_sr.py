"""Tests of golden.sr: the ReADC rule, centroid tables, interleaved pairs and the
interleaved-SR advantage under bound variation (Gaussian and the fig. 1a layers)."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from golden import digital, quantize, sr
from golden.qcell import nominal_bank, realise

DATA = Path(__file__).parent.parent / "data"
FS = (-4.0, 4.0)


def gaussian(seed, n=10000):
    return np.clip(np.random.default_rng(seed).standard_normal(n), *FS)


@cache
def designs(bits):
    """Interleaved pair and the fine optimal quantiser on the same Gaussian data."""
    x = gaussian(6)
    fine = quantize.optimal(x, bits + 1, n_levels=2 ** (bits + 1) - 1, full_scale=FS)
    return x, sr.interleaved_pair(x, bits, FS), fine


def realised_codes(x, boundaries, encoding, sigma_pct, rng, bank_shape=()):
    bank = realise(boundaries, encoding, FS, rng, sigma_pct=sigma_pct, bank_shape=bank_shape)
    return digital.decode(bank.match(x), encoding)[0].astype(np.int64)


def test_nominal_table_layout():
    q = quantize.Quantizer([0.0, 1.0, 2.0], [-0.5, 0.4, 1.6, 2.5], (-1.0, 3.0), "hand")
    np.testing.assert_array_equal(sr.nominal_table(q), [-0.5, 0.0, 0.4, 1.0, 1.6, 2.0, 2.5])


@pytest.mark.parametrize("encoding", ["window", "threshold"])
def test_nominal_sr_follows_readc_rule(encoding):
    x = gaussian(1, 20000)
    q = quantize.lloyd_max(x, 3, full_scale=FS)
    rng = np.random.default_rng(2)
    bank_a = realise(q.boundaries, encoding, FS, rng, sigma_pct=1.0)
    bank_b = realise(q.boundaries, encoding, FS, rng, sigma_pct=1.0)
    s, values, flags = sr.sr_quantize(x, bank_a, bank_b, sr.nominal_table(q))
    a, fa = digital.decode(bank_a.match(x), encoding)
    b, fb = digital.decode(bank_b.match(x), encoding)
    a, b = a.astype(int), b.astype(int)
    # The rule written out element by element: agree -> level, differ by one -> the
    # boundary between the two cells.
    agree, near = a == b, np.abs(a - b) == 1
    assert agree.mean() > 0.5 and near.any()
    for i in np.flatnonzero(agree | near):
        want = q.levels[a[i]] if a[i] == b[i] else q.boundaries[min(a[i], b[i])]
        assert values[i] == want
    np.testing.assert_array_equal(s, a + b)
    far = np.abs(a - b) > 1
    np.testing.assert_array_equal((flags & digital.FLAG_SR_DISAGREE) != 0, far)
    np.testing.assert_array_equal(flags & ~np.uint8(digital.FLAG_SR_DISAGREE), fa | fb)


def test_calibrated_table_is_centroid_with_fallback():
    rng = np.random.default_rng(3)
    x = rng.normal(size=500)
    codes = rng.integers(0, 6, size=500)
    codes[codes == 4] = 5
    fallback = np.arange(7) * 10.0
    table = sr.calibrated_table(x, codes, 7, fallback)
    for s in range(7):
        want = x[codes == s].mean() if np.any(codes == s) else fallback[s]
        np.testing.assert_allclose(table[s], want, rtol=1e-12)
    assert table[4] == 40.0 and table[6] == 60.0


def test_calibrated_table_batch_equals_per_column():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 1))
    codes = rng.integers(0, 5, size=(300, 3, 2))
    table = sr.calibrated_table(x[:, 0], codes, 5, np.zeros(5))
    assert table.shape == (3, 2, 5)
    for i in range(3):
        for j in range(2):
            np.testing.assert_allclose(
                table[i, j], sr.calibrated_table(x[:, 0], codes[:, i, j], 5, np.zeros(5)))


@pytest.mark.parametrize("encoding", ["window", "threshold"])
def test_calibrated_never_worse_than_nominal(encoding):
    x = gaussian(5)
    q = quantize.lloyd_max(x, 4, full_scale=FS)
    ntab = sr.nominal_table(q)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        for pct in (0.0, 0.25, 0.5, 1.0, 2.0):
            s = realised_codes(x, q.boundaries, encoding, pct, rng) \
                + realised_codes(x, q.boundaries, encoding, pct, rng)
            cal = sr.calibrated_table(x, s, ntab.size, ntab)
            assert np.mean((cal[s] - x) ** 2) <= np.mean((ntab[s] - x) ** 2) * (1 + 1e-12)


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_interleaved_pair_structure(bits):
    x, (qa, qb, table), fine = designs(bits)
    assert qa.n_levels == qb.n_levels == 2**bits and table.size == 2 ** (bits + 1) - 1
    np.testing.assert_array_equal(qa.boundaries, fine.boundaries[0::2])
    np.testing.assert_array_equal(qb.boundaries, fine.boundaries[1::2])
    np.testing.assert_array_equal(table, fine.levels)
    # Each ADC's own levels are the centroids of its cells.
    for q in (qa, qb):
        codes, _ = q.quantize(x)
        for k in (0, q.n_levels // 2, q.n_levels - 1):
            np.testing.assert_allclose(q.levels[k], x[codes == k].mean(), rtol=1e-9)


@pytest.mark.parametrize("encoding", ["window", "threshold"])
@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_interleaved_without_variation_is_the_fine_optimal_quantiser(bits, encoding):
    x, (qa, qb, table), fine = designs(bits)
    _, values, flags = sr.sr_quantize(x, nominal_bank(qa.boundaries, encoding),
                                      nominal_bank(qb.boundaries, encoding), table)
    _, want = fine.quantize(x)
    np.testing.assert_array_equal(values, want)
    assert np.mean((values - x) ** 2) == np.mean((want - x) ** 2)
    assert not flags.any()


def fig1a_layers():
    d = np.genfromtxt(DATA / "fig1a.csv", delimiter=",", skip_header=1)
    return [("gaussian", gaussian(8))] + [(f"fig1a-layer{j + 1}", d[:, j]) for j in range(3)]


SIGMAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def test_interleaved_beats_single_lloyd_max_under_variation():
    """Interleaved SR (calibrated table) vs one N-bit Lloyd-Max ADC, both with the same
    bound variation (threshold encoding, ones-counter), N = 3..5, averaged over 6 chips
    per point. The single ADC is given every advantage: nominal or per-chip calibrated
    levels, whichever is better. Prints the curves (run with -s)."""
    rng = np.random.default_rng(9)
    print("\nMSE / MSE(single Lloyd-Max, no variation); sigma in % of full scale")
    print(f"{'data':<14}{'N':>2} {'scheme':<18}" + "".join(f"{s:>7.2f}" for s in SIGMAS))
    for name, x in fig1a_layers():
        for bits in (3, 4, 5):
            c = sr.variation_curve(x, bits, SIGMAS, rng, n_chips=6)
            ref = c["single"][0]
            for key in ("single", "single_calibrated", "sr_calibrated", "interleaved"):
                print(f"{name:<14}{bits:>2} {key:<18}"
                      + "".join(f"{v / ref:7.3f}" for v in c[key]))
            best_single = np.minimum(c["single"], c["single_calibrated"])
            assert np.all(c["interleaved"] < best_single), (name, bits)
            # Without variation nothing is calibrated away: the plain ADC is optimal
            # for its cells and SR of two identical ADCs adds nothing.
            np.testing.assert_allclose(c["single_calibrated"][0], c["single"][0], rtol=1e-9)
            np.testing.assert_allclose(c["sr_nominal"][0], c["single"][0], rtol=1e-9)


def test_sr_values_rejects_code_beyond_table():
    with pytest.raises(ValueError, match="table"):
        sr.sr_values(np.array([3]), np.array([3]), np.zeros(5))


def test_sr_quantize_rejects_mismatched_banks():
    with pytest.raises(ValueError, match="bank_b"):
        sr.sr_quantize(0.0, nominal_bank([0.0], "window"), nominal_bank([0.0], "threshold"),
                       np.zeros(3))


@pytest.mark.parametrize(("args", "name"), [
    ((np.zeros(3), np.array([0, 1, 2]), 0, np.zeros(1)), "n_entries"),
    ((np.zeros(3), np.array([0, 1, 5]), 5, np.zeros(5)), "sr_codes"),
    ((np.zeros(3), np.array([0.0, 1.0, 2.0]), 5, np.zeros(5)), "sr_codes"),
    ((np.zeros(4), np.array([0, 1, 2]), 5, np.zeros(5)), "samples"),
    ((np.zeros(3), np.array([0, 1, 2]), 5, np.zeros(4)), "fallback"),
])
def test_calibrated_table_rejects(args, name):
    with pytest.raises(ValueError, match=name):
        sr.calibrated_table(*args)


def test_interleaved_pair_rejects_bits():
    with pytest.raises(ValueError, match="bits"):
        sr.interleaved_pair(gaussian(0, 100), 0)
