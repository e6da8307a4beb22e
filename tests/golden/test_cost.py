"""golden.cost: fig6 preset, scaling laws against golden activity, [cost] validation."""

import math

import numpy as np
import pytest

from golden import cost_presets as P
from golden.cost import CostSpec, adc_cost, mvm_cost
from golden.crossbar import Crossbar
from golden.spec import MacroSpec, SpecError

# ReADC fig6a / fig6b (shared/reference/readc/fig6a.csv, fig6b.csv), transcribed.
FIG6_ENERGY = {"precharge": 1.6, "source_driver": 9.28, "others": 1.28, "decoder": 0.42}
FIG6_AREA = {"core": 8.29, "decoder": 16.00}


def macro(**adc):
    spec = MacroSpec.from_dict({"adc": adc} if adc else {})
    m = spec.macro
    rng = np.random.default_rng(1)
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, (m.rows, m.cols))
    return spec, Crossbar(spec, w), rng


def test_fig6_preset_reproduces_published_totals_and_parts():
    a = adc_cost("qcell", 5)
    for k, v in FIG6_ENERGY.items():
        assert a.energy_fj[k] == v
    for k, v in FIG6_AREA.items():
        assert a.area_um2[k] == v
    assert a.energy_total_fj == 12.5829
    assert a.area_total_um2 == 24.2944
    # fig6b is rounded to 2 decimals: the remainder is below half a unit of the last digit
    assert abs(a.energy_fj["unattributed"]) < 0.005
    assert abs(a.area_um2["unattributed"]) < 0.005


def test_qcell_scaling_rule_cells_and_decoder():
    a4, a5 = adc_cost("qcell", 4), adc_cost("qcell", 5)
    assert a4.energy_fj["source_driver"] == pytest.approx(a5.energy_fj["source_driver"] / 2)
    assert a4.energy_fj["decoder"] == pytest.approx(0.42 * (4 * 16) / (5 * 32))
    t = adc_cost("qcell", 4, encoding="threshold")
    assert t.area_um2["core"] == pytest.approx(8.29 * 15 / 32)


@pytest.mark.parametrize("bits", [2, 3, 4, 6, 8])
def test_flash_energy_follows_comparator_count(bits):
    ratio = adc_cost("flash", bits).energy_total_fj / adc_cost("flash", 5).energy_total_fj
    assert ratio == pytest.approx((2**bits - 1) / 31)
    assert adc_cost("flash", 5).energy_total_fj == pytest.approx(1.7 * 31)


@pytest.mark.parametrize("bits", [2, 4, 5, 8])
def test_sar_takes_b_plus_one_cycles(bits):
    a = adc_cost("sar", bits)
    assert a.t_conv_ns == bits + 1
    assert a.energy_total_fj == pytest.approx((0.538 * bits + 4.375) * (bits + 1))


def test_zigzag_area_fit_endpoints():
    # the fit's published anchors: about 100 um^2 at 3 bits, 2085 at 8 bits
    assert adc_cost("sar", 3).area_total_um2 == pytest.approx(100, rel=0.02)
    assert adc_cost("flash", 8).area_total_um2 == pytest.approx(2085, rel=0.01)


def test_zero_inputs_cost_no_read_energy():
    spec, xb, _ = macro()
    x = np.zeros((5, spec.macro.rows), dtype=np.int64)
    c = mvm_cost(spec, xb.cells.g, xb.bit_planes(x))
    assert c.energy_fj["crossbar_read"] == 0.0
    assert c.energy_fj["wl_drivers"] == 0.0
    assert c.input_ones == 0


def test_crossbar_energy_is_v2_g_t_per_active_cell_per_input_one():
    spec, xb, rng = macro()
    m = spec.macro
    x = rng.integers(0, 2**m.input_bits, (7, m.rows))
    x[rng.random(x.shape) < 0.5] = 0
    bits = xb.bit_planes(x)
    cost = CostSpec(v_read=0.3, pulse_ns=5.0)
    c = mvm_cost(spec, xb.cells.g, bits, cost)
    # independent reference: every (vector, cycle, row, column) cell read explicitly
    ref = sum(0.3**2 * xb.cells.g[r, j] * 5.0
              for b in range(7) for t in range(m.input_bits) for r in range(m.rows)
              if bits[b, t, r] for j in range(m.phys_cols))
    assert c.energy_fj["crossbar_read"] == pytest.approx(ref, rel=1e-12)
    assert c.input_ones == int(sum(bin(int(v)).count("1") for v in x.ravel()))


