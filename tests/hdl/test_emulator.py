# amaranth: UnusedElaboratable=no
"""The board emulator in amaranth.sim, driven through its UART pins by the host
protocol code (synth.host over synth.simlink.SimSerial): outputs, flags and every
in_match beat against golden for five configs (two with a column mux, k = 2 and 8),
read noise against its model, every protocol error, and the host-side layout
(integer bounds, packing, limits)."""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, Value
from amaranth.sim import Simulator

from golden.crossbar import map_weights
from golden.digital import to_beats
from golden.macro import Macro, default_calibration
from golden.qcell import QCellBank
from golden.spec import MacroSpec
from hdl.emu.frames import crc8_update
from hdl.emulator import (
    SYNC_REQUEST,
    Command,
    Emulator,
    EmulatorLayout,
    Status,
    crc8,
    noise_sequence,
    xorshift32,
)
from synth.host import (
    BoardClient,
    BoardError,
    ProtocolError,
    frame,
    program_macro,
    twin_reference,
)
from synth.simlink import SimSerial

IDEAL_XBAR = {"program_sigma": "none", "read_sigma_us": 0.0, "seed": 5}

# name: (macro, adc, device). The crossbar is ideal in all of them (so golden's own
# Macro.run must agree too); the Q-cells carry bound variation, so flags differ
# between MVMs.
CONFIGS = {
    "win3-none-diff-unsigned-cb2": (
        dict(rows=6, cols=2, input_bits=3, weight_bits=4, cell_bits=2),
        dict(bits=3, encoding="window", window_guard_pct=0.0, lut_scope="per_slice"),
        dict(bound_variation_pct=3.0)),
    "thr3-nominal-offset-signed-cb1": (
        dict(rows=5, cols=2, input_bits=3, input_signed=True, weight_bits=3, cell_bits=1,
             mapping="offset"),
        dict(bits=3, encoding="threshold", sr="nominal", lut_scope="per_slice"),
        dict(bound_variation_pct=8.0)),
    "win2-interleaved-diff-signed-per_column": (
        dict(rows=4, cols=1, input_bits=2, input_signed=True, weight_bits=3, cell_bits=2),
        dict(bits=2, encoding="window", sr="interleaved", lut_scope="per_column",
             window_guard_pct=3.0),
        dict(bound_variation_pct=2.0)),
    # a column mux in front of the periphery (adc.columns_per_adc): two columns per ADC,
    # and one ADC per slice and polarity for all eight columns
    "win3-none-diff-unsigned-k2": (
        dict(rows=5, cols=4, input_bits=2, weight_bits=3, cell_bits=2),
        dict(bits=3, encoding="window", window_guard_pct=0.0, columns_per_adc=2),
        dict(bound_variation_pct=4.0)),
    "thr2-nominal-offset-signed-k8": (
        dict(rows=4, cols=8, input_bits=2, input_signed=True, weight_bits=3, cell_bits=2,
             mapping="offset"),
        dict(bits=2, encoding="threshold", sr="nominal", columns_per_adc=8),
        dict(bound_variation_pct=8.0)),
}


def make_spec(name):
    macro, adc, device = CONFIGS[name]
    return MacroSpec().replace(macro=macro, adc={"lut_frac_bits": 4, **adc},
                               device={**IDEAL_XBAR, **device})


def operands(spec, batch, seed):
    rng = np.random.default_rng(seed)
    m = spec.macro
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, size=(m.rows, m.cols))
    x = rng.integers(m.input_range[0], m.input_range[1] + 1, size=(batch, m.rows))
    return w, x


def make_board(spec, *, batch_max=5, noise_bits_max=2, timeout_cycles=None, monitors=()):
    emu = Emulator(spec, clk_hz=1e6, baud=250e3, batch_max=batch_max,
                   noise_bits_max=noise_bits_max, timeout_cycles=timeout_cycles)
    return emu, SimSerial(emu, monitors=monitors)


def beat_monitor(emu, beats):
    per = emu.periphery

    async def monitor(ctx):
        async for _, _, valid, ready, match in ctx.tick().sample(
                per.in_valid, per.in_ready, Value.cast(per.in_match)):
            if valid and ready:
                beats.append(match)
    return monitor


