"""cocotb tests of the board emulator top over its UART pins, driven by the host code.

The exported :class:`hdl.emulator.Emulator` (``cim_emulator``, run through
:mod:`sim.emulator_runner`) is reached only through ``uart_rx`` and ``uart_tx``:

* :class:`UartSource` drives ``uart_rx`` bit by bit (8N1, LSB first, the emulator's
  bit time), :class:`UartSink` samples ``uart_tx`` mid-bit into received bytes;
* :class:`SimTransport` puts them behind the ``write``/``read`` interface of a serial
  port, so the *unchanged* :class:`synth.host.BoardClient` talks to the simulated
  pins exactly as to a board: it runs in a :func:`cocotb.task.bridge` thread, and each
  ``write``/``read`` resumes the simulation (:func:`cocotb.task.resume`) until the bytes
  are sent or have arrived (or the read times out, in simulated time);
* :class:`ResponseCounter` parses the ``uart_tx`` byte stream on its own, so a response
  lost, duplicated or framed wrongly is counted even where the host would skip it.

The plan (:data:`sim.benchlib.PLAN_ENV`) names the emulator's ``emulator.json``
(config, build options, UART divisor, cycles per MVM) and holds ``seed``, ``vectors``,
``noise_bits`` and ``noise_seed``.
"""

from __future__ import annotations

from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, Event, FallingEdge, SimTimeoutError, Timer, with_timeout

from golden.crossbar import input_bit_planes
from golden.digital import digital_path
from golden.macro import Macro
from golden.spec import MacroSpec
from hdl.emu.client import BoardClient, BoardError, program_macro, twin_reference
from hdl.emu.protocol import SYNC_RESPONSE, Command, Status, crc8, noise_sequence

from .benchlib import CLOCK_NS, high, load_json, load_plan, tallied

RESET_CYCLES = 4


class UartSource:
    """Drives a UART line with queued bytes: 8N1, LSB first, ``bit_cycles`` clock
    cycles per bit. A burst starts on a falling clock edge, so every transition is half
    a cycle away from the edges where the DUT samples."""

    def __init__(self, pin, clk, bit_cycles: int):
        self.pin, self.clk = pin, clk
        self.bit_ns = bit_cycles * CLOCK_NS
        self.queue: deque[int] = deque()
        self.sent = 0
        self._wake = Event()
        pin.value = 1

    def send(self, data: bytes) -> None:
        self.queue.extend(data)
        self._wake.set()

    async def run(self) -> None:
        while True:
            if not self.queue:
                self._wake.clear()
                await self._wake.wait()
                await FallingEdge(self.clk)
                continue
            b = self.queue.popleft()
            for bit in (0, *((b >> i) & 1 for i in range(8)), 1):
                self.pin.value = bit
                await Timer(self.bit_ns, unit="ns")
            self.sent += 1


