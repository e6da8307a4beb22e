"""The whole golden macro: signed weights and inputs in, the periphery's outputs out.

``crossbar`` (analog partial sums per input-bit cycle and physical column) ->
``qcell`` (one Q-cell ADC per physical column, two with super-resolution) ->
``digital`` (decode, SR combine, fixed-point LUT, shift-add). The result is the
fixed-point ``out_data`` and the ``out_flags`` the generated RTL must produce.

Calibration
-----------
:meth:`Macro.calibrate` runs calibration inputs through the crossbar, pools each LUT
group's ADC inputs (``adc.lut_scope``: one group, one per slice, one per physical
column; the offset reference column is its own group under ``per_slice``), and designs
per group: the full scale ``[min - 0.5, max + 0.5]`` of the pooled samples (partial
sums are integers in the ideal limit, so half a unit of margin), the boundaries with
``adc.method`` and the LUT: the levels (no SR), the nominal SR table, the SR table
calibrated on this chip's realised Q-cells, or the interleaved pair. A group whose
samples take no more distinct values than the ADC has codes gets a lossless ADC
(boundaries half-way between the values).

Q-cell variation
----------------
Each bound's sigma and each window's guard band follow :mod:`golden.calibration`
(:func:`~golden.calibration.bound_sigmas`, :func:`~golden.calibration.guard_bands`).
The unit-normal draws are static and keyed by ``(seed, STREAM_QCELL, array_id,
physical column, ADC, copy, cell)``, so a chip keeps its Q-cells whatever it is
calibrated to and however the batch is split. :class:`MacroCalibration` and the
data-free calibrations live in :mod:`golden.calibration` and are re-exported here.

Fast conversion
---------------
A realised ADC's (code, flags) is a step function of its input with steps at its finite
bounds. :meth:`Macro.run` tabulates it once per ADC (by running :func:`qcell.QCellBank.match`
and :func:`digital.decode` at each step) and converts with ``searchsorted``; this is
bit-identical to decoding the match vectors (tested) and avoids materialising
``cells`` booleans per conversion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import digital, qcell, quantize, sr
from .calibration import (
    MacroCalibration,
    bound_sigmas,
    default_calibration,
    guard_bands,
    lossless_calibration,
)
from .crossbar import Crossbar, check_inputs
from .device import keyed_normal
from .spec import MacroSpec

__all__ = [
    "STREAM_QCELL",
    "Macro",
    "MacroCalibration",
    "MvmResult",
    "default_calibration",
    "lossless_calibration",
]

STREAM_QCELL = 5
"""Key stream of the Q-cell bound draws (see :mod:`golden.device` for the others)."""

BUCKETS = 4096
"""Equal-width buckets per physical column of the fast conversion (Macro._bucket_tables)."""
GATHER_COLS = 64
GATHER_ROWS = 16384
"""Block of the table gather (Macro._gather): 64 columns' tables (1 MiB) stay in cache."""


@dataclass(frozen=True)
class MvmResult:
    """Outputs of a batch of MVMs.

    Attributes
    ----------
    out : ndarray of int64, shape (batch, cols)
        Fixed-point outputs with ``frac_bits`` fractional bits (the RTL's ``out_data``).
    flags : ndarray of uint8, shape (batch,)
        OR of every decoder and SR flag seen during each MVM (``out_flags``).
    """

    out: np.ndarray
    flags: np.ndarray
    frac_bits: int

    @property
    def values(self) -> np.ndarray:
        """Outputs in real units (the fixed point scaled back), float64."""
        return self.out.astype(np.float64) / float(1 << self.frac_bits)


def _lossless_quantizer(values: np.ndarray, n_levels: int, full_scale) -> quantize.Quantizer:
    """Boundaries half-way between the distinct values; spare codes above the top one."""
    lo, hi = full_scale
    b = (values[:-1] + values[1:]) / 2.0
    spare = n_levels - values.size
    top = values[-1] + (hi - values[-1]) * np.arange(1, spare + 1) / (spare + 1)
    b = np.concatenate([b, top])
    edges = np.concatenate([[lo], b, [hi]])
    levels = np.concatenate([values, (edges[values.size:-1] + edges[values.size + 1:]) / 2])
    return quantize.Quantizer(b, levels, (lo, hi), "lossless")


