"""FPGA flows and the board host link.

* :mod:`synth.boards` - the boards (amaranth-boards platforms, device options).
* :mod:`synth.tools` - finding and running YoWASP (or native) Yosys, nextpnr, packers.
* :mod:`synth.harness` - the out-of-context scan harness around the periphery.
* :mod:`synth.flow` - elaborate, synthesise, place and route, pack, ``report.json``.
* :mod:`synth.host` - the emulator's UART protocol (host side) and its golden twin.
* :mod:`synth.simlink` - the emulator in ``amaranth.sim`` behind a serial-port API.
"""
