"""Tests of golden.quantize: conventions, validation, and optimality against independent
references (published Gaussian optimum, numeric integration, brute force, the ReADC paper's
Fig. 5 figures)."""

import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from golden import quantize as q

DATA = Path(__file__).parent.parent / "data"

# Max (1960), minimum mean squared error of the optimum quantiser for the unit Gaussian.
MAX_1960 = {1: 0.3634, 2: 0.1175, 3: 0.03454, 4: 0.009497, 5: 0.002499}

_erf = np.frompyfunc(math.erf, 1, 1)


def _gaussian_optimum(n_levels: int) -> float:
    """Optimum quantiser distortion of N(0, 1) by Lloyd's iteration on the density itself.

    Closed-form cell moments: P(a<x<b) = Phi(b) - Phi(a), int x phi = phi(a) - phi(b),
    int x^2 phi = Phi(b) - Phi(a) - (b phi(b) - a phi(a)); iterate until the levels move
    by less than 1e-13.
    """
    lv = np.linspace(-2.5, 2.5, n_levels) if n_levels > 1 else np.zeros(1)
    for _ in range(100_000):
        b = np.concatenate(([-np.inf], 0.5 * (lv[:-1] + lv[1:]), [np.inf]))
        cdf = 0.5 * (1.0 + _erf(b / math.sqrt(2.0)).astype(np.float64))
        pdf = np.exp(-0.5 * b * b) / math.sqrt(2.0 * math.pi)
        bpdf = np.zeros_like(b)
        bpdf[1:-1] = b[1:-1] * pdf[1:-1]
        p, m1, m2 = np.diff(cdf), -np.diff(pdf), np.diff(cdf) - np.diff(bpdf)
        new = m1 / p
        done = np.max(np.abs(new - lv)) < 1e-13
        lv = new
        if done:
            break
    return float(np.sum(m2 - m1 * m1 / p))


def _mse(quant: q.Quantizer, x: np.ndarray) -> float:
    return float(np.mean((x - quant.quantize(x)[1]) ** 2))


def _brute_force_mse(x: np.ndarray, k: int) -> float:
    """Least MSE over every split of the sorted data into k contiguous non-empty runs."""
    xs = np.sort(x)
    best = np.inf
    for cuts in itertools.combinations(range(1, xs.size), k - 1):
        runs = np.split(xs, cuts)
        best = min(best, sum(float(np.sum((r - r.mean()) ** 2)) for r in runs))
    return best / xs.size


@pytest.fixture(scope="module")
def gauss():
    return np.random.default_rng(20250101).standard_normal(1_000_000)


@pytest.fixture(scope="module")
def fig5a():
    x = np.loadtxt(DATA / "fig5a_original_data.csv", skiprows=1, dtype=np.float64)
    assert x.shape == (4000,)
    return x


# --- the published Gaussian optimum ---------------------------------------------------


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5])
def test_max_table_matches_numeric_integration(bits):
    assert _gaussian_optimum(1 << bits) == pytest.approx(MAX_1960[bits], rel=5e-3)


@pytest.mark.parametrize("method", ["lloyd-max", "optimal"])
def test_gaussian_reaches_max_optimum(gauss, method):
    for bits in range(1, 6):
        quant = q.design(method, gauss, bits)
        assert _mse(quant, gauss) == pytest.approx(MAX_1960[bits], rel=5e-3), bits


def test_gaussian_optimal_levels_symmetric(gauss):
    # The unit Gaussian's optimum is symmetric; 1e6 samples reproduce it to ~1e-2.
    quant = q.optimal(gauss, 3)
    np.testing.assert_allclose(quant.levels, -quant.levels[::-1], atol=0.02)


# --- optimal vs Lloyd-Max ---------------------------------------------------------------


DISTRIBUTIONS = ["laplace", "exponential", "uniform", "mixture", "integers", "student"]


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_optimal_never_worse_than_lloyd_max(name):
    rng = np.random.default_rng(DISTRIBUTIONS.index(name))
    x = {
        "laplace": lambda: rng.laplace(size=20_000),
        "exponential": lambda: rng.exponential(size=20_000),
        "uniform": lambda: rng.uniform(-1, 3, size=20_000),
        "mixture": lambda: np.concatenate(
            (rng.normal(0, 1, 15_000), rng.normal(6, 0.3, 5_000))
        ),
        "integers": lambda: rng.binomial(400, 0.3, size=20_000).astype(np.float64),
        "student": lambda: rng.standard_t(3, size=20_000),
    }[name]()
    for k in (2, 3, 7, 8, 16, 31):
        lm = _mse(q.lloyd_max(x, None, n_levels=k), x)
        op = _mse(q.optimal(x, None, n_levels=k), x)
        assert op <= lm * (1 + 1e-12), (name, k)


