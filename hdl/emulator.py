"""A board-level emulator of the whole CIM macro, driven over a UART.

The crossbar and the Q-cells are replaced by their digital twin; the periphery is
the same :class:`hdl.periphery.Periphery` RTL that ``cimgen verilog`` exports. A host
loads weights, Q-cell bounds and LUTs, runs batches of MVMs and reads the results
through the framed protocol below (host side: :mod:`hdl.emu.client`, re-exported
by :mod:`synth.host`).

This module is the facade of :mod:`hdl.emu`, where the parts live: the protocol
(:mod:`hdl.emu.protocol`, :mod:`hdl.emu.layout`, :mod:`hdl.emu.client`, pure
Python) and the gateware (:mod:`hdl.emu.frames`, :mod:`hdl.emu.twin`,
:mod:`hdl.emu.core`, :mod:`hdl.emu.board`). It re-exports their public names.

Architecture
------------
Per MVM (one input vector) and input-bit beat ``t`` (MSB first):

1. **Crossbar twin** (``rows`` cycles). The cell levels of one row (all physical
   columns, ``cell_bits`` each) are one word of a block-RAM weight memory. Row by
   row, the input bit ``x[r]`` of beat ``t`` gates the row's levels into one
   accumulator per physical column, so after ``rows`` cycles every physical column
   holds its exact integer partial sum ``ps[p] = sum_r bit[t, r] * level[r, p]``,
   what an ideal crossbar delivers to the ADC (:func:`golden.crossbar.Crossbar.partial_sums`).
2. **Q-cell twin** (``phys_cols * adcs * cells`` cycles). Every Q-cell is a pair of
   integer bounds ``lo <= v <= hi`` in a block-RAM bound memory, ordered exactly as
   the periphery's ``in_match`` bits. One comparator pair walks through them; the
   accumulators rotate by one physical column after each column's cells, so the
   column under test is always accumulator 0. Its value ``v = ps[p] + noise`` is
   compared with each of its cells' bounds and the match bit shifts into the
   ``in_match`` register. Bounds are integers because the twin's partial sums are:
   the host converts each realised (perturbed, floating-point) bound of
   :class:`golden.qcell.QCellBank` to the integer bounds that give the same match bit
   for every integer input (:meth:`EmulatorLayout.integer_bounds`), so the match
   vectors equal golden's bit for bit. This structure costs two comparators and a
   ``match_width``-bit shift register whatever the array size; the memories grow
   with it (``phys_cols * adcs * cells`` words of ``2 * bound_width`` bits).
3. **Read noise** (optional, ``noise_bits_max > 0``). Per beat and physical column
   an xorshift32 generator draws ``noise = (s & m) - ((s >> 16) & m)`` with
   ``m = 2**noise_bits - 1`` (a triangular integer in ``[-m, m]``) before the Q-cells;
   ``noise_bits`` and the seed are set from the host, 0 switches it off. The
   generator restarts from the seed at every RUN and steps once per (vector, beat,
   physical column) in that order (:func:`noise_sequence` models it exactly).
4. **Periphery**: the beat goes to :class:`hdl.periphery.Periphery`; after the last
   beat its result (``out_data``, ``out_flags``) is written to the result memory.

One MVM takes ``input_bits * (rows + phys_cols * adcs * cells + 4) + result_bytes
+ 4`` cycles, far below the UART time of its input bytes.

Protocol
--------
Strict request / response over 8N1 UART; the host waits for each response before it
sends the next request (bytes arriving while the emulator computes or answers are
dropped and counted). All multi-byte integers are little-endian; every value
occupies whole bytes (two's complement, sign-extended where signed).

Request: ``A5 CMD LEN_LO LEN_HI PAYLOAD[LEN] CRC``.
Response: ``5A STATUS CMD LEN_LO LEN_HI PAYLOAD[LEN] CRC``.
``CRC`` is CRC-8 (polynomial 0x07, initial 0, no reflection, :func:`crc8`) over every
byte after the sync byte. Bytes outside a frame are ignored until the next ``A5``; a
frame with more than ``timeout_cycles`` between two of its bytes is abandoned
without a response. Status: 0 OK, 1 bad CRC, 2 unknown command, 3 bad length,
4 bad argument; a response with a status other than OK has no payload. Payloads
are written to memory as they stream in, so a LOAD whose CRC fails has already
overwritten (part of) its target: send it again.

Commands (code: request payload -> response payload):

* ``STATUS`` (0x01): none -> the fields of :attr:`EmulatorLayout.info_fields`
  (configuration, widths, counters).
* ``WEIGHTS`` (0x02): ``rows`` words of ``row_bytes``, the cell levels of one row
  with physical column ``p`` in bits ``p*cell_bits ..`` -> none.
* ``BOUNDS`` (0x03): per Q-cell in ``in_match`` order, ``lo`` then ``hi``,
  ``bound_bytes`` each (signed) -> none.
* ``LUT`` (0x04): ``n_luts * 2**code_bits`` words of ``lut_bytes`` (signed) in
  ``cfg_addr`` order, entries beyond ``lut_entries`` ignored -> none.
* ``NOISE`` (0x05): ``noise_bits`` (1 byte, 0..``noise_bits_max``, else status 4),
  seed (4 bytes; 0 means 1) -> none.
* ``RUN`` (0x06): 1..``batch_max`` vectors of ``rows`` inputs, ``input_bytes`` each
  (two's complement when signed) -> the number of vectors run (2 bytes), sent when
  all are done.
* ``READ`` (0x07): none -> the last RUN's results: per vector ``cols`` outputs of
  ``out_bytes`` (signed, ``lut_frac_bits`` fractional bits) and one flag byte
  (:class:`golden.digital.Flag`).
"""

from __future__ import annotations

from .emu.board import EmulatorBoard
from .emu.core import Emulator
from .emu.layout import EmulatorLayout
from .emu.protocol import (
    MAGIC,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    SYNC_REQUEST,
    SYNC_RESPONSE,
    Command,
    Status,
    crc8,
    noise_sequence,
    xorshift32,
)

__all__ = [
    "MAGIC",
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "SYNC_REQUEST",
    "SYNC_RESPONSE",
    "Command",
    "Emulator",
    "EmulatorBoard",
    "EmulatorLayout",
    "Status",
    "crc8",
    "noise_sequence",
    "xorshift32",
]
