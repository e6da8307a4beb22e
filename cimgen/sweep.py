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
import dataclasses
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from golden.spec import SR_MODES

from .config import load_config
from .dataio import write_atomic
from .errors import InputError
from .metrics import MvmRun, SweepTask
from .progress import Progress, Terminated
from .sweep_dask import connect, parse_scheduler, run_on_dask, shutdown
from .workloads import NetworkContext, sweep_workload

COLUMNS = SweepTask.MVM_COLUMNS
"""Columns of every task (:class:`~cimgen.metrics.SweepTask`)."""
WORKLOAD_COLUMNS = SweepTask.NETWORK_COLUMNS
"""Columns added with a workload."""
CAL_VECTORS = 256
EVAL_VECTORS = 256
TASK_LIMIT = 10_000
"""Grids of more tasks run only with ``--yes`` (the default grid has 1260)."""
MAX_TASKS = 1_000_000
"""Grids of more tasks are refused even with ``--yes``: their rows alone take gigabytes."""


def columns(spec) -> tuple[str, ...]:
    """The table's columns: :data:`COLUMNS`, plus the network's test accuracy and the
    fraction of test images with a decoder/SR flag when the config names a workload."""
    return COLUMNS + (WORKLOAD_COLUMNS if spec.workload.name != "none" else ())


def network_context(spec):
    """The config's workload, trained and quantised to its weight and input bits
    (what :func:`cimgen.flow.run_network` runs), with ``[workload]
    calibration_samples`` calibration inputs; ``None`` without a workload.

    Raises
    ------
    InputError
        A config the workload cannot run on (:meth:`cimgen.workloads.Workload.check`).
    """
    kind = sweep_workload(spec)
    if kind is None:
        return None
    kind.check(spec)
    return NetworkContext.of(kind.build(spec), spec.workload.calibration_samples)


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
        if not all(np.isfinite(v) and 0 <= v <= 50 for v in (start, stop)):
            raise InputError(f"--variation {text!r}: START and STOP must lie in [0, 50]")
        n = float(np.floor((stop - start) / step + 1e-9)) + 1  # inf for a denormal STEP
        if n > MAX_TASKS:  # counted before the list is built: it would not fit in memory
            raise InputError(f"--variation {text!r}: more than {MAX_TASKS:,} values, the "
                             "most tasks a sweep may have (even with --yes); allowed: a "
                             "larger STEP, or the grid split over several sweeps")
        return sorted({round(start + i * step, 9) for i in range(int(n))})  # in [START, STOP]
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


def mvm_metrics(spec, w: np.ndarray, x: np.ndarray) -> MvmRun:
    """A macro of ``spec`` with weights ``w``, calibrated on the first
    :data:`CAL_VECTORS` of ``x`` and run on the rest, against the exact product."""
    from golden import digital, linearity
    from golden.macro import Macro

    mac = Macro(spec, w)
    cal = mac.calibrate(x[:CAL_VECTORS])
    xe = x[CAL_VECTORS:]
    ids = np.arange(CAL_VECTORS, CAL_VECTORS + EVAL_VECTORS)
    res = mac.run(xe, vector_ids=ids)
    exact = xe @ w
    rms = float(np.sqrt(np.mean((res.values - exact) ** 2)))
    m = spec.macro
    full_scale = m.rows * max(map(abs, m.weight_range)) * max(map(abs, m.input_range))
    sig = mac.crossbar.column_signals(xe, vector_ids=ids)
    codes, _ = mac.convert(sig)
    lut = cal.lut[digital.lut_index(spec)]
    recon = np.take_along_axis(np.broadcast_to(lut, (*sig.shape[:2], *lut.shape)),
                               codes[..., None].astype(np.int64), axis=-1)[..., 0]
    # INL/DNL of every column's ADC A from its realised per-cell transitions, in units
    # of the mean nominal code width of its group.
    trans = linearity.measure_transitions(mac.banks, per_cell=True)[:, 0]
    inl_all, dnl_all = [], []
    li = digital.lut_index(spec)
    for g in range(cal.boundaries.shape[0]):
        cols = li == g
        if cols.any():
            inl, dnl = linearity.inl_dnl(trans[cols], reference="ideal",
                                         nominal=cal.boundaries[g, 0])
            inl_all.append(inl.ravel())
            dnl_all.append(dnl.ravel())
    from golden.cost import mvm_cost

    cost = mvm_cost(spec, mac.crossbar.cells.g, mac.crossbar.bit_planes(xe))
    return MvmRun(rms_error=rms, rms_error_rel=rms / full_scale,
                  adc_mse=float(np.mean((recon - sig) ** 2)),
                  rms_inl=float(np.sqrt(np.mean(np.concatenate(inl_all) ** 2))),
                  rms_dnl=float(np.sqrt(np.mean(np.concatenate(dnl_all) ** 2))),
                  flag_rate=float(np.mean(res.flags != 0)),
                  energy_per_mvm_fj=cost.energy_total_fj / cost.batch,
                  tops_per_w=cost.tops_per_w, area_um2=cost.area_total_um2,
                  latency_ns=cost.latency_ns)


