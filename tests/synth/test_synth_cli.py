"""``cimgen synth`` without the tools: board list, and every bad input refused with
exit code 2 and a message naming it, before anything is built."""

import pytest

from cimgen import cli
from synth.boards import BOARDS, get_board


def run(argv, capsys):
    code = cli.main(["synth", *map(str, argv)])
    return code, capsys.readouterr()


def test_list_boards(capsys):
    code, cap = run(["--list-boards"], capsys)
    assert code == 0
    names = [line.split()[0] for line in cap.out.splitlines()]
    assert names == list(BOARDS)
    assert "icebreaker" in names and "ulx3s-85f" in names
    assert "iCE40UP5K" in cap.out and "LFE5U-85F" in cap.out


def test_unknown_board(config_file, capsys):
    code, cap = run([config_file({}), "--board", "nexys"], capsys)
    assert code == 2
    assert "--board: unknown board 'nexys'; known boards: icebreaker, ulx3s-12f" in cap.err


def test_unknown_board_in_config(config_file, capsys):
    code, cap = run([config_file({"fpga": {"board": "arty"}})], capsys)
    assert code == 2
    assert "[fpga] board in" in cap.err and "unknown board 'arty'" in cap.err


def test_config_required(capsys):
    code, cap = run([], capsys)
    assert code == 2 and "CONFIG: required (or --list-boards)" in cap.err


def test_missing_config_file(tmp_path, capsys):
    code, cap = run([tmp_path / "nope.toml"], capsys)
    assert code == 2 and "no such file" in cap.err


@pytest.mark.parametrize("args, message", [
    (["--decoder", "ones"], "--decoder 'ones': adc.encoding = 'window' allows 'priority'"),
    (["--batch-max", "0"], "--batch-max 0: must be an integer in 1..4096"),
    (["--noise-bits-max", "9"], "--noise-bits-max 9: must be an integer in 0..8"),
    (["--memory", "distributed"], "--memory distributed: icebreaker (iCE40UP5K) has no "
                                  "distributed RAM"),
    (["--emulator", "--baud", "6000000"], "--baud 6000000: needs at least 4 clock cycles"),
    (["--tile", "0,0"], "--tile '0,0': only applies with --calibration FILE"),
])
def test_bad_options(config_file, capsys, args, message):
    code, cap = run([config_file({}), *args], capsys)
    assert code == 2
    assert message in cap.err


def test_out_not_empty(config_file, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep").write_text("x")
    code, cap = run([config_file({}), "-o", out], capsys)
    assert code == 2 and "exists and is not empty" in cap.err
    assert (out / "keep").read_text() == "x"


def test_missing_tool_is_bad_input(config_file, tmp_path, capsys, monkeypatch):
    pytest.importorskip("amaranth_boards")
    monkeypatch.setenv("NEXTPNR_ICE40", str(tmp_path / "no-such-nextpnr"))
    code, cap = run([config_file({}), "--report-only", "-o", tmp_path / "o"], capsys)
    assert code == 2
    assert "toolchain: nextpnr-ice40: $NEXTPNR_ICE40" in cap.err
    assert not (tmp_path / "o").exists()


def test_boards_pins_from_platforms():
    pytest.importorskip("amaranth_boards")
    pins = get_board("icebreaker").pins()
    assert pins == {"clk": "35", "rx": "6", "tx": "9", "clk_hz": 12e6}
    assert get_board("ulx3s-85f").pins()["clk_hz"] == 25e6


def test_get_board_error():
    with pytest.raises(KeyError, match="unknown board 'x'; known boards: icebreaker"):
        get_board("x")
