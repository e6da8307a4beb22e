"""Super-resolution throughput: vectorised combine + table look-up vs a Python loop.

The ReADC reference resolves the two ADCs' disagreements in a Python loop over the
disagreeing elements (about 0.5 M samples/s). golden.sr does the same with one
``a + b`` and one table look-up. Both run here on the same realised codes (two 4-bit
Lloyd-Max threshold ADCs with 1 % bound variation on Gaussian data); the loop runs on
a subset and its results are checked against the vectorised ones.

Run: ``python bench/bench_sr.py``.
"""

from __future__ import annotations

import time

import numpy as np

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


def main(n_samples: int = N_SAMPLES, n_loop: int = N_LOOP, seed: int = 0) -> dict:
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
    t_chain, _ = _best(lambda: sr.sr_quantize(xc, bank_a, bank_b, table), 2)

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
    return {
        "n_samples": n_samples,
        "disagree_fraction": disagree,
        "vectorised_samples_per_s": rate_vec,
        "loop_samples_per_s": n_loop / t_loop,
        "chain_samples_per_s": N_CHAIN / t_chain,
        "speedup_vs_loop": rate_vec / (n_loop / t_loop),
    }


if __name__ == "__main__":
    main()