def match_ints(match):
    """Golden match vectors (batch, T, P, adcs, cells) as in_match integers."""
    flat = match.reshape(*match.shape[:2], -1).astype(object)
    weights = np.array([1 << i for i in range(flat.shape[-1])], dtype=object)
    return (flat * weights).sum(axis=-1).ravel().tolist()


# -- end to end against golden ---------------------------------------------------------

@pytest.mark.parametrize("name", list(CONFIGS))
def test_board_matches_golden(name):
    spec = make_spec(name)
    w, x = operands(spec, 12, seed=len(name))
    macro = Macro(spec, w)
    cal = macro.calibrate(x)
    beats = []
    emu = Emulator(spec, clk_hz=1e6, baud=250e3, batch_max=5, noise_bits_max=2)
    ser = SimSerial(emu, monitors=[beat_monitor(emu, beats)])
    client, info = BoardClient.connect(ser, spec)
    assert info["batch_max"] == 5 and info["rows"] == spec.macro.rows
    prog = program_macro(client.layout, w, cal)
    client.load_weights(prog.levels)
    client.load_bounds(prog.lo, prog.hi)
    client.load_lut(prog.luts)
    client.set_noise(0)
    out, flags = client.run(x)                      # 3 RUN batches: 5 + 5 + 2

    gold = macro.run(x)
    np.testing.assert_array_equal(out, gold.out)
    np.testing.assert_array_equal(flags, gold.flags)
    ref_out, ref_flags = twin_reference(client.layout, prog, x)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(flags, ref_flags)
    # the periphery's beats: the column mux's k per input bit, empty slots all zeros
    assert beats == match_ints(to_beats(macro.match_vectors(x), spec))
    assert len(set(flags.tolist())) > 1, "the workload should exercise the flags"
    assert ser.framing_errors == 0


def test_read_noise_matches_its_model():
    spec = make_spec("win3-none-diff-unsigned-cb2")
    w, x = operands(spec, 7, seed=3)
    macro = Macro(spec, w)
    cal = macro.calibrate(x)
    _, ser = make_board(spec)
    client, _ = BoardClient.connect(ser, spec)
    prog = program_macro(client.layout, w, cal)
    client.load_weights(prog.levels)
    client.load_bounds(prog.lo, prog.hi)
    client.load_lut(prog.luts)
    client.set_noise(2, seed=0xC0FFEE)
    out, flags = client.run(x)
    # every RUN restarts the generator from the seed
    ref = [twin_reference(client.layout, prog, x[lo:lo + 5], noise_bits=2, seed=0xC0FFEE)
           for lo in (0, 5)]
    np.testing.assert_array_equal(out, np.concatenate([r[0] for r in ref]))
    np.testing.assert_array_equal(flags, np.concatenate([r[1] for r in ref]))
    quiet = twin_reference(client.layout, prog, x)[0]
    assert (out != quiet).any(), "noise of +-3 units should change some outputs"


def test_bitstream_contents_without_loads():
    """Power-up state: zero weights, the nominal Q-cells and LUTs of the default
    calibration; every output is the LUT value of partial sum 0, shift-added."""
    spec = make_spec("win3-none-diff-unsigned-cb2")
    _, x = operands(spec, 3, seed=1)
    _, ser = make_board(spec)
    client, info = BoardClient.connect(ser, spec)
    assert info["noise_bits"] == 0 and info["last_batch"] == 0
    out, flags = client.run(x)
    zero_w = np.zeros((spec.macro.rows, spec.macro.cols), dtype=np.int64)
    gold = Macro(spec, zero_w, calibration=default_calibration(spec)).run(x)
    np.testing.assert_array_equal(out, gold.out)
    np.testing.assert_array_equal(flags, gold.flags)


# -- protocol errors -------------------------------------------------------------------

def raw(ser, data):
    """Send raw bytes; return (status, cmd, payload) of the response."""
    ser.write(data)
    head = ser.read(5)
    assert len(head) == 5 and head[0] == 0x5A, head
    n = head[3] | head[4] << 8
    rest = ser.read(n + 1)
    assert crc8(head[1:] + rest) == 0
    return head[1], head[2], rest[:-1]


@pytest.fixture(scope="module")
def board():
    spec = make_spec("win3-none-diff-unsigned-cb2")
    emu, ser = make_board(spec, timeout_cycles=2000)
    return spec, emu, ser


