"""``cimgen cost``: table, JSON, bad input (exit 2, one line)."""

import json
import re
from pathlib import Path

import pytest

from cimgen.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "default.toml"


def without_cost(text: str) -> str:
    """The config text without its [cost] section (the example's last section)."""
    head, sep, _ = text.partition("\n[cost]\n")
    assert sep, "examples/default.toml has a [cost] section"
    return head + "\n"


def test_table_and_json(tmp_path, capsys):
    out = tmp_path / "cost.json"
    assert main(["cost", str(CONFIG), "--adc", "sar", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "crossbar_read" in text and "TOPS/W" in text
    d = json.loads(out.read_text())
    assert d["cost"]["adc"]["kind"] == "sar"
    assert {c["adc"]["kind"] for c in d["other_adc_kinds"]} == {"qcell", "flash"}
    assert d["walden_reference"]["median_fj"] == 49.0 * 2**4  # Murmann median, 4 bits
    assert "FoM fJ/step" in text and "Walden FoM x 2^4" in text
    assert main(["cost", str(CONFIG), "--json", str(out)]) == 2  # never overwrites


@pytest.mark.parametrize("section, key", [
    ('adc = "pipeline"', "cost.adc"),
    ("adc_energy_fj = -1.0", "cost.adc_energy_fj"),
    ('adc = "custom"\nadc_energy_fj = 1.0', "cost.adc_area_um2"),
])
def test_bad_cost_section_exits_2(tmp_path, capsys, section, key):
    cfg = tmp_path / "c.toml"
    cfg.write_text(without_cost(CONFIG.read_text()) + f"\n[cost]\n{section}\n")
    assert main(["cost", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert key in err and len(err.splitlines()) == 1


def test_columns_per_adc_from_the_adc_section(tmp_path, capsys):
    """adc.columns_per_adc = 2 in the config: twice the latency of the same design
    with one ADC per column and half its ADCs (cols = 8 divides evenly), the same
    conversions; a [cost] columns_per_adc is refused (exit 2) naming the adc key."""
    runs = {}
    for k in (1, 2):
        cfg = tmp_path / f"k{k}.toml"
        text = re.sub(r"(?m)^columns_per_adc *=.*\n", "", CONFIG.read_text())
        cfg.write_text(text.replace("[adc]\n", f"[adc]\ncolumns_per_adc = {k}\n"))
        out = tmp_path / f"k{k}.json"
        assert main(["cost", str(cfg), "--adc", "flash", "--json", str(out)]) == 0
        runs[k] = json.loads(out.read_text())["cost"]
    assert "16 ADCs (2 columns per ADC)" in capsys.readouterr().out
    one, two = runs[1], runs[2]
    assert (one["adcs"], two["adcs"], two["columns_per_adc"]) == (32, 16, 2)
    assert two["latency_ns_per_mvm"] == 2 * one["latency_ns_per_mvm"]
    assert two["area_um2"]["adc_adc"] == one["area_um2"]["adc_adc"] / 2
    assert two["conversions"] == one["conversions"]
    cfg = tmp_path / "bad.toml"
    cfg.write_text(without_cost(CONFIG.read_text()) + "\n[cost]\ncolumns_per_adc = 2\n")
    assert main(["cost", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cost.columns_per_adc" in err and "adc.columns_per_adc" in err


def test_workload_one_inference(tmp_path, capsys):
    """--workload digits: one inference over the network's 8 + 2 tiles of the 64 x 8
    example (4-bit inputs, 32 physical columns): 10 x 4 x 32 conversions; the layers add
    up to the total; the other kinds beside it."""
    out = tmp_path / "w.json"
    assert main(["cost", str(CONFIG), "--workload", "digits", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "one inference: 10 tiles, 1280 conversions" in text
    d = json.loads(out.read_text())
    c = d["cost"]
    assert [ly["tiles"] for ly in c["layers"]] == [8, 2]
    assert sum(ly["energy_per_inference_fj"] for ly in c["layers"]) == pytest.approx(
        c["energy_per_inference_fj"], rel=1e-12)
    assert c["ops"] == 2 * (64 * 64 + 64 * 10)
    assert {o["adc"] for o in d["other_adc_kinds"]} == {"flash", "sar"}
    assert 0.9 < d["accuracy"] <= 1.0


# -- the digital periphery from toggles, and --calibration ------------------------------

def _spec_and_operands(seed=0):
    import numpy as np

    from cimgen.config import load_config

    spec = load_config(CONFIG)
    m = spec.macro
    rng = np.random.default_rng(seed)
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, (m.rows, m.cols))
    x = rng.integers(m.input_range[0], m.input_range[1] + 1, (16, m.rows))
    return spec, w, x


def test_digital_energy_is_the_sum_of_its_toggles():
    """mvm_cost with match bits and LUT words: each digital component is
    golden.gates.toggle_energy of exactly those patterns at the cost node; zero inputs
    toggle nothing downstream of the LUT read."""
    import numpy as np

    from golden.cost import mvm_cost
    from golden.gates import toggle_energy
    from golden.macro import Macro

    spec, w, x = _spec_and_operands()
    mac = Macro(spec, w)
    cal = mac.calibrate(x)
    xb = mac.crossbar
    match, luts = mac.match_vectors(x), cal.lut_fixed(spec)
    c = mvm_cost(spec, xb.cells.g, xb.bit_planes(x), spec.cost, match=match, luts=luts)
    t = toggle_energy(match, luts, spec, node_nm=spec.cost.node_nm)
    # energies are of the whole batch
    assert c.energy_fj["decoders"] == pytest.approx(t["decoders"])
    assert c.energy_fj["shift_add"] == pytest.approx(t["shift_add"])
    twice = np.concatenate([x, x])
    c2 = mvm_cost(spec, xb.cells.g, xb.bit_planes(twice), spec.cost,
                  match=mac.match_vectors(twice), luts=luts)
    assert c2.energy_fj["crossbar_read"] == pytest.approx(2 * c.energy_fj["crossbar_read"])
    zero = np.zeros_like(x)
    cz = mvm_cost(spec, xb.cells.g, xb.bit_planes(zero), spec.cost,
                  match=mac.match_vectors(zero), luts=luts)
    assert cz.energy_fj["crossbar_read"] == 0.0
    with pytest.raises(ValueError, match="give both"):
        mvm_cost(spec, xb.cells.g, xb.bit_planes(x), spec.cost, match=match)


def test_calibration_file_sets_the_toggled_patterns(tmp_path, capsys):
    """--calibration: the same inputs cost their digital periphery from that file's LUTs
    (equal to mvm_cost of a macro programmed with it), different from the default
    self-calibration's."""
    import numpy as np

    from cimgen.calfile import save_calibration
    from golden.calibration import default_calibration
    from golden.cost import mvm_cost
    from golden.macro import Macro

    spec, w, x = _spec_and_operands()
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "x.npy", x)
    cal = default_calibration(spec)
    save_calibration(tmp_path / "cal.json", spec, {(0, 0): cal})
    args = ["cost", str(CONFIG), "--weights", str(tmp_path / "w.npy"), "--inputs",
            str(tmp_path / "x.npy")]
    assert main([*args, "--calibration", str(tmp_path / "cal.json"),
                 "--json", str(tmp_path / "a.json")]) == 0
    assert main([*args, "--json", str(tmp_path / "b.json")]) == 0
    a = json.loads((tmp_path / "a.json").read_text())["cost"]["energy_fj"]
    b = json.loads((tmp_path / "b.json").read_text())["cost"]["energy_fj"]
    mac = Macro(spec, w, calibration=cal)
    xb = mac.crossbar
    ref = mvm_cost(spec, xb.cells.g, xb.bit_planes(x), spec.cost,
                   match=mac.match_vectors(x), luts=cal.lut_fixed(spec))
    for k in ("decoders", "lut_reads", "shift_add", "control"):
        assert a[k] == pytest.approx(ref.energy_fj[k]), k
    assert a["lut_reads"] != b["lut_reads"]
    assert a["crossbar_read"] == pytest.approx(b["crossbar_read"])  # analog side alike
    capsys.readouterr()
    assert main(["cost", str(CONFIG), "--workload", "digits", "--calibration",
                 str(tmp_path / "cal.json")]) == 2
    err = capsys.readouterr().err
    assert "--calibration" in err and "not with --workload" in err
    (tmp_path / "bad.json").write_text("{")
    assert main([*args, "--calibration", str(tmp_path / "bad.json")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
