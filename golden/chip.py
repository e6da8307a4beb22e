"""A whole CIM chip costed from layer shapes: NeuroSim's VGG8 accounting of ReADC fig. 1c.

fig. 1c (``shared/reference/readc/fig1c.csv``, a NeuroSim estimate) puts the ADCs of a
VGG8 CIFAR-10 chip at 326.4 of 371.89 energy units (87.8 %) and 48000 of 63801.94 area
units (75.2 %). :func:`chip_cost` builds the same chip from the layer shapes with this
project's cost model, :func:`golden.cost.mvm_cost` per subarray MVM, so the ADC share
it reports is the model's, for any ADC kind. Conventions (stated, not tuned):

* every layer is unrolled onto ``rows x cols`` subarrays (``k*k*C_in`` rows,
  ``C_out`` logical columns, each ``slices * polarities`` physical columns); a conv
  layer runs one MVM per output pixel, a fully connected layer one;
* activity is the expected one: every cell at the mean programmed conductance
  ``(g_min + g_max) / 2`` and half of the input bits one (:func:`representative_mvm`);
* ADC sharing is ``adc.columns_per_adc`` (NeuroSim's ``numColMuxed``, 8 here): it sets
  the ADC count and area, not the conversions.

:func:`published_consistency` answers the question fig. 1c leaves: the paper's four
figures for the same chip with Q-cell ADCs (ADC share 22.5 % of energy and 16.9 % of
area; chip energy -57.2 %, area -30.7 %) against what swapping only the ADC gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cost import mvm_cost
from .spec import MacroSpec

__all__ = ["VGG8", "ChipLayer", "chip_cost", "chip_spec", "published_consistency",
           "representative_mvm"]


@dataclass(frozen=True)
class ChipLayer:
    """One layer: ``k x k`` kernel (1 for fully connected), channels, output pixels."""

    name: str
    c_in: int
    c_out: int
    k: int
    out_pixels: int

    @property
    def rows(self) -> int:
        return self.k * self.k * self.c_in


VGG8 = (
    ChipLayer("conv1", 3, 128, 3, 32 * 32),
    ChipLayer("conv2", 128, 128, 3, 32 * 32),
    ChipLayer("conv3", 128, 256, 3, 16 * 16),
    ChipLayer("conv4", 256, 256, 3, 16 * 16),
    ChipLayer("conv5", 256, 512, 3, 8 * 8),
    ChipLayer("conv6", 512, 512, 3, 8 * 8),
    ChipLayer("fc1", 512 * 4 * 4, 1024, 1, 1),
    ChipLayer("fc2", 1024, 10, 1, 1),
)
"""NeuroSim's VGG8 for CIFAR-10 (DNN_NeuroSim V1.3 Inference_pytorch, models/VGG.py):
six 3x3 conv layers 128-128-256-256-512-512 on 32x32 inputs with 2x2 max pooling after
conv2, conv4 and conv6 (so the conv outputs are 32x32, 32x32, 16x16, 16x16, 8x8, 8x8),
then FC 8192-1024 and 1024-10."""

PUBLISHED = {"adc_energy": 326.4, "all_energy": 371.89, "adc_area": 48000.0,
             "all_area": 63801.94, "qcell_energy_share": 0.225, "qcell_area_share": 0.169,
             "energy_reduction": 0.572, "area_reduction": 0.307,
             "adc_energy_ratio": 15.1, "adc_area_ratio": 12.9}
"""fig1c.csv (NeuroSim, ADC vs whole chip, the paper's units) and the ReADC paper's
text: the chip with Q-cell ADCs (ADC shares, chip reductions) and the 5-bit Q-cell ADC
against prior ADCs (15.1x energy efficiency, 12.9x smaller)."""


def chip_spec(adc_bits: int = 5, columns_per_adc: int = 8, **adc) -> MacroSpec:
    """The subarray of the chip: 128 rows x 128 physical columns, 8-bit inputs and
    weights in 1-bit cells (NeuroSim's ``cellBit`` default), differential (16 physical
    columns per logical one, so 8 logical columns), ``columns_per_adc`` columns per
    ADC of ``adc_bits`` bits (NeuroSim's default ADC precision is 5 bits)."""
    return MacroSpec.from_dict({
        "macro": {"rows": 128, "cols": 8, "input_bits": 8, "weight_bits": 8, "cell_bits": 1,
                  "mapping": "differential"},
        "adc": {"bits": adc_bits, "columns_per_adc": columns_per_adc, **adc}})


def representative_mvm(spec: MacroSpec) -> tuple[np.ndarray, np.ndarray]:
    """Conductances and input bit planes of one expected-activity MVM: every cell at
    ``(g_min + g_max) / 2``, and in every input bit plane exactly half of the rows one
    (alternating rows, rounded down)."""
    m, d = spec.macro, spec.device
    g = np.full((m.rows, m.phys_cols), 0.5 * (d.g_min_us + d.g_max_us))
    bits = np.zeros((1, m.input_bits, m.rows), dtype=np.int64)
    bits[:, :, 1::2] = 1
    return g, bits


def chip_cost(spec: MacroSpec, layers=VGG8, cost=None) -> dict:
    """Energy per inference (fJ) and area (um^2) of the chip by component and layer.

    Returns ``energy_fj`` / ``area_um2`` by component (summed over layers), their totals,
    ``adc_energy_share`` / ``adc_area_share`` (the ``adc_*`` components' fraction),
    ``neurosim_adc_energy_share`` (the same with the crossbar read and bit-line
    precharge booked inside the ADC, as NeuroSim's sense-amplifier formulas do),
    ``subarrays``, ``adcs``, ``conversions`` and per-layer ``layers``.
    """
    cost = cost if cost is not None else spec.cost
    m = spec.macro
    per_logical = m.slices * m.polarities
    one = mvm_cost(spec, *representative_mvm(spec), cost)
    energy: dict[str, float] = dict.fromkeys(one.energy_fj, 0.0)
    area: dict[str, float] = dict.fromkeys(one.area_um2, 0.0)
    rows_out, subarrays, conv = [], 0, 0
    for lay in layers:
        n = math.ceil(lay.rows / m.rows) * math.ceil(lay.c_out * per_logical / m.phys_cols)
        for k, v in one.energy_fj.items():
            energy[k] += n * lay.out_pixels * v
        for k, v in one.area_um2.items():
            area[k] += n * v
        subarrays += n
        conv += n * lay.out_pixels * one.conversions
        rows_out.append({"layer": lay.name, "subarrays": n, "mvms": n * lay.out_pixels})
    e_tot, a_tot = math.fsum(energy.values()), math.fsum(area.values())
    e_adc = math.fsum(v for k, v in energy.items() if k.startswith("adc_"))
    a_adc = math.fsum(v for k, v in area.items() if k.startswith("adc_"))
    # NeuroSim books the column current while the sense amplifiers sense (its
    # MultilevelSenseAmp / SarADC k_col / R terms) inside "ADC": the crossbar read here.
    e_ns = e_adc + energy["crossbar_read"] + energy["bl_precharge"]
    return {"energy_fj": energy, "area_um2": area, "energy_total_fj": e_tot,
            "area_total_um2": a_tot, "adc_energy_share": e_adc / e_tot,
            "neurosim_adc_energy_share": e_ns / e_tot,
            "adc_area_share": a_adc / a_tot, "subarrays": subarrays,
            "adcs": subarrays * one.adcs, "conversions": conv, "adc_kind": one.adc.kind,
            "layers": rows_out}


def published_consistency(p: dict = PUBLISHED) -> dict:
    """What fig. 1c's chip becomes under each reading of the paper's four figures.

    * ``swap_only``: the ADC energy and area divided by the paper's 15.1x and 12.9x,
      the rest of the chip unchanged: the ADC shares and chip reductions that implies;
    * ``from_shares``: the ADC improvement the published 22.5 % / 16.9 % shares need
      with the rest unchanged;
    * ``from_reductions``: the ADC improvement the published -57.2 % / -30.7 % need with
      the rest unchanged;
    * ``rest_growth``: both published shares and reductions at once: how much the
      non-ADC part must grow (energy, area), since with it unchanged they disagree.
    """
    e_rest = p["all_energy"] - p["adc_energy"]
    a_rest = p["all_area"] - p["adc_area"]
    e_adc = p["adc_energy"] / p["adc_energy_ratio"]
    a_adc = p["adc_area"] / p["adc_area_ratio"]
    swap = {"energy_share": e_adc / (e_adc + e_rest), "area_share": a_adc / (a_adc + a_rest),
            "energy_reduction": 1 - (e_adc + e_rest) / p["all_energy"],
            "area_reduction": 1 - (a_adc + a_rest) / p["all_area"]}
    es, as_ = p["qcell_energy_share"], p["qcell_area_share"]
    shares = {"adc_energy_ratio": p["adc_energy"] / (e_rest * es / (1 - es)),
              "adc_area_ratio": p["adc_area"] / (a_rest * as_ / (1 - as_))}
    e_new = p["all_energy"] * (1 - p["energy_reduction"])
    a_new = p["all_area"] * (1 - p["area_reduction"])
    reductions = {"adc_energy_ratio": p["adc_energy"] / (e_new - e_rest),
                  "adc_area_ratio": p["adc_area"] / (a_new - a_rest)}
    growth = {"energy": e_new * (1 - es) / e_rest, "area": a_new * (1 - as_) / a_rest}
    return {"swap_only": swap, "from_shares": shares, "from_reductions": reductions,
            "rest_growth": growth}