def test_bad_crc(board):
    _, _, ser = board
    f = bytearray(frame(Command.STATUS))
    f[-1] ^= 0x01
    assert raw(ser, bytes(f)) == (Status.BAD_CRC, Command.STATUS, b"")


def test_unknown_command(board):
    _, _, ser = board
    assert raw(ser, frame(0x42)) == (Status.BAD_COMMAND, 0x42, b"")


@pytest.mark.parametrize("cmd, cut", [(Command.WEIGHTS, 1), (Command.BOUNDS, 2),
                                      (Command.LUT, -1)])
def test_wrong_load_length(board, cmd, cut):
    _, emu, ser = board
    n = {Command.WEIGHTS: emu.layout.weights_len, Command.BOUNDS: emu.layout.bounds_len,
         Command.LUT: emu.layout.lut_len}[cmd]
    assert raw(ser, frame(cmd, bytes(n - cut)))[:2] == (Status.BAD_LENGTH, cmd)


def test_status_with_payload(board):
    _, _, ser = board
    assert raw(ser, frame(Command.STATUS, b"\x00"))[:2] == (Status.BAD_LENGTH, Command.STATUS)


def test_run_partial_vector(board):
    _, emu, ser = board
    assert raw(ser, frame(Command.RUN, bytes(emu.layout.vector_bytes + 1)))[0] \
        == Status.BAD_LENGTH


def test_run_too_many_vectors(board):
    _, emu, ser = board
    n = (emu.layout.batch_max + 1) * emu.layout.vector_bytes
    assert raw(ser, frame(Command.RUN, bytes(n)))[0] == Status.BAD_LENGTH


def test_empty_run(board):
    _, _, ser = board
    assert raw(ser, frame(Command.RUN))[0] == Status.BAD_LENGTH


def test_noise_wider_than_built(board):
    _, emu, ser = board
    payload = emu.layout.pack_noise(emu.layout.noise_bits_max + 1, 7)
    assert raw(ser, frame(Command.NOISE, payload))[0] == Status.BAD_ARGUMENT


def test_garbage_and_abandoned_frame_are_dropped(board):
    _, emu, ser = board
    client = BoardClient(ser, emu.layout)
    before = client.status()
    ser.write(b"\x00\x13\x37")                         # outside any frame
    ser.write(bytes([SYNC_REQUEST, Command.WEIGHTS, 0x10]))   # then silence
    ser.flush()
    ser.idle(emu.timeout_cycles + 100)
    after = client.status()
    assert after["dropped"] == before["dropped"] + 4   # 3 stray bytes + 1 abandoned frame
    assert after["frames_ok"] == before["frames_ok"] + 1


def test_error_counters(board):
    _, emu, ser = board
    client = BoardClient(ser, emu.layout)
    before = client.status()
    raw(ser, frame(0x77))
    raw(ser, frame(0x78))
    after = client.status()
    assert after["frames_bad"] == before["frames_bad"] + 2
    assert after["frames_ok"] == before["frames_ok"] + 1
    assert after["uart_errors"] == 0


def test_client_raises_board_error(board):
    _, emu, ser = board
    client = BoardClient(ser, emu.layout)
    with pytest.raises(BoardError, match="WEIGHTS: the board answered BAD_LENGTH"):
        client.request(Command.WEIGHTS, b"\x01")


def test_config_mismatch_is_named(board):
    spec, _, ser = board
    other = spec.replace(macro={"rows": spec.macro.rows + 1})
    with pytest.raises(ProtocolError, match=r"different config \(rows: board 6, config 7"):
        BoardClient.connect(ser, other)


def test_decoder_mismatch_is_caught():
    spec = make_spec("thr3-nominal-offset-signed-cb1")
    emu = Emulator(spec.replace(adc={"decoder": "majority"}), clk_hz=1e6, baud=250e3,
                   batch_max=2)
    client, info = BoardClient.connect(SimSerial(emu), spec)
    assert client.layout.decoder == "majority" and info["decoder"] == 1
    with pytest.raises(ProtocolError, match="different config"):
        ones = spec.replace(adc={"decoder": "ones"})
        BoardClient(client.transport, EmulatorLayout(ones, 2, 3)).check()


