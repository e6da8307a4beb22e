"""FPGA cost of one column's periphery: resources and Fmax per decoder and ADC bits.

One logical column (``cols = 1``, 16 rows, 4-bit unsigned inputs, 2-bit signed weights
in one 2-bit slice, differential mapping: two physical columns, + and -) through the
report-only flow of :func:`synth.flow.synthesize` (Amaranth -> Yosys -> nextpnr, the
YoWASP tools of the venv), out of context in the scan harness, on the iCE40 UP5K of the
iCEBreaker and the ECP5 LFE5U-85F of the ULX3S. Per device, ADC bits 3..6 and decoder
(window priority; threshold ones-counter; threshold majority), once with one ADC per
physical column and once with super-resolution (``sr = "nominal"``: two ADCs per
column, their codes combined and looked up in the 2^(N+1) - 1 entry SR LUT). Resources
are Yosys ``stat`` of the periphery module alone (the harness excluded); Fmax is
nextpnr's for the whole placed design (periphery paths dominate: the harness adds one
LUT level). Each LUT read port takes its own block RAM on both families, as far as the
device has blocks (the flow's ``auto`` memory policy: on iCE40 the rest in logic, on
ECP5 in LUT RAM).

Builds are independent and run on a small process pool; every build writes under
``build/bench/fpga/`` (nothing in the source tree, nothing reused between runs).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import time
from pathlib import Path

from golden.spec import DECODERS as ALLOWED
from golden.spec import MacroSpec

DEVICES = (("icebreaker", "iCE40 UP5K"), ("ulx3s-85f", "ECP5 LFE5U-85F"))
BITS = (3, 4, 5, 6)
DECODERS = tuple((enc, dec) for enc, decs in ALLOWED.items() for dec in decs)
"""Every (encoding, decoder) pair the spec allows, window priority first."""
SR = ("none", "nominal")
OUT = Path("build") / "bench" / "fpga"
WORKERS = 2


def column_spec(bits: int, encoding: str, sr: str, decoder: str = "auto") -> MacroSpec:
    """One logical column's periphery (two physical columns, + and -)."""
    return MacroSpec.from_dict({
        "macro": {"rows": 16, "cols": 1, "input_bits": 4, "weight_bits": 2,
                  "cell_bits": 2, "mapping": "differential"},
        "adc": {"bits": bits, "encoding": encoding, "sr": sr, "decoder": decoder},
    })


def _key(board: str, enc: str, dec: str, bits: int, sr: str) -> str:
    return f"{board}-{enc}-{dec}-b{bits}-sr_{sr}"


def _build(board: str, enc: str, dec: str, bits: int, sr: str, out: str) -> dict:
    """One report-only build (runs in a worker process)."""
    from synth.boards import get_board
    from synth.flow import SynthOptions, synthesize

    t0 = time.perf_counter()
    rep = synthesize(column_spec(bits, enc, sr, dec),
                     SynthOptions(board=get_board(board), report_only=True),
                     Path(out))
    clocks = rep["timing"]["clocks"]
    res = rep["resources"]
    return {"board": board, "encoding": enc, "decoder": dec, "bits": bits, "sr": sr,
            "luts": res["luts"], "ffs": res["ffs"], "carry": res["carry"],
            "bram": res.get("bram", 0), "lutram": res.get("lutram", 0),
            "fmax_mhz": min(c["fmax_mhz"] for c in clocks) if clocks else None,
            "fits": rep["fits"], "seconds": time.perf_counter() - t0,
            "stages": {s["stage"]: s["seconds"] for s in rep["stages"]}}


def _tools_missing() -> str | None:
    from synth.tools import ToolMissing, find_tool

    try:
        for name in ("yosys", "nextpnr-ice40", "nextpnr-ecp5"):
            find_tool(name)
    except ToolMissing as e:
        return str(e)
    return None


def main(workers: int = WORKERS, bits=BITS, out=OUT) -> dict:
    why = _tools_missing()
    if why:
        print(f"skipped: {why}")
        return {"skipped": why}
    jobs = [(b, enc, dec, n, sr) for b, _ in DEVICES for enc, dec in DECODERS
            for n in bits for sr in SR]
    out = Path(out)
    print(f"{len(jobs)} report-only builds on {workers} worker processes "
          f"(outputs under {out}/)", flush=True)
    t0 = time.perf_counter()
    rows: dict[str, dict] = {}
    failed: dict[str, str] = {}
    ctx = multiprocessing.get_context("spawn")  # no forked Amaranth/threads state
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futs = {pool.submit(_build, *j, str(out / _key(*j))): _key(*j) for j in jobs}
        for i, fut in enumerate(cf.as_completed(futs), 1):
            key = futs[fut]
            try:
                r = fut.result()
            except Exception as e:  # a failed build is reported, the others go on
                failed[key] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                print(f"  [{i:2d}/{len(jobs)}] {key}: FAILED {failed[key]}", flush=True)
                continue
            rows[key] = r
            fmax = f"{r['fmax_mhz']:.1f} MHz" if r["fmax_mhz"] else "no Fmax"
            print(f"  [{i:2d}/{len(jobs)}] {key}: {r['luts']} LUT4, {r['ffs']} FF, "
                  f"{fmax} ({r['seconds']:.1f} s)", flush=True)
    wall = time.perf_counter() - t0
    print(f"{len(rows)} builds in {wall:.0f} s wall "
          f"({sum(r['seconds'] for r in rows.values()):.0f} s of builds)")
    _print_tables(rows, bits)
    sr_cost = _print_sr_cost(rows, bits)
    return {"config": column_spec(4, "window", "none").to_dict()["macro"],
            "builds": list(rows.values()), "failed": failed, "sr_cost": sr_cost,
            "wall_s": wall}


