"""Tests of golden.metrics against closed forms."""

import math

import numpy as np
import pytest

from golden import metrics
from golden.quantize import uniform


def test_mse_small_example():
    assert metrics.mse([1.0, 2.0, 4.0], [1.0, 1.0, 1.0]) == pytest.approx((0 + 1 + 9) / 3)
    assert metrics.mse(np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3)) == 0.0


@pytest.mark.parametrize("bits", [2, 4, 6])
def test_uniform_quantiser_on_uniform_data_has_lsb_squared_over_12(bits):
    # Error uniform on [-LSB/2, LSB/2] -> variance LSB^2/12; with n = 1e6 the sample
    # mean of e^2 has relative standard deviation sqrt(4/5)/1e3 ~ 1e-3.
    x = np.random.default_rng(bits).uniform(-2.0, 6.0, 1_000_000)
    lsb = 8.0 / 2**bits
    _, xq = uniform(bits, (-2.0, 6.0)).quantize(x)
    assert metrics.mse(x, xq) == pytest.approx(lsb**2 / 12, rel=5e-3)


@pytest.mark.parametrize("bits", [1, 3, 5, 8])
def test_sqnr_of_full_scale_uniform_data_is_6_02_n(bits):
    # var(x) = FS^2/12 and MSE = (FS/2^N)^2/12, so SQNR = 20 log10(2^N) = 6.0206 N dB.
    x = np.random.default_rng(100 + bits).uniform(0.0, 1.0, 1_000_000)
    _, xq = uniform(bits, (0.0, 1.0)).quantize(x)
    assert metrics.sqnr_db(x, xq) == pytest.approx(20 * math.log10(2**bits), abs=0.03)


def test_sqnr_uses_variance_not_mean_square():
    rng = np.random.default_rng(1)
    x = rng.normal(size=1000)
    err = 0.1 * rng.normal(size=1000)
    base = metrics.sqnr_db(x, x + err)
    assert metrics.sqnr_db(x + 50.0, x + 50.0 + err) == pytest.approx(base, abs=1e-9)
    expect = 10 * math.log10(np.var(x) / np.mean(err**2))
    assert base == pytest.approx(expect, abs=1e-12)


def test_sqnr_perfect_reconstruction_is_inf():
    assert metrics.sqnr_db([0.0, 1.0], [0.0, 1.0]) == math.inf


def test_metric_errors():
    with pytest.raises(ValueError, match=r"xq.shape = \(3,\): must equal x.shape = \(2,\)"):
        metrics.mse([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"xq.shape = \(1, 2\): must equal x.shape = \(2,\)"):
        metrics.sqnr_db([1.0, 2.0], [[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"x.shape = \(0,\): must contain at least one value"):
        metrics.mse([], [])
    with pytest.raises(ValueError, match=r"x and xq must be finite"):
        metrics.mse([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"xq = array\(dtype=<U1\): must be real numbers"):
        metrics.mse([1.0], ["a"])
    with pytest.raises(ValueError, match=r"x: all 3 values equal 2.0; SQNR needs var\(x\) > 0"):
        metrics.sqnr_db([2.0, 2.0, 2.0], [2.0, 2.0, 2.5])
