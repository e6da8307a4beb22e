"""``cimgen flow``: the main job, from a real network to verified Verilog, with a report.

Steps (each prints a line with its wall time; long ones show a progress bar):

1. **Workload** (:mod:`cimgen.workload`): the digits MLP, trained with a fixed seed and
   quantised to the config's weight and input bits; each layer tiled over macros of
   the configured size (:mod:`cimgen.tiling`).
2. **ADC inputs and calibration**: the *reference chip* (the config as it is, seed
   ``device.seed``) runs the calibration images; per layer and LUT group the ADC inputs
   are pooled and calibrated with the uniform, Lloyd-Max and optimal quantisers and
   with SR nominal / calibrated / interleaved (:func:`golden.adc.calibrate_adc`, MSE at
   0 % and at 2 % bound variation). Calibrations of every tile are saved for
   ``cimgen program`` / ``cimgen verilog``; the INL/DNL of the realised ADCs measured
   with a ramp.
3. **Accuracy sweep**: held-out test accuracy of the whole network on golden macros for
   each scheme (uniform ADC, adaptive ADC, adaptive + SR) at every ADC resolution and
   bound variation of the grid, on several chips (seeds); each layer is calibrated on
   the chip itself with the calibration images passing through the chip's own earlier
   layers. Tasks are independent and seeded by (device.seed, trial) only, so the
   numbers do not depend on the number of worker processes.
4. **RTL**: the periphery Verilog of the configured macro with the reference chip's
   calibrated LUTs (layer 1, tile 0,0), and the cocotb bench run on the match vectors
   of that tile's real MVMs, compared with golden bit for bit.
5. **Synthesis** (``--synth``): the FPGA resource and timing report.
6. **Report**: ``report.md``, ``results.json``, PNG figures.

Everything is written into a temporary directory beside ``DIR`` and renamed into place
at the end; an existing non-empty ``DIR`` is replaced only with ``--force``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from golden.outdir import publish_dir

from .config import load_config
from .dataio import check_out_dir
from .errors import CheckFailed, InputError
from .progress import Progress, stop_children

__all__ = ["FlowGrid", "add_parser", "run", "run_flow", "run_rtl_check", "run_synth_report"]

RESULTS_FORMAT = "cimgen-flow-results"
ARRAY_STRIDE = 1000
"""Layer ``l``'s tiles get ``array_id = l * ARRAY_STRIDE + tile``."""

SR_VARIATION_PCT = 2.0
"""Bound variation of the SR-recovery claim (and of the second MSE column)."""

SCHEMES = ("uniform", "adaptive", "adaptive+sr")
SCHEME_LABELS = {"uniform": "uniform ADC", "adaptive": "adaptive ADC",
                 "adaptive+sr": "adaptive + SR"}
SR_DESIGNS = ("sr-nominal", "sr-calibrated", "sr-interleaved", "sr-calibrated-per-column",
              "sr-calibrated-threshold-per-column")


@dataclass(frozen=True)
class FlowGrid:
    """What one flow run sweeps.

    Attributes
    ----------
    bits : tuple of int
        ADC resolutions of the accuracy table.
    variation_pct : tuple of float
        ``device.bound_variation_pct`` values.
    seeds : int
        Chips (trials) per grid point.
    n_cal : int
        Calibration images (from the training split).
    sr_design : bool
        Also measure the SR design alternatives at 4 bits (why the SR column is what it
        is).
    design_seeds : int
        Chips of the SR design table (0: ``seeds``).
    rtl_mvms : int
        Real MVMs checked on the RTL.
    """

    bits: tuple[int, ...]
    variation_pct: tuple[float, ...]
    seeds: int
    n_cal: int
    sr_design: bool
    rtl_mvms: int
    design_seeds: int = 0

    @classmethod
    def quick(cls) -> FlowGrid:
        return cls((3, 4), (0.0, 2.0), 6, 256, False, 200)

    @classmethod
    def full(cls) -> FlowGrid:
        return cls((3, 4, 5, 6), (0.0, 1.0, 2.0, 3.0), 6, 256, True, 1000)


def adaptive_method(spec) -> str:
    """The adaptive quantiser: the config's ``adc.method`` unless that is uniform."""
    return spec.adc.method if spec.adc.method != "uniform" else "lloyd-max"


