"""Analytic gate counts of the digital periphery, per component, and its toggle energy.

:func:`periphery_gates` counts, from the :class:`golden.spec.MacroSpec` alone, the
generic 2-input gates, 2:1 multiplexers and flip-flops of each component of the RTL
periphery (:class:`hdl.periphery.Periphery`):

* ``decoders``: every ADC's match-vector decoder and, with super-resolution, every
  column group's SR combiner;
* ``lut``: the LUT storage, its write decoding and every read port (multiplexer tree
  and read register);
* ``shift_add``: the combine adder trees, combine registers, accumulators and their
  control;
* ``control``: the top level: flag OR trees and registers, phase counter, handshake.

The structures are the textbook ones the RTL describes (ripple adders of
:data:`golden.gate_presets.FULL_ADDER` cells, balanced trees of 2-input gates, one
flip-flop per register bit), so the counts are a structural estimate, not a fit:
:mod:`synth.gates` measures the truth with Yosys and states the ratio. Transistors use
Yosys's ``stat -tech cmos`` table (:data:`golden.gate_presets.CMOS_TRANSISTORS`).

:func:`toggle_energy` turns the activity of real MVMs (the golden bit patterns of
:mod:`golden.digital`, beat by beat) into energy: per component, the toggles of the
bus or registers that drive it, divided by their width (an activity factor per
beat), times the component's transistors and the node's energy per transistor switch
(:class:`golden.gate_presets.GatePreset`).

Pure Python and numpy; no synthesis tool is imported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from . import digital
from .gate_presets import CMOS_TRANSISTORS, FULL_ADDER, GATE_45NM, GatePreset
from .spec import MacroSpec

__all__ = ["CODE_STAGES", "COMPONENTS", "TREE_STAGES", "GateCount", "periphery_gates",
           "toggle_counts", "toggle_energy", "toggles"]

COMPONENTS = ("decoders", "lut", "shift_add", "control")
"""The components counted, in the order they are reported."""

FLAG_BITS = 4  # FlagLayout: zero_hot, multi_hot, non_monotone, sr_disagree

CODE_STAGES = 1
"""Code registers between the decoders and the LUT read ports in
:class:`hdl.periphery.Periphery` (its pipeline as of issue 16); :mod:`synth.gates`
reads the RTL's own figure from its latencies."""

TREE_STAGES = 1
"""Registered first levels of :class:`hdl.shift_add.ShiftAdd`'s combine trees."""


@dataclass(frozen=True)
class GateCount:
    """Generic cells of one component.

    Attributes
    ----------
    cells : mapping of str to int
        Count per generic cell name (keys of :data:`golden.gate_presets.CMOS_TRANSISTORS`).
    """

    cells: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        c = dict(self.cells)
        for k, v in c.items():
            if k not in CMOS_TRANSISTORS:
                raise ValueError(f"cells: {k!r} is not a generic cell; allowed: "
                                 + ", ".join(CMOS_TRANSISTORS))
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
                raise ValueError(f"cells[{k!r}] = {v!r}: must be an integer >= 0")
        object.__setattr__(self, "cells", MappingProxyType(
            {k: int(v) for k, v in sorted(c.items()) if v}))

    @classmethod
    def of(cls, **cells: int) -> GateCount:
        """``GateCount.of(XOR=2, AND=2, OR=1)``."""
        return cls(MappingProxyType(cells))

    def __add__(self, other: GateCount) -> GateCount:
        return GateCount(MappingProxyType(dict(Counter(self.cells) + Counter(other.cells))))

    def __mul__(self, n: int) -> GateCount:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n = {n!r}: a GateCount scales by an integer >= 0")
        return GateCount(MappingProxyType({k: v * n for k, v in self.cells.items()}))

    __rmul__ = __mul__

    @property
    def ffs(self) -> int:
        """Flip-flops."""
        return self.cells.get("DFF", 0)

    @property
    def gates(self) -> int:
        """Combinational cells (every cell but flip-flops)."""
        return sum(v for k, v in self.cells.items() if k != "DFF")

    @property
    def transistors(self) -> int:
        """Transistors by :data:`golden.gate_presets.CMOS_TRANSISTORS` (Yosys ``stat
        -tech cmos``)."""
        return sum(CMOS_TRANSISTORS[k] * v for k, v in self.cells.items())


