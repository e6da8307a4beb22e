"""bench.diff_results: two flow results equal but for timings pass, a real change fails."""

import json

import pytest

from bench import diff_results

BEFORE = {
    "format": "cimgen-flow-results",
    "config": {"adc": {"bits": 4, "encoding": "window"}},
    "accuracy": {"runs": [{"scheme": "uniform", "accuracy": 0.95, "seed": 3},
                          {"scheme": "adaptive", "accuracy": 0.97, "seed": 3}]},
    "rtl": {"status": "passed", "mvms": 1000, "sim_wall_s": 179.1},
    "timing_s": {"sweep": 182.3, "total": 190.0},
}


def _copy():
    return json.loads(json.dumps(BEFORE))


def test_equal_but_for_timings():
    after = _copy()
    after["timing_s"] = {"sweep": 12.0, "total": 20.0, "report": 1.0}
    after["rtl"]["sim_wall_s"] = 3.5
    assert diff_results.diff(BEFORE, after) == []


def test_a_changed_number_is_found():
    after = _copy()
    after["accuracy"]["runs"][1]["accuracy"] = 0.96
    assert diff_results.diff(BEFORE, after) == [
        "accuracy.runs[1].accuracy: 0.97 before, 0.96 after"]
    assert diff_results.diff(BEFORE, after, rtol=0.05) == []


def test_added_key_needs_allow():
    after = _copy()
    after["config"]["adc"]["decoder"] = "auto"
    assert diff_results.diff(BEFORE, after) == ["config.adc.decoder: missing in BEFORE"]
    assert diff_results.diff(BEFORE, after, allow=["config.adc.decoder"]) == []


def test_lists_types_and_removals():
    after = _copy()
    after["accuracy"]["runs"].pop()
    del after["rtl"]["mvms"]
    after["format"] = 1
    found = diff_results.diff(BEFORE, after)
    assert found == ["format: 'cimgen-flow-results' (str) before, 1 (int) after",
                     "accuracy.runs: 2 items before, 1 after",
                     "rtl.mvms: missing in AFTER"]


def test_cli_exit_codes(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(BEFORE))
    after = _copy()
    after["timing_s"]["total"] = 1.0
    b.write_text(json.dumps(after))
    assert diff_results.main([str(a), str(b)]) == 0
    after["rtl"]["status"] = "failed"
    b.write_text(json.dumps(after))
    assert diff_results.main([str(a), str(b)]) == 1
    assert "rtl.status: 'passed' before, 'failed' after" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        diff_results.main([str(a), str(tmp_path / "missing.json")])
    assert e.value.code == 2
    assert "AFTER" in capsys.readouterr().err