def scheme_adc(scheme: str, spec) -> dict:
    """``[adc]`` overrides of a scheme (on top of the config).

    ``adaptive+sr`` is interleaved SR (ADC B's thresholds placed between ADC A's, so
    the pair is one ``2**(N+1) - 1``-level quantiser by design) on threshold Q-cells,
    with one LUT per physical column: the golden macro fits the SR table to the
    chip's own realised Q-cells, and a table can only undo a column's own variation if
    the column has its own table; with the ones-counter ``a + b`` is the exact count
    of both ADCs' realised thresholds below the input, so each entry is the centroid
    of one realised cell. The ``sr-*`` schemes are the alternatives of the SR design
    table (full flow) that this choice was measured against.
    """
    ad = adaptive_method(spec)
    return {
        "uniform": {"method": "uniform", "sr": "none"},
        "adaptive": {"method": ad, "sr": "none"},
        "adaptive+sr": {"method": ad, "sr": "interleaved", "encoding": "threshold",
                        "lut_scope": "per_column"},
        "sr-nominal": {"method": ad, "sr": "nominal"},
        "sr-calibrated": {"method": ad, "sr": "calibrated"},
        "sr-interleaved": {"method": ad, "sr": "interleaved"},
        "sr-calibrated-per-column": {"method": ad, "sr": "calibrated",
                                     "lut_scope": "per_column"},
        "sr-calibrated-threshold-per-column": {
            "method": ad, "sr": "calibrated", "encoding": "threshold",
            "lut_scope": "per_column"},
    }[scheme]


def trial_seed(base: int, trial: int) -> int:
    """Device seed of chip ``trial``: a function of (device.seed, trial) only, so every
    scheme, resolution and variation of one trial is measured on the same chip draws."""
    return int(np.random.SeedSequence([int(base), int(trial)]).generate_state(1, np.uint64)[0]
               >> np.uint64(1))


# -- the network on golden macros -------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Context:
    """Everything a task needs (sent once to each worker process)."""

    net: object  # workload.QuantNet
    pixels: np.ndarray  # calibration images then test images
    ids: np.ndarray
    y_test: np.ndarray
    n_cal: int


_CTX: _Context | None = None


def _init_worker(ctx: _Context, worker: bool = False) -> None:
    global _CTX
    _CTX = ctx
    if worker:  # Ctrl-C reaches the whole process group: the main process stops us
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_network(ctx: _Context, spec, *, keep: bool = False) -> dict:
    """The network on golden macros of ``spec``: every layer calibrated on the chip.

    Returns the test accuracy, the fraction of test images with any decoder/SR flag,
    each layer's RMS output error against the exact integer product (in % of the
    layer's largest exact output) and, with ``keep``, the per-layer tiled results
    and inputs.
    """
    from .tiling import run_tiled

    net, n = ctx.net, ctx.n_cal
    x = net.quantize_input(ctx.pixels)
    flags = np.zeros(x.shape[0] - n, dtype=bool)
    rms, layers = [], []
    act = None
    for layer in range(net.n_layers):
        w = net.weights[layer]
        res = run_tiled(spec, w, x, calibrate_on=x[:n], vector_ids=ctx.ids,
                        calibrate_ids=ctx.ids[:n], array_id_base=layer * ARRAY_STRIDE,
                        keep=keep)
        exact = (x[n:] @ w).astype(np.float64)
        err = res.values[n:] - exact
        rms.append(float(100.0 * np.sqrt(np.mean(err**2)) / max(np.abs(exact).max(), 1.0)))
        flags |= res.flags[n:] != 0
        if keep:
            layers.append({"result": res, "x": x})
        act = net.requantize(layer, res.values)
        if layer < net.n_layers - 1:
            x = net.to_next(layer, act)
    acc = float(np.mean(np.argmax(act[n:], axis=1) == ctx.y_test))
    out = {"accuracy": acc, "flagged": float(np.mean(flags)), "layer_rms_error_pct": rms}
    if keep:
        out["layers"] = layers
    return out


