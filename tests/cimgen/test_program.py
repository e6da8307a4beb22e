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
        bank = macros[key].banks
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
         match="adc.bits = 3 in the file, the config has adc.bits = 4")


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


def _clip_case(config_file, tmp_path, encoding):
    """A calibration whose top boundaries lie above its full scale (hand-edited)."""
    path, spec = _config(config_file, f"c{encoding}", adc={"encoding": encoding,
                                                          "window_guard_pct": 0.0})
    cals, _ = _calibrated(spec)
    cal = cals[(0, 0)]
    fs = cal.full_scale.copy()
    fs[:, 1] = cal.boundaries[:, 0, -3]   # the last two boundaries of every ADC above HI
    cal = type(cal)(cal.bits, cal.encoding, cal.sr, cal.lut_scope, fs, cal.boundaries,
                    cal.lut)
    save_calibration(tmp_path / "cal.json", spec, {(0, 0): cal})
    return path, spec, cal


@pytest.mark.parametrize("encoding", ["window", "threshold"])
def test_clipping_above_the_window_fails_unless_allowed(config_file, tmp_path, capsys,
                                                        encoding):
    path, spec, _ = _clip_case(config_file, tmp_path, encoding)
    phys = spec.macro.phys_cols
    code = _program(tmp_path, path, tmp_path / "cal.json")
    out, err = capsys.readouterr()
    assert code == 1, err
    # Per physical column the last two boundaries: thresholds (M1), or upper bounds (M2)
    # plus the next cells' lower bounds (M1) with a window guard of 0 here.
    above = phys * 2 * (1 if encoding == "threshold" else 2)
    assert f"{above} above g_max_us = 400" in out, out
    assert f"{above} bound(s) lie outside" in err and "--allow-clip" in err, err
    doc = json.loads((tmp_path / "prog" / "program.json").read_text())
    clip = doc["summary"]["clipped"]
    assert clip["above_g_max"] == above and clip["harmful"] == above
    with (tmp_path / "prog" / "qcells.csv").open() as f:
        rows = list(csv.DictReader(f))
    hi = [r for r in rows if r["clipped"] == "1"]
    assert len(hi) == above and all(float(r["target_g_us"]) == 400.0 for r in hi)
    assert _program(tmp_path, path, tmp_path / "cal.json", "--allow-clip", "--force") == 0
    assert f"{above} above g_max_us" in capsys.readouterr().out


def test_clipping_below_the_window_is_counted_apart_from_the_guard(config_file, tmp_path,
                                                                   capsys):
    path, spec = _config(config_file, "below", adc={"encoding": "threshold"})
    cals, _ = _calibrated(spec)
    cal = cals[(0, 0)]
    fs = cal.full_scale.copy()
    fs[:, 0] = cal.boundaries[:, 0, 0] + 1e-9     # the first boundary just below LO
    cal = type(cal)(cal.bits, cal.encoding, cal.sr, cal.lut_scope, fs, cal.boundaries,
                    cal.lut)
    save_calibration(tmp_path / "cal.json", spec, {(0, 0): cal})
    assert _program(tmp_path, path, tmp_path / "cal.json") == 1
    out = capsys.readouterr().out
    phys = spec.macro.phys_cols
    assert f"clipped: {phys} target(s) below g_min_us = 100 (0 of them guarded" in out, out
    doc = json.loads((tmp_path / "prog" / "program.json").read_text())
    assert doc["summary"]["clipped"] == {"below_g_min": phys, "below_g_min_guard": 0,
                                         "above_g_max": 0, "harmful": phys}


