"""``cimgen verilog`` end to end, and every bad input: message, exit code 2, nothing
written (or the old output left untouched)."""

import json
import sys

import numpy as np
import pytest

from cimgen import cli, verilog
from cimgen.calfile import save_calibration
from cimgen.errors import InputError
from golden.calibration import default_calibration
from golden.digital import lut_width, out_width
from golden.macro import Macro
from golden.spec import MacroSpec, SpecError

SMALL = {
    "macro": {"rows": 8, "cols": 2, "input_bits": 2, "weight_bits": 3, "cell_bits": 2,
              "mapping": "offset"},
    "adc": {"bits": 3, "encoding": "threshold", "sr": "nominal", "lut_scope": "per_slice",
            "lut_frac_bits": 4},
    "hdl": {"top": "small_cim"},
}


def _registered() -> bool:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return "verilog" in sub.choices


def run(argv, capsys):
    """Through ``cimgen.cli.main`` once the subcommand is registered there; until then
    through a parser with the same class and the same error-to-exit-code mapping."""
    argv = [str(a) for a in argv]
    if _registered():
        code = cli.main(["verilog", *argv])
    else:
        parser = cli._Parser(prog="cimgen")
        sub = parser.add_subparsers(dest="command", parser_class=cli._Parser)
        verilog.add_parser(sub)
        args = parser.parse_args(["verilog", *argv])
        try:
            code = args.func(args)
        except (InputError, SpecError) as e:
            print(f"cimgen verilog: error: {e}", file=sys.stderr)
            code = cli.EXIT_INPUT
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config(config_file):
    return config_file(SMALL, "small.toml")


def spec_of(doc=SMALL):
    return MacroSpec.from_dict(doc)


def assert_nothing_written(tmp_path, *keep):
    """Only the inputs remain in tmp_path: no output, no temporaries."""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


# -- happy paths -------------------------------------------------------------------------

def test_default_calibration(tmp_path, config, capsys):
    out = tmp_path / "rtl"
    code, stdout, _ = run([config, "-o", out], capsys)
    assert code == 0
    spec = spec_of()
    names = {"small_cim.v", "small_cim.amaranth.v", "small_cim.vlt", "manifest.json",
             "lut_init.csv", "lut_init.json", "lut0.hex", "lut1.hex", "lut2.hex"}
    assert {p.name for p in out.iterdir()} == names
    man = json.loads((out / "manifest.json").read_text())
    assert MacroSpec.from_dict(man["config"]) == spec
    assert man["widths"]["out_width"] == out_width(spec)
    assert man["widths"]["lut_width"] == lut_width(spec)
    assert man["calibration"]["source"] == "default_calibration"
    luts = json.loads((out / "lut_init.json").read_text())["luts"]
    assert luts == default_calibration(spec).lut_fixed(spec).tolist()
    assert "module small_cim" in stdout and "latency 3 cycles" in stdout
    assert f"out_data[{2 * out_width(spec)}]" in stdout and "in_ready" in stdout
    assert_nothing_written(tmp_path, "small.toml", "rtl")


def calibrated(spec, seed):
    rng = np.random.default_rng(seed)
    m = spec.macro
    w = rng.integers(*m.weight_range, size=(m.rows, m.cols), endpoint=True)
    x = rng.integers(*m.input_range, size=(64, m.rows), endpoint=True)
    macro = Macro(spec, w)
    return macro.calibrate(x)


def test_calibration_file_and_tiles(tmp_path, config, capsys):
    spec = spec_of()
    cals = {(0, 0): calibrated(spec, 1), (0, 1): calibrated(spec, 2)}
    single = save_calibration(tmp_path / "one.json", spec, {(0, 0): cals[(0, 0)]})
    multi = save_calibration(tmp_path / "two.json", spec, cals)

    code, _, _ = run([config, "--calibration", single, "-o", tmp_path / "a"], capsys)
    assert code == 0
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["calibration"]["file"] == "one.json" and man["calibration"]["tile"] == [0, 0]
    luts = json.loads((tmp_path / "a" / "lut_init.json").read_text())["luts"]
    assert luts == cals[(0, 0)].lut_fixed(spec).tolist()

    code, _, _ = run([config, "--calibration", multi, "--tile", "0,1", "-o", tmp_path / "b"],
                     capsys)
    assert code == 0
    luts = json.loads((tmp_path / "b" / "lut_init.json").read_text())["luts"]
    assert luts == cals[(0, 1)].lut_fixed(spec).tolist()
    assert luts != cals[(0, 0)].lut_fixed(spec).tolist()


def test_force_replaces_only_after_success(tmp_path, config, capsys):
    out = tmp_path / "rtl"
    out.mkdir()
    (out / "old.txt").write_text("old")
    code, _, err = run([config, "-o", out], capsys)
    assert code == 2
    assert f"-o {str(out)!r}: exists and is not empty" in err and "--force" in err
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    code, _, _ = run([config, "-o", out, "--force"], capsys)
    assert code == 0
    assert not (out / "old.txt").exists() and (out / "small_cim.v").exists()
    assert_nothing_written(tmp_path, "small.toml", "rtl")


def test_empty_directory_is_fine_without_force(tmp_path, config, capsys):
    (tmp_path / "rtl").mkdir()
    code, _, _ = run([config, "-o", tmp_path / "rtl"], capsys)
    assert code == 0 and (tmp_path / "rtl" / "manifest.json").exists()


def test_majority_decoder(tmp_path, config, capsys):
    code, _, _ = run([config, "--decoder", "majority", "-o", tmp_path / "rtl"], capsys)
    assert code == 0
    assert json.loads((tmp_path / "rtl" / "manifest.json").read_text())["decoder"] == \
        "majority"


# -- bad inputs: exit 2, the message names input, value and what is allowed -------------