def _get(rows, board, enc, dec, bits, sr):
    return rows.get(_key(board, enc, dec, bits, sr))


def _cell(r, fields=("luts", "ffs")) -> str:
    if r is None:
        return f"{'-':>5s} {'-':>4s} {'-':>6s}"
    fmax = f"{r['fmax_mhz']:6.1f}" if r["fmax_mhz"] else f"{'-':>6s}"
    return f"{r['luts']:5d} {r['ffs']:4d} {fmax}"


def _print_tables(rows: dict, bits) -> None:
    print("\nOne column's periphery (decoder + SR combiner + LUT + shift-add), one ADC per "
          "physical column;\nYosys cells of the periphery module (LUT4, FF), nextpnr Fmax "
          "(MHz); memories: block RAMs")
    head = "".join(f" | {label:^17s}" for _, label in DEVICES)
    sub = "".join(f" | {'LUT4':>5s} {'FF':>4s} {'Fmax':>6s}" for _ in DEVICES)
    print(f"{'decoder':22s} {'bits':>4s}{head}")
    print(f"{'':22s} {'':>4s}{sub}  {'mem i/e':>8s}")
    for enc, dec in DECODERS:
        for n in bits:
            cells = "".join(f" | {_cell(_get(rows, b, enc, dec, n, 'none'))}"
                            for b, _ in DEVICES)
            ice = _get(rows, DEVICES[0][0], enc, dec, n, "none")
            ecp = _get(rows, DEVICES[1][0], enc, dec, n, "none")
            mem = f"{ice['bram'] if ice else '-'}/{ecp['bram'] if ecp else '-'}"
            print(f"{enc + ' ' + dec:22s} {n:4d}{cells}  {mem:>8s}")
    print("(mem i/e: iCE40 SB_RAM40_4K / ECP5 DP16KD blocks)")
    print("\nDecoders side by side: LUT4 of the periphery relative to window priority")
    print(f"{'device':18s} {'bits':>4s} " + " ".join(f"{e[:3] + ' ' + d:>15s}"
                                                     for e, d in DECODERS))
    for b, label in DEVICES:
        for n in bits:
            base = _get(rows, b, *DECODERS[0], n, "none")
            vals = []
            for enc, dec in DECODERS:
                r = _get(rows, b, enc, dec, n, "none")
                vals.append(f"{r['luts']:6d} ({r['luts'] / base['luts']:4.2f}x)"
                            if r and base else f"{'-':>15s}")
            print(f"{label:18s} {n:4d} " + " ".join(f"{v:>15s}" for v in vals))


def _print_sr_cost(rows: dict, bits) -> dict:
    print("\nCost of super-resolution (two ADCs per column, sr = nominal) relative to one "
          "ADC per column:\nLUT4, FF and Fmax ratios (SR / single ADC)")
    print(f"{'device':18s} {'decoder':20s} {'bits':>4s} {'LUT4 SR':>8s} {'x LUT4':>7s} "
          f"{'x FF':>6s} {'x Fmax':>7s} {'mem 1 -> SR':>12s}")
    cost: dict = {}
    for b, label in DEVICES:
        for enc, dec in DECODERS:
            for n in bits:
                one = _get(rows, b, enc, dec, n, "none")
                two = _get(rows, b, enc, dec, n, "nominal")
                if not (one and two):
                    continue
                mem = "bram"
                c = {"luts": two["luts"] / one["luts"], "ffs": two["ffs"] / one["ffs"],
                     "fmax": (two["fmax_mhz"] / one["fmax_mhz"]
                              if one["fmax_mhz"] and two["fmax_mhz"] else None),
                     "mem": [one[mem], two[mem]], "mem_kind": mem}
                cost[_key(b, enc, dec, n, "nominal/none")] = c
                fx = f"{c['fmax']:7.2f}" if c["fmax"] else f"{'-':>7s}"
                print(f"{label:18s} {enc + ' ' + dec:20s} {n:4d} {two['luts']:8d} "
                      f"{c['luts']:7.2f} {c['ffs']:6.2f} {fx} "
                      f"{f'{one[mem]} -> {two[mem]}':>12s}")
    if cost:
        lut = [c["luts"] for c in cost.values()]
        print(f"SR / single ADC LUT4 ratio: {min(lut):.2f} .. {max(lut):.2f} "
              f"(median {sorted(lut)[len(lut) // 2]:.2f}); mem: block RAMs")
    return cost


if __name__ == "__main__":
    main()
