"""Code-to-value LUTs for every physical column, writable through a config port."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from golden.digital import lut_index, lut_width, n_luts
from golden.spec import MacroSpec

from ._checks import check_spec

__all__ = ["CodeLut"]


class CodeLut(wiring.Component):
    """The code-to-value LUTs of all physical columns (one memory per LUT).

    There are :func:`golden.digital.n_luts` LUTs (scope ``shared``: 1, ``per_slice``:
    one per slice plus one for the offset reference column, ``per_column``: one per
    physical column); physical column ``p`` reads LUT ``lut_index(spec)[p]``. Each LUT
    is an :class:`amaranth.lib.memory.Memory` of ``adc.lut_entries`` signed
    ``lut_width(spec)``-bit words, with one synchronous read port per physical column
    that uses it and one write port.

    **Latency 1**: the value for the ``code`` presented in cycle ``t`` (with ``en``
    high) appears on ``value`` in cycle ``t + 1`` and holds while ``en`` is low.

    **Configuration address map**::

        cfg_addr = lut_id * 2**code_bits + entry
        width(cfg_addr) = ceil(log2(n_luts)) + code_bits

    with ``code_bits = adc.code_bits`` (N, or N+1 with super-resolution). A cycle with
    ``cfg_we`` high writes ``cfg_data`` to that entry at the clock edge ending the
    cycle; a write to ``entry >= lut_entries`` or ``lut_id >= n_luts`` is ignored.
    **Read during write**: the read ports are not transparent, so a read issued in the
    same cycle as a write to its entry returns the old value; a write in cycle ``t``
    is seen by reads issued in cycle ``t + 1`` or later.

    Parameters
    ----------
    spec : golden.spec.MacroSpec
        The macro (columns, slices, mapping, ADC code width, LUT scope and format).
    init : array_like of int, shape (n_luts(spec), adc.lut_entries)
        Initial LUT contents, signed fixed point fitting ``lut_width(spec)`` bits
        (e.g. from :func:`golden.digital.to_fixed`).

    Members
    -------
    code : In(ArrayLayout(code_bits, phys_cols))
        Each physical column's LUT index (element ``p`` for physical column ``p``).
        Sampled at the clock edge ending a cycle with ``en`` high.
    en : In(1)
        Read enable / pipeline advance: when low, ``value`` holds.
    value : Out(ArrayLayout(signed(lut_width), phys_cols))
        ``LUT[lut_index[p]][code[p]]``, one cycle after the ``code`` it answers.
    cfg_we : In(1)
        Write enable of the configuration port.
    cfg_addr : In(addr_width)
        ``lut_id * 2**code_bits + entry``, see above.
    cfg_data : In(signed(lut_width))
        Value to write.

    Raises
    ------
    ValueError
        ``spec`` is not a MacroSpec, or ``init`` has the wrong shape, a non-integer
        dtype or values outside the signed ``lut_width`` range.
    """

    def __init__(self, spec: MacroSpec, init):
        self._spec = check_spec(spec)
        adc = spec.adc
        self._width = lut_width(spec)
        self._n_luts = n_luts(spec)
        self._index = lut_index(spec)
        want = (self._n_luts, adc.lut_entries)
        a = np.asarray(init)
        if a.shape != want:
            raise ValueError(f"init: shape {a.shape} must be (n_luts, lut_entries) = {want}")
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"init: dtype {a.dtype} is not allowed; need integers")
        lo, hi = -(1 << (self._width - 1)), (1 << (self._width - 1)) - 1
        if a.size and (int(a.min()) < lo or int(a.max()) > hi):
            raise ValueError(
                f"init: values {a.min()}..{a.max()} do not fit the signed "
                f"lut_width = {self._width}-bit range {lo}..{hi}"
            )
        self._init = a.astype(np.int64)
        self._init.flags.writeable = False
        self._id_bits = (self._n_luts - 1).bit_length()
        phys = spec.macro.phys_cols
        super().__init__({
            "code": In(data.ArrayLayout(unsigned(adc.code_bits), phys)),
            "en": In(1),
            "value": Out(data.ArrayLayout(signed(self._width), phys)),
            "cfg_we": In(1),
            "cfg_addr": In(self.addr_width),
            "cfg_data": In(signed(self._width)),
        })

    @property
    def spec(self) -> MacroSpec:
        """The macro spec the LUTs were built for."""
        return self._spec

    @property
    def init(self) -> np.ndarray:
        """Initial contents, int64 of shape ``(n_luts, lut_entries)`` (read-only)."""
        return self._init

    @property
    def latency(self) -> int:
        """Clock cycles from ``code`` (with ``en``) to ``value``: 1."""
        return 1

    @property
    def data_width(self) -> int:
        """Signed width of one LUT value: :func:`golden.digital.lut_width`."""
        return self._width

    @property
    def n_luts(self) -> int:
        """Number of LUT memories: :func:`golden.digital.n_luts`."""
        return self._n_luts

    @property
    def addr_width(self) -> int:
        """Width of ``cfg_addr``: ``ceil(log2(n_luts)) + code_bits``."""
        return self._id_bits + self._spec.adc.code_bits

    def address(self, lut_id: int, entry: int) -> int:
        """``cfg_addr`` of entry ``entry`` of LUT ``lut_id``.

        Raises
        ------
        ValueError
            ``lut_id`` or ``entry`` out of range.
        """
        entries = self._spec.adc.lut_entries
        if not 0 <= lut_id < self._n_luts:
            raise ValueError(f"lut_id = {lut_id!r}: must be in 0..{self._n_luts - 1}")
        if not 0 <= entry < entries:
            raise ValueError(f"entry = {entry!r}: must be in 0..{entries - 1}")
        return (lut_id << self._spec.adc.code_bits) | entry

    def addr_map(self) -> dict:
        """The configuration address map, as plain values (for the manifest).

        Returns
        -------
        dict
            ``formula``, ``addr_width``, ``lut_id_bits`` (high field), ``entry_bits``
            (low field, ``code_bits``), ``n_luts``, ``lut_entries``, ``data_width``,
            ``data_signed``, ``lut_scope``, ``lut_of_column`` (the LUT each physical
            column reads), ``out_of_range`` and ``read_during_write``.
        """
        adc = self._spec.adc
        return {
            "formula": "cfg_addr = lut_id * 2**entry_bits + entry",
            "addr_width": self.addr_width,
            "lut_id_bits": self._id_bits,
            "entry_bits": adc.code_bits,
            "n_luts": self._n_luts,
            "lut_entries": adc.lut_entries,
            "data_width": self._width,
            "data_signed": True,
            "lut_scope": adc.lut_scope,
            "lut_of_column": [int(i) for i in self._index],
            "out_of_range": "writes to entry >= lut_entries or lut_id >= n_luts are ignored",
            "read_during_write": "old value; a write in cycle t is seen by reads issued "
                                 "in cycle t+1 or later",
        }

    def elaborate(self, platform):
        m = Module()
        bits = self._spec.adc.code_bits
        entry = self.cfg_addr[:bits]
        lut_id = self.cfg_addr[bits:]
        entry_ok = entry < self._spec.adc.lut_entries
        for i in range(self._n_luts):
            mem = memory.Memory(
                shape=signed(self._width), depth=self._spec.adc.lut_entries,
                init=[int(v) for v in self._init[i]],
            )
            m.submodules[f"lut{i}"] = mem
            wp = mem.write_port()
            m.d.comb += [
                wp.addr.eq(entry),
                wp.data.eq(self.cfg_data),
                wp.en.eq(self.cfg_we & entry_ok & (lut_id == i)),
            ]
            for p in np.flatnonzero(self._index == i):
                rp = mem.read_port()
                m.d.comb += [
                    rp.addr.eq(self.code[int(p)]),
                    rp.en.eq(self.en),
                    self.value[int(p)].eq(rp.data),
                ]
        return m