def test_sparser_inputs_cost_less_and_uniform_g_is_proportional():
    spec, xb, rng = macro()
    m = spec.macro
    g = np.full((m.rows, m.phys_cols), 250.0)
    x = rng.integers(0, 2**m.input_bits, (9, m.rows))
    dense = mvm_cost(spec, g, xb.bit_planes(x))
    xs = x.copy()
    xs[:, ::2] = 0
    sparse = mvm_cost(spec, g, xb.bit_planes(xs))
    assert sparse.energy_total_fj < dense.energy_total_fj
    for c in (dense, sparse):
        assert c.energy_fj["crossbar_read"] == pytest.approx(
            0.5**2 * 250.0 * 10.0 * m.phys_cols * c.input_ones, rel=1e-12)


@pytest.mark.parametrize("sr", ["none", "nominal"])
def test_conversions_are_input_bits_x_columns_x_adcs(sr):
    spec, xb, rng = macro(sr=sr)
    m = spec.macro
    x = rng.integers(0, 2**m.input_bits, (3, m.rows))
    c = mvm_cost(spec, xb.cells.g, xb.bit_planes(x))
    assert c.conversions == 3 * m.input_bits * m.phys_cols * (1 if sr == "none" else 2)
    per = adc_cost("qcell", spec.adc.bits).energy_fj
    assert c.energy_fj["adc_source_driver"] == pytest.approx(c.conversions * per["source_driver"])
    # The SR pair's two codes make one LUT read and one add per column read.
    from golden.cost_presets import DIGITAL_45NM as D
    from golden.digital import lut_width, out_width

    reads = 3 * m.input_bits * m.phys_cols
    scale = 28.0 / D.node_nm
    assert c.energy_fj["lut_reads"] == pytest.approx(
        reads * lut_width(spec) * D.e_sram_bit_fj * scale, rel=1e-12)
    assert c.energy_fj["shift_add"] == pytest.approx(
        reads * out_width(spec) * D.e_add_bit_fj * scale, rel=1e-12)


def test_latency_one_adc_per_column():
    spec, xb, rng = macro()
    m = spec.macro
    x = rng.integers(0, 2**m.input_bits, (2, m.rows))
    one = mvm_cost(spec, xb.cells.g, xb.bit_planes(x), CostSpec(adc="sar"))
    assert one.latency_ns == m.input_bits * (10.0 + spec.adc.bits + 1)


def shared(k, mapping, kind="sar", sr="none"):
    """The cost of one batch on a cols = 5 macro (ragged for k = 2) with ``k`` columns
    per ADC, and of the same weights and inputs with k = 1."""
    out = []
    for kk in (1, k):
        spec = MacroSpec.from_dict({"macro": {"rows": 16, "cols": 5, "mapping": mapping},
                                    "adc": {"columns_per_adc": kk, "sr": sr}})
        m = spec.macro
        rng = np.random.default_rng(3)
        w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, (m.rows, m.cols))
        xb = Crossbar(spec, w)
        x = rng.integers(0, 2**m.input_bits, (3, m.rows))
        out.append((spec, mvm_cost(spec, xb.cells.g, xb.bit_planes(x), CostSpec(adc=kind))))
    return out


