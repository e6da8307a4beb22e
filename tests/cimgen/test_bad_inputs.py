"""Every input a user gives, wrong: the README's bad-input table, one test per row.

Each row runs the real CLI in a scratch directory holding valid files next to the bad
one, and checks that the command exits 2, that the message names the input, the value
and what is allowed, and that nothing in the directory was created, changed or removed
(no partial outputs, an existing output directory left as it was). A last test keeps
this table and the README's in step, row for row.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

from cimgen import cli

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = (ROOT / "examples" / "default.toml").read_text()

SMALL = (Path(__file__).resolve().parents[2] / "tests" / "data"
         / "small_bad_inputs.toml").read_text()


def _files(tmp: Path) -> None:
    """The scratch directory: valid inputs, and one bad file per data-file row."""
    (tmp / "ok.toml").write_text(DEFAULT)
    (tmp / "small.toml").write_text(SMALL)
    (tmp / "syntax.toml").write_text("[macro\nrows = 8\n")
    (tmp / "section.toml").write_text("[macros]\nrows = 8\n")
    (tmp / "key.toml").write_text("[macro]\nrowz = 8\n")
    (tmp / "range.toml").write_text("[macro]\nrows = 0\n")
    (tmp / "type.toml").write_text('[adc]\nbits = "four"\n')
    (tmp / "enum.toml").write_text('[adc]\nencoding = "gray"\n')
    (tmp / "combo.toml").write_text("[macro]\nweight_bits = 2\ncell_bits = 3\n")
    (tmp / "board.toml").write_text('[fpga]\nboard = "de10"\n')
    (tmp / "cost_kind.toml").write_text('[cost]\nadc = "pipeline"\n')
    (tmp / "cost_custom.toml").write_text('[cost]\nadc = "custom"\nadc_energy_fj = 10.0\n')
    (tmp / "cost_negative.toml").write_text("[cost]\ne_add_bit_fj = -3.0\n")
    (tmp / "x.csv").write_text("a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n")
    (tmp / "nan.csv").write_text("a\n1\nnan\n2\n3\n4\n")
    (tmp / "inf.txt").write_text("1\n2\ninf\n3\n4\n")
    (tmp / "empty.csv").write_text("a\n")
    (tmp / "one.txt").write_text("3.0\n")
    (tmp / "words.txt").write_text("1.0\nabc\n")
    np.save(tmp / "complex.npy", np.ones(8, dtype=np.complex128))
    np.save(tmp / "cube.npy", np.arange(64.0).reshape(4, 4, 4))
    np.save(tmp / "psums.npy", np.arange(100) % 9)      # an 8-row macro's partial sums
    spread = np.linspace(-1.0, 1.0, 16)
    np.save(tmp / "huge_values.npy", spread * 1e300)
    np.save(tmp / "tiny_values.npy", spread * 1e-300)
    np.save(tmp / "denormal.npy", spread * 1e-320)
    # A header that promises more samples than cimgen reads (a sparse file on disk).
    big = np.lib.format.open_memmap(tmp / "huge.npy", mode="w+", dtype=np.uint8,
                                    shape=(200_000_001,))
    del big
    with open(tmp / "huge.txt", "wb") as f:
        f.truncate((1 << 30) + 1)
    rng = np.random.default_rng(0)
    np.save(tmp / "w.npy", rng.integers(-8, 8, size=(8, 2)))
    np.save(tmp / "x.npy", rng.integers(0, 4, size=(3, 8)))
    np.save(tmp / "w_big.npy", np.full((8, 2), 8))
    np.save(tmp / "w_int_overflow.npy", np.full((8, 2), 2**62))
    np.save(tmp / "w_uint64.npy", np.full((8, 2), 2**64 - 1, dtype=np.uint64))
    np.save(tmp / "w_float_huge.npy", np.full((8, 2), 1e30))
    x_huge = np.lib.format.open_memmap(tmp / "x_huge.npy", mode="w+", dtype=np.uint8,
                                       shape=(25_000_001, 8))
    del x_huge
    np.save(tmp / "x_big.npy", np.full((3, 8), 4))
    np.save(tmp / "w_float.npy", np.full((8, 2), 0.5))
    np.save(tmp / "w_rows.npy", rng.integers(-8, 8, size=(7, 2)))
    (tmp / "cal_broken.json").write_text("{")
    (tmp / "cal_format.json").write_text('{"format": "cimgen-calibration", "tiles": []}')
    (tmp / "cal_bits.json").write_text("")  # written by the row's setup
    (tmp / "out").mkdir()
    (tmp / "out" / "keep.txt").write_text("an earlier result")
    (tmp / "a_file").write_text("not a directory")
    (tmp / "old.json").write_text("{}\n")
    (tmp / "link.json").symlink_to("old.json")
    _network_files(tmp)


def _network_files(tmp: Path) -> None:
    """The bundled CNN and its samples, and broken models and sample files."""
    import shutil

    from onnx import TensorProto, helper, save

    shutil.copy(ROOT / "examples" / "digits_cnn.onnx", tmp / "net.onnx")
    shutil.copy(ROOT / "examples" / "digits_cnn.npz", tmp / "net.npz")
    (tmp / "garbage.onnx").write_bytes(b"\x00\x01 not protobuf \xff" * 10)
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Sigmoid", ["r"], ["y"], name="sig")]
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None, 4]) for n in "xy"]
    save(helper.make_model(helper.make_graph(nodes, "g", vi[:1], vi[1:])),
         str(tmp / "sigmoid.onnx"))
    rng = np.random.default_rng(1)
    np.savez(tmp / "no_x.npz", images=np.ones((300, 1, 8, 8)))
    np.savez(tmp / "shape.npz", x=np.ones((300, 1, 5, 5)), y=np.zeros(300, dtype=np.int64))
    np.savez(tmp / "few.npz", x=np.ones((100, 1, 8, 8)), y=np.zeros(100, dtype=np.int64))
    np.savez(tmp / "negative.npz", x=rng.normal(size=(300, 1, 8, 8)),
             y=np.zeros(300, dtype=np.int64))
    (tmp / "onnx_no_model.toml").write_text('[workload]\nname = "onnx"\ndata = "net.npz"\n')


def _cal_other_bits(tmp: Path) -> None:
    """A valid calibration for a 4-bit ADC, given to a 3-bit config."""
    import tomllib

    from cimgen.calfile import save_calibration
    from golden.macro import default_calibration
    from golden.spec import MacroSpec

    doc = tomllib.loads(SMALL)
    doc["adc"]["bits"] = 4
    spec4 = MacroSpec.from_dict(doc)
    save_calibration(tmp / "cal_bits.json", spec4, {(0, 0): default_calibration(spec4)})
    spec3 = MacroSpec.from_dict(tomllib.loads(SMALL))
    save_calibration(tmp / "cal_ok.json", spec3, {(0, 0): default_calibration(spec3)})


CAL_FILES = ("cal_rows.json", "cal_v99.json", "cal_nan.json", "cal_reversed.json",
             "cal_bare.json", "cal_data.json")


def _cal_files(tmp: Path) -> None:
    """Calibration files that do not fit SMALL: another macro, a future version, a NaN,
    a reversed full scale, no header, and the data calibration of 'cimgen calibrate'."""
    import contextlib
    import io
    import json
    import tomllib

    from cimgen.calfile import save_calibration
    from golden.macro import default_calibration
    from golden.spec import MacroSpec

    doc = tomllib.loads(SMALL)
    doc["macro"].update(rows=64, cols=8)
    big = MacroSpec.from_dict(doc)
    save_calibration(tmp / "cal_rows.json", big, {(0, 0): default_calibration(big)})
    spec = MacroSpec.from_dict(tomllib.loads(SMALL))
    ok = save_calibration(tmp / "cal_ok.json", spec, {(0, 0): default_calibration(spec)})
    good = json.loads(ok.read_text())
    edits = {"cal_v99.json": lambda d: d.update(version=99),
             "cal_nan.json": lambda d: d["tiles"][0]["calibration"]["lut"][0]
             .__setitem__(3, float("nan")),
             "cal_reversed.json": lambda d: d["tiles"][0]["calibration"]["full_scale"][0]
             .reverse()}
    for name, edit in edits.items():
        d = json.loads(json.dumps(good))
        edit(d)
        (tmp / name).write_text(json.dumps(d))
    (tmp / "cal_bare.json").write_text(json.dumps(good["tiles"][0]["calibration"]))
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["calibrate", str(tmp / "x.csv"), "--column", "a", "--bits", "2",
                         "-o", str(tmp / "cal_data.json")]) == 0


# id, README "input" column, argv, fragments of the message (input, value, allowed)
ROWS = [
    # -- config files
    ("config-missing", "CONFIG", ["verilog", "nope.toml", "-o", "v"],
     ["config 'nope.toml'", "no such file"]),
    ("config-directory", "CONFIG", ["verilog", "out", "-o", "v"],
     ["config 'out'", "is a directory", "must be a TOML file"]),
    ("config-syntax", "CONFIG", ["verilog", "syntax.toml", "-o", "v"],
     ["config 'syntax.toml'", "not valid TOML", "line 1"]),
    ("config-section", "config section", ["verilog", "section.toml", "-o", "v"],
     ["macros", "unknown section", "known sections: macro, adc"]),
    ("config-key", "config key", ["verilog", "key.toml", "-o", "v"],
     ["macro.rowz = 8", "unknown key", "known keys: rows"]),
    ("config-range", "config value", ["verilog", "range.toml", "-o", "v"],
     ["macro.rows = 0", "must be an integer in 1..4096", "range.toml"]),
    ("config-type", "config value", ["verilog", "type.toml", "-o", "v"],
     ["adc.bits = 'four'", "must be an integer in 1..8"]),
    ("config-enum", "config value", ["verilog", "enum.toml", "-o", "v"],
     ["adc.encoding = 'gray'", "'window', 'threshold'"]),
    ("config-combination", "config values together", ["verilog", "combo.toml", "-o", "v"],
     ["macro.cell_bits = 3", "must be at most macro.weight_bits = 2"]),
    ("config-board", "fpga.board", ["synth", "board.toml", "--report-only", "-o", "s"],
     ["'de10'", "known boards: icebreaker", "ulx3s-85f"]),
    ("cost-adc-kind", "cost.adc", ["cost", "cost_kind.toml"],
     ["cost.adc = 'pipeline'", "one of qcell, flash, sar, custom", "cost_kind.toml"]),
    ("cost-custom-missing", "cost.adc_area_um2", ["cost", "cost_custom.toml"],
     ["cost.adc_area_um2 = None", "required with cost.adc = 'custom'"]),
    ("cost-negative", "cost figure", ["cost", "cost_negative.toml"],
     ["cost.e_add_bit_fj = -3.0", "a number >= 0"]),
    ("cost-workload", "--workload", ["cost", "ok.toml", "--workload", "vgg"],
     ["--workload 'vgg'", "no such workload", "allowed: 'digits'"]),
    # -- data files (cimgen calibrate)
    ("data-missing", "DATA", ["calibrate", "nope.npy", "--bits", "3", "-o", "c.json"],
     ["DATA 'nope.npy'", "no such file"]),
    ("data-nan", "DATA", ["calibrate", "nan.csv", "--column", "a", "--bits", "2",
                          "-o", "c.json"],
     ["DATA 'nan.csv'", "1 non-finite value(s)", "index 1", "--drop-nonfinite"]),
    ("data-inf", "DATA", ["calibrate", "inf.txt", "--bits", "2", "-o", "c.json"],
     ["DATA 'inf.txt'", "non-finite", "index 2", "--drop-nonfinite"]),
    ("data-empty", "DATA", ["calibrate", "empty.csv", "--column", "a", "--bits", "2",
                            "-o", "c.json"],
     ["DATA 'empty.csv'", "no samples", "at least one finite number"]),
    ("data-single", "DATA", ["calibrate", "one.txt", "--bits", "2", "-o", "c.json"],
     ["DATA 'one.txt'", "1 sample(s)", "4 levels of a 2-bit ADC", "at least 4"]),
    ("data-not-numbers", "DATA", ["calibrate", "words.txt", "--bits", "1", "-o", "c.json"],
     ["DATA 'words.txt' line 2", "'abc' is not a number"]),
    ("data-dtype", "DATA", ["calibrate", "complex.npy", "--bits", "2", "-o", "c.json"],
     ["DATA 'complex.npy'", "complex128", "allowed: integer or floating-point"]),
    ("data-huge-npy", "DATA", ["calibrate", "huge.npy", "--bits", "2", "-o", "c.json"],
     ["DATA 'huge.npy'", "200,000,001 samples", "200,000,000"]),
    ("data-huge-text", "DATA", ["calibrate", "huge.txt", "--bits", "2", "-o", "c.json"],
     ["DATA 'huge.txt'", "1,073,741,825 bytes", "1,073,741,824", ".npy"]),
    ("data-column", "--column", ["calibrate", "x.csv", "--column", "z", "--bits", "2",
                                 "-o", "c.json"],
     ["--column 'z'", "x.csv", "['a', 'b']"]),
    ("data-shape", "DATA", ["calibrate", "cube.npy", "--bits", "2", "-o", "c.json"],
     ["DATA 'cube.npy'", "shape (4, 4, 4)", "allowed: 1-D (samples) or 2-D"]),
    ("data-few-distinct", "DATA", ["calibrate", "psums.npy", "--bits", "4", "-o", "c.json"],
     ["DATA 'psums.npy'", "9 distinct value(s)", "16 levels of a 4-bit ADC",
      "allowed: --bits 3 or fewer, or --method uniform"]),
    ("data-magnitude", "DATA", ["calibrate", "huge_values.npy", "--bits", "2",
                                "-o", "c.json"],
     ["DATA 'huge_values.npy'", "1e+300 in magnitude", "allowed: magnitudes up to 1e+100"]),
    ("data-spread", "DATA", ["calibrate", "tiny_values.npy", "--bits", "2", "-o", "c.json"],
     ["DATA 'tiny_values.npy'", "spans only 2e-300", "at least 1e-100"]),
    ("data-denormal", "DATA", ["calibrate", "denormal.npy", "--bits", "2", "-o", "c.json"],
     ["DATA 'denormal.npy'", "spans only 2e-320", "at least 1e-100"]),
    # -- weights and inputs (cimgen mvm)
    ("weights-range", "--weights", ["mvm", "small.toml", "--weights", "w_big.npy",
                                    "--inputs", "x.npy", "-o", "y.npz"],
     ["--weights", "= 8 is outside -8..7", "macro.weight_bits = 4"]),
    ("weights-int-overflow", "--weights", ["mvm", "small.toml", "--weights",
                                           "w_int_overflow.npy", "--inputs", "x.npy",
                                           "-o", "y.npz"],
     ["--weights", "4611686018427387904 is outside -8..7"]),
    ("weights-uint64", "--weights", ["mvm", "small.toml", "--weights", "w_uint64.npy",
                                     "--inputs", "x.npy", "-o", "y.npz"],
     ["--weights 'w_uint64.npy'", "18446744073709551615 does not fit int64"]),
    ("weights-float-huge", "--weights", ["mvm", "small.toml", "--weights",
                                         "w_float_huge.npy", "--inputs", "x.npy",
                                         "-o", "y.npz"],
     ["--weights 'w_float_huge.npy'", "1e+30 does not fit int64"]),
    ("weights-float", "--weights", ["mvm", "small.toml", "--weights", "w_float.npy",
                                    "--inputs", "x.npy", "-o", "y.npz"],
     ["--weights 'w_float.npy'", "0.5", "must be integers"]),
    ("weights-shape", "--weights/--inputs", ["mvm", "small.toml", "--weights", "w_rows.npy",
                                             "--inputs", "x.npy", "-o", "y.npz"],
     ["shape (3, 8)", "(batch, 7)", "7 rows"]),
    ("inputs-range", "--inputs", ["mvm", "small.toml", "--weights", "w.npy",
                                  "--inputs", "x_big.npy", "-o", "y.npz"],
     ["--inputs", "= 4 is outside 0..3", "macro.input_bits = 2"]),
    ("inputs-huge", "--inputs", ["mvm", "small.toml", "--weights", "w.npy",
                                 "--inputs", "x_huge.npy", "-o", "y.npz"],
     ["--inputs 'x_huge.npy'", "200,000,008 entries", "200,000,000", "split the batch"]),
    # -- calibration files
    ("calibration-json", "--calibration", ["verilog", "small.toml", "--calibration",
                                           "cal_broken.json", "-o", "v"],
     ["--calibration 'cal_broken.json'", "not valid JSON"]),
    ("calibration-format", "--calibration", ["program", "small.toml", "--calibration",
                                             "cal_format.json", "-o", "p"],
     ["--calibration 'cal_format.json'", "format 'cimgen-calibration'",
      "allowed: 'cimgen-macro-calibration'"]),
    ("calibration-config", "--calibration", ["verilog", "small.toml", "--calibration",
                                             "cal_bits.json", "-o", "v"],
     ["--calibration 'cal_bits.json'", "bits", "4", "3"]),
    ("calibration-macro", "--calibration", ["mvm", "small.toml", "--weights", "w.npy",
                                            "--inputs", "x.npy", "--calibration",
                                            "cal_rows.json", "-o", "y.npz"],
     ["--calibration 'cal_rows.json'", "macro.rows = 64 in the file",
      "the config has macro.rows = 8"]),
    ("calibration-version", "--calibration", ["program", "small.toml", "--calibration",
                                              "cal_v99.json", "-o", "p"],
     ["--calibration 'cal_v99.json'", "version 99", "supported versions: 1, 2"]),
    ("calibration-nan", "--calibration", ["mvm", "small.toml", "--weights", "w.npy",
                                          "--inputs", "x.npy", "--calibration",
                                          "cal_nan.json", "-o", "y.npz"],
     ["--calibration 'cal_nan.json' tile 0", "lut[0, 3] = nan", "must be a finite number"]),
    ("calibration-full-scale", "--calibration", ["program", "small.toml", "--calibration",
                                                 "cal_reversed.json", "-o", "p"],
     ["--calibration 'cal_reversed.json' tile 0", "full_scale[0] = [",
      "LO must be less than HI"]),
    ("calibration-bare", "--calibration", ["verilog", "small.toml", "--calibration",
                                           "cal_bare.json", "-o", "v"],
     ["--calibration 'cal_bare.json'", "bare calibration object",
      "allowed: a 'cimgen-macro-calibration' file"]),
    ("calibration-data", "--calibration", ["program", "small.toml", "--calibration",
                                           "cal_data.json", "-o", "p"],
     ["--calibration 'cal_data.json'", "written by 'cimgen calibrate'",
      "not a macro calibration", "allowed: a 'cimgen-macro-calibration' file"]),
    # -- CLI arguments
    ("arg-bits", "--bits", ["calibrate", "x.csv", "--column", "a", "--bits", "9",
                            "-o", "c.json"],
     ["--bits 9", "must be an integer in 1..8"]),
    ("arg-variation", "--variation", ["calibrate", "x.csv", "--column", "a", "--bits", "2",
                                      "--variation", "-1", "-o", "c.json"],
     ["--variation '-1'", "finite number in [0, 50]"]),
    ("arg-tile", "--tile", ["verilog", "small.toml", "--tile", "a,b", "-o", "v"],
     ["--tile 'a,b'", "only applies with --calibration"]),
    ("arg-decoder", "--decoder", ["verilog", "small.toml", "--decoder", "ones", "-o", "v"],
     ["--decoder 'ones'", "adc.encoding = 'window' allows 'priority'"]),
    ("arg-mvms", "--mvms", ["sim", "small.toml", "--mvms", "0"],
     ["--mvms '0'", "must be an integer in 1..100000"]),
    ("arg-emulator-mutant", "--emulator with --mutant", ["sim", "small.toml", "--emulator",
                                                         "--mutant", "lut_addr_off_by_one"],
     ["--mutant 'lut_addr_off_by_one'", "not to --emulator"]),
    ("arg-sweep-bits", "--bits (sweep)", ["sweep", "small.toml", "--bits", "3,x", "-o", "w"],
     ["--bits '3,x'", "integers in 1..8"]),
    ("arg-sweep-variation", "--variation (sweep)", ["sweep", "small.toml", "--variation",
                                                    "0:3:0", "-o", "w"],
     ["--variation '0:3:0'", "STEP > 0"]),
    ("arg-sweep-sr", "--sr (sweep)", ["sweep", "small.toml", "--sr", "foo", "-o", "w"],
     ["--sr 'foo'", "none, nominal, calibrated, interleaved"]),
    ("arg-trials", "--trials", ["sweep", "small.toml", "--trials", "0", "-o", "w"],
     ["--trials 0", "1..100000"]),
    ("sweep-scheduler-unreachable", "--scheduler", ["sweep", "small.toml", "--scheduler",
                                                    "tcp://127.0.0.1:1", "-o", "w"],
     ["--scheduler 'tcp://127.0.0.1:1'", "cannot connect", "Connection refused",
      "no --scheduler for a LocalCluster"]),
    ("sweep-scheduler-malformed", "--scheduler", ["sweep", "small.toml", "--scheduler",
                                                  "foo", "-o", "w"],
     ["--scheduler 'foo'", "not a scheduler address", "SCHEME://HOST:PORT"]),
    ("sweep-scheduler-port", "--scheduler", ["sweep", "small.toml", "--scheduler",
                                             "tcp://host:notaport", "-o", "w"],
     ["--scheduler 'tcp://host:notaport'", "a port in 1..65535", "SCHEME://HOST:PORT"]),
    ("sweep-serial-scheduler", "--serial with --scheduler",
     ["sweep", "small.toml", "--serial", "--scheduler", "tcp://127.0.0.1:8786", "-o", "w"],
     ["--serial with --scheduler 'tcp://127.0.0.1:8786'", "allowed: one of the two"]),
    ("sweep-grid-too-large", "--bits x --variation x --sr x --trials",
     ["sweep", "small.toml", "--variation", "0:50:0.01", "-o", "w"],
     ["5,001 --variation", "900,180 tasks", "limit of 10,000", "--yes"]),
    ("sweep-grid-absurd", "--bits x --variation x --sr x --trials",
     ["sweep", "small.toml", "--variation", "0:50:0.0001", "--yes", "-o", "w"],
     ["500,001 --variation", "90,000,180 tasks", "1,000,000", "even with --yes"]),
    ("arg-rtl-mvms", "--rtl-mvms", ["flow", "small.toml", "--rtl-mvms", "0", "-o", "f"],
     ["--rtl-mvms 0", "1..1797"]),
    # -- your own network (cimgen flow --model/--data, [workload] name = "onnx")
    ("onnx-missing", "--model", ["flow", "ok.toml", "--model", "nope.onnx", "--data",
                                 "net.npz", "-o", "f"],
     ["model 'nope.onnx'", "no such file"]),
    ("onnx-not-a-model", "--model", ["flow", "ok.toml", "--model", "garbage.onnx", "--data",
                                     "net.npz", "-o", "f"],
     ["model 'garbage.onnx'", "not an ONNX model"]),
    ("onnx-unsupported-op", "--model", ["flow", "ok.toml", "--model", "sigmoid.onnx",
                                        "--data", "net.npz", "-o", "f"],
     ["model 'sigmoid.onnx'", "node 'sig' (Sigmoid): unsupported op",
      "supported: Gemm, MatMul, Conv"]),
    ("onnx-model-only", "--model", ["flow", "ok.toml", "--model", "net.onnx", "-o", "f"],
     ["--model: needs --data too", "workload is 'none'"]),
    ("onnx-config-model", "workload.model", ["flow", "onnx_no_model.toml", "-o", "f"],
     ["workload.model = ''", "required with workload.name = 'onnx'"]),
    ("onnx-data-no-x", "--data", ["flow", "ok.toml", "--model", "net.onnx", "--data",
                                  "no_x.npz", "-o", "f"],
     ["workload.data 'no_x.npz'", "no array 'x'", "allowed: an .npz with 'x'"]),
    ("onnx-data-shape", "--data", ["flow", "ok.toml", "--model", "net.onnx", "--data",
                                   "shape.npz", "-o", "f"],
     ["workload.data 'shape.npz'", "samples of shape (1, 5, 5) do not fit model"]),
    ("onnx-data-few", "--data", ["flow", "ok.toml", "--model", "net.onnx", "--data",
                                 "few.npz", "-o", "f"],
     ["workload.data 'few.npz'", "100 samples",
      "more than workload.calibration_samples = 256"]),
    ("onnx-data-negative", "--data", ["flow", "ok.toml", "--model", "net.onnx", "--data",
                                      "negative.npz", "-o", "f"],
     ["linear layer 1 (node", "negative inputs", "allowed: macro.input_signed = true"]),
    ("arg-calibration-samples", "--calibration-samples",
     ["flow", "ok.toml", "--calibration-samples", "0", "-o", "f"],
     ["--calibration-samples 0", "1..1000000"]),
    # -- boards, ports, simulators
    ("board-unknown", "--board", ["synth", "small.toml", "--board", "nope", "-o", "s"],
     ["--board", "'nope'", "known boards: icebreaker"]),
    ("board-port", "--port", ["board", "run", "small.toml", "--port", "/dev/no-such-tty"],
     ["--port '/dev/no-such-tty'", "cannot open"]),
    ("simulator-unknown", "--simulator", ["sim", "small.toml", "--simulator", "modelsim"],
     ["--simulator", "'modelsim'", "'icarus', 'verilator'"]),
    ("simulator-missing", "--simulator (not installed)", ["sim", "small.toml"],
     ["simulator 'icarus'", "not found", "apt-get install iverilog"]),
    # -- output locations
    ("out-exists-verilog", "-o DIR", ["verilog", "small.toml", "-o", "out"],
     ["-o 'out'", "not empty", "--force"]),
    ("out-exists-sim", "-o DIR", ["sim", "small.toml", "-o", "out"],
     ["-o 'out'", "not empty", "--force"]),
    ("out-exists-synth", "-o DIR", ["synth", "small.toml", "--report-only", "-o", "out"],
     ["-o 'out'", "not empty", "--force"]),
    ("out-exists-flow", "-o DIR", ["flow", "small.toml", "-o", "out"],
     ["-o 'out'", "not empty", "--force"]),
    ("out-exists-program", "-o DIR", ["program", "small.toml", "--calibration",
                                      "cal_ok.json", "-o", "out"],
     ["-o 'out'", "not empty", "--force"]),
    ("out-exists-sweep", "-o DIR", ["sweep", "small.toml", "-o", "out"],
     ["-o 'out'", "--force"]),
    ("out-is-file", "-o DIR", ["verilog", "small.toml", "-o", "a_file"],
     ["-o 'a_file'", "not a directory"]),
    ("out-under-file", "-o FILE", ["calibrate", "x.csv", "--column", "a", "--bits", "2",
                                   "-o", "a_file/c.json"],
     ["-o 'a_file/c.json'", "'a_file' is not a directory"]),
    ("out-is-input", "-o FILE", ["calibrate", "x.csv", "--column", "a", "--bits", "2",
                                 "-o", "x.csv"],
     ["-o 'x.csv'", "is the input DATA 'x.csv'", "allowed: an output path that is none of"]),
    ("out-is-input-weights", "-o FILE", ["mvm", "small.toml", "--weights", "w.npy",
                                         "--inputs", "x.npy", "-o", "w.npy"],
     ["-o 'w.npy'", "is the input --weights 'w.npy'", "never overwritten"]),
    ("out-two-outputs", "--save-calibration", ["mvm", "small.toml", "--weights", "w.npy",
                                               "--inputs", "x.npy", "--save-calibration",
                                               "y.npz", "-o", "y.npz"],
     ["--save-calibration 'y.npz'", "is also the output of -o",
      "a different path for each output"]),
    ("out-file-exists", "-o FILE", ["calibrate", "x.csv", "--column", "a", "--bits", "2",
                                    "-o", "old.json"],
     ["-o 'old.json'", "exists", "allowed: a new file name, or --force"]),
    ("out-symlink", "-o FILE", ["calibrate", "x.csv", "--column", "a", "--bits", "2",
                                "-o", "link.json", "--force"],
     ["-o 'link.json'", "is a symbolic link", "allowed: a new file name"]),
    ("out-device", "-o FILE", ["calibrate", "x.csv", "--column", "a", "--bits", "2",
                               "-o", "/dev/null", "--force"],
     ["-o '/dev/null'", "is a character device, not a regular file", "allowed: a new file"]),
    ("out-dir-holds-input", "-o DIR", ["verilog", "small.toml", "-o", ".", "--force"],
     ["-o '.'", "holds the input CONFIG 'small.toml'", "would destroy",
      "allowed: a directory that holds none"]),
    ("out-unwritable", "-o FILE", ["calibrate", "x.csv", "--column", "a", "--bits", "2",
                                   "-o", "/proc/sys/c.json"],
     ["-o '/proc/sys/c.json'", "'/proc/sys' is not writable",
      "allowed: a file in a writable directory"]),
]

ROW_IDS = [r[0] for r in ROWS]


def _snapshot(tmp: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(tmp):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), tmp) + "/"] = "dir"
        for f in filenames:
            p = Path(dirpath, f)
            if p.stat().st_size > 1 << 20:   # the sparse huge inputs: size and mtime
                out[os.path.relpath(p, tmp)] = f"{p.stat().st_size}:{p.stat().st_mtime_ns}"
            else:
                out[os.path.relpath(p, tmp)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _main(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as e:    # argparse's own errors
        return int(e.code)


@pytest.mark.parametrize(("row", "what", "argv", "fragments"), ROWS, ids=ROW_IDS)
def test_bad_input(row, what, argv, fragments, tmp_path, monkeypatch, capsys):
    _files(tmp_path)
    if "cal_bits.json" in argv or "cal_ok.json" in argv:
        _cal_other_bits(tmp_path)
    if any(a in CAL_FILES for a in argv):
        _cal_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    if row == "simulator-missing":
        monkeypatch.setenv("PATH", str(tmp_path / "out"))
    before = _snapshot(tmp_path)
    code = _main(argv)
    out, err = capsys.readouterr()
    assert code == 2, f"{row}: exit {code}\nstdout: {out}\nstderr: {err}"
    msg = " ".join(err.split())
    for frag in fragments:
        assert " ".join(frag.split()) in msg, f"{row}: {frag!r} not in: {err}"
    assert f"cimgen {argv[0]}" in err          # which command complained
    assert "Traceback" not in err
    assert _snapshot(tmp_path) == before, f"{row}: files changed"


def test_readme_table_matches_the_rows():
    """The README's bad-input table lists exactly these rows, in this order."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- bad-inputs -->(.*?)<!-- /bad-inputs -->", text, re.S)
    assert m, "README.md has no bad-input table between <!-- bad-inputs --> markers"
    ids = re.findall(r"^\| `([a-z0-9-]+)` \|", m.group(1), re.M)
    assert ids == ROW_IDS
