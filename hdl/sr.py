"""Super-resolution combiner: the sum of two ADC codes and their disagreement flag."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from golden.digital import MAX_CODE_BITS

from ._checks import check_int

__all__ = ["SRCombiner"]


class SRCombiner(wiring.Component):
    """Combine the codes of a column's two super-resolution ADCs (A and B).

    ``sr = a + b`` indexes the SR LUT (``2**(N+1) - 1`` entries: even entries are
    levels, odd ones boundaries); ``disagree`` is raised when ``|a - b| > 1``, exactly
    :func:`golden.digital.sr_combine`. Combinational.

    Parameters
    ----------
    bits : int
        ADC code width N, 1..8.

    Members
    -------
    a, b : In(bits)
        Codes of ADC A and ADC B. Combinational inputs.
    sr : Out(bits + 1)
        ``a + b``. Valid in the same cycle (latency 0).
    disagree : Out(1)
        ``|a - b| > 1`` (the ``sr_disagree`` flag). Valid with ``sr``.

    Raises
    ------
    ValueError
        ``bits`` is not an integer in 1..8.
    """

    def __init__(self, bits: int):
        self._width = check_int("bits", bits, 1, MAX_CODE_BITS)
        super().__init__({
            "a": In(bits),
            "b": In(bits),
            "sr": Out(bits + 1),
            "disagree": Out(1),
        })

    @property
    def bits(self) -> int:
        """Width N of each input code."""
        return self._width

    @property
    def latency(self) -> int:
        """Clock cycles from ``a``/``b`` to ``sr``: 0 (combinational)."""
        return 0

    def elaborate(self, platform):
        m = Module()
        diff = self.a - self.b  # signed, bits + 1 wide: exact
        m.d.comb += [
            self.sr.eq(self.a + self.b),
            self.disagree.eq((diff > 1) | (diff < -1)),
        ]
        return m
