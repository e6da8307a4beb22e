"""FPGA flows and the board host link.

* :mod:`synth.boards` - the boards (amaranth-boards platforms, device options).
* :mod:`synth.families` - what differs per FPGA family (cells, tools, constraints,
  block-RAM estimate); a new family is one module here.
* :mod:`synth.steps` - the step timer shared by the synth flow and ``cimgen flow``.
* :mod:`synth.tools` - finding and running YoWASP (or native) Yosys, nextpnr, packers.
* :mod:`synth.harness` - the out-of-context scan harness around the periphery.
* :mod:`synth.flow` - elaborate, synthesise, place and route, pack, ``report.json``.
* :mod:`synth.host` - the emulator's host side (re-exported from :mod:`hdl.emu.client`).
* :mod:`synth.simlink` - the emulator in ``amaranth.sim`` behind a serial-port API.
"""
