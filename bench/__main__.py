"""``make bench``: run every benchmark in one process and write build/bench/results.json.

Each ``bench/bench_*.py`` module has a ``main(**options)`` that prints its own table of
side-by-side measurements and returns a dict; this runner collects them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

BENCHES = ("bench_quantize", "bench_sr", "bench_cli", "bench_crossbar", "bench_macro",
           "bench_sim", "bench_fpga", "bench_resources", "bench_cost", "bench_gates")


def _bench_name(text: str) -> str:
    """``fpga`` or ``bench_fpga`` -> ``bench_fpga``."""
    name = text if text.startswith("bench_") else f"bench_{text}"
    if name not in BENCHES:
        short = ", ".join(b.removeprefix("bench_") for b in BENCHES)
        raise argparse.ArgumentTypeError(f"unknown benchmark {text!r}; choose from {short}")
    return name


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--readc", metavar="PATH",
                    help="checkout of the ReADC reference code, timed on the same data")
    short = ", ".join(b.removeprefix("bench_") for b in BENCHES)
    ap.add_argument("--only", nargs="+", type=_bench_name, metavar="NAME",
                    help=f"run only these benchmarks (of {short}; 'bench_' optional)")
    ap.add_argument("--skip", nargs="+", type=_bench_name, default=[], metavar="NAME",
                    help="run every benchmark but these (e.g. --skip fpga sim)")
    ap.add_argument("-o", "--out", default="build/bench/results.json")
    args = ap.parse_args(argv)
    results = {
        "machine": {"python": sys.version.split()[0], "numpy": np.__version__,
                    "platform": platform.platform(), "cpus": _cpus()},
    }
    names = [n for n in BENCHES if n in (args.only or BENCHES) and n not in args.skip]
    for name in names:
        mod = importlib.import_module(f"bench.{name}")
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        kwargs = {"readc_path": args.readc} if name in ("bench_quantize", "bench_sr") else {}
        results[name] = mod.main(**kwargs)
        print(f"({name}: {time.perf_counter() - t0:.1f} s)", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if len(names) < len(BENCHES) and out.exists():
        # a partial run updates its benchmarks in the last full results, keeping the rest
        try:
            results = {**json.loads(out.read_text()), **results}
        except ValueError:
            pass
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"\nwrote {out}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