def test_optimal_escapes_lloyd_max_local_optimum():
    # Two modes: a heavy narrow one U[0, 1] (97 %) and a light wide one U[3, 15] (3 %),
    # 5 levels. The uniform start (cells of width 3 over [0, 15]) gives the narrow mode one
    # level and the wide one four; that partition is already a Lloyd fixed point (the gap
    # keeps the modes apart). An allocation of (a, b) levels costs
    # 0.97 (1/a)^2/12 + 0.03 (12/b)^2/12 (uniform densities); the optimum is (2, 3), 42 %
    # below Lloyd's (1, 4).
    rng = np.random.default_rng(5)
    x = np.concatenate((rng.uniform(0, 1, 194_000), rng.uniform(3, 15, 6_000)))
    alloc = {a: (0.97 / a**2 + 0.03 * (12 / (5 - a)) ** 2) / 12 for a in range(1, 5)}
    assert min(alloc, key=alloc.get) == 2
    lm_q = q.lloyd_max(x, None, n_levels=5)
    op_q = q.optimal(x, None, n_levels=5)
    lm, op = _mse(lm_q, x), _mse(op_q, x)
    assert np.count_nonzero(lm_q.levels < 2) == 1
    assert np.count_nonzero(op_q.levels < 2) == 2
    assert lm == pytest.approx(alloc[1], rel=0.02)
    assert op == pytest.approx(alloc[2], rel=0.02)
    assert lm > 1.6 * op


@pytest.mark.parametrize("seed", range(4))
def test_optimal_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=12) * (1 + 3 * (rng.random(12) < 0.3)), 1)
    for k in (2, 3, 4):
        if np.unique(x).size < k:
            continue
        assert _mse(q.optimal(x, None, n_levels=k), x) == pytest.approx(
            _brute_force_mse(x, k), rel=1e-9, abs=1e-12
        )


def test_optimal_grid_path_equals_brute_force():
    # max_exact=1 forces the grouped (grid) path; with bins >= the number of distinct
    # values the rank cuts separate every value, so it must still be exact.
    rng = np.random.default_rng(11)
    x = np.concatenate((rng.normal(0, 1, 20), rng.normal(8, 0.2, 6)))
    expect = _brute_force_mse(x, 3)
    got = _mse(q.optimal(x, None, n_levels=3, max_exact=1, bins=64), x)
    assert got == pytest.approx(expect, rel=1e-9)


def test_optimal_grid_path_close_to_exact():
    # 20 000 distinct values: the default takes the grid path; max_exact above that
    # solves the same problem exactly. The grid optimum plus polish may only be worse,
    # and by little (skewed data, where Lloyd-Max from a uniform start is far off).
    x = np.random.default_rng(3).gamma(2.0, 1.0, 20_000)
    exact = _mse(q.optimal(x, 5, max_exact=20_000), x)
    for bins, rel in ((4096, 1e-4), (256, 2e-3)):
        grid = _mse(q.optimal(x, 5, bins=bins), x)
        assert exact <= grid * (1 + 1e-12)
        assert grid <= exact * (1 + rel), bins
    assert _mse(q.lloyd_max(x, 5), x) > 1.2 * exact


# --- the ReADC paper's Fig. 5 example -----------------------------------------------------


def test_fig5a_lloyd_max_matches_paper(fig5a):
    lm = q.lloyd_max(fig5a, 4)
    assert _mse(lm, fig5a) == pytest.approx(2.90, rel=0.01)
    assert _mse(q.optimal(fig5a, 4), fig5a) <= _mse(lm, fig5a)


def test_fig5a_lower_boundaries_match_paper(fig5a):
    # The paper's fig5b adaptive boundaries include min and max. The top cells differ:
    # their quantiser gives inputs at the last boundary an extra output, which moves the
    # top centroid; the lower 12 boundaries are unaffected.
    paper = np.genfromtxt(DATA / "fig5b_quantize_boundaries.csv", delimiter=",", skip_header=1)
    adaptive = paper[:, 1][1:-1]
    ours = q.lloyd_max(fig5a, 4).boundaries
    np.testing.assert_allclose(ours[:12], adaptive[:12], atol=1e-3)


