"""Energy, area and latency of a macro MVM, from golden activity and cited figures.

Activity comes from the golden crossbar: the input bit planes
(:meth:`golden.crossbar.Crossbar.bit_planes`) and the programmed conductances
(``Crossbar.cells.g``). Per MVM batch:

* crossbar read: ``V_read^2 * t_pulse * sum_{b,t,r} bit[b,t,r] * sum_j G[r,j]``, i.e.
  V^2 G t per active cell per input one (zero inputs: zero read energy);
* word-line drivers: ``C_wl V^2`` per input one and column-mux phase, ``C_wl =
  phys_cols * c_wire`` (with ``k = adc.columns_per_adc`` the word line is pulsed once
  per phase, ``k`` times per input bit; the crossbar read energy does not grow, since
  in each phase only the selected column of each ADC group conducts);
* bit-line precharge (flash/SAR only; the Q-cell's precharge is inside its fig6 figure):
  ``C_bl V^2`` per conversion, ``C_bl = rows * c_wire``;
* conversions = ``batch * input_bits * phys_cols * adcs_per_column`` times the ADC
  kind's energy per conversion, whatever ``k`` (each column is converted once per
  input bit, by its group's ADC);
* LUT reads: one ``lut_width``-bit read per column read (``batch * input_bits *
  phys_cols``: with super-resolution the two ADCs' codes are combined first and make one
  read, as in :class:`hdl.periphery.Periphery`); shift-add: one ``out_width``-bit add
  per column read; buffers: input bits read once, outputs written once.
* the digital periphery from its activity, when the MVMs' match bits and LUT contents
  are given (``match``, ``luts``): ``decoders``, ``lut_reads``, ``shift_add`` and
  ``control`` are :func:`golden.gates.toggle_energy` of exactly those bit patterns
  (toggles of each component's driving bus times its analytic transistors,
  :func:`golden.gates.periphery_gates`, times the node's energy per transistor
  switch, :data:`golden.gate_presets.GATE_45NM` scaled to ``cost.node_nm``); they
  replace the per-read LUT and per-add shift-add figures above (those stay the
  fallback without ``match``). Buffers keep their per-bit figure.

ADCs: ``n_groups * adcs_per_column`` (``n_groups = len(golden.digital.mux_groups)``:
``ceil(cols / k) * slices * polarities`` + the offset reference column; ``phys_cols``
for ``k = 1``), each with the kind's area (no leakage is modelled).

Latency per MVM: ``input_bits * k * (t_pulse + t_conv)``: one read and one conversion
per ``in_match`` beat, ``k`` beats per input bit (:func:`golden.digital.beats_per_mvm`).

ADC kinds (energy per conversion E(B), area A(B)):

* ``qcell``: fig6 preset at 5 bits; other widths scale by the number of Q-cells
  (2^B window, 2^B - 1 threshold) for the core parts and by ``B * 2^B`` (encoder
  inputs times output bits) for the decoder parts. At 5 bits window the factor is 1 and
  the published figures come back unchanged.
* ``flash``: NeuroSim, ``k_fl (2^B - 1) t_s``; ``sar``: NeuroSim,
  ``(0.538 B + 4.375) uW * (B + 1) ns``; both with ZigZag-IMC's 28 nm area fit.
* ``custom``: ``adc_energy_fj``, ``adc_area_um2``, ``adc_time_ns`` from ``[cost]``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import cost_presets as P
from .cost_spec import ADC_KINDS, CostSpec
from .spec import MacroSpec, SpecError

__all__ = ["ADC_KINDS", "AdcCost", "CostSpec", "MvmCost", "adc_cost", "mvm_cost", "walden_band"]


@dataclass(frozen=True)
class AdcCost:
    """One ADC: energy per conversion (fJ) and area (um^2) by part, time per
    conversion (ns)."""

    kind: str
    bits: int
    energy_fj: dict[str, float]
    area_um2: dict[str, float]
    t_conv_ns: float
    source: str
    published_energy_fj: float | None = None
    published_area_um2: float | None = None

    @property
    def energy_total_fj(self) -> float:
        """The published total where the preset has one (fig6a), else the parts' sum."""
        if self.published_energy_fj is not None:
            return self.published_energy_fj
        return math.fsum(self.energy_fj.values())

    @property
    def area_total_um2(self) -> float:
        if self.published_area_um2 is not None:
            return self.published_area_um2
        return math.fsum(self.area_um2.values())