def _task(spec_dict: dict, scheme: str, bits: int, variation: float, trial: int) -> dict:
    from golden.spec import MacroSpec

    base = MacroSpec.from_dict(spec_dict)
    adc = {"bits": bits, **scheme_adc(scheme, base)}
    spec = base.replace(adc=adc, device={"bound_variation_pct": variation,
                                         "seed": trial_seed(base.device.seed, trial)})
    r = run_network(_CTX, spec)
    return {"scheme": scheme, "bits": bits, "variation_pct": variation, "trial": trial,
            "seed": spec.device.seed, **r}


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _run_tasks(ctx: _Context, tasks: list[tuple], workers: int, progress: bool) -> list[dict]:
    bar = Progress("accuracy sweep", len(tasks), progress)
    rows = []
    try:
        if workers <= 1 or len(tasks) <= 1:
            _init_worker(ctx)
            for t in tasks:
                rows.append(_task(*t))
                bar.update()
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed
            from unittest import mock

            # One BLAS thread per worker (set while they spawn): the workers already use
            # every core.
            with mock.patch.dict(os.environ, dict.fromkeys(_BLAS_THREADS, "1")):
                pool = ProcessPoolExecutor(max_workers=workers,
                                           mp_context=mp.get_context("spawn"),
                                           initializer=_init_worker, initargs=(ctx, True))
            try:
                futs = [pool.submit(_task, *t) for t in tasks]
                for f in as_completed(futs):
                    rows.append(f.result())
                    bar.update()
            except BaseException:
                # Interrupted or failed: stop the workers now instead of letting the
                # pool finish every queued task first.
                for proc in list((pool._processes or {}).values()):
                    proc.terminate()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
    finally:
        bar.close()
    order = {s: i for i, s in enumerate(SCHEMES + SR_DESIGNS)}
    return sorted(rows, key=lambda r: (order.get(r["scheme"], len(order)), r["scheme"],
                                       r["bits"], r["variation_pct"], r["trial"]))


def summarise(rows: list[dict]) -> list[dict]:
    """Mean, standard deviation and standard error of the accuracy per grid point."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["scheme"], r["bits"], r["variation_pct"]), []).append(r)
    out = []
    for (scheme, bits, var), rs in groups.items():
        acc = np.array([r["accuracy"] for r in rs])
        out.append({
            "scheme": scheme, "bits": bits, "variation_pct": var, "n": len(rs),
            "accuracy_mean": float(acc.mean()),
            "accuracy_std": float(acc.std(ddof=1)) if acc.size > 1 else 0.0,
            "accuracy_sem": float(acc.std(ddof=1) / np.sqrt(acc.size)) if acc.size > 1 else 0.0,
            "flagged_mean": float(np.mean([r["flagged"] for r in rs])),
            "layer_rms_error_pct_mean": np.mean([r["layer_rms_error_pct"] for r in rs],
                                                axis=0).tolist(),
        })
    return out


def sr_design_table(rows: list[dict], grid: FlowGrid, bits: int = 4) -> dict:
    """The SR design alternatives at ``bits`` on ``design_seeds`` chips: accuracy at 0 %
    and :data:`SR_VARIATION_PCT`, and the fraction of the single adaptive ADC's loss
    each recovers (with the standard error of the mean gain, in points)."""
    nd = grid.design_seeds or grid.seeds
    v = SR_VARIATION_PCT
    names = ("adaptive", *SR_DESIGNS, "adaptive+sr")
    sel = [r for r in rows if r["bits"] == bits and r["scheme"] in names and r["trial"] < nd
           and r["variation_pct"] in (0.0, v)]
    acc = {(r["scheme"], r["variation_pct"], r["trial"]): r["accuracy"] for r in sel}
    trials = range(nd)
    cost = np.array([acc[("adaptive", 0.0, t)] - acc[("adaptive", v, t)] for t in trials])
    out = {"bits": bits, "variation_pct": v, "seeds": nd, "cost": float(cost.mean()),
           "summary": summarise(sel), "recovery": {}}
    for s in names[1:]:
        gain = np.array([acc[(s, v, t)] - acc[("adaptive", v, t)] for t in trials])
        out["recovery"][s] = {
            "gain": float(gain.mean()),
            "gain_sem": float(gain.std(ddof=1) / np.sqrt(nd)) if nd > 1 else 0.0,
            "fraction": float(gain.mean() / cost.mean()) if cost.mean() > 0 else None,
        }
    return out


def _mean(summary: list[dict], scheme: str, bits: int, var: float) -> float | None:
    for s in summary:
        if s["scheme"] == scheme and s["bits"] == bits and s["variation_pct"] == var:
            return s["accuracy_mean"]
    return None


def check_claims(summary: list[dict], rows: list[dict]) -> dict:
    """The issue's claims, each with the numbers it rests on and whether it holds."""
    claims: dict = {}
    ge = {}
    for b in (3, 4):
        u, a = _mean(summary, "uniform", b, 0.0), _mean(summary, "adaptive", b, 0.0)
        if u is not None and a is not None:
            ge[str(b)] = {"uniform": u, "adaptive": a, "holds": bool(a >= u)}
    claims["adaptive_ge_uniform"] = {
        "statement": "adaptive ADC accuracy >= uniform ADC accuracy at 3 and 4 bits "
                     "(0 % bound variation, mean over chips)",
        "per_bits": ge,
        "holds": bool(ge) and all(v["holds"] for v in ge.values()),
        "evaluated": len(ge) == 2,
    }
    b, v = 4, SR_VARIATION_PCT
    a0 = _mean(summary, "adaptive", b, 0.0)
    av = _mean(summary, "adaptive", b, v)
    sv = _mean(summary, "adaptive+sr", b, v)
    sr: dict = {"statement": f"adaptive + SR recovers at least half of the accuracy that "
                             f"{v:g} % bound variation costs a single adaptive ADC at {b} bits",
                "evaluated": None not in (a0, av, sv)}
    if sr["evaluated"]:
        cost, rec = a0 - av, sv - av
        per_trial = []
        trials = sorted({r["trial"] for r in rows if r["scheme"] == "adaptive"})
        for t in trials:
            def acc(s, var, t=t):
                return next(r["accuracy"] for r in rows if r["scheme"] == s and r["bits"] == b
                            and r["variation_pct"] == var and r["trial"] == t)
            per_trial.append({"trial": t, "cost": acc("adaptive", 0.0) - acc("adaptive", v),
                              "recovered": acc("adaptive+sr", v) - acc("adaptive", v)})
        sr.update({"adaptive_0pct": a0, f"adaptive_{v:g}pct": av, f"sr_{v:g}pct": sv,
                   "cost": cost, "recovered": rec,
                   "fraction": rec / cost if cost > 0 else None,
                   "holds": bool(rec >= cost / 2.0), "per_trial": per_trial})
    else:
        sr["holds"] = False
    claims["sr_recovers_half"] = sr
    return claims


