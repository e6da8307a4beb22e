"""``cimgen flow``'s command line."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from .. import workloads
from ..config import load_config
from ..errors import CheckFailed, InputError
from .grid import FlowGrid
from .steps import run_flow

__all__ = ["add_parser", "run"]


def add_parser(sub, parser_class=None) -> None:
    """Register ``cimgen flow``."""
    p = sub.add_parser(
        "flow", help="the main job: a network on golden macros -> accuracy table, "
                     "verified Verilog, report",
        description=(
            "Train and quantise the config's workload ([workload] name; the digits MLP "
            "when it names none), map it onto macros of CONFIG, calibrate the "
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
    p.add_argument("--model", metavar="NET.onnx",
                   help="your own network: an ONNX file (sets [workload] name = \"onnx\", "
                        "model); needs --data unless the config names the data")
    p.add_argument("--data", metavar="DATA.npz",
                   help="samples of --model: an .npz with x (model input layout) and "
                        "optionally integer labels y")
    p.add_argument("--calibration-samples", type=int, metavar="N",
                   help="samples that calibrate (the first N of --data; the rest test); "
                        "default [workload] calibration_samples (256)")
    p.add_argument("--force", action="store_true",
                   help="replace a non-empty DIR (only once the new output is complete)")
    p.set_defaults(func=run)


def _spec(args):
    from golden.spec import SpecError

    try:
        spec = load_config(args.config)
        if args.seed is not None:
            if args.seed < 0:
                raise InputError(f"--seed {args.seed}: must be an integer >= 0")
            spec = spec.replace(device={"seed": args.seed})
        spec = _workload_args(spec, args)
    except SpecError as e:
        raise InputError(str(e)) from None
    return spec


def _workload_args(spec, args):
    """``--model``/``--data``/``--calibration-samples`` over the config's ``[workload]``
    (paths as given: relative to the working directory)."""
    wl = {}
    if args.model is not None or args.data is not None:
        if spec.workload.name != "onnx" and (args.model is None or args.data is None):
            given, other = ("--model", "--data") if args.model else ("--data", "--model")
            raise InputError(f"{given}: needs {other} too (the config's workload is "
                             f"{spec.workload.name!r}, not an ONNX network)")
        wl["name"] = "onnx"
        for flag, key in ((args.model, "model"), (args.data, "data")):
            if flag is not None:
                if not flag:
                    raise InputError(f"--{key} {flag!r}: must name a file")
                wl[key] = flag
    if args.calibration_samples is not None:
        if not 1 <= args.calibration_samples <= 1_000_000:
            raise InputError(f"--calibration-samples {args.calibration_samples}: must be an "
                             "integer in 1..1000000")
        wl["calibration_samples"] = args.calibration_samples
    return spec.replace(workload=wl) if wl else spec


def _grid(args, kind, spec) -> FlowGrid:
    grid = FlowGrid.quick() if args.quick else FlowGrid.full()
    grid = dataclasses.replace(grid, n_cal=spec.workload.calibration_samples)
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
        top = kind.max_vectors
        if not 1 <= args.rtl_mvms <= top:
            raise InputError(f"--rtl-mvms {args.rtl_mvms}: must be an integer in 1..{top} "
                             f"({kind.vectors_note})")
        grid = dataclasses.replace(grid, rtl_mvms=args.rtl_mvms)
    return grid


def _check_results(res: dict, out: Path) -> None:
    failed = []
    if res["rtl"]["status"].startswith("failed") or \
            res["rtl"]["golden_self_check"]["out_mismatches"] or \
            res["rtl"]["golden_self_check"]["flag_mismatches"]:
        failed.append(f"RTL check: {res['rtl']['status']}")
    if res["synth"]["status"].startswith("failed"):
        failed.append(f"synthesis: {res['synth']['status']}")
    if failed:
        raise CheckFailed("; ".join(failed) + f"; see {out}/results.json")


def run(args) -> int:
    """Run ``cimgen flow`` from parsed arguments; returns the exit code."""
    spec = _spec(args)
    kind = workloads.flow_workload(spec)
    grid = _grid(args, kind, spec)
    ncores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    workers = ncores if args.workers is None else args.workers
    if not 1 <= workers <= 256:
        raise InputError(f"--workers {workers}: must be an integer in 1..256")
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise InputError(f"cimgen flow needs matplotlib ({e}); install it with pip") from None
    kind.check(spec)
    out = Path(args.out)
    from ..dataio import check_outputs

    check_outputs(inputs=[("CONFIG", args.config)], dirs=[("-o", out)])
    t0 = time.perf_counter()
    res = run_flow(spec, out, grid=grid, synth=args.synth, rtl=not args.no_rtl,
                   workers=workers, simulator=args.simulator, force=args.force,
                   config_path=str(args.config), workload=kind)
    print(f"flow: wrote {out}/report.md, results.json, {len(res['figures'])} figures in "
          f"{time.perf_counter() - t0:.1f} s")
    for name, claim in res["claims"].items():
        print(f"  claim {name}: {'holds' if claim['holds'] else 'DOES NOT HOLD'}"
              + ("" if claim.get("evaluated", True) else " (not evaluated on this grid)"))
    _check_results(res, out)
    return 0
