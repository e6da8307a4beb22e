"""Calibration files: what they record, and every loader refusing one made for another macro.

The single bad-input cases (another macro, version 99, NaN, reversed full scale, a bare
object, a ``cimgen calibrate`` JSON) are rows of tests/cimgen/test_bad_inputs.py; here
every recorded field, the version 1 format and the loaders beyond those rows.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cimgen import cli
from cimgen.calfile import DEPENDS_ON, FORMAT, load_calibration, save_calibration
from cimgen.errors import InputError
from golden.calibration import MacroCalibration, default_calibration
from golden.spec import MacroSpec

BASE = {"macro": {"rows": 8, "cols": 2, "input_bits": 2, "weight_bits": 4, "cell_bits": 2},
        "adc": {"bits": 3}}

# one valid change per recorded field (the rest of the config as in BASE)
CHANGES = {
    "macro.rows": 16, "macro.cols": 4, "macro.input_bits": 3, "macro.input_signed": True,
    "macro.weight_bits": 6, "macro.cell_bits": 1, "macro.mapping": "offset",
    "adc.bits": 4, "adc.encoding": "threshold", "adc.sr": "nominal",
    "adc.lut_scope": "shared", "adc.lut_frac_bits": 4,
}


def _spec(**changes) -> MacroSpec:
    doc = json.loads(json.dumps(BASE))
    for k, v in changes.items():
        sec, key = k.split(".")
        doc.setdefault(sec, {})[key] = v
    return MacroSpec.from_dict(doc)


def _save(tmp_path, spec, name="cal.json"):
    return save_calibration(tmp_path / name, spec, {(0, 0): default_calibration(spec)})


def test_the_file_records_every_field_the_tables_depend_on(tmp_path):
    assert set(CHANGES) == set(DEPENDS_ON)
    spec = _spec()
    doc = json.loads(_save(tmp_path, spec).read_text())
    assert doc["format"] == FORMAT and doc["version"] == 2
    flat = {f"{s}.{k}": v for s, sec in spec.to_dict().items() for k, v in sec.items()}
    assert doc["depends_on"] == {k: flat[k] for k in DEPENDS_ON}
    back = load_calibration(tmp_path / "cal.json", spec)
    np.testing.assert_array_equal(back[(0, 0)].lut, default_calibration(spec).lut)


@pytest.mark.parametrize("field", DEPENDS_ON)
def test_a_calibration_for_another_config_is_refused_naming_the_field(tmp_path, field):
    other = _spec(**{field: CHANGES[field]})
    path = _save(tmp_path, other)
    mine = _spec().to_dict()[field.split(".")[0]][field.split(".")[1]]
    with pytest.raises(InputError) as e:
        load_calibration(path, _spec())
    assert str(e.value) == (f"--calibration {str(path)!r}: {field} = {CHANGES[field]!r} in "
                            f"the file, the config has {field} = {mine!r}")


def test_version_1_files_load_from_their_config(tmp_path):
    spec = _spec()
    doc = json.loads(_save(tmp_path, spec).read_text())
    doc["version"] = 1
    del doc["depends_on"]
    (tmp_path / "v1.json").write_text(json.dumps(doc))
    assert set(load_calibration(tmp_path / "v1.json", spec)) == {(0, 0)}
    with pytest.raises(InputError, match=r"macro.rows = 8 in the file, the config has "
                                         r"macro.rows = 16"):
        load_calibration(tmp_path / "v1.json", _spec(**{"macro.rows": 16}))
    del doc["config"]["adc"]["lut_frac_bits"]
    (tmp_path / "v1.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"its config has no adc\.lut_frac_bits, so it cannot "
                                         r"be checked"):
        load_calibration(tmp_path / "v1.json", spec)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.pop("version"), "format version None is not supported; supported "
                                 "versions: 1, 2 (this cimgen writes 2)"),
    (lambda d: d.update(version=True), "format version True is not supported"),
    (lambda d: d.pop("depends_on"), "has no 'depends_on' object"),
    (lambda d: d["depends_on"].pop("macro.mapping"), "depends_on lacks macro.mapping"),
    (lambda d: d["depends_on"].update({"macro.rows": 8.0}),
     "macro.rows = 8.0 in the file, the config has macro.rows = 8"),
    (lambda d: d.update(tiles={}), "'tiles' must be a list of tiles"),
    (lambda d: d.update(tiles=[]), "holds no tiles"),
    (lambda d: d["tiles"].append(dict(d["tiles"][0])), "tile 1: tile (0, 0) appears twice"),
    (lambda d: d["tiles"][0].update(row=-1), "tile 0: row = -1, col = 0: must be integers"),
    (lambda d: d["tiles"][0].pop("calibration"), "tile 0: missing field 'calibration'"),
    (lambda d: d["tiles"][0]["calibration"].update(bits=3.5),
     "tile 0: calibration: malformed field (bits = 3.5 must be an integer in 1..8)"),
    (lambda d: d["tiles"][0]["calibration"]["boundaries"][0][0].__setitem__(0, "inf"),
     "tile 0: calibration boundaries[0, 0, 0] = inf: every entry must be a finite number"),
])
def test_malformed_headers_and_tiles(tmp_path, edit, message):
    spec = _spec()
    doc = json.loads(_save(tmp_path, spec).read_text())
    edit(doc)
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(InputError) as e:
        load_calibration(tmp_path / "bad.json", spec)
    assert message in str(e.value)


def test_validate_names_the_bad_entry():
    cal = default_calibration(_spec())
    bad = MacroCalibration(cal.bits, cal.encoding, cal.sr, cal.lut_scope, cal.full_scale,
                           cal.boundaries[..., ::-1].copy(), cal.lut)
    b = bad.boundaries[0, 0]
    with pytest.raises(ValueError) as e:
        bad.validate()
    assert str(e.value) == ("calibration boundaries[0][0]: must increase strictly; entry 0 = "
                            f"{float(b[0])!r} is followed by {float(b[1])!r}")
    with pytest.raises(ValueError, match="hold 2, 2 and 1 LUT groups"):
        MacroCalibration(cal.bits, cal.encoding, cal.sr, cal.lut_scope, cal.full_scale,
                         cal.boundaries, cal.lut[:1]).check(_spec())


def test_synth_refuses_a_calibration_for_another_macro(tmp_path, config_file, capsys):
    path = _save(tmp_path, _spec(**{"macro.rows": 64, "macro.cols": 8}))
    cfg = config_file(BASE, "small.toml")
    code = cli.main(["synth", str(cfg), "--report-only", "--calibration", str(path),
                     "-o", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "macro.rows = 64 in the file, the config has macro.rows = 8" in err
    assert not (tmp_path / "s").exists()

