"""``cimgen calibrate``: data -> boundaries, levels, SR table, MSE report, JSON."""

from __future__ import annotations

import sys
import time

import numpy as np

from . import __version__
from .dataio import check_outputs, load_samples, write_json_atomic
from .errors import InputError

MAX_ABS = 1e100
"""Largest sample or full-scale magnitude: squared values (MSE, variance, the quantisers'
sums of squares over up to 2e8 samples) must stay finite in float64."""
MIN_SPREAD = 1e-100
"""Smallest spread (max - min) of the samples and the full scale: squared errors must
stay normal float64 numbers (not underflow to 0 or lose precision as denormals)."""


def _check_scale(lo: float, hi: float, what: str) -> None:
    big = max(abs(lo), abs(hi))
    if big > MAX_ABS:
        raise InputError(
            f"{what}: values up to {big:.3g} in magnitude; their squares (MSE, variance) "
            f"overflow float64; allowed: magnitudes up to {MAX_ABS:g} (rescale the data, "
            "e.g. to partial-sum units)"
        )
    if hi - lo < MIN_SPREAD:
        raise InputError(
            f"{what}: spans only {hi - lo:.3g} (from {lo:.6g} to {hi:.6g}); its squared "
            f"errors underflow float64; allowed: a spread (max - min) of at least "
            f"{MIN_SPREAD:g} (rescale the data)"
        )


def _check_distinct(x: np.ndarray, bits: int, source: str, fs, methods, sr: str) -> None:
    """Lloyd-Max and the optimal quantiser place one level per cell on distinct values."""
    adaptive = [m for m in methods if m != "uniform"]
    if not adaptive:
        return
    interleaved = sr == "interleaved"
    need = (2 << bits) - 1 if interleaved else 1 << bits
    for part in (x[:100_000], x):   # a prefix settles almost every real data set
        v = np.clip(part, fs[0], fs[1]) if fs else part
        distinct = int(np.unique(v).size)
        if distinct >= need:
            return
    fit = int(np.log2(distinct + 1)) - 1 if interleaved else int(np.log2(distinct))
    what = (f"the {need} levels of the fine quantiser of --sr interleaved at {bits} bits"
            if interleaved else f"the {need} levels of a {bits}-bit ADC")
    allowed = (f"--bits {fit} or fewer, or " if fit >= 1 else "") + "--method uniform"
    raise InputError(
        f"DATA {source!r}: {distinct} distinct value(s)"
        + (" inside --full-scale" if fs else "")
        + f", fewer than {what}; {' and '.join(adaptive)} need at least {need}; "
        f"allowed: {allowed}"
    )


def _check_samples(x: np.ndarray, bits: int, source: str, full_scale, methods=(),
                   sr: str = "none") -> None:
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
    _check_scale(lo, hi, f"DATA {source!r}")
    if full_scale is not None:
        flo, fhi = full_scale
        if not flo < fhi:
            raise InputError(f"--full-scale {flo:g} {fhi:g}: LO must be less than HI")
        _check_scale(flo, fhi, f"--full-scale {flo:g} {fhi:g}")
        inside = int(np.count_nonzero((x >= flo) & (x <= fhi)))
        if inside < levels:
            raise InputError(
                f"--full-scale {flo:g} {fhi:g}: only {inside} sample(s) inside it, fewer "
                f"than the {levels} levels; allowed: a range that covers the data"
            )
    _check_distinct(x, bits, source, full_scale, methods, sr)


def _clipped(x: np.ndarray, full_scale) -> dict:
    """Samples outside the full scale (they go to the end codes)."""
    below = int(np.count_nonzero(x < full_scale[0]))
    above = int(np.count_nonzero(x > full_scale[1]))
    return {"below_lo": below, "above_hi": above,
            "below_lo_pct": 100.0 * below / x.size, "above_hi_pct": 100.0 * above / x.size}


def _strict_json(v):
    """``v`` with every non-finite float as the string "inf", "-inf" or "nan" (strict JSON
    has no such numbers; a lossless SR table, for one, has SQNR +inf)."""
    if isinstance(v, dict):
        return {k: _strict_json(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_strict_json(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return str(v)
    return v


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
    check_outputs(inputs=[("DATA", args.data)], files=[("-o", args.out)],
                  force=getattr(args, "force", False))
    x, dropped = load_samples(
        args.data, key=args.key, column=args.column, drop_nonfinite=args.drop_nonfinite
    )
    fs = tuple(args.full_scale) if args.full_scale else None
    methods = METHODS if args.method == "all" else (args.method,)
    _check_samples(x, args.bits, args.data, fs, methods, args.sr)
    rng = np.random.default_rng(args.seed)
    results = calibrate_adc(
        x, args.bits, methods=methods, sr_mode=args.sr, encoding=args.encoding,
        variation_pct=args.variation, guard_pct=args.guard, rng=rng, full_scale=fs,
    )
    full_scale = fs if fs is not None else (float(x.min()), float(x.max()))
    clipped = _clipped(x, full_scale)

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
        "clipped": clipped,
        "conventions": {
            "code": "number of boundaries <= x (a value on a boundary goes to the upper "
                    "code); inputs outside the full scale clip to the end codes",
            "clipped": "samples below LO / above HI of the full scale (percent of all)",
            "sr_index": "a + b; even entries levels, odd entries boundaries (nominal)",
            "sqnr": "10*log10(var(x) / MSE)",
            "non_finite": 'a figure that is not finite (SQNR of a lossless ADC) is the '
                          'string "inf", "-inf" or "nan"',
        },
        "methods": {m: r.to_json() for m, r in results.items()},
    }
    out = write_json_atomic(args.out, _strict_json(doc))
    print(
        f"calibrated a {args.bits}-bit {args.encoding} Q-cell ADC on {x.size} samples from "
        f"{args.data} (full scale [{full_scale[0]:.6g}, {full_scale[1]:.6g}]"
        + (f", {dropped} non-finite dropped" if dropped else "") + ")"
    )
    print(_table(rows, header))
    if fs is not None:
        print(f"clipped by --full-scale: {clipped['below_lo']} sample(s) "
              f"({clipped['below_lo_pct']:.2f} %) below LO {fs[0]:g}, {clipped['above_hi']} "
              f"({clipped['above_hi_pct']:.2f} %) above HI {fs[1]:g}; they go to the end codes")
    print(f"wrote {out} in {time.perf_counter() - t0:.2f} s")
    sys.stdout.flush()
    return 0


__all__ = ["run_calibrate"]
