# amaranth: UnusedElaboratable=no
"""The emulator core (hdl.emu.core.Emulator) over its UART pins in amaranth.sim,
through a pure function ``rtl_exchange(requests) -> response bytes``: every response is
byte for byte the frame the protocol module packs (hdl.emu.protocol.response_frame),
STATUS the fields the layout describes, READ the twin model's results."""

import numpy as np

from golden.macro import default_calibration
from golden.spec import MacroSpec
from hdl.emu.client import MacroProgram, twin_reference
from hdl.emu.core import Emulator
from hdl.emu.protocol import (
    Command,
    Status,
    parse_responses,
    request_frame,
    response_frame,
)
from synth.simlink import SimSerial

SPEC = MacroSpec().replace(macro=dict(rows=4, cols=1, input_bits=2, weight_bits=3,
                                      cell_bits=2),
                           adc=dict(bits=2, lut_frac_bits=2, window_guard_pct=0.0))


def rtl_exchange(emu: Emulator, requests: list[bytes]) -> list[bytes]:
    """Send each request over the simulated UART and return the bytes that came back
    for it (read until the line is quiet)."""
    ser = SimSerial(emu, timeout_cycles=40 * emu.divisor + 4 * emu.cycles_per_mvm())
    out = []
    for req in requests:
        ser.write(req)
        ser.flush()
        out.append(ser.read(1 << 16))
    return out


def test_responses_are_the_protocol_frames():
    emu = Emulator(SPEC, clk_hz=1e6, baud=250e3, batch_max=2, noise_bits_max=1)
    lay = emu.layout
    x = np.array([[3, 0, 1, 2], [1, 1, 1, 1]])
    bad = bytearray(request_frame(Command.READ))
    bad[-1] ^= 0x10
    reqs = [request_frame(Command.WEIGHTS, bytes(lay.weights_len)),
            request_frame(Command.NOISE, lay.pack_noise(1, 9)),
            request_frame(Command.NOISE, lay.pack_noise(2, 9)),
            request_frame(Command.RUN, lay.pack_inputs(x)),
            request_frame(Command.READ),
            bytes(bad),
            request_frame(0x33),
            request_frame(Command.LUT, bytes(lay.lut_len - 1)),
            request_frame(Command.STATUS)]
    got = rtl_exchange(emu, reqs)
    frames = [parse_responses(g) for g in got]
    assert [len(f) for f in frames] == [1] * len(reqs)
    read = frames[4][0].payload
    assert len(read) == 2 * lay.result_bytes
    out, flags = lay.unpack_results(read)
    lo, hi = emu.initial_bounds()           # zero weights, the bitstream's Q-cells and LUTs
    prog = MacroProgram(np.zeros((4, SPEC.macro.phys_cols), dtype=int), lo, hi,
                        default_calibration(SPEC).lut_fixed(SPEC), None)
    want_out, want_flags = twin_reference(lay, prog, x, noise_bits=1, seed=9)
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(flags, want_flags)
    info = lay.decode_info(frames[-1][0].payload)
    assert (info["frames_ok"], info["frames_bad"], info["noise_bits"],
            info["last_batch"], info["dropped"]) == (5, 4, 1, 2, 0)
    status = {**dict(lay.static_info(), divisor=4, clk_hz=10**6), **info}
    want = [response_frame(Status.OK, Command.WEIGHTS),
            response_frame(Status.OK, Command.NOISE),
            response_frame(Status.BAD_ARGUMENT, Command.NOISE),
            response_frame(Status.OK, Command.RUN, b"\x02\x00"),
            response_frame(Status.OK, Command.READ, read),
            response_frame(Status.BAD_CRC, Command.READ),
            response_frame(Status.BAD_COMMAND, 0x33),
            response_frame(Status.BAD_LENGTH, Command.LUT),
            response_frame(Status.OK, Command.STATUS, b"".join(
                status[n].to_bytes(k, "little") for n, k in lay.info_fields))]
    assert got == want
