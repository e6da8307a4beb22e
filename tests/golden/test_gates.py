"""Analytic gate counts and toggle energy (golden/gates.py, golden/gate_presets.py).

Closed forms and hand counts for the small pieces; brute-force bit loops for the
toggle counts. The comparison with Yosys is tests/synth/test_gates.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import golden.gates as G
from golden import digital
from golden.calibration import default_calibration
from golden.gate_presets import CMOS_TRANSISTORS, FULL_ADDER, GATE_45NM, GatePreset
from golden.gates import (
    COMPONENTS,
    GateCount,
    decoder_gates,
    periphery_gates,
    sr_combiner_gates,
    toggle_counts,
    toggle_energy,
    toggles,
)
from golden.macro import Macro
from golden.randcfg import random_spec
from golden.spec import MacroSpec

FA = GateCount(FULL_ADDER)
HA = GateCount.of(XOR=1, AND=1)


def test_transistor_table_is_yosys_cmos():
    # yosys kernel/cost.h cmos_transistors_db, the unit of `stat -tech cmos`
    assert (CMOS_TRANSISTORS["NOT"], CMOS_TRANSISTORS["NAND"], CMOS_TRANSISTORS["AND"],
            CMOS_TRANSISTORS["XOR"], CMOS_TRANSISTORS["MUX"], CMOS_TRANSISTORS["DFF"]) \
        == (2, 4, 6, 12, 12, 16)
    assert FA.transistors == 2 * 12 + 2 * 6 + 6 == 42


def test_popcount_hand_counts():
    # 2 bits: one half adder; 3 bits: (a+b) is a HA, then 2-bit + 1-bit: HA, HA
    assert G._popcount(1) == GateCount()
    assert G._popcount(2) == HA
    assert G._popcount(3) == HA * 3
    # 4 bits: two HAs, then 2-bit + 2-bit: HA at bit 0, FA at bit 1
    assert G._popcount(4) == HA * 3 + FA


@pytest.mark.parametrize("m", range(1, 8))
def test_popcount_power_of_two_closed_form(m):
    # level l: n / 2^l adders of two l-bit operands, each 1 HA + (l - 1) FA
    n = 2**m
    fa = sum((n >> lev) * (lev - 1) for lev in range(1, m + 1))
    assert G._popcount(n) == HA * (n - 1) + FA * fa


@pytest.mark.parametrize("n", [0, 1, 2, 7, 64])
def test_or_tree(n):
    assert G._or_tree(n).cells.get("OR", 0) == max(n - 1, 0)
    assert G._or_tree(n).gates == max(n - 1, 0)


def test_priority_decoder_four_cells_by_hand():
    # 2 leaf nodes (any OR, many AND, take_hi ANDNOT), a root (any OR, many OR OR AND,
    # take_hi ANDNOT) muxing 1 index bit, zero_hot NOT
    assert decoder_gates("window", "priority", 4) == GateCount.of(
        OR=5, AND=3, ANDNOT=3, MUX=1, NOT=1)


def test_ones_decoder_three_cells_by_hand():
    # popcount(3) = 3 HA; non_monotone: 2 ANDNOT into a 2-input OR
    assert decoder_gates("threshold", "ones", 3) == HA * 3 + GateCount.of(ANDNOT=2, OR=1)
    # majority adds maj(b0,b1,b2) (2 AND, 2 OR) and the two end cells (1 gate each)
    assert decoder_gates("threshold", "majority", 3) == \
        decoder_gates("threshold", "ones", 3) + GateCount.of(AND=3, OR=3)


def test_sr_combiner_two_bits_by_hand():
    # a + b: HA + FA; a - b: 2 FA with b inverted (2 NOT); |a - b| > 1: 3 + 3 gates + OR
    assert sr_combiner_gates(2) == HA + FA * 3 + GateCount.of(NOT=2, AND=3, OR=4)


def test_ripple_subtractor_of_one_slice_by_hand():
    # one slice, differential: comb = v_plus - v_minus, an (L+1)-bit ripple
    # subtractor: L+1 FA with the subtrahend inverted (L+1 NOT)
    spec = MacroSpec.from_dict({"macro": {"rows": 4, "cols": 1, "weight_bits": 2,
                                          "cell_bits": 2}})
    assert spec.macro.slices == 1 and spec.macro.polarities == 2
    cw, _, _, _ = G._comb_range(spec)
    w = min(digital.lut_width(spec) + 1, cw)
    assert G._comb_tree(spec, cw) == (FA + GateCount.of(NOT=1)) * w


def test_horner_accumulator_by_hand():
    # per column: acc = 2 * Mux(first, 0, acc) + w: out_width - 1 FA and ANDNOT, and
    # out_width registers with enable and reset (DFF, MUX, ANDNOT)
    spec = MacroSpec.from_dict({"macro": {"rows": 4, "cols": 1, "weight_bits": 2,
                                          "cell_bits": 2}})
    cw, ow, _, _ = G._comb_range(spec)
    assert ow == digital.out_width(spec)
    reg = GateCount.of(DFF=1, MUX=1, ANDNOT=1)
    group = G._comb_tree(spec, cw) + reg * cw
    column = FA * (ow - 1) + GateCount.of(ANDNOT=ow - 1) + reg * ow
    ctrl = reg * 5  # k = 1: first, s1_valid, s1_last, s1_first, out_valid
    assert periphery_gates(spec, tree_stages=0)["shift_add"] == group + column + ctrl


def test_gatecount_arithmetic_and_errors():
    a = GateCount.of(AND=2, DFF=1)
    assert (a + a).cells == {"AND": 4, "DFF": 2}
    assert (3 * a).transistors == 3 * (2 * 6 + 16)
    assert a.ffs == 1 and a.gates == 2
    with pytest.raises(ValueError, match="'FOO' is not a generic cell"):
        GateCount.of(FOO=1)
    with pytest.raises(ValueError, match=r"cells\['AND'\] = -1"):
        GateCount.of(AND=-1)
    with pytest.raises(ValueError, match="scales by an integer"):
        a * 1.5
    with pytest.raises(ValueError, match=r"must be a golden\.spec\.MacroSpec"):
        periphery_gates({"macro": {}})
    with pytest.raises(ValueError, match="code_stages = 2"):
        periphery_gates(MacroSpec(), code_stages=2)


def test_code_stage_adds_its_registers():
    spec = MacroSpec()
    base, more = periphery_gates(spec, code_stages=0), periphery_gates(spec, code_stages=1)
    groups = digital.mux_groups(spec).shape[0]
    cfg = 1 + (digital.n_luts(spec) - 1).bit_length() + spec.adc.code_bits \
        + digital.lut_width(spec)
    want = groups * spec.adc.code_bits + 2 + 4 * groups + cfg
    assert more["control"].ffs - base["control"].ffs == want
    assert all(base[c] == more[c] for c in COMPONENTS if c != "control")


def _brute_toggles(values, width):
    v = np.asarray(values).reshape(len(values), -1)
    prev = [0] * v.shape[1]
    n = 0
    for row in v:
        for j, x in enumerate(row):
            for b in range(width):
                n += ((int(x) >> b) & 1) != ((prev[j] >> b) & 1)
            prev[j] = int(x)
    return n


@pytest.mark.parametrize("width", [1, 3, 8, 17])
def test_toggles_brute_force(width):
    rng = np.random.default_rng(width)
    v = rng.integers(-(1 << (width + 1)), 1 << (width + 1), (13, 2, 3))
    assert toggles(v, width) == _brute_toggles(v, width)


def test_toggles_edge_cases():
    assert toggles(np.zeros((0, 3), dtype=np.int64), 4) == 0
    assert toggles([0, 0, 0], 4) == 0
    assert toggles([-1], 5) == 5  # from the reset state 0, two's complement
    with pytest.raises(ValueError, match="width = 0"):
        toggles([1], 0)
    with pytest.raises(ValueError, match="dtype float64"):
        toggles([1.0], 4)


def _mvm(spec, x, seed=0):
    rng = np.random.default_rng(seed)
    m = spec.macro
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, (m.rows, m.cols))
    cal = default_calibration(spec)
    mac = Macro(spec, w, calibration=cal)
    return mac.match_vectors(x), cal.lut_fixed(spec)


def _inputs(spec, batch, seed=1):
    m = spec.macro
    rng = np.random.default_rng(seed)
    return rng.integers(m.input_range[0], m.input_range[1] + 1, (batch, m.rows))


def test_toggle_counts_match_bits_brute_force():
    spec = MacroSpec.from_dict({"macro": {"rows": 8, "cols": 2}})
    match, luts = _mvm(spec, _inputs(spec, 3))
    t = toggle_counts(match, luts, spec)
    beats = digital.to_beats(match, spec).reshape(-1, match[0, 0].size)
    assert t["decoders"]["toggles"] == _brute_toggles(beats.astype(int), 1)
    assert t["decoders"]["beats"] == 3 * spec.macro.input_bits
    assert t["decoders"]["bits"] == beats.shape[1]


def test_shift_add_accumulator_is_the_golden_result():
    # the last accumulator value of every MVM is the golden digital_path output
    for seed in (2, 8, 25):
        spec = random_spec(seed)
        match, luts = _mvm(spec, _inputs(spec, 4, seed), seed)
        _, _, values, _ = G._beat_values(match, luts, spec)
        accs = G._acc_updates(G._comb_values(values, spec), spec)
        want, _ = digital.digital_path(match, luts, spec)
        got = np.stack([a.reshape(4, -1)[:, -1] for a in accs], axis=1)
        np.testing.assert_array_equal(got, want)


def test_toggle_energy_zero_activity_and_sum():
    spec = MacroSpec.from_dict({"macro": {"rows": 8, "cols": 2}})
    m, a = spec.macro, spec.adc
    match = np.zeros((2, m.input_bits, m.phys_cols, a.adcs_per_column, a.cells), bool)
    luts = np.zeros((digital.n_luts(spec), a.lut_entries), dtype=np.int64)
    e = toggle_energy(match, luts, spec)
    assert e["decoders"] == 0.0 and e["lut"] == 0.0 and e["shift_add"] == 0.0
    assert e["control"] > 0  # zero_hot flags and in_last do toggle
    match, luts = _mvm(spec, _inputs(spec, 5))
    e = toggle_energy(match, luts, spec)
    assert e["total"] == pytest.approx(sum(e[c] for c in COMPONENTS))
    half = toggle_energy(match, luts, spec, node_nm=22.5)
    assert half["total"] == pytest.approx(e["total"] / 2)


def test_toggle_energy_formula():
    spec = MacroSpec.from_dict({"macro": {"rows": 4, "cols": 1}})
    match, luts = _mvm(spec, _inputs(spec, 2))
    t, e = toggle_counts(match, luts, spec), toggle_energy(match, luts, spec)
    g = periphery_gates(spec)
    d = t["shift_add"]
    assert e["shift_add"] == pytest.approx(
        d["toggles"] / d["bits"] * g["shift_add"].transistors * GATE_45NM.e_transistor_fj)


def test_gate_preset():
    assert GATE_45NM.e_transistor_fj == pytest.approx(100.0 / (32 * 42))
    assert GATE_45NM.scaled(90.0) == pytest.approx(2 * GATE_45NM.e_transistor_fj)
    for bad in (0, -1.0, True, "45"):
        with pytest.raises(ValueError, match="must be a number > 0"):
            GatePreset(node_nm=bad)
        with pytest.raises(ValueError, match="node_nm"):
            GATE_45NM.scaled(bad)
    with pytest.raises(ValueError, match=r"must be a golden\.gate_presets\.GatePreset"):
        toggle_energy(None, None, MacroSpec(), preset=1.0)


@pytest.mark.parametrize("seed", [2, 4, 8, 11, 25])
def test_every_random_config_counts(seed):
    spec = random_spec(seed)
    g = periphery_gates(spec)
    assert set(g) == set(COMPONENTS)
    assert all(g[c].transistors > 0 for c in COMPONENTS)
    # LUT storage: one flip-flop per stored bit, one read register per group
    want = digital.n_luts(spec) * spec.adc.lut_entries * digital.lut_width(spec) \
        + digital.mux_groups(spec).shape[0] * digital.lut_width(spec)
    assert g["lut"].ffs == want


@pytest.mark.parametrize("enc", ["window", "threshold"])
def test_decoders_grow_with_bits(enc):
    dec = "priority" if enc == "window" else "ones"
    sizes = [decoder_gates(enc, dec, 2**b if enc == "window" else 2**b - 1).transistors
             for b in range(1, 7)]
    assert all(x < y for x, y in itertools.pairwise(sizes))
