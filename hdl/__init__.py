"""Amaranth components of the CIM digital periphery.

* :mod:`hdl.qcell_ctrl` - Q-cell sense control (precharge / evaluate / latch strobes).
* :mod:`hdl.decoders` - window (priority) and threshold (ones, majority) decoders.
* :mod:`hdl.sr` - super-resolution combiner.
* :mod:`hdl.lut` - code-to-value LUTs with a configuration write port.
* :mod:`hdl.shift_add` - bit-serial shift-add accumulator.
* :mod:`hdl.trees` - balanced popcount / adder / OR trees used by the above.
* :mod:`hdl.periphery` - the periphery top (the ports of the README's port table).
* :mod:`hdl.export` - Verilog, manifest, LUT init files and Verilator waivers.

Every component checks :mod:`golden` bit for bit in ``tests/hdl``.
"""
