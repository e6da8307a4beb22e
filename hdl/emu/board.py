"""The emulator on an FPGA board: clock, power-on reset, UART pins, status LEDs."""

from __future__ import annotations

from amaranth.build import ResourceError
from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Module, ResetSignal, Signal
from amaranth.lib import io

from golden.macro import MacroCalibration
from golden.spec import MacroSpec

from .core import Emulator

__all__ = ["EmulatorBoard"]


class EmulatorBoard(Elaboratable):
    """The :class:`Emulator` on a board: clock, power-on reset, UART pins, two LEDs.

    The emulator runs on the board's default clock (``clk_hz``) in a ``sync``
    domain of its own, held in reset for ``por_s`` after configuration (iCE40 block
    RAMs read as zero for about 3 us; the periphery needs a synchronous reset, which
    the ECP5 platforms' own default domain does not provide). Requests ``uart`` 0
    (``rx``, ``tx``) and, where the board has them, ``led`` 0 (busy) and ``led`` 1
    (error).

    Parameters
    ----------
    spec, calibration, baud, batch_max, noise_bits_max
        As :class:`Emulator`.
    clk_hz : float
        The board's default clock frequency.
    por_s : float
        Power-on reset time in seconds (default 20 us).
    """

    def __init__(self, spec: MacroSpec, calibration: MacroCalibration | None = None, *,
                 clk_hz: float, baud: float = 115200, batch_max: int = 32,
                 noise_bits_max: int = 3, por_s: float = 20e-6):
        self.emulator = Emulator(spec, calibration, clk_hz=clk_hz, baud=baud,
                                 batch_max=batch_max, noise_bits_max=noise_bits_max)
        self.por_cycles = max(2, round(por_s * clk_hz))

    def elaborate(self, platform):
        m = Module()
        clk_io = platform.request(platform.default_clk, dir="-")
        m.submodules.clk_buf = clk_buf = io.Buffer("i", clk_io)
        m.domains.por = ClockDomain(reset_less=True)
        m.domains.sync = ClockDomain()
        m.d.comb += [ClockSignal("por").eq(clk_buf.i), ClockSignal("sync").eq(clk_buf.i)]
        timer = Signal(range(self.por_cycles + 1))
        with m.If(timer != self.por_cycles):
            m.d.por += timer.eq(timer + 1)
        m.d.comb += ResetSignal("sync").eq(timer != self.por_cycles)

        m.submodules.emulator = emu = self.emulator
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx_buf = rx_buf = io.Buffer("i", uart.rx)
        m.submodules.tx_buf = tx_buf = io.Buffer("o", uart.tx)
        m.d.comb += [emu.uart_rx.eq(rx_buf.i), tx_buf.o.eq(emu.uart_tx)]
        for i, sig in enumerate((emu.busy, emu.error)):
            try:
                led = platform.request("led", i, dir="-")
            except ResourceError:  # a board with fewer LEDs: the status stays internal
                break
            m.submodules[f"led{i}_buf"] = led_buf = io.Buffer("o", led)
            m.d.comb += led_buf.o.eq(sig)
        return m