def test_no_answer_times_out():
    class Deaf:
        def write(self, data):
            return len(data)

        def read(self, n):
            return b""

    spec = make_spec("win3-none-diff-unsigned-cb2")
    client = BoardClient(Deaf(), EmulatorLayout(spec), retries=1)
    with pytest.raises(ProtocolError, match="timeout: got 0 of 1 bytes"):
        client.status()


# -- layout and host-side encoding -----------------------------------------------------

def test_crc8_check_value():
    assert crc8(b"123456789") == 0xF4               # CRC-8 (ATM / SMBus PEC) check value
    msg = b"\x06\x03\x00abc"
    assert crc8(msg + bytes([crc8(msg)])) == 0


def test_crc8_hardware_equals_software():
    crc, byte = Signal(8), Signal(8)
    out = Signal(8)
    m = Module()
    m.d.comb += out.eq(crc8_update(crc, byte))
    sim = Simulator(m)
    rng = np.random.default_rng(0)
    pairs = [(int(c), b) for c in rng.integers(0, 256, 6) for b in range(256)]
    bad = []

    async def tb(ctx):
        for c, b in pairs:
            ctx.set(crc, c)
            ctx.set(byte, b)
            if ctx.get(out) != crc8(bytes([b]), c):
                bad.append((c, b))

    sim.add_testbench(tb)
    sim.run()
    assert bad == []


def test_noise_sequence():
    n = noise_sequence(7, 3, (4, 3, 5))
    assert n.shape == (4, 3, 5) and n.dtype == np.int64
    assert n.min() >= -7 and n.max() <= 7 and n.std() > 1
    np.testing.assert_array_equal(noise_sequence(7, 3, (60,)), n.ravel())
    assert not noise_sequence(7, 0, (10,)).any()
    np.testing.assert_array_equal(noise_sequence(0, 2, (5,)), noise_sequence(1, 2, (5,)))
    assert xorshift32(1) == 270369


def exhaustive_match(lay, lo, hi):
    v = np.arange(-lay.noise_max, lay.ps_max + lay.noise_max + 1)[:, None, None, None]
    return (v >= lo) & (v <= hi)


@pytest.mark.parametrize("encoding", ["window", "threshold"])
def test_integer_bounds_equal_bank_match(encoding):
    spec = MacroSpec().replace(macro=dict(rows=5, cols=1, weight_bits=2, cell_bits=2,
                                          mapping="offset"),
                               adc=dict(bits=2, encoding=encoding))
    lay = EmulatorLayout(spec, noise_bits_max=2)
    rng = np.random.default_rng(1)
    p, cells = spec.macro.phys_cols, spec.adc.cells
    b = np.sort(rng.uniform(-4, 20, size=(p, 1, cells)), axis=-1)
    b[0, 0, 1] = 7.0                                   # exactly on an integer
    if encoding == "window":
        lower, upper = b.copy(), b + rng.uniform(-2, 4, size=b.shape)   # some crossed
        lower[..., 0], upper[..., -1] = -np.inf, np.inf
        upper[1, 0, 0] = 1e9                           # beyond the representable range
        lower[1, 0, 2] = -1e9
        bank = QCellBank("window", lower=lower, upper=upper)
    else:
        b[1, 0, 0] = -1e9
        b[1, 0, 2] = 1e9
        bank = QCellBank("threshold", thresholds=b)
    lo, hi = lay.integer_bounds(bank)
    bmin, bmax = lay.bound_range
    assert lo.min() >= bmin and hi.max() <= bmax
    v = np.arange(-lay.noise_max, lay.ps_max + lay.noise_max + 1, dtype=np.float64)
    want = bank.match(v[:, None, None])
    np.testing.assert_array_equal(exhaustive_match(lay, lo, hi), want)


def test_integer_bounds_wrong_bank():
    spec = make_spec("win3-none-diff-unsigned-cb2")
    lay = EmulatorLayout(spec)
    bank = QCellBank("threshold", thresholds=np.zeros((spec.macro.phys_cols, 1, 7)))
    with pytest.raises(ValueError, match="the spec needs window"):
        lay.integer_bounds(bank)


