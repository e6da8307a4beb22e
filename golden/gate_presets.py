"""Cited figures for the gate-level digital model (:mod:`golden.gates`), as frozen dataclasses.

Two kinds of number live here: the transistor cost of each generic gate (Yosys's own
table, so that the analytic counts and ``stat -tech cmos`` speak the same unit) and
the switching energy of the node (a published energy per operation, turned into an
energy per transistor switch by the same transistor table). Nothing here is fitted
to a synthesis result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["CMOS_TRANSISTORS", "FULL_ADDER", "GATE_45NM", "GatePreset"]

CMOS_TRANSISTORS = MappingProxyType({
    "BUF": 1, "NOT": 2, "AND": 6, "NAND": 4, "OR": 6, "NOR": 4, "ANDNOT": 6, "ORNOT": 6,
    "XOR": 12, "XNOR": 12, "AOI3": 6, "OAI3": 6, "AOI4": 8, "OAI4": 8, "MUX": 12,
    "NMUX": 10, "DFF": 16,
})
"""Transistors per generic gate, exactly Yosys's ``stat -tech cmos`` table
(``CellCosts::cmos_transistors_db`` in yosys ``kernel/cost.h``: ``$_NOT_`` 2,
``$_NAND_``/``$_NOR_`` 4, ``$_AND_``/``$_OR_``/``$_ANDNOT_``/``$_ORNOT_`` 6, ``$_XOR_``/
``$_XNOR_`` 12, ``$_MUX_`` 12, ``$_NMUX_`` 10, ``$_DFF_P_`` 16, ...). Keys are the cell
names without ``$_`` and ``_`` (``$_DFF_P_`` and ``$_DFF_N_`` are ``DFF``)."""

FULL_ADDER = MappingProxyType({"XOR": 2, "AND": 2, "OR": 1})
"""The textbook full adder (``s = a ^ b ^ c``, ``co = a&b | c&(a^b)``): 2 XOR, 2 AND,
1 OR, i.e. 42 transistors in :data:`CMOS_TRANSISTORS`."""


def _fa_transistors() -> int:
    return sum(CMOS_TRANSISTORS[g] * n for g, n in FULL_ADDER.items())


@dataclass(frozen=True)
class GatePreset:
    """Switching energy of one technology node, per transistor switch.

    Horowitz ("Computing's energy problem (and what we can do about it)", ISSCC
    2014, fig. 1.1.9: 45 nm, 0.9 V) gives 0.1 pJ for a 32-bit integer add. A 32-bit
    ripple adder is 32 :data:`FULL_ADDER` cells of 42 transistors
    (:data:`CMOS_TRANSISTORS`), so one transistor switch costs
    ``0.1 pJ / (32 * 42) = 0.0744 fJ`` when every cell of an add switches once (the
    assumption that turns an energy per operation into one per switch; a random add
    switches about half its nodes, so this is an upper figure for the activity
    model, not a fit).

    Attributes
    ----------
    source : str
        Where the number comes from.
    node_nm : float
        Technology node of the measurement.
    vdd : float
        Supply of the measurement, V.
    e_add32_fj : float
        Energy of one 32-bit integer add, fJ.
    e_transistor_fj : float
        Energy per transistor switch, fJ: ``e_add32_fj / (32 * 42)``.
    """

    source: str = "Horowitz ISSCC 2014 fig. 1.1.9 (32-bit add 0.1 pJ), 45 nm, 0.9 V"
    node_nm: float = 45.0
    vdd: float = 0.9
    e_add32_fj: float = 100.0
    e_transistor_fj: float = field(init=False)

    def __post_init__(self) -> None:
        for name in ("node_nm", "vdd", "e_add32_fj"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ValueError(f"{name} = {v!r}: must be a number > 0")
        object.__setattr__(self, "e_transistor_fj", self.e_add32_fj / (32 * _fa_transistors()))

    def scaled(self, node_nm: float) -> float:
        """Energy per transistor switch at ``node_nm``, fJ, scaled linearly with the
        feature size (``C ~ node``, the rule :mod:`golden.cost_presets` uses; the
        supply is kept).

        Raises
        ------
        ValueError
            ``node_nm`` is not a number > 0.
        """
        if isinstance(node_nm, bool) or not isinstance(node_nm, int | float) or not node_nm > 0:
            raise ValueError(f"node_nm = {node_nm!r}: must be a number > 0 (nm)")
        return self.e_transistor_fj * node_nm / self.node_nm


GATE_45NM = GatePreset()
"""The default node preset (45 nm, Horowitz 2014)."""
