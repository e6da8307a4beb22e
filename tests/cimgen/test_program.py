"""``cimgen program``: conductances that map back to the calibrated bounds, LUT export,
bad input."""

import csv
import json

import numpy as np
import pytest

from cimgen.calfile import save_calibration
from cimgen.cli import main
from cimgen.program import program_tile
from golden import digital, presets, qcell
from golden.macro import Macro
from golden.spec import MacroSpec


def _config(config_file, name: str, **sections) -> tuple:
    base = {"macro": {"rows": 16, "cols": 2}, "adc": {"bits": 3}}
    for k, v in sections.items():
        base.setdefault(k, {}).update(v)
    return config_file(base, f"{name}.toml"), MacroSpec.from_dict(base)


def _calibrated(spec, tiles=((0, 0),)):
    rng = np.random.default_rng(1)
    out, macros = {}, {}
    for i, key in enumerate(tiles):
        w = rng.integers(-8, 8, (spec.macro.rows, spec.macro.cols))
        x = np.minimum(rng.geometric(0.3, (64, spec.macro.rows)) - 1, 15)
        mac = Macro(spec, w, array_id=i)
        out[key] = mac.calibrate(x)
        macros[key] = mac
    return out, macros


def _program(tmp_path, config, cal_file, *extra, out="prog"):
    return main(["program", str(config), "--calibration", str(cal_file),
                 "-o", str(tmp_path / out), *extra])


@pytest.mark.parametrize("encoding", ["window", "threshold"])
def test_conductances_map_back_to_the_programmed_bounds(config_file, tmp_path, encoding):
    # No variation: the macro's realised Q-cells are exactly the programmed bounds.
    path, spec = _config(config_file, encoding, adc={"encoding": encoding,
                                                  "window_guard_pct": 2.0},
                         device={"program_sigma": "none"})
    cals, macros = _calibrated(spec, tiles=((0, 0), (0, 1)))
    save_calibration(tmp_path / "cal.json", spec, cals)
    assert _program(tmp_path, path, tmp_path / "cal.json") == 0
    doc = json.loads((tmp_path / "prog" / "program.json").read_text())
    assert [(t["row"], t["col"]) for t in doc["tiles"]] == [(0, 0), (0, 1)]
    li = digital.lut_index(spec)
    for t, key in zip(doc["tiles"], [(0, 0), (0, 1)], strict=True):
        bank = macros[key]._banks
        cal = cals[key]
        for name, mm in t["memristors"].items():
            g = np.array(mm["target_g_us"])
            rail = np.array(mm["rail"], dtype=bool)
            clipped = np.array(mm["clipped"], dtype=bool)
            back = np.empty_like(g)
            for p in range(g.shape[0]):
                gm = qcell.ConductanceMap(spec.device.g_min_us, spec.device.g_max_us,
                                          tuple(cal.full_scale[li[p]]))
                back[p] = gm.to_bound(g[p])
            if encoding == "threshold":
                want = np.array(bank.thresholds)
            else:
                want = np.array(bank.lower if name == "M1" else bank.upper)
            ok = ~rail & ~clipped
            assert ok.sum() > 0
            np.testing.assert_allclose(back[ok], want[ok], rtol=0, atol=1e-9)
            if encoding == "threshold":
                np.testing.assert_allclose(want, cal.boundaries[li], atol=1e-12)
            # Rails sit on the ends of the conductance window.
            assert np.all(g[rail] == (spec.device.g_min_us if name == "M1" else
                                      spec.device.g_max_us))
            assert np.all(g >= spec.device.g_min_us) and np.all(g <= spec.device.g_max_us)
    assert (tmp_path / "prog" / "qcells.csv").exists()


def test_window_cells_have_two_memristors_and_guard(config_file, tmp_path):
    _, spec = _config(config_file, "w", adc={"window_guard_pct": 3.0})
    cals, _ = _calibrated(spec)
    prog = program_tile(spec, cals[(0, 0)])
    m1, m2 = prog["memristors"]["M1"], prog["memristors"]["M2"]
    assert m1["role"] == "lower" and m2["role"] == "upper"
    li = digital.lut_index(spec)
    width = cals[(0, 0)].full_scale[li, 1] - cals[(0, 0)].full_scale[li, 0]
    # cell k+1's lower bound sits the guard below boundary k, cell k's upper bound on it
    np.testing.assert_allclose(m2["bound"][..., :-1] - m1["bound"][..., 1:],
                               np.broadcast_to(0.03 * width[:, None, None],
                                               m1["bound"][..., 1:].shape))
    assert np.all(np.isneginf(m1["bound"][..., 0])) and np.all(np.isposinf(m2["bound"][..., -1]))


