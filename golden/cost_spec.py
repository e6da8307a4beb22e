"""``[cost]``: the operating point, ADC kind and overrides of the cost model
(:mod:`golden.cost`), a section of :class:`golden.spec.MacroSpec` like any other."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from . import cost_presets as P
from .errors import SpecError

__all__ = ["ADC_KINDS", "CostSpec"]

ADC_KINDS = ("qcell", "flash", "sar", "custom")
_FLOATS = ("node_nm", "v_read", "pulse_ns", "adc_energy_fj", "adc_area_um2", "adc_time_ns",
           "wire_cap_ff_per_cell", "cell_area_f2", "e_add_bit_fj", "e_sram_bit_fj")


@dataclass(frozen=True)
class CostSpec:
    """``[cost]``: operating point, ADC kind and overrides of any preset figure.

    Parameters
    ----------
    node_nm : float
        Technology node (nm) the digital energies and areas are scaled to.
    v_read, pulse_ns : float
        Read voltage (V) and read pulse (ns) per input bit.
    adc : {"qcell", "flash", "sar", "custom"}
    adc_energy_fj, adc_area_um2, adc_time_ns : float or None
        Per-conversion energy, area and time: required for ``custom``, an override for
        the other kinds.
    wire_cap_ff_per_cell, cell_area_f2, e_add_bit_fj, e_sram_bit_fj : float or None
        Overrides of the array and digital presets.
    """

    node_nm: float = 28.0
    v_read: float = P.ARRAY_NEUROSIM.v_read
    pulse_ns: float = P.ARRAY_NEUROSIM.pulse_ns
    adc: str = "qcell"
    adc_energy_fj: float | None = None
    adc_area_um2: float | None = None
    adc_time_ns: float | None = None
    wire_cap_ff_per_cell: float | None = None
    cell_area_f2: float | None = None
    e_add_bit_fj: float | None = None
    e_sram_bit_fj: float | None = None

    def __post_init__(self) -> None:
        if self.adc not in ADC_KINDS:
            raise SpecError("cost.adc", self.adc, "one of " + ", ".join(ADC_KINDS))
        for name in _FLOATS:
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise SpecError(f"cost.{name}", v, "a finite number")
            lo_ok = v >= 0 if name.startswith(("adc_", "e_", "wire")) else v > 0
            if not lo_ok:
                raise SpecError(f"cost.{name}", v, "a number >= 0" if name.startswith(
                    ("adc_", "e_", "wire")) else "a number > 0")
        if self.adc == "custom":
            for name in ("adc_energy_fj", "adc_area_um2", "adc_time_ns"):
                if getattr(self, name) is None:
                    raise SpecError(f"cost.{name}", None,
                                    "required with cost.adc = 'custom' (a number >= 0)")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CostSpec:
        """Build from the ``[cost]`` mapping, rejecting unknown keys by name."""
        if not isinstance(data, dict):
            raise SpecError("cost", data, "a table of cost keys")
        names = [f.name for f in dataclasses.fields(cls)]
        if "columns_per_adc" in data:
            raise SpecError("cost.columns_per_adc", data["columns_per_adc"],
                            "not a cost key: ADC sharing is adc.columns_per_adc, which the "
                            "generated periphery and the golden model follow too")
        for k in data:
            if k not in names:
                raise SpecError(f"cost.{k}", data[k],
                                "unknown key; known keys: " + ", ".join(names))
        return cls(**data)

    def replace(self, **kw) -> CostSpec:
        return dataclasses.replace(self, **kw)
