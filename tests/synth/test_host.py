"""``cimgen board`` (host side, synth.host) against the emulator in amaranth.sim behind
a simulated serial port (``--port sim``): every output compared with golden for two
configs, user files in and out, status, and every failure mapped to its exit code."""

import numpy as np
import pytest

from cimgen import cli

SMALL = {"macro": {"rows": 6, "cols": 2, "input_bits": 3, "weight_bits": 4, "cell_bits": 2},
         "adc": {"bits": 3, "lut_frac_bits": 4, "window_guard_pct": 0.0},
         "device": {"program_sigma": "none", "read_sigma_us": 0.0,
                    "bound_variation_pct": 3.0, "seed": 2}}
THRESHOLD_SR = {
    "macro": {"rows": 5, "cols": 2, "input_bits": 3, "input_signed": True, "weight_bits": 3,
              "cell_bits": 1, "mapping": "offset"},
    "adc": {"bits": 3, "encoding": "threshold", "sr": "calibrated", "lut_frac_bits": 4},
    "device": {"bound_variation_pct": 5.0, "seed": 3},   # with programming error and noise
}


def board(argv, capsys):
    code = cli.main(["board", *map(str, argv)])
    return code, capsys.readouterr()


@pytest.mark.parametrize("doc", [SMALL, THRESHOLD_SR], ids=["window", "threshold-sr"])
def test_run_equals_golden(config_file, capsys, doc):
    cfg = config_file(doc)
    code, cap = board(["run", cfg, "--port", "sim", "--vectors", "9", "--batch-max", "4"],
                      capsys)
    assert code == 0, cap.err
    assert "outputs equal 18/18, flags equal 9/9" in cap.out
    assert "ran 9 MVMs in 3 RUN batches" in cap.out
    if doc is SMALL:     # ideal crossbar: the analog golden macro agrees too
        assert "golden analog macro model (crossbar device effects, Gaussian read noise): " \
               "18/18 outputs equal" in cap.out


def test_run_files_and_noise(config_file, tmp_path, capsys):
    cfg = config_file(SMALL)
    rng = np.random.default_rng(4)
    w = rng.integers(-8, 8, size=(6, 2))
    x = rng.integers(0, 8, size=(5, 6))
    np.save(tmp_path / "w.npy", w)
    np.savetxt(tmp_path / "x.csv", x, fmt="%d", delimiter=",")
    out = tmp_path / "res.npz"
    code, cap = board(["run", cfg, "--port", "sim", "--weights", tmp_path / "w.npy",
                       "--inputs", tmp_path / "x.csv", "--noise-bits", "2",
                       "--noise-seed", "99", "-o", out], capsys)
    assert code == 0, cap.err
    assert "emulator read noise): outputs equal 10/10" in cap.out
    with np.load(out) as z:
        np.testing.assert_array_equal(z["x"], x)
        np.testing.assert_array_equal(z["weights"], w)
        np.testing.assert_array_equal(z["out"], z["golden_out"])
        np.testing.assert_array_equal(z["flags"], z["golden_flags"])
        assert int(z["frac_bits"]) == 4


def test_status(config_file, capsys):
    code, cap = board(["status", config_file(SMALL), "--port", "sim", "--batch-max", "3"],
                      capsys)
    assert code == 0
    assert "batch 3" in cap.out
    fields = dict(line.split() for line in cap.out.splitlines()[1:])
    assert fields["rows"] == "6" and fields["batch_max"] == "3"
    assert fields["frames_ok"] == "1" and fields["frames_bad"] == "0"


def test_mismatch_exits_1(config_file, capsys, monkeypatch):
    import synth.host

    real = synth.host.twin_reference

    def off_by_one(*args, **kw):
        out, flags = real(*args, **kw)
        out = out.copy()
        out[0, 1] += 1
        return out, flags

    monkeypatch.setattr(synth.host, "twin_reference", off_by_one)
    code, cap = board(["run", config_file(SMALL), "--port", "sim", "--vectors", "2"], capsys)
    assert code == 1
    assert "check failed: the board differs from golden: vector 0 column 1: board" in cap.err


@pytest.mark.parametrize("args, message", [
    (["--noise-bits", "4"], "--noise-bits 4: the board was built with --noise-bits-max 3"),
    (["--noise-bits", "9"], "--noise-bits 9: must be an integer in 0..8"),
    (["--vectors", "0"], "--vectors 0: must be at least 1"),
    (["--batch-max", "0"], "--batch-max 0: must be an integer in 1..4096"),
])
def test_bad_options(config_file, capsys, args, message):
    code, cap = board(["run", config_file(SMALL), "--port", "sim", *args], capsys)
    assert code == 2
    assert message in cap.err


def test_bad_inputs_file(config_file, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 5), dtype=int))
    code, cap = board(["run", config_file(SMALL), "--port", "sim", "--inputs",
                       tmp_path / "x.npy"], capsys)
    assert code == 2
    assert "shape (2, 5); the macro needs (vectors, 6)" in cap.err


def test_weights_out_of_range(config_file, tmp_path, capsys):
    np.save(tmp_path / "w.npy", np.full((6, 2), 8))
    code, cap = board(["run", config_file(SMALL), "--port", "sim", "--weights",
                       tmp_path / "w.npy"], capsys)
    assert code == 2
    assert "is outside -8..7" in cap.err


def test_port_cannot_open(config_file, tmp_path, capsys):
    pytest.importorskip("serial")
    code, cap = board(["status", config_file(SMALL), "--port", tmp_path / "ttyNONE",
                       "--timeout", "0.2"], capsys)
    assert code == 2
    assert "cannot open it" in cap.err


def test_board_is_not_an_emulator(config_file, capsys, monkeypatch):
    """A port that answers nothing: named as a port problem, exit 2."""
    import cimgen.board

    class Silent:
        def write(self, data):
            return len(data)

        def read(self, n):
            return b""

        def close(self):
            pass

    monkeypatch.setattr(cimgen.board, "_open", lambda args, spec: Silent())
    code, cap = board(["status", config_file(SMALL), "--port", "/dev/ttyFAKE"], capsys)
    assert code == 2
    assert "--port '/dev/ttyFAKE': timeout: got 0 of 1 bytes" in cap.err