def test_guarded_lower_bounds_below_the_scale_are_harmless(config_file, tmp_path, capsys):
    # A wide guard puts cell 1's lower bound below the full scale: counted, exit 0.
    path, spec = _config(config_file, "guard", adc={"window_guard_pct": 40.0})
    cals, _ = _calibrated(spec)
    save_calibration(tmp_path / "cal.json", spec, cals)
    assert _program(tmp_path, path, tmp_path / "cal.json") == 0
    doc = json.loads((tmp_path / "prog" / "program.json").read_text())
    clip = doc["summary"]["clipped"]
    assert clip["below_g_min"] == clip["below_g_min_guard"] > 0
    assert clip["harmful"] == 0 and clip["above_g_max"] == 0
    assert f"({clip['below_g_min']} of them guarded" in capsys.readouterr().out


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["lut"][0].__setitem__(2, float("nan")),
     "calibration lut[0, 2] = nan: every entry must be a finite number"),
    (lambda c: c["full_scale"].__setitem__(0, c["full_scale"][0][::-1]),
     "calibration full_scale[0] = ["),
    (lambda c: c["boundaries"][0][0].reverse(), "calibration boundaries[0][0]: must increase"),
    (lambda c: c["lut"][0].pop(), "calibration: malformed field (lut must be a rectangular"),
    (lambda c: [row.pop() for row in c["lut"]], "calibration lut has shape"),
])
def test_malformed_calibration_is_refused_like_verilog_does(config_file, tmp_path, capsys,
                                                           edit, message):
    path, spec = _config(config_file, "nan")
    cals, _ = _calibrated(spec)
    save_calibration(tmp_path / "ok.json", spec, cals)
    doc = json.loads((tmp_path / "ok.json").read_text())
    edit(doc["tiles"][0]["calibration"])
    (tmp_path / "cal.json").write_text(json.dumps(doc))
    for cmd in (["program", str(path), "--calibration", str(tmp_path / "cal.json"),
                 "-o", str(tmp_path / "o")],
                ["verilog", str(path), "--calibration", str(tmp_path / "cal.json"),
                 "-o", str(tmp_path / "o")],
                ["mvm", str(path), "--calibration", str(tmp_path / "cal.json"), "--weights",
                 str(tmp_path / "w.npy"), "--inputs", str(tmp_path / "x.npy"),
                 "-o", str(tmp_path / "y.npz")]):
        rng = np.random.default_rng(0)
        np.save(tmp_path / "w.npy", rng.integers(-8, 8, (spec.macro.rows, spec.macro.cols)))
        np.save(tmp_path / "x.npy", rng.integers(0, 16, (3, spec.macro.rows)))
        code = main(cmd)
        err = capsys.readouterr().err
        assert code == 2, err
        assert f"--calibration {str(tmp_path / 'cal.json')!r} tile 0: {message}" in err, err
        assert "Traceback" not in err
        assert not (tmp_path / "o").exists() and not (tmp_path / "y.npz").exists()


def _previous_program_tile(spec, cal) -> dict:
    """``program_tile`` as cimgen/program.py computed it before the targets moved to
    :func:`golden.calibration.target_conductances` (the reference of the test below)."""
    d, a = spec.device, spec.adc
    n = cal.boundaries.shape[0]
    gmaps = [qcell.ConductanceMap(d.g_min_us, d.g_max_us,
                                  (float(cal.full_scale[g, 0]), float(cal.full_scale[g, 1])))
             for g in range(n)]
    sig = np.stack([qcell.bound_sigma(cal.boundaries[g], gmaps[g].full_scale,
                                      d.bound_variation_pct, gmaps[g], d.program_sigma)
                    for g in range(n)])
    li = digital.lut_index(spec)

    def prog_sigma_us(g_us):
        ps = d.program_sigma
        if ps == "readc-fig3c":
            return presets.READC_FIG3C_PROGRAM(g_us)
        if ps == "none":
            return np.zeros_like(g_us)
        return np.full_like(g_us, float(ps))

    def conductance(bounds):
        lo = np.array([gm.full_scale[0] for gm in gmaps])[li][:, None, None]
        hi = np.array([gm.full_scale[1] for gm in gmaps])[li][:, None, None]
        rail_lo, rail_hi = np.isneginf(bounds), np.isposinf(bounds)
        clipped = ((bounds > hi) & ~rail_hi).astype(np.int8) - ((bounds < lo) & ~rail_lo)
        b = np.clip(bounds, lo, hi)
        gain = np.array([gm.gain for gm in gmaps])[li][:, None, None]
        g_us = d.g_min_us + (b - lo) / gain
        sg = prog_sigma_us(g_us)
        extra = (d.bound_variation_pct / 100.0 * (hi - lo)) ** 2
        sb = np.sqrt(extra + (sg * gain) ** 2)
        return {"g_us": g_us, "sigma_g_us": sg, "sigma_bound": sb,
                "rail": rail_lo | rail_hi, "clipped": clipped}

    width = cal.full_scale[:, 1] - cal.full_scale[:, 0]
    bnd = cal.boundaries[li]
    out = {"gmaps": gmaps, "bound_sigma_nominal": sig}
    if a.encoding == "threshold":
        out["memristors"] = {"M1": {"role": "threshold", "bound": bnd, **conductance(bnd)}}
    else:
        if a.window_guard_pct == "auto":
            pct = np.max(sig / width[:, None, None], axis=(1, 2)) * 100.0
            gpct = np.array([qcell.auto_guard_pct(v) for v in pct])
        else:
            gpct = np.full(width.shape, float(a.window_guard_pct))
        out["guard"] = gpct / 100.0 * width
        guard = out["guard"][li][:, None, None]
        inf = np.full((*bnd.shape[:2], 1), np.inf)
        lower = np.concatenate([-inf, bnd - guard], axis=-1)
        upper = np.concatenate([bnd, inf], axis=-1)
        out["memristors"] = {name: {"role": role, "bound": bound, **conductance(bound)}
                             for name, role, bound in (("M1", "lower", lower),
                                                       ("M2", "upper", upper))}
    out["lut_fixed"] = cal.lut_fixed(spec)
    out["lut"] = np.asarray(cal.lut, dtype=np.float64)
    out["cfg_addr"] = (np.arange(n)[:, None] << a.code_bits) + np.arange(out["lut"].shape[1])
    return out


