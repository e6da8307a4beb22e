"""The emulator's protocol modules (hdl.emu.protocol, .layout, .client) as pure Python:
frames packed and parsed, the command tables, STATUS decoding, the twin model; and
that they load without Amaranth (the host and the benches use them)."""

import subprocess
import sys

import numpy as np
import pytest

from golden.crossbar import map_weights
from golden.macro import Macro
from golden.spec import MacroSpec
from hdl.emu.client import program_macro, twin_match, twin_reference
from hdl.emu.layout import EmulatorLayout
from hdl.emu.protocol import (
    SYNC_REQUEST,
    SYNC_RESPONSE,
    Command,
    Frame,
    Status,
    crc8,
    crc8_columns,
    parse_requests,
    parse_responses,
    request_frame,
    response_frame,
)

SPEC = MacroSpec().replace(macro=dict(rows=6, cols=2, input_bits=3, weight_bits=4,
                                      cell_bits=2),
                           adc=dict(bits=3, lut_frac_bits=4, window_guard_pct=0.0),
                           device=dict(program_sigma="none", read_sigma_us=0.0,
                                       bound_variation_pct=3.0, seed=5))


def test_pure_python():
    code = ("import sys, hdl.emu.protocol, hdl.emu.layout, hdl.emu.client, synth.host; "
            "sys.exit('amaranth' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_request_frame_layout():
    f = request_frame(Command.NOISE, b"\x02\x01\x00\x00\x00")
    assert f[:4] == bytes([SYNC_REQUEST, 0x05, 5, 0]) and len(f) == 10
    assert crc8(f[1:]) == 0
    assert request_frame(Command.STATUS) == bytes([0xA5, 0x01, 0, 0, crc8(b"\x01\x00\x00")])
    with pytest.raises(ValueError, match="at most 65535"):
        request_frame(Command.RUN, bytes(0x10000))


def test_response_frame_layout():
    f = response_frame(Status.OK, Command.RUN, b"\x03\x00")
    assert f == bytes([SYNC_RESPONSE, 0, 6, 2, 0, 3, 0, crc8(bytes([0, 6, 2, 0, 3, 0]))])


def test_parse_round_trip_with_noise_between_frames():
    reqs = [(Command.STATUS, b""), (Command.WEIGHTS, bytes(range(40))), (0x42, b"\xa5")]
    stream = b"\x00\x13" + b"".join(request_frame(c, p) + b"\x77" for c, p in reqs)
    assert parse_requests(stream) == [Frame(c, p, True) for c, p in reqs]
    bad = bytearray(request_frame(Command.LUT, b"\x01\x02"))
    bad[-1] ^= 1
    assert parse_requests(bytes(bad) + request_frame(Command.READ)[:3]) == \
        [Frame(Command.LUT, b"\x01\x02", False)]
    resp = response_frame(Status.BAD_LENGTH, Command.WEIGHTS) + response_frame(0, 1, b"ab")
    assert parse_responses(resp) == [Frame(Command.WEIGHTS, b"", True, Status.BAD_LENGTH),
                                     Frame(1, b"ab", True, 0)]


def test_crc8_columns_are_linear():
    cols = crc8_columns()
    rng = np.random.default_rng(0)
    for c, b in rng.integers(0, 256, size=(50, 2)).tolist():
        x, want = c ^ b, 0
        for i in range(8):
            if (x >> i) & 1:
                want ^= cols[i]
        assert crc8(bytes([b]), c) == want


def test_command_tables():
    lay = EmulatorLayout(SPEC, batch_max=4)
    assert set(lay.request_lengths) == set(Command)
    assert lay.request_lengths[Command.RUN] is None
    assert lay.request_lengths[Command.WEIGHTS] == len(lay.pack_weights(
        np.zeros((6, SPEC.macro.phys_cols), dtype=int)))
    assert lay.request_lengths[Command.NOISE] == len(lay.pack_noise(1, 2))
    lo = np.zeros((SPEC.macro.phys_cols, 1, SPEC.adc.cells), dtype=int)
    assert lay.request_lengths[Command.BOUNDS] == len(lay.pack_bounds(lo, lo))
    for cmd, n in lay.word_bytes.items():       # every fixed payload is whole words
        total = lay.request_lengths[cmd]
        assert total is None or total % n == 0
    assert lay.vector_bytes % lay.word_bytes[Command.RUN] == 0


def test_decode_info():
    lay = EmulatorLayout(SPEC, batch_max=4)
    values = dict(lay.static_info(), divisor=4, clk_hz=10**6, noise_bits=2, last_batch=3,
                  frames_ok=7, frames_bad=1, dropped=0x1234, uart_errors=0)
    payload = b"".join(values[n].to_bytes(k, "little") for n, k in lay.info_fields)
    assert lay.decode_info(payload) == values
    with pytest.raises(ValueError, match="STATUS payload of 52 bytes; this host expects 53"):
        lay.decode_info(payload[:-1])


def test_twin_match_is_the_bank_match():
    lay = EmulatorLayout(SPEC, batch_max=4)
    rng = np.random.default_rng(3)
    w = rng.integers(-8, 8, size=(6, 2))
    x = rng.integers(0, 8, size=(4, 6))
    prog = program_macro(lay, w, Macro(SPEC, w).calibrate(x))
    np.testing.assert_array_equal(prog.levels, map_weights(w, SPEC.macro))
    match = twin_match(lay, prog.levels, prog.lo, prog.hi, x)
    np.testing.assert_array_equal(match, prog.macro.match_vectors(x))
    out, flags = twin_reference(lay, prog, x)
    gold = prog.macro.run(x)
    np.testing.assert_array_equal(out, gold.out)
    np.testing.assert_array_equal(flags, gold.flags)