def test_programming_spread_from_the_preset(config_file, tmp_path):
    _, spec = _config(config_file, "s", adc={"encoding": "threshold"},
                         device={"bound_variation_pct": 0.0})
    cals, _ = _calibrated(spec)
    cal = cals[(0, 0)]
    prog = program_tile(spec, cal)
    m1 = prog["memristors"]["M1"]
    np.testing.assert_allclose(m1["sigma_g_us"], presets.READC_FIG3C_PROGRAM(m1["g_us"]))
    li = digital.lut_index(spec)
    gain = np.array([gm.gain for gm in prog["gmaps"]])[li][:, None, None]
    np.testing.assert_allclose(m1["sigma_bound"], m1["sigma_g_us"] * gain)
    # The same sigma the golden macro draws its Q-cell bounds with.
    np.testing.assert_allclose(m1["sigma_bound"], prog["bound_sigma_nominal"][li])


def test_lut_csv(config_file, tmp_path):
    path, spec = _config(config_file, "l", adc={"sr": "calibrated", "encoding": "threshold"})
    cals, _ = _calibrated(spec)
    save_calibration(tmp_path / "cal.json", spec, cals)
    assert _program(tmp_path, path, tmp_path / "cal.json") == 0
    with (tmp_path / "prog" / "lut.csv").open() as f:
        rows = list(csv.DictReader(f))
    cal = cals[(0, 0)]
    assert len(rows) == cal.lut.size
    fixed = cal.lut_fixed(spec)
    for r in rows:
        lut, e = int(r["lut"]), int(r["entry"])
        assert int(r["cfg_addr"]) == (lut << spec.adc.code_bits) + e
        assert int(r["fixed"]) == fixed[lut, e]
        assert float(r["value"]) == cal.lut[lut, e]
    with (tmp_path / "prog" / "qcells.csv").open() as f:
        q = list(csv.DictReader(f))
    # threshold cells, two ADCs per column with SR: one memristor per cell
    assert len(q) == spec.macro.phys_cols * 2 * spec.adc.cells
    assert {r["memristor"] for r in q} == {"M1"}


def _bad(tmp_path, capsys, *args, match):
    code = main(["program", *map(str, args)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err, err


def test_missing_calibration_file(config_file, tmp_path, capsys):
    path, _ = _config(config_file, "m")
    _bad(tmp_path, capsys, path, "--calibration", tmp_path / "nope.json", "-o",
         tmp_path / "o", match="no such file")
    assert not (tmp_path / "o").exists()


def test_calibration_of_another_config(config_file, tmp_path, capsys):
    _, spec = _config(config_file, "a")
    cals, _ = _calibrated(spec)
    save_calibration(tmp_path / "cal.json", spec, cals)
    other, _ = _config(config_file, "b", adc={"bits": 4})
    _bad(tmp_path, capsys, other, "--calibration", tmp_path / "cal.json", "-o", tmp_path / "o",
         match="calibration bits = 3: the config has adc.bits = 4")


def test_unknown_tile(config_file, tmp_path, capsys):
    path, spec = _config(config_file, "t")
    cals, _ = _calibrated(spec)
    save_calibration(tmp_path / "cal.json", spec, cals)
    _bad(tmp_path, capsys, path, "--calibration", tmp_path / "cal.json", "--tile", "2,0",
         "-o", tmp_path / "o", match="--tile '2,0'")


def test_non_empty_output_needs_force(config_file, tmp_path, capsys):
    path, spec = _config(config_file, "f")
    cals, _ = _calibrated(spec)
    save_calibration(tmp_path / "cal.json", spec, cals)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep.txt").write_text("x")
    _bad(tmp_path, capsys, path, "--calibration", tmp_path / "cal.json", "-o", tmp_path / "o",
         match="exists and is not empty")
    assert (tmp_path / "o" / "keep.txt").exists()
    assert _program(tmp_path, path, tmp_path / "cal.json", "--force", out="o") == 0
    assert not (tmp_path / "o" / "keep.txt").exists()
    assert (tmp_path / "o" / "program.json").exists()


def test_bad_config_value(config_file, tmp_path, capsys):
    _, spec = _config(config_file, "ok")
    cals, _ = _calibrated(spec)
    save_calibration(tmp_path / "cal.json", spec, cals)
    bad = tmp_path / "bad.toml"
    bad.write_text("[adc]\nbits = 0\n")
    _bad(tmp_path, capsys, bad, "--calibration", tmp_path / "cal.json", "-o", tmp_path / "o",
         match="adc.bits = 0")
