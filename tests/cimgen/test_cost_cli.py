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
