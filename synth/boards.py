"""The FPGA boards cimgen builds for: device, package, pins and tool options.

Each :class:`Board` names its amaranth-boards platform class (imported only when a
build needs it) and the facts the flows need beside it: the nextpnr device options,
the FPGA family (a :mod:`synth.families` entry: Yosys ``synth_*`` command, tools,
cell names, constraints) and the capacity printed next to the measured use. Pin names are read from
the platform's resources, never retyped here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .families import Family, get_family

__all__ = ["BOARDS", "Board", "get_board"]


@dataclass(frozen=True)
class Board:
    """One FPGA board.

    Attributes
    ----------
    name : str
        The name on the command line (``--board``) and in ``[fpga] board``.
    title : str
        Human-readable description.
    family : str
        A :data:`synth.families.FAMILIES` name (``"ice40"``, ``"ecp5"``); see
        :attr:`fpga_family`.
    device, package : str
        As the vendor names them (``iCE40UP5K``, ``SG48``).
    platform : str
        ``module:Class`` of the amaranth-boards platform.
    pnr_args : tuple of str
        nextpnr options selecting the device and package.
    clock : str
        Name of the platform's default clock resource.
    capacity : dict
        Logic cells / LUT4s, flip-flops, block RAMs and multipliers of the device.
    """

    name: str
    title: str
    family: str
    device: str
    package: str
    platform: str
    pnr_args: tuple[str, ...]
    clock: str
    capacity: dict

    def platform_class(self):
        """The amaranth-boards platform class (imports amaranth_boards)."""
        module, cls = self.platform.split(":")
        return getattr(importlib.import_module(module), cls)

    def make_platform(self):
        """A fresh platform instance (tool names from the YoWASP packages; see
        :func:`synth.tools.tool_env`)."""
        return self.platform_class()(toolchain=self.fpga_family.toolchain)

    def pins(self) -> dict:
        """Board pins used by cimgen: ``clk`` (the default clock), ``rx`` (UART data
        into the FPGA), ``tx`` (UART data out of it), and the clock frequency in Hz as
        ``clk_hz``; read from the platform's resources."""
        plat = self.platform_class()()
        clk = plat.lookup(self.clock, 0)
        uart = plat.lookup("uart", 0)
        sub = {s.name: s for s in uart.ios}
        return {
            "clk": _pin_name(clk.ios[0]),
            "rx": _pin_name(sub["rx"].ios[0]),
            "tx": _pin_name(sub["tx"].ios[0]),
            "clk_hz": float(clk.clock.frequency),
        }

    @property
    def fpga_family(self) -> Family:
        """The :class:`synth.families.Family` named by :attr:`family`."""
        return get_family(self.family)

    @property
    def pack_tool(self) -> str:
        """The family's bitstream packer (``icepack``, ``ecppack``)."""
        return self.fpga_family.pack_tool

    @property
    def pnr_tool(self) -> str:
        """The family's nextpnr (``nextpnr-ice40``, ``nextpnr-ecp5``)."""
        return self.fpga_family.pnr_tool


def _pin_name(pins) -> str:
    names = list(pins.names)
    if len(names) != 1:
        raise ValueError(f"expected one pin, got {names}")
    return names[0]


def _ulx3s(size: str, lcs: int, brams: int, mults: int) -> Board:
    return Board(
        name=f"ulx3s-{size.lower()}",
        title=f"Radiona ULX3S with ECP5 LFE5U-{size} (CABGA381), 25 MHz, FTDI UART",
        family="ecp5", device=f"LFE5U-{size}", package="BG381",
        platform=f"amaranth_boards.ulx3s:ULX3S_{size}_Platform",
        pnr_args=(f"--{size[:-1]}k", "--package", "CABGA381", "--speed", "6"),
        clock="clk25",
        capacity={"luts": lcs, "ffs": lcs, "bram": brams, "dsp": mults},
    )


BOARDS: dict[str, Board] = {
    b.name: b for b in (
        Board(
            name="icebreaker",
            title="1BitSquared iCEBreaker with iCE40 UP5K (SG48), 12 MHz, FTDI UART",
            family="ice40", device="iCE40UP5K", package="SG48",
            platform="amaranth_boards.icebreaker:ICEBreakerPlatform",
            pnr_args=("--up5k", "--package", "sg48"),
            clock="clk12",
            capacity={"luts": 5280, "ffs": 5280, "bram": 30, "dsp": 8},
        ),
        _ulx3s("12F", 12288, 32, 28),
        _ulx3s("25F", 24288, 56, 28),
        _ulx3s("45F", 43848, 108, 72),
        _ulx3s("85F", 83640, 208, 156),
    )
}
"""Known boards by name."""


def get_board(name: str) -> Board:
    """The board called ``name``.

    Raises
    ------
    KeyError
        With a message listing the known boards.
    """
    try:
        return BOARDS[name]
    except KeyError:
        raise KeyError(
            f"unknown board {name!r}; known boards: " + ", ".join(BOARDS)
        ) from None
