"""The cost model's tables and its speed (issue 16).

* ``cimgen cost examples/default.toml`` as a whole process, best of 3 (target < 1 s),
  and its table per ADC kind;
* the digits network per inference on the reference chip: energy, ADC energy and
  TOPS/W for uniform, adaptive and adaptive + SR at 3..6 bits;
* the flow's cost step against the rest of one ``cimgen flow --quick --no-rtl`` (its
  own ``timing_s``; target: adds < 10 %);
* the VGG8 chip of fig. 1c (golden/chip.py) per ADC kind: ADC share of energy and area
  beside NeuroSim's 87.8 % / 75.2 % and the paper's Q-cell 22.5 % / 16.9 %, and the
  consistency of the paper's four figures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "examples" / "default.toml"


def _best_of(cmd: list[str], n: int = 3) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(n):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, check=True, capture_output=True, text=True)
        best, out = min(best, time.perf_counter() - t0), r.stdout
    return best, out


def _digits() -> dict:
    from cimgen import workloads
    from cimgen.config import load_config
    from cimgen.flow.grid import SCHEMES, scheme_adc
    from cimgen.flow.network import run_network
    from cimgen.netcost import network_cost, scheme_costs
    from cimgen.workloads import NetworkContext

    spec = load_config(DEFAULT)
    ctx = NetworkContext.of(workloads.get("digits").build(spec), 256)
    ref = run_network(ctx, spec, keep=True)
    per = network_cost(spec, ref.layers, ctx.n_cal)
    rows = scheme_costs(spec, ref.layers, ctx.n_cal, SCHEMES, (3, 4, 5, 6), scheme_adc)
    print(f"digits MLP per inference ({per['tiles']} tiles, {per['test_inputs']} test inputs): "
          f"{per['energy_per_inference_fj'] * 1e-6:.4g} nJ, {per['tops_per_w']:.3g} TOPS/W")
    print(f"{'scheme':<13}{'bits':>5}{'nJ/inf':>10}{'ADC pJ/inf':>12}{'TOPS/W':>9}")
    for r in rows:
        print(f"{r['scheme']:<13}{r['bits']:>5}{r['energy_per_inference_fj'] * 1e-6:>10.4g}"
              f"{r['adc_energy_fj'] * 1e-3:>12.4g}{r['tops_per_w']:>9.3g}")
    return {"per_inference": per, "schemes": rows}


def _flow_share() -> dict:
    """The cost step's share of one ``cimgen flow --quick --no-rtl`` (its own timings)."""
    import json
    import tempfile

    exe = Path(sys.executable).with_name("cimgen")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([str(exe), "flow", str(DEFAULT), "--quick", "--no-rtl", "-o",
                        str(Path(d) / "f")], check=True, capture_output=True)
        t = json.loads((Path(d) / "f" / "results.json").read_text())["timing_s"]
    share = t["cost"] / (t["total"] - t["cost"])
    print(f"cost step {1e3 * t['cost']:.0f} ms in cimgen flow --quick --no-rtl of "
          f"{t['total']:.1f} s: adds {100 * share:.2f} % (target < 10 %: "
          f"{'met' if share < 0.10 else 'MISSED'})")
    return {"cost_step_s": t["cost"], "flow_total_s": t["total"], "adds": share}


def _vgg8() -> dict:
    from golden.chip import PUBLISHED, chip_cost, chip_spec, published_consistency

    spec = chip_spec()
    out = {}
    print("VGG8 chip (NeuroSim shapes, 128x128 subarrays, 8 columns per 5-bit ADC):")
    print(f"{'kind':<7}{'ADC energy':>11}{'NeuroSim-booked':>17}{'ADC area':>10}{'mm^2':>8}")
    for kind in ("flash", "sar", "qcell"):
        c = chip_cost(spec, cost=spec.cost.replace(adc=kind))
        out[kind] = {k: c[k] for k in ("adc_energy_share", "neurosim_adc_energy_share",
                                       "adc_area_share", "energy_total_fj", "area_total_um2")}
        print(f"{kind:<7}{100 * c['adc_energy_share']:>10.2f}%"
              f"{100 * c['neurosim_adc_energy_share']:>16.1f}%{100 * c['adc_area_share']:>9.1f}%"
              f"{c['area_total_um2'] * 1e-6:>8.2f}")
    p = PUBLISHED
    print(f"published: NeuroSim {100 * p['adc_energy'] / p['all_energy']:.1f} % energy, "
          f"{100 * p['adc_area'] / p['all_area']:.1f} % area; Q-cell chip "
          f"{100 * p['qcell_energy_share']:.1f} % / {100 * p['qcell_area_share']:.1f} %, "
          f"-{100 * p['energy_reduction']:.1f} % / -{100 * p['area_reduction']:.1f} %")
    con = published_consistency()
    s = con["swap_only"]
    print(f"swap only the ADC (15.1x, 12.9x): shares {100 * s['energy_share']:.1f} % / "
          f"{100 * s['area_share']:.1f} %, chip -{100 * s['energy_reduction']:.1f} % / "
          f"-{100 * s['area_reduction']:.1f} %; the published shares need "
          f"{con['from_shares']['adc_energy_ratio']:.1f}x / "
          f"{con['from_shares']['adc_area_ratio']:.1f}x, the published reductions "
          f"{con['from_reductions']['adc_energy_ratio']:.2f}x / "
          f"{con['from_reductions']['adc_area_ratio']:.2f}x")
    out["consistency"] = con
    return out


def main(**_) -> dict:
    exe = Path(sys.executable).with_name("cimgen")
    t, table = _best_of([str(exe), "cost", str(DEFAULT)])
    print(table.rstrip())
    print(f"cimgen cost examples/default.toml: {t:.2f} s as a whole process, best of 3 "
          f"(target < 1 s: {'met' if t < 1.0 else 'MISSED'})")
    return {"cost_cli_s": t, "digits": _digits(), "flow": _flow_share(), "vgg8": _vgg8()}


if __name__ == "__main__":
    main()