class Macro:
    """One macro instance: a programmed crossbar and its realised Q-cell ADCs.

    Parameters
    ----------
    spec : MacroSpec
    weights : array_like of int, shape (rows, cols)
        Signed weights in ``spec.macro.weight_range``.
    array_id : int
        Key of this instance's static draws (tiles of a layer use distinct ids).
    calibration : MacroCalibration, optional
        Set now or later with :meth:`calibrate`.
    **crossbar_kw
        Passed to :class:`golden.crossbar.Crossbar` (``drift_time``, ``source_ohm``...).
    """

    def __init__(self, spec: MacroSpec, weights, *, array_id: int = 0,
                 calibration: MacroCalibration | None = None, **crossbar_kw):
        if not isinstance(spec, MacroSpec):
            raise ValueError(f"spec = {spec!r}: must be a MacroSpec")
        self.spec = spec
        self.array_id = int(array_id)
        self.crossbar = Crossbar(spec, weights, array_id=array_id, **crossbar_kw)
        a = spec.adc
        self._lut_index = digital.lut_index(spec)
        copies = 2 if a.encoding == "window" else 1
        # One draw per physical ADC: columns sharing an ADC (adc.columns_per_adc > 1)
        # are converted by the same Q-cells; for k = 1 group g is physical column g.
        groups = digital.mux_groups(spec).shape[0]
        self._z = keyed_normal(
            spec.device.seed, STREAM_QCELL, self.array_id,
            np.arange(groups)[:, None, None, None],
            np.arange(a.adcs_per_column)[None, :, None, None],
            np.arange(copies)[None, None, :, None], np.arange(a.levels - 1)[None, None, None, :],
        )[digital.group_of(spec)]
        self._calibration: MacroCalibration | None = None
        self._banks: qcell.QCellBank | None = None
        self._tables = None
        self._buckets = None
        if calibration is not None:
            self.calibration = calibration

    # -- calibration -------------------------------------------------------------------

    @property
    def calibration(self) -> MacroCalibration | None:
        """The calibration in use (boundaries programmed into the Q-cells, LUTs)."""
        return self._calibration

    @calibration.setter
    def calibration(self, cal: MacroCalibration) -> None:
        cal.check(self.spec)
        self._calibration = cal
        self._banks = self._program(cal.boundaries, cal.full_scale)
        self._tables = None
        self._buckets = None
        self._lut_fixed = cal.lut_fixed(self.spec)

    @property
    def banks(self) -> qcell.QCellBank:
        """This chip's realised Q-cell ADCs under the current calibration.

        A :class:`golden.qcell.QCellBank` of shape (phys_cols, adcs_per_column): the
        bounds every conversion of :meth:`run` compares against (read-only; set a new
        :attr:`calibration` to reprogram them).

        Raises
        ------
        ValueError
            Before the macro is calibrated.
        """
        self._need_calibration()
        return self._banks

    def _program(self, boundaries: np.ndarray, full_scale: np.ndarray) -> qcell.QCellBank:
        """Realise every physical column's ADCs; bank shape (phys_cols, adcs)."""
        a = self.spec.adc
        sig = bound_sigmas(self.spec, boundaries, full_scale)
        li = self._lut_index
        guard = 0.0
        if a.encoding == "window":
            guard = guard_bands(self.spec, full_scale, sig)[li][:, None, None]
        return qcell.bank_from_draws(boundaries[li], a.encoding, sig[li], self._z, guard=guard)

    def calibrate(self, x, *, vector_ids=None) -> MacroCalibration:
        """Calibrate on inputs ``x`` (batch, rows) and program the result; returns it."""
        spec = self.spec
        a = spec.adc
        sig = self.crossbar.column_signals(x, vector_ids=vector_ids)
        n = digital.n_luts(spec)
        fs = np.empty((n, 2))
        bnd = np.empty((n, a.adcs_per_column, a.levels - 1))
        quants = []
        pooled = []
        for g in range(n):
            s = sig[..., self._lut_index == g].ravel()
            fs[g] = (s.min() - 0.5, s.max() + 0.5)
            uniq = np.unique(s)
            if uniq.size <= a.levels:
                q = _lossless_quantizer(uniq, a.levels, fs[g])
            else:
                q = quantize.design(a.method, s, a.bits, full_scale=tuple(fs[g]))
            if a.sr == "interleaved":
                qa, qb, fine = sr.interleaved_pair(s, a.bits, tuple(fs[g]), method=a.method) \
                    if uniq.size > 2 * a.levels else (q, q, sr.nominal_table(q))
                bnd[g] = (qa.boundaries, qb.boundaries)
                quants.append((q, fine))
            else:
                bnd[g] = q.boundaries
                quants.append((q, q.levels if a.sr == "none" else sr.nominal_table(q)))
            pooled.append(s)
        lut = np.stack([t for _, t in quants])
        cal = MacroCalibration(a.bits, a.encoding, a.sr, a.lut_scope, fs, bnd, lut,
                               meta={"method": a.method, "samples": int(sig.size)})
        if a.sr in ("calibrated", "interleaved"):
            # The chip's own Q-cells decide which SR code each calibration sample gets.
            self.calibration = cal
            codes, _ = self.convert(sig)
            lut = lut.copy()
            for g in range(n):
                s_codes = codes[..., self._lut_index == g].ravel()
                lut[g] = sr.calibrated_table(pooled[g], s_codes, a.lut_entries, lut[g])
            cal = MacroCalibration(a.bits, a.encoding, a.sr, a.lut_scope, fs, bnd, lut,
                                   meta=cal.meta)
        self.calibration = cal
        return cal

    # -- conversion --------------------------------------------------------------------

    def _transfer_tables(self):
        """Per physical column: sorted finite bounds of all its ADCs and, for every step
        between them, the (SR-combined) code and flags the periphery computes.

        Computed by running :meth:`golden.qcell.QCellBank.match`, :func:`digital.decode`
        and :func:`digital.sr_combine` at one point of every step, so it is exact by
        construction. Shapes (P, nb), (P, nb + 1), (P, nb + 1).
        """
        if self._tables is None:
            bank = self._banks
            if bank.encoding == "window":
                bp = np.concatenate([bank.lower[..., 1:], bank.upper[..., :-1]], axis=-1)
            else:
                bp = np.array(bank.thresholds)
            bp = np.sort(bp.reshape(bp.shape[0], -1), axis=-1)  # all ADCs of a column
            rep = np.concatenate([bp[:, :1] - 1.0, bp], axis=-1)  # a point in every step
            code, flags = digital.decode(bank.match(rep.T[:, :, None]), bank.encoding)
            if code.shape[-1] == 2:
                sr_code, fsr = digital.sr_combine(code[..., 0], code[..., 1])
                code, flags = sr_code, flags[..., 0] | flags[..., 1] | fsr
            else:
                code, flags = code[..., 0], flags[..., 0]
            self._tables = (bp, code.T.astype(np.uint16), flags.T.astype(np.uint8))
        return self._tables

    def _bucket_tables(self):
        """Per physical column: (code, flags, dirty) over ``BUCKETS`` equal buckets.

        Bucket ``t = floor((v - lo) / h) + 1`` (clipped to ``0 .. BUCKETS + 1``; 0 holds
        everything below the lowest bound ``lo``, exactly, since ``v - lo`` is exact
        near ``lo``) is *clean* when no bound lies within ``h * 1e-6`` of it: every
        input landing in it, whatever the rounding of ``t``, then has the same number
        of bounds at or below it, hence the same step. Inputs in dirty buckets are
        counted exactly against all bounds. Packed as code (bits 0-8), flags (9-12),
        dirty (15), so a conversion costs one gather.
        """
        if self._buckets is None:
            bp, tcode, tflag = self._transfer_tables()
            n = bp.shape[0]
            g = BUCKETS
            lo = bp[:, 0].copy()
            span = bp[:, -1] - lo
            span[span <= 0] = 1.0
            inv_h = g / span
            rows = np.arange(n)[:, None]
            eps = 1e-6 * span[:, None] / g

            def bucket(v):
                u = np.clip((v - lo[:, None]) * inv_h[:, None], -1, g)
                return np.floor(u).astype(np.int64) + 1

            counts = np.zeros((n, g + 3), dtype=np.int64)
            np.add.at(counts, (rows, bucket(bp) + 1), 1)
            below = np.cumsum(counts, axis=1)[:, :g + 2]
            dirty = np.zeros((n, g + 2), dtype=np.uint16)
            dirty[rows, bucket(bp - eps)] = 1
            dirty[rows, bucket(bp + eps)] = 1
            dirty[:, 0] = 0
            packed = tcode[rows, below] | (tflag[rows, below].astype(np.uint16) << 9) \
                | (dirty << 15)
            # The same with the fixed-point LUT value in place of the code, for run():
            # value << 5 | flags << 1 | dirty, in int32 when it fits.
            tval = self._lut_fixed[self._lut_index[:, None], tcode.astype(np.int64)]
            wide = digital.lut_width(self.spec) + 5 > 32
            vt = np.int64 if wide else np.int32
            # Dirty words hold no value and no flags (the exact ones are patched in).
            vpacked = np.where(dirty.astype(bool), vt(1),
                               (tval[rows, below].astype(vt) << 5)
                               | (tflag[rows, below].astype(vt) << 1))
            self._buckets = (lo, inv_h, packed, vpacked, tval)
        return self._buckets

    def _gather(self, flat: np.ndarray, table: np.ndarray) -> np.ndarray:
        """``table``'s word for every conversion of ``flat`` (N, P): its bucket's entry.

        Bucket ``floor((v - lo) * inv_h) + 1`` clipped to ``0 .. BUCKETS + 1``, offset by
        the column's table row, computed and gathered in blocks of ``GATHER_COLS``
        columns (and ``GATHER_ROWS`` rows): each block's table rows then stay in cache,
        which halves the cost of the gather on wide macros. The +1 and the row offset
        are whole numbers below 2**31, added in one pass: exact, floor unchanged.
        """
        lo, inv_h = self._bucket_tables()[:2]
        n, p = flat.shape
        tab = table.ravel()
        base = 1.0 + np.arange(p, dtype=np.float64) * (BUCKETS + 2)
        out = np.empty((n, p), dtype=tab.dtype)
        for r0 in range(0, n, GATHER_ROWS):
            r1 = min(r0 + GATHER_ROWS, n)
            for c0 in range(0, p, GATHER_COLS):
                c1 = min(c0 + GATHER_COLS, p)
                u = flat[r0:r1, c0:c1] - lo[c0:c1]
                u *= inv_h[c0:c1]
                np.clip(u, -1, BUCKETS, out=u)
                u += base[c0:c1]
                np.take(tab, u.astype(np.int32), out=out[r0:r1, c0:c1])
        return out

    def convert_values(self, signals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-point LUT values (int64) and flags per conversion, shape (batch, T, P).

        :meth:`convert` followed by the LUT lookup, fused into the same table gather.
        """
        vpacked, tval = self._bucket_tables()[3:]
        bp, _, tflag = self._transfer_tables()
        p = signals.shape[-1]
        flat = signals.reshape(-1, p)
        word = self._gather(flat, vpacked)
        values = (word >> 5).astype(np.int64)
        flags = ((word >> 1) & 0xF).astype(np.uint8)
        d = np.flatnonzero(word & 1)
        if d.size:
            col = d % p
            steps = np.count_nonzero(flat.ravel()[d][:, None] >= bp[col], axis=1)
            values.ravel()[d] = tval[col, steps]
            flags.ravel()[d] = tflag[col, steps]
        return values.reshape(signals.shape), flags.reshape(signals.shape)

    def convert(self, signals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every ADC conversion of ``signals``: what the decoders (and SR) give.

        Parameters
        ----------
        signals : ndarray of float64, shape (batch, input_bits, phys_cols)
            ADC inputs, as :meth:`golden.crossbar.Crossbar.column_signals` returns them.

        Returns
        -------
        codes : ndarray, shape (batch, input_bits, phys_cols)
            SR-combined code of each conversion (the LUT address within its group).
        flags : ndarray of uint8, same shape
            Decoder and SR flags of each conversion.

        Raises
        ------
        ValueError
            Before the macro is calibrated.
        """
        self._need_calibration()
        packed = self._bucket_tables()[2]
        bp, tcode, tflag = self._transfer_tables()
        batch, cyc, p = signals.shape
        flat = signals.reshape(-1, p)
        word = self._gather(flat, packed)
        codes = word & 0x1FF
        flags = ((word >> 9) & 0xF).astype(np.uint8)
        d = np.flatnonzero(word >= 0x8000)
        if d.size:
            col = d % p
            steps = np.count_nonzero(flat.ravel()[d][:, None] >= bp[col], axis=1)
            codes.ravel()[d] = tcode[col, steps]
            flags.ravel()[d] = tflag[col, steps]
        return codes.reshape(batch, cyc, p), flags.reshape(batch, cyc, p)

    def match_vectors(self, x, *, vector_ids=None) -> np.ndarray:
        """Every Q-cell match bit: bool (batch, input_bits, phys_cols, adcs, cells).

        This is what the periphery's ``in_match`` carries, one input-bit cycle a beat.
        """
        self._need_calibration()
        sig = self.crossbar.column_signals(x, vector_ids=vector_ids)
        return self._banks.match(sig[..., None])

    def run(self, x, *, vector_ids=None, ideal: bool = False) -> MvmResult:
        """Run a batch of MVMs through the whole macro.

        Parameters
        ----------
        x : array_like of int, shape (batch, rows)
        vector_ids : array_like of int, optional
            Read-noise keys (default ``0 .. batch - 1``).
        ideal : bool
            No device effects and a lossless ADC: the output is ``(x @ W) << frac_bits``
            exactly (the partial sums go straight to an identity LUT, whatever
            ``adc.bits``).
        """
        spec = self.spec
        f = spec.adc.lut_frac_bits
        if ideal:
            check_inputs(x, spec.macro)
            ps = self.crossbar.partial_sums(x)
            values = digital.to_fixed(ps.astype(np.float64), f, digital.lut_width(spec))
            out = digital.shift_add(values, spec)
            return MvmResult(out, np.zeros(out.shape[0], dtype=np.uint8), f)
        self._need_calibration()
        sig = self.crossbar.column_signals(x, vector_ids=vector_ids)
        acc, flags = self.convert_accumulate(sig)
        out = digital.combine_columns(acc, spec)
        return MvmResult(out, flags, f)

    def convert_accumulate(self, signals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Conversion, LUT lookup and the per-column Horner sum fused (for :meth:`run`).

        ``signals`` as for :meth:`convert`; :func:`golden.digital.combine_columns` of
        ``acc`` is :meth:`run`'s output. Equal to :meth:`convert_values` followed by the
        accumulation of :func:`golden.digital.shift_add` (tested against it), without
        the int64 value and uint8 flag arrays of every conversion: one table gather per
        conversion, the Horner weights applied per cycle to the packed words, and the
        flags OR-reduced from the words. Conversions in dirty buckets (see
        :meth:`_bucket_tables`) are counted exactly and patched into both.

        Returns
        -------
        acc : ndarray of int64, shape (batch, phys_cols)
            Per physical column ``sum_t c_t * v_t`` with ``c_t = 2**(T-1-t)`` (negated
            for ``t = 0`` with signed inputs).
        flags : ndarray of uint8, shape (batch,)

        Raises
        ------
        ValueError
            Before the macro is calibrated.
        """
        self._need_calibration()
        vpacked, tval = self._bucket_tables()[3:]
        bp, _, tflag = self._transfer_tables()
        batch, cyc, p = signals.shape
        word = self._gather(signals.reshape(-1, p), vpacked)
        word = word.reshape(batch, cyc, p)
        coef = np.left_shift(np.int64(1), np.arange(cyc - 1, -1, -1, dtype=np.int64))
        if self.spec.macro.input_signed:
            coef[0] = -coef[0]
        acc = np.zeros((batch, p), dtype=np.int64)
        for t in range(cyc):
            acc += (word[:, t, :] >> 5) * coef[t]
        # Dirty words are 1 (no value, no flags): add the exact step of each input.
        fw = np.bitwise_or.reduce(word.reshape(batch, -1), axis=1)
        flags = ((fw >> 1) & 0xF).astype(np.uint8)
        dirty = np.flatnonzero(word.reshape(-1) == 1) if np.any(fw & 1) else ()
        if len(dirty):
            b, rem = np.divmod(dirty, cyc * p)
            t, col = np.divmod(rem, p)
            steps = np.count_nonzero(signals.reshape(-1)[dirty][:, None] >= bp[col], axis=1)
            np.add.at(acc, (b, col), tval[col, steps].astype(np.int64) * coef[t])
            np.bitwise_or.at(flags, b, tflag[col, steps])
        return acc, flags

    # The private names of an earlier release, still used by cimgen.flow/sweep, hdl.emu
    # and sim.bench_emulator until they switch to the public ones.
    _convert = convert
    _convert_accumulate = convert_accumulate

    def _need_calibration(self) -> None:
        if self._calibration is None:
            raise ValueError("macro: not calibrated; call calibrate(x) or set calibration")
