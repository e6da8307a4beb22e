"""Benchmark of the whole golden macro (analog + Q-cell ADCs + bit-exact digital path).

The issue's shape: 256 x 256, 8-bit signed inputs and weights, 2-bit cells, differential
(2048 physical columns), super-resolution on (two 4-bit window ADCs per column,
calibrated SR table), programming error, read noise and Q-cell variation on, a batch of
256 vectors. Target: the full MVM within 5x the bare bit-serial float64 matmuls of the
same shapes (:func:`bench.bench_crossbar.bare_matmul_seconds`), measured in the same run;
peak memory under 2 GiB. Also the stage split (analog / conversion / digital).
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from bench.bench_crossbar import bare_matmul_seconds, best_seconds
from golden import digital
from golden.macro import Macro
from golden.spec import MacroSpec

BATCH = 256


def bench_spec(rows: int = 256) -> MacroSpec:
    return MacroSpec.from_dict({
        "macro": {"rows": rows, "cols": rows, "input_bits": 8, "input_signed": True,
                  "weight_bits": 8, "cell_bits": 2, "mapping": "differential"},
        "adc": {"bits": 4, "sr": "calibrated"},
        "device": {"program_sigma": "readc-fig3c", "read_sigma_us": 0.2,
                   "bound_variation_pct": 0.5},
    })


def main(batch: int = BATCH, repeats: int = 9) -> dict:
    spec = bench_spec()
    rng = np.random.default_rng(0)
    m = spec.macro
    w = rng.integers(*m.weight_range, (m.rows, m.cols), endpoint=True)
    x = rng.integers(*m.input_range, (batch, m.rows), endpoint=True)
    t = time.perf_counter()
    mac = Macro(spec, w)
    mac.calibrate(x)
    setup = time.perf_counter() - t
    t_full = best_seconds(lambda: mac.run(x), repeats)
    sig = mac.crossbar.column_signals(x)
    t_analog = best_seconds(lambda: mac.crossbar.column_signals(x), repeats)
    t_conv = best_seconds(lambda: mac.convert_accumulate(sig), repeats)
    acc, _ = mac.convert_accumulate(sig)
    t_dig = best_seconds(lambda: digital.combine_columns(acc, spec), repeats)
    t_bare = bare_matmul_seconds(spec, batch, rng, repeats=repeats)
    tracemalloc.start()
    mac.run(x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    ratio = t_full / t_bare
    print(f"256x256 macro, 8b x 8b, 2-bit cells, differential, SR calibrated, noise on, "
          f"batch {batch}")
    print(f"{'stage':36s} {'ms':>9s} {'x bare f64':>11s}")
    for name, v in (("bare bit-serial float64 matmuls", t_bare),
                    ("full golden MVM (Macro.run)", t_full),
                    ("  analog (column_signals)", t_analog),
                    ("  Q-cell conversion, SR, LUT, Horner", t_conv),
                    ("  slice/polarity combine", t_dig)):
        print(f"{name:36s} {1e3 * v:9.1f} {v / t_bare:11.2f}")
    verdict = "met" if ratio <= 5 else "MISSED"
    print(f"full / bare = {ratio:.2f} (target <= 5: {verdict}); {batch / t_full:,.0f} MVM/s; "
          f"peak memory {peak / 2**20:.0f} MiB (target < 2048); setup + calibration "
          f"{setup:.2f} s")
    sizes = {}
    print(f"\n{'rows x cols':12s} {'bare f64 ms':>12s} {'full ms':>9s} {'ratio':>7s} "
          f"{'MVM/s':>9s}")
    for rows in (64, 128, 256):
        sp = bench_spec(rows)
        mm = sp.macro
        ws = rng.integers(*mm.weight_range, (mm.rows, mm.cols), endpoint=True)
        xs = rng.integers(*mm.input_range, (batch, mm.rows), endpoint=True)
        mc = Macro(sp, ws)
        mc.calibrate(xs)
        tf = best_seconds(lambda mc=mc, xs=xs: mc.run(xs), repeats)
        tb = bare_matmul_seconds(sp, batch, rng, repeats=repeats)
        sizes[rows] = {"full_s": tf, "bare_f64_s": tb, "ratio": tf / tb,
                       "mvm_per_s": batch / tf}
        print(f"{rows:4d} x {rows:<5d} {1e3 * tb:12.2f} {1e3 * tf:9.2f} {tf / tb:7.2f} "
              f"{batch / tf:9,.0f}")
    return {"bare_f64_s": t_bare, "full_s": t_full, "analog_s": t_analog,
            "conversion_s": t_conv, "digital_s": t_dig, "ratio": ratio,
            "mvm_per_s": batch / t_full, "peak_bytes": peak, "setup_s": setup,
            "sizes": sizes}


if __name__ == "__main__":
    main()
