"""Code-to-value LUTs for every physical column, writable through a config port."""

from __future__ import annotations

import operator

import numpy as np
from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from golden.digital import lut_index, lut_width, n_luts
from golden.spec import MacroSpec

from ._checks import check_spec

__all__ = ["CodeLut"]


class CodeLut(wiring.Component):
    """The code-to-value LUTs of all physical columns, read through one port each.

    There are :func:`golden.digital.n_luts` LUTs (scope ``shared``: 1, ``per_slice``:
    one per slice plus one for the offset reference column, ``per_column``: one per
    physical column) of ``adc.lut_entries`` signed ``lut_width(spec)``-bit words.
    Read port ``k`` reads LUT ``port_luts[k]`` (by default ``lut_index(spec)``: one
    port per physical column; a column mux shares one port among several columns).

    **Structure** (``ram_bits``): ``None`` gives one
    :class:`amaranth.lib.memory.Memory` ``lut{i}`` per LUT with all its read ports
    (the FPGA flow picks its ``ram_style``). Otherwise read port ``k`` reads its low
    ``ram_bits[k]`` bits from its own memory copy ``lut{i}_r{k}`` (one read port; the
    LUT's write reaches every copy) and its other bits from a register file of the
    LUT (``lut{i}_e{entry}``, shared by its ports) through a multiplexer tree with a
    registered output (``lut{i}_q{k}``); so a synthesis flow can put each port in
    block RAM, in logic, or split between them. The behaviour is the same.

    **Latency 1**: the value for the ``code`` presented in cycle ``t`` (with ``en``
    high) appears on ``value`` in cycle ``t + 1`` and holds while ``en`` is low.

    **Configuration address map**::

        cfg_addr = lut_id * 2**code_bits + entry
        width(cfg_addr) = ceil(log2(n_luts)) + code_bits

    with ``code_bits = adc.code_bits`` (N, or N+1 with super-resolution). A cycle with
    ``cfg_we`` high writes ``cfg_data`` to that entry at the clock edge ending the
    cycle; a write to ``entry >= lut_entries`` or ``lut_id >= n_luts`` is ignored.
    A write in cycle ``t`` is seen by reads issued in cycle ``t + 1`` or later.
    **Read during write is a don't-care**: a read issued in the same cycle as a write
    to the entry it reads returns an unspecified value (FPGA block RAM on a
    same-address collision; each bit the old or the new one). Simulation and the
    exported Verilog return the old value; synthesis flows may map the memories
    without the bypass logic that would guarantee it (on iCE40 about 20 LUT4 and 3
    flip-flops per block-RAM read port). Other entries and other LUTs read normally
    in that cycle.

    Parameters
    ----------
    spec : golden.spec.MacroSpec
        The macro (columns, slices, mapping, ADC code width, LUT scope and format).
    init : array_like of int, shape (n_luts(spec), adc.lut_entries)
        Initial LUT contents, signed fixed point fitting ``lut_width(spec)`` bits
        (e.g. from :func:`golden.digital.to_fixed`).
    port_luts : sequence of int, optional
        The LUT id (``0..n_luts-1``) of each read port; default
        :func:`golden.digital.lut_index` (one port per physical column).
    ram_bits : int or sequence of int, optional
        Per read port (an int: every port), the low bits read from the port's own
        memory copy, ``0..lut_width`` (see Structure); default ``None``.

    Members
    -------
    code : In(ArrayLayout(code_bits, len(port_luts)))
        Each read port's LUT index (by default element ``p`` for physical column
        ``p``). Sampled at the clock edge ending a cycle with ``en`` high.
    en : In(1)
        Read enable / pipeline advance: when low, ``value`` holds.
    value : Out(ArrayLayout(signed(lut_width), len(port_luts)))
        ``LUT[port_luts[k]][code[k]]``, one cycle after the ``code`` it answers.
    cfg_we : In(1)
        Write enable of the configuration port.
    cfg_addr : In(addr_width)
        ``lut_id * 2**code_bits + entry``, see above.
    cfg_data : In(signed(lut_width))
        Value to write.

    Raises
    ------
    ValueError
        ``spec`` is not a MacroSpec; ``init`` has the wrong shape, a non-integer
        dtype or values outside the signed ``lut_width`` range; ``port_luts`` is empty
        or holds a non-integer or an id outside ``0..n_luts-1``; ``ram_bits`` has the
        wrong length or a value outside ``0..lut_width``.
    """

    def __init__(self, spec: MacroSpec, init, *, port_luts=None, ram_bits=None):
        self._spec = check_spec(spec)
        adc = spec.adc
        self._width = lut_width(spec)
        self._n_luts = n_luts(spec)
        self._index = self._check_port_luts(port_luts)
        self._ram_bits = self._check_ram_bits(ram_bits)
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
        ports = len(self._index)
        super().__init__({
            "code": In(data.ArrayLayout(unsigned(adc.code_bits), ports)),
            "en": In(1),
            "value": Out(data.ArrayLayout(signed(self._width), ports)),
            "cfg_we": In(1),
            "cfg_addr": In(self.addr_width),
            "cfg_data": In(signed(self._width)),
        })

    def _check_port_luts(self, port_luts) -> np.ndarray:
        if port_luts is None:
            return np.asarray(lut_index(self._spec), dtype=np.int64)
        try:
            ids = [operator.index(v) for v in port_luts]
        except TypeError:
            raise ValueError(f"port_luts = {port_luts!r}: must be a sequence of integer "
                             f"LUT ids in 0..{self._n_luts - 1}") from None
        if not ids or any(isinstance(v, bool) for v in port_luts) or \
                not all(0 <= v < self._n_luts for v in ids):
            raise ValueError(f"port_luts = {list(port_luts)!r}: must be a non-empty sequence "
                             f"of LUT ids in 0..{self._n_luts - 1}")
        return np.asarray(ids, dtype=np.int64)

    def _check_ram_bits(self, ram_bits):
        if ram_bits is None:
            return None
        n, w = len(self._index), self._width
        vals = [ram_bits] * n if isinstance(ram_bits, int) else list(ram_bits)
        if len(vals) != n or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= w for v in vals):
            raise ValueError(f"ram_bits = {ram_bits!r}: must be None, or an integer or "
                             f"{n} integers (one per read port) in 0..{w}")
        return tuple(vals)

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
            ``data_signed``, ``lut_scope``, ``lut_of_column`` (the LUT each read
            port reads: each physical column by default), ``out_of_range`` and
            ``read_during_write``.
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
            "read_during_write": "don't care: a read issued in the cycle of a write to "
                                 "the same entry returns an unspecified value (the "
                                 "exported Verilog returns the old one); a write in "
                                 "cycle t is seen by reads issued in cycle t+1 or later",
        }

    @property
    def port_luts(self) -> np.ndarray:
        """The LUT id of each read port (element ``k`` for ``code[k]``/``value[k]``)."""
        return self._index.copy()

    @property
    def ram_bits(self) -> tuple[int, ...] | None:
        """Low bits of each read port read from its own memory copy, or ``None`` (one
        memory per LUT, all bits)."""
        return self._ram_bits

    def elaborate(self, platform):
        m = Module()
        bits = self._spec.adc.code_bits
        entry = self.cfg_addr[:bits]
        lut_id = self.cfg_addr[bits:]
        entry_ok = entry < self._spec.adc.lut_entries
        for i in range(self._n_luts):
            we = Signal(name=f"we_lut{i}")
            m.d.comb += we.eq(self.cfg_we & entry_ok & (lut_id == i))
            ports = [int(k) for k in np.flatnonzero(self._index == i)]
            if self._ram_bits is None:
                self._memory(m, f"lut{i}", i, we, entry, ports, self._width)
                continue
            for k in ports:
                if self._ram_bits[k]:
                    self._memory(m, f"lut{i}_r{k}", i, we, entry, [k], self._ram_bits[k])
            self._logic(m, i, we, entry, ports)
        return m

    def _bits(self, k, lo, hi):
        """Bits ``lo..hi-1`` of ``value[k]``."""
        base = k * self._width
        return self.value.as_value()[base + lo:base + hi]

    def _memory(self, m, name, i, we, entry, ports, width):
        """Memory ``name``: the low ``width`` bits of LUT ``i``, read by ``ports``."""
        mask = (1 << width) - 1
        mem = memory.Memory(shape=unsigned(width), depth=self._spec.adc.lut_entries,
                            init=[int(v) & mask for v in self._init[i]])
        m.submodules[name] = mem
        wp = mem.write_port()
        m.d.comb += [wp.addr.eq(entry), wp.data.eq(self.cfg_data[:width]), wp.en.eq(we)]
        for k in ports:
            rp = mem.read_port()
            m.d.comb += [rp.addr.eq(self.code[k]), rp.en.eq(self.en),
                         self._bits(k, 0, width).eq(rp.data)]

    def _logic(self, m, i, we, entry, ports):
        """The bits of LUT ``i`` its ``ports`` do not read from memory: a register file
        and, per port, a multiplexer tree with a registered output."""
        w = self._width
        lo = min(self._ram_bits[k] for k in ports) if ports else w
        if lo == w:
            return
        entries = self._spec.adc.lut_entries
        mask = (1 << (w - lo)) - 1
        regs = [Signal(w - lo, name=f"lut{i}_e{e}", reset_less=True,
                       init=(int(v) >> lo) & mask) for e, v in enumerate(self._init[i])]
        for e, r in enumerate(regs):
            with m.If(we & (entry == e)):
                m.d.sync += r.eq(self.cfg_data[lo:])
        regs += [regs[-1]] * ((1 << self._spec.adc.code_bits) - entries)
        for k in ports:
            b = self._ram_bits[k]
            if b == w:
                continue
            out = Signal(w - b, name=f"lut{i}_q{k}", reset_less=True)
            with m.If(self.en):
                m.d.sync += out.eq(_mux_tree(self.code[k], [r[b - lo:] for r in regs]))
            m.d.comb += self._bits(k, b, w).eq(out)


def _mux_tree(addr, items):
    """``items[addr]`` (``len(items) == 2**len(addr)``), a balanced tree of 2:1
    multiplexers (Yosys's LUT mapping restructures it as it likes)."""
    level = list(items)
    for s in addr:
        level = [Mux(s, level[j + 1], level[j]) for j in range(0, len(level), 2)]
    return level[0]
