"""A small 8N1 UART: receiver and transmitter with stream interfaces.

Asynchronous serial, 8 data bits LSB first, no parity, one stop bit; the line idles
high. The bit time is ``divisor`` clock cycles (``round(clk_hz / baud)``).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from ._checks import check_int

__all__ = ["MIN_DIVISOR", "UARTRx", "UARTTx", "uart_divisor"]

MIN_DIVISOR = 4
"""Smallest bit time in clock cycles the receiver samples reliably."""


def uart_divisor(clk_hz: float, baud: float) -> int:
    """Clock cycles per bit, ``round(clk_hz / baud)``.

    Raises
    ------
    ValueError
        Fewer than :data:`MIN_DIVISOR` cycles per bit, or a rate error above 2 %
        (the receiver samples mid-bit, so 10 bits tolerate about 5 % in total).
    """
    if not (clk_hz > 0 and baud > 0):
        raise ValueError(f"clk_hz = {clk_hz!r}, baud = {baud!r}: must be positive")
    d = round(clk_hz / baud)
    if d < MIN_DIVISOR:
        raise ValueError(
            f"baud = {baud:g}: needs at least {MIN_DIVISOR} clock cycles per bit at "
            f"{clk_hz:g} Hz; allowed: baud <= {clk_hz / MIN_DIVISOR:g}"
        )
    err = abs(clk_hz / d - baud) / baud
    if err > 0.02:
        raise ValueError(
            f"baud = {baud:g}: {clk_hz:g} Hz / {d} cycles is {clk_hz / d:g} baud, "
            f"{err:.1%} off; allowed: a rate within 2 %"
        )
    return d


class UARTRx(wiring.Component):
    """UART receiver.

    The line goes through a two-flip-flop synchroniser. A falling edge starts a
    frame; the start bit is checked half a bit later (a shorter low pulse is
    ignored), then each data bit and the stop bit are sampled one bit time apart,
    near their middle. A frame whose stop bit is low is dropped and counted as a
    framing error.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, >= :data:`MIN_DIVISOR`.

    Members
    -------
    rx : In(1)
        The serial line (idle high). Asynchronous to the clock.
    o : Out(stream.Signature(8))
        Received bytes. ``o.valid`` stays high until ``o.ready``; a byte completed
        while the previous one is still waiting replaces it and raises ``overrun``.
    frame_error : Out(1)
        High for one cycle when a stop bit is sampled low (the byte is dropped).
    overrun : Out(1)
        High for one cycle when an unread byte is overwritten.

    Raises
    ------
    ValueError
        ``divisor`` is not an integer >= :data:`MIN_DIVISOR`.
    """

    def __init__(self, divisor: int):
        self._divisor = check_int("divisor", divisor, MIN_DIVISOR, 1 << 24)
        super().__init__({
            "rx": In(1, init=1),
            "o": Out(stream.Signature(8)),
            "frame_error": Out(1),
            "overrun": Out(1),
        })

    @property
    def divisor(self) -> int:
        """Clock cycles per bit."""
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        d = self._divisor
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)

        timer = Signal(range(d))
        bits = Signal(range(9))
        shreg = Signal(8)

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        with m.FSM(name="rx_fsm"):
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(d // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(rx):
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [timer.eq(d - 1), bits.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [timer.eq(d - 1), shreg.eq(Cat(shreg[1:], rx)),
                                 bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    with m.If(rx):
                        m.d.sync += [self.o.payload.eq(shreg), self.o.valid.eq(1)]
                        m.d.comb += self.overrun.eq(self.o.valid & ~self.o.ready)
                    with m.Else():
                        m.d.comb += self.frame_error.eq(1)
                    m.next = "IDLE"
        return m


class UARTTx(wiring.Component):
    """UART transmitter.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, >= :data:`MIN_DIVISOR`.

    Members
    -------
    i : In(stream.Signature(8))
        Bytes to send; ``i.ready`` is high while the transmitter is idle, and a byte
        is taken in a cycle with ``i.valid & i.ready``. Back-to-back bytes leave
        without a gap between the stop bit and the next start bit.
    tx : Out(1)
        The serial line, idle high, registered.

    Raises
    ------
    ValueError
        ``divisor`` is not an integer >= :data:`MIN_DIVISOR`.
    """

    def __init__(self, divisor: int):
        self._divisor = check_int("divisor", divisor, MIN_DIVISOR, 1 << 24)
        super().__init__({
            "i": In(stream.Signature(8)),
            "tx": Out(1, init=1),
        })

    @property
    def divisor(self) -> int:
        """Clock cycles per bit."""
        return self._divisor

    def elaborate(self, platform):
        m = Module()
        d = self._divisor
        timer = Signal(range(d))
        left = Signal(range(11))   # bits still to send, start and stop included
        shreg = Signal(10, init=0x3FF)

        m.d.comb += [self.tx.eq(shreg[0]), self.i.ready.eq(left == 0)]
        with m.If(left == 0):
            with m.If(self.i.valid):
                m.d.sync += [shreg.eq(Cat(0, self.i.payload, 1)), left.eq(10),
                             timer.eq(d - 1)]
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Else():
            m.d.sync += [shreg.eq(Cat(shreg[1:], 1)), left.eq(left - 1), timer.eq(d - 1)]
        return m
