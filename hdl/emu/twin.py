"""The crossbar and Q-cell twin: input bits in, ``in_match`` beats out as a stream.

See :mod:`hdl.emulator` (Architecture, steps 1 to 3) for what it computes; the
twin's model is :func:`hdl.emu.client.twin_match`.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .layout import EmulatorLayout

__all__ = ["MacroTwin", "beat_layout"]


def beat_layout(layout: EmulatorLayout) -> data.StructLayout:
    """One beat: ``match`` in the periphery's ``in_match`` layout, ``last`` (the LSB
    beat of the vector)."""
    a = layout.spec.adc
    match = data.ArrayLayout(data.ArrayLayout(a.cells, a.adcs_per_column),
                             layout.spec.macro.phys_cols)
    return data.StructLayout({"match": match, "last": 1})


def _xorshift32(s):
    s1 = s ^ (s << 13)[:32]
    s2 = s1 ^ (s1 >> 17)
    return s2 ^ (s2 << 5)[:32]


class MacroTwin(wiring.Component):
    """Crossbar twin (``rows + 2`` cycles per beat), Q-cell twin (``cells_total + 1``)
    and read noise for one input vector per ``start`` beat, MSB beat first.

    Parameters
    ----------
    layout : hdl.emu.layout.EmulatorLayout
    bounds_init : list of int
        Initial bound-memory words (``lo | hi << bound_width``, in ``in_match`` order).

    Members
    -------
    weights : In(memory.WritePort.Signature)
        Weight memory write port: word ``r`` holds row ``r``'s cell levels.
    bounds : In(memory.WritePort.Signature)
        Bound memory write port: word ``q`` is ``lo | hi << bound_width`` of Q-cell ``q``.
    x_row : Out(range(rows + 1))
        The row whose input the twin reads.
    x_bits : In(input_bits)
        The input of row ``x_row`` (the previous cycle's ``x_row``: a memory read port).
    noise_bits : In(range(noise_bits_max + 1))
        Read noise width, 0 = off.
    seed : In(32)
        Noise generator seed (non-zero).
    start : In(stream.Signature(1))
        Compute one vector; payload 1 restarts the noise generator from ``seed``.
    beats : Out(stream.Signature(beat_layout(layout)))
        The vector's ``input_bits`` match beats.
    """

    def __init__(self, layout: EmulatorLayout, bounds_init):
        self._layout = layout
        self._bounds_init = list(bounds_init)
        m = layout.spec.macro
        bw = layout.bound_width
        super().__init__({
            "weights": In(memory.WritePort.Signature(
                addr_width=(m.rows - 1).bit_length(), shape=layout.row_bits)),
            "bounds": In(memory.WritePort.Signature(
                addr_width=(layout.cells_total - 1).bit_length(), shape=2 * bw)),
            "x_row": Out(range(m.rows + 1)),
            "x_bits": In(m.input_bits),
            "noise_bits": In(range(layout.noise_bits_max + 1)),
            "seed": In(32),
            "start": In(stream.Signature(1)),
            "beats": Out(stream.Signature(beat_layout(layout))),
        })

    def _match_bit(self, m, acc0, lfsr, bounds):
        """Accumulator 0 plus the noise drawn from ``lfsr``, within the bounds word."""
        bw, nb_max = self._layout.bound_width, self._layout.noise_bits_max
        vcol = Signal(signed(bw))
        if nb_max > 0:
            mask = Signal(nb_max)
            m.d.comb += mask.eq(Array(Const((1 << n) - 1, nb_max)
                                      for n in range(nb_max + 1))[self.noise_bits])
            noise = (lfsr[:nb_max] & mask) - (lfsr[16:16 + nb_max] & mask)
            m.d.comb += vcol.eq(acc0 + noise)
        else:
            m.d.comb += vcol.eq(acc0)
        return (vcol >= bounds[:bw].as_signed()) & (vcol <= bounds[bw:].as_signed())

    def elaborate(self, platform):
        m = Module()
        lay = self._layout
        mac, adc = lay.spec.macro, lay.spec.adc
        P, rows, ib, Q, bw = mac.phys_cols, mac.rows, mac.input_bits, lay.cells_total, \
            lay.bound_width
        cpc = adc.adcs_per_column * adc.cells          # Q-cells per physical column

        # Named so that synthesis scripts can select them (``m:emu_*``).
        m.submodules.emu_weights = wmem = memory.Memory(shape=lay.row_bits, depth=rows,
                                                        init=[])
        m.submodules.emu_bounds = bmem = memory.Memory(shape=2 * bw, depth=Q,
                                                       init=self._bounds_init)
        w_rd, b_rd = wmem.read_port(), bmem.read_port()
        wiring.connect(m, self.weights, wmem.write_port())
        wiring.connect(m, self.bounds, bmem.write_port())

        acc = [Signal(max(1, lay.ps_max.bit_length()), name=f"acc{p}") for p in range(P)]
        t = Signal(range(ib))
        r, a_valid = Signal(range(rows + 1)), Signal()
        q, j = Signal(range(Q + 1)), Signal(range(cpc))
        q_valid, q_lastcol, q_last = Signal(), Signal(), Signal()
        msr = Signal(Q)
        lfsr = Signal(32, init=1)

        # Crossbar: row r's levels gated by the input bit of beat t (bit ib-1-t).
        m.d.comb += [w_rd.addr.eq(r), self.x_row.eq(r)]
        in_bit = self.x_bits[::-1].bit_select(t, 1)
        level = [w_rd.data[p * mac.cell_bits:(p + 1) * mac.cell_bits] for p in range(P)]

        m.d.comb += b_rd.addr.eq(q)
        match_bit = self._match_bit(m, acc[0], lfsr, b_rd.data)
        m.d.comb += [self.beats.payload.match.eq(msr), self.beats.payload.last.eq(t == ib - 1)]

        with m.FSM(name="twin"):
            with m.State("IDLE"):
                m.d.comb += self.start.ready.eq(1)
                with m.If(self.start.valid):
                    m.d.sync += t.eq(0)
                    with m.If(self.start.payload):
                        m.d.sync += lfsr.eq(self.seed)
                    m.next = "INIT"
            with m.State("INIT"):
                m.d.sync += [r.eq(0), a_valid.eq(0), *[a.eq(0) for a in acc]]
                m.next = "ACC"
            with m.State("ACC"):
                with m.If(r != rows):
                    m.d.sync += r.eq(r + 1)
                m.d.sync += a_valid.eq(r != rows)
                with m.If(a_valid):
                    m.d.sync += [acc[p].eq(acc[p] + Mux(in_bit, level[p], 0)) for p in range(P)]
                with m.If((r == rows) & ~a_valid):
                    m.d.sync += [q.eq(0), j.eq(0), q_valid.eq(0)]
                    m.next = "QCELL"
            with m.State("QCELL"):
                with m.If(q != Q):
                    m.d.sync += [q.eq(q + 1), j.eq(Mux(j == cpc - 1, 0, j + 1))]
                m.d.sync += [q_valid.eq(q != Q), q_lastcol.eq(j == cpc - 1),
                             q_last.eq(q == Q - 1)]
                with m.If(q_valid):
                    m.d.sync += msr.eq(Cat(msr[1:], match_bit) if Q > 1 else match_bit)
                    with m.If(q_lastcol):    # rotate: the next column is accumulator 0
                        m.d.sync += [acc[p].eq(acc[(p + 1) % P]) for p in range(P)]
                        m.d.sync += lfsr.eq(_xorshift32(lfsr))
                    with m.If(q_last):
                        m.next = "BEAT"
            with m.State("BEAT"):
                m.d.comb += self.beats.valid.eq(1)
                with m.If(self.beats.ready):
                    with m.If(t == ib - 1):
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += t.eq(t + 1)
                        m.next = "INIT"
        return m
