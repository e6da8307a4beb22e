"""Energy, area and latency of a network inference on golden macros.

The cost of one inference is the sum of :func:`golden.cost.mvm_cost` over every tile
of every layer, each tile costed with its own programmed conductances and the input
bit planes it really sees (the layer's inputs on the chip that ran it), so a sparse
layer costs less exactly as its golden activity says. Conventions:

* energy per inference = (sum over layers, tiles and test inputs) / test inputs (a
  Conv layer runs one MVM per output pixel: ``rows_per_sample`` rows per input);
* area = the sum of every tile's macro (one macro per tile, no reuse);
* latency per inference = the sum over layers of one MVM's latency times the layer's
  MVMs per input (the tiles of a layer run in parallel, a Conv's output pixels one after
  another on them, the layers one after another, nothing pipelined);
* operations = 2 x the layer's real multiply-accumulates (``in_features x
  out_features`` per MVM), not the zero-padded tile area, so TOPS/W does not count
  padding.

:func:`scheme_costs` costs the same reference chip (its conductances and layer inputs)
under every ADC scheme, resolution and ADC kind of the flow's grid: the ADC, its bit
width and super-resolution change the conversions and the ADC parts, nothing upstream
of them. The accuracy of a scheme is the golden Q-cell macro's; the other kinds are
costed as if they realised the same quantiser.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["network_cost", "scheme_costs"]


def network_cost(spec, layers: list[dict], n_cal: int, cost=None) -> dict[str, Any]:
    """Cost of one inference of the network whose kept layers are ``layers``.

    Parameters
    ----------
    spec : MacroSpec
        The macro (and ADC) to cost; its ``[cost]`` section unless ``cost`` is given.
    layers : list of dict
        :attr:`cimgen.metrics.NetworkRun.layers` of a ``keep=True`` run: per layer its
        :class:`cimgen.tiling.TiledResult` (with ``macros``), its integer inputs
        ``x`` (calibration inputs first) and its weights' ``w_shape``.
    n_cal : int
        Calibration inputs at the head of every ``x`` (not costed).
    cost : CostSpec, optional

    Returns
    -------
    dict
        ``energy_fj`` by component per inference, ``energy_per_inference_fj``,
        ``area_um2``, ``latency_ns``, ``ops``, ``tops_per_w``, ``conversions``
        (per inference), ``tiles`` and per layer ``layers`` (energy, conversions).
    """
    from golden.cost import mvm_cost

    from .tiling import input_tile

    cost = cost if cost is not None else spec.cost
    energy: dict[str, list[float]] = {}
    area: dict[str, float] = {}
    per_layer, latency, ops, conv, tiles = [], 0.0, 0, 0, 0
    n_test = None
    for lay in layers:
        per = lay.get("rows_per_sample", 1)  # a Conv's output pixels per sample
        res, x = lay["result"], np.asarray(lay["x"])[n_cal * per:]
        if not res.macros:
            raise ValueError("network_cost: a layer kept without its macros (run with keep=True)")
        n_test = x.shape[0] // per
        e_layer, c_layer, lat = 0.0, 0, 0.0
        for (r, _c), mac in sorted(res.macros.items()):
            xb = mac.crossbar
            mc = mvm_cost(spec, xb.cells.g, xb.bit_planes(input_tile(x, r, spec)), cost)
            for k, v in mc.energy_fj.items():
                energy.setdefault(k, []).append(v)
            for k, v in mc.area_um2.items():
                area[k] = area.get(k, 0.0) + v
            e_layer += mc.energy_total_fj
            c_layer += mc.conversions
            lat = max(lat, mc.latency_ns)
            tiles += 1
        w = lay["w_shape"]
        per_layer.append({"energy_per_inference_fj": e_layer / n_test,
                          "conversions_per_inference": c_layer // n_test,
                          "tiles": len(res.macros), "latency_ns": lat * per})
        latency += lat * per
        conv += c_layer // n_test
        ops += 2 * int(w[0]) * int(w[1]) * per
    if n_test is None or n_test == 0:
        raise ValueError("network_cost: no layers or no test inputs to cost")
    e = {k: math.fsum(v) / n_test for k, v in energy.items()}
    total = math.fsum(e.values())
    return {"energy_fj": e, "energy_per_inference_fj": total, "area_um2": area,
            "area_total_um2": math.fsum(area.values()), "latency_ns": latency,
            "ops": ops, "tops_per_w": ops / (total * 1e-15) / 1e12 if total and ops else 0.0,
            "conversions": conv, "tiles": tiles, "layers": per_layer,
            "adc": cost.adc, "test_inputs": int(n_test)}


def scheme_costs(spec, layers: list[dict], n_cal: int, schemes, bits, scheme_adc,
                 kinds=("qcell", "flash", "sar")) -> list[dict]:
    """:func:`network_cost` of the same chip for every ``scheme`` x ``bits`` x ADC kind
    (``scheme_adc(scheme, spec)`` gives the scheme's ``[adc]`` overrides; a kind drops
    the config's ``adc_*`` overrides, which describe its own kind)."""
    rows = []
    for s in schemes:
        for b in bits:
            sp = spec.replace(adc={"bits": b, **scheme_adc(s, spec)})
            for kind in kinds:
                cost = sp.cost.replace(adc=kind, adc_energy_fj=None, adc_area_um2=None,
                                       adc_time_ns=None) if kind != sp.cost.adc else sp.cost
                c = network_cost(sp, layers, n_cal, cost)
                rows.append({"scheme": s, "bits": b, "adc_kind": kind,
                             "adcs_per_column": sp.adc.adcs_per_column,
                             "energy_per_inference_fj": c["energy_per_inference_fj"],
                             "adc_energy_fj": math.fsum(v for k, v in c["energy_fj"].items()
                                                        if k.startswith("adc_")),
                             "tops_per_w": c["tops_per_w"], "latency_ns": c["latency_ns"],
                             "area_total_um2": c["area_total_um2"],
                             "conversions": c["conversions"]})
    return rows
