"""Analytic gate counts (golden/gates.py) against Yosys on the generated periphery
(synth/gates.py): per component, for the default config and 3 small random configs.

Flip-flops must agree exactly (the model counts every register bit of the RTL);
transistors (Yosys ``stat -tech cmos``) within :data:`synth.gates.RATIO_TOLERANCE`.
Marker ``synth``; skipped with the reason when Yosys is missing.
"""

from __future__ import annotations

import pytest

from golden.gates import COMPONENTS
from golden.randcfg import random_spec
from golden.spec import MacroSpec
from synth.gates import (
    RATIO_TOLERANCE,
    analytic_gates,
    compare,
    component_of,
    measure_gates,
)

pytestmark = pytest.mark.synth

SEEDS = (4, 8, 25)
"""Random configs: threshold + nominal SR + offset + signed inputs (4); window with
2 columns per ADC (8); threshold + interleaved SR + offset + 8 columns per ADC (25)."""

SPECS = {"default": MacroSpec(), **{f"random{s}": random_spec(s) for s in SEEDS}}


@pytest.fixture(scope="module")
def yosys():
    from synth.tools import ToolMissing, find_tool

    try:
        return find_tool("yosys")
    except ToolMissing as e:
        pytest.skip(f"Yosys: {e}")


@pytest.fixture(scope="module")
def measured(yosys):
    return {name: measure_gates(spec) for name, spec in SPECS.items()}


@pytest.mark.parametrize("name", list(SPECS))
def test_flip_flops_exact(measured, name):
    spec = SPECS[name]
    analytic = analytic_gates(spec)
    got = {c: measured[name][c]["ffs"] for c in COMPONENTS}
    assert got == {c: analytic[c].ffs for c in COMPONENTS}


@pytest.mark.parametrize("name", list(SPECS))
def test_transistors_within_band(measured, name):
    lo, hi = RATIO_TOLERANCE
    rows = compare(SPECS[name], measured[name])
    assert [r.component for r in rows] == list(COMPONENTS)
    for r in rows:
        assert r.measured_transistors > 0, r
        assert lo <= r.ratio <= hi, (r.component, r.ratio)
        assert r.within()


@pytest.mark.parametrize("name", list(SPECS))
def test_table_is_yosys_own_estimate(measured, name):
    # the transistors from the cell counts by CMOS_TRANSISTORS are Yosys's own
    # "Estimated number of transistors", module by module
    for c in COMPONENTS:
        assert measured[name][c]["transistors"] == measured[name][c]["yosys_transistors"]


def test_lut_is_the_largest_at_default(measured):
    # storage dominates the default periphery in both counts
    rows = {r.component: r for r in compare(SPECS["default"], measured["default"])}
    assert max(rows, key=lambda c: rows[c].measured_transistors) == "lut"
    assert max(rows, key=lambda c: rows[c].analytic_transistors) == "lut"


def test_component_of():
    top = "cim_periphery"
    assert component_of("\\cim_periphery", top) == "control"
    assert component_of("cim_periphery.dec_p3_a0", top) == "decoders"
    assert component_of("cim_periphery.sr_p0", top) == "decoders"
    assert component_of("cim_periphery.lut", top) == "lut"
    assert component_of("cim_periphery.shift_add", top) == "shift_add"
    with pytest.raises(ValueError, match=r"'cim_periphery\.uart': not a component"):
        component_of("cim_periphery.uart", top)
