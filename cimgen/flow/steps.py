"""The flow as a sequence of steps over one :class:`FlowState`."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from golden.outdir import staged

from .. import workloads
from ..dataio import check_out_dir
from ..metrics import NetworkRun
from ..workloads import NetworkContext, Workload
from .claims import check_claims, sr_design_table, summarise
from .grid import (
    RESULTS_FORMAT,
    SCHEME_LABELS,
    SCHEMES,
    SR_DESIGNS,
    FlowGrid,
    scheme_adc,
    sweep_tasks,
    trial_seed,
)
from .hardware import Hardware
from .network import run_network, run_tasks
from .studies import adc_study, linearity_study

__all__ = ["FlowState", "run_flow"]


@dataclass
class FlowState:
    """What the steps hand on to each other."""

    spec: object
    grid: FlowGrid
    tmp: Path
    workers: int
    progress: bool
    kind: type[Workload]
    timings: dict = field(default_factory=dict)
    workload: Workload | None = None
    ctx: NetworkContext | None = None
    baselines: dict = field(default_factory=dict)
    tiles: list = field(default_factory=list)
    ref: NetworkRun | None = None
    adc: list = field(default_factory=list)
    lin: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    summary: list = field(default_factory=list)
    claims: dict = field(default_factory=dict)
    design: dict | None = None
    hw: dict = field(default_factory=dict)
    cost: dict = field(default_factory=dict)


def _step(n: int, text: str, t0: float, timings: dict, key: str) -> None:
    dt = time.perf_counter() - t0
    timings[key] = round(dt, 3)
    print(f"[{n}/6] {text} ({dt:.1f} s)", flush=True)


def step_workload(st: FlowState) -> None:
    """1. The workload, built for the config; its baselines, tiles and ``network.npz``."""
    from ..tiling import tile_grid

    t0 = time.perf_counter()
    wl = st.workload = st.kind.build(st.spec)
    st.ctx = NetworkContext.of(wl, st.grid.n_cal)
    st.baselines = wl.baselines()
    st.tiles = [tile_grid(w.shape, st.spec) for w in wl.weights]
    np.savez(st.tmp / "network.npz", **wl.arrays())
    _step(1, f"workload: {wl.summary()}; float {100 * st.baselines['float_baseline']:.2f} %, "
             f"integer {100 * st.baselines['integer_ideal']:.2f} %; tiles per layer "
             + ", ".join(f"{a}x{b}" for a, b in st.tiles), t0, st.timings, "workload")


def step_calibration(st: FlowState) -> None:
    """2. The reference chip: calibration files, ADC inputs and quantisers, linearity."""
    from ..calfile import save_calibration

    t0 = time.perf_counter()
    st.ref = run_network(st.ctx, st.spec, keep=True)
    cal_dir = st.tmp / "calibration"
    cal_dir.mkdir()
    for i, lay in enumerate(st.ref.layers):
        save_calibration(cal_dir / f"layer{i + 1}.json", st.spec, lay["result"].calibrations)
    st.adc = adc_study(st.spec, st.ref, st.ctx)
    st.lin = linearity_study(st.spec, st.ctx)
    t_cost = time.perf_counter()
    st.cost = cost_study(st.spec, st.ref, st.ctx.n_cal, st.grid)
    st.timings["cost"] = round(time.perf_counter() - t_cost, 3)
    _step(2, f"calibration: reference chip {100 * st.ref.accuracy:.2f} %; "
             f"{len(st.adc)} ADC-input groups compared (uniform, Lloyd-Max, optimal; SR "
             "nominal, calibrated, interleaved); INL/DNL of "
             f"{st.lin[0]['adcs']} realised ADCs; "
             f"{st.cost['per_inference']['energy_per_inference_fj'] * 1e-6:.3g} nJ per "
             f"inference ({st.cost['per_inference']['adc']} ADC cost model)", t0, st.timings,
          "calibration")


def cost_study(spec, ref: NetworkRun, n_cal: int, grid: FlowGrid) -> dict:
    """Energy, area and latency per inference of the reference chip: the configured
    design, and every scheme at every resolution of the grid (:mod:`cimgen.netcost`)."""
    from ..netcost import network_cost, scheme_costs

    return {"per_inference": network_cost(spec, ref.layers, n_cal),
            "schemes": scheme_costs(spec, ref.layers, n_cal, SCHEMES, grid.bits, scheme_adc)}


def step_sweep(st: FlowState) -> None:
    """3. Accuracy of every scheme at every grid point on ``seeds`` chips."""
    t0 = time.perf_counter()
    grid = st.grid
    tasks = sweep_tasks(st.spec.to_dict(), grid)
    st.rows = run_tasks(st.ctx, tasks, st.workers, st.progress)
    main_rows = [r for r in st.rows if r["scheme"] in SCHEMES and r["trial"] < grid.seeds]
    st.summary = summarise(main_rows)
    st.claims = check_claims(st.summary, main_rows)
    st.design = sr_design_table(st.rows, grid) if grid.sr_design and 4 in grid.bits else None
    _step(3, f"accuracy sweep: {len(tasks)} network runs on golden macros "
             f"({st.workers} worker{'s' if st.workers > 1 else ''})", t0, st.timings, "sweep")


def step_hardware_done(st: FlowState, hw: Hardware) -> None:
    """4./5. Wait for the hardware thread and report it."""
    what = hw.waiting_for()
    if what:
        print(f"  waiting for {what}, running alongside since step 2 ...", flush=True)
    st.hw = hw.join()
    rtl_res, syn = st.hw["rtl"], st.hw["synth"]
    st.timings["rtl"] = round(st.hw["rtl_s"], 3)
    st.timings["synth"] = round(st.hw["synth_s"], 3)
    print(f"[4/6] RTL: {rtl_res['status']}"
          + (f", {rtl_res['mvms']} real MVMs, {rtl_res['mismatches']} mismatches"
             if "mvms" in rtl_res else "")
          + f" ({st.hw['rtl_s']:.1f} s, alongside the sweep)", flush=True)
    print(f"[5/6] synthesis: {syn['status']} ({st.hw['synth_s']:.1f} s)", flush=True)


def assemble_results(st: FlowState, config_path: str | None) -> dict:
    """``results.json`` (without figures and timings)."""
    spec, grid = st.spec, st.grid
    return {
        "format": RESULTS_FORMAT, "version": 1,
        "config": spec.to_dict(), "config_file": config_path,
        "mode": "quick" if not grid.sr_design else "full",
        "grid": {"bits": list(grid.bits), "variation_pct": list(grid.variation_pct),
                 "seeds": grid.seeds, "trial_seeds": [trial_seed(spec.device.seed, t)
                                                      for t in range(grid.seeds)]},
        "workload": st.workload.describe(st.ctx.n_cal, st.tiles),
        "schemes": {s: {"label": SCHEME_LABELS.get(s, s), "adc": scheme_adc(s, spec)}
                    for s in SCHEMES + (SR_DESIGNS if grid.sr_design else ())},
        "accuracy": {**st.baselines, "reference_chip": st.ref.row(),
                     "summary": st.summary, "runs": st.rows, "sr_design": st.design},
        "claims": st.claims,
        "adc_study": st.adc,
        "linearity": st.lin,
        "cost": st.cost,
        "rtl": st.hw["rtl"],
        "synth": st.hw["synth"],
    }


def step_report(st: FlowState, t_all: float, config_path: str | None) -> dict:
    """6. Figures, ``results.json`` and ``report.md``."""
    from .. import report

    t0 = time.perf_counter()
    results = assemble_results(st, config_path)
    figures = report.write_figures(results, st.tmp / "figures", workload=st.kind)
    results["figures"] = figures
    st.timings["report"] = round(time.perf_counter() - t0, 3)
    st.timings["total"] = round(time.perf_counter() - t_all, 3)
    results["timing_s"] = st.timings
    (st.tmp / "results.json").write_text(json.dumps(results, indent=1) + "\n",
                                         encoding="utf-8")
    (st.tmp / "report.md").write_text(report.markdown(results, workload=st.kind),
                                      encoding="utf-8")
    print(f"[6/6] report: {len(figures)} figures, report.md, results.json "
          f"({st.timings['report']:.1f} s)", flush=True)
    return results


def _kind(spec, workload) -> type[Workload]:
    if workload is None:
        return workloads.flow_workload(spec)
    return workloads.get(workload) if isinstance(workload, str) else workload


def run_flow(spec, out: Path, *, grid: FlowGrid, synth: bool = False, rtl: bool = True,
             workers: int = 1, simulator: str = "icarus", progress: bool = True,
             force: bool = False, config_path: str | None = None,
             workload: str | type[Workload] | None = None) -> dict:
    """Run every step into ``out``; returns the results (also in ``results.json``).

    ``workload`` (a registered name or a :class:`~cimgen.workloads.Workload` class)
    overrides the config's (:func:`cimgen.workloads.flow_workload`).

    Raises
    ------
    InputError
        A config the workload cannot run on (e.g. signed inputs), or a bad output
        directory.
    """
    kind = _kind(spec, workload)
    kind.check(spec)
    out = Path(out)
    check_out_dir(out, force)
    t_all = time.perf_counter()
    hw: Hardware | None = None

    def on_error(tmp: Path, _exc: BaseException) -> None:
        if hw is not None and hw.alive():
            hw.stop()
            shutil.rmtree(tmp, ignore_errors=True)
            if hw.alive():  # still in-process work (Yosys, Amaranth): once more after it
                hw.thread.join(timeout=1.0)

    with staged(out, force, check=check_out_dir, on_error=on_error) as tmp:
        st = FlowState(spec, grid, tmp, workers, progress, kind)
        step_workload(st)
        step_calibration(st)
        hw = Hardware(spec, st.ref, st.workload, tmp, grid, rtl=rtl, synth=synth,
                      simulator=simulator, config_path=config_path)
        hw.start()
        step_sweep(st)
        step_hardware_done(st, hw)
        results = step_report(st, t_all, config_path)
    return results