def _zigzag_area(bits: int) -> float:
    z = P.ZIGZAG_ADC_AREA
    return 10.0 ** (z.slope * bits + z.offset) * 2.0**bits


def _qcell(bits: int, encoding: str) -> AdcCost:
    q = P.QCELL_READC_5B
    cells = 2**bits if encoding == "window" else 2**bits - 1
    core = cells / 2**q.bits
    dec = bits * 2**bits / (q.bits * 2**q.bits)
    if core == 1.0 and dec == 1.0:  # the published point: totals exactly as fig6a
        e_rest = q.energy_total_fj - (q.e_precharge_fj + q.e_source_driver_fj
                                      + q.e_others_fj + q.e_decoder_fj)
        a_rest = q.area_total_um2 - (q.a_core_um2 + q.a_decoder_um2)
        totals = (q.energy_total_fj, q.area_total_um2)
    else:
        e_rest = a_rest = 0.0
        totals = (None, None)
    e = {"precharge": q.e_precharge_fj * core, "source_driver": q.e_source_driver_fj * core,
         "others": q.e_others_fj * core, "decoder": q.e_decoder_fj * dec,
         "unattributed": e_rest}
    a = {"core": q.a_core_um2 * core, "decoder": q.a_decoder_um2 * dec, "unattributed": a_rest}
    return AdcCost("qcell", bits, e, a, q.t_conv_ns, q.source, *totals)


def adc_cost(kind: str, bits: int, *, encoding: str = "window",
             cost: CostSpec | None = None) -> AdcCost:
    """Energy, area and conversion time of one ``bits``-bit ADC of ``kind``;
    ``cost`` overrides apply (``adc_energy_fj`` replaces the whole energy)."""
    cost = cost or CostSpec()
    if kind == "qcell":
        a = _qcell(bits, encoding)
    elif kind == "flash":
        f = P.FLASH_NEUROSIM
        a = AdcCost("flash", bits, {"comparators": f.k_fl_uw * (2**bits - 1) * f.t_s_ns},
                    {"adc": _zigzag_area(bits)}, f.t_s_ns, f.source)
    elif kind == "sar":
        s = P.SAR_NEUROSIM
        t = (bits + 1) * s.t_cycle_ns
        a = AdcCost("sar", bits, {"sar": (s.p_per_bit_uw * bits + s.p_fixed_uw) * t},
                    {"adc": _zigzag_area(bits)}, t, s.source)
    elif kind == "custom":
        a = AdcCost("custom", bits, {"adc": 0.0}, {"adc": 0.0}, 0.0, "[cost] custom")
    else:
        raise SpecError("cost.adc", kind, "one of " + ", ".join(ADC_KINDS))
    e, ar, t = a.energy_fj, a.area_um2, a.t_conv_ns
    if cost.adc_energy_fj is not None:
        e = {"adc": float(cost.adc_energy_fj)}
    if cost.adc_area_um2 is not None:
        ar = {"adc": float(cost.adc_area_um2)}
    if cost.adc_time_ns is not None:
        t = float(cost.adc_time_ns)
    if cost.adc_energy_fj is not None or cost.adc_area_um2 is not None:
        a = dataclasses.replace(a, published_energy_fj=None, published_area_um2=None)
    return dataclasses.replace(a, energy_fj=e, area_um2=ar, t_conv_ns=t)


