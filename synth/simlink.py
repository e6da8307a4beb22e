"""A simulated board: the emulator in ``amaranth.sim`` behind a serial-port interface.

:class:`SimSerial` has the part of the ``serial.Serial`` interface that
:class:`synth.host.BoardClient` uses (``write``, ``read``, ``reset_input_buffer``,
``close``, ``timeout``). Written bytes are driven bit by bit onto the emulator's
``uart_rx`` pin at its bit time, and its ``uart_tx`` pin is sampled mid-bit into the
bytes ``read`` returns, so the host protocol code, the UART and the whole emulator
top run exactly as they would against a board.
"""

from __future__ import annotations

from collections import deque

from amaranth.sim import Simulator

from hdl.emulator import Emulator

__all__ = ["SimSerial"]

_PERIOD = 1e-6  # simulated clock period; only ratios matter


class SimSerial:
    """A serial port whose far end is a simulated :class:`hdl.emulator.Emulator`.

    Parameters
    ----------
    emulator : hdl.emulator.Emulator
        Build it with a small UART divisor (``clk_hz / baud`` of 4 to 8) to keep
        simulations short.
    timeout_cycles : int, optional
        How long ``read`` lets the simulation run without a new byte before it
        returns what it has (the serial timeout, in clock cycles); default enough
        for the longest response (a full-batch RUN).
    vcd : str or None
        Write a waveform there (opt-in; large).
    monitors : sequence of async callables
        Extra background testbenches ``async def f(ctx)`` (e.g. recording the
        periphery's input beats).

    Attributes
    ----------
    cycles : int
        Clock cycles simulated so far.
    """

    def __init__(self, emulator: Emulator, *, timeout_cycles: int | None = None,
                 vcd: str | None = None, monitors=()):
        self.emulator = emulator
        self.divisor = emulator.divisor
        lay = emulator.layout
        if timeout_cycles is None:
            timeout_cycles = 4 * (lay.batch_max * emulator.cycles_per_mvm()
                                  + 20 * self.divisor * (lay.info_len + 8))
        self.timeout_cycles = timeout_cycles
        self.timeout = timeout_cycles * _PERIOD
        self._to_board: deque[int] = deque()
        self._from_board: deque[int] = deque()
        self.cycles = 0
        self.framing_errors = 0
        self._sim = Simulator(emulator)
        self._sim.add_clock(_PERIOD)
        self._sim.add_testbench(self._drive_rx, background=True)
        self._sim.add_testbench(self._sample_tx, background=True)
        for mon in monitors:
            self._sim.add_testbench(mon, background=True)
        self._vcd_ctx = None
        if vcd:
            self._vcd_ctx = self._sim.write_vcd(vcd)
            self._vcd_ctx.__enter__()
        self.is_open = True

    # Plain ``await ctx.tick()`` loops rather than ``tick().repeat()``/``until()``:
    # those hold async generators that cannot be closed cleanly when the simulator
    # is dropped with the (endless, background) testbenches suspended in them.

    async def _drive_rx(self, ctx):
        d, pin = self.divisor, self.emulator.uart_rx
        ctx.set(pin, 1)
        while True:
            if not self._to_board:
                for _ in range(d):
                    await ctx.tick()
                continue
            b = self._to_board.popleft()
            for bit in (0, *((b >> i) & 1 for i in range(8)), 1):
                ctx.set(pin, bit)
                for _ in range(d):
                    await ctx.tick()

    async def _sample_tx(self, ctx):
        d, pin = self.divisor, self.emulator.uart_tx
        while True:
            await ctx.negedge(pin)
            for _ in range(d // 2):
                await ctx.tick()
            if ctx.get(pin):
                continue                      # a glitch, not a start bit
            b = 0
            for i in range(9):
                for _ in range(d):
                    await ctx.tick()
                if i < 8:
                    b |= ctx.get(pin) << i
            if ctx.get(pin):
                self._from_board.append(b)
            else:
                self.framing_errors += 1

    def _step(self, cycles: int) -> None:
        self._sim.run_until((self.cycles + cycles) * _PERIOD)
        self.cycles += cycles

    # -- the serial.Serial subset ------------------------------------------------------

    def write(self, data: bytes) -> int:
        """Queue ``data`` for the board's RX pin (sent while ``read`` runs the clock)."""
        self._to_board.extend(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Run the simulation until every written byte has left the host."""
        while self._to_board:
            self._step(10 * self.divisor)

    def read(self, n: int = 1) -> bytes:
        """Up to ``n`` bytes from the board; fewer if none arrives for ``timeout``."""
        out = bytearray()
        quiet = 0
        chunk = 10 * self.divisor
        while len(out) < n:
            if self._from_board:
                out.append(self._from_board.popleft())
                quiet = 0
                continue
            if quiet >= self.timeout_cycles:
                break
            self._step(chunk)
            quiet += chunk
        return bytes(out)

    @property
    def in_waiting(self) -> int:
        """Bytes received and not read yet."""
        return len(self._from_board)

    def reset_input_buffer(self) -> None:
        """Drop every received byte."""
        self._from_board.clear()

    def idle(self, cycles: int) -> None:
        """Let the board run for ``cycles`` clock cycles (e.g. past its frame timeout)."""
        self._step(cycles)

    def close(self) -> None:
        """End the waveform, if one is written."""
        if self._vcd_ctx is not None:
            self._vcd_ctx.__exit__(None, None, None)
            self._vcd_ctx = None
        self.is_open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
