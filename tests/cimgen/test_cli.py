"""``cimgen calibrate`` end to end, and every bad input: message, exit code 2, no output."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cimgen.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIG5A = ROOT / "examples" / "layer_fig5a.csv"


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_calibrate_paper_example(tmp_path, capsys):
    out = tmp_path / "cal.json"
    code, stdout, _ = run(
        ["calibrate", FIG5A, "--column", "Original Data", "--bits", 4, "-o", out], capsys
    )
    assert code == 0
    doc = json.loads(out.read_text())
    m = doc["methods"]
    assert set(m) == {"uniform", "lloyd-max", "optimal"}
    # ReADC fig. 5: Lloyd-Max 4-bit MSE 2.90 on this layer.
    assert m["lloyd-max"]["mse"] == pytest.approx(2.90, rel=0.01)
    assert m["optimal"]["mse"] <= m["lloyd-max"]["mse"] + 1e-12
    assert m["uniform"]["mse_rel_uniform"] == 1.0
    assert len(m["lloyd-max"]["boundaries"]) == 15
    assert len(m["lloyd-max"]["levels"]) == 16
    assert doc["data"]["samples"] == 4000
    for name in ("uniform", "lloyd-max", "optimal", "SQNR dB", "MSE/uniform"):
        assert name in stdout


@pytest.mark.parametrize("sr", ["nominal", "calibrated", "interleaved"])
def test_calibrate_with_sr_and_variation(tmp_path, capsys, sr):
    out = tmp_path / "cal.json"
    code, stdout, _ = run(
        ["calibrate", FIG5A, "--column", "0", "--bits", 3, "--method", "lloyd-max",
         "--sr", sr, "--variation", "0.5", "--seed", 3, "-o", out], capsys
    )
    assert code == 0
    r = json.loads(out.read_text())["methods"]["lloyd-max"]
    assert len(r["sr"]["table"]) == 2 * 8 - 1
    assert f"SR {sr} MSE" in stdout
    # Two mismatched 3-bit ADCs with SR beat one realised 3-bit ADC on this data.
    if sr != "nominal":
        assert r["sr"]["mse"] < r["realised_mse"]


def test_same_seed_same_json(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    args = ["calibrate", FIG5A, "--column", "0", "--bits", 3, "--sr", "calibrated",
            "--variation", "1", "--seed", 7]
    assert run([*args, "-o", a], capsys)[0] == 0
    assert run([*args, "-o", b], capsys)[0] == 0
    assert a.read_text() == b.read_text()


def _bad(tmp_path, capsys, argv, match):
    out = tmp_path / "sub" / "out.json"
    with pytest.raises(SystemExit) as ei:
        raise SystemExit(main([str(a) for a in argv] + ["-o", str(out)]))
    _, err = capsys.readouterr()
    assert ei.value.code == 2, err
    assert match in err, err
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_missing_file(tmp_path, capsys):
    _bad(tmp_path, capsys, ["calibrate", tmp_path / "nope.npy", "--bits", 4], "no such file")


def test_unreadable_format(tmp_path, capsys):
    p = tmp_path / "x.npy"
    p.write_bytes(b"not numpy")
    _bad(tmp_path, capsys, ["calibrate", p, "--bits", 4], "not a readable .npy array")


def test_nonfinite_named(tmp_path, capsys):
    p = tmp_path / "x.npy"
    x = np.random.default_rng(0).standard_normal(100)
    x[[5, 17]] = [np.nan, -np.inf]
    np.save(p, x)
    _bad(tmp_path, capsys, ["calibrate", p, "--bits", 3],
         "2 non-finite value(s) (NaN or inf) at index 5, 17")
    out = tmp_path / "ok.json"
    assert main(["calibrate", str(p), "--bits", "3", "--drop-nonfinite", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["data"]["dropped_nonfinite"] == 2


def test_fewer_samples_than_levels(tmp_path, capsys):
    p = tmp_path / "x.txt"
    p.write_text("1 2 3 4 5\n")
    _bad(tmp_path, capsys, ["calibrate", p, "--bits", 3],
         "5 sample(s), fewer than the 8 levels of a 3-bit ADC")


def test_constant_data(tmp_path, capsys):
    p = tmp_path / "x.txt"
    p.write_text("2.5 " * 50)
    _bad(tmp_path, capsys, ["calibrate", p, "--bits", 3], "all 50 samples equal 2.5")


@pytest.mark.parametrize("bits", ["0", "9", "four"])
def test_bits_out_of_range(tmp_path, capsys, bits):
    _bad(tmp_path, capsys, ["calibrate", FIG5A, "--bits", bits],
         "--bits 'four'" if bits == "four" else f"--bits {bits}:")
    # and the allowed range is named
    _bad(tmp_path, capsys, ["calibrate", FIG5A, "--bits", bits], "1..8")


def test_unknown_method(tmp_path, capsys):
    _bad(tmp_path, capsys, ["calibrate", FIG5A, "--bits", 3, "--method", "kmeans"],
         "invalid choice: 'kmeans'")


def test_bad_full_scale(tmp_path, capsys):
    _bad(tmp_path, capsys, ["calibrate", FIG5A, "--bits", 3, "--full-scale", "5", "1"],
         "LO must be less than HI")
    _bad(tmp_path, capsys, ["calibrate", FIG5A, "--bits", 3, "--full-scale", "1e6", "2e6"],
         "only 0 sample(s) inside it")
    _bad(tmp_path, capsys, ["calibrate", FIG5A, "--bits", 3, "--full-scale", "nan", "2"],
         "--full-scale 'nan': must be a finite number")


def test_negative_variation(tmp_path, capsys):
    _bad(tmp_path, capsys, ["calibrate", FIG5A, "--bits", 3, "--variation", "-1"],
         "--variation '-1': must be a finite number in [0, 50]")


def test_console_script_does_not_import_hdl_packages(tmp_path):
    """The calibrate subcommand stays light: no amaranth or cocotb import."""
    out = tmp_path / "c.json"
    code = (
        "import sys; from cimgen.cli import main; "
        f"rc = main(['calibrate', {str(FIG5A)!r}, '--bits', '3', '-o', {str(out)!r}]); "
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('amaranth', 'cocotb')]; "
        "assert rc == 0 and not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT)


def test_console_script_entry_point():
    exe = Path(sys.executable).with_name("cimgen")
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout.startswith("cimgen ")
    r = subprocess.run([str(exe), "calibrate"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "required" in r.stderr


def _boom(args):
    raise RuntimeError("the tool crashed")


def test_an_unexpected_error_is_one_line_and_exit_1(monkeypatch, capsys, tmp_path):
    import cimgen.calibrate

    monkeypatch.setattr(cimgen.calibrate, "run_calibrate", _boom)
    monkeypatch.delenv("CIMGEN_TRACEBACK", raising=False)
    data = tmp_path / "x.txt"
    data.write_text("1 2 3 4 5\n")
    argv = ["calibrate", str(data), "--bits", "2", "-o", str(tmp_path / "c.json")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "cimgen calibrate: failed: RuntimeError: the tool crashed (an error cimgen does not "
        "expect: set CIMGEN_TRACEBACK=1 to see where, and please report it)"]
    monkeypatch.setenv("CIMGEN_TRACEBACK", "1")
    with pytest.raises(RuntimeError, match="the tool crashed"):
        main(argv)


def test_verilog_yosys_failure_is_a_clean_check_failure(monkeypatch, capsys, tmp_path):
    """A real Yosys failure while writing the clean netlist (a pass Yosys does not
    know) exits 1 with one line naming the netlist and Yosys's error, no traceback."""
    import hdl.netlist

    monkeypatch.delenv("CIMGEN_TRACEBACK", raising=False)
    monkeypatch.setattr(hdl.netlist, "CLEAN_SCRIPT", "no_such_pass_xyz; write_verilog -noattr")
    code, _, err = run(["verilog", ROOT / "examples" / "default.toml", "-o", tmp_path / "v"],
                       capsys)
    assert code == 1
    assert "check failed: the clean netlist cim_periphery.v (Yosys)" in err
    assert "no_such_pass_xyz" in err
    assert "Traceback" not in err and "CIMGEN_TRACEBACK" not in err