@pytest.mark.parametrize("sr", ["none", "nominal"])
@pytest.mark.parametrize("mapping", ["differential", "offset"])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_shared_adcs_closed_form(k, mapping, sr):
    """k columns per ADC: ceil(cols/k) * slices * polarities (+ the reference) ADC
    groups of adcs_per_column ADCs, the same conversions and read energy, k word-line
    pulses and k (read + conversion) steps per input bit."""
    (_, one), (spec, c) = shared(k, mapping, sr=sr)
    m, a = spec.macro, spec.adc
    groups = -(-m.cols // k) * m.slices * m.polarities + (mapping == "offset")
    t_conv = (a.bits + 1) * P.SAR_NEUROSIM.t_cycle_ns
    area = adc_cost("sar", a.bits).area_um2["adc"]
    assert c.area_um2["adc_adc"] == pytest.approx(groups * a.adcs_per_column * area, rel=1e-12)
    assert one.area_um2["adc_adc"] == pytest.approx(m.phys_cols * a.adcs_per_column * area)
    assert c.conversions == one.conversions == 3 * m.input_bits * m.phys_cols * a.adcs_per_column
    assert c.latency_ns == pytest.approx(m.input_bits * k * (P.ARRAY_NEUROSIM.pulse_ns + t_conv))
    assert c.energy_fj["wl_drivers"] == pytest.approx(k * one.energy_fj["wl_drivers"])
    for part in c.energy_fj:
        if part != "wl_drivers":
            assert c.energy_fj[part] == pytest.approx(one.energy_fj[part], rel=1e-12), part


def test_eight_columns_per_adc():
    """cols = 8, k = 8, differential, 2 slices: 4 ADC groups (one per slice and
    polarity) instead of 32 ADCs, 8x the latency."""
    spec = MacroSpec.from_dict({"adc": {"columns_per_adc": 8}})
    m = spec.macro
    assert (m.cols, m.slices, m.polarities) == (8, 2, 2)
    rng = np.random.default_rng(0)
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, (m.rows, m.cols))
    xb = Crossbar(spec, w)
    x = rng.integers(0, 2**m.input_bits, (2, m.rows))
    c = mvm_cost(spec, xb.cells.g, xb.bit_planes(x), CostSpec(adc="custom", adc_energy_fj=1.0,
                                                          adc_area_um2=10.0, adc_time_ns=2.0))
    assert c.area_um2["adc_adc"] == 4 * 10.0
    assert c.latency_ns == m.input_bits * 8 * (P.ARRAY_NEUROSIM.pulse_ns + 2.0)
    assert c.energy_fj["adc_adc"] == 2 * m.input_bits * m.phys_cols * 1.0


def test_columns_per_adc_is_not_a_cost_key():
    with pytest.raises(SpecError, match=r"cost\.columns_per_adc = 4: not a cost key: ADC "
                                        r"sharing is adc\.columns_per_adc"):
        CostSpec.from_dict({"columns_per_adc": 4})


def test_custom_adc_and_tops():
    spec, xb, rng = macro()
    m = spec.macro
    x = rng.integers(0, 2**m.input_bits, (4, m.rows))
    c = mvm_cost(spec, xb.cells.g, xb.bit_planes(x),
                 CostSpec(adc="custom", adc_energy_fj=100.0, adc_area_um2=50.0, adc_time_ns=2.0))
    assert c.energy_fj["adc_adc"] == c.conversions * 100.0
    assert c.area_um2["adc_adc"] == m.phys_cols * 50.0
    ops = 2 * m.rows * m.cols * 4
    assert c.tops_per_w == pytest.approx(ops / (c.energy_total_fj * 1e-15) / 1e12)


@pytest.mark.parametrize("data, key", [
    ({"adc": "pipeline"}, "cost.adc"),
    ({"adc_energy_fj": -1.0}, "cost.adc_energy_fj"),
    ({"v_read": 0.0}, "cost.v_read"),
    ({"pulse_ns": "10"}, "cost.pulse_ns"),
    ({"adc": "custom", "adc_energy_fj": 1.0, "adc_area_um2": 1.0}, "cost.adc_time_ns"),
    ({"colour": 1}, "cost.colour"),
    ({"columns_per_adc": 0}, "cost.columns_per_adc"),
    ({"columns_per_adc": 2}, "cost.columns_per_adc"),
])
def test_cost_spec_refuses_bad_values(data, key):
    with pytest.raises(SpecError) as e:
        CostSpec.from_dict(data)
    assert e.value.key == key


def test_presets_cite_sources():
    for p in (P.QCELL_READC_5B, P.FLASH_NEUROSIM, P.SAR_NEUROSIM, P.ZIGZAG_ADC_AREA,
              P.MURMANN_SURVEY, P.ARRAY_NEUROSIM, P.DIGITAL_45NM):
        assert p.source
    assert math.isclose(P.DIGITAL_45NM.e_add_bit_fj * 32, 100.0)


@pytest.mark.parametrize("bits", [3, 5, 8])
def test_walden_band_is_the_survey_fom_times_2_to_the_bits(bits):
    from golden.cost import walden_band
    from golden.cost_presets import MURMANN_SURVEY as S

    band = walden_band(bits)
    assert band["median_fj"] == S.walden_median_fj * 2**bits
    assert band["best_fj"] == S.walden_best_fj * 2**bits
    assert band["best_fj"] < band["median_fj"] and "Murmann" in band["source"]