def run_task(spec_dict: dict, bits: int, variation: float, sr: str, trial: int,
             network=None) -> dict:
    """One grid point and trial; a pure function of its arguments. Returns its
    :class:`~cimgen.metrics.SweepTask` row.

    ``network`` (:func:`network_context`) adds the network's test accuracy on golden
    macros of this point (same device seed as the macro of the other columns).
    """
    from golden.spec import MacroSpec

    base = MacroSpec.from_dict(spec_dict)
    seed = task_seed(base.device.seed, bits, variation, sr, trial)
    spec = base.replace(adc={"bits": bits, "sr": sr},
                        device={"bound_variation_pct": variation, "seed": seed})
    w, x = workload(spec, np.random.default_rng(seed))
    mvm = mvm_metrics(spec, w, x)
    net = {}
    if network is not None:
        from .flow.network import run_network

        r = run_network(network, spec)
        net = {"accuracy": r.accuracy, "net_flagged": r.flagged}
    return SweepTask(bits=bits, variation_pct=variation, sr=sr, trial=trial, seed=seed,
                     **dataclasses.asdict(mvm), **net).row()


def _key(row) -> tuple:
    return (int(row["bits"]), round(float(row["variation_pct"]), 9), str(row["sr"]),
            int(row["trial"]))


def _read_partial(partial: Path, cols) -> dict[tuple, dict]:
    """The rows an earlier, interrupted run of this sweep finished, by grid key.

    A last line cut short (the process was killed while writing it) is cut off the file,
    so that no half-written number is ever read back and appended rows start a line.
    """
    if not partial.exists():
        return {}
    data = partial.read_bytes()
    if data and not data.endswith(b"\n"):
        with partial.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)
        data = data[:data.rfind(b"\n") + 1]
    done = {}
    for row in csv.DictReader(io.StringIO(data.decode(), newline="")):
        try:
            key = _key(row)
            for c in cols:
                _typed(c, row[c])
        except (KeyError, TypeError, ValueError):
            continue
        done[key] = row
    return done


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _time_tasks(todo: list[tuple], task, record) -> tuple[list[tuple], list[float]]:
    """Run up to three tasks here, recording their rows: the first warms up (imports,
    first-call costs), the second (the smallest ADC) and the last (the largest) are timed.
    Returns the tasks still to run and the times (the first's only if it is alone)."""
    first = todo[:2] + todo[-1:] if len(todo) > 2 else todo
    times = []
    for g in first:
        t0 = time.perf_counter()
        record(task(g))
        times.append(time.perf_counter() - t0)
    return todo[2:-1], times[1:] or times


def _announce(total: int, done: int, times: list[float], left: int, workers: int,
              where: str) -> None:
    per = float(np.mean(times))
    est = per * left / max(workers, 1)
    print(f"sweep: {total} tasks ({done} done), {left} left for {where}: about "
          f"{_duration(est)} (estimate: {len(times)} tasks timed here after a warm-up one "
          f"took {per:.3g} s on average, x {left} / {workers} worker(s); Dask's scheduling "
          "not counted)", file=sys.stderr, flush=True)


def run_sweep(spec, grid: list[tuple], *, out_dir: Path, client=None,
              workers: int | None = None, serial: bool = False, progress: bool = True):
    """Run the grid, appending each finished task to ``partial.csv`` (so an interrupted
    sweep resumes), then write ``results.csv`` and the plots. Returns the rows, sorted.

    Up to three tasks run here first (their rows are kept): one to warm up and two timed,
    to print the number of tasks and an estimate of the time (on stderr, with
    ``progress``) before the rest starts. With a workload in
    ``spec`` the network is trained once here (only if tasks are left) and every task
    gets it (on Dask: scattered to every worker once). ``client`` is a connected
    ``distributed.Client`` (default: a ``LocalCluster`` of ``workers`` processes, closed
    at the end, also when the sweep is interrupted).
    """
    cols = columns(spec)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / "partial.csv"
    done = _read_partial(partial, cols)
    todo = [g for g in grid if g not in done]
    spec_dict = spec.to_dict()
    network = network_context(spec) if todo else None
    extra = () if network is None else (network,)
    new_file = not partial.exists() or partial.stat().st_size == 0
    with partial.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=cols)
        if new_file:
            writer.writeheader()
        bar = None

        def record(row):
            writer.writerow(row)
            f.flush()
            done[_key(row)] = row
            if bar is not None:
                bar.update()

        n_before = len(done)
        rest, times = _time_tasks(todo, lambda g: run_task(spec_dict, *g, *extra), record)
        if serial or client is None:
            workers = 1 if serial else workers or len(os.sched_getaffinity(0))
            where = "this process" if serial else f"a LocalCluster of {workers} workers"
        else:
            workers = sum(client.nthreads().values())
            where = f"the scheduler at {client.scheduler.address} ({workers} threads)"
        if rest and progress:
            _announce(len(grid), n_before, times, len(rest), workers, where)
        bar = Progress("sweep", len(grid), progress, done=len(done))
        if serial:
            for g in rest:
                record(run_task(spec_dict, *g, *extra))
        elif rest:
            run_on_dask(run_task, rest, spec_dict, network, record, client, workers,
                        out_dir / "workers.log")
    bar.close()
    rows = sorted((done[g] for g in grid), key=lambda r: _key(r))
    rows = [{c: _typed(c, r[c]) for c in cols} for r in rows]
    return rows


