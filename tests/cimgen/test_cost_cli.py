"""``cimgen cost``: table, JSON, bad input (exit 2, one line)."""

import json
from pathlib import Path

import pytest

from cimgen.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "default.toml"


def test_table_and_json(tmp_path, capsys):
    out = tmp_path / "cost.json"
    assert main(["cost", str(CONFIG), "--adc", "sar", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "crossbar_read" in text and "TOPS/W" in text
    d = json.loads(out.read_text())
    assert d["cost"]["adc"]["kind"] == "sar"
    assert {c["adc"]["kind"] for c in d["other_adc_kinds"]} == {"qcell", "flash"}
    assert main(["cost", str(CONFIG), "--json", str(out)]) == 2  # never overwrites


@pytest.mark.parametrize("section, key", [
    ('adc = "pipeline"', "cost.adc"),
    ("adc_energy_fj = -1.0", "cost.adc_energy_fj"),
    ('adc = "custom"\nadc_energy_fj = 1.0', "cost.adc_area_um2"),
])
def test_bad_cost_section_exits_2(tmp_path, capsys, section, key):
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG.read_text() + f"\n[cost]\n{section}\n")
    assert main(["cost", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert key in err and len(err.splitlines()) == 1
