"""cimgen.tiling: a weight matrix over several macros, ideal limit, calibration reuse."""

import numpy as np
import pytest

from cimgen.tiling import input_tile, run_tiled, tile_grid, weight_tile
from golden.spec import MacroSpec

SPEC = MacroSpec.from_dict({"macro": {"rows": 16, "cols": 4}, "adc": {"bits": 4}})


@pytest.fixture(scope="module")
def operands():
    rng = np.random.default_rng(3)
    w = rng.integers(-8, 8, (37, 10))  # 3 x 3 tiles of 16 x 4, padded at both edges
    x = np.minimum(rng.geometric(0.35, (40, 37)) - 1, 15)
    return w, x


def test_tile_grid_rounds_up():
    assert tile_grid((37, 10), SPEC) == (3, 3)
    assert tile_grid((16, 4), SPEC) == (1, 1)
    assert tile_grid((17, 5), SPEC) == (2, 2)


def test_edge_tiles_are_zero_padded(operands):
    w, x = operands
    wt = weight_tile(w, 2, 2, SPEC)
    assert wt.shape == (16, 4)
    np.testing.assert_array_equal(wt[:5, :2], w[32:, 8:])
    assert not wt[5:].any() and not wt[:, 2:].any()
    xt = input_tile(x, 2, SPEC)
    np.testing.assert_array_equal(xt[:, :5], x[:, 32:])
    assert not xt[:, 5:].any()


def test_ideal_equals_integer_product(operands):
    w, x = operands
    res = run_tiled(SPEC, w, x, ideal=True)
    np.testing.assert_array_equal(res.raw, (x @ w) << SPEC.adc.lut_frac_bits)
    np.testing.assert_array_equal(res.values, x @ w)
    assert res.calibrations == {}


def test_saved_calibrations_reproduce_the_run(operands):
    w, x = operands
    first = run_tiled(SPEC, w, x)
    assert sorted(first.calibrations) == [(r, c) for r in range(3) for c in range(3)]
    again = run_tiled(SPEC, w, x, calibrations=first.calibrations)
    np.testing.assert_array_equal(first.raw, again.raw)
    np.testing.assert_array_equal(first.flags, again.flags)


def test_calibration_depends_only_on_calibration_inputs(operands):
    w, x = operands
    a = run_tiled(SPEC, w, x[:20], calibrate_on=x[20:], calibrate_ids=np.arange(20, 40))
    b = run_tiled(SPEC, w, x, calibrate_on=x[20:], calibrate_ids=np.arange(20, 40))
    for key, cal in a.calibrations.items():
        np.testing.assert_array_equal(cal.lut, b.calibrations[key].lut)
        np.testing.assert_array_equal(cal.boundaries, b.calibrations[key].boundaries)
    # The same vectors with the same read-noise keys give the same outputs in any batch.
    np.testing.assert_array_equal(a.raw, b.raw[:20])


def test_array_ids_are_distinct_per_tile(operands):
    w, x = operands
    res = run_tiled(SPEC, w, x[:4], ideal=True, array_id_base=1000, keep=True)
    ids = {key: mac.array_id for key, mac in res.macros.items()}
    assert ids[(0, 0)] == 1000 and ids[(2, 2)] == 1008
    assert len(set(ids.values())) == 9


def test_missing_tile_in_calibrations(operands):
    w, x = operands
    cals = run_tiled(SPEC, w[:16, :4], x[:, :16]).calibrations
    with pytest.raises(KeyError):
        run_tiled(SPEC, w, x, calibrations=cals)