def _typed(col: str, v):
    return SweepTask.parse(col, v)


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
    metrics = [(f.name, SweepTask.label(f.name)) for f in SweepTask.metrics()
               if f.metadata["plot"] and f.name in cols]
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


def check_grid_size(n_bits: int, n_var: int, n_sr: int, trials: int, yes: bool) -> int:
    """The number of tasks of a grid, counted before it is built.

    Raises
    ------
    InputError
        More than :data:`MAX_TASKS` tasks, or more than :data:`TASK_LIMIT` without
        ``yes``.
    """
    n = n_bits * n_var * n_sr * trials
    shape = f"{n_bits} --bits x {n_var:,} --variation x {n_sr} --sr x {trials:,} --trials"
    if n > MAX_TASKS:
        raise InputError(f"the grid ({shape}) has {n:,} tasks, more than the {MAX_TASKS:,} "
                         "a sweep may have (even with --yes); allowed: a smaller grid, or "
                         "the grid split over several sweeps (-o DIRs)")
    if n > TASK_LIMIT and not yes:
        raise InputError(f"the grid ({shape}) has {n:,} tasks, more than the limit of "
                         f"{TASK_LIMIT:,}; allowed: a smaller grid, or --yes to run all "
                         f"{n:,} tasks")
    return n


def _interrupted(out: Path, spec, grid: list[tuple], how: str) -> None:
    """The one line that an interrupted sweep prints: what is saved, and how to go on."""
    partial = out / "partial.csv"
    n = len(_read_partial(partial, columns(spec)).keys() & set(grid))
    where = f"partial results in {partial}, " if n else ""
    lead = "\n" if sys.stderr.isatty() else ""  # after the progress bar's line
    print(f"{lead}cimgen sweep: {how} after {n} of {len(grid)} tasks; {where}rerun the "
          "same command to resume", file=sys.stderr, flush=True)


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
    p.add_argument("--yes", action="store_true",
                   help=f"run a grid of more than {TASK_LIMIT:,} tasks (default: refused)")
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
    if args.scheduler is not None:
        if args.serial:
            raise InputError(f"--serial with --scheduler {args.scheduler!r}: --serial runs "
                             "in this process, --scheduler on a Dask cluster; allowed: one "
                             "of the two")
        parse_scheduler(args.scheduler)
    check_grid_size(len(bits), len(variation), len(srs), args.trials, args.yes)
    out = Path(args.out)
    from .dataio import check_outputs

    check_outputs(inputs=[("CONFIG", args.config)], dirs=[("-o", out)])
    grid_doc = {"config": spec.to_dict(), "bits": bits, "variation_pct": variation, "sr": srs,
                "trials": args.trials}
    grid_file = out / "grid.json"
    afresh = grid_file.exists() and json.loads(grid_file.read_text()) != grid_doc
    if afresh:
        if not args.force:
            raise InputError(
                f"-o {args.out!r}: holds a sweep of another config or grid; allowed: the same "
                "sweep (it resumes), another DIR, or --force to start afresh"
            )
    elif out.exists() and any(out.iterdir()) and not grid_file.exists() and not args.force:
        raise InputError(f"-o {args.out!r}: exists, is not empty and holds no sweep; "
                         "allowed: a new or empty DIR, or --force")
    kind = sweep_workload(spec)
    if kind is not None:
        kind.check(spec)  # raises InputError before anything is written
    grid = [(b, v, s, t) for b in bits for v in variation for s in srs
            for t in range(args.trials)]
    client = connect(args.scheduler) if args.scheduler and not args.serial else None
    try:
        for name in ("partial.csv", "grid.json") if afresh else ():  # only after every check
            (out / name).unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(grid_file, lambda t: t.write_text(json.dumps(grid_doc, indent=2) + "\n"))
        t0 = time.perf_counter()
        resumed = len(_read_partial(out / "partial.csv", columns(spec)).keys() & set(grid))
        rows = run_sweep(spec, grid, out_dir=out, client=client, workers=args.workers,
                         serial=args.serial)
    except (KeyboardInterrupt, Terminated) as e:  # the cluster is closed: say what is kept
        terminated = isinstance(e, Terminated)
        _interrupted(out, spec, grid, "terminated" if terminated else "interrupted")
        return 143 if terminated else 130
    finally:
        if client is not None:
            shutdown(client, None)
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
