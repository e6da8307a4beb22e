# amaranth: UnusedElaboratable=no
# (The CodeLut and ShiftAdd built in Periphery.__init__ for their derived facts are
# elaborated with it; an unused Periphery is still reported where it was created.)
"""The periphery top: match vectors in, fixed-point MVM results out.

Decoders (and SR combiners) -> code-to-value LUTs -> shift-add accumulator, with
valid/ready streams on both sides and the LUT configuration port, exactly the ports
of the README's port table (`cimgen verilog`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from amaranth.hdl import EnableInserter, Module, ResetSignal, Shape, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.calibration import MacroCalibration, default_calibration
from golden.digital import Flag, out_width
from golden.spec import MacroSpec

from ._checks import check_spec
from .decoders import FlagLayout, make_decoder
from .lut import CodeLut
from .shift_add import ShiftAdd
from .sr import SRCombiner
from .trees import balanced_reduce

__all__ = ["Periphery", "PeripheryParts"]


@dataclass(frozen=True)
class PeripheryParts:
    """The component constructors a :class:`Periphery` is built from.

    The defaults are the real components; a test passes others (the deliberate
    faults of :mod:`sim.mutants`) to one Periphery without touching any other.

    Attributes
    ----------
    make_decoder : callable
        ``make_decoder(encoding, decoder, n_cells)``, as :func:`hdl.decoders.make_decoder`.
    sr_combiner : callable
        ``sr_combiner(bits)``, as :class:`hdl.sr.SRCombiner`.
    lut : callable
        ``lut(spec, init)``, as :class:`hdl.lut.CodeLut`.
    shift_add : callable
        ``shift_add(spec)``, as :class:`hdl.shift_add.ShiftAdd`.
    """

    make_decoder: Callable = make_decoder
    sr_combiner: Callable = SRCombiner
    lut: Callable = CodeLut
    shift_add: Callable = ShiftAdd


class Periphery(wiring.Component):
    """The digital periphery of one CIM macro, bit for bit :func:`golden.digital.digital_path`.

    **Datapath.** Every physical column ``p`` has ``adcs_per_column`` decoders
    (:func:`hdl.decoders.make_decoder` for ``adc.encoding``), an
    :class:`hdl.sr.SRCombiner` when ``adc.sr != "none"``, and reads LUT
    ``lut_index(spec)[p]`` of an :class:`hdl.lut.CodeLut` initialised from
    ``calibration.lut_fixed(spec)``; one :class:`hdl.shift_add.ShiftAdd` turns the
    looked-up values of an MVM's ``input_bits`` beats into the logical outputs.
    The decoder and SR flags of every beat are OR-ed over the MVM and leave with its
    result.

    **Pipeline** (one stage per clock cycle, numbered for an accepted beat in
    cycle ``t`` when nothing stalls)::

        t    in_match -> decoders -> SR combiner -> LUT read address   (combinational)
             flags of the beat -> stage-1 register
        t+1  LUT value, valid, last, flags -> ShiftAdd accumulator; flag accumulator
        t+2  ShiftAdd adder tree -> out_data register; flags -> out_flags register
        t+3  out_valid high (for the beat with in_last)

    **Back-pressure: one global stall.** ``ShiftAdd`` has no ready input, so the
    whole pipeline advances together under ``advance = ~out_valid | out_ready``: the
    ShiftAdd's registers (through :class:`amaranth.hdl.EnableInserter`), the LUT read
    ports (``en``) and the stage-1 and flag registers all hold while a result waits
    on a low ``out_ready``, and ``in_ready = advance``. Nothing is buffered, so no
    beat can be dropped or duplicated whatever ``in_valid`` and ``out_ready`` do,
    and with ``out_ready`` high a beat is accepted every cycle (initiation interval
    1). The price is a combinational path ``out_ready -> in_ready``; ``out_valid``,
    ``out_data`` and ``out_flags`` come straight from registers. LUT writes on the
    ``cfg_*`` port are not stalled.

    **Latency**: ``latency = CodeLut.latency + ShiftAdd.latency = 1 + 2 = 3``
    cycles from the cycle in which the ``in_last`` beat is accepted
    (``in_valid & in_ready``) to the first cycle with its ``out_valid`` high, plus
    one cycle for every cycle in between in which the pipeline stalls
    (``out_valid & ~out_ready``).

    **MVM framing.** An MVM is the run of accepted beats up to and including one
    with ``in_last``; the next accepted beat starts a new one. Equality with the
    golden model needs exactly ``macro.input_bits`` beats per MVM, MSB beat first;
    that is the producer's duty (the hardware does not count beats).

    **Reset** (``rst``, synchronous, active high). In a cycle with ``rst`` high,
    ``in_ready`` and ``out_valid`` are low (no transfer happens on either stream);
    at its clock edge the partial sums, the flag accumulator and every result not
    yet transferred are discarded, so the first beat accepted after reset starts a
    new MVM. LUT contents are memory, not registers: run-time ``cfg`` writes
    survive a reset (and are lost only with the bitstream / power). At start-up
    hold ``rst`` for at least two rising edges: 4-state simulators (Icarus) may not
    evaluate the exported Verilog's combinational blocks before the first edge, and
    an un-reset ``out_valid`` of X with ``out_ready`` low would stall the pipeline
    with X until a reset.

    **LUT writes** (``cfg_*``) follow :class:`hdl.lut.CodeLut`: a write in cycle
    ``t`` is seen by beats accepted in cycle ``t + 1`` or later, never by beats
    accepted in cycle ``t`` or before. To change the LUTs between two MVMs, write
    after the last beat of the first is accepted and before the first beat of the
    second.

    Parameters
    ----------
    spec : golden.spec.MacroSpec
        The macro: array shape and number formats, ADC and LUT format.
    calibration : golden.macro.MacroCalibration, optional
        LUT contents (``calibration.lut_fixed(spec)``); default
        :func:`golden.macro.default_calibration` (uniform over the partial-sum range).
    parts : PeripheryParts, optional
        The component constructors (:mod:`sim.mutants` passes faulty ones); default
        the real components.

    Members
    -------
    in_match : In(ArrayLayout(ArrayLayout(cells, adcs_per_column), phys_cols))
        Every Q-cell match bit of one input-bit cycle (beat): bit
        ``(p * adcs_per_column + a) * cells + c`` is cell ``c`` of ADC ``a`` (A = 0,
        B = 1) of physical column ``p`` (physical column-major, then ADC, then
        cell). Sampled in cycles with ``in_valid & in_ready``.
    in_last : In(1)
        This beat is the last (LSB) beat of its MVM. Sampled with ``in_match``.
    in_valid : In(1)
        ``in_match`` / ``in_last`` hold a beat; keep them until ``in_ready``.
    in_ready : Out(1)
        The beat is accepted in this cycle if ``in_valid`` is also high.
        ``~rst & (~out_valid | out_ready)`` (combinational).
    out_data : Out(ArrayLayout(signed(out_width), cols))
        One MVM's result per logical column, column ``c`` in bits
        ``c*out_width .. (c+1)*out_width - 1``, two's complement with
        ``adc.lut_frac_bits`` fractional bits. Valid while ``out_valid`` is high.
    out_flags : Out(FlagLayout)
        OR of the decoder / SR flags of every beat of the same MVM, in
        :class:`golden.digital.Flag` bit order (``zero_hot`` bit 0, ``multi_hot``
        bit 1, ``non_monotone`` bit 2, ``sr_disagree`` bit 3). Valid with
        ``out_data``.
    out_valid : Out(1)
        ``out_data`` / ``out_flags`` hold a result; held (with the data) until
        ``out_ready``. Registered (apart from the ``~rst`` gate).
    out_ready : In(1)
        The consumer takes the result in a cycle with ``out_valid`` high.
    cfg_we : In(1)
        LUT write enable.
    cfg_addr : In(lut_addr_width)
        ``lut_id * 2**code_bits + entry`` (see :meth:`hdl.lut.CodeLut.addr_map`);
        out-of-range addresses are ignored.
    cfg_data : In(signed(lut_width))
        LUT value to write, two's complement with ``adc.lut_frac_bits`` fractional bits.

    The clock and reset are the ``sync`` domain's: ``clk`` and ``rst`` in Verilog.
    The streams are plain signals rather than :mod:`amaranth.lib.stream` interfaces
    because those would flatten to ``in__payload``/``in__valid`` and the port names
    are a contract (the README's port table); the handshake rules are the same.

    Raises
    ------
    ValueError
        ``spec`` is not a MacroSpec, ``calibration`` is not a MacroCalibration or
        does not fit ``spec`` (ADC bits, encoding, SR mode, LUT scope, shapes), its
        or its LUT values do not fit ``lut_width(spec)``. (The decoder is
        ``spec.adc.decoder``, checked against the encoding by the spec.)
    """

    def __init__(self, spec: MacroSpec, calibration: MacroCalibration | None = None,
                 *, parts: PeripheryParts | None = None):
        self._spec = check_spec(spec)
        self._parts = parts or PeripheryParts()
        adc, mac = spec.adc, spec.macro
        self._decoder = adc.decoder_name
        if calibration is None:
            calibration = default_calibration(spec)
        if not isinstance(calibration, MacroCalibration):
            raise ValueError(
                f"calibration = {calibration!r}: must be a golden.macro.MacroCalibration or None"
            )
        try:
            calibration.check(spec)
        except ValueError as e:
            raise ValueError(f"calibration does not fit the spec: {e}") from None
        self._calibration = calibration
        self._lut = self._parts.lut(spec, calibration.lut_fixed(spec))
        self._shift_add = self._parts.shift_add(spec)
        self._out_width = out_width(spec)
        assert self._shift_add.out_width == self._out_width
        super().__init__({
            "in_match": In(data.ArrayLayout(
                data.ArrayLayout(adc.cells, adc.adcs_per_column), mac.phys_cols)),
            "in_last": In(1),
            "in_valid": In(1),
            "in_ready": Out(1),
            "out_data": Out(data.ArrayLayout(signed(self._out_width), mac.cols)),
            "out_flags": Out(FlagLayout),
            "out_valid": Out(1),
            "out_ready": In(1),
            "cfg_we": In(1),
            "cfg_addr": In(self._lut.addr_width),
            "cfg_data": In(signed(self._lut.data_width)),
        })

    # -- derived facts -----------------------------------------------------------------

    @property
    def spec(self) -> MacroSpec:
        """The macro spec."""
        return self._spec

    @property
    def calibration(self) -> MacroCalibration:
        """The calibration the LUTs are initialised from."""
        return self._calibration

    @property
    def decoder(self) -> str:
        """The decoder structure (``"priority"``, ``"ones"`` or ``"majority"``):
        ``spec.adc.decoder_name``."""
        return self._decoder

    @property
    def lut_init(self):
        """Initial LUT contents, int64 ``(n_luts, lut_entries)`` (read-only)."""
        return self._lut.init

    @property
    def latency(self) -> int:
        """Cycles from accepting the ``in_last`` beat to ``out_valid`` without stalls:
        ``CodeLut.latency + ShiftAdd.latency`` (= 3)."""
        return self._lut.latency + self._shift_add.latency

    @property
    def initiation_interval(self) -> int:
        """Cycles between accepted beats while ``out_ready`` is high: 1."""
        return 1

    @property
    def lut_width(self) -> int:
        """Signed width of a LUT value and of ``cfg_data``."""
        return self._lut.data_width

    @property
    def out_width(self) -> int:
        """Signed width of one logical column of ``out_data``:
        :func:`golden.digital.out_width`."""
        return self._out_width

    @property
    def frac_bits(self) -> int:
        """Fractional bits of LUT values and outputs (``adc.lut_frac_bits``)."""
        return self._spec.adc.lut_frac_bits

    @property
    def match_width(self) -> int:
        """Width of ``in_match``: ``phys_cols * adcs_per_column * cells``."""
        return Shape.cast(self.signature.members["in_match"].shape).width

    def match_bit(self, phys_col: int, adc: int, cell: int) -> int:
        """Bit of ``in_match`` carrying cell ``cell`` of ADC ``adc`` of physical column
        ``phys_col``: ``(phys_col * adcs_per_column + adc) * cells + cell``.

        Raises
        ------
        ValueError
            An index out of range.
        """
        a = self._spec.adc
        for name, v, n in (("phys_col", phys_col, self._spec.macro.phys_cols),
                           ("adc", adc, a.adcs_per_column), ("cell", cell, a.cells)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
                raise ValueError(f"{name} = {v!r}: must be an integer in 0..{n - 1}")
        return (phys_col * a.adcs_per_column + adc) * a.cells + cell

    @property
    def ports(self) -> list[dict]:
        """Every Verilog port: ``name``, ``direction`` (``input``/``output``),
        ``width`` and ``signed``, in port-declaration order after ``clk`` and ``rst``."""
        out = [
            {"name": "clk", "direction": "input", "width": 1, "signed": False},
            {"name": "rst", "direction": "input", "width": 1, "signed": False},
        ]
        for name, member in self.signature.members.items():
            shape = member.shape
            signed_ = isinstance(shape, Shape) and shape.signed
            if isinstance(shape, data.ArrayLayout) and isinstance(shape.elem_shape, Shape):
                signed_ = shape.elem_shape.signed
            out.append({
                "name": name,
                "direction": "input" if member.flow == In else "output",
                "width": Shape.cast(shape).width,
                "signed": bool(signed_),
            })
        return out

    @property
    def manifest(self) -> dict:
        """The facts an external bench needs, as plain JSON values.

        Keys: ``top_ports`` (see :attr:`ports`), ``clock``, ``reset``, ``in_match``
        (width and bit order), ``out_data`` (width, per-column width, bit order,
        fractional bits), ``out_flags`` (bit names), ``streams`` (handshake rules),
        ``lut`` (address map of :meth:`hdl.lut.CodeLut.addr_map` plus widths),
        ``latency``, ``initiation_interval``, ``widths`` and ``decoder``.
        """
        spec = self._spec
        a, m = spec.adc, spec.macro
        return {
            "top_ports": self.ports,
            "clock": {"port": "clk", "edge": "rising"},
            "reset": {
                "port": "rst", "kind": "synchronous, active high",
                "effect": "clears partial sums, flags and untransferred results; the first "
                          "beat accepted after reset starts a new MVM; LUT contents are kept; "
                          "in_ready and out_valid are low while rst is high",
                "min_cycles_at_startup": 2,
            },
            "in_match": {
                "width": self.match_width,
                "bit_order": "bit (p * adcs_per_column + a) * cells + c = cell c of ADC a "
                             "of physical column p (physical column-major, then ADC, then "
                             "cell)",
                "phys_cols": m.phys_cols,
                "adcs_per_column": a.adcs_per_column,
                "cells": a.cells,
                "encoding": a.encoding,
                "phys_col_order": "p = (col * slices + slice) * polarities + polarity "
                                  "(polarity 0 = +, 1 = -); offset mapping: reference column "
                                  "last",
                "beats_per_mvm": m.input_bits,
                "beat_order": "MSB first; in_last on the LSB beat",
            },
            "out_data": {
                "width": m.cols * self._out_width,
                "column_width": self._out_width,
                "signed": True,
                "frac_bits": a.lut_frac_bits,
                "bit_order": "column c in bits [c*column_width, (c+1)*column_width), "
                             "column 0 in the low bits",
                "cols": m.cols,
            },
            "out_flags": {
                "width": len(Flag),
                "bits": {f.name.lower(): f.value.bit_length() - 1 for f in Flag},
                "meaning": "OR over every beat of the MVM",
            },
            "streams": {
                "transfer": "a beat moves in a cycle with valid & ready at the rising edge",
                "in_ready": "~rst & (~out_valid | out_ready), combinational",
                "back_pressure": "global stall: the whole pipeline holds while out_valid & "
                                 "~out_ready; no beat is dropped or duplicated",
            },
            "lut": {
                **self._lut.addr_map(),
                "write_visibility": "a cfg write in cycle t is seen by beats accepted in "
                                    "cycle t+1 or later",
                "init_from": self._calibration.meta.get("method", "calibration"),
            },
            "latency": self.latency,
            "latency_formula": "cycles from accepting the in_last beat to out_valid = "
                               f"CodeLut.latency ({self._lut.latency}) + ShiftAdd.latency "
                               f"({self._shift_add.latency}), plus one per stall cycle "
                               "(out_valid & ~out_ready) in between",
            "initiation_interval": self.initiation_interval,
            "widths": {
                "lut_width": self.lut_width,
                "out_width": self._out_width,
                "frac_bits": a.lut_frac_bits,
                "acc_width": self._shift_add.acc_width,
                "code_bits": a.code_bits,
                "cfg_addr_width": self._lut.addr_width,
                "in_match_width": self.match_width,
            },
            "decoder": self._decoder,
        }

    # -- hardware ----------------------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        a, mac = spec.adc, spec.macro

        advance = Signal()
        rst = ResetSignal()
        m.d.comb += advance.eq(~self._shift_add.out_valid | self.out_ready)

        m.submodules.lut = lut = self._lut
        m.submodules.shift_add = sa = EnableInserter(advance)(self._shift_add)

        # Stage 0: decode every ADC, combine SR pairs, address the LUTs.
        beat_flags = []
        for p in range(mac.phys_cols):
            codes = []
            for k in range(a.adcs_per_column):
                dec = self._parts.make_decoder(a.encoding, self._decoder, a.cells)
                m.submodules[f"dec_p{p}_a{k}"] = dec
                m.d.comb += dec.match.eq(self.in_match[p][k])
                codes.append(dec.code)
                beat_flags.append(dec.flags.as_value())
            if a.adcs_per_column == 2:
                sr = self._parts.sr_combiner(a.bits)
                m.submodules[f"sr_p{p}"] = sr
                m.d.comb += [sr.a.eq(codes[0]), sr.b.eq(codes[1]), lut.code[p].eq(sr.sr)]
                sr_flags = Signal(FlagLayout, name=f"sr_flags_p{p}")
                m.d.comb += sr_flags.sr_disagree.eq(sr.disagree)
                beat_flags.append(sr_flags.as_value())
            else:
                m.d.comb += lut.code[p].eq(codes[0])
        flags_now = balanced_reduce(beat_flags, lambda x, y: x | y).value

        m.d.comb += [
            lut.en.eq(advance),
            lut.cfg_we.eq(self.cfg_we),
            lut.cfg_addr.eq(self.cfg_addr),
            lut.cfg_data.eq(self.cfg_data),
            self.in_ready.eq(advance & ~rst),
        ]

        # Stage 1: the beat's valid/last/flags travel beside its LUT read.
        s1_valid = Signal()
        s1_last = Signal()
        s1_flags = Signal(FlagLayout.size)
        # Flag accumulator, framed like ShiftAdd's accumulator.
        first = Signal(init=1)
        flags_acc = Signal(FlagLayout.size)
        done = Signal()
        with m.If(advance):
            m.d.sync += [
                s1_valid.eq(self.in_valid),
                s1_last.eq(self.in_last),
                s1_flags.eq(flags_now),
                done.eq(s1_valid & s1_last),
            ]
            with m.If(s1_valid):
                m.d.sync += [
                    first.eq(s1_last),
                    flags_acc.eq(s1_flags | (flags_acc & ~first.replicate(FlagLayout.size))),
                ]
            with m.If(done):
                m.d.sync += self.out_flags.eq(flags_acc)

        m.d.comb += [
            sa.values.eq(lut.value),
            sa.valid.eq(s1_valid),
            sa.last.eq(s1_last),
            self.out_data.eq(sa.out),
            self.out_valid.eq(sa.out_valid & ~rst),
        ]
        return m
