"""golden.adc.calibrate_adc: per-method results agree with the building blocks."""

import numpy as np
import pytest

from golden import metrics, quantize, sr
from golden.adc import calibrate_adc


@pytest.fixture(scope="module")
def x():
    rng = np.random.default_rng(5)
    return np.concatenate([rng.normal(0, 1, 6000), rng.exponential(2.0, 2000) + 1])


def test_ideal_results_equal_quantiser_mse(x):
    res = calibrate_adc(x, 4, rng=np.random.default_rng(0))
    assert list(res) == ["uniform", "lloyd-max", "optimal"]
    for m, r in res.items():
        q = quantize.design(m, x, 4)
        assert r.mse == pytest.approx(metrics.mse(x, q.quantize(x)[1]), rel=1e-12)
        assert r.realised_mse == r.mse  # no variation: the Q-cells realise q exactly
        assert r.flag_rate == 0.0
        assert r.sr is None
    assert res["uniform"].mse_rel_uniform == 1.0
    assert res["optimal"].mse <= res["lloyd-max"].mse < res["uniform"].mse


def test_nominal_sr_without_variation_equals_single_adc(x):
    # Two identical ideal ADCs always agree: SR returns the levels (even entries).
    r = calibrate_adc(x, 3, methods=("lloyd-max",), sr_mode="nominal",
                      rng=np.random.default_rng(0))["lloyd-max"]
    assert r.sr.mse == pytest.approx(r.mse, rel=1e-12)
    np.testing.assert_array_equal(r.sr.table, sr.nominal_table(r.quantizer))


def test_interleaved_without_variation_is_the_fine_optimal_quantiser(x):
    r = calibrate_adc(x, 3, methods=("optimal",), sr_mode="interleaved",
                      rng=np.random.default_rng(0))["optimal"]
    fine = quantize.optimal(x, None, n_levels=15)
    assert r.sr.mse == pytest.approx(metrics.mse(x, fine.quantize(x)[1]), rel=1e-12)


def test_window_guard_auto_avoids_gaps(x):
    kw = dict(methods=("lloyd-max",), encoding="window", variation_pct=0.5)
    fragile = calibrate_adc(x, 4, guard_pct=0.0, rng=np.random.default_rng(1), **kw)
    guarded = calibrate_adc(x, 4, guard_pct="auto", rng=np.random.default_rng(1), **kw)
    thresh = calibrate_adc(x, 4, methods=("lloyd-max",), encoding="threshold",
                           variation_pct=0.5, rng=np.random.default_rng(1))
    # Gaps decode to code 0: a large error. The guard band keeps the window ADC within
    # reach of a threshold ADC with the same variation.
    assert fragile["lloyd-max"].realised_mse > 3 * guarded["lloyd-max"].realised_mse
    assert guarded["lloyd-max"].realised_mse < 1.5 * thresh["lloyd-max"].realised_mse


def test_calibrated_sr_beats_single_realised_adc_under_variation(x):
    r = calibrate_adc(x, 3, methods=("lloyd-max",), sr_mode="calibrated", encoding="threshold",
                      variation_pct=1.0, rng=np.random.default_rng(2))["lloyd-max"]
    assert r.sr.mse < r.realised_mse


def test_bad_method_and_mode(x):
    with pytest.raises(ValueError, match="method 'kmeans'"):
        calibrate_adc(x, 3, methods=("kmeans",), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="sr_mode 'double'"):
        calibrate_adc(x, 3, sr_mode="double", rng=np.random.default_rng(0))
