"""``cimgen mvm``: ideal limit through the CLI, tiling, calibration files, bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

from cimgen.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "default.toml"


@pytest.fixture
def operands(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.integers(-8, 8, (150, 20))  # 3 x 3 tiles of the 64 x 8 default macro
    x = np.minimum(rng.geometric(0.35, (120, 150)) - 1, 15)
    x[rng.random(x.shape) < 0.6] = 0
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "x.npy", x)
    return w, x


def mvm(tmp_path, *extra, out="out.npz"):
    return main(["mvm", str(CONFIG), "--weights", str(tmp_path / "w.npy"),
                 "--inputs", str(tmp_path / "x.npy"), "-o", str(tmp_path / out), *extra])


def test_ideal_equals_integer_product_with_tiling(tmp_path, operands, capsys):
    w, x = operands
    assert mvm(tmp_path, "--ideal") == 0
    z = np.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(z["exact"], x @ w)
    np.testing.assert_array_equal(z["y"], x @ w)
    np.testing.assert_array_equal(z["raw"], (x @ w) << int(z["frac_bits"]))
    assert "3 x 3 macro tile(s)" in capsys.readouterr().out


def test_calibrated_run_and_saved_calibration_reproduce(tmp_path, operands, capsys):
    w, x = operands
    assert mvm(tmp_path, "--save-calibration", str(tmp_path / "cal.json")) == 0
    first = np.load(tmp_path / "out.npz")
    doc = json.loads((tmp_path / "cal.json").read_text())
    assert len(doc["tiles"]) == 9
    assert mvm(tmp_path, "--calibration", str(tmp_path / "cal.json"), out="again.npz") == 0
    again = np.load(tmp_path / "again.npz")
    np.testing.assert_array_equal(first["raw"], again["raw"])
    # A calibrated 4-bit ADC path is close to, but not exactly, the integer product.
    err = first["y"] - x @ w
    assert 0 < np.sqrt(np.mean(err**2)) < 0.05 * np.abs(x @ w).max()
    assert "RMS error" in capsys.readouterr().out


def bad(tmp_path, capsys, *extra, match):
    code = mvm(tmp_path, *extra)
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err, err
    assert not (tmp_path / "out.npz").exists()


def test_weight_out_of_range_names_entry(tmp_path, operands, capsys):
    w, _ = operands
    w[3, 5] = 9
    np.save(tmp_path / "w.npy", w)
    bad(tmp_path, capsys, match="W[3, 5] = 9 is outside -8..7 (macro.weight_bits = 4)")


def test_input_out_of_range_names_entry(tmp_path, operands, capsys):
    _, x = operands
    x[7, 2] = -1
    np.save(tmp_path / "x.npy", x)
    bad(tmp_path, capsys, match="X[7, 2] = -1 is outside 0..15 (macro.input_bits = 4")


def test_non_integer_weights(tmp_path, operands, capsys):
    w, _ = operands
    np.save(tmp_path / "w.npy", w + 0.5)
    bad(tmp_path, capsys, match=f"W[0, 0] = {float(w[0, 0]) + 0.5!r} is not an integer")


def test_shape_mismatch(tmp_path, operands, capsys):
    _, x = operands
    np.save(tmp_path / "x.npy", x[:, :100])
    bad(tmp_path, capsys, match="shape (120, 100); must be (batch, 150)")


def test_missing_files_and_bad_config(tmp_path, operands, capsys):
    bad(tmp_path, capsys, "--calibration", str(tmp_path / "none.json"), match="no such file")
    cfg = tmp_path / "c.toml"
    cfg.write_text("[adc]\nbits = 12\n")
    code = main(["mvm", str(cfg), "--weights", str(tmp_path / "w.npy"),
                 "--inputs", str(tmp_path / "x.npy"), "-o", str(tmp_path / "out.npz")])
    assert code == 2
    assert "adc.bits = 12: must be an integer in 1..8" in capsys.readouterr().err


def test_calibration_of_another_config_refused(tmp_path, operands, capsys):
    assert mvm(tmp_path, "--save-calibration", str(tmp_path / "cal.json"), out="a.npz") == 0
    cfg = tmp_path / "c.toml"
    cfg.write_text("[adc]\nbits = 3\n")
    code = main(["mvm", str(cfg), "--weights", str(tmp_path / "w.npy"), "--inputs",
                 str(tmp_path / "x.npy"), "--calibration", str(tmp_path / "cal.json"),
                 "-o", str(tmp_path / "out.npz")])
    assert code == 2
    assert "adc.bits = 4 in the file, the config has adc.bits = 3" in capsys.readouterr().err
    assert not (tmp_path / "out.npz").exists()