ZERO = GateCount()
FA = GateCount(MappingProxyType(dict(FULL_ADDER)))
HA = GateCount.of(XOR=1, AND=1)
REG = GateCount.of(DFF=1)                        # memory bit / reset-less register bit
REG_EN = GateCount.of(DFF=1, MUX=1)              # + enable (a feedback multiplexer)
REG_EN_RST = GateCount.of(DFF=1, MUX=1, ANDNOT=1)  # + synchronous reset (d & ~rst)


def _clog2(n: int) -> int:
    return (n - 1).bit_length()


def _pairwise(items: list, op):
    """The pairing of :func:`hdl.trees.balanced_reduce`: level by level, in order,
    an odd one out moving up; returns ``(result, total cost)``."""
    cost = ZERO
    level = list(items)
    while len(level) > 1:
        nxt = []
        for k in range(0, len(level) - 1, 2):
            r, c = op(level[k], level[k + 1])
            nxt.append(r)
            cost = cost + c
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0], cost


def _popcount(n: int) -> GateCount:
    """Balanced popcount tree of ``n`` bits: each adder of unsigned widths
    ``wa >= wb`` gives ``wa + 1`` bits with one half adder at bit 0, full adders at
    bits ``1 .. wb-1`` and half adders (carry propagation) at bits ``wb .. wa-1``."""
    if n <= 1:
        return ZERO

    def add(a, b):
        wa, wb = max(a, b), min(a, b)
        return wa + 1, HA * (1 + wa - wb) + FA * (wb - 1)

    return _pairwise([1] * n, add)[1]


def _or_tree(n: int) -> GateCount:
    """Balanced OR tree of ``n`` bits: ``n - 1`` two-input ORs."""
    return GateCount.of(OR=max(n - 1, 0))