def test_fig5a_uniform_relation_to_paper(fig5a):
    lo, hi = float(fig5a.min()), float(fig5a.max())
    # The paper's uniform quantiser: 16 levels min + k (max-min)/15, nearest level.
    paper_levels = lo + (hi - lo) * np.arange(16) / 15
    nearest = paper_levels[np.abs(fig5a[:, None] - paper_levels).argmin(axis=1)]
    paper_mse = float(np.mean((fig5a - nearest) ** 2))
    assert paper_mse == pytest.approx(7.12, rel=0.01)
    # Ours: 16 equal cells with midpoint levels, LSB (max-min)/16 instead of /15; for
    # data smooth on the scale of a cell, MSE ~ LSB^2/12 scales as (15/16)^2.
    ours = _mse(q.uniform(4, (lo, hi)), fig5a)
    assert ours == pytest.approx(paper_mse * (15 / 16) ** 2, rel=0.03)


@pytest.mark.parametrize("bits", [3, 4, 5, 6])
def test_fig5a_adaptive_beats_uniform(fig5a, bits):
    uni = _mse(q.design("uniform", fig5a, bits), fig5a)
    lm = _mse(q.design("lloyd-max", fig5a, bits), fig5a)
    op = _mse(q.design("optimal", fig5a, bits), fig5a)
    assert lm < uni
    assert op <= lm
    assert uni / lm > 1.4  # the paper's 4-bit factor is 7.12 / 2.90 = 2.46


# --- Lloyd-Max ------------------------------------------------------------------------------


def test_lloyd_max_fixed_point_conditions():
    rng = np.random.default_rng(2)
    x = rng.laplace(size=30_000)
    quant = q.lloyd_max(x, 3, tol=0.0)
    np.testing.assert_allclose(
        quant.boundaries, 0.5 * (quant.levels[:-1] + quant.levels[1:]), rtol=0, atol=1e-12
    )
    codes = np.searchsorted(quant.boundaries, x, side="right")
    centroids = np.array([x[codes == k].mean() for k in range(8)])
    np.testing.assert_allclose(quant.levels, centroids, rtol=0, atol=1e-9)


def test_lloyd_max_reseeds_empty_cells():
    # Uniform start over [0, 10] with 3 levels leaves the middle cell empty; re-seeding
    # splits the {0, 1} cell, so every cluster gets its own level.
    rng = np.random.default_rng(4)
    x = np.concatenate([c + 0.01 * rng.standard_normal(1000) for c in (0.0, 1.0, 10.0)])
    quant = q.lloyd_max(x, None, n_levels=3)
    np.testing.assert_allclose(quant.levels, [0, 1, 10], atol=0.01)


def test_lloyd_max_init_options():
    rng = np.random.default_rng(8)
    x = rng.normal(size=10_000)
    a = q.lloyd_max(x, 2, init="quantile", tol=0.0)
    b = q.lloyd_max(x, 2, init=[-1.5, -0.5, 0.5, 1.5], tol=0.0)
    np.testing.assert_allclose(a.levels, b.levels, atol=1e-6)
    with pytest.raises(ValueError, match=r"init = 'median': must be 'uniform', 'quantile'"):
        q.lloyd_max(x, 2, init="median")
    with pytest.raises(ValueError, match=r"init = .*4 finite, strictly increasing levels"):
        q.lloyd_max(x, 2, init=[0.0, 1.0, 1.0, 2.0])


def test_exactly_n_distinct_values_gives_zero_error():
    x = np.repeat([-3.0, 0.5, 2.0, 7.0, 7.5], [10, 1, 30, 2, 5])
    for method in ("lloyd-max", "optimal"):
        quant = q.design(method, x, None, n_levels=5)
        np.testing.assert_array_equal(quant.levels, [-3.0, 0.5, 2.0, 7.0, 7.5])
        assert _mse(quant, x) == 0.0


def test_one_level_is_the_mean():
    x = np.array([1.0, 2.0, 6.0])
    for method in ("lloyd-max", "optimal"):
        quant = q.design(method, x, None, n_levels=1)
        assert quant.boundaries.shape == (0,)
        assert quant.levels == pytest.approx([3.0])


def test_samples_are_clipped_to_full_scale():
    rng = np.random.default_rng(9)
    x = rng.normal(size=5000)
    fs = (-1.0, 1.5)
    for method in ("lloyd-max", "optimal"):
        a = q.design(method, x, 3, full_scale=fs)
        b = q.design(method, np.clip(x, *fs), 3)
        assert a.full_scale == fs
        np.testing.assert_allclose(a.levels, b.levels, rtol=0, atol=1e-12)
        assert fs[0] <= a.levels[0] and a.levels[-1] <= fs[1]