class UartSink:
    """Samples a UART line: a falling edge, the start bit checked half a bit later, then
    each data bit and the stop bit one bit time apart. Bytes with a good stop bit go to
    :attr:`queue` and to ``on_byte``; the others count as framing errors."""

    def __init__(self, pin, bit_cycles: int, on_byte=None):
        self.pin = pin
        self.bit_ns = bit_cycles * CLOCK_NS
        self.queue: deque[int] = deque()
        self.got = Event()
        self.on_byte = on_byte
        self.received = 0
        self.framing_errors = 0
        self.glitches = 0
        self.unknown = 0

    async def run(self) -> None:
        while True:
            await FallingEdge(self.pin)
            await Timer(self.bit_ns // 2, unit="ns")
            if high(self.pin):
                self.glitches += 1
                continue
            b = 0
            for i in range(8):
                await Timer(self.bit_ns, unit="ns")
                if not self.pin.value.is_resolvable:
                    self.unknown += 1
                b |= high(self.pin) << i
            await Timer(self.bit_ns, unit="ns")
            if not high(self.pin):
                self.framing_errors += 1
                continue
            self.received += 1
            self.queue.append(b)
            if self.on_byte is not None:
                self.on_byte(b)
            self.got.set()


class ResponseCounter:
    """Splits the emulator's byte stream into response frames (``5A STATUS CMD LEN_LO
    LEN_HI PAYLOAD CRC``) independently of the host: counts whole frames, frames with a
    bad CRC and bytes outside any frame, and keeps each frame's ``(status, cmd)``."""

    def __init__(self):
        self.frames: list[tuple[int, int]] = []
        self.bad_crc = 0
        self.bad_frames: list[str] = []
        self.stray = 0
        self._buf = bytearray()

    def feed(self, b: int) -> None:
        if not self._buf and b != SYNC_RESPONSE:
            self.stray += 1
            return
        self._buf.append(b)
        if len(self._buf) >= 5:
            n = self._buf[3] | (self._buf[4] << 8)
            if len(self._buf) == 6 + n:
                body = bytes(self._buf[1:])
                if crc8(body) != 0:
                    self.bad_crc += 1
                    if len(self.bad_frames) < 2:
                        self.bad_frames.append(bytes(self._buf).hex(" "))
                self.frames.append((self._buf[1], self._buf[2]))
                self._buf.clear()

    @property
    def partial(self) -> bool:
        return bool(self._buf)


class SimTransport:
    """The part of ``serial.Serial`` that :class:`synth.host.BoardClient` uses
    (``write``, ``read`` that returns short on timeout), on the simulated UART.

    Call it from a :func:`cocotb.task.bridge` thread: each call resumes the simulation
    until it is done. ``read`` waits at most ``timeout_ns`` of simulated time for each
    byte. Bytes the host left unread when it sends its next request are recorded as
    unexpected in ``tally``. With :attr:`corrupt_next` set, the next frame written
    leaves with its CRC byte flipped (a line fault injected below the host code).
    """

    def __init__(self, source: UartSource, sink: UartSink, timeout_ns: int, tally):
        self.source, self.sink = source, sink
        self.timeout_ns = timeout_ns
        self.tally = tally
        self.frames_written = 0
        self.corrupted = 0
        self.corrupt_next = False
        self.timeouts = 0

    def write(self, data: bytes) -> int:
        return resume(self._write)(bytes(data))

    def read(self, n: int = 1) -> bytes:
        return resume(self._read)(n)

    def send_raw(self, data: bytes) -> None:
        """Bytes on the line that are no request (noise between frames)."""
        resume(self._send)(bytes(data))

    async def _send(self, data: bytes) -> None:
        self.source.send(data)

    async def _write(self, data: bytes) -> int:
        if self.sink.queue:
            self.tally.unexpected += len(self.sink.queue)
            self.tally.note(f"{len(self.sink.queue)} bytes from the board left unread "
                            f"before request {self.frames_written}")
            self.sink.queue.clear()
        if self.corrupt_next:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
            self.corrupt_next = False
            self.corrupted += 1
        self.frames_written += 1
        self.source.send(data)
        return len(data)

    async def _read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            if self.sink.queue:
                out.append(self.sink.queue.popleft())
                continue
            self.sink.got.clear()
            try:
                await with_timeout(self.sink.got.wait(), self.timeout_ns, "ns")
            except SimTimeoutError:
                self.timeouts += 1
                break
        return bytes(out)


class Link:
    """A reset emulator with its clock, UART driver, UART monitor, response counter and
    the transport the host code uses."""

    def __init__(self, dut, facts: dict, tally):
        self.dut, self.facts, self.tally = dut, facts, tally
        d = facts["divisor"]
        lay = facts["layout"]
        self.counter = ResponseCounter()
        self.source = UartSource(dut.uart_rx, dut.clk, d)
        self.sink = UartSink(dut.uart_tx, d, self.counter.feed)
        # The longest silence of a good session is a full-batch RUN's compute; twice
        # that plus 64 byte times before a read gives up.
        timeout_cycles = 2 * (lay["batch_max"] * facts["cycles_per_mvm"] + 20 * d * 64)
        self.transport = SimTransport(self.source, self.sink, timeout_cycles * CLOCK_NS,
                                      tally)

    async def start(self) -> None:
        dut = self.dut
        dut.rst.value = 1
        await Timer(1, unit="ns")
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        await ClockCycles(dut.clk, RESET_CYCLES)
        dut.rst.value = 0
        await ClockCycles(dut.clk, 2)
        cocotb.start_soon(self.source.run())
        cocotb.start_soon(self.sink.run())

    def check_line(self) -> None:
        """Every request got exactly one whole, well-formed response and no byte was
        left over or lost on the line."""
        t, c = self.tally, self.counter
        frames = len(c.frames)
        if frames < self.transport.frames_written:
            t.missing += self.transport.frames_written - frames
            t.note(f"{self.transport.frames_written} requests, {frames} responses")
        elif frames > self.transport.frames_written:
            t.unexpected += frames - self.transport.frames_written
            t.note(f"{self.transport.frames_written} requests, {frames} responses")
        for what, n in (("response bytes outside a frame", c.stray),
                        ("responses with a bad CRC", c.bad_crc),
                        ("UART framing errors on uart_tx", self.sink.framing_errors),
                        ("glitches on uart_tx", self.sink.glitches),
                        ("X/Z data bits on uart_tx", self.sink.unknown),
                        ("bytes left unread", len(self.sink.queue)),
                        ("read timeouts", self.transport.timeouts)):
            if n:
                t.protocol(f"{n} {what}")
        for f in c.bad_frames:
            t.note(f"response with a bad CRC: {f}")
        if c.partial:
            t.protocol("a response frame was cut off")
        t.extra.update(requests=self.transport.frames_written, responses=frames,
                       bytes_to_board=self.source.sent, bytes_from_board=self.sink.received)


def _facts() -> tuple[dict, dict, MacroSpec]:
    plan = load_plan()
    facts = load_json(plan["emulator"])
    return plan, facts, MacroSpec.from_dict(facts["config"])


def _ideal(spec: MacroSpec) -> bool:
    """The crossbar is ideal: the analog golden macro must equal the twin exactly."""
    d = spec.device
    return (d.program_sigma in ("none", 0.0) and d.read_sigma_us == 0.0
            and d.stuck_on_rate == 0.0 and d.stuck_off_rate == 0.0 and d.wire_ohm == 0.0)


def _golden_qcells(lay, prog, x, noise_bits: int, seed: int):
    """The board's outputs from golden's own parts, without the integer bounds: ideal
    partial sums (+ the emulator's integer noise) into the realised Q-cell bank's
    floating-point :meth:`golden.qcell.QCellBank.match`, then
    :func:`golden.digital.digital_path`."""
    spec = lay.spec
    ps = input_bit_planes(x, spec.macro).astype(np.int64) @ prog.levels.astype(np.int64)
    if noise_bits:
        ps = ps + noise_sequence(seed, noise_bits, ps.shape)
    # Macro.banks: the realised Q-cells (static draws, as the emulator holds them).
    match = prog.macro.banks.match(ps[..., None].astype(np.float64))
    return digital_path(match, prog.luts, spec)


def _operands(spec: MacroSpec, rng: np.random.Generator, vectors: int):
    m = spec.macro
    (lo_w, hi_w), (lo_x, hi_x) = m.weight_range, m.input_range
    w = rng.integers(lo_w, hi_w + 1, size=(m.rows, m.cols))
    x = rng.integers(lo_x, hi_x + 1, size=(vectors, m.rows))
    x[0] = hi_x                      # full scale first, then the most negative input
    if vectors > 1:
        x[1] = lo_x
    return w, x


def _compare(tally, name: str, got, want, what: str) -> None:
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        tally.check(False, f"{what}: {name} shape {got.shape}, golden {want.shape}")
        return
    for idx in np.ndindex(*got.shape):
        tally.check(int(got[idx]) == int(want[idx]),
                    lambda idx=idx: f"{what} {idx}: board {int(got[idx])}, {name} "
                                    f"{int(want[idx])}")


def _session(link: Link, plan: dict, spec: MacroSpec) -> None:
    """Blocking: the host code of ``cimgen board run`` against the simulated pins."""
    tally, tr = link.tally, link.transport
    client, info = BoardClient.connect(tr, spec, retries=0)
    lay = client.layout
    assert lay.describe() == link.facts["layout"], "the board reports another layout"
    assert info["divisor"] == link.facts["divisor"]

    w, x = _operands(spec, np.random.default_rng(plan["seed"]), plan["vectors"])
    prog = program_macro(lay, w, Macro(spec, w).calibrate(x))
    nb, seed = plan["noise_bits"], plan["noise_seed"]
    client.load_weights(prog.levels)
    client.load_bounds(prog.lo, prog.hi)
    client.load_lut(prog.luts)
    client.set_noise(nb, seed)

    outs, flags = [], []
    for lo in range(0, x.shape[0], lay.batch_max):
        batch = x[lo:lo + lay.batch_max]
        out, flg = client.run_batch(batch)
        for name, (r_out, r_flags) in (
                ("twin", twin_reference(lay, prog, batch, noise_bits=nb, seed=seed)),
                ("golden Q-cells", _golden_qcells(lay, prog, batch, nb, seed))):
            _compare(tally, name, out, r_out, f"vectors {lo}.., output")
            _compare(tally, name, flg, r_flags, f"vectors {lo}.., flags")
        outs.append(out)
        flags.append(flg)
    out, flg = np.concatenate(outs), np.concatenate(flags)
    tally.extra.update(outputs=int(out.size), flags_checked=int(flg.size),
                       batches=len(outs), flags_raised=int(np.count_nonzero(flg)))
    if _ideal(spec) and nb == 0:
        _compare(tally, "golden macro", out, prog.macro.run(x).out, "output")
        tally.extra["golden_macro_outputs"] = int(out.size)

    st = client.status()
    want = {"frames_ok": tr.frames_written, "frames_bad": 0, "dropped": 0,
            "uart_errors": 0, "noise_bits": nb, "last_batch": len(x) - lo}
    for k, v in want.items():
        tally.check(st[k] == v, f"STATUS {k} = {st[k]}, expected {v}")


@cocotb.test()
async def test_session_equals_golden(dut):
    """``cimgen board run``'s host code over the pins: STATUS and config check, weights,
    realised Q-cell bounds (device variation), LUTs, noise, then RUN/READ batches (the
    last one partial); every output and flag equals the host's golden twin and golden's
    floating-point Q-cells (and, for an ideal crossbar, the analog golden macro); one
    response per request, nothing dropped, STATUS counters as sent."""
    plan, facts, spec = _facts()
    with tallied(plan, "test_session_equals_golden", dut._log) as tally:
        link = Link(dut, facts, tally)
        await link.start()
        try:
            await bridge(_session)(link, plan, spec)
            await ClockCycles(dut.clk, 16 * facts["divisor"])
        finally:
            link.check_line()
    assert tally.extra["outputs"] > 0


@resume
async def pin(handle) -> bool:
    """A 1-bit pin read from a bridge thread (inside the simulator's own thread)."""
    return high(handle)


def _malformed(link: Link, spec: MacroSpec) -> None:
    """Blocking: bad requests through the host code, then STATUS."""
    tally, tr, dut = link.tally, link.transport, link.dut
    client, _ = BoardClient.connect(tr, spec, retries=0)
    lay = client.layout

    def expect(status: Status, cmd: Command, payload: bytes = b"", corrupt=False):
        tr.corrupt_next = corrupt
        try:
            client.request(cmd, payload)
        except BoardError as e:
            tally.check(e.status == status and e.cmd == cmd,
                        f"{cmd.name}: answered {e.status}, expected {status.name}")
        else:
            tally.check(False, f"{cmd.name}: answered OK, expected {status.name}")
        tally.check(pin(dut.error), f"{cmd.name}: error pin low after {status.name}")

    expect(Status.BAD_CRC, Command.STATUS, corrupt=True)
    expect(Status.BAD_CRC, Command.NOISE, lay.pack_noise(1, 5), corrupt=True)
    expect(Status.BAD_LENGTH, Command.WEIGHTS, b"\x00" * (lay.weights_len + 1))
    expect(Status.BAD_ARGUMENT, Command.NOISE, lay.pack_noise(lay.noise_bits_max + 1, 5))
    tr.send_raw(b"\x00\x13\x5a")             # noise between frames: ignored, counted
    st = client.status()
    tally.check(not pin(dut.error), "error pin still high after an OK response")
    want = {"frames_ok": 2, "frames_bad": 4, "dropped": 3, "uart_errors": 0,
            "noise_bits": 0}
    for k, v in want.items():
        tally.check(st[k] == v, f"STATUS {k} = {st[k]}, expected {v}")
    tally.extra.update(malformed=4)


@cocotb.test()
async def test_malformed_frames(dut):
    """Requests with a bad CRC (corrupted on the line, below the host code), a bad
    length and a bad argument are each answered with their status and no payload
    (the host raises BoardError naming it), raise the error pin and change nothing
    (noise stays off); bytes outside a frame are dropped; STATUS counts it all."""
    plan, facts, spec = _facts()
    with tallied(plan, "test_malformed_frames", dut._log) as tally:
        link = Link(dut, facts, tally)
        await link.start()
        try:
            await bridge(_malformed)(link, spec)
            await ClockCycles(dut.clk, 16 * facts["divisor"])
        finally:
            link.check_line()
    assert tally.extra["malformed"] == 4
