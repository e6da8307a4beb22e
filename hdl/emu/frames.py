"""Request frames in, response frames out, on byte streams (:mod:`hdl.emu.protocol`).

:class:`FrameReceiver` turns the UART's byte stream into a frame header, the
payload as a stream of words (the unit each command writes to a memory) and one
frame-done beat carrying the CRC check; :class:`FrameTransmitter` sends a response
header, a payload read byte by byte from its source, and the CRC.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .protocol import HEADER_LEN, SYNC_REQUEST, SYNC_RESPONSE, crc8_columns

__all__ = ["FrameReceiver", "FrameTransmitter", "crc8_update"]


def crc8_update(crc, byte):
    """:func:`hdl.emu.protocol.crc8` of one byte as XOR equations (the update is linear
    in ``crc ^ byte``: a flat expression, not eight chained muxes)."""
    c = crc ^ byte
    cols = crc8_columns()
    out = []
    for i in range(8):
        terms = [c[b] for b in range(8) if (cols[b] >> i) & 1]
        x = terms[0]
        for term in terms[1:]:
            x = x ^ term
        out.append(x)
    return Cat(*out)


class FrameReceiver(wiring.Component):
    """Receives request frames ``A5 CMD LEN_LO LEN_HI PAYLOAD CRC`` from a byte stream.

    Bytes before a sync byte are dropped (and counted); a frame with more than
    ``timeout`` cycles between two of its bytes is abandoned (counted once). Payload
    bytes are assembled into words of ``word_bytes[cmd]`` bytes (``max(word_bytes)``
    for other commands): one ``words`` beat per whole word, the cycle after its last
    byte. After the CRC byte, ``frame`` is valid until it is accepted; bytes arriving
    meanwhile are dropped, and the receiver is busy (``idle`` low) from the sync byte
    until then.

    Parameters
    ----------
    word_bytes : dict of int to int
        Bytes per payload word of each command.
    timeout : int
        Longest gap between two bytes of one frame, in cycles.
    max_words : int
        Largest word index to count to.

    Members
    -------
    i : In(stream.Signature(8))
        Received bytes (always ready).
    words : Out(stream.Signature(WordLayout, always_ready=True))
        ``cmd``, ``index`` (0 for the first word of a frame), ``data`` (the word's
        bytes, little-endian, in the top ``word_bytes[cmd]`` bytes: :meth:`word`).
    frame : Out(stream.Signature(FrameLayout))
        ``cmd``, ``length``, ``crc_ok``, ``aligned`` (the payload was whole words),
        ``data`` (the last word, as in ``words``).
    begin : Out(1)
        A frame's payload starts (one cycle before its first byte can arrive; word
        indices restart).
    dropped : Out(16)
        Bytes dropped so far (wraps).
    idle : Out(1)
        Waiting for a sync byte.
    """

    def __init__(self, word_bytes: dict, timeout: int, max_words: int):
        self._word_bytes = {int(c): n for c, n in word_bytes.items()}
        self._max = max(self._word_bytes.values())
        self._timeout = timeout
        self.word_layout = data.StructLayout({
            "cmd": 8, "index": range(max_words + 2), "data": 8 * self._max})
        self.frame_layout = data.StructLayout({
            "cmd": 8, "length": 16, "crc_ok": 1, "aligned": 1, "data": 8 * self._max})
        super().__init__({
            "i": In(stream.Signature(8)),
            "words": Out(stream.Signature(self.word_layout, always_ready=True)),
            "frame": Out(stream.Signature(self.frame_layout)),
            "begin": Out(1),
            "dropped": Out(16),
            "idle": Out(1),
        })

    def word(self, data_bits, nbytes: int):
        """The word of ``nbytes`` bytes in ``data_bits`` (a ``data`` field)."""
        return data_bits[8 * (self._max - nbytes):]

    def elaborate(self, platform):
        m = Module()
        got, byte = self.i.valid, self.i.payload
        cmd, length, remaining, crc = Signal(8), Signal(16), Signal(16), Signal(8)
        asm = Signal(8 * self._max)
        sub = Signal(range(self._max + 1))        # byte within the current word
        widx = Signal.like(self.words.payload.index)
        commit = Signal()
        idle_timer = Signal(range(self._timeout + 1))
        dropped = self.dropped
        m.d.comb += self.i.ready.eq(1)

        word_bytes = Signal(range(self._max + 1))
        with m.Switch(cmd):
            for c, nb in self._word_bytes.items():
                with m.Case(c):
                    m.d.comb += word_bytes.eq(nb)
            with m.Default():
                m.d.comb += word_bytes.eq(self._max)

        m.d.sync += commit.eq(0)
        with m.If(commit):
            m.d.sync += widx.eq(widx + 1)
        m.d.comb += [self.words.valid.eq(commit), self.words.payload.cmd.eq(cmd),
                     self.words.payload.index.eq(widx), self.words.payload.data.eq(asm)]
        f = self.frame.payload
        m.d.comb += [f.cmd.eq(cmd), f.length.eq(length), f.crc_ok.eq(crc == 0),
                     f.aligned.eq(sub == 0), f.data.eq(asm)]

        def frame_byte(next_state, *stmts):
            with m.If(got):
                m.d.sync += [crc.eq(crc8_update(crc, byte)), idle_timer.eq(0), *stmts]
                m.next = next_state
            with m.Elif(idle_timer == self._timeout):
                m.d.sync += dropped.eq(dropped + 1)
                m.next = "IDLE"
            with m.Else():
                m.d.sync += idle_timer.eq(idle_timer + 1)

        with m.FSM(name="rx") as fsm:
            with m.State("IDLE"):
                with m.If(got):
                    with m.If(byte == SYNC_REQUEST):
                        m.d.sync += [crc.eq(0), idle_timer.eq(0)]
                        m.next = "CMD"
                    with m.Else():
                        m.d.sync += dropped.eq(dropped + 1)
            with m.State("CMD"):
                frame_byte("LEN0", cmd.eq(byte))
            with m.State("LEN0"):
                frame_byte("LEN1", length[:8].eq(byte))
            with m.State("LEN1"):
                frame_byte("BEGIN", length[8:].eq(byte), remaining.eq(Cat(length[:8], byte)))
            with m.State("BEGIN"):
                m.d.comb += self.begin.eq(1)
                m.d.sync += [sub.eq(0), widx.eq(0)]
                m.next = "PAYLOAD"
                with m.If(remaining == 0):
                    m.next = "CRC"
            with m.State("PAYLOAD"):
                last_of_word = sub == word_bytes - 1
                frame_byte("PAYLOAD", asm.eq(Cat(asm[8:], byte)), remaining.eq(remaining - 1),
                           sub.eq(Mux(last_of_word, 0, sub + 1)), commit.eq(last_of_word))
                with m.If(got & (remaining == 1)):
                    m.next = "CRC"
            with m.State("CRC"):
                frame_byte("DONE")
            with m.State("DONE"):
                m.d.comb += self.frame.valid.eq(1)
                with m.If(self.frame.ready):
                    m.next = "IDLE"

        receiving = ~(fsm.ongoing("BEGIN") | fsm.ongoing("DONE"))
        with m.If(got & ~receiving):
            m.d.sync += dropped.eq(dropped + 1)
        m.d.comb += self.idle.eq(fsm.ongoing("IDLE"))
        return m


class FrameTransmitter(wiring.Component):
    """Sends response frames ``5A STATUS CMD LEN_LO LEN_HI PAYLOAD CRC`` as a byte stream.

    A ``start`` beat (accepted while idle) gives the header; payload byte ``index`` is
    read from ``data`` one cycle after ``index`` is set (a synchronous memory read
    port fits), so each payload byte takes at least two cycles.

    Members
    -------
    start : In(stream.Signature(HeaderLayout))
        ``status``, ``cmd``, ``length``.
    o : Out(stream.Signature(8))
        The response bytes.
    index : Out(16)
        The payload byte wanted next.
    data : In(8)
        Payload byte ``index`` (of the previous cycle's ``index``).
    done : Out(1)
        The CRC byte leaves in this cycle: the response is complete.
    """

    header_layout = data.StructLayout({"status": 8, "cmd": 8, "length": 16})

    def __init__(self):
        super().__init__({
            "start": In(stream.Signature(self.header_layout)),
            "o": Out(stream.Signature(8)),
            "index": Out(16),
            "data": In(8),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        hd = Signal(self.header_layout)
        crc = Signal(8)
        hidx = Signal(range(HEADER_LEN))
        pidx = self.index
        hdr = Array([Const(SYNC_RESPONSE, 8), hd.status, hd.cmd, hd.length[:8],
                     hd.length[8:]])
        o = self.o

        with m.FSM(name="tx"):
            with m.State("IDLE"):
                m.d.comb += self.start.ready.eq(1)
                with m.If(self.start.valid):
                    m.d.sync += [hd.eq(self.start.payload), hidx.eq(0), pidx.eq(0),
                                 crc.eq(0)]
                    m.next = "HEADER"
            with m.State("HEADER"):
                m.d.comb += [o.valid.eq(1), o.payload.eq(hdr[hidx])]
                with m.If(o.ready):
                    m.d.sync += hidx.eq(hidx + 1)
                    with m.If(hidx != 0):
                        m.d.sync += crc.eq(crc8_update(crc, hdr[hidx]))
                    with m.If(hidx == HEADER_LEN - 1):
                        m.next = "READ"
                        with m.If(hd.length == 0):
                            m.next = "CRC"
            with m.State("READ"):       # one cycle for the source's memory read
                m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += [o.valid.eq(1), o.payload.eq(self.data)]
                with m.If(o.ready):
                    m.d.sync += [pidx.eq(pidx + 1), crc.eq(crc8_update(crc, self.data))]
                    with m.If(pidx == hd.length - 1):
                        m.next = "CRC"
                    with m.Else():
                        m.next = "READ"
            with m.State("CRC"):
                m.d.comb += [o.valid.eq(1), o.payload.eq(crc)]
                with m.If(o.ready):
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
        return m
