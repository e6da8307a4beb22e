"""cocotb verification of the generated Verilog against the golden model.

* :mod:`sim.runner` - generate, build once per config and simulator (Icarus default,
  Verilator selectable), run the benches and collect their results;
* :mod:`sim.tb` - the periphery top's test bench (:class:`sim.tb.TB`) and
  :mod:`sim.bench_top` its cocotb tests;
* :mod:`sim.components` and ``sim.bench_<component>`` - each periphery component
  exported on its own and checked against golden;
* :mod:`sim.stimulus` - match vectors from the golden macro and directed cases;
* :mod:`sim.mutants` - deliberate RTL faults that prove the benches can fail.

Modules named ``bench_*`` run inside the simulator; the others in the calling process.
"""