def bad_config(config_file, section, key, value):
    doc = {k: dict(v) for k, v in SMALL.items()}
    doc.setdefault(section, {})[key] = value
    return config_file(doc, "bad.toml")


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    ("adc", "bits", 9, r"adc.bits = 9: must be an integer in 1..8 (in config"),
    ("adc", "colour", "red", r"adc.colour = 'red': unknown key; known keys: bits"),
    ("hdl", "top", "1bad", r"hdl.top = '1bad': must be an identifier"),
])
def test_invalid_config(tmp_path, config_file, capsys, section, key, value, message):
    cfg = bad_config(config_file, section, key, value)
    code, _, err = run([cfg, "-o", tmp_path / "rtl"], capsys)
    assert code == 2
    assert message in err
    assert_nothing_written(tmp_path, "bad.toml")


def test_missing_config(tmp_path, capsys):
    code, _, err = run([tmp_path / "nope.toml", "-o", tmp_path / "rtl"], capsys)
    assert code == 2 and "nope.toml'" in err and "no such file" in err
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(("change", "message"), [
    ({"bits": 4}, "adc.bits = 4 in the file, the config has adc.bits = 3"),
    ({"lut_scope": "shared"},
     "adc.lut_scope = 'shared' in the file, the config has adc.lut_scope = 'per_slice'"),
    ({"sr": "none"}, "adc.sr = 'none' in the file, the config has adc.sr = 'nominal'"),
])
def test_calibration_that_does_not_fit(tmp_path, config, capsys, change, message):
    other = spec_of().replace(adc=change)
    cal = save_calibration(tmp_path / "cal.json", other,
                           {(0, 0): default_calibration(other)})
    code, _, err = run([config, "--calibration", cal, "-o", tmp_path / "rtl"], capsys)
    assert code == 2
    assert f"--calibration {str(cal)!r}: {message}" in err
    assert_nothing_written(tmp_path, "small.toml", "cal.json")


def test_calibration_file_problems(tmp_path, config, capsys):
    spec = spec_of()
    code, _, err = run([config, "--calibration", tmp_path / "none.json", "-o",
                        tmp_path / "rtl"], capsys)
    assert code == 2 and "none.json'" in err and "no such file" in err
    (tmp_path / "junk.json").write_text("{not json")
    code, _, err = run([config, "--calibration", tmp_path / "junk.json", "-o",
                        tmp_path / "rtl"], capsys)
    assert code == 2 and "not valid JSON" in err
    two = save_calibration(tmp_path / "two.json", spec,
                           {(0, 0): default_calibration(spec), (1, 0): default_calibration(spec)})
    code, _, err = run([config, "--calibration", two, "-o", tmp_path / "rtl"], capsys)
    assert code == 2
    assert f"--calibration {str(two)!r}: holds 2 tiles (0,0, 1,0); choose one with " \
        "--tile R,C" in err
    code, _, err = run([config, "--calibration", two, "--tile", "2,2", "-o", tmp_path / "rtl"],
                       capsys)
    assert code == 2
    assert "--tile '2,2': --calibration" in err and "has no such tile; it holds 0,0, 1,0" in err
    code, _, err = run([config, "--calibration", two, "--tile", "x", "-o", tmp_path / "rtl"],
                       capsys)
    assert code == 2 and "--tile 'x': must be two integers R,C" in err
    assert_nothing_written(tmp_path, "small.toml", "junk.json", "two.json")


def test_tile_without_calibration(tmp_path, config, capsys):
    code, _, err = run([config, "--tile", "0,0", "-o", tmp_path / "rtl"], capsys)
    assert code == 2 and "--tile '0,0': only applies with --calibration FILE" in err
    assert_nothing_written(tmp_path, "small.toml")


def test_decoder_not_allowed_for_the_encoding(tmp_path, config, capsys):
    code, _, err = run([config, "--decoder", "priority", "-o", tmp_path / "rtl"], capsys)
    assert code == 2
    assert "--decoder 'priority': adc.encoding = 'threshold' allows 'ones', 'majority'" in err
    assert_nothing_written(tmp_path, "small.toml")


def test_out_is_a_file_or_under_one(tmp_path, config, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = run([config, "-o", f, "--force"], capsys)
    assert code == 2 and f"-o {str(f)!r}: exists and is not a directory" in err
    code, _, err = run([config, "-o", f / "sub" / "rtl"], capsys)
    assert code == 2 and f"{str(f)!r} is not a directory, so DIR cannot be created" in err
    assert f.read_text() == "x"
    assert_nothing_written(tmp_path, "small.toml", "file")


def test_unwritable_out(tmp_path, config, capsys, monkeypatch):
    """A location the user may not write (simulated: the suite may run as root, for
    whom permission bits do not apply)."""
    import golden.outdir

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro"))

    monkeypatch.setattr(golden.outdir.tempfile, "mkdtemp", denied)
    out = tmp_path / "ro" / "rtl"
    code, _, err = run([config, "-o", out], capsys)
    assert code == 1    # refused midway (the location passed the up-front checks)
    assert f"cannot write {str(out)!r}: Permission denied" in err
    assert_nothing_written(tmp_path, "small.toml")  # the created parent is removed again


def test_run_raises_input_error_directly(tmp_path, config_file):
    """The lead's CLI maps InputError to exit 2; run() itself raises it (also for a
    config value error, which load_config reports as SpecError)."""
    import argparse

    args = argparse.Namespace(config=str(bad_config(config_file, "adc", "bits", 0)),
                              calibration=None, tile=None, decoder=None,
                              out=str(tmp_path / "rtl"), force=False)
    with pytest.raises(InputError, match=r"adc.bits = 0: must be an integer in 1..8"):
        verilog.run(args)
