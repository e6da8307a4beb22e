# amaranth: UnusedElaboratable=no
# (The Periphery built in Emulator.__init__ for its derived facts is elaborated with
# the emulator; an unused Emulator is still reported where it was created.)
"""A board-level emulator of the whole CIM macro, driven over a UART.

The crossbar and the Q-cells are replaced by their digital twin; the periphery is
the same :class:`hdl.periphery.Periphery` RTL that ``cimgen verilog`` exports. A host
loads weights, Q-cell bounds and LUTs, runs batches of MVMs and reads the results
through the framed protocol below (host side: :mod:`synth.host`).

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

import enum
import json
import zlib
from dataclasses import dataclass

import numpy as np
from amaranth.build import ResourceError
from amaranth.hdl import (
    Array,
    Cat,
    ClockDomain,
    ClockSignal,
    Const,
    Elaboratable,
    Module,
    Mux,
    ResetSignal,
    Signal,
    Value,
    signed,
)
from amaranth.lib import io, memory, wiring
from amaranth.lib.wiring import In, Out

from golden.digital import DECODERS, Flag, lut_width, n_luts, out_width
from golden.macro import MacroCalibration, default_calibration
from golden.spec import MacroSpec

from ._checks import check_int, check_spec
from .periphery import Periphery
from .uart import UARTRx, UARTTx, uart_divisor

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

PROTOCOL_VERSION = 1
SYNC_REQUEST = 0xA5
SYNC_RESPONSE = 0x5A
MAX_PAYLOAD = 0xFFFF
MAGIC = 0x454D4943  # "CIME" little-endian


class Command(enum.IntEnum):
    """Request codes."""

    STATUS = 0x01
    WEIGHTS = 0x02
    BOUNDS = 0x03
    LUT = 0x04
    NOISE = 0x05
    RUN = 0x06
    READ = 0x07


class Status(enum.IntEnum):
    """Response status codes."""

    OK = 0
    BAD_CRC = 1
    BAD_COMMAND = 2
    BAD_LENGTH = 3
    BAD_ARGUMENT = 4


def crc8(data: bytes, crc: int = 0) -> int:
    """CRC-8 with polynomial 0x07, initial value ``crc``, no reflection or final XOR.

    Appending ``crc8(msg)`` to ``msg`` gives a message whose CRC is 0.
    """
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc8_hw(crc, byte):
    """:func:`crc8` of one byte as XOR equations: the update is linear in
    ``crc ^ byte``, so output bit ``i`` is the XOR of the input bits whose unit
    vector's CRC has bit ``i`` set (a flat expression, not eight chained muxes)."""
    c = crc ^ byte
    cols = [crc8(bytes([1 << b])) for b in range(8)]
    out = []
    for i in range(8):
        terms = [c[b] for b in range(8) if (cols[b] >> i) & 1]
        x = terms[0]
        for term in terms[1:]:
            x = x ^ term
        out.append(x)
    return Cat(*out)


def xorshift32(state: int) -> int:
    """One step of Marsaglia's xorshift32 (13, 17, 5)."""
    s = state & 0xFFFFFFFF
    s ^= (s << 13) & 0xFFFFFFFF
    s ^= s >> 17
    s ^= (s << 5) & 0xFFFFFFFF
    return s


def noise_sequence(seed: int, noise_bits: int, shape) -> np.ndarray:
    """The emulator's read noise for one RUN: int64 array of ``shape``.

    ``shape = (vectors, input_bits, phys_cols)``; element ``[v, t, p]`` is the noise
    added to physical column ``p`` in beat ``t`` of vector ``v``. The generator
    starts from ``seed`` (0 means 1) and steps once per element in C order.
    """
    n = int(np.prod(shape))
    out = np.zeros(n, dtype=np.int64)
    if noise_bits > 0:
        m = (1 << noise_bits) - 1
        s = seed & 0xFFFFFFFF or 1
        for i in range(n):
            out[i] = (s & m) - ((s >> 16) & m)
            s = xorshift32(s)
    return out.reshape(shape)


