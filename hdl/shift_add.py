"""Shift-add accumulator: bit-serial MSB-first Horner sums, then slice/polarity/offset
combination per logical column."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.digital import lut_width
from golden.spec import MacroSpec

from ._checks import check_spec
from .trees import adder_tree

__all__ = ["ShiftAdd", "signed_width"]


def signed_width(lo: int, hi: int) -> int:
    """Smallest two's-complement width holding every integer in ``lo .. hi``."""
    return 1 + max(hi.bit_length(), (-lo - 1).bit_length())


class ShiftAdd(wiring.Component):
    """Accumulate one MVM's LUT values into the logical column outputs.

    **Accumulation.** Per physical column ``p``, over the ``input_bits = T`` beats of
    one MVM (MSB beat first): ``acc = v`` on the first beat (``acc = -v`` when
    ``macro.input_signed``: the MSB has weight ``-2**(T-1)``), then ``acc = 2*acc + v``.
    An MVM is the run of ``valid`` beats up to and including one with ``last``; the
    next valid beat starts a new one (also the first beat after reset). Cycles with
    ``valid`` low are skipped and may come anywhere. The widths below, and equality
    with the golden model, assume exactly ``T`` beats per MVM; the driver of
    ``last`` keeps to that.

    **Combination.** Then, per logical column ``c``, one balanced adder tree
    (:func:`hdl.trees.adder_tree`) over the slices (and the reference column)::

        y_c = sum_s (acc[c,s,+] - acc[c,s,-]) << (s*cell_bits)                 # differential
        y_c = sum_s acc[c,s] << (s*cell_bits) - (acc[ref] << (weight_bits-1))   # offset

    exactly :func:`golden.digital.shift_add`.

    **Widths.** With ``L = lut_width(spec)`` and ``h = 2**(L-1)``, the values lie in
    ``[-h, h-1]`` and the accumulator in ``[-h*(2**T - 1), (h-1)*(2**T - 1)]``
    (unsigned inputs) or ``[-(h-1)*2**(T-1) - h*(2**(T-1) - 1), h*2**(T-1) + (h-1)*
    (2**(T-1) - 1)]`` (signed), so ``acc_width = L + T`` bits (just ``L`` for
    unsigned inputs with ``T = 1``, where ``acc = v``). The output range is the sum
    of the independent term ranges, which gives :func:`golden.digital.out_width`
    exactly (``out_width`` below). Every adder in the tree is one bit wider than its
    operands, so only the final, exact result is cut to ``out_width``.

    **Latency 2**: for a beat with ``valid & last`` in cycle ``t``, ``out_valid`` is
    high in cycle ``t + 2`` (``acc`` is final in ``t + 1``, the tree feeds the output
    register at the end of ``t + 1``). The next MVM may start in ``t + 1`` (no gap
    cycle needed), so a result can leave every cycle when ``T = 1``.

    Parameters
    ----------
    spec : golden.spec.MacroSpec
        The macro (input bits and signedness, columns, slices, cell bits, mapping,
        LUT format).

    Members
    -------
    values : In(ArrayLayout(signed(lut_width), phys_cols))
        The LUT value of each physical column for this beat (element ``p`` is
        physical column ``p``, :meth:`golden.spec.ArraySpec.phys_index` order).
        Sampled at the clock edge ending a cycle with ``valid`` high.
    valid : In(1)
        ``values`` and ``last`` hold a beat.
    last : In(1)
        This beat is the last (LSB) beat of its MVM. Sampled with ``valid``.
    out : Out(ArrayLayout(signed(out_width), cols))
        The MVM result per logical column, column 0 in the low bits, with
        ``adc.lut_frac_bits`` fractional bits. Valid while ``out_valid`` is high and
        held until the next result.
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
        self._lut_width = lut_width(spec)
        h = 1 << (self._lut_width - 1)
        lo, hi = (1 - h, h) if m.input_signed else (-h, h - 1)
        for _ in range(1, m.input_bits):
            lo, hi = 2 * lo - h, 2 * hi + h - 1
        self._acc_range = (lo, hi)
        ylo, yhi = 0, 0
        for s in range(m.slices):
            k = 1 << (s * m.cell_bits)
            tlo, thi = ((lo - hi) * k, (hi - lo) * k) if m.polarities == 2 else (lo * k, hi * k)
            ylo, yhi = ylo + tlo, yhi + thi
        if m.has_ref_column:
            k = 1 << (m.weight_bits - 1)
            ylo, yhi = ylo - hi * k, yhi - lo * k
        self._out_range = (ylo, yhi)
        super().__init__({
            "values": In(data.ArrayLayout(signed(self._lut_width), m.phys_cols)),
            "valid": In(1),
            "last": In(1),
            "out": Out(data.ArrayLayout(signed(self.out_width), m.cols)),
            "out_valid": Out(1),
        })

    @property
    def spec(self) -> MacroSpec:
        """The macro spec."""
        return self._spec

    @property
    def latency(self) -> int:
        """Cycles from the ``valid & last`` beat to ``out_valid``: 2."""
        return 2

    @property
    def lut_width(self) -> int:
        """Signed width of each input value: :func:`golden.digital.lut_width`."""
        return self._lut_width

    @property
    def acc_range(self) -> tuple[int, int]:
        """Inclusive range of one physical column's accumulator."""
        return self._acc_range

    @property
    def acc_width(self) -> int:
        """Signed accumulator width: ``lut_width + input_bits`` (``lut_width`` for
        unsigned inputs with ``input_bits = 1``)."""
        return signed_width(*self._acc_range)

    @property
    def out_range(self) -> tuple[int, int]:
        """Inclusive range of one output over all LUT contents and codes."""
        return self._out_range

    @property
    def out_width(self) -> int:
        """Signed output width, equal to :func:`golden.digital.out_width`."""
        return signed_width(*self._out_range)

    @property
    def tree_depth(self) -> int:
        """Adder levels per output: the +/- subtraction (differential) plus the
        balanced tree over ``slices`` (+1 reference) terms, ``ceil(log2(.))``."""
        m = self._spec.macro
        terms = m.slices + int(m.has_ref_column)
        return int(m.polarities == 2) + (terms - 1).bit_length()

    def _terms(self, acc) -> list[list]:
        """The adder-tree leaves of each logical column."""
        m = self._spec.macro
        ref = []
        if m.has_ref_column:
            ref = [-(acc[m.phys_cols - 1] << (m.weight_bits - 1))]
        cols = []
        for c in range(m.cols):
            terms = []
            for s in range(m.slices):
                p = m.phys_index(c, s)
                term = acc[p] - acc[p + 1] if m.polarities == 2 else acc[p]
                terms.append(term << (s * m.cell_bits))
            cols.append(terms + ref)
        return cols

    @staticmethod
    def _horner_step(acc, v):
        """One MSB-first Horner step, ``2*acc + v`` (a test-only subclass changes it)."""
        return (acc << 1) + v

    def elaborate(self, platform):
        m = Module()
        spec = self._spec.macro
        acc = [Signal(signed(self.acc_width), name=f"acc{p}") for p in range(spec.phys_cols)]
        first = Signal(init=1)
        done = Signal()
        m.d.sync += done.eq(self.valid & self.last)
        with m.If(self.valid):
            m.d.sync += first.eq(self.last)
            for p in range(spec.phys_cols):
                v = self.values[p]
                with m.If(first):
                    m.d.sync += acc[p].eq(-v if spec.input_signed else v)
                with m.Else():
                    m.d.sync += acc[p].eq(self._horner_step(acc[p], v))
        m.d.sync += self.out_valid.eq(done)
        with m.If(done):
            for c, terms in enumerate(self._terms(acc)):
                m.d.sync += self.out[c].eq(adder_tree(terms).value)
        return m