def walden_band(bits: int) -> dict[str, Any]:
    """Energy per conversion of a ``bits``-bit ADC at the Murmann survey's median and best
    Walden figure of merit (``E = FoM * 2^ENOB``, ENOB taken as ``bits``): a reference
    band for the ADC kinds, not a model of any of them."""
    s = P.MURMANN_SURVEY
    return {"median_fj": s.walden_median_fj * 2.0**bits, "best_fj": s.walden_best_fj * 2.0**bits,
            "source": s.source}


@dataclass(frozen=True)
class MvmCost:
    """Cost of one batch of MVMs: energy (fJ) and area (um^2) by component, latency (ns);
    ``adcs`` ADCs, each shared by ``columns_per_adc`` physical columns."""

    batch: int
    conversions: int
    input_ones: int
    energy_fj: dict[str, float]
    area_um2: dict[str, float]
    latency_ns: float
    ops: int
    adc: AdcCost = field(repr=False)
    adcs: int = 0
    columns_per_adc: int = 1

    @property
    def energy_total_fj(self) -> float:
        return math.fsum(self.energy_fj.values())

    @property
    def area_total_um2(self) -> float:
        return math.fsum(self.area_um2.values())

    @property
    def tops_per_w(self) -> float:
        """Operations (2 per multiply-accumulate) per joule / 1e12."""
        return self.ops / (self.energy_total_fj * 1e-15) / 1e12 if self.energy_total_fj else 0.0

    @property
    def tops_per_mm2(self) -> float:
        """Throughput of one macro (ops per second / 1e12) per mm^2."""
        t = self.latency_ns * 1e-9 * self.batch
        return self.ops / t / 1e12 / (self.area_total_um2 * 1e-6) if t else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"batch": self.batch, "conversions": self.conversions,
                "adcs": self.adcs, "columns_per_adc": self.columns_per_adc,
                "input_ones": self.input_ones, "energy_fj": self.energy_fj,
                "energy_total_fj": self.energy_total_fj,
                "energy_per_mvm_fj": self.energy_total_fj / self.batch,
                "area_um2": self.area_um2, "area_total_um2": self.area_total_um2,
                "latency_ns_per_mvm": self.latency_ns, "tops_per_w": self.tops_per_w,
                "tops_per_mm2": self.tops_per_mm2,
                "adc": {"kind": self.adc.kind, "bits": self.adc.bits,
                        "energy_fj": self.adc.energy_fj, "area_um2": self.adc.area_um2,
                        "t_conv_ns": self.adc.t_conv_ns, "source": self.adc.source}}


def _toggle_energy(spec: MacroSpec, match, luts, batch: int, node_nm: float) -> dict:
    """:func:`golden.gates.toggle_energy` per component, named as in
    :attr:`MvmCost.energy_fj` (``lut`` -> ``lut_reads``)."""
    from .gates import toggle_energy

    mt = np.asarray(match)
    if mt.ndim < 1 or mt.shape[0] != batch:
        raise ValueError(f"match shape {mt.shape}: its batch must be that of bits ({batch})")
    t = toggle_energy(mt, luts, spec, node_nm=node_nm)
    return {"decoders": t["decoders"], "lut_reads": t["lut"], "shift_add": t["shift_add"],
            "control": t["control"]}