# -- step 2: ADC inputs, quantiser comparison, linearity --------------------------------


def _group_samples(spec, macros: dict, x_cal: np.ndarray, ids: np.ndarray) -> list[np.ndarray]:
    from golden import digital

    from .tiling import input_tile

    li = digital.lut_index(spec)
    pooled: list[list[np.ndarray]] = [[] for _ in range(digital.n_luts(spec))]
    for (r, _c), mac in sorted(macros.items()):
        sig = mac.crossbar.column_signals(input_tile(x_cal, r, spec), vector_ids=ids)
        for g in range(len(pooled)):
            pooled[g].append(sig[..., li == g].ravel())
    return [np.concatenate(p) for p in pooled]


def adc_study(spec, ref: dict, ctx: _Context, *, hist_bins: int = 60) -> list[dict]:
    """Per layer and LUT group of the reference chip: the ADC-input histogram and the
    MSE of every quantiser and SR mode at 0 % and at :data:`SR_VARIATION_PCT`."""
    from golden.adc import METHODS, calibrate_adc

    out = []
    ad = adaptive_method(spec)
    bits = spec.adc.bits
    for layer, lay in enumerate(ref["layers"]):
        samples = _group_samples(spec, lay["result"].macros, lay["x"][:ctx.n_cal],
                                 ctx.ids[:ctx.n_cal])
        for g, s in enumerate(samples):
            fs = (float(s.min()) - 0.5, float(s.max()) + 0.5)
            entry = {"layer": layer + 1, "group": g, "samples": int(s.size),
                     "full_scale": list(fs), "mse": {}, "sr_mse": {}}
            for var in (0.0, SR_VARIATION_PCT):
                rng = np.random.default_rng([spec.device.seed, layer, g, int(var * 1000)])
                res = calibrate_adc(s, bits, methods=METHODS, encoding=spec.adc.encoding,
                                    variation_pct=var, rng=rng, full_scale=fs)
                entry["mse"][f"{var:g}"] = {m: (r.mse if var == 0 else r.realised_mse)
                                            for m, r in res.items()}
                if var == 0:
                    entry["boundaries"] = {m: r.quantizer.boundaries.tolist()
                                           for m, r in res.items()}
                    entry["mse_rel_uniform"] = {m: r.mse_rel_uniform for m, r in res.items()}
                entry["sr_mse"][f"{var:g}"] = {}
                for mode in ("nominal", "calibrated", "interleaved"):
                    rs = calibrate_adc(s, bits, methods=(ad,), sr_mode=mode,
                                       encoding=spec.adc.encoding, variation_pct=var,
                                       rng=rng, full_scale=fs)
                    entry["sr_mse"][f"{var:g}"][mode] = rs[ad].sr.mse
            if fs[1] - fs[0] <= 4 * hist_bins:  # one bin per integer partial sum
                edges = np.arange(np.floor(fs[0]) - 0.5, np.ceil(fs[1]) + 1.0)
            else:
                edges = np.linspace(fs[0], fs[1], 2 * hist_bins + 1)
            counts, edges = np.histogram(s, bins=edges)
            entry["histogram"] = {"counts": counts.tolist(), "edges": edges.tolist()}
            out.append(entry)
    return out


