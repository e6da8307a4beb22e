"""FPGA families: everything the flows know about one family, one module each.

A :class:`Family` names the Yosys synthesis command, the nextpnr and packer tools
and their arguments, the Yosys cell types and nextpnr utilisation keys behind each
headline resource, the constraint file the scan harness needs, and how the
``auto`` memory policy maps the periphery's LUTs. :class:`synth.boards.Board`
names its family; :mod:`synth.flow` asks it. A new family is one module defining a
subclass and calling :func:`register` on an instance, plus its import below.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FAMILIES", "Family", "LutPlan", "get_family", "lut_split", "register"]


@dataclass(frozen=True)
class LutPlan:
    """Where each read port of :class:`hdl.lut.CodeLut` goes (its ``ram_bits`` keyword).

    Attributes
    ----------
    ram_bits : tuple of int
        Per read port, the low bits read from the port's own memory copy (``lutI_rK``);
        the rest come from logic (a register file and a multiplexer tree).
    styles : tuple of str
        Per read port, the ``ram_style`` of that copy (``block``, ``distributed``), or
        ``logic`` for a port without one.
    blocks : int
        Block RAMs the copies take.
    why : str
        One line for the report.
    """

    ram_bits: tuple[int, ...]
    styles: tuple[str, ...]
    blocks: int
    why: str

    def counts(self, width: int) -> dict:
        """Read ports all in block RAM, split (block RAM and logic), all in distributed
        RAM and all in logic, and the bits of all ports in logic."""
        out = {"block": 0, "split": 0, "distributed": 0, "logic": 0}
        for bits, style in zip(self.ram_bits, self.styles, strict=True):
            key = "logic" if bits == 0 else style if bits == width else "split"
            out[key] += 1
        out["logic_bits"] = sum(width - b for b in self.ram_bits)
        return out


def lut_split(ports: int, width: int, bits_per_block: int, budget: int) -> tuple[int, ...]:
    """``ram_bits`` putting the most LUT bits in ``budget`` blocks of
    ``bits_per_block`` bits (one read port each): every port's whole blocks first
    (``width // bits_per_block`` each, port by port), then one block per port for the
    remaining ``width % bits_per_block`` bits, while blocks last."""
    whole, rest = divmod(width, bits_per_block)
    left = max(budget, 0)
    bits = [0] * ports
    for k in range(ports):
        n = min(whole, left)
        bits[k], left = n * bits_per_block, left - n
    for k in range(ports):
        if rest and left and bits[k] == whole * bits_per_block:
            bits[k], left = width, left - 1
    return tuple(bits)


class Family(ABC):
    """One FPGA family.

    Attributes
    ----------
    name : str
        ``Board.family`` and the report's ``board.family`` (``"ice40"``).
    toolchain : str
        The amaranth platform toolchain (``"IceStorm"``).
    pnr_tool, pack_tool : str
        Tool names as :func:`synth.tools.find_tool` looks them up.
    packages : mapping
        Tool name -> the YoWASP distribution on PyPI that ships it.
    constraints_suffix : str
        File suffix of the pin and clock constraints (``".pcf"``).
    distributed_ram : bool
        Whether ``--memory distributed`` (LUT RAM) exists on the family.
    cells : mapping
        Report resource name -> Yosys cell types counted for it.
    placed : mapping
        Report ``placed`` name -> nextpnr utilisation key.
    """

    name: str
    toolchain: str
    pnr_tool: str
    pack_tool: str
    packages: Mapping[str, str]
    constraints_suffix: str
    distributed_ram: bool
    cells: Mapping[str, tuple[str, ...]]
    placed: Mapping[str, str]

    @property
    def synth_command(self) -> str:
        """The Yosys synthesis command (``synth_ice40``)."""
        return f"synth_{self.name}"

    @abstractmethod
    def constraints(self, pins: dict[str, str], mhz: float) -> str:
        """Constraint file text placing ports ``pins`` (port -> pin name) with a
        clock constraint of ``mhz`` on port ``clk``."""

    @abstractmethod
    def pnr_args(self, name: str, constraints: str) -> list[str]:
        """nextpnr arguments (beside the board's device options and the common ones)
        reading constraint file ``constraints`` and writing ``name``'s placed design."""

    @abstractmethod
    def pack(self, name: str) -> tuple[str, list[str]]:
        """The bitstream file name of ``name`` and the packer arguments writing it."""

    block_modes: tuple[tuple[int, int], ...] = ()
    """Block RAM ``(depth, width)`` modes with a separate read and write port."""
    rest_style: str = "logic"
    """Where read ports go that do not fit block RAM (``logic`` or ``distributed``)."""

    def block_bits(self, depth: int) -> int:
        """Bits one block RAM delivers per read port for a ``depth``-entry memory
        (0: none of :attr:`block_modes` is that deep)."""
        return max((w for d, w in self.block_modes if d >= depth), default=0)

    def emulator_brams(self, spec, layout) -> int:
        """Block RAMs of the emulator's own memories (0 without ``layout``)."""
        return 0

    def lut_plan(self, spec, layout, capacity: dict, ports: int) -> LutPlan:
        """The ``auto`` split of the LUTs' ``ports`` read ports: as many bits in block
        RAM as the blocks left after the emulator's memories hold
        (:func:`lut_split`), the rest in :attr:`rest_style`."""
        from golden.digital import lut_width

        width, depth = lut_width(spec), spec.adc.lut_entries
        have = capacity.get("bram", 0)
        budget = have - self.emulator_brams(spec, layout)
        per = self.block_bits(depth)
        bits = lut_split(ports, width, per, budget) if per else (0,) * ports
        styles = tuple("block" if b else self.rest_style for b in bits)
        blocks = sum(-(-b // per) for b in bits if b)
        if self.rest_style != "logic":
            bits = tuple(b or width for b in bits)
        plan = LutPlan(bits, styles, blocks, "")
        c = plan.counts(width)
        why = (f"{ports} LUT read ports of {width} bits: {c['block']} in block RAM, "
               f"{c['split']} split (block RAM and logic), {c['distributed']} in "
               f"distributed RAM, {c['logic']} in logic ({blocks} of {have} blocks, "
               f"{have - budget} kept for the emulator)")
        return LutPlan(bits, styles, blocks, why)

    @abstractmethod
    def auto_memory(self, spec, layout, capacity: dict) -> tuple[str, str]:
        """The ``auto`` memory style of the periphery's LUTs and why, for ``spec``
        (and the emulator's ``layout``, or ``None``) on a device of ``capacity``."""


FAMILIES: dict[str, Family] = {}
"""Registered families by name."""


def register(family: Family) -> Family:
    """Add ``family`` to :data:`FAMILIES` (replacing one of the same name)."""
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    """The family called ``name``.

    Raises
    ------
    KeyError
        With a message listing the known families.
    """
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(
            f"unknown FPGA family {name!r}; known families: " + ", ".join(FAMILIES)
        ) from None


from . import ecp5, ice40  # noqa: E402, F401  (each registers its family)
