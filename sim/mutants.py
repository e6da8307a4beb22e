# amaranth: UnusedElaboratable=no
# (A mutant component is always converted right after it is built.)
"""Deliberate RTL faults ("mutants") that prove the benches can fail.

Each mutant is a test-only subclass of one :mod:`hdl` component with one fault, and
is swapped in only while the Verilog is generated (:func:`applied` replaces the name
that :class:`hdl.periphery.Periphery` builds it under; :func:`factories` gives the
component benches the same classes). The fault lives in the Amaranth design, so the
Verilog is an ordinary export of a faulty design, and the build cache keys on the
mutant's name (see :mod:`sim.runner`), so a mutant never shares a build with the good
design.

``lut_addr_off_by_one``
    :class:`hdl.lut.CodeLut` reads entry ``code + 1`` (wrapping at ``lut_entries``).
``shift_add_wrong_shift``
    :class:`hdl.shift_add.ShiftAdd` accumulates ``acc = 4*acc + v`` (a shift by two)
    instead of MSB-first Horner ``acc = 2*acc + v``.
``decoder_or_two_hot``
    :class:`hdl.decoders.WindowDecoder` encodes like a ROM/OR encoder: the code is the
    OR of the indices of all set cells, so a two-hot vector decodes to neither of its
    cells. One-hot vectors and the flags are unchanged. Threshold decoders are left
    alone (the mutant needs ``adc.encoding = "window"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from amaranth.hdl import Const, Module, Mux

from hdl import decoders as _decoders
from hdl import periphery as _periphery
from hdl.decoders import WindowDecoder
from hdl.lut import CodeLut
from hdl.shift_add import ShiftAdd
from hdl.trees import balanced_reduce

__all__ = ["MUTANTS", "Mutant", "applied", "factories"]


class OffByOneLut(CodeLut):
    """CodeLut that reads entry ``code + 1`` (``lut_entries - 1`` wraps to 0)."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = CodeLut(self.spec, self.init)
        top = self.spec.adc.lut_entries - 1
        for p in range(self.spec.macro.phys_cols):
            code = self.code[p]
            m.d.comb += inner.code[p].eq(Mux(code == top, 0, code + 1))
        m.d.comb += [
            inner.en.eq(self.en),
            inner.cfg_we.eq(self.cfg_we),
            inner.cfg_addr.eq(self.cfg_addr),
            inner.cfg_data.eq(self.cfg_data),
            self.value.eq(inner.value),
        ]
        return m


class WrongShiftAdd(ShiftAdd):
    """ShiftAdd whose Horner step shifts by two: ``acc = (acc << 2) + v``."""

    @staticmethod
    def _horner_step(acc, v):
        return (acc << 2) + v


class OrDecoder(WindowDecoder):
    """WindowDecoder whose code is the OR of the indices of every set cell."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        width = self.bits
        terms = [Mux(self.match[k], Const(k, width), Const(0, width))
                 for k in range(self.n_cells)]
        # The later comb assignment wins over the priority tree's code.
        m.d.comb += self.code.eq(balanced_reduce(terms, lambda a, b: a | b).value)
        return m


def _or_make_decoder(encoding, decoder, n_cells):
    if encoding == "window":
        return OrDecoder(n_cells)
    return _decoders.make_decoder(encoding, decoder, n_cells)


@dataclass(frozen=True)
class Mutant:
    """One deliberate fault: what it breaks and the names it replaces.

    Attributes
    ----------
    name : str
    description : str
    patches : dict
        ``{"CodeLut" | "ShiftAdd" | "make_decoder": replacement}``.
    needs : dict
        Spec conditions under which the fault is observable, ``{"adc.encoding":
        "window"}`` etc. (documentation and test selection).
    """

    name: str
    description: str
    patches: dict = field(default_factory=dict)
    needs: dict = field(default_factory=dict)


MUTANTS: dict[str, Mutant] = {
    "lut_addr_off_by_one": Mutant(
        "lut_addr_off_by_one", "LUT read address off by one (code + 1)",
        {"CodeLut": OffByOneLut}),
    "shift_add_wrong_shift": Mutant(
        "shift_add_wrong_shift", "shift-add accumulator shifts by 2 per input bit",
        {"ShiftAdd": WrongShiftAdd}, {"macro.input_bits": ">= 2"}),
    "decoder_or_two_hot": Mutant(
        "decoder_or_two_hot", "window decoder ORs the indices of a multi-hot vector",
        {"make_decoder": _or_make_decoder}, {"adc.encoding": "window"}),
}
"""Every mutant by name."""


def _check(name: str | None) -> Mutant | None:
    if name is None:
        return None
    if name not in MUTANTS:
        raise ValueError(f"mutant = {name!r}: must be one of " + ", ".join(MUTANTS))
    return MUTANTS[name]


def factories(name: str | None) -> dict:
    """The component constructors to use for mutant ``name`` (``None``: the real ones):
    ``{"make_decoder": ..., "CodeLut": ..., "ShiftAdd": ...}``.

    Raises
    ------
    ValueError
        Unknown mutant name.
    """
    mutant = _check(name)
    out = {"make_decoder": _decoders.make_decoder, "CodeLut": CodeLut, "ShiftAdd": ShiftAdd}
    if mutant is not None:
        out.update(mutant.patches)
    return out


@contextmanager
def applied(name: str | None) -> Iterator[Mutant | None]:
    """Build :class:`hdl.periphery.Periphery` with mutant ``name`` inside the block.

    Raises
    ------
    ValueError
        Unknown mutant name.
    """
    mutant = _check(name)
    if mutant is None:
        yield None
        return
    saved = {k: getattr(_periphery, k) for k in mutant.patches}
    try:
        for k, v in mutant.patches.items():
            setattr(_periphery, k, v)
        yield mutant
    finally:
        for k, v in saved.items():
            setattr(_periphery, k, v)
