"""Periphery resources and Fmax per ``adc.columns_per_adc`` (issue 15's per-k table).

The default config (``examples/default.toml``: 64 x 8, 4-bit inputs and window ADCs,
4-bit weights in two 2-bit slices, differential: 32 physical columns) with
``adc.columns_per_adc = k`` for k in 1, 2, 4, 8, on the iCE40 UP5K of the iCEBreaker
and the ECP5 LFE5U-85F of the ULX3S, through :func:`synth.flow.synthesize` (YoWASP
Yosys and nextpnr, the ``auto`` memory policy). Two builds per point:

* **flat** (what ``cimgen synth --report-only`` builds): the periphery's Yosys cells
  (LUT4, flip-flops, block RAM), nextpnr's placed cells of the whole design (the scan
  harness included: iCE40 logic cells ``ICESTORM_LC``, ECP5 ``TRELLIS_COMB``) and
  its Fmax (placement seed 1);
* **per component** (``SynthOptions(components=True, place=False)``): the same
  periphery with its decoders, LUT, shift-add and the top's own logic ("control")
  kept as separate modules through Yosys, for the split. No logic is shared across
  those boundaries, so the components' sum is printed beside the flat total.

**Hand estimate.** Issue 15 gives two figures for a careful hand design of this
config: about 3.2k iCE40 logic cells at II = 1 (k = 1) and about 1.1k with one ADC
shared by 8 columns. Its parts either scale with the number of ADC groups (decoders,
LUT read ports, the value registers and the combine of each group: ``1/k``) or do not
(one accumulator per logical column, stream control), so ``hand(k) = F + G / k`` with
``F + G = 3200`` and ``F + G / 8 = 1100``: ``F = 800``, ``G = 2400`` (2.0k at k = 2,
1.4k at k = 4). The ratio is the placed cells over ``hand(k)``; on ECP5 (a
``TRELLIS_COMB`` is one LUT4 slot, the hand estimate counts iCE40 cells of a LUT4 and
a flip-flop) it is only indicative.

Builds run on a small spawn pool (``WORKERS``) and write under
``build/bench/resources/`` (nothing in the source tree, nothing reused between runs).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "examples" / "default.toml"
DEVICES = (("icebreaker", "iCE40 UP5K"), ("ulx3s-85f", "ECP5 LFE5U-85F"))
KS = (1, 2, 4, 8)
COMPONENTS = ("decoders", "lut", "shift_add", "control")
OUT = Path("build") / "bench" / "resources"
WORKERS = 2
HAND_K1, HAND_K8 = 3200, 1100
"""Issue 15's hand estimates (iCE40 logic cells) at k = 1 and k = 8."""


def hand_estimate(k: int) -> float:
    """``F + G / k`` through the issue's two figures (see the module docstring)."""
    g = (HAND_K1 - HAND_K8) / (1 - 1 / 8)
    return HAND_K1 - g + g / k


def spec_for(k: int):
    """The default config with ``adc.columns_per_adc = k``."""
    from cimgen.config import load_config

    return load_config(DEFAULT).replace(adc={"columns_per_adc": k})


def _build(board: str, k: int, components: bool, out: str) -> dict:
    """One report-only build (runs in a worker process)."""
    from synth.boards import get_board
    from synth.flow import SynthOptions, synthesize

    t0 = time.perf_counter()
    opts = SynthOptions(board=get_board(board), report_only=True, components=components,
                        place=not components)
    rep = synthesize(spec_for(k), opts, Path(out))
    row = {"board": board, "k": k, "components": components,
           "resources": rep["resources"], "seconds": time.perf_counter() - t0}
    if components:
        row["per_component"] = rep["components"]
    else:
        clocks = rep["timing"]["clocks"]
        placed = rep["placed"]
        cells = placed.get("lcs", placed.get("luts", {}))
        row.update(fmax_mhz=min(c["fmax_mhz"] for c in clocks) if clocks else None,
                   fits=rep["fits"], placed=cells.get("used"),
                   available=cells.get("available"),
                   harness={"luts": rep["harness"]["luts"], "ffs": rep["harness"]["ffs"]},
                   bram_ports=rep["memory"].get("ports"))
    return row


