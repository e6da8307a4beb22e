"""``cimgen sweep``: design-space sweeps of the golden macro, as Dask tasks.

Every grid point (ADC bits x bound variation x SR mode) and trial is one independent
task: build the macro of the config with that point's settings, calibrate it on a
seeded synthetic workload (ReLU-like sparse inputs, bell-shaped weights), and measure the
end-to-end RMS error, the ADC-input MSE and the INL/DNL of the realised ADCs. When the
config names a workload (``[workload] name = "digits"``), each task also runs that
network on golden macros of its grid point (every layer tiled over macros of the config
and calibrated on the chip, as in ``cimgen flow``) and reports its held-out test
accuracy; the network is trained and quantised once per sweep and sent to the workers.
The task's seed comes from (device.seed, bits, variation, SR mode, trial) alone, so the
table is the same whether the tasks run serially, on a 2-worker ``LocalCluster`` or on a
remote scheduler, in any order.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .config import load_config
from .dataio import write_atomic
from .errors import InputError
from .progress import Progress

SR_MODES = ("none", "nominal", "calibrated", "interleaved")
COLUMNS = ("bits", "variation_pct", "sr", "trial", "seed", "rms_error", "rms_error_rel",
           "adc_mse", "rms_inl", "rms_dnl", "flag_rate")
WORKLOAD_COLUMNS = ("accuracy", "net_flagged")
CAL_VECTORS = 256
EVAL_VECTORS = 256
NET_CAL_IMAGES = 256
"""Calibration images of the network workload (from the training split, as the flow)."""


def columns(spec) -> tuple[str, ...]:
    """The table's columns: :data:`COLUMNS`, plus the network's test accuracy and the
    fraction of test images with a decoder/SR flag when the config names a workload."""
    return COLUMNS + (WORKLOAD_COLUMNS if spec.workload.name != "none" else ())


def network_context(spec):
    """The config's workload, trained and quantised to its weight and input bits
    (what :func:`cimgen.flow.run_network` runs); ``None`` without a workload.

    Raises
    ------
    InputError
        Signed inputs (the network's inputs are unsigned).
    """
    if spec.workload.name == "none":
        return None
    from . import workload
    from .flow import _Context

    if spec.macro.input_signed:
        raise InputError("macro.input_signed = true: the digit network's inputs (pixels and "
                         "ReLU activations) are unsigned; allowed: false with [workload]")
    digits = workload.load_digits()
    net = workload.quantize_net(workload.train_mlp(digits), digits, spec)
    n = min(NET_CAL_IMAGES, digits.x_train.shape[0])
    return _Context(net, np.concatenate([digits.x_train[:n], digits.x_test]),
                    np.concatenate([digits.id_train[:n], digits.id_test]), digits.y_test, n)


def _parse_list(text: str, flag: str, parse, allowed: str):
    try:
        vals = [parse(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InputError(f"{flag} {text!r}: not a comma-separated list; allowed: {allowed}") \
            from None
    if not vals:
        raise InputError(f"{flag} {text!r}: empty; allowed: {allowed}")
    return vals


def parse_bits(text: str) -> list[int]:
    """``"3,4,5"`` -> [3, 4, 5], each 1..8."""
    vals = _parse_list(text, "--bits", int, "integers in 1..8, e.g. 3,4,5")
    for v in vals:
        if not 1 <= v <= 8:
            raise InputError(f"--bits {text!r}: {v} is outside 1..8")
    return sorted(set(vals))


def parse_variation(text: str) -> list[float]:
    """``"0:3:0.5"`` (start:stop:step, stop included) or ``"0,1,2"`` -> percents in [0, 50]."""
    allowed = "START:STOP:STEP or a comma-separated list of percents in [0, 50]"
    if ":" in text:
        try:
            start, stop, step = (float(t) for t in text.split(":"))
        except ValueError:
            raise InputError(f"--variation {text!r}: allowed: {allowed}") from None
        if not (step > 0 and stop >= start):
            raise InputError(f"--variation {text!r}: need STEP > 0 and STOP >= START")
        n = int(np.floor((stop - start) / step + 1e-9)) + 1
        vals = [round(start + i * step, 9) for i in range(n)]
    else:
        vals = _parse_list(text, "--variation", float, allowed)
    for v in vals:
        if not (np.isfinite(v) and 0 <= v <= 50):
            raise InputError(f"--variation {text!r}: {v:g} is outside [0, 50]")
    return sorted(set(vals))


def parse_sr(text: str) -> list[str]:
    vals = _parse_list(text, "--sr", str.strip, ", ".join(SR_MODES))
    for v in vals:
        if v not in SR_MODES:
            raise InputError(f"--sr {text!r}: {v!r} is not one of {', '.join(SR_MODES)}")
    return list(dict.fromkeys(vals))


def task_seed(base: int, bits: int, variation: float, sr: str, trial: int) -> int:
    """The seed of one task: a function of its grid point and trial only."""
    key = [base, bits, round(variation * 1e6), SR_MODES.index(sr), trial]
    return int(np.random.SeedSequence(key).generate_state(1, np.uint64)[0] >> np.uint64(1))


def workload(spec, rng: np.random.Generator):
    """Seeded weights (bell-shaped) and inputs (60 % zeros, small values common)."""
    m = spec.macro
    wlo, whi = m.weight_range
    w = np.clip(np.round(rng.normal(0, max(whi, 1) / 2.5, (m.rows, m.cols))), wlo, whi)
    xlo, xhi = m.input_range
    n = CAL_VECTORS + EVAL_VECTORS
    x = np.minimum(rng.geometric(0.35, (n, m.rows)) - 1, xhi)
    x[rng.random(x.shape) < 0.6] = 0
    return w.astype(np.int64), np.maximum(x, xlo).astype(np.int64)


def run_task(spec_dict: dict, bits: int, variation: float, sr: str, trial: int,
             network=None) -> dict:
    """One grid point and trial; a pure function of its arguments.

    ``network`` (:func:`network_context`) adds the network's test accuracy on golden
    macros of this point (same device seed as the macro of the other columns).
    """
    from golden import digital, linearity
    from golden.macro import Macro
    from golden.spec import MacroSpec

    base = MacroSpec.from_dict(spec_dict)
    seed = task_seed(base.device.seed, bits, variation, sr, trial)
    spec = base.replace(adc={"bits": bits, "sr": sr},
                        device={"bound_variation_pct": variation, "seed": seed})
    w, x = workload(spec, np.random.default_rng(seed))
    mac = Macro(spec, w)
    cal = mac.calibrate(x[:CAL_VECTORS])
    xe = x[CAL_VECTORS:]
    res = mac.run(xe, vector_ids=np.arange(CAL_VECTORS, CAL_VECTORS + EVAL_VECTORS))
    exact = xe @ w
    rms = float(np.sqrt(np.mean((res.values - exact) ** 2)))
    m = spec.macro
    full_scale = m.rows * max(map(abs, m.weight_range)) * max(map(abs, m.input_range))
    sig = mac.crossbar.column_signals(xe, vector_ids=np.arange(CAL_VECTORS,
                                                               CAL_VECTORS + EVAL_VECTORS))
    codes, _ = mac._convert(sig)
    lut = cal.lut[digital.lut_index(spec)]
    recon = np.take_along_axis(np.broadcast_to(lut, (*sig.shape[:2], *lut.shape)),
                               codes[..., None].astype(np.int64), axis=-1)[..., 0]
    adc_mse = float(np.mean((recon - sig) ** 2))
    # INL/DNL of every column's ADC A from its realised per-cell transitions, in units
    # of the mean nominal code width of its group.
    trans = linearity.measure_transitions(mac._banks, per_cell=True)[:, 0]
    inl_all, dnl_all = [], []
    li = digital.lut_index(spec)
    for g in range(cal.boundaries.shape[0]):
        cols = li == g
        if cols.any():
            inl, dnl = linearity.inl_dnl(trans[cols], reference="ideal",
                                         nominal=cal.boundaries[g, 0])
            inl_all.append(inl.ravel())
            dnl_all.append(dnl.ravel())
    row = {
        "bits": bits, "variation_pct": variation, "sr": sr, "trial": trial, "seed": seed,
        "rms_error": rms, "rms_error_rel": rms / full_scale, "adc_mse": adc_mse,
        "rms_inl": float(np.sqrt(np.mean(np.concatenate(inl_all) ** 2))),
        "rms_dnl": float(np.sqrt(np.mean(np.concatenate(dnl_all) ** 2))),
        "flag_rate": float(np.mean(res.flags != 0)),
    }
    if network is not None:
        from .flow import run_network

        r = run_network(network, spec)
        row.update(accuracy=r["accuracy"], net_flagged=r["flagged"])
    return row


def _key(row) -> tuple:
    return (int(row["bits"]), round(float(row["variation_pct"]), 9), str(row["sr"]),
            int(row["trial"]))


def run_sweep(spec, grid: list[tuple], *, out_dir: Path, scheduler: str | None = None,
              workers: int | None = None, serial: bool = False, progress: bool = True):
    """Run the grid, appending each finished task to ``partial.csv`` (so an interrupted
    sweep resumes), then write ``results.csv`` and the plots. Returns the rows, sorted.

    With a workload in ``spec`` the network is trained once here (only if tasks are
    left) and every task gets it (on Dask: scattered to every worker once).
    """
    cols = columns(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / "partial.csv"
    done: dict[tuple, dict] = {}
    if partial.exists():
        with partial.open(newline="") as f:
            for row in csv.DictReader(f):
                done[_key(row)] = row
    todo = [g for g in grid if g not in done]
    spec_dict = spec.to_dict()
    network = network_context(spec) if todo else None
    extra = () if network is None else (network,)
    new_file = not partial.exists() or partial.stat().st_size == 0
    with partial.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=cols)
        if new_file:
            writer.writeheader()

        def record(row):
            writer.writerow(row)
            f.flush()
            done[_key(row)] = row
            bar.update()

        bar = Progress("sweep", len(grid), progress, done=len(done))
        if serial or not todo:
            for g in todo:
                record(run_task(spec_dict, *g, *extra))
        else:
            from distributed import Client, LocalCluster, as_completed

            cluster = None
            if scheduler:
                client = Client(scheduler)
            else:
                n = workers or len(os.sched_getaffinity(0))
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                client = Client(cluster)
            try:
                if extra:  # the network once per worker, not once per task
                    extra = (client.scatter(network, broadcast=True),)
                futures = [client.submit(run_task, spec_dict, *g, *extra, pure=False)
                           for g in todo]
                for fut in as_completed(futures):
                    record(fut.result())
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    bar.close()
    rows = sorted((done[g] for g in grid), key=lambda r: _key(r))
    rows = [{c: _typed(c, r[c]) for c in cols} for r in rows]
    return rows


def _typed(col: str, v):
    if col in ("bits", "trial", "seed"):
        return int(v)
    if col == "sr":
        return str(v)
    return float(v)


def write_outputs(rows: list[dict], out_dir: Path, grid_doc: dict) -> list[Path]:
    """results.csv, summary.json and one PNG per metric (with a workload, also the
    network's test accuracy)."""
    cols = [c for c in COLUMNS + WORKLOAD_COLUMNS if not rows or c in rows[0]]

    def write_csv(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow({c: repr(r[c]) if isinstance(r[c], float) else r[c]
                            for c in cols})

    paths = [write_atomic(out_dir / "results.csv", write_csv)]
    summary, accuracy = {}, {}
    for r in rows:
        k = f"bits={r['bits']},variation={r['variation_pct']:g},sr={r['sr']}"
        summary.setdefault(k, []).append(r["rms_error"])
        if "accuracy" in r:
            accuracy.setdefault(k, []).append(r["accuracy"])
    doc = {**grid_doc, "mean_rms_error": {k: float(np.mean(v)) for k, v in summary.items()}}
    if accuracy:
        doc["mean_accuracy"] = {k: float(np.mean(v)) for k, v in accuracy.items()}
    paths.append(write_atomic(out_dir / "summary.json",
                              lambda t: t.write_text(json.dumps(doc, indent=2) + "\n")))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("sweep: matplotlib is not installed; no plots written", file=sys.stderr)
        return paths
    bits = sorted({r["bits"] for r in rows})
    srs = list(dict.fromkeys(r["sr"] for r in rows))
    metrics = [("rms_error", "RMS output error (units of the integer x·W)"),
               ("adc_mse", "ADC-input MSE (partial-sum units$^2$)"),
               ("rms_inl", "RMS INL (LSB)")]
    if accuracy:
        metrics.append(("accuracy", "network test accuracy"))
    for metric, label in metrics:
        fig, axes = plt.subplots(1, len(bits), figsize=(4.2 * len(bits), 3.6), squeeze=False,
                                 sharey=False)
        for ax, b in zip(axes[0], bits, strict=True):
            for s in srs:
                pts = {}
                for r in rows:
                    if r["bits"] == b and r["sr"] == s:
                        pts.setdefault(r["variation_pct"], []).append(r[metric])
                v = sorted(pts)
                mean = [np.mean(pts[k]) for k in v]
                std = [np.std(pts[k]) for k in v]
                ax.errorbar(v, mean, yerr=std, marker="o", capsize=3, label=f"SR {s}")
            ax.set_title(f"{b}-bit ADC")
            ax.set_xlabel("Q-cell bound variation (% of full scale)")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(f"{label} vs bound variation (mean ± std over trials)")
        fig.tight_layout()
        path = out_dir / f"{metric}_vs_variation.png"

        def save(tmp: Path, fig=fig) -> None:
            fig.savefig(tmp, dpi=110, format="png")

        paths.append(write_atomic(path, save))
        plt.close(fig)
    return paths


def add_parser(sub, parser_class=None) -> None:
    """Register ``cimgen sweep``."""
    p = sub.add_parser(
        "sweep", help="design-space sweep (ADC bits x variation x SR mode x trials) on Dask",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    p.add_argument("config", metavar="CONFIG")
    p.add_argument("--bits", default="3,4,5", help="ADC bits, comma-separated (default 3,4,5)")
    p.add_argument("--variation", default="0:3:0.5",
                   help="bound variation in %% of full scale: START:STOP:STEP or a list")
    p.add_argument("--sr", default="none,calibrated,interleaved",
                   help="SR modes, comma-separated (default none,calibrated,interleaved)")
    p.add_argument("--trials", type=int, default=20, help="trials per grid point (default 20)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing dask.distributed scheduler (default: a LocalCluster)")
    p.add_argument("--workers", type=int, help="LocalCluster workers (default: one per core)")
    p.add_argument("--serial", action="store_true", help="run in this process, without Dask")
    p.add_argument("--force", action="store_true",
                   help="start afresh in an -o DIR that holds another sweep")
    p.add_argument("-o", "--out", default="build/sweep", metavar="DIR")
    p.set_defaults(func=run)


def run(args) -> int:
    spec = load_config(args.config)
    bits = parse_bits(args.bits)
    variation = parse_variation(args.variation)
    srs = parse_sr(args.sr)
    if not 1 <= args.trials <= 100_000:
        raise InputError(f"--trials {args.trials}: must be an integer in 1..100000")
    if args.workers is not None and not 1 <= args.workers <= 1024:
        raise InputError(f"--workers {args.workers}: must be an integer in 1..1024")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {args.out!r}: exists and is not a directory")
    grid_doc = {"config": spec.to_dict(), "bits": bits, "variation_pct": variation, "sr": srs,
                "trials": args.trials}
    grid_file = out / "grid.json"
    if grid_file.exists() and json.loads(grid_file.read_text()) != grid_doc:
        if not args.force:
            raise InputError(
                f"-o {args.out!r}: holds a sweep of another config or grid; allowed: the same "
                "sweep (it resumes), another DIR, or --force to start afresh"
            )
        for name in ("partial.csv", "grid.json"):
            (out / name).unlink(missing_ok=True)
    elif out.exists() and any(out.iterdir()) and not grid_file.exists() and not args.force:
        raise InputError(f"-o {args.out!r}: exists, is not empty and holds no sweep; "
                         "allowed: a new or empty DIR, or --force")
    if spec.workload.name != "none" and spec.macro.input_signed:
        network_context(spec)  # raises InputError before anything is written
    grid = [(b, v, s, t) for b in bits for v in variation for s in srs
            for t in range(args.trials)]
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(grid_file, lambda t: t.write_text(json.dumps(grid_doc, indent=2) + "\n"))
    t0 = time.perf_counter()
    resumed = 0
    if (out / "partial.csv").exists():
        with (out / "partial.csv").open(newline="") as f:
            resumed = sum(1 for _ in csv.DictReader(f))
    rows = run_sweep(spec, grid, out_dir=out, scheduler=args.scheduler, workers=args.workers,
                     serial=args.serial)
    paths = write_outputs(rows, out, grid_doc)
    print(f"sweep: {len(grid)} tasks ({resumed} resumed) in {time.perf_counter() - t0:.1f} s "
          f"on {'this process' if args.serial else args.scheduler or 'a LocalCluster'}")
    print("mean RMS output error per grid point:")
    means = json.loads((out / "summary.json").read_text())["mean_rms_error"]
    acc = json.loads((out / "summary.json").read_text()).get("mean_accuracy", {})
    if acc:
        print(f"  {'':40s} {'RMS error':>10s} {spec.workload.name + ' accuracy':>16s}")
    for k, v in means.items():
        print(f"  {k:40s} {v:10.4g}" + (f" {100 * acc[k]:15.2f}%" if k in acc else ""))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