def _nbytes(bits: int) -> int:
    return max(1, -(-bits // 8))


@dataclass(frozen=True)
class EmulatorLayout:
    """Everything the host and the RTL must agree on: widths, byte layouts, limits.

    Parameters
    ----------
    spec : golden.spec.MacroSpec
    batch_max : int
        Vectors per RUN, 1..4096 (the input and result memories hold this many).
    noise_bits_max : int
        Widest read noise (``|noise| <= 2**noise_bits_max - 1``), 0..8; 0 builds
        no noise generator.
    decoder : str, optional
        The periphery's decoder; default the encoding's first
        (``golden.digital.DECODERS``).

    Raises
    ------
    ValueError
        A parameter out of range, or a payload (weights, bounds, LUT, a full RUN or
        READ) longer than :data:`MAX_PAYLOAD` bytes.
    """

    spec: MacroSpec
    batch_max: int = 32
    noise_bits_max: int = 3
    decoder: str | None = None

    def __post_init__(self):
        check_spec(self.spec)
        check_int("batch_max", self.batch_max, 1, 4096)
        check_int("noise_bits_max", self.noise_bits_max, 0, 8)
        allowed = DECODERS[self.spec.adc.encoding]
        if self.decoder is None:
            object.__setattr__(self, "decoder", allowed[0])
        if self.decoder not in allowed:
            raise ValueError(
                f"decoder = {self.decoder!r}: encoding {self.spec.adc.encoding!r} allows "
                + ", ".join(repr(d) for d in allowed)
            )
        for name, n in (("weights", self.weights_len), ("bounds", self.bounds_len),
                        ("LUT", self.lut_len), ("RUN", self.batch_max * self.vector_bytes),
                        ("READ", self.batch_max * self.result_bytes)):
            if n > MAX_PAYLOAD:
                raise ValueError(
                    f"the {name} payload would be {n} bytes; the protocol allows at most "
                    f"{MAX_PAYLOAD} (reduce batch_max or the macro size)"
                )

    # -- widths --------------------------------------------------------------------

    @property
    def ps_max(self) -> int:
        """Largest partial sum of a physical column: ``rows * (2**cell_bits - 1)``."""
        m = self.spec.macro
        return m.rows * ((1 << m.cell_bits) - 1)

    @property
    def noise_max(self) -> int:
        """Largest noise magnitude: ``2**noise_bits_max - 1``."""
        return (1 << self.noise_bits_max) - 1

    @property
    def bound_width(self) -> int:
        """Signed width of a Q-cell bound and of the compared value ``v``: holds
        ``-noise_max .. ps_max + noise_max`` strictly inside its range, so that the
        extreme codes mean "always" and "never"."""
        return (self.ps_max + self.noise_max + 1).bit_length() + 1

    @property
    def bound_range(self) -> tuple[int, int]:
        """Representable bounds ``(MIN, MAX)``."""
        h = 1 << (self.bound_width - 1)
        return -h, h - 1

    @property
    def cells_total(self) -> int:
        """Q-cells of the macro: ``phys_cols * adcs_per_column * cells``."""
        a = self.spec.adc
        return self.spec.macro.phys_cols * a.adcs_per_column * a.cells

    # -- byte layouts --------------------------------------------------------------

    @property
    def row_bits(self) -> int:
        """Bits of one weight-memory word: ``phys_cols * cell_bits``."""
        return self.spec.macro.phys_cols * self.spec.macro.cell_bits

    @property
    def row_bytes(self) -> int:
        """Bytes per row in WEIGHTS."""
        return _nbytes(self.row_bits)

    @property
    def bound_bytes(self) -> int:
        """Bytes per bound in BOUNDS."""
        return _nbytes(self.bound_width)

    @property
    def lut_width(self) -> int:
        """Signed LUT value width (:func:`golden.digital.lut_width`)."""
        return lut_width(self.spec)

    @property
    def lut_bytes(self) -> int:
        """Bytes per LUT word in LUT."""
        return _nbytes(self.lut_width)

    @property
    def lut_words(self) -> int:
        """Words in LUT: ``n_luts * 2**code_bits`` (the whole ``cfg_addr`` space)."""
        return n_luts(self.spec) << self.spec.adc.code_bits

    @property
    def input_bytes(self) -> int:
        """Bytes per input value in RUN."""
        return _nbytes(self.spec.macro.input_bits)

    @property
    def vector_bytes(self) -> int:
        """Bytes per input vector in RUN: ``rows * input_bytes``."""
        return self.spec.macro.rows * self.input_bytes

    @property
    def out_width(self) -> int:
        """Signed output width (:func:`golden.digital.out_width`)."""
        return out_width(self.spec)

    @property
    def out_bytes(self) -> int:
        """Bytes per output value in READ."""
        return _nbytes(self.out_width)

    @property
    def result_bytes(self) -> int:
        """Bytes per vector in READ: ``cols * out_bytes + 1`` (the flag byte)."""
        return self.spec.macro.cols * self.out_bytes + 1

    @property
    def weights_len(self) -> int:
        """WEIGHTS payload length."""
        return self.spec.macro.rows * self.row_bytes

    @property
    def bounds_len(self) -> int:
        """BOUNDS payload length."""
        return self.cells_total * 2 * self.bound_bytes

    @property
    def lut_len(self) -> int:
        """LUT payload length."""
        return self.lut_words * self.lut_bytes

    NOISE_LEN = 5

    def describe(self) -> dict:
        """The structural facts the bitstream is built for (plain JSON values)."""
        m, a = self.spec.macro, self.spec.adc
        return {
            "rows": m.rows, "cols": m.cols, "phys_cols": m.phys_cols,
            "input_bits": m.input_bits, "input_signed": m.input_signed,
            "weight_bits": m.weight_bits, "cell_bits": m.cell_bits, "mapping": m.mapping,
            "adc_bits": a.bits, "encoding": a.encoding, "sr": a.sr, "cells": a.cells,
            "adcs_per_column": a.adcs_per_column, "lut_scope": a.lut_scope,
            "lut_frac_bits": a.lut_frac_bits, "lut_width": self.lut_width,
            "out_width": self.out_width, "bound_width": self.bound_width,
            "batch_max": self.batch_max, "noise_bits_max": self.noise_bits_max,
            "decoder": self.decoder, "protocol": PROTOCOL_VERSION,
        }

    @property
    def config_id(self) -> int:
        """CRC-32 of :meth:`describe` (canonical JSON): the host checks that the board
        runs a bitstream built for its config."""
        return zlib.crc32(json.dumps(self.describe(), sort_keys=True).encode())

    @property
    def info_fields(self) -> list[tuple[str, int]]:
        """STATUS response payload: ``(name, bytes)`` in order, unsigned little-endian.

        Static: ``magic`` ("CIME"), ``version``, ``config_id``, ``rows``, ``cols``,
        ``phys_cols``, ``input_bits``, ``input_signed``, ``cell_bits``, ``adc_bits``,
        ``adcs``, ``cells``, ``encoding`` (0 window, 1 threshold), ``decoder`` (index
        in ``golden.digital.DECODERS[encoding]``), ``bound_width``,
        ``lut_width``, ``out_width``, ``n_luts``, ``code_bits``, ``batch_max``,
        ``noise_bits_max``, ``result_bytes``, ``divisor`` (clock cycles per UART
        bit), ``clk_hz``. State: ``noise_bits``, ``last_batch`` (vectors of the last
        RUN), ``frames_ok``, ``frames_bad`` (answered with an error status),
        ``dropped`` (bytes ignored: outside a frame, while busy, or in an abandoned
        frame), ``uart_errors`` (framing errors and overruns); counters wrap at
        2**16.
        """
        return [
            ("magic", 4), ("version", 1), ("config_id", 4), ("rows", 2), ("cols", 2),
            ("phys_cols", 2), ("input_bits", 1), ("input_signed", 1), ("cell_bits", 1),
            ("adc_bits", 1), ("adcs", 1), ("cells", 1), ("encoding", 1), ("decoder", 1),
            ("bound_width", 1), ("lut_width", 1), ("out_width", 1), ("n_luts", 2),
            ("code_bits", 1), ("batch_max", 2), ("noise_bits_max", 1),
            ("result_bytes", 2), ("divisor", 4), ("clk_hz", 4),
            ("noise_bits", 1), ("last_batch", 2), ("frames_ok", 2), ("frames_bad", 2),
            ("dropped", 2), ("uart_errors", 2),
        ]

    def static_info(self) -> dict:
        """Values of the static STATUS fields that depend on the layout only."""
        m, a = self.spec.macro, self.spec.adc
        return {
            "magic": MAGIC, "version": PROTOCOL_VERSION, "config_id": self.config_id,
            "rows": m.rows, "cols": m.cols, "phys_cols": m.phys_cols,
            "input_bits": m.input_bits, "input_signed": int(m.input_signed),
            "cell_bits": m.cell_bits, "adc_bits": a.bits, "adcs": a.adcs_per_column,
            "cells": a.cells, "encoding": int(a.encoding == "threshold"),
            "decoder": DECODERS[a.encoding].index(self.decoder),
            "bound_width": self.bound_width, "lut_width": self.lut_width,
            "out_width": self.out_width, "n_luts": n_luts(self.spec),
            "code_bits": a.code_bits, "batch_max": self.batch_max,
            "noise_bits_max": self.noise_bits_max, "result_bytes": self.result_bytes,
        }

    @property
    def info_len(self) -> int:
        """STATUS response payload length."""
        return sum(n for _, n in self.info_fields)

    # -- host-side encoding (numpy) ------------------------------------------------

    @staticmethod
    def _le(values, nbytes: int) -> bytes:
        v = np.asarray(values, dtype=np.int64).ravel()
        mask = (1 << (8 * nbytes)) - 1 if nbytes < 8 else -1
        u = (v & mask).astype(np.uint64)
        shifts = (np.arange(nbytes, dtype=np.uint64) * np.uint64(8))[None, :]
        return ((u[:, None] >> shifts) & np.uint64(0xFF)).astype(np.uint8).tobytes()

    def pack_weights(self, levels) -> bytes:
        """WEIGHTS payload from cell levels ``(rows, phys_cols)``
        (:func:`golden.crossbar.map_weights`).

        Raises
        ------
        ValueError
            Wrong shape or a level outside ``0 .. 2**cell_bits - 1``.
        """
        m = self.spec.macro
        lv = np.asarray(levels)
        if lv.shape != (m.rows, m.phys_cols):
            raise ValueError(f"levels: shape {lv.shape} must be (rows, phys_cols) = "
                             f"{(m.rows, m.phys_cols)}")
        if lv.size and (lv.min() < 0 or lv.max() >= (1 << m.cell_bits)):
            raise ValueError(f"levels: values must be in 0..{(1 << m.cell_bits) - 1}")
        out = bytearray()
        for row in lv.astype(np.int64):
            word = 0
            for p, level in enumerate(row.tolist()):
                word |= level << (p * m.cell_bits)
            out += word.to_bytes(self.row_bytes, "little")
        return bytes(out)

    def integer_bounds(self, bank) -> tuple[np.ndarray, np.ndarray]:
        """Integer bounds ``(lo, hi)``, int64 ``(phys_cols, adcs, cells)``, of a realised
        bank: for every integer ``v`` in ``-noise_max .. ps_max + noise_max``,
        ``lo <= v <= hi`` exactly when ``bank.match(v)`` is true.

        Window cell ``lower <= v < upper``: ``lo = ceil(lower)``, ``hi = ceil(upper) - 1``
        (``-inf``/``+inf`` give MIN/MAX). Threshold cell ``v >= t``: ``lo = ceil(t)``,
        ``hi = MAX``. Both are clipped to ``bound_range``, which changes no match in
        that interval (crossed window bounds give ``lo > hi``: never matches).

        Parameters
        ----------
        bank : golden.qcell.QCellBank
            Bank shape ``(phys_cols, adcs_per_column)``.

        Raises
        ------
        ValueError
            The bank does not fit the spec.
        """
        a, m = self.spec.adc, self.spec.macro
        want = (m.phys_cols, a.adcs_per_column)
        if bank.encoding != a.encoding or tuple(bank.bank_shape) != want \
                or bank.n_cells != a.cells:
            raise ValueError(
                f"bank: {bank.encoding} {tuple(bank.bank_shape)} x {bank.n_cells} cells; "
                f"the spec needs {a.encoding} {want} x {a.cells} cells"
            )
        lo_min, hi_max = self.bound_range

        def icl(x):
            x = np.asarray(x, dtype=np.float64)
            fin = np.isfinite(x)
            out = np.where(x > 0, hi_max + 1, lo_min - 1).astype(np.int64)
            out[fin] = np.clip(np.ceil(x[fin]), lo_min - 1, hi_max + 1).astype(np.int64)
            return out

        if a.encoding == "window":
            lo = icl(bank.lower)
            hi = icl(bank.upper) - 1
            hi[np.isposinf(bank.upper)] = hi_max
        else:
            lo = icl(bank.thresholds)
            hi = np.full(lo.shape, hi_max, dtype=np.int64)
        return np.clip(lo, lo_min, hi_max), np.clip(hi, lo_min, hi_max)

    def pack_bounds(self, lo, hi) -> bytes:
        """BOUNDS payload from integer bounds ``(phys_cols, adcs, cells)`` each.

        Raises
        ------
        ValueError
            Wrong shapes or bounds outside :attr:`bound_range`.
        """
        a, m = self.spec.adc, self.spec.macro
        want = (m.phys_cols, a.adcs_per_column, a.cells)
        lo, hi = np.asarray(lo), np.asarray(hi)
        if lo.shape != want or hi.shape != want:
            raise ValueError(f"bounds: shapes {lo.shape}, {hi.shape} must be {want}")
        bmin, bmax = self.bound_range
        for name, b in (("lo", lo), ("hi", hi)):
            if b.size and (b.min() < bmin or b.max() > bmax):
                raise ValueError(f"bounds {name}: values must be in {bmin}..{bmax}")
        pairs = np.stack([lo.ravel(), hi.ravel()], axis=-1)
        return self._le(pairs, self.bound_bytes)

    def pack_lut(self, luts) -> bytes:
        """LUT payload from fixed-point LUTs ``(n_luts, lut_entries)``
        (:meth:`golden.macro.MacroCalibration.lut_fixed`); unused addresses get 0.

        Raises
        ------
        ValueError
            Wrong shape or values outside the signed ``lut_width`` range.
        """
        a = self.spec.adc
        lt = np.asarray(luts)
        want = (n_luts(self.spec), a.lut_entries)
        if lt.shape != want:
            raise ValueError(f"luts: shape {lt.shape} must be {want}")
        h = 1 << (self.lut_width - 1)
        if lt.size and (lt.min() < -h or lt.max() >= h):
            raise ValueError(f"luts: values must be in {-h}..{h - 1}")
        full = np.zeros((want[0], 1 << a.code_bits), dtype=np.int64)
        full[:, :a.lut_entries] = lt
        return self._le(full, self.lut_bytes)

    def pack_noise(self, noise_bits: int, seed: int) -> bytes:
        """NOISE payload."""
        return bytes([noise_bits & 0xFF]) + (seed & 0xFFFFFFFF).to_bytes(4, "little")

    def pack_inputs(self, x) -> bytes:
        """RUN payload from inputs ``(vectors, rows)`` in the spec's input range.

        Raises
        ------
        ValueError
            Wrong shape, more than ``batch_max`` vectors, or values out of range.
        """
        m = self.spec.macro
        xa = np.asarray(x)
        if xa.ndim != 2 or xa.shape[1] != m.rows or not 1 <= xa.shape[0] <= self.batch_max:
            raise ValueError(f"inputs: shape {xa.shape} must be (1..{self.batch_max}, "
                             f"{m.rows})")
        lo, hi = m.input_range
        if xa.min() < lo or xa.max() > hi:
            raise ValueError(f"inputs: values must be in {lo}..{hi}")
        return self._le(xa, self.input_bytes)

    def unpack_results(self, payload: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Outputs int64 ``(vectors, cols)`` and flags uint8 ``(vectors,)`` of READ.

        Raises
        ------
        ValueError
            A length that is not a whole number of results.
        """
        m = self.spec.macro
        rb = self.result_bytes
        if len(payload) % rb:
            raise ValueError(f"READ payload of {len(payload)} bytes is not a multiple of {rb}")
        n = len(payload) // rb
        raw = np.frombuffer(payload, dtype=np.uint8).reshape(n, rb)
        ob = self.out_bytes
        vals = raw[:, :m.cols * ob].reshape(n, m.cols, ob).astype(np.int64)
        out = np.zeros((n, m.cols), dtype=np.int64)
        for k in range(ob):
            out |= vals[..., k] << (8 * k)
        sign = np.int64(1) << (8 * ob - 1)
        out = (out ^ sign) - sign
        return out, raw[:, -1].copy()


class Emulator(wiring.Component):
    """The emulator core: UART pins in and out, the macro twin and the periphery inside.

    See the module docstring for the architecture and the protocol.

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
    batch_max, noise_bits_max, decoder
        See :class:`EmulatorLayout` (``decoder`` ``None``: the encoding's default).
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
                 noise_bits_max: int = 3, decoder: str | None = None,
                 timeout_cycles: int | None = None):
        check_spec(spec)
        if decoder is None:
            decoder = DECODERS[spec.adc.encoding][0]
        self._layout = EmulatorLayout(spec, batch_max, noise_bits_max, decoder)
        if calibration is None:
            calibration = default_calibration(spec)
        self._periphery = Periphery(spec, calibration, decoder)
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
        """Clock cycles of one MVM once its inputs are in memory (upper bound)."""
        lay = self._layout
        m = lay.spec.macro
        return m.input_bits * (m.rows + lay.cells_total + 4) + lay.result_bytes + 4

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

    def elaborate(self, platform):
        m = Module()
        lay = self._layout
        spec = lay.spec
        mac, adc = spec.macro, spec.adc
        P = mac.phys_cols
        rows, ib = mac.rows, mac.input_bits
        cpc = adc.adcs_per_column * adc.cells          # Q-cells per physical column
        Q = lay.cells_total
        bw = lay.bound_width
        psw = max(1, lay.ps_max.bit_length())

        m.submodules.rx = rx = UARTRx(self._divisor)
        m.submodules.tx = tx = UARTTx(self._divisor)
        m.submodules.periphery = per = self._periphery
        m.d.comb += [rx.rx.eq(self.uart_rx), self.uart_tx.eq(tx.tx), rx.o.ready.eq(1)]
        got = rx.o.valid
        byte = rx.o.payload

        # -- memories --------------------------------------------------------------
        wmem = memory.Memory(shape=lay.row_bits, depth=rows, init=[])
        lo0, hi0 = self.initial_bounds()
        bmask = (1 << bw) - 1
        binit = [(int(lo) & bmask) | ((int(hi) & bmask) << bw)
                 for lo, hi in zip(lo0.ravel().tolist(), hi0.ravel().tolist(), strict=True)]
        bmem = memory.Memory(shape=2 * bw, depth=Q, init=binit)
        imem = memory.Memory(shape=ib, depth=lay.batch_max * rows, init=[])
        omem = memory.Memory(shape=8, depth=lay.batch_max * lay.result_bytes, init=[])
        # Named so that synthesis scripts can select them (``m:emu_*``).
        m.submodules.emu_weights, m.submodules.emu_bounds = wmem, bmem
        m.submodules.emu_inputs, m.submodules.emu_results = imem, omem
        w_wr, w_rd = wmem.write_port(), wmem.read_port()
        b_wr, b_rd = bmem.write_port(), bmem.read_port()
        i_wr, i_rd = imem.write_port(), imem.read_port()
        o_wr, o_rd = omem.write_port(), omem.read_port()

        # -- frame reception -------------------------------------------------------
        cmd = Signal(8)
        length = Signal(16)
        remaining = Signal(16)
        crc = Signal(8)
        crc_next = _crc8_hw(crc, byte)
        maxb = max(lay.row_bytes, 2 * lay.bound_bytes, lay.lut_bytes, lay.input_bytes,
                   EmulatorLayout.NOISE_LEN)
        asm = Signal(8 * maxb)

        def word(nb):
            return asm[8 * (maxb - nb):]

        sub = Signal(range(maxb + 1))      # byte within the current word
        widx = Signal(range(max(rows, Q, lay.lut_words, lay.batch_max * rows) + 2))
        commit = Signal()
        rowc = Signal(range(rows + 1))
        nvec = Signal(range(lay.batch_max + 2))
        overflow = Signal()
        idle_timer = Signal(range(self._timeout + 1))

        word_bytes = Signal(range(maxb + 1))
        with m.Switch(cmd):
            for c, nb in ((Command.WEIGHTS, lay.row_bytes), (Command.BOUNDS, 2 * lay.bound_bytes),
                          (Command.LUT, lay.lut_bytes), (Command.RUN, lay.input_bytes),
                          (Command.NOISE, EmulatorLayout.NOISE_LEN)):
                with m.Case(int(c)):
                    m.d.comb += word_bytes.eq(nb)
            with m.Default():
                m.d.comb += word_bytes.eq(maxb)

        # Commits: one cycle after the byte that completes a word.
        m.d.sync += commit.eq(0)
        with m.If(commit):
            m.d.sync += widx.eq(widx + 1)
            with m.Switch(cmd):
                with m.Case(int(Command.WEIGHTS)):
                    m.d.comb += [w_wr.addr.eq(widx), w_wr.data.eq(word(lay.row_bytes)),
                                 w_wr.en.eq(widx < rows)]
                with m.Case(int(Command.BOUNDS)):
                    bb = lay.bound_bytes
                    wd = word(2 * bb)
                    m.d.comb += [b_wr.addr.eq(widx),
                                 b_wr.data.eq(Cat(wd[:bw], wd[8 * bb:8 * bb + bw])),
                                 b_wr.en.eq(widx < Q)]
                with m.Case(int(Command.LUT)):
                    m.d.comb += [per.cfg_addr.eq(widx), per.cfg_data.eq(word(lay.lut_bytes)),
                                 per.cfg_we.eq(widx < lay.lut_words)]
                with m.Case(int(Command.RUN)):
                    ok = widx < lay.batch_max * rows
                    m.d.comb += [i_wr.addr.eq(widx), i_wr.data.eq(word(lay.input_bytes)),
                                 i_wr.en.eq(ok)]
                    with m.If(~ok):
                        m.d.sync += overflow.eq(1)
                    with m.If(rowc == rows - 1):
                        m.d.sync += [rowc.eq(0), nvec.eq(nvec + 1)]
                    with m.Else():
                        m.d.sync += rowc.eq(rowc + 1)

        # -- registers set by commands ---------------------------------------------
        nb_max = lay.noise_bits_max
        noise_bits = Signal(range(nb_max + 1))
        seed = Signal(32, init=1)
        n_run = Signal(range(lay.batch_max + 1))
        out_total = Signal(16)
        frames_ok = Signal(16)
        frames_bad = Signal(16)
        dropped = Signal(16)
        uart_errors = Signal(16)
        with m.If(rx.frame_error | rx.overrun):
            m.d.sync += uart_errors.eq(uart_errors + 1)

        # -- response fields ------------------------------------------------------
        r_status = Signal(8)
        r_len = Signal(16)
        r_crc = Signal(8)
        pidx = Signal(16)
        hidx = Signal(range(5))

        # -- compute state ----------------------------------------------------------
        acc = [Signal(psw, name=f"acc{p}") for p in range(P)]
        t = Signal(range(ib))
        v = Signal(range(lay.batch_max + 1))
        vbase = Signal(range(lay.batch_max * rows + 1))
        obase = Signal(16)
        r = Signal(range(rows + 1))
        a_valid = Signal()
        q = Signal(range(Q + 1))
        j = Signal(range(cpc))
        q_valid = Signal()
        q_lastcol = Signal()
        q_last = Signal()
        msr = Signal(Q)
        k = Signal(range(lay.result_bytes + 1))
        lfsr = Signal(32, init=1)

        # Crossbar twin: row r's levels gated by the input bit of beat t.
        m.d.comb += [w_rd.addr.eq(r), i_rd.addr.eq(vbase + r)]
        in_bit = i_rd.data[::-1].bit_select(t, 1)   # beat t carries bit ib-1-t
        level = [w_rd.data[p * mac.cell_bits:(p + 1) * mac.cell_bits] for p in range(P)]

        # Q-cell twin: accumulator 0 (plus noise) against the bounds of cell q.
        m.d.comb += b_rd.addr.eq(q)
        lo = b_rd.data[:bw].as_signed()
        hi = b_rd.data[bw:].as_signed()
        vcol = Signal(signed(bw))
        if nb_max > 0:
            mask = Signal(nb_max)
            m.d.comb += mask.eq(Array(Const((1 << n) - 1, nb_max)
                                      for n in range(nb_max + 1))[noise_bits])
            noise = (lfsr[:nb_max] & mask) - (lfsr[16:16 + nb_max] & mask)
            m.d.comb += vcol.eq(acc[0] + noise)
        else:
            m.d.comb += vcol.eq(acc[0])
        match_bit = (vcol >= lo) & (vcol <= hi)

        def xs(s):
            s1 = s ^ (s << 13)[:32]
            s2 = s1 ^ (s1 >> 17)
            return s2 ^ (s2 << 5)[:32]

        # Result bytes: every column sign-extended to out_bytes, then the flags.
        ob = lay.out_bytes
        res_bits = [Value.cast(per.out_data[c]) for c in range(mac.cols)]
        padded = Cat(*[Cat(x, x[-1].replicate(8 * ob - lay.out_width)) if 8 * ob > lay.out_width
                       else x for x in res_bits], per.out_flags.as_value(),
                     Const(0, 8 - len(Flag)))
        m.d.comb += [o_wr.addr.eq(obase + k), o_wr.data.eq(padded.word_select(k, 8))]

        # STATUS payload bytes.
        info_val = dict(lay.static_info())
        info_val.update(divisor=self._divisor, clk_hz=round(self._clk_hz))
        info_bytes = []
        dyn = {"noise_bits": noise_bits, "last_batch": n_run, "frames_ok": frames_ok,
               "frames_bad": frames_bad, "dropped": dropped, "uart_errors": uart_errors}
        for name, nb in lay.info_fields:
            val = dyn.get(name)
            if val is None:
                val = Const(info_val[name] & ((1 << (8 * nb)) - 1), 8 * nb)
            else:
                val = Cat(val, Const(0, max(0, 8 * nb - len(val))))[:8 * nb]
            info_bytes.extend(val.word_select(i, 8) for i in range(nb))
        info_arr = Array(info_bytes)
        nrun_arr = Array([Cat(n_run, Const(0, 16))[:8], Cat(n_run, Const(0, 16))[8:16]])
        m.d.comb += o_rd.addr.eq(pidx)

        pay_byte = Signal(8)
        with m.Switch(cmd):
            with m.Case(int(Command.STATUS)):
                m.d.comb += pay_byte.eq(info_arr[pidx[:max(1, (lay.info_len - 1).bit_length())]])
            with m.Case(int(Command.RUN)):
                m.d.comb += pay_byte.eq(nrun_arr[pidx[0]])
            with m.Default():
                m.d.comb += pay_byte.eq(o_rd.data)

        hdr = Array([Const(SYNC_RESPONSE, 8), r_status, cmd, r_len[:8], r_len[8:]])

        with m.FSM(name="main") as fsm:
            # ---- receive --------------------------------------------------------
            with m.State("IDLE"):
                with m.If(got):
                    with m.If(byte == SYNC_REQUEST):
                        m.d.sync += [crc.eq(0), idle_timer.eq(0)]
                        m.next = "CMD"
                    with m.Else():
                        m.d.sync += dropped.eq(dropped + 1)

            def frame_byte(next_state, *stmts):
                with m.If(got):
                    m.d.sync += [crc.eq(crc_next), idle_timer.eq(0), *stmts]
                    m.next = next_state
                with m.Elif(idle_timer == self._timeout):
                    m.d.sync += dropped.eq(dropped + 1)
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += idle_timer.eq(idle_timer + 1)

            with m.State("CMD"):
                frame_byte("LEN0", cmd.eq(byte))
            with m.State("LEN0"):
                frame_byte("LEN1", length[:8].eq(byte))
            with m.State("LEN1"):
                total = Cat(length[:8], byte)
                frame_byte("LEN1_DONE", length[8:].eq(byte), remaining.eq(total))
            with m.State("LEN1_DONE"):
                m.d.sync += [sub.eq(0), widx.eq(0), rowc.eq(0), nvec.eq(0), overflow.eq(0)]
                m.next = "PAYLOAD"
                with m.If(remaining == 0):
                    m.next = "CRC"
            with m.State("PAYLOAD"):
                last_of_word = sub == word_bytes - 1
                frame_byte(
                    "PAYLOAD",
                    asm.eq(Cat(asm[8:], byte)),
                    remaining.eq(remaining - 1),
                    sub.eq(Mux(last_of_word, 0, sub + 1)),
                    commit.eq(last_of_word),
                )
                with m.If(got & (remaining == 1)):
                    m.next = "CRC"
            with m.State("CRC"):
                frame_byte("EXEC")

            # ---- execute --------------------------------------------------------
            with m.State("EXEC"):
                st = Signal(8)
                len_ok = Signal()
                known = Signal()
                with m.Switch(cmd):
                    for c, n in ((Command.STATUS, 0), (Command.READ, 0),
                                 (Command.WEIGHTS, lay.weights_len),
                                 (Command.BOUNDS, lay.bounds_len),
                                 (Command.LUT, lay.lut_len),
                                 (Command.NOISE, EmulatorLayout.NOISE_LEN)):
                        with m.Case(int(c)):
                            m.d.comb += [known.eq(1), len_ok.eq(length == n)]
                    with m.Case(int(Command.RUN)):
                        m.d.comb += [known.eq(1),
                                     len_ok.eq((length != 0) & (sub == 0) & (rowc == 0)
                                               & ~overflow)]
                nb_req = word(EmulatorLayout.NOISE_LEN)[:8]
                arg_ok = (cmd != Command.NOISE) | (nb_req <= nb_max)
                with m.If(crc != 0):
                    m.d.comb += st.eq(Status.BAD_CRC)
                with m.Elif(~known):
                    m.d.comb += st.eq(Status.BAD_COMMAND)
                with m.Elif(~len_ok):
                    m.d.comb += st.eq(Status.BAD_LENGTH)
                with m.Elif(~arg_ok):
                    m.d.comb += st.eq(Status.BAD_ARGUMENT)
                m.d.sync += [r_status.eq(st), hidx.eq(0), pidx.eq(0), r_crc.eq(0)]
                with m.If(st != Status.OK):
                    m.d.sync += [frames_bad.eq(frames_bad + 1), r_len.eq(0), self.error.eq(1)]
                    m.next = "RESP_HDR"
                with m.Else():
                    m.d.sync += [frames_ok.eq(frames_ok + 1), self.error.eq(0)]
                    with m.Switch(cmd):
                        with m.Case(int(Command.STATUS)):
                            m.d.sync += r_len.eq(lay.info_len)
                            m.next = "RESP_HDR"
                        with m.Case(int(Command.READ)):
                            m.d.sync += r_len.eq(out_total)
                            m.next = "RESP_HDR"
                        with m.Case(int(Command.NOISE)):
                            wd = word(EmulatorLayout.NOISE_LEN)
                            sd = wd[8:40]
                            m.d.sync += [noise_bits.eq(wd[:8]), seed.eq(Mux(sd == 0, 1, sd)),
                                         r_len.eq(0)]
                            m.next = "RESP_HDR"
                        with m.Case(int(Command.RUN)):
                            m.d.sync += [n_run.eq(nvec), r_len.eq(2), v.eq(0), t.eq(0),
                                         vbase.eq(0), obase.eq(0), lfsr.eq(seed)]
                            m.next = "ACC_INIT"
                        with m.Default():
                            m.d.sync += r_len.eq(0)
                            m.next = "RESP_HDR"

            # ---- compute: crossbar twin ------------------------------------------
            with m.State("ACC_INIT"):
                m.d.sync += [r.eq(0), a_valid.eq(0), *[a.eq(0) for a in acc]]
                m.next = "ACC"
            with m.State("ACC"):
                with m.If(r != rows):
                    m.d.sync += r.eq(r + 1)
                m.d.sync += a_valid.eq(r != rows)
                with m.If(a_valid):
                    for p in range(P):
                        m.d.sync += acc[p].eq(acc[p] + Mux(in_bit, level[p], 0))
                with m.If((r == rows) & ~a_valid):
                    m.d.sync += [q.eq(0), j.eq(0), q_valid.eq(0)]
                    m.next = "QCELL"

            # ---- compute: Q-cell twin --------------------------------------------
            with m.State("QCELL"):
                with m.If(q != Q):
                    m.d.sync += [q.eq(q + 1), j.eq(Mux(j == cpc - 1, 0, j + 1))]
                m.d.sync += [q_valid.eq(q != Q), q_lastcol.eq(j == cpc - 1),
                             q_last.eq(q == Q - 1)]
                with m.If(q_valid):
                    m.d.sync += msr.eq(Cat(msr[1:], match_bit) if Q > 1 else match_bit)
                    with m.If(q_lastcol):
                        m.d.sync += [acc[p].eq(acc[(p + 1) % P]) for p in range(P)]
                        m.d.sync += lfsr.eq(xs(lfsr))
                    with m.If(q_last):
                        m.next = "BEAT"

            with m.State("BEAT"):
                m.d.comb += [per.in_valid.eq(1), per.in_last.eq(t == ib - 1),
                             per.in_match.eq(msr)]
                with m.If(per.in_ready):
                    with m.If(t == ib - 1):
                        m.next = "WAIT_OUT"
                    with m.Else():
                        m.d.sync += t.eq(t + 1)
                        m.next = "ACC_INIT"

            with m.State("WAIT_OUT"):
                m.d.sync += k.eq(0)
                with m.If(per.out_valid):
                    m.next = "STORE"
            with m.State("STORE"):
                m.d.comb += o_wr.en.eq(1)
                m.d.sync += k.eq(k + 1)
                with m.If(k == lay.result_bytes - 1):
                    m.next = "NEXT_VEC"
            with m.State("NEXT_VEC"):
                m.d.comb += per.out_ready.eq(1)
                m.d.sync += [obase.eq(obase + lay.result_bytes), v.eq(v + 1),
                             vbase.eq(vbase + rows), t.eq(0)]
                with m.If(v + 1 == n_run):
                    m.d.sync += out_total.eq(obase + lay.result_bytes)
                    m.next = "RESP_HDR"
                with m.Else():
                    m.next = "ACC_INIT"

            # ---- respond ----------------------------------------------------------
            with m.State("RESP_HDR"):
                m.d.comb += [tx.i.valid.eq(1), tx.i.payload.eq(hdr[hidx])]
                with m.If(tx.i.ready):
                    m.d.sync += hidx.eq(hidx + 1)
                    with m.If(hidx != 0):
                        m.d.sync += r_crc.eq(_crc8_hw(r_crc, hdr[hidx]))
                    with m.If(hidx == 4):
                        m.next = "RESP_WAIT"
                        with m.If(r_len == 0):
                            m.next = "RESP_CRC"
            with m.State("RESP_WAIT"):       # one cycle for the result memory read
                m.next = "RESP_PAY"
            with m.State("RESP_PAY"):
                m.d.comb += [tx.i.valid.eq(1), tx.i.payload.eq(pay_byte)]
                with m.If(tx.i.ready):
                    m.d.sync += [pidx.eq(pidx + 1), r_crc.eq(_crc8_hw(r_crc, pay_byte))]
                    with m.If(pidx == r_len - 1):
                        m.next = "RESP_CRC"
                    with m.Else():
                        m.next = "RESP_WAIT"
            with m.State("RESP_CRC"):
                m.d.comb += [tx.i.valid.eq(1), tx.i.payload.eq(r_crc)]
                with m.If(tx.i.ready):
                    m.next = "IDLE"

        # Bytes that arrive while the emulator is not receiving are dropped.
        receiving = fsm.ongoing("IDLE") | fsm.ongoing("CMD") | fsm.ongoing("LEN0") \
            | fsm.ongoing("LEN1") | fsm.ongoing("PAYLOAD") | fsm.ongoing("CRC")
        with m.If(got & ~receiving):
            m.d.sync += dropped.eq(dropped + 1)
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        return m


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
    spec, calibration, baud, batch_max, noise_bits_max, decoder
        As :class:`Emulator`.
    clk_hz : float
        The board's default clock frequency.
    por_s : float
        Power-on reset time in seconds (default 20 us).
    """

    def __init__(self, spec: MacroSpec, calibration: MacroCalibration | None = None, *,
                 clk_hz: float, baud: float = 115200, batch_max: int = 32,
                 noise_bits_max: int = 3, decoder: str | None = None, por_s: float = 20e-6):
        self.emulator = Emulator(spec, calibration, clk_hz=clk_hz, baud=baud,
                                 batch_max=batch_max, noise_bits_max=noise_bits_max,
                                 decoder=decoder)
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
