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

__all__ = ["FAMILIES", "Family", "get_family", "register"]


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
