"""Network cost (cimgen.netcost): the sum over its MVMs, sparsity, schemes."""

import numpy as np
import pytest

from cimgen.flow.grid import SCHEMES, scheme_adc
from cimgen.netcost import network_cost, scheme_costs
from cimgen.tiling import input_tile, run_tiled
from golden.cost import adc_cost, mvm_cost
from golden.spec import MacroSpec

N_CAL = 4


def two_layers(x_zero_rows=None):
    """Two tiled layers on 16 x 4 macros: 40 -> 6 (3 x 2 tiles), 6 -> 3 (1 x 1)."""
    spec = MacroSpec.from_dict({"macro": {"rows": 16, "cols": 4, "input_bits": 3,
                                          "weight_bits": 4, "cell_bits": 2},
                                "adc": {"bits": 3}})
    rng = np.random.default_rng(5)
    m = spec.macro
    layers = []
    x = rng.integers(0, 2**m.input_bits, (N_CAL + 7, 40))
    if x_zero_rows is not None:
        x[N_CAL:, :] = 0
    for w_shape in ((40, 6), (6, 3)):
        w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, w_shape)
        res = run_tiled(spec, w, x, calibrate_on=x[:N_CAL], keep=True)
        layers.append({"result": res, "x": x, "w_shape": w.shape})
        x = np.clip(np.round(res.values / 8), 0, 2**m.input_bits - 1).astype(np.int64)
    return spec, layers


def test_energy_per_inference_is_the_sum_over_its_mvms():
    """A second computation: every test input and tile costed one MVM at a time."""
    spec, layers = two_layers()
    c = network_cost(spec, layers, N_CAL)
    total, lat, n_test = 0.0, 0.0, layers[0]["x"].shape[0] - N_CAL
    for lay in layers:
        x = lay["x"][N_CAL:]
        lats = []
        for (r, _), mac in lay["result"].macros.items():
            for v in range(n_test):
                one = mvm_cost(spec, mac.crossbar.cells.g,
                               mac.crossbar.bit_planes(input_tile(x[v:v + 1], r, spec)))
                total += one.energy_total_fj
                lats.append(one.latency_ns)
        lat += max(lats)
    assert c["energy_per_inference_fj"] == pytest.approx(total / n_test, rel=1e-12)
    t_conv = adc_cost("qcell", spec.adc.bits).t_conv_ns
    assert c["latency_ns"] == lat == 2 * spec.macro.input_bits * (spec.cost.pulse_ns + t_conv)
    assert c["tiles"] == 3 * 2 + 1 and c["ops"] == 2 * (40 * 6 + 6 * 3)
    assert c["conversions"] == 7 * spec.macro.input_bits * spec.macro.phys_cols


def test_zero_inputs_cost_no_read_energy():
    spec, layers = two_layers(x_zero_rows=True)
    c = network_cost(spec, layers[:1], N_CAL)
    assert c["energy_fj"]["crossbar_read"] == 0.0 and c["energy_fj"]["wl_drivers"] == 0.0
    assert c["energy_fj"]["adc_source_driver"] > 0  # the columns are still converted


def test_schemes_on_the_same_chip():
    spec, layers = two_layers()
    rows = {(r["scheme"], r["bits"], r["adc_kind"]): r for r in
            scheme_costs(spec, layers, N_CAL, SCHEMES, (3, 5), scheme_adc)}
    for b in (3, 5):
        for k in ("qcell", "flash", "sar"):
            assert rows[("uniform", b, k)] == {**rows[("adaptive", b, k)], "scheme": "uniform"}
            assert (rows[("adaptive+sr", b, k)]["conversions"]
                    == 2 * rows[("adaptive", b, k)]["conversions"])
        # flash: 2^B - 1 comparators per conversion (NeuroSim)
        f = rows[("adaptive", b, "flash")]
        assert f["adc_energy_fj"] == pytest.approx(
            f["conversions"] * adc_cost("flash", b).energy_total_fj, rel=1e-12)
    # the qcell ADC energy grows with its cell count (2^B window cells at 5 vs 3 bits)
    assert (rows[("adaptive", 5, "qcell")]["adc_energy_fj"]
            > 3.9 * rows[("adaptive", 3, "qcell")]["adc_energy_fj"])


def test_a_layer_without_its_macros_is_refused():
    spec, layers = two_layers()
    res = run_tiled(spec, np.zeros((40, 6), dtype=np.int64), layers[0]["x"],
                    calibrate_on=layers[0]["x"][:N_CAL])
    with pytest.raises(ValueError, match="keep=True"):
        network_cost(spec, [{"result": res, "x": layers[0]["x"], "w_shape": (40, 6)}], N_CAL)