def _key(board: str, k: int, components: bool) -> str:
    return f"{board}-k{k}-{'components' if components else 'flat'}"


def _tools_missing() -> str | None:
    from synth.tools import ToolMissing, find_tool

    try:
        for name in ("yosys", "nextpnr-ice40", "nextpnr-ecp5"):
            find_tool(name)
    except ToolMissing as e:
        return str(e)
    return None


def _run_all(jobs: list, workers: int, out: Path) -> tuple[dict, dict]:
    rows: dict[str, dict] = {}
    failed: dict[str, str] = {}
    ctx = multiprocessing.get_context("spawn")  # no forked Amaranth/threads state
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futs = {pool.submit(_build, *j, str(out / _key(*j))): _key(*j) for j in jobs}
        for i, fut in enumerate(cf.as_completed(futs), 1):
            key = futs[fut]
            try:
                rows[key] = r = fut.result()
            except Exception as e:  # a failed build is reported, the others go on
                failed[key] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                print(f"  [{i:2d}/{len(jobs)}] {key}: FAILED {failed[key]}", flush=True)
                continue
            res = r["resources"]
            print(f"  [{i:2d}/{len(jobs)}] {key}: {res['luts']} LUT4, {res['ffs']} FF, "
                  f"{res['bram']} BRAM ({r['seconds']:.1f} s)", flush=True)
    return rows, failed


def main(workers: int = WORKERS, ks=KS, out=OUT) -> dict:
    why = _tools_missing()
    if why:
        print(f"skipped: {why}")
        return {"skipped": why}
    # the slow flat builds first, so that the pool ends on short ones
    jobs = [(b, k, comp) for comp in (False, True) for b, _ in DEVICES for k in ks]
    out = Path(out)
    print(f"{len(jobs)} builds on {workers} worker processes (outputs under {out}/)",
          flush=True)
    t0 = time.perf_counter()
    rows, failed = _run_all(jobs, workers, out)
    wall = time.perf_counter() - t0
    print(f"{len(rows)} builds in {wall:.0f} s wall "
          f"({sum(r['seconds'] for r in rows.values()):.0f} s of builds)")
    table = format_table(rows, ks)
    print("\n" + table)
    return {"config": str(DEFAULT.relative_to(ROOT)), "builds": list(rows.values()),
            "failed": failed, "table": table, "wall_s": wall,
            "hand_estimate": {k: hand_estimate(k) for k in ks}}


def _fmt(v, spec="d") -> str:
    return "-" if v is None else format(v, spec)


def format_table(rows: dict, ks=KS) -> str:
    """The markdown table of :func:`main`'s builds (missing builds as ``-``)."""
    head = ["device", "k", *(f"{c} LUT4/FF/BRAM" for c in COMPONENTS), "sum LUT4/FF",
            "flat LUT4/FF/BRAM", "placed cells", "Fmax MHz", "hand", "ratio"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for board, label in DEVICES:
        for k in ks:
            flat = rows.get(_key(board, k, False))
            comp = rows.get(_key(board, k, True))
            cells = [label, str(k)]
            for c in COMPONENTS:
                r = comp["per_component"][c] if comp else None
                cells.append(f"{r['luts']}/{r['ffs']}/{r['bram']}" if r else "-")
            s = comp["resources"] if comp else None
            cells.append(f"{s['luts']}/{s['ffs']}" if s else "-")
            f = flat["resources"] if flat else None
            cells.append(f"{f['luts']}/{f['ffs']}/{f['bram']}" if f else "-")
            placed = flat.get("placed") if flat else None
            fits = "" if not flat or flat["fits"] else " (does not fit)"
            cells.append(f"{_fmt(placed)}{fits}")
            cells.append(_fmt(flat.get("fmax_mhz") if flat else None, ".1f"))
            hand = hand_estimate(k)
            cells.append(f"{hand:.0f}")
            cells.append(f"{placed / hand:.2f}" if placed else "-")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