def mvm_cost(spec: MacroSpec, g_us, bits, cost: CostSpec | None = None, *,
             kind: str | None = None, match=None, luts=None) -> MvmCost:
    """Cost of the MVM batch whose input bit planes are ``bits``.

    Parameters
    ----------
    spec : MacroSpec
    g_us : array_like of float, shape (rows, phys_cols)
        Programmed conductances (``Crossbar.cells.g``), uS.
    bits : array_like of {0, 1}, shape (batch, input_bits, rows)
        Input bit planes (``Crossbar.bit_planes(x)``).
    cost : CostSpec
    kind : str, optional
        ADC kind, default ``cost.adc``.
    match : array_like of bool, optional
        The MVMs' match bits, shape ``(batch, input_bits, phys_cols, adcs_per_column,
        cells)`` (:meth:`golden.macro.Macro.match_vectors` of the same inputs); with
        ``luts``, the digital periphery is costed from its toggles.
    luts : array_like of int, optional
        The fixed-point LUT contents (``calibration.lut_fixed(spec)``).

    Raises
    ------
    ValueError
        Wrong shapes; ``match`` without ``luts`` or the reverse; a ``match`` batch
        other than ``bits``'s.
    """
    from . import digital

    cost = cost or CostSpec()
    kind = kind or cost.adc
    m = spec.macro
    g = np.asarray(g_us, dtype=np.float64)
    b = np.asarray(bits)
    if g.shape != (m.rows, m.phys_cols):
        raise ValueError(f"g_us shape {g.shape}: must be (rows, phys_cols) = "
                         f"{(m.rows, m.phys_cols)}")
    if b.ndim != 3 or b.shape[1:] != (m.input_bits, m.rows):
        raise ValueError(f"bits shape {b.shape}: must be (batch, {m.input_bits}, {m.rows})")
    batch = b.shape[0]
    per_row = b.reshape(-1, m.rows).sum(axis=0, dtype=np.int64)  # input ones per row
    ones = int(per_row.sum())
    g_active = float(per_row.astype(np.float64) @ g.sum(axis=1))  # sum bit * sum_j G
    conv = batch * m.input_bits * m.phys_cols * spec.adc.adcs_per_column
    a = adc_cost(kind, spec.adc.bits, encoding=spec.adc.encoding, cost=cost)
    arr, dig = P.ARRAY_NEUROSIM, P.DIGITAL_45NM
    scale = cost.node_nm / dig.node_nm
    v2 = cost.v_read**2
    cw = cost.wire_cap_ff_per_cell
    cw = arr.wire_cap_ff_per_cell if cw is None else cw
    e_add = cost.e_add_bit_fj if cost.e_add_bit_fj is not None else dig.e_add_bit_fj * scale
    e_sram = cost.e_sram_bit_fj if cost.e_sram_bit_fj is not None else dig.e_sram_bit_fj * scale
    lw, ow = digital.lut_width(spec), digital.out_width(spec)
    # uS * V^2 * ns = 1e-15 J = 1 fJ
    k = spec.adc.columns_per_adc
    e = {"crossbar_read": v2 * g_active * cost.pulse_ns,
         "wl_drivers": ones * k * m.phys_cols * cw * v2,
         "bl_precharge": 0.0 if kind == "qcell" else conv * m.rows * cw * v2}
    e.update({f"adc_{k}": conv * v for k, v in a.energy_fj.items()})
    reads = batch * m.input_bits * m.phys_cols  # one LUT read and add per column read
    if (match is None) != (luts is None):
        raise ValueError("match and luts: give both (toggle-based digital energy) or "
                         "neither (per-operation figures)")
    if match is None:
        e["lut_reads"] = reads * lw * e_sram
        e["shift_add"] = reads * ow * e_add
    else:
        e.update(_toggle_energy(spec, match, luts, batch, cost.node_nm))
    e["buffers"] = (batch * m.rows * m.input_bits + batch * m.cols * ow) * e_sram
    n_adc = digital.mux_groups(spec).shape[0] * spec.adc.adcs_per_column
    f2 = (cost.node_nm * 1e-3) ** 2  # um^2
    cell = cost.cell_area_f2 if cost.cell_area_f2 is not None else arr.cell_area_f2
    ar = {"crossbar": m.rows * m.phys_cols * cell * f2}
    ar.update({f"adc_{k}": n_adc * v for k, v in a.area_um2.items()})
    ar["luts"] = digital.n_luts(spec) * spec.adc.lut_entries * lw * dig.sram_cell_f2 * f2
    ar["shift_add"] = m.cols * ow * dig.adder_bit_f2 * f2
    lat = digital.beats_per_mvm(spec) * (cost.pulse_ns + a.t_conv_ns)
    return MvmCost(batch, conv, ones, e, ar, lat, 2 * m.rows * m.cols * batch, a,
                   adcs=n_adc, columns_per_adc=k)