@pytest.mark.parametrize("method", ["uniform", "lloyd-max", "optimal"])
@pytest.mark.parametrize("n_levels", [3, 31, 511])
def test_non_power_of_two_levels(method, n_levels):
    x = np.random.default_rng(n_levels).exponential(size=4000)
    quant = q.design(method, x, None, n_levels=n_levels)
    lo, hi = quant.full_scale
    assert quant.n_levels == n_levels
    assert np.all(np.diff(quant.boundaries) > 0)
    assert lo < quant.boundaries[0] and quant.boundaries[-1] < hi
    edges = np.concatenate(([lo], quant.boundaries, [hi]))
    assert np.all((edges[:-1] <= quant.levels) & (quant.levels <= edges[1:]))
    with pytest.raises(ValueError, match=rf"n_levels = {n_levels}: bits is defined only"):
        _ = quant.bits


def test_results_are_deterministic():
    x = np.random.default_rng(1).normal(size=20_000)
    assert q.lloyd_max(x, 4) == q.lloyd_max(x.copy(), 4)
    assert q.optimal(x, 4) == q.optimal(x[::-1], 4)


# --- uniform and the Quantizer object ------------------------------------------------------


def test_uniform_closed_form():
    quant = q.uniform(2, (-1.0, 3.0))
    np.testing.assert_array_equal(quant.boundaries, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(quant.levels, [-0.5, 0.5, 1.5, 2.5])
    assert quant.bits == 2 and quant.n_levels == 4 and quant.method == "uniform"
    three = q.uniform(7, (0.0, 3.0), n_levels=3)
    np.testing.assert_array_equal(three.boundaries, [1.0, 2.0])
    np.testing.assert_array_equal(three.levels, [0.5, 1.5, 2.5])


def test_quantizer_is_frozen_and_read_only():
    quant = q.uniform(2, (0.0, 1.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        quant.levels = np.zeros(4)  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        quant.levels[0] = 5.0
    assert quant == q.uniform(2, (0.0, 1.0))
    assert hash(quant) == hash(q.uniform(2, (0.0, 1.0)))
    assert quant != q.uniform(2, (0.0, 2.0))
    assert quant.to_dict() == {
        "method": "uniform",
        "full_scale": [0.0, 1.0],
        "boundaries": [0.25, 0.5, 0.75],
        "levels": [0.125, 0.375, 0.625, 0.875],
    }


def test_quantizer_validation():
    fs = (0.0, 4.0)
    with pytest.raises(ValueError, match=r"boundaries = \[1.0, 1.0\]: must be strictly incr"):
        q.Quantizer([1.0, 1.0], [0.5, 1.0, 3.0], fs, "x")
    with pytest.raises(ValueError, match=r"strictly inside full_scale = \(0.0, 4.0\)"):
        q.Quantizer([0.0, 2.0], [0.0, 1.0, 3.0], fs, "x")
    with pytest.raises(ValueError, match=r"strictly inside full_scale"):
        q.Quantizer([1.0, 4.0], [0.5, 2.0, 4.0], fs, "x")
    with pytest.raises(ValueError, match=r"levels\[1\] = 2.5: must lie in its cell \[1.0, 2.0\]"):
        q.Quantizer([1.0, 2.0], [0.5, 2.5, 3.0], fs, "x")
    with pytest.raises(ValueError, match=r"boundaries = .*must be 1-D with len\(levels\) - 1 = 2"):
        q.Quantizer([1.0], [0.5, 1.5, 3.0], fs, "x")
    with pytest.raises(ValueError, match=r"full_scale = \(1.0, 1.0\): must be a pair"):
        q.Quantizer([], [1.0], (1.0, 1.0), "x")


# --- quantize ---------------------------------------------------------------------------


def test_quantize_value_on_boundary_goes_up():
    b = np.array([-1.0, 0.0, 2.5])
    lv = np.array([-2.0, -0.5, 1.0, 3.0])
    codes, values = q.quantize(b, b, lv)
    np.testing.assert_array_equal(codes, [1, 2, 3])
    np.testing.assert_array_equal(values, lv[1:])
    below = np.nextafter(b, -np.inf)
    np.testing.assert_array_equal(q.quantize(below, b, lv)[0], [0, 1, 2])


def test_quantize_clips_out_of_range():
    quant = q.uniform(3, (0.0, 8.0))
    codes, values = quant.quantize([-1e9, -np.inf, -0.0, 8.0, 9.5, np.inf])
    np.testing.assert_array_equal(codes, [0, 0, 0, 7, 7, 7])
    np.testing.assert_array_equal(values, [0.5, 0.5, 0.5, 7.5, 7.5, 7.5])
    assert codes.dtype == np.int64 and values.dtype == np.float64


def test_quantize_exactly_k_codes_and_monotone():
    quant = q.uniform(None, (-1.0, 1.0), n_levels=7)
    x = np.linspace(-3, 3, 100_001)
    codes, values = quant.quantize(x)
    np.testing.assert_array_equal(np.unique(codes), np.arange(7))
    assert np.all(np.diff(codes) >= 0) and np.all(np.diff(values) >= 0)


def test_quantize_keeps_shape_and_matches_nearest_level():
    rng = np.random.default_rng(6)
    quant = q.lloyd_max(rng.normal(size=5000), 3)
    x = rng.normal(size=(4, 50, 3))
    codes, values = quant.quantize(x)
    assert codes.shape == x.shape and values.shape == x.shape
    # With midpoint boundaries, the code is the nearest level (ties have measure zero).
    nearest = np.abs(x[..., None] - quant.levels).argmin(axis=-1)
    np.testing.assert_array_equal(codes, nearest)


def test_quantize_single_level():
    codes, values = q.quantize([-5.0, 0.0, 5.0], [], [1.0])
    np.testing.assert_array_equal(codes, [0, 0, 0])
    np.testing.assert_array_equal(values, [1.0, 1.0, 1.0])


def test_quantize_errors():
    b, lv = [0.0, 1.0], [-1.0, 0.5, 2.0]
    with pytest.raises(ValueError, match=r"x = .*must not contain NaN"):
        q.quantize([0.0, np.nan], b, lv)
    with pytest.raises(ValueError, match=r"x = .*must be real numbers"):
        q.quantize(["a"], b, lv)
    with pytest.raises(ValueError, match=r"boundaries = .*finite and strictly increasing"):
        q.quantize([0.0], [1.0, 0.0], lv)
    with pytest.raises(ValueError, match=r"boundaries = .*len\(levels\) - 1 = 2 entries"):
        q.quantize([0.0], [0.0], lv)
    with pytest.raises(ValueError, match=r"levels = .*at least one entry"):
        q.quantize([0.0], [], [])


# --- parameter validation -----------------------------------------------------------------


@pytest.mark.parametrize("bits", [0, 9, 2.0, True, None])
def test_bits_out_of_range(bits):
    with pytest.raises(ValueError, match=rf"bits = {bits!r}: must be an integer in 1\.\.8"):
        q.uniform(bits, (0.0, 1.0))


@pytest.mark.parametrize("n_levels", [0, -3, 65537, 2.5])
def test_n_levels_out_of_range(n_levels):
    with pytest.raises(ValueError, match=rf"n_levels = {n_levels!r}: must be an integer in 1\.\."):
        q.lloyd_max([0.0, 1.0, 2.0], 2, n_levels=n_levels)


@pytest.mark.parametrize("full_scale", [(1.0, 0.0), (0.0, np.inf), (0.0,), "ab", None])
def test_bad_full_scale(full_scale):
    with pytest.raises(ValueError, match=r"full_scale = .*: must be a pair \(lo, hi\)"):
        q.uniform(2, full_scale)


def test_sample_errors():
    with pytest.raises(ValueError, match=r"samples = .*must be finite \(1 NaN or infinite"):
        q.lloyd_max([0.0, 1.0, np.nan, 3.0], 1)
    with pytest.raises(ValueError, match=r"samples: 3 distinct values .*need at least n_lev"):
        q.optimal([0.0, 1.0, 1.0, 2.0], 2)
    with pytest.raises(ValueError, match=r"samples: all 3 values equal 2.0; give full_scale"):
        q.design("uniform", [2.0, 2.0, 2.0], 2)
    with pytest.raises(ValueError, match=r"samples = array\(shape=\(0,\)\)"):
        q.lloyd_max([], 1)
    with pytest.raises(ValueError, match=r"samples: 1 distinct values \(after clipping"):
        q.lloyd_max([5.0, 6.0, 7.0], 1, full_scale=(0.0, 1.0))


def test_design_and_option_errors():
    x = np.arange(10.0)
    with pytest.raises(ValueError, match=r"method = 'kmeans': must be one of 'uniform', 'll"):
        q.design("kmeans", x, 2)
    with pytest.raises(ValueError, match=r"tol = -1.0: must be a number in \[0, 1\)"):
        q.lloyd_max(x, 2, tol=-1.0)
    with pytest.raises(ValueError, match=r"max_iter = 0: must be an integer >= 1"):
        q.optimal(x, 2, max_iter=0)
    with pytest.raises(ValueError, match=r"bins = 1: must be an integer >= 2"):
        q.optimal(x, 2, bins=1)
    with pytest.raises(ValueError, match=r"max_exact = 0: must be an integer >= 1"):
        q.optimal(x, 2, max_exact=0)