def linearity_study(spec, ctx: _Context, variations=(0.0, SR_VARIATION_PCT),
                    ramp_points: int = 8192) -> list[dict]:
    """INL/DNL per code of the realised ADCs of layer 1, tile (0, 0), measured with a
    ramp through the periphery's decoder, at each bound variation (config otherwise)."""
    from golden import digital, linearity
    from golden.macro import Macro

    from .tiling import input_tile, weight_tile

    net, n = ctx.net, ctx.n_cal
    x = input_tile(net.quantize_input(ctx.pixels[:n]), 0, spec)
    out = []
    for var in variations:
        sp = spec.replace(device={"bound_variation_pct": var})
        mac = Macro(sp, weight_tile(net.weights[0], 0, 0, sp), array_id=0)
        cal = mac.calibrate(x, vector_ids=ctx.ids[:n])
        bank = mac._banks  # the realised Q-cells, shape (phys_cols, adcs)
        li = digital.lut_index(sp)
        inl_all, dnl_all = [], []
        for p in range(sp.macro.phys_cols):
            g = li[p]
            lo, hi = cal.full_scale[g]
            ramp = np.linspace(lo, hi, ramp_points)
            for a in range(sp.adc.adcs_per_column):
                sub = _sub_bank(bank, p, a)
                t = linearity.measure_transitions(sub, ramp=ramp)
                inl, dnl = linearity.inl_dnl(t, reference="ideal", nominal=cal.boundaries[g, a])
                inl_all.append(inl)
                dnl_all.append(dnl)
        inl_a, dnl_a = np.array(inl_all), np.array(dnl_all)
        out.append({
            "variation_pct": var, "adcs": int(inl_a.shape[0]),
            "inl": inl_a.tolist(), "dnl": dnl_a.tolist(),
            "rms_inl": float(np.sqrt(np.nanmean(inl_a**2))),
            "rms_dnl": float(np.sqrt(np.nanmean(dnl_a**2))),
            "max_abs_inl": float(np.nanmax(np.abs(inl_a))),
            "max_abs_dnl": float(np.nanmax(np.abs(dnl_a))),
        })
    return out


def _sub_bank(bank, p: int, a: int):
    from golden.qcell import QCellBank

    if bank.encoding == "window":
        return QCellBank("window", lower=bank.lower[p, a], upper=bank.upper[p, a])
    return QCellBank("threshold", thresholds=bank.thresholds[p, a])


# -- steps 4 and 5 ----------------------------------------------------------------------


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


# -- output directory -------------------------------------------------------------------


# -- the flow ---------------------------------------------------------------------------


def _step(n: int, text: str, t0: float, timings: dict, key: str) -> None:
    dt = time.perf_counter() - t0
    timings[key] = round(dt, 3)
    print(f"[{n}/6] {text} ({dt:.1f} s)", flush=True)


