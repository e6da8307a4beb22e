"""Step 2's studies on the reference chip: the ADC inputs under every quantiser and SR
mode, and the INL/DNL of the realised ADCs."""

from __future__ import annotations

import numpy as np

from golden.spec import SR_MODES

from ..metrics import NetworkRun
from ..workloads import NetworkContext, row_ids
from .grid import SR_VARIATION_PCT, adaptive_method

__all__ = ["adc_study", "linearity_study"]



def _group_samples(spec, macros: dict, x_cal: np.ndarray, ids: np.ndarray) -> list[np.ndarray]:
    from golden import digital

    from ..tiling import input_tile

    li = digital.lut_index(spec)
    pooled: list[list[np.ndarray]] = [[] for _ in range(digital.n_luts(spec))]
    for (r, _c), mac in sorted(macros.items()):
        sig = mac.crossbar.column_signals(input_tile(x_cal, r, spec), vector_ids=ids)
        for g in range(len(pooled)):
            pooled[g].append(sig[..., li == g].ravel())
    return [np.concatenate(p) for p in pooled]


def adc_study(spec, ref: NetworkRun, ctx: NetworkContext, *, hist_bins: int = 60) -> list[dict]:
    """Per layer and LUT group of the reference chip: the ADC-input histogram and the
    MSE of every quantiser and SR mode at 0 % and at :data:`SR_VARIATION_PCT`."""
    from golden.adc import METHODS, calibrate_adc

    out = []
    ad = adaptive_method(spec)
    bits = spec.adc.bits
    for layer, lay in enumerate(ref.layers):
        per = lay.get("rows_per_sample", 1)  # a Conv's output pixels per sample
        samples = _group_samples(spec, lay["result"].macros, lay["x"][:ctx.n_cal * per],
                                 row_ids(ctx.ids[:ctx.n_cal], per))
        for g, s in enumerate(samples):
            fs = (float(s.min()) - 0.5, float(s.max()) + 0.5)
            entry = {"layer": layer + 1, "group": g, "samples": int(s.size),
                     "full_scale": list(fs), "mse": {}, "sr_mse": {}}
            for var in (0.0, SR_VARIATION_PCT):
                rng = np.random.default_rng([spec.device.seed, layer, g, int(var * 1000)])
                res = calibrate_adc(s, bits, methods=METHODS, encoding=spec.adc.encoding,
                                    variation_pct=var, rng=rng, full_scale=fs)
                entry["mse"][f"{var:g}"] = {m: (r.mse if var == 0 else r.realised_mse)
                                            for m, r in res.items()}
                if var == 0:
                    entry["boundaries"] = {m: r.quantizer.boundaries.tolist()
                                           for m, r in res.items()}
                    entry["mse_rel_uniform"] = {m: r.mse_rel_uniform for m, r in res.items()}
                entry["sr_mse"][f"{var:g}"] = {}
                for mode in SR_MODES[1:]:  # every SR mode but "none"
                    rs = calibrate_adc(s, bits, methods=(ad,), sr_mode=mode,
                                       encoding=spec.adc.encoding, variation_pct=var,
                                       rng=rng, full_scale=fs)
                    entry["sr_mse"][f"{var:g}"][mode] = rs[ad].sr.mse
            if fs[1] - fs[0] <= 4 * hist_bins:  # one bin per integer partial sum
                edges = np.arange(np.floor(fs[0]) - 0.5, np.ceil(fs[1]) + 1.0)
            else:
                edges = np.linspace(fs[0], fs[1], 2 * hist_bins + 1)
            counts, edges = np.histogram(s, bins=edges)
            entry["histogram"] = {"counts": counts.tolist(), "edges": edges.tolist()}
            out.append(entry)
    return out


def linearity_study(spec, ctx: NetworkContext, variations=(0.0, SR_VARIATION_PCT),
                    ramp_points: int = 8192) -> list[dict]:
    """INL/DNL per code of the realised ADCs of layer 1, tile (0, 0), measured with a
    ramp through the periphery's decoder, at each bound variation (config otherwise)."""
    from golden import digital, linearity
    from golden.macro import Macro

    from ..tiling import input_tile, weight_tile

    net, n = ctx.workload, ctx.n_cal
    x = input_tile(net.quantize_input(ctx.inputs[:n]), 0, spec)
    ids = row_ids(ctx.ids[:n], x.shape[0] // n)
    out = []
    for var in variations:
        sp = spec.replace(device={"bound_variation_pct": var})
        mac = Macro(sp, weight_tile(net.weights[0], 0, 0, sp), array_id=0)
        cal = mac.calibrate(x, vector_ids=ids)
        bank = mac.banks  # the realised Q-cells, shape (phys_cols, adcs)
        li = digital.lut_index(sp)
        inl_all, dnl_all = [], []
        for p in range(sp.macro.phys_cols):
            g = li[p]
            lo, hi = cal.full_scale[g]
            ramp = np.linspace(lo, hi, ramp_points)
            for a in range(sp.adc.adcs_per_column):
                sub = _sub_bank(bank, p, a)
                t = linearity.measure_transitions(sub, ramp=ramp)
                inl, dnl = linearity.inl_dnl(t, reference="ideal", nominal=cal.boundaries[g, a])
                inl_all.append(inl)
                dnl_all.append(dnl)
        inl_a, dnl_a = np.array(inl_all), np.array(dnl_all)
        out.append({
            "variation_pct": var, "adcs": int(inl_a.shape[0]),
            "inl": inl_a.tolist(), "dnl": dnl_a.tolist(),
            "rms_inl": float(np.sqrt(np.nanmean(inl_a**2))),
            "rms_dnl": float(np.sqrt(np.nanmean(dnl_a**2))),
            "max_abs_inl": float(np.nanmax(np.abs(inl_a))),
            "max_abs_dnl": float(np.nanmax(np.abs(dnl_a))),
        })
    return out


def _sub_bank(bank, p: int, a: int):
    from golden.qcell import QCellBank

    if bank.encoding == "window":
        return QCellBank("window", lower=bank.lower[p, a], upper=bank.upper[p, a])
    return QCellBank("threshold", thresholds=bank.thresholds[p, a])
