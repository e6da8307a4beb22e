"""The emulator core's command execution, as elaboration steps of :class:`Emulator`.

The core (:mod:`hdl.emu.core`) instantiates the parts and wires them; these functions
add the logic between them to its module ``m``: payload words to the memories,
request checks, the command FSM (execute, run the vectors of a RUN, respond) and
the response payload bytes. ``g`` holds the core's registers (see
:meth:`hdl.emu.core.Emulator.elaborate`).
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Mux, Signal, Value

from golden.digital import Flag

from .layout import EmulatorLayout
from .protocol import Command, Status

__all__ = ["execute", "payload_byte", "request_status", "result_byte", "route_words"]


def route_words(m, lay, fin, twin, per, i_wr, g):
    """Payload words to the memories (and the LUTs); RUN counts rows and vectors."""
    rows, bw, bb = lay.spec.macro.rows, lay.bound_width, lay.bound_bytes
    w = fin.words.payload
    with m.If(fin.begin):
        m.d.sync += [g.rowc.eq(0), g.nvec.eq(0), g.overflow.eq(0)]
    with m.If(fin.words.valid):
        with m.Switch(w.cmd):
            with m.Case(Command.WEIGHTS):
                m.d.comb += [twin.weights.addr.eq(w.index),
                             twin.weights.data.eq(fin.word(w.data, lay.row_bytes)),
                             twin.weights.en.eq(w.index < rows)]
            with m.Case(Command.BOUNDS):
                wd = fin.word(w.data, 2 * bb)
                m.d.comb += [twin.bounds.addr.eq(w.index),
                             twin.bounds.data.eq(Cat(wd[:bw], wd[8 * bb:8 * bb + bw])),
                             twin.bounds.en.eq(w.index < lay.cells_total)]
            with m.Case(Command.LUT):
                m.d.comb += [per.cfg_addr.eq(w.index),
                             per.cfg_data.eq(fin.word(w.data, lay.lut_bytes)),
                             per.cfg_we.eq(w.index < lay.lut_words)]
            with m.Case(Command.RUN):
                ok = w.index < lay.batch_max * rows
                m.d.comb += [i_wr.addr.eq(w.index),
                             i_wr.data.eq(fin.word(w.data, lay.input_bytes)),
                             i_wr.en.eq(ok)]
                with m.If(~ok):
                    m.d.sync += g.overflow.eq(1)
                with m.If(g.rowc == rows - 1):
                    m.d.sync += [g.rowc.eq(0), g.nvec.eq(g.nvec + 1)]
                with m.Else():
                    m.d.sync += g.rowc.eq(g.rowc + 1)

def result_byte(lay, per, k):
    """Byte ``k`` of the periphery's result: every column sign-extended to
    ``out_bytes``, then the flags."""
    ob = lay.out_bytes
    cols = [Value.cast(per.out_data[c]) for c in range(lay.spec.macro.cols)]
    padded = Cat(*[Cat(x, x[-1].replicate(8 * ob - lay.out_width))
                   if 8 * ob > lay.out_width else x for x in cols],
                 per.out_flags.as_value(), Const(0, 8 - len(Flag)))
    return padded.word_select(k, 8)

def payload_byte(lay, info, fin, fout, o_rd, g):
    """Response payload byte ``fout.index``: a STATUS field byte, the RUN count, or
    the result memory (READ)."""
    dyn = {"noise_bits": g.noise_bits, "last_batch": g.n_run, "frames_ok": g.frames_ok,
           "frames_bad": g.frames_bad, "dropped": g.dropped,
           "uart_errors": g.uart_errors}
    info_bytes = []
    for name, nb in lay.info_fields:
        val = dyn.get(name)
        if val is None:
            val = Const(info[name] & ((1 << (8 * nb)) - 1), 8 * nb)
        else:
            val = Cat(val, Const(0, max(0, 8 * nb - len(val))))[:8 * nb]
        info_bytes.extend(val.word_select(i, 8) for i in range(nb))
    n_run = Cat(g.n_run, Const(0, 16))
    pidx = fout.index
    return Mux(fin.frame.payload.cmd == Command.STATUS,
               Array(info_bytes)[pidx[:max(1, (lay.info_len - 1).bit_length())]],
               Mux(fin.frame.payload.cmd == Command.RUN,
                   Array([n_run[:8], n_run[8:16]])[pidx[0]], o_rd.data))

def request_status(m, lay, fin, g):
    """The response status of the received frame (combinational)."""
    f = fin.frame.payload
    st, len_ok, known = Signal(8), Signal(), Signal()
    with m.Switch(f.cmd):
        for c, n in lay.request_lengths.items():
            with m.Case(c):
                if n is None:       # RUN: whole vectors, 1..batch_max of them
                    ok = (f.length != 0) & f.aligned & (g.rowc == 0) & ~g.overflow
                else:
                    ok = f.length == n
                m.d.comb += [known.eq(1), len_ok.eq(ok)]
    nb_req = fin.word(f.data, EmulatorLayout.NOISE_LEN)[:8]
    arg_ok = (f.cmd != Command.NOISE) | (nb_req <= lay.noise_bits_max)
    with m.If(~f.crc_ok):
        m.d.comb += st.eq(Status.BAD_CRC)
    with m.Elif(~known):
        m.d.comb += st.eq(Status.BAD_COMMAND)
    with m.Elif(~len_ok):
        m.d.comb += st.eq(Status.BAD_LENGTH)
    with m.Elif(~arg_ok):
        m.d.comb += st.eq(Status.BAD_ARGUMENT)
    return st

def execute(m, lay, fin, fout, twin, per, o_wr, g):
    """Execute the received frame, run the vectors of a RUN, start the response."""
    rows, rb = lay.spec.macro.rows, lay.result_bytes
    f, hd = fin.frame.payload, fout.start.payload
    st = request_status(m, lay, fin, g)
    with m.FSM(name="main"):
        with m.State("IDLE"):
            respond = Signal()
            m.d.comb += [hd.status.eq(st), hd.cmd.eq(f.cmd)]
            with m.If(fin.frame.valid & (st != Status.OK)):
                m.d.sync += [g.frames_bad.eq(g.frames_bad + 1), g.error.eq(1)]
                m.d.comb += respond.eq(1)
            with m.Elif(fin.frame.valid):
                m.d.sync += [g.frames_ok.eq(g.frames_ok + 1), g.error.eq(0)]
                with m.Switch(f.cmd):
                    with m.Case(Command.STATUS):
                        m.d.comb += [hd.length.eq(lay.info_len), respond.eq(1)]
                    with m.Case(Command.READ):
                        m.d.comb += [hd.length.eq(g.out_total), respond.eq(1)]
                    with m.Case(Command.NOISE):
                        wd = fin.word(f.data, EmulatorLayout.NOISE_LEN)
                        sd = wd[8:40]
                        m.d.sync += [g.noise_bits.eq(wd[:8]), g.seed.eq(Mux(sd == 0, 1, sd))]
                        m.d.comb += respond.eq(1)
                    with m.Case(Command.RUN):
                        m.d.sync += [g.n_run.eq(g.nvec), g.v.eq(0), g.vbase.eq(0),
                                     g.obase.eq(0)]
                        m.d.comb += [twin.start.valid.eq(1), twin.start.payload.eq(1)]
                        m.next = "COMPUTE"
                    with m.Default():
                        m.d.comb += respond.eq(1)
            with m.If(respond):
                m.d.comb += fout.start.valid.eq(1)
                m.next = "RESPOND"
        with m.State("COMPUTE"):
            with m.If(twin.beats.valid & twin.beats.ready & twin.beats.payload.last):
                m.next = "WAIT_OUT"
        with m.State("WAIT_OUT"):
            m.d.sync += g.k.eq(0)
            with m.If(per.out_valid):
                m.next = "STORE"
        with m.State("STORE"):
            m.d.comb += o_wr.en.eq(1)
            m.d.sync += g.k.eq(g.k + 1)
            with m.If(g.k == rb - 1):
                m.next = "NEXT_VEC"
        with m.State("NEXT_VEC"):
            m.d.comb += per.out_ready.eq(1)
            m.d.sync += [g.obase.eq(g.obase + rb), g.v.eq(g.v + 1),
                         g.vbase.eq(g.vbase + rows)]
            with m.If(g.v + 1 == g.n_run):
                m.d.sync += g.out_total.eq(g.obase + rb)
                m.d.comb += [fout.start.valid.eq(1), hd.status.eq(Status.OK),
                             hd.cmd.eq(f.cmd), hd.length.eq(2)]
                m.next = "RESPOND"
            with m.Else():
                m.d.comb += twin.start.valid.eq(1)
                m.next = "COMPUTE"
        with m.State("RESPOND"):
            with m.If(fout.done):
                m.d.comb += fin.frame.ready.eq(1)
                m.next = "IDLE"
