"""Q-cell match-vector decoders: window (one-hot) and threshold (thermometer).

Each decoder is combinational and total: every match vector gives a defined code, and
what had to be corrected is raised in :data:`FlagLayout` bits. The policy is exactly
:func:`golden.digital.decode`:

* :class:`WindowDecoder` (``"priority"``): the lowest set cell wins; zero-hot gives
  code 0 and ``zero_hot``, more than one set cell gives ``multi_hot``.
* :class:`ThermometerOnesDecoder` (``"ones"``): code = number of set cells (a balanced
  popcount tree); ``non_monotone`` when a 0 lies below a 1.
* :class:`ThermometerMajorityDecoder` (``"majority"``): 3-input majority bubble
  correction first (``b[-1] = 1``, ``b[n] = 0``), then the popcount; ``non_monotone``
  from the raw vector. More logic than ``"ones"``, and single-cell bubbles are undone
  before counting.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from golden.digital import MAX_CODE_BITS
from golden.spec import DECODERS

from .trees import Tree, balanced_reduce, or_tree, popcount

__all__ = [
    "DECODER_CLASSES",
    "FlagLayout",
    "ThermometerMajorityDecoder",
    "ThermometerOnesDecoder",
    "WindowDecoder",
    "make_decoder",
]

FlagLayout = data.StructLayout({
    "zero_hot": 1,
    "multi_hot": 1,
    "non_monotone": 1,
    "sr_disagree": 1,
})
"""Correction flags, bit for bit :class:`golden.digital.Flag` (``zero_hot`` is bit 0,
``multi_hot`` bit 1, ``non_monotone`` bit 2, ``sr_disagree`` bit 3)."""


def _check_cells(n_cells, encoding: str) -> int:
    if encoding == "window":
        allowed = [1 << k for k in range(MAX_CODE_BITS + 1)]
        form = f"2**N window cells with N = 0..{MAX_CODE_BITS}"
    else:
        allowed = [(1 << k) - 1 for k in range(1, MAX_CODE_BITS + 1)]
        form = f"2**N - 1 threshold cells with N = 1..{MAX_CODE_BITS}"
    if isinstance(n_cells, bool) or not isinstance(n_cells, int) or n_cells not in allowed:
        raise ValueError(
            f"n_cells = {n_cells!r}: must be {form} ({', '.join(map(str, allowed))})"
        )
    return n_cells


class _Decoder(wiring.Component):
    ENCODING = ""

    def __init__(self, n_cells: int):
        self._n_cells = _check_cells(n_cells, self.ENCODING)
        window = self.ENCODING == "window"
        self._bits = (n_cells - 1).bit_length() if window else n_cells.bit_length()
        super().__init__({
            "match": In(n_cells),
            "code": Out(self._bits),
            "flags": Out(FlagLayout),
        })

    @property
    def n_cells(self) -> int:
        """Q-cells (match lines) decoded."""
        return self._n_cells

    @property
    def bits(self) -> int:
        """Code width N (the ADC resolution)."""
        return self._bits

    @property
    def latency(self) -> int:
        """Clock cycles from ``match`` to ``code``: 0 (combinational)."""
        return 0


class WindowDecoder(_Decoder):
    """Priority decoder for ``2**N`` window Q-cells (one-hot match vectors).

    A balanced tree of priority nodes: each node merges a lower and an upper half
    into ``(any, many, index)``, with ``any = any_lo | any_hi``, ``many = many_lo |
    many_hi | (any_lo & any_hi)`` and the index taken from the upper half only when
    the lower half is empty (so an empty vector gives index 0). Logic depth is
    ``N`` node levels.

    Parameters
    ----------
    n_cells : int
        ``2**N`` cells, ``N = 0 .. 8``.

    Members
    -------
    match : In(n_cells)
        Match lines, cell 0 in bit 0. Combinational input.
    code : Out(N)
        Index of the lowest set cell, or 0 when none is set. Valid in the same cycle
        as ``match`` (latency 0).
    flags : Out(FlagLayout)
        ``zero_hot`` when no cell is set, ``multi_hot`` when two or more are; the
        other bits are 0. Valid with ``code``.

    Raises
    ------
    ValueError
        ``n_cells`` is not a power of two in 1..256.
    """

    ENCODING = "window"

    @property
    def tree_depth(self) -> int:
        """Priority-node levels on the longest path: ``N = log2(n_cells)``."""
        return self._tree().depth

    def _tree(self) -> Tree:
        leaves = [(self.match[k], Const(0, 1), Const(0, 0)) for k in range(self.n_cells)]

        def merge(lo, hi):
            any_lo, many_lo, idx_lo = lo
            any_hi, many_hi, idx_hi = hi
            take_hi = ~any_lo & any_hi
            # leaves carry no index bits: no zero-width mux (Verilog would get [-1:0] wires)
            low_bits = [Mux(take_hi, idx_hi, idx_lo)] if len(idx_lo) else []
            return (
                any_lo | any_hi,
                many_lo | many_hi | (any_lo & any_hi),
                Cat(*low_bits, take_hi),
            )

        return balanced_reduce(leaves, merge)

    def elaborate(self, platform):
        m = Module()
        any_set, many, index = self._tree().value
        m.d.comb += [
            self.code.eq(index),
            self.flags.zero_hot.eq(~any_set),
            self.flags.multi_hot.eq(many),
        ]
        return m


def _non_monotone(match: Value, n: int) -> Tree:
    """OR tree over ``b[k+1] & ~b[k]``: some cell reads 1 above a cell that reads 0."""
    return or_tree([match[k + 1] & ~match[k] for k in range(n - 1)])


class ThermometerOnesDecoder(_Decoder):
    """Ones-counter decoder for ``2**N - 1`` threshold Q-cells (thermometer vectors).

    ``code`` is the number of set cells, summed by a balanced popcount tree
    (:func:`hdl.trees.popcount`, ``ceil(log2(n_cells))`` adder levels). A bubble
    changes the count by the number of cells it flips, never more.

    Parameters
    ----------
    n_cells : int
        ``2**N - 1`` cells, ``N = 1 .. 8``.

    Members
    -------
    match : In(n_cells)
        Match lines, cell 0 (lowest threshold) in bit 0. Combinational input.
    code : Out(N)
        Number of set cells. Valid in the same cycle as ``match`` (latency 0).
    flags : Out(FlagLayout)
        ``non_monotone`` when some cell reads 0 below a cell that reads 1; the other
        bits are 0. Valid with ``code``.

    Raises
    ------
    ValueError
        ``n_cells`` is not ``2**N - 1`` in 1..255.
    """

    ENCODING = "threshold"

    def _counted(self) -> Value | list[Value]:
        return self.match

    @property
    def tree_depth(self) -> int:
        """Adder levels of the popcount tree: ``ceil(log2(n_cells))``."""
        return popcount(self._counted()).depth

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [
            self.code.eq(popcount(self._counted()).value),
            self.flags.non_monotone.eq(_non_monotone(self.match, self.n_cells).value),
        ]
        return m


class ThermometerMajorityDecoder(ThermometerOnesDecoder):
    """Majority-corrected ones counter for ``2**N - 1`` threshold Q-cells.

    Each bit is first replaced by the majority of itself and its two neighbours,
    ``c[k] = maj(b[k-1], b[k], b[k+1])`` with ``b[-1] = 1`` and ``b[n] = 0``, all from
    the raw bits; then ``code`` is the popcount of ``c`` (the same balanced tree as
    :class:`ThermometerOnesDecoder`). A single isolated 0 among 1s is filled and an
    isolated 1 among 0s removed; longer runs survive.

    Parameters
    ----------
    n_cells : int
        ``2**N - 1`` cells, ``N = 1 .. 8``.

    Members
    -------
    match : In(n_cells)
        Match lines, cell 0 (lowest threshold) in bit 0. Combinational input.
    code : Out(N)
        Popcount of the majority-corrected vector. Valid in the same cycle as
        ``match`` (latency 0).
    flags : Out(FlagLayout)
        ``non_monotone`` when the **raw** vector has a 0 below a 1; the other bits
        are 0. Valid with ``code``.

    Raises
    ------
    ValueError
        ``n_cells`` is not ``2**N - 1`` in 1..255.
    """

    def _counted(self) -> list[Value]:
        b = self.match
        n = self.n_cells
        corrected = []
        for k in range(n):
            lo = b[k - 1] if k > 0 else Const(1, 1)
            hi = b[k + 1] if k < n - 1 else Const(0, 1)
            corrected.append((lo & b[k]) | (b[k] & hi) | (lo & hi))
        return corrected


DECODER_CLASSES: dict[str, dict[str, type[_Decoder]]] = {
    "window": {"priority": WindowDecoder},
    "threshold": {"ones": ThermometerOnesDecoder, "majority": ThermometerMajorityDecoder},
}
"""Decoder classes by encoding and decoder name, in the order of
:data:`golden.digital.DECODERS` (the first is the encoding's default)."""


def make_decoder(encoding: str, decoder: str | None, n_cells: int) -> _Decoder:
    """Build the decoder component for an encoding.

    Parameters
    ----------
    encoding : {"window", "threshold"}
    decoder : str or None
        One of ``DECODERS[encoding]``; ``None`` is the encoding's default
        (``"priority"`` or ``"ones"``).
    n_cells : int
        Q-cells per ADC (``2**N`` window or ``2**N - 1`` threshold cells).

    Returns
    -------
    WindowDecoder, ThermometerOnesDecoder or ThermometerMajorityDecoder

    Raises
    ------
    ValueError
        Unknown encoding or decoder, or a cell count the decoder does not accept.
    """
    if encoding not in DECODER_CLASSES:
        raise ValueError(
            f"encoding = {encoding!r}: must be one of "
            + ", ".join(repr(e) for e in DECODER_CLASSES)
        )
    if decoder is None:
        decoder = DECODERS[encoding][0]
    classes = DECODER_CLASSES[encoding]
    if decoder not in classes:
        raise ValueError(
            f"decoder = {decoder!r}: encoding {encoding!r} allows "
            + ", ".join(repr(d) for d in classes)
        )
    _check_cells(n_cells, encoding)  # before construction: a failed one would linger unused
    return classes[decoder](n_cells)
