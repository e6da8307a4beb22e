"""Host side of the board emulator: the client over a serial port, and the golden twin.

The protocol logic is transport-independent and lives with the protocol in
:mod:`hdl.emu.client` (so that the benches in :mod:`sim` use it without importing
:mod:`synth`); this module is where the host tools (``cimgen board``) take it from.
:class:`BoardClient` talks over any object with ``write(bytes)`` and
``read(n) -> bytes`` (short on timeout): a ``serial.Serial`` from pyserial (opened by
``cimgen board``) or the simulated board of :mod:`synth.simlink`.

:func:`twin_reference` is what the emulator must compute (see
:mod:`hdl.emu.client`); with an ideal crossbar it equals
:meth:`golden.macro.Macro.run` exactly.
"""

from __future__ import annotations

from hdl.emu.client import (
    BoardClient,
    BoardError,
    MacroProgram,
    ProtocolError,
    frame,
    program_macro,
    twin_match,
    twin_reference,
)

__all__ = [
    "BoardClient",
    "BoardError",
    "MacroProgram",
    "ProtocolError",
    "frame",
    "program_macro",
    "twin_match",
    "twin_reference",
]
