"""Q-cell bank sense control: precharge / evaluate / latch strobes and the match
register."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ._checks import check_int

__all__ = ["QCellSense"]


class QCellSense(wiring.Component):
    r"""Sequence one sense operation of a Q-cell bank and latch its match lines.

    A sense operation is three phases, each a whole number of clock cycles: the match
    lines are **precharged** high, then the search voltage is applied and mismatching
    cells **evaluate** (discharge their line), then the sense amplifiers **latch**.
    The match lines are captured into ``match`` at the clock edge that ends the last
    latch cycle, so only what ``match_lines`` holds in that cycle is ever captured.

    A ``start`` seen while idle begins an operation in the next cycle. A ``start``
    seen in the last latch cycle chains the next operation with no idle cycle, so
    holding ``start`` high senses continuously. ``start`` in any other cycle is
    ignored. Each duration port is read when its phase begins (``t_precharge`` in the
    ``start`` cycle, ``t_evaluate`` in the last precharge cycle, ``t_latch`` in the
    last evaluate cycle); 0 counts as 1.

    Timing with ``t_precharge = 2``, ``t_evaluate = 3``, ``t_latch = 1`` (``D`` is
    the value that gets captured)::

        cycle         0   1   2   3   4   5   6   7   8
        start       /```\_______________________________
        precharge   ____/```````\_______________________
        evaluate    ____________/```````````\___________
        latch       ________________________/```\_______
        match_lines ====X===X===X===X===X===X=D=X===X===
        match_valid ____________________________/```\___
        match       =old========================X=D=====
        busy        ____/```````````````````````\_______

    **Latency**: ``match_valid`` is high ``tp + te + tl + 1`` cycles after the
    ``start`` cycle (``tp``, ``te``, ``tl`` the durations, 0 read as 1); with
    ``start`` held high one operation completes every ``tp + te + tl`` cycles.

    Parameters
    ----------
    n_bits : int
        Match lines latched, 1..65536.
    duration_bits : int
        Width of the duration ports, 1..16.
    precharge, evaluate, latch : int
        Initial (reset) values of ``t_precharge``, ``t_evaluate``, ``t_latch``, used
        when the ports are left undriven; ``1 .. 2**duration_bits - 1``.

    Members
    -------
    start : In(1)
        Request a sense operation (see above).
    t_precharge, t_evaluate, t_latch : In(duration_bits)
        Phase durations in clock cycles.
    match_lines : In(n_bits)
        Raw match lines from the Q-cell bank's sense amplifiers.
    precharge, evaluate, latch : Out(1)
        Phase strobes, each high for exactly its duration; at most one at a time.
    busy : Out(1)
        High while an operation is under way (any strobe high).
    match : Out(n_bits)
        The match lines captured at the end of the last latch cycle; held until the
        next capture.
    match_valid : Out(1)
        One-cycle strobe in the cycle after a capture (``match`` is new).

    Raises
    ------
    ValueError
        A parameter is not an integer in its range.
    """

    def __init__(self, n_bits: int, duration_bits: int = 8, precharge: int = 1,
                 evaluate: int = 1, latch: int = 1):
        self._n_bits = check_int("n_bits", n_bits, 1, 1 << 16)
        self._duration_bits = check_int("duration_bits", duration_bits, 1, 16)
        top = (1 << duration_bits) - 1
        inits = {
            "precharge": check_int("precharge", precharge, 1, top),
            "evaluate": check_int("evaluate", evaluate, 1, top),
            "latch": check_int("latch", latch, 1, top),
        }
        super().__init__({
            "start": In(1),
            "t_precharge": In(duration_bits, init=inits["precharge"]),
            "t_evaluate": In(duration_bits, init=inits["evaluate"]),
            "t_latch": In(duration_bits, init=inits["latch"]),
            "match_lines": In(n_bits),
            "precharge": Out(1),
            "evaluate": Out(1),
            "latch": Out(1),
            "busy": Out(1),
            "match": Out(n_bits),
            "match_valid": Out(1),
        })

    @property
    def n_bits(self) -> int:
        """Match lines latched."""
        return self._n_bits

    @property
    def duration_bits(self) -> int:
        """Width of the duration ports."""
        return self._duration_bits

    @staticmethod
    def latency(precharge: int, evaluate: int, latch: int) -> int:
        """Cycles from the ``start`` cycle to ``match_valid``: ``tp + te + tl + 1``
        (a duration of 0 counts as 1)."""
        return max(precharge, 1) + max(evaluate, 1) + max(latch, 1) + 1

    def elaborate(self, platform):
        m = Module()
        count = Signal(self._duration_bits)

        def load(duration):
            return count.eq(Mux(duration == 0, 0, duration - 1))

        m.d.sync += self.match_valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += load(self.t_precharge)
                    m.next = "PRECHARGE"
            with m.State("PRECHARGE"):
                m.d.comb += self.precharge.eq(1)
                with m.If(count == 0):
                    m.d.sync += load(self.t_evaluate)
                    m.next = "EVALUATE"
                with m.Else():
                    m.d.sync += count.eq(count - 1)
            with m.State("EVALUATE"):
                m.d.comb += self.evaluate.eq(1)
                with m.If(count == 0):
                    m.d.sync += load(self.t_latch)
                    m.next = "LATCH"
                with m.Else():
                    m.d.sync += count.eq(count - 1)
            with m.State("LATCH"):
                m.d.comb += self.latch.eq(1)
                with m.If(count == 0):
                    m.d.sync += [self.match.eq(self.match_lines), self.match_valid.eq(1)]
                    with m.If(self.start):
                        m.d.sync += load(self.t_precharge)
                        m.next = "PRECHARGE"
                    with m.Else():
                        m.next = "IDLE"
                with m.Else():
                    m.d.sync += count.eq(count - 1)
        m.d.comb += self.busy.eq(self.precharge | self.evaluate | self.latch)
        return m
