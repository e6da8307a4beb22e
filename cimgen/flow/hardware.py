"""Steps 4 and 5: the periphery Verilog with the reference chip's LUTs, the cocotb check
on real MVMs and the FPGA report, in a thread that runs alongside the sweep."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from ..metrics import NetworkRun
from ..progress import stop_children
from ..workloads import Workload
from .grid import FlowGrid

__all__ = ["Hardware", "rtl_step", "run_rtl_check", "run_synth_report"]


def run_rtl_check(spec, calibration, match_vectors, expected, out_dir, *,
                  simulator: str = "icarus", verilog_dir) -> dict:
    """Run the cocotb periphery bench on real match vectors and compare with golden.

    Builds the generated Verilog in ``verilog_dir`` with :func:`sim.runner.build` and
    runs the top bench's ``test_macro_mvms`` (:func:`sim.runner.run_bench`: LUTs
    written through ``cfg_*``, then every match vector sent under random idle cycles
    and back-pressure, each result checked by the bench's golden model of what its
    input monitor saw) with a stimulus file holding these vectors and LUTs.
    ``expected`` is checked against the same golden path by the caller
    (:func:`run_flow`'s golden self-check), so a pass means RTL == golden macro, bit
    for bit. The compiled model is removed afterwards; the logs stay.

    Parameters
    ----------
    spec : MacroSpec
    calibration : golden.macro.MacroCalibration
        The LUTs the Verilog is generated with (and the bench writes).
    match_vectors : ndarray of bool, shape (mvms, input_bits, phys_cols, adcs, cells)
    expected : (ndarray, ndarray)
        Golden ``out`` (mvms, cols) int64 and ``flags`` (mvms,) uint8.
    out_dir : Path
        Where the simulator builds and runs (inside the flow's output).
    verilog_dir : Path
        The generated Verilog (``hdl.export.generate`` output) to build.

    Returns
    -------
    dict
        ``status`` (``"passed"``, ``"failed"`` or, only when the simulator is not
        installed, ``"skipped: <reason>"``), ``mvms`` (results the bench checked),
        ``mismatches``, the simulator and, on failure, the bench's report.

    Raises
    ------
    Exception
        Whatever else goes wrong (the caller reports it as a failed check).
    """
    from sim import runner
    from sim import stimulus as stim_mod

    out_dir = Path(out_dir)
    try:
        tool = runner.find_simulator(simulator)
    except runner.SimulatorMissing as e:
        return {"status": f"skipped: {e}"}
    vdir = Path(verilog_dir)
    manifest = json.loads((vdir / "manifest.json").read_text())
    k = int(match_vectors.shape[0])
    stim = stim_mod.make_stimulus(spec, seed=0, mvms=2)
    stim["macro_match"] = np.asarray(match_vectors, dtype=bool)
    stim["macro_lut"] = calibration.lut_fixed(spec)
    run_dir = (out_dir / "run").resolve()
    path = stim_mod.save(stim, run_dir / f"stimulus-flow-mvms{k}.npz")
    sources = [vdir / manifest["files"]["verilog"]]
    if tool.name == "verilator":
        sources.append(vdir / manifest["files"]["verilator_config"])
    bdir = (out_dir / f"build-{tool.name}").resolve()
    try:
        try:
            runner.build(tool, sources, manifest["top"], bdir)
        except runner.BuildFailed as e:
            return {"status": "failed", "mvms": 0, "mismatches": 0, "simulator": tool.label,
                    "report": str(e)[:4000]}
        plan = {"manifest": str((vdir / "manifest.json").resolve()),
                "stimulus": str(path.resolve()), "seed": 0, "mvms": k}
        res = runner.run_bench(tool, name="top", toplevel=manifest["top"],
                               module=runner.TOP_BENCH, build_dir=bdir, run_dir=run_dir,
                               plan=plan, tests=["test_macro_mvms"])
    finally:
        runner.remove_build(bdir)
    mism = int(res.mismatches)
    return {"status": "passed" if res.passed and mism == 0 else "failed",
            "mvms": int(res.transactions), "mismatches": mism, "simulator": tool.label,
            "sim_wall_s": round(float(res.wall), 3),
            "report": res.report() if not res.passed else ""}


def run_synth_report(spec, out_dir, *, calibration=None, config_file=None) -> dict:
    """Report-only FPGA synthesis of the periphery for ``[fpga] board`` into ``out_dir``.

    Calls :func:`synth.flow.synthesize` (Yosys and nextpnr from YoWASP; no bitstream).
    Returns its report (``report.json``: resources, Fmax per clock, target met) with a
    ``status``; a missing toolchain or an unknown board gives ``skipped: <reason>``, a
    failing tool ``failed: <reason>``.
    """
    try:
        from synth.boards import get_board
        from synth.flow import SynthOptions, synthesize
        from synth.tools import ToolError, ToolMissing
    except ImportError as e:
        return {"status": f"skipped: the synth package cannot be imported ({e})"}
    try:
        board = get_board(spec.fpga.board)
    except KeyError as e:
        return {"status": f"skipped: fpga.board: {e.args[0]}"}
    opts = SynthOptions(board=board, report_only=True, calibration=calibration)
    try:
        rep = synthesize(spec, opts, out_dir, config_file=config_file)
    except ToolMissing as e:
        return {"status": f"skipped: toolchain: {e}"}
    except ToolError as e:
        return {"status": f"failed: {e.tool} exit code {e.code}", "log_tail": str(e.tail)[-4000:]}
    rep = dict(rep)
    # The rule of ``cimgen synth``: not fitting the board, or missing the target
    # clock, is a failed check (the flow exits 1, with its report written).
    if not rep.get("fits", True):
        over = ", ".join(f"{k} {v['used']}/{v['available']}"
                         for k, v in rep.get("over_capacity", {}).items())
        rep["status"] = f"failed: does not fit {board.device}" + (f" ({over})" if over else "")
    else:
        clocks = rep.get("timing", {}).get("clocks", [])
        fmax = ", ".join(f"{c['fmax_mhz']:.1f} MHz (target {c['target_mhz']:g})"
                         for c in clocks)
        met = rep.get("timing", {}).get("met")
        rep["status"] = ("done" if met else "failed") + \
            f": {board.name} ({board.device}), Fmax {fmax}, timing " + \
            ("met" if met else "NOT met")
    return rep



def rtl_step(spec, ref: NetworkRun, workload: Workload, tmp: Path, grid: FlowGrid,
             rtl: bool, simulator: str, stopping: threading.Event | None = None) -> dict:
    """Layer 1, tile (0, 0) of the reference chip: the golden self-check on the first
    ``grid.rtl_mvms`` inputs of the workload, the Verilog with its LUTs, the match
    vectors, and (``rtl``) the cocotb check."""
    from golden.digital import digital_path

    from ..tiling import input_tile
    from ..workloads import row_ids

    lay = ref.layers[0]["result"]
    mac = lay.macros[(0, 0)]
    cal = lay.calibrations[(0, 0)]
    raw, ids = workload.all_inputs()
    k = min(grid.rtl_mvms, raw.shape[0])
    rows = workload.quantize_input(raw[:k])  # k samples: k MVMs, or a Conv's k x pixels
    rids = row_ids(ids[:k], rows.shape[0] // k)[:k]
    xt = input_tile(rows[:k], 0, spec)
    match = mac.match_vectors(xt, vector_ids=rids)
    gold = mac.run(xt, vector_ids=rids)
    # The golden digital path from the match vectors must equal the fast golden macro.
    out, flags = digital_path(match, cal.lut_fixed(spec), spec)
    self_check = {"mvms": k, "out_mismatches": int(np.count_nonzero(np.any(out != gold.out,
                                                                               axis=1))),
                  "flag_mismatches": int(np.count_nonzero(flags != gold.flags)),
                  "flagged_mvms": int(np.count_nonzero(gold.flags))}
    res: dict = {"tile": {"layer": 1, "row": 0, "col": 0}, "golden_self_check": self_check}
    try:
        from hdl.export import generate

        exp = generate(spec, cal, tmp / "verilog",
                       source={"source": "cimgen flow", "layer": 1, "tile": [0, 0]})
        res["verilog"] = {"dir": "verilog", "files": list(exp.files),
                          "latency": exp.manifest.get("latency")}
    except Exception as e:  # reported; a failed check, the RTL check cannot run
        res["verilog"] = {"error": f"{type(e).__name__}: {e}"}
        res["status"] = f"failed: Verilog generation ({type(e).__name__}: {e})"
        return res
    np.savez_compressed(tmp / "verilog" / f"mvms_layer1_tile0-0_{k}.npz", match=match,
                        out=gold.out, flags=gold.flags, lut=cal.lut_fixed(spec))
    if not rtl:
        res["status"] = "skipped: --no-rtl"
        return res
    if stopping is not None and stopping.is_set():  # the flow is being interrupted
        res["status"] = "failed: interrupted"
        return res
    try:
        res.update(run_rtl_check(spec, cal, match, (gold.out, gold.flags), tmp / "rtl",
                                 simulator=simulator, verilog_dir=tmp / "verilog"))
    except Exception as e:  # a failed check (exit 1), reported with its traceback
        import traceback

        res.update({"status": f"failed: {type(e).__name__}: {e}",
                    "report": traceback.format_exc()[-4000:]})
    return res


class Hardware:
    """Steps 4 and 5 in a background thread, so the simulator and the tools run
    alongside the sweep: :meth:`start`, then :meth:`join` (re-raises what failed), or
    :meth:`stop` when the flow is interrupted."""

    def __init__(self, spec, ref: NetworkRun, workload: Workload, tmp: Path, grid: FlowGrid,
                 *, rtl: bool, synth: bool, simulator: str, config_path: str | None):
        self.spec, self.ref, self.workload, self.tmp, self.grid = spec, ref, workload, tmp, grid
        self.rtl, self.synth, self.simulator, self.config_path = rtl, synth, simulator, \
            config_path
        self.results: dict = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._work, name="cimgen-flow-hardware",
                                       daemon=True)

    def _work(self) -> None:
        hw = self.results
        try:
            t = time.perf_counter()
            hw["rtl"] = rtl_step(self.spec, self.ref, self.workload, self.tmp, self.grid,
                                 self.rtl, self.simulator, self.stopping)
            hw["rtl_s"] = time.perf_counter() - t
            t = time.perf_counter()
            if self.stopping.is_set():
                return
            if self.synth:
                hw["synth"] = run_synth_report(
                    self.spec, self.tmp / "synth",
                    calibration=self.ref.layers[0]["result"].calibrations[(0, 0)],
                    config_file=Path(self.config_path).name if self.config_path else None)
            else:
                hw["synth"] = {"status": "skipped: not requested (--synth)"}
            hw["synth_s"] = time.perf_counter() - t
        except BaseException as e:  # re-raised in the main thread
            hw["error"] = e

    def start(self) -> None:
        self.thread.start()

    def waiting_for(self) -> str | None:
        """What the flow still waits for (``None`` when the thread is done)."""
        if not self.thread.is_alive():
            return None
        what = [f"the RTL check ({self.grid.rtl_mvms} MVMs in {self.simulator})" if self.rtl
                else "the Verilog generation"] + (["synthesis"] if self.synth else [])
        return " and ".join(what)

    def join(self) -> dict:
        """Wait for the thread; its results (``rtl``, ``synth`` and their times)."""
        self.thread.join()
        if "error" in self.results:
            raise self.results["error"]
        return self.results

    def stop(self) -> None:
        """Interrupted (or failed) while the RTL check runs: stop its simulator and let
        the thread end before its files are removed."""
        if self.thread.is_alive():
            self.stopping.set()
            stop_children()
            self.thread.join(timeout=1.0)

    def alive(self) -> bool:
        return self.thread.is_alive()
