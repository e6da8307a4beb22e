"""``cimgen calibrate``: data -> boundaries, levels, SR table, MSE report, JSON."""

from __future__ import annotations

import sys
import time

import numpy as np

from . import __version__
from .dataio import check_out_file, load_samples, write_json_atomic
from .errors import InputError


def _check_samples(x: np.ndarray, bits: int, source: str, full_scale) -> None:
    levels = 1 << bits
    if x.size < levels:
        raise InputError(
            f"DATA {source!r}: {x.size} sample(s), fewer than the {levels} levels of a "
            f"{bits}-bit ADC; need at least {levels}"
        )
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        raise InputError(
            f"DATA {source!r}: all {x.size} samples equal {lo:g}; calibration needs "
            "samples that spread over a range"
        )
    if full_scale is not None:
        flo, fhi = full_scale
        if not flo < fhi:
            raise InputError(f"--full-scale {flo:g} {fhi:g}: LO must be less than HI")
        inside = int(np.count_nonzero((x >= flo) & (x <= fhi)))
        if inside < levels:
            raise InputError(
                f"--full-scale {flo:g} {fhi:g}: only {inside} sample(s) inside it, fewer "
                f"than the {levels} levels; allowed: a range that covers the data"
            )


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r):
        cells = zip(r, widths, strict=True)
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells))
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)])


def run_calibrate(args) -> int:
    """Run the subcommand from parsed arguments; returns the exit code."""
    from golden import qcell
    from golden.adc import METHODS, calibrate_adc

    t0 = time.perf_counter()
    check_out_file(args.out)
    x, dropped = load_samples(
        args.data, key=args.key, column=args.column, drop_nonfinite=args.drop_nonfinite
    )
    fs = tuple(args.full_scale) if args.full_scale else None
    _check_samples(x, args.bits, args.data, fs)
    methods = METHODS if args.method == "all" else (args.method,)
    rng = np.random.default_rng(args.seed)
    results = calibrate_adc(
        x, args.bits, methods=methods, sr_mode=args.sr, encoding=args.encoding,
        variation_pct=args.variation, guard_pct=args.guard, rng=rng, full_scale=fs,
    )
    full_scale = fs if fs is not None else (float(x.min()), float(x.max()))

    var = args.variation
    header = ["method", "MSE", "SQNR dB", "MSE/uniform"]
    if var > 0:
        header += [f"MSE @{var:g}%", "flagged"]
    if args.sr != "none":
        header += [f"SR {args.sr} MSE", "SR SQNR dB", "|a-b|>1"]
    rows = []
    for m, r in results.items():
        row = [m, f"{r.mse:.4g}", f"{r.sqnr_db:.2f}", f"{r.mse_rel_uniform:.3f}"]
        if var > 0:
            row += [f"{r.realised_mse:.4g}", f"{100 * r.flag_rate:.2f}%"]
        if r.sr is not None:
            row += [f"{r.sr.mse:.4g}", f"{r.sr.sqnr_db:.2f}", f"{100 * r.sr.disagree_rate:.2f}%"]
        rows.append(row)

    doc = {
        "tool": f"cimgen {__version__}",
        "command": "calibrate",
        "data": {
            "path": str(args.data), "samples": int(x.size), "dropped_nonfinite": dropped,
            "key": args.key, "column": args.column,
        },
        "bits": args.bits,
        "levels": 1 << args.bits,
        "encoding": args.encoding,
        "sr": args.sr,
        "variation_pct": var,
        "window_guard_pct": (
            (qcell.auto_guard_pct(var) if args.guard == "auto" else args.guard)
            if args.encoding == "window" else None
        ),
        "seed": args.seed,
        "full_scale": list(full_scale),
        "conventions": {
            "code": "number of boundaries <= x (a value on a boundary goes to the upper "
                    "code); inputs outside the full scale clip to the end codes",
            "sr_index": "a + b; even entries levels, odd entries boundaries (nominal)",
            "sqnr": "10*log10(var(x) / MSE)",
        },
        "methods": {m: r.to_json() for m, r in results.items()},
    }
    out = write_json_atomic(args.out, doc)
    print(
        f"calibrated a {args.bits}-bit {args.encoding} Q-cell ADC on {x.size} samples from "
        f"{args.data} (full scale [{full_scale[0]:.6g}, {full_scale[1]:.6g}]"
        + (f", {dropped} non-finite dropped" if dropped else "") + ")"
    )
    print(_table(rows, header))
    print(f"wrote {out} in {time.perf_counter() - t0:.2f} s")
    sys.stdout.flush()
    return 0


__all__ = ["run_calibrate"]
