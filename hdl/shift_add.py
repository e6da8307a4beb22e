"""Shift-add accumulator, combine first: each beat's slices, polarities and offset
reference are combined into one value per column group, then MSB-first Horner sums
accumulate one register per logical column."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.digital import lut_width, mux_groups
from golden.spec import MacroSpec

from ._checks import check_spec
from .trees import signed_adder_tree

__all__ = ["ShiftAdd", "signed_width"]


def signed_width(lo: int, hi: int) -> int:
    """Smallest two's-complement width holding every integer in ``lo .. hi``."""
    return 1 + max(hi.bit_length(), (-lo - 1).bit_length())


class ShiftAdd(wiring.Component):
    """Accumulate one MVM's LUT values into the logical column outputs.

    **Beats.** With ``k = adc.columns_per_adc`` and ``T = input_bits``, an MVM is
    ``T*k`` valid beats: beat ``t*k + j`` carries input bit ``t`` (MSB first) in
    phase ``j``, slot ``g`` holding the value of the physical column
    ``golden.digital.mux_groups(spec)[g, j]`` (don't-care where that is -1). An MVM
    is the run of ``valid`` beats up to and including one with ``last``; the next
    valid beat starts a new one (also the first after reset), at phase 0. Cycles with
    ``valid`` low are skipped and may come anywhere. The widths below, and equality
    with the golden model, assume exactly ``T*k`` beats per MVM (the driver of
    ``last`` keeps to that). For ``k = 1`` slot ``g`` is physical column ``g``.

    **Combine first.** Horner accumulation is linear, so the slices, polarities and
    the reference column are combined per beat *before* accumulating. Column group
    ``q`` (logical columns ``q*k .. q*k+k-1``) has one balanced tree
    (:func:`hdl.trees.signed_adder_tree`, no negation inside)::

        w_q = sum_s (v[g(q,s,+)] - v[g(q,s,-)]) << (s*cell_bits)           # differential
        w_q = sum_s v[g(q,s)] << (s*cell_bits) - (r << (weight_bits-1))     # offset

    where ``r`` is the reference slot's value, taken in phase 0 and held in a
    register for phases ``1 .. k-1`` of the same input bit. On the first input bit of
    a signed-input MVM (weight ``-2**(T-1)``) the stage stores ``-w_q``.

    **Accumulation.** Logical column ``c = q*k + j`` has one accumulator, updated only
    in phase ``j``: ``acc = w`` on the first input bit, then ``acc = 2*acc + w``. By
    linearity ``acc`` ends equal to :func:`golden.digital.shift_add` (the Horner sums
    per physical column combined afterwards), bit for bit.

    **Widths.** With ``L = lut_width(spec)``, ``h = 2**(L-1)``, every value lies in
    ``[-h, h-1]``; ``w`` is a sum of independent terms ``+-v << n``, so its range
    ``comb_range`` is the sum of the term ranges (a + term gives ``[-h*2**n,
    (h-1)*2**n]``, a - term ``[-(h-1)*2**n, h*2**n]``), widened by its negation for
    signed inputs. The accumulator after the last bit is
    ``sum_t a_t * w_t`` with ``a_t = 2**(T-1-t)`` (``-2**(T-1)`` for a signed MSB),
    each ``w_t`` independent, so its range follows by interval arithmetic
    (``acc = +-w``, then ``2*acc + w``) and is exactly the range of
    :func:`golden.digital.shift_add` over every input: ``acc_width = out_width =``
    :func:`golden.digital.out_width`. Every partial sum lies in that range too (each
    step's range contains 0), so the accumulator never wraps; every tree adder is one
    bit wider than its operands and only the exact result is cut to ``comb_width``.

    **Latency 2**: for a beat with ``valid & last`` in cycle ``t``, the combine
    register holds its ``w`` in ``t + 1``, the accumulators are final and
    ``out_valid`` is high in cycle ``t + 2``. The next MVM may start in ``t + 1`` (no
    gap cycle), so a result can leave every cycle when ``T*k = 1``. ``out`` is the
    accumulators themselves: valid while ``out_valid`` is high, then overwritten by
    the next MVM's beats (hold it by stalling the whole component, as
    :class:`hdl.periphery.Periphery` does with its clock enable).

    Parameters
    ----------
    spec : golden.spec.MacroSpec
        The macro (input bits and signedness, columns, slices, cell bits, mapping,
        ``adc.columns_per_adc``, LUT format).

    Members
    -------
    values : In(ArrayLayout(signed(lut_width), n_groups))
        The LUT value of each ADC group slot for this beat (:func:`golden.digital.
        mux_groups` order). Sampled at the clock edge ending a cycle with ``valid``.
    valid : In(1)
        ``values`` and ``last`` hold a beat.
    last : In(1)
        This beat is the last beat (LSB, phase ``k-1``) of its MVM. Sampled with
        ``valid``.
    out : Out(ArrayLayout(signed(out_width), cols))
        The MVM result per logical column, column 0 in the low bits, with
        ``adc.lut_frac_bits`` fractional bits. Valid while ``out_valid`` is high.
    out_valid : Out(1)
        One-cycle strobe, ``latency`` cycles after the ``last`` beat.

    Raises
    ------
    ValueError
        ``spec`` is not a :class:`golden.spec.MacroSpec`.
    """

    def __init__(self, spec: MacroSpec):
        self._spec = check_spec(spec)
        m = spec.macro
        self._k = spec.adc.columns_per_adc
        self._groups = mux_groups(spec)
        self._lut_width = lut_width(spec)
        h = 1 << (self._lut_width - 1)
        wlo, whi = 0, 0
        for _, neg, shift in self._leaves(0):
            lo, hi = (-(h - 1), h) if neg else (-h, h - 1)
            wlo, whi = wlo + (lo << shift), whi + (hi << shift)
        lo, hi = (-whi, -wlo) if m.input_signed else (wlo, whi)
        self._comb_range = (min(wlo, lo), max(whi, hi))
        for _ in range(1, m.input_bits):
            lo, hi = 2 * lo + wlo, 2 * hi + whi
        self._acc_range = (lo, hi)
        super().__init__({
            "values": In(data.ArrayLayout(signed(self._lut_width), len(self._groups))),
            "valid": In(1),
            "last": In(1),
            "out": Out(data.ArrayLayout(signed(self.out_width), m.cols)),
            "out_valid": Out(1),
        })

    def _leaves(self, q: int) -> list[tuple[int, bool, int]]:
        """``(slot, subtracted, shift)`` of each term of column group ``q``'s tree."""
        m = self._spec.macro
        out = [((q * m.slices + s) * m.polarities + pol, pol == 1, s * m.cell_bits)
               for s in range(m.slices) for pol in range(m.polarities)]
        if m.has_ref_column:
            out.append((len(self._groups) - 1, True, m.weight_bits - 1))
        return out

    @property
    def spec(self) -> MacroSpec:
        """The macro spec."""
        return self._spec

    @property
    def latency(self) -> int:
        """Cycles from the ``valid & last`` beat to ``out_valid``: 2."""
        return 2

    @property
    def columns_per_adc(self) -> int:
        """Beats per input bit, ``adc.columns_per_adc``."""
        return self._k

    @property
    def n_groups(self) -> int:
        """Slots of ``values``: the rows of :func:`golden.digital.mux_groups`."""
        return len(self._groups)

    @property
    def column_groups(self) -> int:
        """Combine trees: ``ceil(cols / columns_per_adc)``."""
        return -(-self._spec.macro.cols // self._k)

    @property
    def lut_width(self) -> int:
        """Signed width of each input value: :func:`golden.digital.lut_width`."""
        return self._lut_width

    @property
    def comb_range(self) -> tuple[int, int]:
        """Inclusive range of one column group's registered combined value."""
        return self._comb_range

    @property
    def comb_width(self) -> int:
        """Signed width of the combine register."""
        return signed_width(*self._comb_range)

    @property
    def acc_range(self) -> tuple[int, int]:
        """Inclusive range of one logical column's accumulator (= :attr:`out_range`)."""
        return self._acc_range

    @property
    def acc_width(self) -> int:
        """Signed accumulator width, equal to :attr:`out_width`."""
        return signed_width(*self._acc_range)

    @property
    def out_range(self) -> tuple[int, int]:
        """Inclusive range of one output over all LUT contents and codes (the
        accumulator's: ``out`` is the accumulators)."""
        return self.acc_range

    @property
    def out_width(self) -> int:
        """Signed output width, equal to :func:`golden.digital.out_width`."""
        return self.acc_width

    @property
    def tree_depth(self) -> int:
        """Adder levels of one combine tree: ``ceil(log2(slices*polarities + ref))``
        (plus one negation level with signed inputs)."""
        n = len(self._leaves(0))
        return (n - 1).bit_length() + int(self._spec.macro.input_signed)

    @staticmethod
    def _horner_step(acc, v):
        """One MSB-first Horner step, ``2*acc + v`` (a test-only subclass changes it)."""
        return (acc << 1) + v

    def elaborate(self, platform):
        m = Module()
        spec, k = self._spec.macro, self._k
        phase = Signal(range(k), name="phase")
        first = Signal(init=1)
        ref_now = None
        if spec.has_ref_column:
            ref_now = self.values[self.n_groups - 1]
            if k > 1:  # the reference slot is live in phase 0 only
                ref_hold = Signal(signed(self._lut_width))
                with m.If(self.valid & (phase == 0)):
                    m.d.sync += ref_hold.eq(ref_now)
                ref_now = Mux(phase == 0, ref_now, ref_hold)
        with m.If(self.valid):
            wrap = self.last | (phase == k - 1)
            m.d.sync += [phase.eq(Mux(wrap, 0, phase + 1)),
                         first.eq(self.last | (first & ~wrap))]

        # Stage 1: one registered combined value per column group.
        s1_valid, s1_last, s1_first = Signal(), Signal(), Signal()
        s1_phase = Signal(range(k))
        comb = [Signal(signed(self.comb_width), name=f"comb{q}")
                for q in range(self.column_groups)]
        m.d.sync += [s1_valid.eq(self.valid), s1_last.eq(self.last), s1_first.eq(first),
                     s1_phase.eq(phase)]
        for q, reg in enumerate(comb):
            terms = [((ref_now if slot == self.n_groups - 1 and spec.has_ref_column
                       else self.values[slot]) << shift, neg)
                     for slot, neg, shift in self._leaves(q)]
            w = signed_adder_tree(terms).value
            m.d.sync += reg.eq(Mux(first, -w, w) if spec.input_signed else w)

        # Stage 2: Horner step of logical column q*k + j in phase j.
        for c in range(spec.cols):
            q, j = divmod(c, k)
            acc = self.out[c]
            with m.If(s1_valid & (s1_phase == j)):  # first bit: 2*0 + w, one adder
                m.d.sync += acc.eq(self._horner_step(Mux(s1_first, 0, acc), comb[q]))
        m.d.sync += self.out_valid.eq(s1_valid & s1_last)
        return m
