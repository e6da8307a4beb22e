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

from amaranth.hdl import Const, EnableInserter, Module, Mux, ResetSignal, Shape, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.calibration import MacroCalibration, default_calibration
from golden.digital import Flag, lut_index, mux_groups, out_width
from golden.spec import MacroSpec

from ._checks import check_spec
from .decoders import FlagLayout, make_decoder
from .lut import CodeLut
from .shift_add import ShiftAdd
from .sr import SRCombiner
from .trees import or_tree

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
        ``lut(spec, init, port_luts=...)``, as :class:`hdl.lut.CodeLut`.
    shift_add : callable
        ``shift_add(spec)``, as :class:`hdl.shift_add.ShiftAdd`.
    """

    make_decoder: Callable = make_decoder
    sr_combiner: Callable = SRCombiner
    lut: Callable = CodeLut
    shift_add: Callable = ShiftAdd


class Periphery(wiring.Component):
    """The digital periphery of one CIM macro, bit for bit :func:`golden.digital.digital_path`.

    **Datapath.** With ``k = adc.columns_per_adc``, the physical columns share
    ``n_groups`` ADC groups (:func:`golden.digital.mux_groups`; for ``k = 1`` group
    ``g`` is physical column ``g``). Every group has ``adcs_per_column`` decoders
    (:func:`hdl.decoders.make_decoder` for ``adc.encoding``), an
    :class:`hdl.sr.SRCombiner` when ``adc.sr != "none"``, and one read port of an
    :class:`hdl.lut.CodeLut` (initialised from ``calibration.lut_fixed(spec)``) on
    the LUT of its columns (``port_luts``); one :class:`hdl.shift_add.ShiftAdd`
    combines each beat's slices, polarities and reference and accumulates the
    ``input_bits * k`` beats of an MVM into the logical outputs. A phase counter
    (``j = 0 .. k-1``, back to 0 after every ``in_last`` beat and at reset) masks
    the flags of the slots empty in phase ``j`` (``mux_groups == -1``); their values
    never reach an accumulator. The decoder and SR flags of every live slot of every
    beat are OR-ed over the MVM and leave with its result.

    **Pipeline** (one stage per clock cycle, numbered for an accepted beat in
    cycle ``t`` when nothing stalls)::

        t    in_match -> decoders -> SR combiner -> LUT read address   (combinational)
             masked flags -> OR over chunks of 8 -> stage-1 register
        t+1  LUT value -> ShiftAdd combine trees -> combine register;
             OR of the chunks -> flag accumulator
        t+2  combine register -> Horner step of the phase's logical columns
             (accumulator = out_data); flags -> out_flags register
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
    (``out_valid & ~out_ready``). Without stalls an MVM takes
    ``cycles_per_mvm = input_bits * k`` cycles (one beat per cycle).

    **MVM framing.** An MVM is the run of accepted beats up to and including one
    with ``in_last``; the next accepted beat starts a new one. Equality with the
    golden model needs exactly ``beats_per_mvm = input_bits * k`` beats per MVM in
    :func:`golden.digital.to_beats` order (input bit MSB first, then phase ``j``);
    that is the producer's duty (the hardware counts phases, not beats).

    **Reset** (``rst``, synchronous, active high). In a cycle with ``rst`` high,
    ``in_ready`` and ``out_valid`` are low (no transfer happens on either stream);
    at its clock edge the partial sums, the phase counters, the flag accumulator and
    every result not yet transferred are discarded, so the first beat accepted after reset starts a
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
    in_match : In(ArrayLayout(ArrayLayout(cells, adcs_per_column), n_groups))
        Every Q-cell match bit of one beat: bit ``(g * adcs_per_column + a) * cells
        + c`` is cell ``c`` of ADC ``a`` (A = 0, B = 1) of ADC group ``g`` (group-major,
        then ADC, then cell); in phase ``j`` slot ``g`` carries physical column
        ``mux_groups[g][j]`` (don't-care where that is -1: such bits change neither
        ``out_data`` nor ``out_flags``). Sampled in cycles with ``in_valid & in_ready``.
    in_last : In(1)
        This beat is the last beat (LSB, phase ``k-1``) of its MVM. Sampled with
        ``in_match``.
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
        self._groups = mux_groups(spec)
        # Every group reads a column in phase 0 (mux_groups), all with one LUT.
        self._port_luts = [int(v) for v in lut_index(spec)[self._groups[:, 0]]]
        self._lut = self._parts.lut(spec, calibration.lut_fixed(spec),
                                    port_luts=self._port_luts)
        self._shift_add = self._parts.shift_add(spec)
        self._out_width = out_width(spec)
        assert self._shift_add.out_width == self._out_width
        assert self._shift_add.latency == 2  # the out_flags register below assumes it
        super().__init__({
            "in_match": In(data.ArrayLayout(
                data.ArrayLayout(adc.cells, adc.adcs_per_column), len(self._groups))),
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
    def columns_per_adc(self) -> int:
        """Physical columns per ADC group (``adc.columns_per_adc``), phases per input bit."""
        return self._spec.adc.columns_per_adc

    @property
    def adc_groups(self) -> int:
        """ADC groups, the slots of ``in_match``: ``len(mux_groups(spec))``."""
        return len(self._groups)

    @property
    def beats_per_mvm(self) -> int:
        """Beats of one MVM: ``input_bits * columns_per_adc``."""
        return self._spec.macro.input_bits * self.columns_per_adc

    @property
    def cycles_per_mvm(self) -> int:
        """Cycles per MVM without stalls: :attr:`beats_per_mvm` (one beat per cycle)."""
        return self.beats_per_mvm

    @property
    def port_luts(self) -> list[int]:
        """The LUT each ADC group reads (that of its columns)."""
        return list(self._port_luts)

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
        """Width of ``in_match``: ``adc_groups * adcs_per_column * cells``."""
        return Shape.cast(self.signature.members["in_match"].shape).width

    def match_bit(self, group: int, adc: int, cell: int) -> int:
        """Bit of ``in_match`` carrying cell ``cell`` of ADC ``adc`` of ADC group
        ``group`` (the physical column for ``columns_per_adc = 1``):
        ``(group * adcs_per_column + adc) * cells + cell``.

        Raises
        ------
        ValueError
            An index out of range.
        """
        a = self._spec.adc
        for name, v, n in (("group", group, self.adc_groups),
                           ("adc", adc, a.adcs_per_column), ("cell", cell, a.cells)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
                raise ValueError(f"{name} = {v!r}: must be an integer in 0..{n - 1}")
        return (group * a.adcs_per_column + adc) * a.cells + cell

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
        ``latency``, ``initiation_interval``, ``cycles_per_mvm``, ``widths`` and
        ``decoder``.
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
                "bit_order": "bit (g * adcs_per_column + a) * cells + c = cell c of ADC a "
                             "of ADC group g (group-major, then ADC, then cell; for "
                             "columns_per_adc = 1 g is the physical column)",
                "phys_cols": m.phys_cols,
                "adc_groups": self.adc_groups,
                "columns_per_adc": self.columns_per_adc,
                "mux_groups": self._groups.tolist(),
                "adcs_per_column": a.adcs_per_column,
                "cells": a.cells,
                "encoding": a.encoding,
                "phys_col_order": "p = (col * slices + slice) * polarities + polarity "
                                  "(polarity 0 = +, 1 = -); offset mapping: reference column "
                                  "last",
                "beats_per_mvm": self.beats_per_mvm,
                "beat_order": "input bit MSB first, then phase j = 0..k-1: beat t*k + j "
                              "carries in slot g the column mux_groups[g][j]; in_last on "
                              "the last beat",
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
                "lut_of_column": [int(v) for v in lut_index(spec)],
                "lut_of_group": self.port_luts,
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
            "cycles_per_mvm": self.cycles_per_mvm,
            "widths": {
                "lut_width": self.lut_width,
                "out_width": self._out_width,
                "frac_bits": a.lut_frac_bits,
                "acc_width": self._shift_add.acc_width,
                "comb_width": self._shift_add.comb_width,
                "code_bits": a.code_bits,
                "cfg_addr_width": self._lut.addr_width,
                "in_match_width": self.match_width,
            },
            "decoder": self._decoder,
        }

    # -- hardware ----------------------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        advance, accept = Signal(), Signal()
        rst = ResetSignal()
        m.d.comb += advance.eq(~self._shift_add.out_valid | self.out_ready)
        m.submodules.lut = lut = self._lut
        m.submodules.shift_add = sa = EnableInserter(advance)(self._shift_add)
        m.d.comb += [
            self.in_ready.eq(advance & ~rst),
            accept.eq(self.in_valid & self.in_ready),
            lut.en.eq(advance),
            lut.cfg_we.eq(self.cfg_we),
            lut.cfg_addr.eq(self.cfg_addr),
            lut.cfg_data.eq(self.cfg_data),
        ]
        live = self._live_slots(m, accept)
        flags = self._decode(m, lut, live)

        # Stage 1: the beat's valid/last and the flags OR-ed in chunks of 8 travel
        # beside its LUT read (so neither the OR nor the decoders end in a long path).
        s1_valid, s1_last = Signal(), Signal()
        chunks = [or_tree(flags[i:i + 8]).value for i in range(0, len(flags), 8)]
        s1_chunks = [Signal(FlagLayout.size, name=f"s1_flags{i}") for i in range(len(chunks))]
        first = Signal(init=1)
        flags_acc = Signal(FlagLayout.size)
        done = Signal()
        with m.If(advance):
            m.d.sync += [s1_valid.eq(self.in_valid), s1_last.eq(self.in_last),
                         done.eq(s1_valid & s1_last)]
            m.d.sync += [r.eq(c) for r, c in zip(s1_chunks, chunks, strict=True)]
            with m.If(s1_valid):  # flag accumulator, framed like ShiftAdd's
                beat = or_tree(s1_chunks).value if len(s1_chunks) > 1 else s1_chunks[0]
                m.d.sync += [
                    first.eq(s1_last),
                    flags_acc.eq(beat | (flags_acc & ~first.replicate(FlagLayout.size))),
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

    def _live_slots(self, m, accept) -> list:
        """Per ADC group, whether its slot is live in the phase of the beat on
        ``in_match`` (a phase counter over accepted beats, 0 after ``in_last``)."""
        k = self.columns_per_adc
        if k == 1:
            return [Const(1, 1)] * self.adc_groups
        phase = Signal(range(k), name="phase")
        with m.If(accept):
            m.d.sync += phase.eq(Mux(self.in_last | (phase == k - 1), 0, phase + 1))
        live = []
        for g, row in enumerate(self._groups):
            n = int((row >= 0).sum())  # a group's live phases are 0 .. n-1 (mux_groups)
            if n == k:
                live.append(Const(1, 1))
                continue
            sig = Signal(name=f"live_g{g}")
            m.d.comb += sig.eq(phase < n)
            live.append(sig)
        return live

    def _decode(self, m, lut, live) -> list:
        """Decoders and SR combiners of every ADC group, driving the LUT read ports;
        returns every flag vector, masked by its slot's ``live`` bit."""
        a = self._spec.adc
        flags = []
        for g in range(self.adc_groups):
            codes, mine = [], []
            for k in range(a.adcs_per_column):
                dec = self._parts.make_decoder(a.encoding, self._decoder, a.cells)
                m.submodules[f"dec_p{g}_a{k}"] = dec
                m.d.comb += dec.match.eq(self.in_match[g][k])
                codes.append(dec.code)
                mine.append(dec.flags.as_value())
            if a.adcs_per_column == 2:
                sr = self._parts.sr_combiner(a.bits)
                m.submodules[f"sr_p{g}"] = sr
                m.d.comb += [sr.a.eq(codes[0]), sr.b.eq(codes[1]), lut.code[g].eq(sr.sr)]
                sr_flags = Signal(FlagLayout, name=f"sr_flags_p{g}")
                m.d.comb += sr_flags.sr_disagree.eq(sr.disagree)
                mine.append(sr_flags.as_value())
            else:
                m.d.comb += lut.code[g].eq(codes[0])
            mask = live[g].replicate(FlagLayout.size)
            flags += [f if isinstance(live[g], Const) else f & mask for f in mine]
        return flags
