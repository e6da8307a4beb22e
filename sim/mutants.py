# amaranth: UnusedElaboratable=no
# (A mutant component is always converted right after it is built.)
"""Deliberate RTL faults ("mutants") that prove the benches can fail.

Each mutant is a test-only subclass of one :mod:`hdl` component with one fault.
:func:`parts` gives the :class:`hdl.periphery.PeripheryParts` with the faulty
component in place of the real one, passed to one :class:`hdl.periphery.Periphery`
(``parts=``, through :func:`hdl.export.generate`) and to the component benches
(:mod:`sim.components`); nothing global changes, so other designs built at the same
time in other threads stay good. The fault lives in the Amaranth design, so the
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

import dataclasses
from dataclasses import dataclass, field

from amaranth.hdl import Const, Module, Mux

from hdl.decoders import WindowDecoder, make_decoder
from hdl.lut import CodeLut
from hdl.periphery import PeripheryParts
from hdl.shift_add import ShiftAdd
from hdl.trees import balanced_reduce

__all__ = ["MUTANTS", "Mutant", "parts"]


class OffByOneLut(CodeLut):
    """CodeLut that reads entry ``code + 1`` (``lut_entries - 1`` wraps to 0)."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = CodeLut(self.spec, self.init, port_luts=self.port_luts,
                                             ram_bits=self.ram_bits)
        top = self.spec.adc.lut_entries - 1
        for p in range(len(self.port_luts)):
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
    return make_decoder(encoding, decoder, n_cells)


@dataclass(frozen=True)
class Mutant:
    """One deliberate fault: what it breaks and the names it replaces.

    Attributes
    ----------
    name : str
    description : str
    patches : dict
        :class:`hdl.periphery.PeripheryParts` fields it replaces
        (``{"lut" | "shift_add" | "make_decoder" | "sr_combiner": replacement}``).
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
        {"lut": OffByOneLut}),
    "shift_add_wrong_shift": Mutant(
        "shift_add_wrong_shift", "shift-add accumulator shifts by 2 per input bit",
        {"shift_add": WrongShiftAdd}, {"macro.input_bits": ">= 2"}),
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


def parts(name: str | None) -> PeripheryParts:
    """The components of mutant ``name`` (``None``: the real ones).

    Raises
    ------
    ValueError
        Unknown mutant name.
    """
    mutant = _check(name)
    return dataclasses.replace(PeripheryParts(), **(mutant.patches if mutant else {}))
