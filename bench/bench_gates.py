"""Analytic gate counts against Yosys (issue 16): per component of the periphery,
:mod:`golden.gates`' transistors and flip-flops beside Yosys's generic synthesis of the
generated Verilog (``stat -tech cmos``, :mod:`synth.gates`), for the default config and
three random configs (``golden.randcfg.random_spec`` seeds 4, 8, 25), with the
measured / analytic ratio and the accepted band."""

from __future__ import annotations

import time

from golden.randcfg import random_spec
from golden.spec import MacroSpec
from synth.gates import RATIO_TOLERANCE, compare

SEEDS = (4, 8, 25)


def _describe(spec: MacroSpec) -> str:
    m, a = spec.macro, spec.adc
    return (f"{m.rows}x{m.cols}, {a.bits}-bit {a.encoding}, sr {a.sr}, {m.mapping}, "
            f"k={a.columns_per_adc}")


def main(**_) -> dict:
    lo, hi = RATIO_TOLERANCE
    specs = [("default", MacroSpec())] + [(f"random {s}", random_spec(s)) for s in SEEDS]
    print("| config | component | analytic T | Yosys T | ratio | analytic FF | Yosys FF |")
    print("|---|---|---|---|---|---|---|")
    out, worst = {}, []
    for name, spec in specs:
        t0 = time.perf_counter()
        rows = compare(spec)
        wall = time.perf_counter() - t0
        out[name] = {"config": _describe(spec), "wall_s": wall, "components": {
            r.component: {"analytic_transistors": r.analytic_transistors,
                          "measured_transistors": r.measured_transistors,
                          "ratio": r.ratio, "analytic_ffs": r.analytic_ffs,
                          "measured_ffs": r.measured_ffs} for r in rows}}
        for r in rows:
            worst.append(r.ratio)
            print(f"| {name} ({_describe(spec)}) | {r.component} | {r.analytic_transistors:,} "
                  f"| {r.measured_transistors:,} | {r.ratio:.2f} | {r.analytic_ffs:,} "
                  f"| {r.measured_ffs:,} |")
        print(f"  ({name}: Yosys {wall:.1f} s)", flush=True)
    inside = all(lo <= w <= hi for w in worst)
    print(f"transistor ratio Yosys / analytic: {min(worst):.2f} .. {max(worst):.2f} "
          f"(band {lo} .. {hi}: {'inside' if inside else 'OUTSIDE'})")
    return {"configs": out, "ratio_min": min(worst), "ratio_max": max(worst),
            "band": [lo, hi], "inside": inside}


if __name__ == "__main__":
    main()