def decoder_gates(encoding: str, decoder: str, n_cells: int) -> GateCount:
    """One match-vector decoder (:mod:`hdl.decoders`).

    * ``priority`` (``n = 2**N`` cells): ``n - 1`` priority nodes, each ``any = OR``,
      ``many = OR, OR, AND``, ``take_hi = ANDNOT`` (5 gates), except the ``n / 2``
      leaf-level nodes whose ``many`` inputs are constant 0 (``many = AND``, 3
      gates); a node of level ``l``
      (merging halves of ``2**(l-1)`` cells) muxes ``l - 1`` index bits, so
      ``sum_l (n / 2**l) * (l - 1)`` MUX; ``zero_hot`` one NOT.
    * ``ones`` (``n = 2**N - 1``): :func:`_popcount` of ``n`` bits, and ``non_monotone``
      as ``n - 1`` ANDNOT (``b[k+1] & ~b[k]``) into an OR tree (``n - 2`` OR).
    * ``majority``: ``ones`` plus the majority stage: ``maj(a, b, c) = a&b | c&(a|b)``
      (2 AND, 2 OR) per interior cell; the end cells have a constant neighbour
      (``b[-1] = 1``: ``b0 | b1``; ``b[n] = 0``: ``b[n-2] & b[n-1]``), one gate each.
    """
    n = n_cells
    if encoding == "window":
        bits = _clog2(n)
        muxes = sum((n >> lev) * (lev - 1) for lev in range(1, bits + 1))
        return GateCount.of(OR=(n - 1) + 2 * (n // 2 - 1), AND=n - 1, ANDNOT=n - 1,
                            MUX=muxes, NOT=1)
    out = _popcount(n) + GateCount.of(ANDNOT=max(n - 1, 0)) + _or_tree(n - 1)
    if decoder == "majority" and n > 1:
        out = out + GateCount.of(AND=2 * (n - 2) + 1, OR=2 * (n - 2) + 1)
    return out


def sr_combiner_gates(bits: int) -> GateCount:
    """One :class:`hdl.sr.SRCombiner` of two ``N``-bit codes: ``a + b`` (1 HA and
    ``N - 1`` FA), ``a - b`` (``N`` FA with ``b`` inverted, ``N`` NOT) and ``|a - b| >
    1`` as two magnitude tests of the ``N + 1``-bit difference against constants
    (``N + 1`` gates each) OR-ed (1 OR)."""
    n = bits
    return (HA + FA * (n - 1)) + (FA * n + GateCount.of(NOT=n)) + \
        GateCount.of(AND=n + 1, OR=n + 2)


def _n_groups(spec: MacroSpec) -> int:
    return int(digital.mux_groups(spec).shape[0])


def _decoders(spec: MacroSpec) -> GateCount:
    """``n_groups * adcs_per_column`` decoders, plus ``n_groups`` SR combiners with SR."""
    a = spec.adc
    g = _n_groups(spec)
    out = decoder_gates(a.encoding, a.decoder_name, a.cells) * (g * a.adcs_per_column)
    if a.adcs_per_column == 2:
        out = out + sr_combiner_gates(a.bits) * g
    return out


def _lut(spec: MacroSpec) -> GateCount:
    """:class:`hdl.lut.CodeLut` as a register-file memory (Yosys ``memory_map``):

    * storage: ``n_luts * lut_entries * L`` bits, each a flip-flop with write enable
      (``REG_EN``, no reset: memory);
    * write decoding: per LUT, ``we & entry_ok & lut_id == i`` (``id_bits`` XNOR,
      ``id_bits + 1`` AND) and a tree decoder of the entry address to word enables
      (``2 * lut_entries`` AND);
    * per read port (one per ADC group): a ``(lut_entries - 1) * L`` 2:1 multiplexer
      tree and an ``L``-bit read register with enable (``REG_EN``).
    """
    a = spec.adc
    w = digital.lut_width(spec)
    luts = digital.n_luts(spec)
    entries = a.lut_entries
    id_bits = _clog2(luts)
    storage = REG_EN * (luts * entries * w)
    decode = GateCount.of(XNOR=id_bits, AND=id_bits + 1 + 2 * entries) * luts
    return storage + decode + _lut_read_ports(spec)


def _lut_read_ports(spec: MacroSpec) -> GateCount:
    """The read ports of :func:`_lut` alone (what switches in an MVM without LUT
    writes): per ADC group ``(lut_entries - 1) * L`` MUX and ``L`` ``REG_EN``."""
    w = digital.lut_width(spec)
    port = GateCount.of(MUX=(spec.adc.lut_entries - 1) * w) + REG_EN * w
    return port * _n_groups(spec)


def _leaves(spec: MacroSpec, q: int) -> list[tuple[int, bool, int]]:
    """``(slot, subtracted, shift)`` of column group ``q``'s combine terms (the
    :class:`hdl.shift_add.ShiftAdd` order: slice, then polarity, reference last)."""
    m = spec.macro
    out = [((q * m.slices + s) * m.polarities + pol, pol == 1, s * m.cell_bits)
           for s in range(m.slices) for pol in range(m.polarities)]
    if m.has_ref_column:
        out.append((_n_groups(spec) - 1, True, m.weight_bits - 1))
    return out


def _comb_tree(spec: MacroSpec, cap: int, tree_stages: int = 0) -> GateCount:
    """One combine tree: operands ``(z, w, neg)`` are an ``L``-bit value shifted by
    ``z`` (``w = L + z`` bits, the low ``z`` zero). A node keeps ``min(z)`` low bits
    as they are and computes bits ``max(z) .. w_out - 1`` with full adders, ``w_out =
    min(max(w) + 1, cap)`` (bits above the register width ``cap`` are never used); a
    subtraction adds one NOT per computed bit. Pairing and signs follow
    :func:`hdl.trees.signed_adder_tree`.

    With ``tree_stages = 1`` the first level (the pairs of leaves) is registered: its
    nodes are ``max(w) + 1`` bits wide (not cut to ``cap``) and each pair register
    holds its ``w - z`` non-constant bits (``REG_EN_RST``; the ``z`` low bits are
    constant 0, and Yosys drops constant flip-flops)."""
    lw = digital.lut_width(spec)

    def node(a, b, width_cap):
        (za, wa, na), (zb, wb, nb) = a, b
        z, w = min(za, zb), min(max(wa, wb) + 1, width_cap)
        bits = max(w - max(za, zb), 0)
        cost = FA * bits + (GateCount.of(NOT=bits) if na != nb else ZERO)
        return (z, w, na and nb), cost

    leaves = [(shift, lw + shift, neg) for _, neg, shift in _leaves(spec, 0)]
    cost = ZERO
    if tree_stages:
        pairs = []
        for i in range(0, len(leaves), 2):
            if i + 1 < len(leaves):
                r, c = node(leaves[i], leaves[i + 1], 1 << 30)
                cost = cost + c
            else:
                r = leaves[i]
            pairs.append(r)
            cost = cost + REG_EN_RST * (r[1] - r[0])
        leaves = pairs
    (_, w, neg), c = _pairwise(leaves, lambda a, b: node(a, b, cap))
    cost = cost + c
    if neg:  # every term subtracted: one negation of the root (NOT + HA per bit)
        cost = cost + (HA + GateCount.of(NOT=1)) * w
    return cost


def _comb_range(spec: MacroSpec) -> tuple[int, int, int, int]:
    """``comb_width``, ``acc_width`` of :class:`hdl.shift_add.ShiftAdd` (interval
    arithmetic over the terms, as its docstring derives)."""
    m = spec.macro
    h = 1 << (digital.lut_width(spec) - 1)
    wlo = whi = 0
    for _, neg, shift in _leaves(spec, 0):
        lo, hi = (-(h - 1), h) if neg else (-h, h - 1)
        wlo, whi = wlo + (lo << shift), whi + (hi << shift)
    lo, hi = (-whi, -wlo) if m.input_signed else (wlo, whi)
    clo, chi = min(wlo, lo), max(whi, hi)

    def width(lo_, hi_):
        return 1 + max(hi_.bit_length(), (-lo_ - 1).bit_length())

    return width(clo, chi), digital.out_width(spec), clo, chi


def _shift_add(spec: MacroSpec, tree_stages: int) -> GateCount:
    """:class:`hdl.shift_add.ShiftAdd` under the periphery's clock enable (every
    register ``REG_EN_RST``):

    * per column group (``ceil(cols / k)``): :func:`_comb_tree` and a ``cw``-bit
      combine register; signed inputs add ``Mux(first, -w, w)`` (``cw`` NOT, HA, MUX);
    * per logical column: ``acc = 2 * Mux(first, 0, acc) + w`` (``ow - 1`` ANDNOT and
      ``ow - 1`` FA: bit 0 of ``2 * acc`` is 0) and an ``ow``-bit accumulator;
    * control: phase (``p = clog2(k)`` bits, twice), ``first``, ``s1_valid``,
      ``s1_last``, ``s1_first``, ``out_valid`` registers (per tree stage also
      ``sp_valid``, ``sp_last``, ``sp_first``, ``sp_phase``), a ``p``-bit increment (HA)
      with wrap (``2p`` gates) and per column a phase compare (``p`` XNOR + 1 AND);
    * offset mapping with ``k > 1``: an ``L``-bit reference hold register and mux.
    """
    m, k = spec.macro, spec.adc.columns_per_adc
    cw, ow, _, _ = _comb_range(spec)
    lw = digital.lut_width(spec)
    groups = -(-m.cols // k)
    p = _clog2(k)
    group = _comb_tree(spec, cw, tree_stages) + REG_EN_RST * cw
    if m.input_signed:
        group = group + (HA + GateCount.of(NOT=1, MUX=1)) * cw
    column = FA * (ow - 1) + GateCount.of(ANDNOT=ow - 1) + REG_EN_RST * ow
    ctrl = REG_EN_RST * (2 * p + 5 + tree_stages * (p + 3)) + HA * p \
        + GateCount.of(AND=p, OR=p)
    if k > 1:
        column = column + GateCount.of(XNOR=p, AND=1)
    out = group * groups + column * m.cols + ctrl
    if m.has_ref_column and k > 1:
        out = out + REG_EN_RST * lw + GateCount.of(MUX=lw)
    return out


def _control(spec: MacroSpec, code_stages: int) -> GateCount:
    """The top level of :class:`hdl.periphery.Periphery`:

    * flag vectors: ``n_groups * (adcs_per_column + sr)`` of 4 bits, OR-ed in chunks of
      8 (``(vectors - chunks) * 4`` OR) into ``4 * chunks`` stage-1 registers, the
      chunks OR-ed (``(chunks - 1) * 4``) into the flag accumulator (4 ANDNOT, 4 OR),
      and the ``out_flags`` register: registers ``4 * chunks + 2 * 4`` plus
      ``s1_valid``, ``s1_last``, ``done``, ``first``;
    * per code stage (registers between the decoders and the LUT read ports): the
      codes (``n_groups * code_bits``, the SR sum's with SR), ``s0_valid``,
      ``s0_last``, every flag vector (``4 * vectors``), all ``REG_EN_RST``, and the
      ``cfg_*`` write port registered once (``1 + addr_width + L`` reset-less
      ``REG``: ``addr_width = clog2(n_luts) + code_bits``);
    * with ``k > 1``: the phase counter (``p`` registers, HA, ``2p`` gates) and, per
      group with fewer than ``k`` live phases, a compare (``p`` gates) masking its
      flags (4 AND per vector);
    * handshake: ``advance``, ``in_ready``, ``accept``, ``out_valid`` (4 gates).

    Every register holds under the global stall (``REG_EN_RST``).
    """
    a, k = spec.adc, spec.adc.columns_per_adc
    groups = digital.mux_groups(spec)
    per_group = a.adcs_per_column + int(a.adcs_per_column == 2)
    vectors = len(groups) * per_group
    chunks = -(-vectors // 8)
    p = _clog2(k)
    out = GateCount.of(OR=(vectors - chunks) * FLAG_BITS + (chunks - 1) * FLAG_BITS
                       + FLAG_BITS, ANDNOT=FLAG_BITS)
    regs = FLAG_BITS * chunks + 2 * FLAG_BITS + 4
    regs += code_stages * (len(groups) * a.code_bits + 2 + FLAG_BITS * vectors)
    out = out + REG_EN_RST * regs
    cfg = 1 + _clog2(digital.n_luts(spec)) + a.code_bits + digital.lut_width(spec)
    out = out + REG * (code_stages * cfg)
    out = out + GateCount.of(ORNOT=1, ANDNOT=1, AND=2)
    if k > 1:
        partial = int(((groups >= 0).sum(axis=1) < k).sum())
        out = out + REG_EN_RST * p + HA * p + GateCount.of(AND=p, OR=p)
        out = out + GateCount.of(OR=p * partial, AND=FLAG_BITS * per_group * partial)
    return out


def periphery_gates(spec: MacroSpec, *, code_stages: int = CODE_STAGES,
                    tree_stages: int = TREE_STAGES) -> dict[str, GateCount]:
    """Analytic generic-cell counts of every periphery component.

    Parameters
    ----------
    spec : MacroSpec
        Any valid macro (every encoding, decoder, SR mode, LUT scope, mapping and
        ``columns_per_adc``).
    code_stages : int
        Register stages between the decoders and the LUT read ports in the top level
        (``Periphery.latency - CodeLut.latency - ShiftAdd.latency``; default
        :data:`CODE_STAGES`).
    tree_stages : int
        Registered levels inside the ShiftAdd's combine trees (``ShiftAdd.latency -
        2``; default :data:`TREE_STAGES`).

    Returns
    -------
    dict
        :data:`COMPONENTS` -> :class:`GateCount`; each formula is in the docstring of
        its ``_<component>`` helper.

    Raises
    ------
    ValueError
        ``spec`` is not a MacroSpec; ``code_stages`` or ``tree_stages`` not 0 or 1.
    """
    if not isinstance(spec, MacroSpec):
        raise ValueError(f"spec = {spec!r}: must be a golden.spec.MacroSpec")
    for name, v in (("code_stages", code_stages), ("tree_stages", tree_stages)):
        if isinstance(v, bool) or v not in (0, 1):
            raise ValueError(f"{name} = {v!r}: must be 0 or 1 (the pipelines modelled)")
    return {"decoders": _decoders(spec), "lut": _lut(spec),
            "shift_add": _shift_add(spec, tree_stages),
            "control": _control(spec, code_stages)}


# -- activity and energy ---------------------------------------------------------------


def toggles(values, width: int) -> int:
    """Bit toggles of registers of ``width`` bits stepping through ``values``.

    Parameters
    ----------
    values : array_like of int, shape (steps, ...)
        Axis 0 is time; the other axes are independent registers. Values are taken as
        ``width``-bit two's complement (the low ``width`` bits).
    width : int
        Register width, 1..63.

    Returns
    -------
    int
        ``sum_t popcount((v[t] ^ v[t-1]) mod 2**width)`` with ``v[-1] = 0`` (the reset
        state).

    Raises
    ------
    ValueError
        ``width`` outside 1..63, or non-integer ``values``.
    """
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 63:
        raise ValueError(f"width = {width!r}: must be an integer in 1..63")
    v = np.asarray(values)
    if v.size == 0:
        return 0
    if not np.issubdtype(v.dtype, np.integer) and v.dtype != np.bool_:
        raise ValueError(f"values: dtype {v.dtype} is not allowed; need integers")
    v = v.astype(np.int64)
    prev = np.concatenate([np.zeros_like(v[:1]), v[:-1]], axis=0)
    diff = np.bitwise_and(v ^ prev, np.int64((1 << width) - 1))
    return int(np.bitwise_count(diff).sum(dtype=np.int64))


def _beat_values(match, luts, spec: MacroSpec):
    """Per beat of the stream (MVMs back to back, :func:`golden.digital.to_beats`
    order): the ``in_match`` bits, each group's LUT code and value, and the per-beat
    OR of all flags."""
    a = spec.adc
    beats = digital.to_beats(match, spec)  # (batch, B, G, A, C)
    codes, flags = digital.decode(beats, a.encoding, a.decoder_name)  # (batch, B, G, A)
    if a.adcs_per_column == 2:
        code, sr_flags = digital.sr_combine(codes[..., 0], codes[..., 1])
        flags = flags[..., 0] | flags[..., 1] | sr_flags
    else:
        code, flags = codes[..., 0], flags[..., 0]
    lt = np.asarray(luts, dtype=np.int64)
    port_luts = digital.lut_index(spec)[digital.mux_groups(spec)[:, 0]]
    values = lt[port_luts, code.astype(np.int64)]  # (batch, B, G)
    return beats, code, values, np.bitwise_or.reduce(flags, axis=-1)


def _comb_values(values: np.ndarray, spec: MacroSpec) -> np.ndarray:
    """The combine register of every column group per beat, ``(batch, B, groups)``:
    the signed sum of :func:`_leaves` (the reference slot's phase-0 value held for
    the other phases), negated on the first input bit of signed inputs."""
    m, k = spec.macro, spec.adc.columns_per_adc
    batch, n_beats, n_groups = values.shape
    groups = -(-m.cols // k)
    ref = None
    if m.has_ref_column:
        split = values[..., -1].reshape(batch, m.input_bits, k)
        ref = np.repeat(split[..., :1], k, axis=-1).reshape(batch, n_beats)
    comb = np.zeros((batch, n_beats, groups), dtype=np.int64)
    for q in range(groups):
        for slot, neg, shift in _leaves(spec, q):
            v = ref if (m.has_ref_column and slot == n_groups - 1) else values[..., slot]
            comb[..., q] += (-v if neg else v) << shift
    if m.input_signed:
        comb[:, :k] = -comb[:, :k]
    return comb


def _acc_updates(comb: np.ndarray, spec: MacroSpec) -> list[np.ndarray]:
    """Per logical column ``c = q*k + j``, its accumulator after each of its updates
    (phase ``j`` of every input bit of every MVM, in stream order): MSB-first Horner
    sums of the combine values, ``acc = w`` on the first bit, then ``2*acc + w``."""
    m, k = spec.macro, spec.adc.columns_per_adc
    batch = comb.shape[0]
    split = comb.reshape(batch, m.input_bits, k, comb.shape[-1])
    out = []
    for c in range(m.cols):
        q, j = divmod(c, k)
        w = split[:, :, j, q]
        acc = np.empty_like(w)
        acc[:, 0] = w[:, 0]
        for t in range(1, m.input_bits):
            acc[:, t] = 2 * acc[:, t - 1] + w[:, t]
        out.append(acc.reshape(-1))
    return out


def toggle_counts(match, luts, spec: MacroSpec) -> dict[str, dict[str, int]]:
    """Bit toggles per component over a batch of MVMs run back to back from reset.

    The bus or registers counted for each component (what drives its logic):

    * ``decoders``: the ``in_match`` bits of every beat (``n_groups * adcs_per_column *
      cells`` bits; empty slots carry 0, as :func:`golden.digital.to_beats` fills them);
    * ``lut``: every read port's code (``code_bits``) and read register (``L`` bits);
    * ``shift_add``: the combine registers (``comb_width`` each) and the accumulators
      (``out_width`` each, counted at their updates);
    * ``control``: the per-beat OR of all flags (4 bits) and ``in_last`` (1 bit).

    Parameters
    ----------
    match : array_like of bool, shape (batch, input_bits, phys_cols, adcs_per_column, cells)
        The golden match bits of the MVMs (as :func:`golden.digital.digital_path`).
    luts : array_like of int, shape (n_luts(spec), lut_entries)
        Fixed-point LUT contents.
    spec : MacroSpec

    Returns
    -------
    dict
        :data:`COMPONENTS` -> ``{"toggles", "bits", "beats"}`` (``bits``: width of
        the counted bus; ``beats``: clock cycles of the stream).

    Raises
    ------
    ValueError
        Wrong shapes or values (as :func:`golden.digital.digital_path`).
    """
    if not isinstance(spec, MacroSpec):
        raise ValueError(f"spec = {spec!r}: must be a golden.spec.MacroSpec")
    digital.digital_path(match, luts, spec)  # every input check, in one place
    m, a = spec.macro, spec.adc
    beats, code, values, flags = _beat_values(match, luts, spec)
    batch, n_beats, n_groups = values.shape
    steps = batch * n_beats
    lw = digital.lut_width(spec)
    cw, ow, _, _ = _comb_range(spec)
    comb = _comb_values(values, spec)
    last = np.zeros((batch, n_beats), dtype=np.int64)
    last[:, -1] = 1
    match_bits = beats.reshape(steps, -1)
    return {
        "decoders": {"toggles": toggles(match_bits, 1), "bits": match_bits.shape[1],
                     "beats": steps},
        "lut": {"toggles": toggles(code.reshape(steps, -1), a.code_bits)
                + toggles(values.reshape(steps, -1), lw),
                "bits": n_groups * (a.code_bits + lw), "beats": steps},
        "shift_add": {"toggles": toggles(comb.reshape(steps, -1), cw)
                      + sum(toggles(acc, ow) for acc in _acc_updates(comb, spec)),
                      "bits": comb.shape[-1] * cw + m.cols * ow, "beats": steps},
        "control": {"toggles": toggles(flags.reshape(steps, -1).astype(np.int64), FLAG_BITS)
                    + toggles(last.reshape(steps), 1),
                    "bits": FLAG_BITS + 1, "beats": steps},
    }


def toggle_energy(match, luts, spec: MacroSpec, *, preset: GatePreset = GATE_45NM,
                  node_nm: float | None = None) -> dict[str, float]:
    """Digital energy of a batch of MVMs from their toggles, per component, fJ.

    ``E_c = toggles_c / bits_c * transistors_c * e_transistor``: the toggles of a
    component's driving bus (:func:`toggle_counts`) divided by its width are its
    activity summed over the beats, and every transistor of the component
    (:func:`periphery_gates`; for the LUT only its read ports, since the storage does
    not switch without writes) is taken to switch with that activity. Zero activity
    gives zero energy; one toggle of every bit in every beat gives one switch of every
    transistor per beat.

    Parameters
    ----------
    match, luts, spec
        As :func:`toggle_counts`.
    preset : GatePreset
        Energy per transistor switch and its node.
    node_nm : float, optional
        Node to scale to (:meth:`GatePreset.scaled`); default the preset's.

    Returns
    -------
    dict
        :data:`COMPONENTS` -> energy over the whole batch (fJ), plus ``"total"``.

    Raises
    ------
    ValueError
        As :func:`toggle_counts`; ``preset`` not a GatePreset; a bad ``node_nm``.
    """
    if not isinstance(preset, GatePreset):
        raise ValueError(f"preset = {preset!r}: must be a golden.gate_presets.GatePreset")
    e_t = preset.e_transistor_fj if node_nm is None else preset.scaled(node_nm)
    counts = toggle_counts(match, luts, spec)
    gates = periphery_gates(spec)
    gates["lut"] = _lut_read_ports(spec)
    out = {c: counts[c]["toggles"] / counts[c]["bits"] * gates[c].transistors * e_t
           for c in COMPONENTS}
    out["total"] = sum(out.values())
    return out