def run_flow(spec, out: Path, *, grid: FlowGrid, synth: bool = False, rtl: bool = True,
             workers: int = 1, simulator: str = "icarus", progress: bool = True,
             force: bool = False, config_path: str | None = None) -> dict:
    """Run every step into ``out``; returns the results (also in ``results.json``).

    Raises
    ------
    InputError
        A config the network cannot run on (signed inputs), or a bad output directory.
    CheckFailed
        The RTL disagreed with golden (after the outputs are written).
    """
    from . import report, workload
    from .calfile import save_calibration
    from .tiling import tile_grid

    if spec.macro.input_signed:
        raise InputError("macro.input_signed = true: the digit network's inputs (pixels and "
                         "ReLU activations) are unsigned; allowed: false")
    check_out_dir(out, force)
    t_all = time.perf_counter()
    timings: dict = {}
    parent = out.parent if str(out.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    worker = stopping = None
    try:
        # 1. workload
        t0 = time.perf_counter()
        digits = workload.load_digits()
        fnet = workload.train_mlp(digits)
        net = workload.quantize_net(fnet, digits, spec)
        n_cal = min(grid.n_cal, digits.x_train.shape[0])
        ctx = _Context(net, np.concatenate([digits.x_train[:n_cal], digits.x_test]),
                       np.concatenate([digits.id_train[:n_cal], digits.id_test]),
                       digits.y_test, n_cal)
        acc_float = float(np.mean(fnet.predict(digits.x_test) == digits.y_test))
        acc_int = float(np.mean(net.predict(digits.x_test) == digits.y_test))
        tiles = [tile_grid(w.shape, spec) for w in net.weights]
        np.savez(tmp / "network.npz", **{f"w{i + 1}": w for i, w in enumerate(net.weights)},
                 **{f"b{i + 1}": b for i, b in enumerate(net.biases)},
                 w_scales=np.array(net.w_scales), in_scales=np.array(net.in_scales))
        shapes = " -> ".join([str(w.shape[0]) for w in net.weights]
                             + [str(net.weights[-1].shape[1])])
        _step(1, f"workload: digits MLP {shapes}, {digits.x_train.shape[0]} training / "
                 f"{digits.x_test.shape[0]} test images; float {100 * acc_float:.2f} %, "
                 f"integer {100 * acc_int:.2f} %; tiles per layer "
                 + ", ".join(f"{a}x{b}" for a, b in tiles), t0, timings, "workload")

        # 2. reference chip: calibration, ADC inputs, quantiser comparison, linearity
        t0 = time.perf_counter()
        ref = run_network(ctx, spec, keep=True)
        cal_dir = tmp / "calibration"
        cal_dir.mkdir()
        for i, lay in enumerate(ref["layers"]):
            save_calibration(cal_dir / f"layer{i + 1}.json", spec, lay["result"].calibrations)
        adc = adc_study(spec, ref, ctx)
        lin = linearity_study(spec, ctx)
        _step(2, f"calibration: reference chip {100 * ref['accuracy']:.2f} %; "
                 f"{len(adc)} ADC-input groups compared (uniform, Lloyd-Max, optimal; SR "
                 "nominal, calibrated, interleaved); INL/DNL of "
                 f"{lin[0]['adcs']} realised ADCs", t0, timings, "calibration")

        # 4./5. hardware: Verilog + RTL check (+ synthesis) in a background thread, so
        # the simulator and the tools run alongside the sweep
        hw: dict = {}
        stopping = threading.Event()

        def hardware() -> None:
            try:
                t = time.perf_counter()
                hw["rtl"] = _rtl_step(spec, ref, digits, net, tmp, grid, rtl, simulator,
                                      stopping)
                hw["rtl_s"] = time.perf_counter() - t
                t = time.perf_counter()
                if stopping.is_set():
                    return
                if synth:
                    hw["synth"] = run_synth_report(
                        spec, tmp / "synth",
                        calibration=ref["layers"][0]["result"].calibrations[(0, 0)],
                        config_file=Path(config_path).name if config_path else None)
                else:
                    hw["synth"] = {"status": "skipped: not requested (--synth)"}
                hw["synth_s"] = time.perf_counter() - t
            except BaseException as e:  # re-raised in the main thread
                hw["error"] = e

        worker = threading.Thread(target=hardware, name="cimgen-flow-hardware", daemon=True)
        worker.start()

        # 3. accuracy sweep
        t0 = time.perf_counter()
        sd = spec.to_dict()
        tasks = [(sd, s, b, v, t) for s in SCHEMES for b in grid.bits
                 for v in grid.variation_pct for t in range(grid.seeds)]
        if grid.sr_design and 4 in grid.bits:
            nd = grid.design_seeds or grid.seeds
            tasks += [(sd, s, 4, v, t) for s in SR_DESIGNS for v in (0.0, SR_VARIATION_PCT)
                      if v in grid.variation_pct for t in range(nd)]
            tasks += [(sd, s, 4, v, t) for s in ("adaptive", "adaptive+sr")
                      for v in (0.0, SR_VARIATION_PCT) if v in grid.variation_pct
                      for t in range(grid.seeds, nd)]
        rows = _run_tasks(ctx, tasks, workers, progress)
        main_rows = [r for r in rows if r["scheme"] in SCHEMES and r["trial"] < grid.seeds]
        summary = summarise(main_rows)
        claims = check_claims(summary, main_rows)
        design = sr_design_table(rows, grid) if grid.sr_design and 4 in grid.bits else None
        _step(3, f"accuracy sweep: {len(tasks)} network runs on golden macros "
                 f"({workers} worker{'s' if workers > 1 else ''})", t0, timings, "sweep")

        if worker.is_alive():
            what = [f"the RTL check ({grid.rtl_mvms} MVMs in {simulator})" if rtl
                    else "the Verilog generation"] + (["synthesis"] if synth else [])
            print(f"  waiting for {' and '.join(what)}, running alongside since step 2 ...",
                  flush=True)
        worker.join()
        if "error" in hw:
            raise hw["error"]
        rtl_res, syn = hw["rtl"], hw["synth"]
        timings["rtl"] = round(hw["rtl_s"], 3)
        timings["synth"] = round(hw["synth_s"], 3)
        print(f"[4/6] RTL: {rtl_res['status']}"
              + (f", {rtl_res['mvms']} real MVMs, {rtl_res['mismatches']} mismatches"
                 if "mvms" in rtl_res else "")
              + f" ({hw['rtl_s']:.1f} s, alongside the sweep)", flush=True)
        print(f"[5/6] synthesis: {syn['status']} ({hw['synth_s']:.1f} s)", flush=True)

        # 6. report
        t0 = time.perf_counter()
        results = {
            "format": RESULTS_FORMAT, "version": 1,
            "config": spec.to_dict(), "config_file": config_path,
            "mode": "quick" if not grid.sr_design else "full",
            "grid": {"bits": list(grid.bits), "variation_pct": list(grid.variation_pct),
                     "seeds": grid.seeds, "trial_seeds": [trial_seed(spec.device.seed, t)
                                                          for t in range(grid.seeds)]},
            "workload": {
                "dataset": "scikit-learn load_digits (8x8, pixels 0..16)",
                "n_train": int(digits.x_train.shape[0]), "n_test": int(digits.x_test.shape[0]),
                "n_cal": n_cal, "layers": [list(w.shape) for w in net.weights],
                "tiles": [list(t) for t in tiles], "seed": workload.WORKLOAD_SEED,
                "w_scales": list(net.w_scales), "in_scales": list(net.in_scales),
            },
            "schemes": {s: {"label": SCHEME_LABELS.get(s, s), "adc": scheme_adc(s, spec)}
                        for s in SCHEMES + (SR_DESIGNS if grid.sr_design else ())},
            "accuracy": {"float_baseline": acc_float, "integer_ideal": acc_int,
                         "reference_chip": {k: ref[k] for k in
                                            ("accuracy", "flagged", "layer_rms_error_pct")},
                         "summary": summary, "runs": rows, "sr_design": design},
            "claims": claims,
            "adc_study": adc,
            "linearity": lin,
            "rtl": rtl_res,
            "synth": syn,
        }
        figures = report.write_figures(results, tmp / "figures")
        results["figures"] = figures
        timings["report"] = round(time.perf_counter() - t0, 3)
        timings["total"] = round(time.perf_counter() - t_all, 3)
        results["timing_s"] = timings
        (tmp / "results.json").write_text(json.dumps(results, indent=1) + "\n",
                                          encoding="utf-8")
        (tmp / "report.md").write_text(report.markdown(results), encoding="utf-8")
        print(f"[6/6] report: {len(figures)} figures, report.md, results.json "
              f"({timings['report']:.1f} s)", flush=True)
        check_out_dir(out, force)
        publish_dir(tmp, out)  # with the user's umask
        tmp = None
    except BaseException:
        if worker is not None and worker.is_alive():
            # Interrupted (or failed) while the RTL check runs: stop its simulator and
            # let the thread end before its files are removed.
            stopping.set()
            stop_children()
            worker.join(timeout=1.0)
        raise
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            if worker is not None and worker.is_alive():  # still in-process work (Yosys,
                worker.join(timeout=1.0)                  # Amaranth): once more after it
                shutil.rmtree(tmp, ignore_errors=True)
    return results


def _rtl_step(spec, ref, digits, net, tmp: Path, grid: FlowGrid, rtl: bool,
              simulator: str, stopping: threading.Event | None = None) -> dict:
    from golden.digital import digital_path

    from .tiling import input_tile

    lay = ref["layers"][0]["result"]
    mac = lay.macros[(0, 0)]
    cal = lay.calibrations[(0, 0)]
    pix = np.concatenate([digits.x_train, digits.x_test])
    ids = np.concatenate([digits.id_train, digits.id_test])
    k = min(grid.rtl_mvms, pix.shape[0])
    xt = input_tile(net.quantize_input(pix[:k]), 0, spec)
    match = mac.match_vectors(xt, vector_ids=ids[:k])
    gold = mac.run(xt, vector_ids=ids[:k])
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


# -- CLI --------------------------------------------------------------------------------


def add_parser(sub, parser_class=None) -> None:
    """Register ``cimgen flow``."""
    p = sub.add_parser(
        "flow", help="the main job: digits MLP on golden macros -> accuracy table, "
                     "verified Verilog, report",
        description=(
            "Train and quantise a digits MLP, map it onto macros of CONFIG, calibrate the "
            "Q-cell ADCs (uniform, Lloyd-Max, optimal; SR nominal, calibrated, "
            "interleaved), measure held-out accuracy over ADC bits x bound variation x "
            "chips, generate the periphery Verilog with the calibrated LUTs and check it "
            "with cocotb on real match vectors; optionally synthesise. Writes "
            "DIR/report.md, DIR/results.json and PNG figures."
        ),
    )
    p.add_argument("config", metavar="CONFIG", help="macro config (TOML)")
    p.add_argument("-o", "--out", default="build/flow", metavar="DIR",
                   help="output directory (default build/flow; new or empty unless --force)")
    p.add_argument("--quick", action="store_true",
                   help="reduced run: 3 and 4 bits, 0 and 2 %% variation, no SR design "
                        "table, 200 MVMs on the RTL (full: 1000)")
    p.add_argument("--synth", action="store_true",
                   help="also the FPGA resource/timing report (YoWASP tools)")
    p.add_argument("--seeds", type=int, metavar="N", help="chips per grid point "
                   "(default 6)")
    p.add_argument("--design-seeds", type=int, metavar="N",
                   help="chips of the SR design table at 4 bits (default: --seeds; the "
                        "table needs about 24 to separate its designs)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of the sweep (default: one per core)")
    p.add_argument("--simulator", choices=("icarus", "verilator"), default="icarus",
                   help="simulator of the RTL check (default icarus)")
    p.add_argument("--rtl-mvms", type=int, metavar="N",
                   help="real MVMs checked on the RTL (default 1000; 200 with --quick)")
    p.add_argument("--no-rtl", action="store_true",
                   help="generate the Verilog but skip the cocotb run")
    p.add_argument("--seed", type=int, help="override device.seed of the config")
    p.add_argument("--force", action="store_true",
                   help="replace a non-empty DIR (only once the new output is complete)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``cimgen flow`` from parsed arguments; returns the exit code."""
    from golden.spec import SpecError

    try:
        spec = load_config(args.config)
        if args.seed is not None:
            if args.seed < 0:
                raise InputError(f"--seed {args.seed}: must be an integer >= 0")
            spec = spec.replace(device={"seed": args.seed})
    except SpecError as e:
        raise InputError(str(e)) from None
    grid = FlowGrid.quick() if args.quick else FlowGrid.full()
    if args.seeds is not None:
        if not 1 <= args.seeds <= 1000:
            raise InputError(f"--seeds {args.seeds}: must be an integer in 1..1000")
        grid = dataclasses.replace(grid, seeds=args.seeds)
    if args.design_seeds is not None:
        if not 1 <= args.design_seeds <= 1000:
            raise InputError(f"--design-seeds {args.design_seeds}: must be an integer in "
                             "1..1000")
        if args.quick:
            raise InputError("--design-seeds: only applies to the full flow (the SR design "
                             "table is not part of --quick)")
        grid = dataclasses.replace(grid, design_seeds=max(args.design_seeds, grid.seeds))
    if args.rtl_mvms is not None:
        if not 1 <= args.rtl_mvms <= 1797:
            raise InputError(f"--rtl-mvms {args.rtl_mvms}: must be an integer in 1..1797 "
                             "(the digits data set has 1797 images)")
        grid = dataclasses.replace(grid, rtl_mvms=args.rtl_mvms)
    ncores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    workers = ncores if args.workers is None else args.workers
    if not 1 <= workers <= 256:
        raise InputError(f"--workers {workers}: must be an integer in 1..256")
    try:
        import matplotlib  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError as e:
        raise InputError(f"cimgen flow needs scikit-learn and matplotlib ({e}); install "
                         "them with pip") from None
    out = Path(args.out)
    from .dataio import check_outputs

    check_outputs(inputs=[("CONFIG", args.config)], dirs=[("-o", out)])
    t0 = time.perf_counter()
    res = run_flow(spec, out, grid=grid, synth=args.synth, rtl=not args.no_rtl,
                   workers=workers, simulator=args.simulator, force=args.force,
                   config_path=str(args.config))
    c = res["claims"]
    print(f"flow: wrote {out}/report.md, results.json, {len(res['figures'])} figures in "
          f"{time.perf_counter() - t0:.1f} s")
    for name, claim in c.items():
        print(f"  claim {name}: {'holds' if claim['holds'] else 'DOES NOT HOLD'}"
              + ("" if claim.get("evaluated", True) else " (not evaluated on this grid)"))
    failed = []
    if res["rtl"]["status"].startswith("failed") or \
            res["rtl"]["golden_self_check"]["out_mismatches"] or \
            res["rtl"]["golden_self_check"]["flag_mismatches"]:
        failed.append(f"RTL check: {res['rtl']['status']}")
    if res["synth"]["status"].startswith("failed"):
        failed.append(f"synthesis: {res['synth']['status']}")
    if failed:
        raise CheckFailed("; ".join(failed) + f"; see {out}/results.json")
    return 0
