"""Tests of golden/device.py: levels, keyed draws, programming error, stuck cells, drift."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from golden.device import (
    Device,
    keyed_hash,
    keyed_normal,
    keyed_normal_pairs,
    keyed_uniform,
)
from golden.presets import READC_FIG3C_PROGRAM, READC_FIG3D_READ
from golden.spec import MacroSpec

MASK64 = (1 << 64) - 1


def make_spec(cell_bits: int = 2, **device) -> MacroSpec:
    return MacroSpec.from_dict({"macro": {"weight_bits": 8, "cell_bits": cell_bits},
                                "device": device})


def ref_mix(z: int) -> int:
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & MASK64
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def ref_hash(seed: int, *keys: int) -> int:
    h = seed
    for k in keys:
        h = ref_mix((h + (k + 1) * 0x9E3779B97F4A7C15) & MASK64)
    return h


def ks_statistic(z: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance of a sample to N(0, 1)."""
    s = np.sort(z)
    cdf = np.array([NormalDist().cdf(v) for v in s[:: max(1, s.size // 4000)]])
    idx = np.arange(0, s.size, max(1, s.size // 4000))
    return float(np.max(np.maximum(np.abs(cdf - idx / s.size), np.abs(cdf - (idx + 1) / s.size))))


# --- levels -----------------------------------------------------------------------------

@pytest.mark.parametrize("cell_bits", [1, 2, 4])
def test_levels_evenly_spaced_over_window(cell_bits):
    dev = Device(make_spec(cell_bits, g_min_us=50.0, g_max_us=350.0))
    n = 1 << cell_bits
    g = dev.level_to_g(np.arange(n))
    assert g[0] == 50.0 and g[-1] == pytest.approx(350.0, rel=1e-15)
    assert np.allclose(np.diff(g), 300.0 / (n - 1), rtol=1e-12)
    assert dev.delta_g == pytest.approx(300.0 / (n - 1))
    assert np.array_equal(dev.g_to_level(g), np.arange(n))


def test_g_to_level_nearest_and_clipped():
    dev = Device(make_spec(2))  # 100, 200, 300, 400 uS
    g = np.array([0.0, 149.0, 150.0, 249.9, 351.0, 1e4])
    assert dev.g_to_level(g).tolist() == [0, 0, 1, 1, 3, 3]
    assert dev.g_to_level(g).dtype == np.int64


def test_level_out_of_range_is_named():
    dev = Device(make_spec(2))
    with pytest.raises(ValueError, match=r"levels\[1\] = 4: must be in 0\.\.3"):
        dev.level_to_g(np.array([0, 4]))
    with pytest.raises(ValueError, match="levels must be integers"):
        dev.level_to_g(np.array([0.5]))


# --- keyed draws ------------------------------------------------------------------------

def test_keyed_hash_is_splitmix64_stream():
    # splitmix64 seeded with 0: published first outputs
    assert int(keyed_hash(0, 0)) == 0xE220A8397B1DCDAF
    assert int(keyed_hash(0, 1)) == 0x6E789E6AA1B965F4
    keys = [(3, 1, 7, 2), (0, 0, 0, 0), (12345, 4, 2**40, 9)]
    for seed, *k in keys:
        assert int(keyed_hash(seed, *k)) == ref_hash(seed, *k)


def test_keyed_hash_broadcast_equals_elementwise():
    rows = np.arange(5)[:, None]
    cols = np.arange(7)[None, :]
    h = keyed_hash(9, 2, 3, rows, cols)
    assert h.shape == (5, 7) and h.dtype == np.uint64
    for r in range(5):
        for c in range(7):
            assert int(h[r, c]) == ref_hash(9, 2, 3, r, c)
    assert len(np.unique(h)) == h.size


def test_keyed_hash_rejects_negative_or_float_keys():
    with pytest.raises(ValueError, match="must be >= 0"):
        keyed_hash(0, np.array([1, -2]))
    with pytest.raises(ValueError, match="must be integers"):
        keyed_hash(0, np.array([1.5]))
    with pytest.raises(ValueError, match="seed = -1"):
        keyed_hash(-1, 0)


def test_keyed_uniform_range_and_moments():
    u = keyed_uniform(1, 5, np.arange(200_000))
    assert u.min() > 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 0.01 / 12


def test_keyed_normal_is_standard_normal():
    z = keyed_normal(7, 1, 0, np.arange(400)[:, None], np.arange(500)[None, :]).ravel()
    n = z.size
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert abs(z.var() - 1) < 4 * math.sqrt(2 / n)
    p2 = 2 * NormalDist().cdf(-2.0)
    assert abs(np.mean(np.abs(z) > 2) - p2) < 4 * math.sqrt(p2 * (1 - p2) / n)
    assert ks_statistic(z) < 1.63 / math.sqrt(n)
    # neighbouring keys are uncorrelated
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 4 / math.sqrt(n)


def test_keyed_normal_pairs_standard_normal_and_branches_independent():
    z = keyed_normal_pairs(3, 4, 0, np.arange(250)[:, None], np.arange(8)[None, :], n=100)
    assert z.shape == (250, 8, 100) and z.dtype == np.float32
    flat = z.astype(np.float64).ravel()
    n = flat.size
    assert abs(flat.mean()) < 4 / math.sqrt(n)
    assert abs(flat.var() - 1) < 4 * math.sqrt(2 / n)
    assert ks_statistic(flat) < 1.63 / math.sqrt(n)
    cos_branch, sin_branch = z[..., 0::2].ravel(), z[..., 1::2].ravel()
    assert abs(np.corrcoef(cos_branch, sin_branch)[0, 1]) < 4 / math.sqrt(cos_branch.size)
    assert abs(np.corrcoef(cos_branch**2, sin_branch**2)[0, 1]) < 4 / math.sqrt(cos_branch.size)


def test_keyed_normal_pairs_depend_only_on_key():
    full = keyed_normal_pairs(3, 4, 1, np.arange(20)[:, None], np.arange(8)[None, :], n=33)
    part = keyed_normal_pairs(3, 4, 1, np.array([17, 5])[:, None], np.arange(2, 5)[None, :], n=7)
    assert np.array_equal(part, full[[17, 5]][:, 2:5, :7])
    f64 = keyed_normal_pairs(3, 4, 1, np.arange(20)[:, None], np.arange(8)[None, :], n=33,
                             dtype=np.float64)
    assert np.allclose(f64, full, atol=1e-5)


# --- programming error ------------------------------------------------------------------

def test_program_error_follows_readc_fig3c_sigma():
    dev = Device(make_spec(2, program_sigma="readc-fig3c", seed=11))
    levels = np.tile(np.arange(4), (200, 100))  # 5000 cells per level
    cells = dev.program(levels)
    err = cells.g - cells.g_target
    for lv, g in enumerate((100.0, 200.0, 300.0, 400.0)):
        e = err[levels == lv]
        sigma = float(READC_FIG3C_PROGRAM(g))
        assert abs(e.mean()) < 4 * sigma / math.sqrt(e.size)
        assert e.std() / sigma == pytest.approx(1.0, abs=4 * math.sqrt(1 / (2 * e.size)))
    assert np.all(cells.stuck == 0) and cells.drift_factor == 1.0


def test_program_sigma_none_and_constant():
    levels = np.tile(np.arange(4), (100, 100))
    exact = Device(make_spec(2, program_sigma="none")).program(levels)
    assert np.array_equal(exact.g, exact.g_target)
    cells = Device(make_spec(2, program_sigma=5.0)).program(levels)
    err = cells.g - cells.g_target
    assert err.std() == pytest.approx(5.0, rel=4 * math.sqrt(1 / (2 * err.size)))


def test_programmed_conductance_is_never_negative():
    # level 0 = 100 uS with sigma 200 uS: P(G < 0) = Phi(-0.5)
    dev = Device(make_spec(2, program_sigma=200.0))
    cells = dev.program(np.zeros((300, 300), dtype=np.int64))
    assert cells.g.min() == 0.0
    p = NormalDist().cdf(-0.5)
    frac = np.mean(cells.g == 0.0)
    assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / cells.g.size)


def test_static_draws_keyed_by_position():
    dev = Device(make_spec(2, stuck_on_rate=0.1, stuck_off_rate=0.1, seed=4))
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 4, (20, 30))
    whole = dev.program(levels, array_id=2)
    tile = dev.program(levels[5:12, 10:25], array_id=2, row_offset=5, col_offset=10)
    assert np.array_equal(tile.g, whole.g[5:12, 10:25])
    assert np.array_equal(tile.stuck, whole.stuck[5:12, 10:25])
    assert np.array_equal(dev.program(levels, array_id=2).g, whole.g)
    other_array = dev.program(levels, array_id=3)
    other_seed = Device(make_spec(2, stuck_on_rate=0.1, stuck_off_rate=0.1, seed=5)).program(
        levels, array_id=2)
    assert np.mean(other_array.g != whole.g) > 0.9
    assert np.mean(other_seed.g != whole.g) > 0.9


# --- stuck cells ------------------------------------------------------------------------

def test_stuck_rates_within_binomial_tolerance():
    on, off = 0.02, 0.05
    dev = Device(make_spec(2, stuck_on_rate=on, stuck_off_rate=off, seed=3))
    levels = np.tile(np.arange(4), (500, 125))
    cells = dev.program(levels)
    n = levels.size
    for rate, code in ((on, 1), (off, -1)):
        count = int(np.sum(cells.stuck == code))
        assert abs(count - n * rate) < 5 * math.sqrt(n * rate * (1 - rate))
    assert np.all(cells.g[cells.stuck == 1] == dev.g_max)
    assert np.all(cells.g[cells.stuck == -1] == dev.g_min)
    free = cells.stuck == 0
    assert np.all(np.abs(cells.g[free] - cells.g_target[free]) < 8 * 3.0)


def test_no_stuck_cells_at_zero_rates():
    cells = Device(make_spec(2)).program(np.ones((50, 50), dtype=np.int64))
    assert not cells.stuck.any()


# --- drift ------------------------------------------------------------------------------

def test_drift_power_law():
    spec = make_spec(2, program_sigma="none", stuck_on_rate=0.1)
    dev = Device(spec, drift_nu=0.03, drift_t0_s=2.0)
    levels = np.tile(np.arange(4), (10, 10))
    cells = dev.program(levels, drift_time=2000.0)
    factor = (2000.0 / 2.0) ** -0.03
    free = cells.stuck == 0
    assert np.allclose(cells.g[free], cells.g_target[free] * factor, rtol=1e-13)
    assert np.all(cells.g[cells.stuck == 1] == dev.g_max)
    assert cells.drift_factor == pytest.approx(factor, rel=1e-15)
    early = dev.program(levels, drift_time=1.5)  # before t0: no drift
    assert np.array_equal(early.g[free], early.g_target[free])


def test_drift_exponent_spread():
    dev = Device(make_spec(2), drift_nu=0.05, drift_nu_sigma=0.01)
    nu = dev.drift_exponent((200, 200), array_id=1)
    assert nu.mean() == pytest.approx(0.05, abs=4 * 0.01 / 200)
    assert nu.std() == pytest.approx(0.01, rel=0.02)


# --- read noise -------------------------------------------------------------------------

def test_read_sigma_fig3d_shape_scaled_to_config():
    dev = Device(make_spec(2, read_sigma_us=0.5))
    targets = np.array(READC_FIG3D_READ.targets_us)
    s = dev.read_sigma(targets)
    assert s.mean() == pytest.approx(0.5, rel=1e-12)
    assert np.allclose(s / s[0], np.array(READC_FIG3D_READ.sigma_us) / READC_FIG3D_READ.sigma_us[0])


def test_read_sigma_constant_and_off():
    g = np.array([100.0, 250.0, 400.0])
    assert np.all(Device(make_spec(2, read_sigma_us=0.3), read_shape="constant").read_sigma(g)
                  == 0.3)
    assert np.all(Device(make_spec(2, read_sigma_us=0.0)).read_sigma(g) == 0.0)


# --- parameter checks -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"read_shape": "flat"}, "read_shape = 'flat'"),
        ({"drift_nu": -0.1}, "drift_nu = -0.1"),
        ({"drift_nu_sigma": float("nan")}, "drift_nu_sigma = nan"),
        ({"drift_t0_s": 0.0}, "drift_t0_s = 0.0"),
    ],
)
def test_device_parameter_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Device(make_spec(2), **kwargs)


def test_program_argument_errors():
    dev = Device(make_spec(2))
    with pytest.raises(ValueError, match="array_id = -1"):
        dev.program(np.zeros((2, 2), dtype=np.int64), array_id=-1)
    with pytest.raises(ValueError, match="drift_time = 0"):
        dev.program(np.zeros((2, 2), dtype=np.int64), drift_time=0)
    with pytest.raises(ValueError, match="must be 2-D"):
        dev.program(np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="must be a MacroSpec"):
        Device("spec")
