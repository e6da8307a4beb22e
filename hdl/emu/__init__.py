"""The board emulator in parts (the facade with the whole story is :mod:`hdl.emulator`).

Pure Python, shared by the gateware, the host (:mod:`synth.host`) and the benches
(:mod:`sim`):

* :mod:`hdl.emu.protocol` - commands, status codes, sync bytes, CRC-8, the noise PRNG,
  request and response frames.
* :mod:`hdl.emu.layout` - :class:`~hdl.emu.layout.EmulatorLayout`: widths, byte
  layouts, limits, the STATUS fields; payload packing and result unpacking.
* :mod:`hdl.emu.client` - :class:`~hdl.emu.client.BoardClient` over any transport, and
  the golden twin (:func:`~hdl.emu.client.twin_reference`).

Gateware (Amaranth components):

* :mod:`hdl.emu.frames` - request frame receiver and response frame transmitter on
  byte streams.
* :mod:`hdl.emu.twin` - the crossbar and Q-cell twin, emitting ``in_match`` beats as a
  stream.
* :mod:`hdl.emu.core` - :class:`~hdl.emu.core.Emulator`: UART, frames, twin, command
  execution and the periphery.
* :mod:`hdl.emu.board` - :class:`~hdl.emu.board.EmulatorBoard`: clock, reset, pins.

This package's ``__init__`` imports nothing, so the pure-Python modules load without
Amaranth.
"""
