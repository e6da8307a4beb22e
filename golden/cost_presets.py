"""Cited figures for the cost model (:mod:`golden.cost`), as frozen dataclasses.

Every number names where it comes from: paper, table or figure, technology node. A
figure marked ``assumed`` has no publication behind it; it is a stated placeholder that
a ``[cost]`` override replaces. No constant here is tuned to reproduce a published
result.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ARRAY_NEUROSIM",
    "DIGITAL_45NM",
    "FLASH_NEUROSIM",
    "MURMANN_SURVEY",
    "QCELL_READC_5B",
    "SAR_NEUROSIM",
    "ZIGZAG_ADC_AREA",
    "ArrayPreset",
    "DigitalPreset",
    "FlashPreset",
    "MurmannPreset",
    "QCellPreset",
    "SarPreset",
    "ZigZagAreaPreset",
]


@dataclass(frozen=True)
class QCellPreset:
    """The 5-bit Q-cell ADC of ReADC (Nature Communications 2025,
    doi:10.1038/s41467-025-65233-w), 28 nm, fig6a (totals) and fig6b (breakdowns).

    The workbook gives no units; most plausibly fJ per conversion and um^2. fig6b's
    parts are rounded to two decimals, so they sum to 12.58 (energy) and 24.29 (area)
    rather than the fig6a totals; the model keeps the totals and books the rounding
    remainder as ``unattributed``.
    """

    source: str = "ReADC, Nat. Commun. 2025, fig6a/fig6b, 28 nm"
    node_nm: float = 28.0
    bits: int = 5
    energy_total_fj: float = 12.5829
    e_precharge_fj: float = 1.6
    e_source_driver_fj: float = 9.28
    e_others_fj: float = 1.28
    e_decoder_fj: float = 0.42
    area_total_um2: float = 24.2944
    a_core_um2: float = 8.29
    a_decoder_um2: float = 16.00
    # not in fig6: one sense cycle, taken equal to NeuroSim's flash sensing time
    t_conv_ns: float = 1.0


@dataclass(frozen=True)
class FlashPreset:
    """NeuroSim's flash (multilevel sense-amp) ADC energy: (2^B - 1) comparators each
    drawing ``k_fl`` for the sensing time ``t_s`` (DNN_NeuroSim V1.3/V1.4,
    MultilevelSenseAmp; 22 nm). NeuroSim's column-current term ``k_col / R_eff`` is
    not counted here: the crossbar read energy is costed separately."""

    source: str = "DNN_NeuroSim V1.3 MultilevelSenseAmp (flash), 22 nm"
    node_nm: float = 22.0
    k_fl_uw: float = 1.7
    t_s_ns: float = 1.0


@dataclass(frozen=True)
class SarPreset:
    """NeuroSim's SAR ADC: power (0.538 B + 4.375) uW for (B + 1) cycles of 1 ns
    (DNN_NeuroSim V1.3/V1.4, SarADC; 22 nm). The column term 0.0723 / R is left to the
    crossbar read energy."""

    source: str = "DNN_NeuroSim V1.3 SarADC, 22 nm"
    node_nm: float = 22.0
    p_per_bit_uw: float = 0.538
    p_fixed_uw: float = 4.375
    t_cycle_ns: float = 1.0


@dataclass(frozen=True)
class ZigZagAreaPreset:
    """ZigZag-IMC's fit of 28 nm AIMC ADC area: 10^(slope B + offset) * 2^B um^2
    (100 um^2 at 3 bits to 2085 at 8 bits); used for flash and SAR area."""

    source: str = "ZigZag-IMC AIMC ADC area fit, 28 nm"
    node_nm: float = 28.0
    slope: float = -0.0369
    offset: float = 1.206


@dataclass(frozen=True)
class MurmannPreset:
    """Murmann, ADC Performance Survey 1997-2024 (Nyquist ADCs, ENOB < 8.5, 14-45 nm):
    Walden figure of merit E / 2^ENOB, median and best; used as a reference band."""

    source: str = "Murmann ADC survey, Nyquist ADCs ENOB < 8.5, 14-45 nm"
    walden_median_fj: float = 49.0
    walden_best_fj: float = 3.7


@dataclass(frozen=True)
class ArrayPreset:
    """Crossbar operating point: NeuroSim V1.3 defaults (V_read 0.5 V, read pulse
    10 ns). Wire capacitance per cell pitch and the cell footprint are assumed."""

    source: str = "DNN_NeuroSim V1.3 defaults (readVoltage, readPulseWidth)"
    v_read: float = 0.5
    pulse_ns: float = 10.0
    # assumed: a 4F^2 crosspoint cell and 0.1 fF of wire per cell pitch
    cell_area_f2: float = 4.0
    wire_cap_ff_per_cell: float = 0.1


@dataclass(frozen=True)
class DigitalPreset:
    """Digital energies from Horowitz, "Computing's energy problem", ISSCC 2014,
    fig. 1.1.9, 45 nm: 32-bit integer add 0.1 pJ (so 3.125 fJ per adder bit), 64-bit
    read of an 8 KB SRAM 10 pJ (156 fJ per bit, an upper bound for the small LUTs and
    buffers here). Energies scale linearly with the node (assumed rule, C ~ feature
    size at fixed voltage). The bit-cell area is assumed (120 F^2, a 6T SRAM cell)."""

    source: str = "Horowitz ISSCC 2014 fig. 1.1.9, 45 nm"
    node_nm: float = 45.0
    e_add_bit_fj: float = 0.1e3 / 32
    e_sram_bit_fj: float = 10.0e3 / 64
    sram_cell_f2: float = 120.0
    adder_bit_f2: float = 1200.0  # assumed: a full adder plus flip-flop, ~10 cells


QCELL_READC_5B = QCellPreset()
FLASH_NEUROSIM = FlashPreset()
SAR_NEUROSIM = SarPreset()
ZIGZAG_ADC_AREA = ZigZagAreaPreset()
MURMANN_SURVEY = MurmannPreset()
ARRAY_NEUROSIM = ArrayPreset()
DIGITAL_45NM = DigitalPreset()
