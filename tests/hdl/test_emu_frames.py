"""The emulator's frame receiver and transmitter (hdl.emu.frames) in amaranth.sim,
through pure functions checked against the protocol module's packer and parser:
``rtl_frames(bytes) -> frames`` and ``rtl_response(header, payload) -> bytes``."""

import numpy as np
from amaranth.sim import Simulator

from hdl.emu.frames import FrameReceiver, FrameTransmitter
from hdl.emu.protocol import (
    Command,
    Status,
    parse_requests,
    request_frame,
    response_frame,
)

WORD_BYTES = {Command.WEIGHTS: 3, Command.BOUNDS: 4, Command.RUN: 1, Command.NOISE: 5}
TIMEOUT = 60


def rtl_frames(data: bytes, *, gap: int = 4, hold: int = 3, pauses=None):
    """Feed ``data`` to a :class:`FrameReceiver`, one byte every ``gap + 1`` cycles
    (``pauses[i]`` extra idle cycles before byte ``i``); accept each frame ``hold``
    cycles after it is offered. Returns ``(frames, dropped)``: per frame a dict of its
    header fields and its words ``[(index, bytes)]``."""
    dut = FrameReceiver(WORD_BYTES, TIMEOUT, max_words=1000)
    wmax = max(WORD_BYTES.values())
    pauses = pauses or {}
    schedule, c = {}, 2
    for i, b in enumerate(data):
        c += pauses.get(i, 0)
        schedule[c] = b
        c += gap + 1
    frames, words, dropped = [], [], []

    async def tb(ctx):
        waited = 0
        for cyc in range(c + 2 * TIMEOUT + hold + 4):
            b = schedule.get(cyc)
            ctx.set(dut.i.valid, b is not None)
            ctx.set(dut.i.payload, 0 if b is None else b)
            offered = ctx.get(dut.frame.valid)
            waited = waited + 1 if offered else 0
            accept = offered and waited > hold
            ctx.set(dut.frame.ready, accept)
            if ctx.get(dut.words.valid):
                w = ctx.get(dut.words.payload)
                nb = WORD_BYTES.get(w.cmd, wmax)
                words.append((w.index, (w.data >> 8 * (wmax - nb)).to_bytes(nb, "little")))
            if accept:
                f = ctx.get(dut.frame.payload)
                frames.append({"cmd": f.cmd, "length": f.length, "crc_ok": bool(f.crc_ok),
                               "aligned": bool(f.aligned), "words": list(words)})
                words.clear()
            await ctx.tick()
        dropped.append(ctx.get(dut.dropped))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return frames, dropped[0]


def expected(frame_bytes: bytes):
    """What the receiver must report for the frames in ``frame_bytes`` (protocol side)."""
    out = []
    for f in parse_requests(frame_bytes):
        nb = WORD_BYTES.get(f.cmd, max(WORD_BYTES.values()))
        whole = len(f.payload) // nb
        out.append({"cmd": f.cmd, "length": len(f.payload), "crc_ok": f.crc_ok,
                    "aligned": len(f.payload) % nb == 0,
                    "words": [(i, f.payload[i * nb:(i + 1) * nb]) for i in range(whole)]})
    return out


def test_frames_and_words_equal_the_parser():
    rng = np.random.default_rng(1)
    bad = bytearray(request_frame(Command.BOUNDS, bytes(rng.integers(0, 256, 8).tolist())))
    bad[-1] ^= 0x40
    reqs = [request_frame(Command.STATUS),
            request_frame(Command.WEIGHTS, bytes(rng.integers(0, 256, 9).tolist())),
            bytes(bad),
            request_frame(Command.RUN, bytes([0xA5, 0x5A, 3])),
            request_frame(0x42, b"\x01\x02\x03\x04\x05\x06\x07"),   # words of max bytes
            request_frame(Command.WEIGHTS, b"\x01\x02\x03\x04"),    # a partial word
            request_frame(Command.NOISE, b"\x02\x44\x33\x22\x11")]
    data = b"\x00\x13" + reqs[0] + b"\x5a" + b"".join(reqs[1:])
    frames, dropped = rtl_frames(data)
    assert frames == expected(data)
    assert [f["crc_ok"] for f in frames] == [True, True, False, True, True, True, True]
    assert dropped == 3


def test_abandoned_frame_and_bytes_while_busy_are_dropped():
    good = request_frame(Command.RUN, b"\x07\x01")
    cut = request_frame(Command.WEIGHTS, bytes(6))[:4]
    # silence after the cut-off frame; then a frame offered for 40 cycles while
    # two more bytes arrive (dropped), then, once it is accepted, the good frame again
    data = cut + good + b"\x11\x22" + good
    pauses = {len(cut): 2 * TIMEOUT, len(cut) + len(good) + 2: 40}
    frames, dropped = rtl_frames(data, gap=4, hold=40, pauses=pauses)
    assert frames == expected(good + good)
    assert dropped == 1 + 2


def rtl_response(status: int, cmd: int, payload: bytes, *, seed: int = 0) -> bytes:
    """A :class:`FrameTransmitter` response for the header and ``payload`` (served like
    a synchronous memory: the byte of the previous cycle's ``index``), with the sink
    ready at random; the bytes it sent until ``done``."""
    dut = FrameTransmitter()
    rng = np.random.default_rng(seed)
    out, done = [], []

    async def tb(ctx):
        ctx.set(dut.start.valid, 1)
        ctx.set(dut.start.payload, {"status": status, "cmd": cmd, "length": len(payload)})
        await ctx.tick().until(dut.start.ready)
        ctx.set(dut.start.valid, 0)
        prev = None
        for _ in range(40 * (len(payload) + 8)):
            ctx.set(dut.data, payload[prev] if prev is not None and prev < len(payload)
                    else 0xEE)
            ready = bool(rng.integers(0, 3))
            ctx.set(dut.o.ready, ready)
            if ctx.get(dut.o.valid) and ready:
                out.append(ctx.get(dut.o.payload))
            if ctx.get(dut.done):
                done.append(len(out))
                break
            prev = ctx.get(dut.index)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    assert done == [len(out)], "done with the CRC byte"
    return bytes(out)


def test_responses_equal_the_packer():
    rng = np.random.default_rng(2)
    for i, (status, cmd, payload) in enumerate([
            (Status.OK, Command.STATUS, bytes(rng.integers(0, 256, 53).tolist())),
            (Status.OK, Command.RUN, b"\x05\x00"),
            (Status.OK, Command.WEIGHTS, b""),
            (Status.BAD_COMMAND, 0x42, b""),
            (Status.OK, Command.READ, b"\x9a")]):
        assert rtl_response(status, cmd, payload, seed=i) == response_frame(status, cmd,
                                                                            payload)
