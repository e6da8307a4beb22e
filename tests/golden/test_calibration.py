"""Macro calibrations: the data-free ones, the file round trip and its checks, and the
rules that turn a calibration into Q-cell bounds and memristor targets."""

import numpy as np
import pytest

from golden import digital, qcell
from golden.calibration import (
    MacroCalibration,
    bound_sigmas,
    default_calibration,
    guard_bands,
    lossless_calibration,
    target_conductances,
)
from golden.macro import Macro
from golden.spec import MacroSpec


def spec_of(**sections):
    return MacroSpec().replace(**sections)


def test_lossless_calibration_refuses_too_few_bits():
    spec = spec_of(macro={"rows": 64}, adc={"bits": 4})
    with pytest.raises(ValueError, match=r"adc.bits = 4: a lossless ADC needs 193 codes"):
        lossless_calibration(spec)


def test_calibration_roundtrip_and_check():
    spec = spec_of(adc={"sr": "interleaved"})
    cal = default_calibration(spec)
    back = MacroCalibration.from_dict(cal.to_dict())
    for f in ("full_scale", "boundaries", "lut"):
        np.testing.assert_array_equal(getattr(back, f), getattr(cal, f))
    back.check(spec)
    with pytest.raises(ValueError, match=r"calibration bits = 4: the config has adc.bits = 5"):
        cal.check(spec.replace(adc={"bits": 5}))
    with pytest.raises(ValueError, match=r"lut_scope = 'per_slice': the config has adc.lut_sc"):
        cal.check(spec.replace(adc={"lut_scope": "per_column"}))
    with pytest.raises(ValueError, match=r"full_scale has shape \(2, 2\); the config needs"):
        cal.check(spec.replace(macro={"weight_bits": 8}))
    with pytest.raises(ValueError, match="missing field 'lut'"):
        MacroCalibration.from_dict({k: v for k, v in cal.to_dict().items() if k != "lut"})


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["lut"][1].__setitem__(0, float("nan")),
     r"calibration lut\[1, 0\] = nan: every entry must be a finite number"),
    (lambda d: d["full_scale"][0].reverse(), r"full_scale\[0\] = \[.*\]: LO must be less"),
    (lambda d: d["full_scale"][1].__setitem__(1, d["full_scale"][1][0]),
     r"full_scale\[1\] = .*: LO must be less than HI"),
    (lambda d: d["boundaries"][0][1].sort(reverse=True), r"boundaries\[0\]\[1\]: must incr"),
    (lambda d: d.update(lut=d["lut"][:1]), "hold 3, 3 and 1 LUT groups"),
    (lambda d: d.update(full_scale=[]), r"full_scale has shape \(0,\)"),
    (lambda d: d.update(bits=True), "bits = True must be an integer in 1..8"),
    (lambda d: d.update(sr=None), "sr = None must be a string"),
    (lambda d: d.update(meta=[]), "meta = \\[\\] must be an object"),
])
def test_from_dict_refuses_what_no_config_accepts(edit, message):
    spec = spec_of(macro={"mapping": "offset"}, adc={"sr": "interleaved"})
    d = default_calibration(spec).to_dict()
    assert len(d["lut"]) == 3
    edit(d)
    with pytest.raises(ValueError, match=message):
        MacroCalibration.from_dict(d)
    with pytest.raises(ValueError, match="must be a JSON object, not list"):
        MacroCalibration.from_dict([d])




QUIET = {"program_sigma": "none", "read_sigma_us": 0.0, "bound_variation_pct": 0.0}


def _calibrated_macro(spec, seed=3):
    rng = np.random.default_rng(seed)
    m = spec.macro
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, (m.rows, m.cols))
    x = rng.integers(m.input_range[0], m.input_range[1] + 1, (80, m.rows))
    mac = Macro(spec, w)
    return mac, mac.calibrate(x)


@pytest.mark.parametrize("encoding", ["window", "threshold"])
def test_targets_without_variation_are_the_macros_banks(encoding):
    spec = spec_of(macro={"rows": 16, "cols": 2}, adc={"bits": 3, "encoding": encoding,
                                                      "window_guard_pct": 2.0}, device=QUIET)
    mac, cal = _calibrated_macro(spec)
    t = target_conductances(spec, cal)
    bank = mac.banks
    if encoding == "window":
        np.testing.assert_array_equal(t["memristors"]["M1"]["bound"], bank.lower)
        np.testing.assert_array_equal(t["memristors"]["M2"]["bound"], bank.upper)
    else:
        assert list(t["memristors"]) == ["M1"]
        np.testing.assert_array_equal(t["memristors"]["M1"]["bound"], bank.thresholds)
    li = digital.lut_index(spec)
    for mm in t["memristors"].values():
        live = ~mm["rail"] & (mm["clipped"] == 0)
        back = np.stack([t["gmaps"][li[p]].to_bound(mm["g_us"][p]) for p in range(li.size)])
        np.testing.assert_allclose(back[live], mm["bound"][live], rtol=0, atol=1e-9)
        assert not mm["sigma_g_us"].any()


def test_auto_guard_band_is_four_sigma_of_the_copies_difference():
    spec = spec_of(macro={"rows": 16, "cols": 2}, adc={"bits": 3},
                   device={"program_sigma": 2.0, "bound_variation_pct": 0.5})
    _, cal = _calibrated_macro(spec)
    sig = bound_sigmas(spec, cal.boundaries, cal.full_scale)
    width = cal.full_scale[:, 1] - cal.full_scale[:, 0]
    want = qcell.GUARD_SIGMAS * np.sqrt(2.0) * sig.max(axis=(1, 2))
    np.testing.assert_allclose(guard_bands(spec, cal.full_scale, sig), want, rtol=1e-12)
    fixed = spec.replace(adc={"window_guard_pct": 3.0})
    np.testing.assert_allclose(guard_bands(fixed, cal.full_scale, sig), 0.03 * width)


def test_banks_need_calibration():
    spec = spec_of(macro={"rows": 16, "cols": 2})
    with pytest.raises(ValueError, match="not calibrated"):
        _ = Macro(spec, np.zeros((16, 2), dtype=int)).banks
