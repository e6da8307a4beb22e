"""Benchmark of golden.quantize: quantiser design time and quality, quantisation throughput.

Compares, on the same Gaussian samples:

* a textbook Lloyd-Max loop (one boolean mask over all samples per level and iteration,
  written here as the baseline) against :func:`golden.quantize.lloyd_max` run for the
  same number of iterations from the same uniform start (equal work, equal result);
* ``lloyd_max`` to convergence and :func:`golden.quantize.optimal` (time and MSE);
* optionally the ReADC reference ``lloyd_max_algorithm`` (``readc_path``: a checkout of
  its code), time-limited, on the same data;
* the throughput of :func:`golden.quantize.quantize`.

Run ``python bench/bench_quantize.py [READC_CHECKOUT]``. Writes no files.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import sys
import time

import numpy as np

from bench.readc import find_function
from golden import quantize as q

SIZES = (100_000, 1_000_000)
BITS = (3, 4, 5, 6)
TEXTBOOK_ITER = 150
READC_CASES = ((100_000, 5), (1_000_000, 5))
READC_TIME_LIMIT = 20.0


def textbook_lloyd_max(x: np.ndarray, n_levels: int, max_iter: int, tol: float = 1e-10):
    """Plain Lloyd-Max: per-level boolean masks over all samples every iteration.

    Uniform start over ``(min, max)``; an empty cell keeps its level. Returns
    ``(levels, iterations)``.
    """
    lo, hi = float(x.min()), float(x.max())
    levels = lo + (hi - lo) / n_levels * (np.arange(n_levels) + 0.5)
    prev = np.inf
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        edges = np.concatenate(([-np.inf], 0.5 * (levels[:-1] + levels[1:]), [np.inf]))
        sse = 0.0
        for k in range(n_levels):
            cell = x[(x >= edges[k]) & (x < edges[k + 1])]
            if cell.size:
                levels[k] = cell.mean()
                sse += float(np.sum((cell - levels[k]) ** 2))
        if prev - sse <= tol * sse:
            break
        prev = sse
    return levels, iterations


def _mse(x: np.ndarray, boundaries, levels) -> float:
    return float(np.mean((x - q.quantize(x, boundaries, levels)[1]) ** 2))


def _timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def _bench_design(rng) -> list[dict]:
    rows = []
    for n in SIZES:
        x = rng.standard_normal(n)
        for bits in BITS:
            k = 1 << bits
            (tb_levels, tb_iter), t_tb = _timed(textbook_lloyd_max, x, k, TEXTBOOK_ITER)
            same, t_same = _timed(q.lloyd_max, x, bits, tol=0.0, max_iter=TEXTBOOK_ITER)
            conv, t_conv = _timed(q.lloyd_max, x, bits)
            opt, t_opt = _timed(q.optimal, x, bits)
            tb_mse = _mse(x, 0.5 * (tb_levels[:-1] + tb_levels[1:]), tb_levels)
            rows.append({
                "n": n, "bits": bits,
                "textbook_s": t_tb, "textbook_iter": tb_iter,
                "textbook_capped": tb_iter == TEXTBOOK_ITER,
                "textbook_mse": tb_mse,
                "lloyd_same_iter_s": t_same,
                "lloyd_same_iter_mse": _mse(x, same.boundaries, same.levels),
                "lloyd_s": t_conv, "lloyd_mse": _mse(x, conv.boundaries, conv.levels),
                "optimal_s": t_opt, "optimal_mse": _mse(x, opt.boundaries, opt.levels),
            })
    return rows


def _bench_readc(fn, rng) -> list[dict]:
    kwargs = {}
    params = inspect.signature(fn).parameters
    if "time_limit" in params:
        kwargs["time_limit"] = READC_TIME_LIMIT
    rows = []
    for n, bits in READC_CASES:
        x = rng.standard_normal(n)
        with contextlib.redirect_stdout(io.StringIO()):
            (edges, levels), t_ref = _timed(fn, x, bits, **kwargs)
        ours, t_ours = _timed(q.lloyd_max, x, bits)
        edges = np.asarray(edges, dtype=np.float64)
        # Its boundaries include min and max; score its interior ones with our convention.
        rows.append({
            "n": n, "bits": bits, "readc_s": t_ref,
            "readc_mse": _mse(x, edges[1:-1], np.asarray(levels, dtype=np.float64)),
            "lloyd_s": t_ours, "lloyd_mse": _mse(x, ours.boundaries, ours.levels),
        })
    return rows


def _bench_quantize(rng, n: int = 10_000_000, bits: int = 4, repeats: int = 3) -> dict:
    x = rng.standard_normal(n)
    quant = q.lloyd_max(x[:100_000], bits)
    best = min(_timed(quant.quantize, x)[1] for _ in range(repeats))
    return {"n": n, "bits": bits, "seconds": best, "samples_per_s": n / best}


def main(readc_path=None) -> dict:
    """Run the benchmark, print tables, return the measurements.

    Parameters
    ----------
    readc_path : str or Path, optional
        A checkout of the ReADC reference code; its ``lloyd_max_algorithm`` is timed
        (with a time limit of ``READC_TIME_LIMIT`` s per run) when found.

    Returns
    -------
    dict
        ``design`` (rows per size and bits), ``readc`` (rows or ``None``),
        ``readc_note`` (source or why skipped), ``quantize`` (throughput).
    """
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    design = _bench_design(rng)
    print(f"Quantiser design on N(0,1) samples. Textbook loop and lloyd_max(same) both run "
          f"{TEXTBOOK_ITER} Lloyd iterations from the same uniform start (* = textbook "
          f"stopped by the iteration cap, not converged); lloyd_max(conv) and optimal run "
          f"to completion. Times include sorting.")
    head = (f"{'n':>9} {'bits':>4} | {'textbook s':>10} {'same s':>8} {'ratio':>7} | "
            f"{'lloyd s':>8} {'lloyd MSE':>10} | {'optimal s':>9} {'opt MSE':>10} "
            f"{'LM/opt':>7} | {'tb MSE (it)':>15}")
    print(head)
    print("-" * len(head))
    for r in design:
        cap = "*" if r["textbook_capped"] else " "
        print(f"{r['n']:>9} {r['bits']:>4} | {r['textbook_s']:>10.3f} "
              f"{r['lloyd_same_iter_s']:>8.4f} {r['textbook_s'] / r['lloyd_same_iter_s']:>6.0f}x | "
              f"{r['lloyd_s']:>8.3f} {r['lloyd_mse']:>10.4g} | {r['optimal_s']:>9.3f} "
              f"{r['optimal_mse']:>10.4g} {r['lloyd_mse'] / r['optimal_mse']:>7.4f} | "
              f"{r['textbook_mse']:>10.4g} ({r['textbook_iter']:>3}{cap}) "
              f"{r['lloyd_same_iter_mse']:>10.4g}")

    fn, note = find_function(readc_path, "lloyd_max_algorithm")
    readc = None
    if fn is None:
        print(f"\nReADC lloyd_max_algorithm: skipped ({note})")
    else:
        readc = _bench_readc(fn, rng)
        print(f"\nReADC lloyd_max_algorithm from {note} (time limit {READC_TIME_LIMIT:g} s; "
              f"MSE scored with cimgen's conventions)")
        print(f"{'n':>9} {'bits':>4} | {'ReADC s':>8} {'ReADC MSE':>10} | {'lloyd s':>8} "
              f"{'lloyd MSE':>10} | {'speedup':>8}")
        for r in readc:
            print(f"{r['n']:>9} {r['bits']:>4} | {r['readc_s']:>8.2f} {r['readc_mse']:>10.4g} | "
                  f"{r['lloyd_s']:>8.3f} {r['lloyd_mse']:>10.4g} | "
                  f"{r['readc_s'] / r['lloyd_s']:>7.1f}x")

    qt = _bench_quantize(rng)
    print(f"\nquantize: {qt['n']:.0e} samples, {qt['bits']} bits: {qt['seconds']:.3f} s, "
          f"{qt['samples_per_s'] / 1e6:.1f} M samples/s (target >= 20)")
    total = time.perf_counter() - t0
    print(f"total bench time {total:.1f} s")
    return {"design": design, "readc": readc, "readc_note": note, "quantize": qt,
            "total_s": total}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
