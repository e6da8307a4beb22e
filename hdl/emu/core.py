# amaranth: UnusedElaboratable=no
# (The Periphery built in Emulator.__init__ for its derived facts is elaborated with
# the emulator; an unused Emulator is still reported where it was created.)
"""The emulator core: UART, frame receiver and transmitter, twin, periphery and memories
wired together (the command logic between them is :mod:`hdl.emu.commands`)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from amaranth.hdl import Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from golden.macro import MacroCalibration, default_calibration
from golden.spec import MacroSpec

from .._checks import check_int, check_spec
from ..periphery import Periphery
from ..uart import UARTRx, UARTTx, uart_divisor
from .colmux import ColumnMux
from .commands import execute, payload_byte, result_byte, route_words
from .frames import FrameReceiver, FrameTransmitter
from .layout import EmulatorLayout
from .twin import MacroTwin

__all__ = ["Emulator"]


class Emulator(wiring.Component):
    """The emulator core: UART pins in and out, the macro twin and the periphery inside.

    The architecture and the protocol are described in :mod:`hdl.emulator`. Inside:
    :class:`hdl.uart.UARTRx` and :class:`~hdl.uart.UARTTx`, a
    :class:`~hdl.emu.frames.FrameReceiver` and :class:`~hdl.emu.frames.FrameTransmitter`
    on their byte streams, the :class:`~hdl.emu.twin.MacroTwin` whose beat stream feeds
    the :class:`hdl.periphery.Periphery`, the input and result memories, and the
    command execution here.

    Parameters
    ----------
    spec : golden.spec.MacroSpec
    calibration : golden.macro.MacroCalibration, optional
        Initial LUT contents and nominal Q-cell bounds (no variation) in the
        bitstream; default :func:`golden.macro.default_calibration`. The host
        normally overwrites both.
    clk_hz : float
        Clock frequency (sets the UART bit time).
    baud : float
        UART rate; ``round(clk_hz / baud)`` cycles per bit, at least 4, within 2 %.
    batch_max, noise_bits_max
        See :class:`EmulatorLayout` (the decoder is ``spec.adc.decoder``).
    timeout_cycles : int, optional
        Longest gap between two bytes of one frame; default ``clk_hz / 10`` (0.1 s).

    Members
    -------
    uart_rx : In(1)
        Serial data from the host (idle high).
    uart_tx : Out(1)
        Serial data to the host (idle high).
    busy : Out(1)
        A frame is being received, executed or answered.
    error : Out(1)
        The last request was answered with a status other than OK.

    Raises
    ------
    ValueError
        From :class:`EmulatorLayout`, :class:`hdl.periphery.Periphery` or
        :func:`hdl.uart.uart_divisor`.
    """

    def __init__(self, spec: MacroSpec, calibration: MacroCalibration | None = None, *,
                 clk_hz: float, baud: float = 115200, batch_max: int = 32,
                 noise_bits_max: int = 3,
                 timeout_cycles: int | None = None):
        check_spec(spec)
        self._layout = EmulatorLayout(spec, batch_max, noise_bits_max)
        if calibration is None:
            calibration = default_calibration(spec)
        self._periphery = Periphery(spec, calibration)
        self._calibration = calibration
        self._clk_hz = float(clk_hz)
        self._divisor = uart_divisor(clk_hz, baud)
        if timeout_cycles is None:
            timeout_cycles = max(16 * self._divisor, round(0.1 * clk_hz))
        self._timeout = check_int("timeout_cycles", timeout_cycles, 11 * self._divisor, 1 << 32)
        super().__init__({
            "uart_rx": In(1, init=1),
            "uart_tx": Out(1, init=1),
            "busy": Out(1),
            "error": Out(1),
        })

    @property
    def layout(self) -> EmulatorLayout:
        """Widths, byte layouts and limits shared with the host."""
        return self._layout

    @property
    def periphery(self) -> Periphery:
        """The periphery instance inside."""
        return self._periphery

    @property
    def divisor(self) -> int:
        """Clock cycles per UART bit."""
        return self._divisor

    @property
    def clk_hz(self) -> float:
        """Clock frequency the UART timing is computed for."""
        return self._clk_hz

    @property
    def timeout_cycles(self) -> int:
        """Longest gap between two bytes of one frame before it is abandoned."""
        return self._timeout

    def cycles_per_mvm(self) -> int:
        """Clock cycles of one MVM once its inputs are in memory, without back-pressure.

        Per input bit: ``rows + 2`` for the crossbar twin, ``cells_total + 1`` for the
        Q-cell twin, one for the beat and one to clear the accumulators
        (``tests/hdl/test_emu_twin.py`` measures this per beat), plus ``k - 1`` more
        beats through the column mux with ``adc.columns_per_adc = k``; then
        ``result_bytes + 4`` to store the result.
        """
        lay = self._layout
        m = lay.spec.macro
        k = lay.spec.adc.columns_per_adc
        return m.input_bits * (m.rows + lay.cells_total + 4 + k) + lay.result_bytes + 4

    def initial_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The integer bounds in the bitstream: the calibration's nominal Q-cells."""
        from golden.digital import lut_index
        from golden.qcell import bank_from_draws

        spec = self._layout.spec
        enc = spec.adc.encoding
        bnd = self._calibration.boundaries[lut_index(spec)]  # (phys_cols, adcs, levels-1)
        copies = 2 if enc == "window" else 1
        zero = np.zeros((*bnd.shape[:-1], copies, bnd.shape[-1]))
        return self._layout.integer_bounds(bank_from_draws(bnd, enc, np.zeros(bnd.shape), zero))

    # -- hardware ----------------------------------------------------------------------

    def _bounds_words(self) -> list[int]:
        lo0, hi0 = self.initial_bounds()
        bmask = (1 << self._layout.bound_width) - 1
        return [(int(lo) & bmask) | ((int(hi) & bmask) << self._layout.bound_width)
                for lo, hi in zip(lo0.ravel().tolist(), hi0.ravel().tolist(), strict=True)]

    def elaborate(self, platform):
        m = Module()
        lay = self._layout
        rows = lay.spec.macro.rows
        m.submodules.rx = rx = UARTRx(self._divisor)
        m.submodules.tx = tx = UARTTx(self._divisor)
        max_words = max(rows, lay.cells_total, lay.lut_words, lay.batch_max * rows)
        m.submodules.frames_in = fin = FrameReceiver(lay.word_bytes, self._timeout, max_words)
        m.submodules.frames_out = fout = FrameTransmitter()
        m.submodules.twin = twin = MacroTwin(lay, self._bounds_words())
        m.submodules.periphery = per = self._periphery
        m.d.comb += [rx.rx.eq(self.uart_rx), self.uart_tx.eq(tx.tx)]
        wiring.connect(m, rx.o, fin.i)
        wiring.connect(m, fout.o, tx.i)
        # The column mux turns a twin beat into columns_per_adc periphery beats; the
        # periphery's ports are flat (the README's port table), not a stream.
        m.submodules.colmux = colmux = ColumnMux(lay.spec)
        wiring.connect(m, twin.beats, colmux.i)
        beats = colmux.o
        m.d.comb += [per.in_valid.eq(beats.valid), per.in_last.eq(beats.payload.last),
                     per.in_match.eq(beats.payload.match), beats.ready.eq(per.in_ready)]

        # Named so that synthesis scripts can select them (``m:emu_*``).
        m.submodules.emu_inputs = imem = memory.Memory(
            shape=lay.spec.macro.input_bits, depth=lay.batch_max * rows, init=[])
        m.submodules.emu_results = omem = memory.Memory(
            shape=8, depth=lay.batch_max * lay.result_bytes, init=[])
        i_wr, i_rd = imem.write_port(), imem.read_port()
        o_wr, o_rd = omem.write_port(), omem.read_port()

        g = SimpleNamespace(
            noise_bits=Signal(range(lay.noise_bits_max + 1)), seed=Signal(32, init=1),
            n_run=Signal(range(lay.batch_max + 1)), out_total=Signal(16),
            frames_ok=Signal(16), frames_bad=Signal(16), dropped=fin.dropped,
            uart_errors=Signal(16), rowc=Signal(range(rows + 1)),
            nvec=Signal(range(lay.batch_max + 2)), overflow=Signal(),
            vbase=Signal(range(lay.batch_max * rows + 1)), obase=Signal(16),
            v=Signal(range(lay.batch_max + 1)), k=Signal(range(lay.result_bytes + 1)),
            error=self.error)
        m.d.comb += [twin.noise_bits.eq(g.noise_bits), twin.seed.eq(g.seed),
                     i_rd.addr.eq(g.vbase + twin.x_row), twin.x_bits.eq(i_rd.data)]
        with m.If(rx.frame_error | rx.overrun):
            m.d.sync += g.uart_errors.eq(g.uart_errors + 1)

        info = dict(lay.static_info(), divisor=self._divisor, clk_hz=round(self._clk_hz))
        route_words(m, lay, fin, twin, per, i_wr, g)
        m.d.comb += [o_wr.addr.eq(g.obase + g.k), o_wr.data.eq(result_byte(lay, per, g.k)),
                     o_rd.addr.eq(fout.index),
                     fout.data.eq(payload_byte(lay, info, fin, fout, o_rd, g))]
        execute(m, lay, fin, fout, twin, per, o_wr, g)
        m.d.comb += self.busy.eq(~fin.idle)
        return m
