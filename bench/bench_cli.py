"""Whole-process time of ``cimgen calibrate`` (start-up included) on 10^6 samples.

Target: under 1 s for Lloyd-Max, 5 bits. The CLI must not import amaranth or cocotb
for this subcommand; the import time of the bare interpreter + numpy is shown beside
it as the floor.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _best_of(cmd: list[str], n: int = 3) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def main(**_) -> dict:
    exe = Path(sys.executable).with_name("cimgen")
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "gauss_1e6.npy"
        np.save(data, np.random.default_rng(0).standard_normal(1_000_000))
        out = Path(d) / "cal.json"
        floor = _best_of([sys.executable, "-c", "import numpy"])
        cal = _best_of([str(exe), "calibrate", str(data), "--bits", "5",
                        "--method", "lloyd-max", "-o", str(out)])
        cal_all = _best_of([str(exe), "calibrate", str(data), "--bits", "5",
                            "--method", "all", "-o", str(out)])
        mods = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import cimgen.cli, cimgen.calibrate,"
             " golden.adc"], capture_output=True, text=True, check=True).stderr
    heavy = sorted({ln.split("|")[-1].strip().split(".")[0] for ln in mods.splitlines()
                    if any(h in ln for h in ("amaranth", "cocotb"))})
    print(f"{'process':48s} {'seconds':>8s} {'target':>8s}")
    print(f"{'python -c import numpy (floor)':48s} {floor:8.3f}")
    print(f"{'cimgen calibrate 1e6 samples, lloyd-max, 5 bits':48s} {cal:8.3f} {'< 1 s':>8s}")
    print(f"{'cimgen calibrate 1e6 samples, all methods':48s} {cal_all:8.3f}")
    print(f"heavy packages imported by calibrate: {heavy or 'none'}")
    return {"numpy_import_s": floor, "calibrate_lloyd_max_5b_1e6_s": cal,
            "calibrate_all_5b_1e6_s": cal_all, "heavy_imports": heavy}


if __name__ == "__main__":
    main()
