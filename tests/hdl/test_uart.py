# amaranth: UnusedElaboratable=no
"""UART receiver and transmitter: loopback of random bytes back to back, framing
errors, glitches, overrun, bit timing, parameter checks."""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from hdl.uart import MIN_DIVISOR, UARTRx, UARTTx, uart_divisor


def test_divisor_rounds():
    assert uart_divisor(12e6, 115200) == 104
    assert uart_divisor(25e6, 115200) == 217
    assert uart_divisor(1e6, 250e3) == 4


def test_divisor_too_fast():
    with pytest.raises(ValueError, match=r"baud = 4e\+06: needs at least 4 clock cycles"):
        uart_divisor(12e6, 4e6)


def test_divisor_rate_error():
    with pytest.raises(ValueError, match=r"baud = 2\.3e\+06: .* off; allowed: a rate within 2 %"):
        uart_divisor(12e6, 2.3e6)


@pytest.mark.parametrize("cls", [UARTRx, UARTTx])
def test_divisor_checked(cls):
    with pytest.raises(ValueError, match=rf"divisor = 3: must be an integer in {MIN_DIVISOR}\.\."):
        cls(3)


def run_loopback(divisor, data, ready_pattern):
    m = Module()
    m.submodules.tx = tx = UARTTx(divisor)
    m.submodules.rx = rx = UARTRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    got, errors = [], []
    sim = Simulator(m)
    sim.add_clock(1e-6)

    async def producer(ctx):
        for b in data:
            ctx.set(tx.i.payload, b)
            ctx.set(tx.i.valid, 1)
            await ctx.tick().until(tx.i.ready)
        ctx.set(tx.i.valid, 0)

    async def consumer(ctx):
        i = 0
        ctx.set(rx.o.ready, ready_pattern[0])
        async for _, _, valid, ready, payload, ferr, ovr in ctx.tick().sample(
                rx.o.valid, rx.o.ready, rx.o.payload, rx.frame_error, rx.overrun):
            if ferr or ovr:
                errors.append((ferr, ovr))
            if valid and ready:          # a transfer at this clock edge
                got.append(payload)
            i += 1
            ctx.set(rx.o.ready, ready_pattern[i % len(ready_pattern)])

    sim.add_testbench(producer)
    sim.add_testbench(consumer, background=True)
    sim.run_until((len(data) + 2) * 10 * divisor * 1e-6)
    return got, errors


@pytest.mark.parametrize("divisor", [4, 5, 13])
def test_loopback_back_to_back(divisor):
    data = [0x00, 0xFF, 0x55, 0xAA, *np.random.default_rng(divisor).integers(0, 256, 40)]
    got, errors = run_loopback(divisor, [int(b) for b in data], [1])
    assert got == [int(b) for b in data]
    assert errors == []


def test_loopback_slow_consumer_keeps_byte():
    # ready only every 7th cycle: a byte waits, but is read long before the next one.
    data = list(range(0, 256, 17))
    got, errors = run_loopback(6, data, [0, 0, 0, 0, 0, 0, 1])
    assert got == data
    assert errors == []


def drive_rx(divisor, levels):
    """Drive ``rx`` with (level, cycles) pairs; return bytes received and error pulses."""
    rx = UARTRx(divisor)
    got, ferr, ovr = [], [], []
    sim = Simulator(rx)
    sim.add_clock(1e-6)

    async def line(ctx):
        ctx.set(rx.o.ready, 1)
        for level, cycles in levels:
            ctx.set(rx.rx, level)
            await ctx.tick().repeat(cycles)

    async def watch(ctx):
        async for _, _, valid, payload, fe, ov in ctx.tick().sample(
                rx.o.valid, rx.o.payload, rx.frame_error, rx.overrun):
            if valid:                    # ready is always high: a transfer
                got.append(payload)
            ferr.append(fe)
            ovr.append(ov)

    sim.add_testbench(line)
    sim.add_testbench(watch, background=True)
    sim.run()
    return got, sum(ferr), sum(ovr)


def frame_bits(b, stop=1):
    return [0, *((b >> i) & 1 for i in range(8)), stop]


def test_framing_error_drops_byte():
    d = 8
    levels = [(1, 20)] + [(bit, d) for bit in frame_bits(0x3C, stop=0)] + [(1, 40)]
    levels += [(bit, d) for bit in frame_bits(0xC3)] + [(1, 40)]
    got, ferr, _ = drive_rx(d, levels)
    assert got == [0xC3]
    assert ferr == 1


def test_short_glitch_is_not_a_start_bit():
    d = 16
    levels = [(1, 20), (0, 3), (1, 60)] + [(bit, d) for bit in frame_bits(0x81)] + [(1, 40)]
    got, ferr, _ = drive_rx(d, levels)
    assert got == [0x81]
    assert ferr == 0


def test_overrun_reported():
    rx = UARTRx(4)
    sim = Simulator(rx)
    sim.add_clock(1e-6)
    seen = {"overrun": 0, "valid_at_end": 0, "payload": None}

    async def tb(ctx):
        ctx.set(rx.o.ready, 0)
        ctx.set(rx.rx, 1)
        await ctx.tick().repeat(10)
        for b in (0x11, 0x22):
            for bit in frame_bits(b):
                ctx.set(rx.rx, bit)
                for _ in range(4):
                    await ctx.tick()
                    seen["overrun"] += ctx.get(rx.overrun)
        ctx.set(rx.rx, 1)
        await ctx.tick().repeat(20)
        seen["valid_at_end"] = ctx.get(rx.o.valid)
        seen["payload"] = ctx.get(rx.o.payload)

    sim.add_testbench(tb)
    sim.run()
    assert seen == {"overrun": 1, "valid_at_end": 1, "payload": 0x22}


def test_tx_bit_timing():
    d = 5
    tx = UARTTx(d)
    sim = Simulator(tx)
    sim.add_clock(1e-6)
    line = []

    async def tb(ctx):
        ctx.set(tx.i.payload, 0xA6)
        ctx.set(tx.i.valid, 1)
        await ctx.tick()
        ctx.set(tx.i.valid, 0)
        for _ in range(12 * d):
            line.append(ctx.get(tx.tx))
            await ctx.tick()

    sim.add_testbench(tb)
    sim.run()
    want = [bit for bit in frame_bits(0xA6) for _ in range(d)]
    assert line[:10 * d] == want
    assert all(line[10 * d:])
