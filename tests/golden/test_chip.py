"""golden.chip: the VGG8 chip of ReADC fig. 1c from layer shapes, and the consistency
of the paper's four published figures (closed forms on fig1c.csv's numbers)."""

import csv
import math
from pathlib import Path

import pytest

from golden.chip import (
    PUBLISHED,
    VGG8,
    chip_cost,
    chip_spec,
    published_consistency,
    representative_mvm,
)
from golden.cost import adc_cost, mvm_cost

FIG1C = Path(__file__).resolve().parents[1] / "data" / "fig1c.csv"


def test_published_figures_are_fig1c():
    with FIG1C.open() as f:
        rows = {r[""]: r for r in csv.DictReader(f)}
    assert float(rows["Energy"]["ADC"]) == PUBLISHED["adc_energy"]
    assert float(rows["Energy"]["ALL"]) == PUBLISHED["all_energy"]
    assert float(rows["Area"]["ADC"]) == PUBLISHED["adc_area"]
    assert float(rows["Area"]["ALL"]) == PUBLISHED["all_area"]
    assert PUBLISHED["adc_energy"] / PUBLISHED["all_energy"] == pytest.approx(0.878, abs=5e-4)
    assert PUBLISHED["adc_area"] / PUBLISHED["all_area"] == pytest.approx(0.752, abs=5e-4)


def test_the_four_published_figures_disagree_with_an_adc_only_swap():
    """Swapping only the ADC (15.1x, 12.9x) gives 32.2 % / 19.1 % shares and -82.0 % /
    -69.4 % chip reductions; the published shares need 24.7x / 14.9x, the published
    reductions 2.87x / 1.69x; both at once need the rest of the chip 2.71x / 2.33x."""
    c = published_consistency()
    e_rest, a_rest = 371.89 - 326.4, 63801.94 - 48000.0
    e_adc, a_adc = 326.4 / 15.1, 48000.0 / 12.9
    assert c["swap_only"]["energy_share"] == pytest.approx(e_adc / (e_adc + e_rest))
    assert c["swap_only"]["area_reduction"] == pytest.approx(1 - (a_adc + a_rest) / 63801.94)
    assert c["swap_only"]["energy_share"] == pytest.approx(0.322, abs=1e-3)
    assert c["swap_only"]["area_share"] == pytest.approx(0.191, abs=1e-3)
    assert c["from_shares"]["adc_energy_ratio"] == pytest.approx(24.7, abs=0.05)
    assert c["from_reductions"]["adc_area_ratio"] == pytest.approx(1.69, abs=0.005)
    # 8 Q-cell ADCs for every muxed ADC, each 12.9x smaller, is within 5 % of that area ratio
    assert 12.9 / 8 == pytest.approx(c["from_reductions"]["adc_area_ratio"], rel=0.05)
    assert c["rest_growth"]["energy"] == pytest.approx(371.89 * 0.428 * 0.775 / e_rest)
    assert c["rest_growth"]["area"] > 2 and c["rest_growth"]["energy"] > 2


def test_subarrays_and_conversions_from_the_layer_shapes():
    spec = chip_spec()
    c = chip_cost(spec)
    per_logical = 16  # 8 one-bit slices x 2 polarities
    want = sum(math.ceil(ly.rows / 128) * math.ceil(ly.c_out * per_logical / 128) for ly in VGG8)
    assert c["subarrays"] == want
    assert c["adcs"] == want * 128 // 8  # 8 columns per ADC
    mvms = sum(r["mvms"] for r in c["layers"])
    assert c["conversions"] == mvms * 8 * 128  # input bits x physical columns per MVM
    one = mvm_cost(spec, *representative_mvm(spec))
    assert c["energy_total_fj"] == pytest.approx(mvms * one.energy_total_fj, rel=1e-12)
    assert c["area_total_um2"] == pytest.approx(want * one.area_total_um2, rel=1e-12)


def test_adc_kind_moves_only_the_adc_parts():
    spec = chip_spec()
    flash = chip_cost(spec, cost=spec.cost.replace(adc="flash"))
    qcell = chip_cost(spec, cost=spec.cost.replace(adc="qcell"))
    for k in ("crossbar_read", "lut_reads", "shift_add", "buffers"):
        assert flash["energy_fj"][k] == qcell["energy_fj"][k]
    a_q, a_f = adc_cost("qcell", 5).area_total_um2, adc_cost("flash", 5).area_total_um2
    assert qcell["area_um2"]["adc_core"] + qcell["area_um2"]["adc_decoder"] + qcell[
        "area_um2"]["adc_unattributed"] == pytest.approx(qcell["adcs"] * a_q)
    assert flash["area_um2"]["adc_adc"] == pytest.approx(flash["adcs"] * a_f)
    assert 0 < qcell["adc_energy_share"] < qcell["neurosim_adc_energy_share"] < 1