def _same_bits(got, want, where):
    assert got.dtype == want.dtype and got.shape == want.shape, where
    assert got.tobytes() == want.tobytes(), where


@pytest.mark.parametrize(("adc", "device"), [
    ({"window_guard_pct": 2.0}, {"program_sigma": "readc-fig3c", "bound_variation_pct": 1.5}),
    ({"window_guard_pct": "auto", "lut_scope": "per_column"},
     {"program_sigma": "readc-fig3c", "bound_variation_pct": 0.7}),
    ({"window_guard_pct": "auto", "sr": "calibrated"}, {"program_sigma": 2.5}),
    ({"window_guard_pct": 12.0}, {"program_sigma": "none", "bound_variation_pct": 2.0}),
    ({"encoding": "threshold"}, {"program_sigma": "readc-fig3c", "bound_variation_pct": 1.0}),
    ({"encoding": "threshold", "lut_scope": "per_column"}, {"program_sigma": "none"}),
    ({"encoding": "threshold", "sr": "interleaved"}, {"program_sigma": 3.0}),
])
@pytest.mark.parametrize("clip", [False, True])
def test_program_tile_equals_the_previous_computation(config_file, adc, device, clip):
    _, spec = _config(config_file, "eq", macro={"mapping": "offset"}, adc=adc, device=device)
    cal = _calibrated(spec)[0][(0, 0)]
    if clip:  # the top boundaries above the full scale, the bottom ones below it
        fs = cal.full_scale.copy()
        fs[:, 0], fs[:, 1] = cal.boundaries[:, 0, 1], cal.boundaries[:, 0, -3]
        cal = type(cal)(cal.bits, cal.encoding, cal.sr, cal.lut_scope, fs, cal.boundaries,
                        cal.lut)
    got, want = program_tile(spec, cal), _previous_program_tile(spec, cal)
    assert list(got) == list(want)
    assert got["gmaps"] == want["gmaps"]
    for key in ("bound_sigma_nominal", "guard", "lut_fixed", "lut", "cfg_addr"):
        if key in want:
            _same_bits(got[key], want[key], key)
    assert list(got["memristors"]) == list(want["memristors"])
    for name, mm in want["memristors"].items():
        assert list(got["memristors"][name]) == list(mm)
        assert got["memristors"][name]["role"] == mm["role"]
        for key, arr in mm.items():
            if key != "role":
                _same_bits(got["memristors"][name][key], arr, f"{name}.{key}")
    if clip:
        assert np.any(want["memristors"]["M1"]["clipped"] != 0)