def test_layout_widths():
    spec = MacroSpec().replace(macro=dict(rows=16, cols=4), adc=dict(bits=4))
    lay = EmulatorLayout(spec, batch_max=32, noise_bits_max=3)
    assert lay.ps_max == 48 and lay.noise_max == 7
    assert lay.bound_width == 7 and lay.bound_range == (-64, 63)   # holds -7..55
    assert lay.row_bits == 16 * 2 and lay.row_bytes == 4
    assert lay.cells_total == 16 * 16 and lay.bounds_len == 256 * 2
    assert lay.vector_bytes == 16 and lay.result_bytes == 4 * lay.out_bytes + 1
    assert lay.info_len == sum(n for _, n in lay.info_fields)
    assert lay.config_id == EmulatorLayout(spec, 32, 3).config_id
    assert lay.config_id != EmulatorLayout(spec, 31, 3).config_id


def test_pack_round_trips():
    spec = make_spec("thr3-nominal-offset-signed-cb1")
    lay = EmulatorLayout(spec, batch_max=4)
    w, x = operands(spec, 4, seed=2)
    levels = map_weights(w, spec.macro)
    raw_w = lay.pack_weights(levels)
    assert len(raw_w) == lay.weights_len
    word = int.from_bytes(raw_w[:lay.row_bytes], "little")
    assert [(word >> p) & 1 for p in range(spec.macro.phys_cols)] == levels[0].tolist()
    raw_x = lay.pack_inputs(x)
    back = np.frombuffer(raw_x, dtype=np.uint8).reshape(x.shape).astype(np.int64)
    np.testing.assert_array_equal(np.where(back > 127, back - 256, back), x)
    out = np.array([[-(1 << (lay.out_width - 1)), (1 << (lay.out_width - 1)) - 1],
                    [-1, 0]])
    payload = b"".join(
        b"".join(int(v).to_bytes(lay.out_bytes, "little", signed=True) for v in row) + bytes([f])
        for row, f in zip(out, (3, 8), strict=True))
    got, flags = lay.unpack_results(payload)
    np.testing.assert_array_equal(got, out)
    assert flags.tolist() == [3, 8]


def test_pack_rejects_out_of_range():
    spec = make_spec("win3-none-diff-unsigned-cb2")
    lay = EmulatorLayout(spec, batch_max=2)
    with pytest.raises(ValueError, match=r"inputs: shape \(3, 6\) must be \(1\.\.2, 6\)"):
        lay.pack_inputs(np.zeros((3, 6), dtype=int))
    with pytest.raises(ValueError, match=r"levels: values must be in 0\.\.3"):
        lay.pack_weights(np.full((6, spec.macro.phys_cols), 4))
    lo = np.zeros((spec.macro.phys_cols, 1, spec.adc.cells), dtype=int)
    with pytest.raises(ValueError, match=r"bounds hi: values must be in"):
        lay.pack_bounds(lo, lo + 1000)


def test_layout_parameter_checks():
    spec = make_spec("win3-none-diff-unsigned-cb2")
    with pytest.raises(ValueError, match=r"batch_max = 0: must be an integer in 1\.\.4096"):
        EmulatorLayout(spec, batch_max=0)
    with pytest.raises(ValueError, match=r"noise_bits_max = 9: must be an integer in 0\.\.8"):
        EmulatorLayout(spec, noise_bits_max=9)
    with pytest.raises(ValueError, match=r"decoder = 'ones': encoding 'window' allows"):
        EmulatorLayout(spec.replace(adc={"decoder": "ones"}))
    big = MacroSpec().replace(macro=dict(rows=4096, cols=8))
    with pytest.raises(ValueError, match=r"the RUN payload would be 131072 bytes"):
        EmulatorLayout(big, batch_max=32)


def test_emulator_parameter_checks():
    spec = make_spec("win3-none-diff-unsigned-cb2")
    with pytest.raises(ValueError, match=r"baud = 500000: needs at least 4 clock cycles"):
        Emulator(spec, clk_hz=1e6, baud=5e5)
    with pytest.raises(ValueError, match=r"timeout_cycles = 10: must be an integer in 44\.\."):
        Emulator(spec, clk_hz=1e6, baud=250e3, timeout_cycles=10)


def test_cycles_per_mvm():
    spec = make_spec("win3-none-diff-unsigned-cb2")
    emu = Emulator(spec, clk_hz=12e6)
    lay = emu.layout
    assert emu.divisor == 104
    assert emu.cycles_per_mvm() == 3 * (6 + lay.cells_total + 5) + lay.result_bytes + 4
