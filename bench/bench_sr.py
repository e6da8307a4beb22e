"""Super-resolution throughput: vectorised combine + table look-up vs a Python loop.

The ReADC reference resolves the two ADCs' disagreements in a Python loop over the
disagreeing elements (about 0.5 M samples/s). golden.sr does the same with one
``a + b`` and one table look-up. Both run here on the same realised codes (two 4-bit
Lloyd-Max threshold ADCs with 1 % bound variation on Gaussian data); the loop runs on
a subset and its results are checked against the vectorised ones.

With ``readc_path`` (``python -m bench --readc PATH``), the ReADC reference
``super_resolution_quantize`` is timed on the same inputs and the same two realised ADCs,
and its values compared with cimgen's nominal SR.

Run: ``python bench/bench_sr.py [READC_CHECKOUT]``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from bench.readc import find_function
from golden import qcell, quantize, sr

N_SAMPLES = 10_000_000
N_LOOP = 500_000
N_CHAIN = 1_000_000
BITS = 4
SIGMA_PCT = 1.0
FS = (-4.0, 4.0)


def loop_reference(va, vb, levels, boundaries):
    """ReADC-style: start from ADC A's values and fix each disagreeing element in Python.

    Values that differ by one level become the boundary between them; values further
    apart (flagged by the periphery) get the midpoint rule of the nominal SR table.
    """
    out = va.copy()
    for i in np.flatnonzero(va != vb):
        ka = int(np.searchsorted(levels, va[i]))
        kb = int(np.searchsorted(levels, vb[i]))
        s = ka + kb
        out[i] = boundaries[s // 2] if s % 2 else levels[s // 2]
    return out


def _best(fn, repeat):
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def bench_readc(fn, x, q, bank_a, bank_b, ours: np.ndarray, codes) -> dict:
    """Time the ReADC ``super_resolution_quantize`` on ``x`` with the two realised ADCs
    (their sorted thresholds as its boundary sets, the nominal boundaries first, as it
    expects) and compare its values with cimgen's nominal SR (``ours``).

    It is written for torch tensors; without torch it gets numpy arrays, and a
    failure is reported as the reason it was skipped.
    """
    sets = [list(map(float, q.boundaries)),
            list(map(float, np.sort(bank_a.thresholds))),
            list(map(float, np.sort(bank_b.thresholds)))]
    try:
        import torch

        arg = torch.from_numpy(x)
    except ImportError:
        arg = x
    try:
        t0 = time.perf_counter()
        got = fn(arg, BITS, boundary_sets=sets, output_levels=list(map(float, q.levels)))
        t = time.perf_counter() - t0
    except Exception as exc:  # the reference code's own failure: report, do not crash
        return {"skipped": f"calling it failed: {exc!r}"}
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
    a, b = codes
    near = np.abs(a.astype(np.int16) - b.astype(np.int16)) <= 1
    return {"seconds": t, "samples_per_s": x.size / t,
            "equal_where_codes_differ_by_at_most_one": float(np.mean(got[near] == ours[near])),
            "samples_codes_differ_by_more": int(np.count_nonzero(~near)),
            "equal_elsewhere": float(np.mean(got[~near] == ours[~near])) if (~near).any()
            else None}


def main(n_samples: int = N_SAMPLES, n_loop: int = N_LOOP, seed: int = 0,
         readc_path=None) -> dict:
    """Measure and print SR throughput; return the rates (samples/s) and ratios."""
    rng = np.random.default_rng(seed)
    x = np.clip(rng.standard_normal(n_samples), *FS)
    q = quantize.lloyd_max(x[:100_000], BITS, full_scale=FS)
    table = sr.nominal_table(q)
    # The ones-counter code is the number of realised thresholds at or below x.
    a, b = (np.searchsorted(np.sort(qcell.realise(q.boundaries, "threshold", FS, rng,
                                                  sigma_pct=SIGMA_PCT).thresholds),
                            x, side="right").astype(np.uint8) for _ in range(2))
    disagree = float(np.mean(a != b))

    t_vec, (_, values, _) = _best(lambda: sr.sr_values(a, b, table), 3)
    va, vb = q.levels[a[:n_loop]], q.levels[b[:n_loop]]
    t_loop, ref = _best(lambda: loop_reference(va, vb, q.levels, q.boundaries), 1)
    if not np.array_equal(ref, values[:n_loop]):
        raise AssertionError("loop reference and sr_values disagree")

    bank_a = qcell.realise(q.boundaries, "threshold", FS, rng, sigma_pct=SIGMA_PCT)
    bank_b = qcell.realise(q.boundaries, "threshold", FS, rng, sigma_pct=SIGMA_PCT)
    xc = x[:N_CHAIN]
    t_chain, (_, sr_vals, _) = _best(lambda: sr.sr_quantize(xc, bank_a, bank_b, table),
                                            2)

    rows = [
        ("sr_values (combine + look-up)", n_samples, t_vec),
        ("Python loop over disagreements", n_loop, t_loop),
        ("sr_quantize (match+decode+SR)", N_CHAIN, t_chain),
    ]
    rate_vec = n_samples / t_vec
    print(f"SR throughput, {BITS}-bit threshold ADCs, {SIGMA_PCT} % bound variation, "
          f"{100 * disagree:.1f} % of samples disagree")
    print(f"{'path':<34}{'samples':>12}{'time s':>10}{'M samples/s':>13}{'vs loop':>9}")
    rates = {}
    for name, n, t in rows:
        rates[name] = n / t
        print(f"{name:<34}{n:>12,d}{t:>10.3f}{n / t / 1e6:>13.2f}"
              f"{(n / t) / (n_loop / t_loop):>8.1f}x")
    fn, note = find_function(readc_path, "super_resolution_quantize")
    readc = None
    if fn is not None:
        codes = tuple(np.count_nonzero(xc[:, None] >= bank.thresholds[None, :], axis=1)
                      for bank in (bank_a, bank_b))
        readc = bench_readc(fn, xc, q, bank_a, bank_b, sr_vals, codes)
        note = readc.pop("skipped", note) if "skipped" in readc else note
    if readc is None or "seconds" not in readc:
        print(f"ReADC super_resolution_quantize: skipped ({note})")
        readc = None
    else:
        print(f"ReADC super_resolution_quantize from {note}: {N_CHAIN:,d} samples in "
              f"{readc['seconds']:.3f} s = {readc['samples_per_s'] / 1e6:.2f} M samples/s; "
              f"sr_quantize is {(N_CHAIN / t_chain) / readc['samples_per_s']:.1f}x that; "
              f"values equal to cimgen's nominal SR on "
              f"{100 * readc['equal_where_codes_differ_by_at_most_one']:.2f} % of samples "
              f"whose codes differ by <= 1 ({readc['samples_codes_differ_by_more']} differ by "
              "more: there it takes the lower boundary, cimgen the table's midpoint entry)")
    return {
        "readc_sr": readc,
        "readc_sr_note": note,
        "n_samples": n_samples,
        "disagree_fraction": disagree,
        "vectorised_samples_per_s": rate_vec,
        "loop_samples_per_s": n_loop / t_loop,
        "chain_samples_per_s": N_CHAIN / t_chain,
        "speedup_vs_loop": rate_vec / (n_loop / t_loop),
    }


if __name__ == "__main__":
    main(readc_path=sys.argv[1] if len(sys.argv) > 1 else None)
