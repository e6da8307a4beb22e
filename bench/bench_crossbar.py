"""Benchmark of golden.crossbar: the analog half of the macro against bare matmuls.

A 256 x 256 macro, 8-bit signed inputs and weights, 2-bit cells, differential mapping
(2048 physical columns), programming error and read noise on, a batch of 256 vectors.
Times, in the same run:

* :meth:`golden.crossbar.Crossbar.column_signals` (noise on, read noise off, ideal);
* the bare bit-serial matmul of the same shapes, bit planes ``(batch * input_bits, rows)``
  @ conductances ``(rows, phys_cols)`` in numpy, float32 and float64
  (:func:`bare_matmul_seconds`, reusable by the end-to-end benchmark);

and reports the ratios, analog MVMs per second (one MVM = one input vector through all
its bit cycles) and the peak memory of one ``column_signals`` call (tracemalloc).

Run ``python bench/bench_crossbar.py``. Writes no files.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from golden.crossbar import Crossbar
from golden.spec import MacroSpec

BATCH = 256
REPEATS = 9


def bench_spec(**device) -> MacroSpec:
    """The benchmark macro (device keys override the defaults)."""
    return MacroSpec.from_dict({
        "macro": {"rows": 256, "cols": 256, "input_bits": 8, "input_signed": True,
                  "weight_bits": 8, "cell_bits": 2, "mapping": "differential"},
        "device": {"program_sigma": "readc-fig3c", "read_sigma_us": 0.2, **device},
    })


def best_seconds(fn, repeats: int = REPEATS) -> float:
    """Best of ``repeats`` timed calls after a warm-up (the least disturbed by other
    load on a shared machine)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.min(times))


def bare_matmul_seconds(spec: MacroSpec, batch: int, rng: np.random.Generator, *,
                        dtype=np.float64, repeats: int = REPEATS) -> float:
    """Best-of-``repeats`` time of the bare bit-serial matmul of a macro's shapes.

    Parameters
    ----------
    spec : MacroSpec
        Gives ``rows``, ``input_bits`` and ``phys_cols``.
    batch : int
        Input vectors per call.
    rng : numpy.random.Generator
        Source of the random bit planes and conductances.
    dtype : numpy dtype
        Arithmetic of the matmul.
    repeats : int
        Timed repetitions after one warm-up.

    Returns
    -------
    float
        Seconds for ``(batch * input_bits, rows) @ (rows, phys_cols)``.
    """
    m = spec.macro
    bits = (rng.random((batch * m.input_bits, m.rows)) < 0.5).astype(dtype)
    g = rng.uniform(spec.device.g_min_us, spec.device.g_max_us,
                    (m.rows, m.phys_cols)).astype(dtype)
    return best_seconds(lambda: bits @ g, repeats)


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(batch: int = BATCH) -> dict:
    """Run the benchmark, print a table, return the numbers."""
    rng = np.random.default_rng(0)
    spec = bench_spec()
    m = spec.macro
    lo, hi = m.weight_range
    w = rng.integers(lo, hi + 1, (m.rows, m.cols))
    xlo, xhi = m.input_range
    x = rng.integers(xlo, xhi + 1, (batch, m.rows))

    t = time.perf_counter()
    xb = Crossbar(spec, w)
    build_s = time.perf_counter() - t
    quiet = Crossbar(bench_spec(read_sigma_us=0.0), w)

    bare32 = bare_matmul_seconds(spec, batch, rng, dtype=np.float32)
    bare64 = bare_matmul_seconds(spec, batch, rng, dtype=np.float64)
    noisy = best_seconds(lambda: xb.column_signals(x))
    no_read = best_seconds(lambda: quiet.column_signals(x))
    ideal = best_seconds(lambda: xb.column_signals(x, ideal=True))
    peak = _peak_bytes(lambda: xb.column_signals(x))
    out_bytes = batch * m.input_bits * m.phys_cols * 8

    rows = [
        ("bare matmul float32", bare32),
        ("bare matmul float64", bare64),
        ("column_signals, noise on", noisy),
        ("column_signals, no read noise", no_read),
        ("column_signals, ideal", ideal),
    ]
    print(f"macro {m.rows}x{m.cols}, {m.input_bits}-bit signed inputs, {m.weight_bits}-bit "
          f"weights, {m.cell_bits}-bit cells, {m.mapping}: {m.phys_cols} physical columns; "
          f"batch {batch}; signal matmul in {xb.compute_dtype}")
    print(f"{'stage':34s} {'ms':>9s} {'x bare f32':>11s} {'x bare f64':>11s} {'MVM/s':>10s}")
    for name, sec in rows:
        print(f"{name:34s} {sec * 1e3:9.2f} {sec / bare32:11.2f} {sec / bare64:11.2f} "
              f"{batch / sec:10.0f}")
    print(f"Crossbar construction (static draws): {build_s * 1e3:.1f} ms")
    print(f"peak traced memory of column_signals (noise on): {peak / 2**20:.1f} MiB "
          f"(output alone {out_bytes / 2**20:.1f} MiB)")
    return {
        "batch": batch,
        "phys_cols": m.phys_cols,
        "compute_dtype": str(xb.compute_dtype),
        "build_s": build_s,
        "bare_matmul_f32_s": bare32,
        "bare_matmul_f64_s": bare64,
        "column_signals_s": noisy,
        "column_signals_no_read_noise_s": no_read,
        "column_signals_ideal_s": ideal,
        "ratio_vs_bare_f32": noisy / bare32,
        "ratio_vs_bare_f64": noisy / bare64,
        "analog_mvm_per_s": batch / noisy,
        "peak_bytes": peak,
        "output_bytes": out_bytes,
    }


if __name__ == "__main__":
    main()
