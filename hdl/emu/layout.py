"""What the host and the gateware agree on: :class:`EmulatorLayout`.

Widths, byte layouts and limits of one emulator build, the STATUS fields, the
payload lengths and word sizes of every command, and the host-side packing of
request payloads and unpacking of results. Pure Python (numpy, no Amaranth).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

import numpy as np

from golden.digital import lut_width, n_luts, out_width
from golden.spec import DECODERS, MacroSpec

from .._checks import check_int, check_spec
from .protocol import MAGIC, MAX_PAYLOAD, PROTOCOL_VERSION, Command

__all__ = ["EmulatorLayout"]


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

    Raises
    ------
    ValueError
        A parameter out of range, or a payload (weights, bounds, LUT, a full RUN or
        READ) longer than :data:`MAX_PAYLOAD` bytes.
    """

    spec: MacroSpec
    batch_max: int = 32
    noise_bits_max: int = 3

    def __post_init__(self):
        check_spec(self.spec)
        check_int("batch_max", self.batch_max, 1, 4096)
        check_int("noise_bits_max", self.noise_bits_max, 0, 8)
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
    def decoder(self) -> str:
        """The periphery's decoder: ``spec.adc.decoder_name``."""
        return self.spec.adc.decoder_name

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

    @property
    def request_lengths(self) -> dict[Command, int | None]:
        """Payload length of each command's request; ``None`` for RUN (1..``batch_max``
        whole vectors)."""
        return {Command.STATUS: 0, Command.READ: 0, Command.WEIGHTS: self.weights_len,
                Command.BOUNDS: self.bounds_len, Command.LUT: self.lut_len,
                Command.NOISE: self.NOISE_LEN, Command.RUN: None}

    @property
    def word_bytes(self) -> dict[Command, int]:
        """Bytes per payload word of the commands with a payload: the unit the
        gateware writes to its memories (a row, a bound pair, a LUT value, an input,
        the NOISE arguments)."""
        return {Command.WEIGHTS: self.row_bytes, Command.BOUNDS: 2 * self.bound_bytes,
                Command.LUT: self.lut_bytes, Command.RUN: self.input_bytes,
                Command.NOISE: self.NOISE_LEN}

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

    def decode_info(self, payload: bytes) -> dict:
        """The STATUS response payload as a dict of :attr:`info_fields`.

        Raises
        ------
        ValueError
            A payload whose length is not :attr:`info_len`.
        """
        if len(payload) != self.info_len:
            raise ValueError(f"STATUS payload of {len(payload)} bytes; this host expects "
                             f"{self.info_len} (a different protocol version?)")
        out, pos = {}, 0
        for name, n in self.info_fields:
            out[name] = int.from_bytes(payload[pos:pos + n], "little")
            pos += n
        return out

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
