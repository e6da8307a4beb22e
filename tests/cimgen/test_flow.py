"""``cimgen flow``: the quick flow end to end, its claims, reproducibility, bad input."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cimgen import flow
from cimgen.cli import main
from cimgen.config import load_config

pytest.importorskip("sklearn", reason="the flow's workload is scikit-learn's digits")
pytest.importorskip("matplotlib", reason="the flow draws its figures with matplotlib")

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "default.toml"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick flow (fewer RTL vectors than its default 200, to keep the test short)."""
    out = tmp_path_factory.mktemp("flow") / "quick"
    code = main(["flow", str(CONFIG), "--quick", "--rtl-mvms", "50", "-o", str(out)])
    return code, out


def test_quick_flow_writes_the_report(quick):
    code, out = quick
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    assert res["format"] == "cimgen-flow-results" and res["mode"] == "quick"
    assert len(res["figures"]) == 6
    for rel in res["figures"]:
        data = (out / rel).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, rel
    report = (out / "report.md").read_text()
    for rel in res["figures"]:
        assert f"]({rel})" in report
    assert "| ADC bits | variation % |" in report
    for f in ("calibration/layer1.json", "calibration/layer2.json", "network.npz",
              "verilog/cim_periphery.v", "verilog/manifest.json"):
        assert (out / f).is_file(), f
    assert not list(out.parent.glob(".quick.*"))  # no temporary left behind


def test_quick_flow_accuracy_table(quick):
    _, out = quick
    res = json.loads((out / "results.json").read_text())
    acc = res["accuracy"]
    assert acc["float_baseline"] > 0.96 and acc["integer_ideal"] > 0.96
    points = {(s["scheme"], s["bits"], s["variation_pct"]) for s in acc["summary"]}
    assert points == {(s, b, v) for s in flow.SCHEMES for b in (3, 4) for v in (0.0, 2.0)}
    assert all(s["n"] == res["grid"]["seeds"] == 6 for s in acc["summary"])
    assert len(acc["runs"]) == 3 * 2 * 2 * 6


def test_quick_flow_cost(quick):
    """The cost step: the configured design per inference, and every scheme x bits of
    the grid on the same chip; the report's section and Pareto figure come from it."""
    _, out = quick
    res = json.loads((out / "results.json").read_text())
    c = res["cost"]["per_inference"]
    assert c["tiles"] == sum(a * b for a, b in res["workload"]["tiles"])
    assert c["energy_per_inference_fj"] == pytest.approx(sum(c["energy_fj"].values()))
    assert c["ops"] == 2 * sum(a * b for a, b in res["workload"]["layers"])
    rows = {(r["scheme"], r["bits"], r["adc_kind"]): r for r in res["cost"]["schemes"]}
    kinds = ("qcell", "flash", "sar")
    assert set(rows) == {(s, b, k) for s in flow.SCHEMES for b in (3, 4) for k in kinds}
    for b in (3, 4):  # uniform and adaptive are the same hardware; SR converts twice
        for k in kinds:
            u, a, sr = (rows[(s, b, k)] for s in ("uniform", "adaptive", "adaptive+sr"))
            assert u["energy_per_inference_fj"] == a["energy_per_inference_fj"]
            assert sr["conversions"] == 2 * u["conversions"]
    assert rows[("adaptive", 4, "qcell")]["energy_per_inference_fj"] == pytest.approx(
        c["energy_per_inference_fj"])  # the example config is adaptive, 4 bits, qcell
    assert len(c["layers"]) == len(res["workload"]["layers"])
    report = (out / "report.md").read_text()
    assert "## Cost" in report and "figures/accuracy_vs_energy.png" in report


def test_quick_flow_claims_hold(quick):
    _, out = quick
    claims = json.loads((out / "results.json").read_text())["claims"]
    ge = claims["adaptive_ge_uniform"]
    assert ge["evaluated"] and ge["holds"], ge
    assert set(ge["per_bits"]) == {"3", "4"}
    sr = claims["sr_recovers_half"]
    assert sr["evaluated"] and sr["holds"], sr
    assert sr["cost"] > 0 and sr["recovered"] >= sr["cost"] / 2


def test_quick_flow_rtl_step(quick):
    _, out = quick
    rtl = json.loads((out / "results.json").read_text())["rtl"]
    sc = rtl["golden_self_check"]
    assert sc["mvms"] == 50 and sc["out_mismatches"] == 0 and sc["flag_mismatches"] == 0
    if rtl["status"].startswith("skipped") and shutil.which("iverilog") is None:
        pytest.skip(f"RTL check: {rtl['status']}")  # the only skip: no simulator
    assert rtl["status"] == "passed", rtl.get("report")
    assert rtl["mvms"] == 50 and rtl["mismatches"] == 0
    with np.load(next((out / "verilog").glob("mvms_*.npz"))) as z:
        assert z["match"].shape[0] == 50


def _tiny(tmp_path, name, workers, **kw):
    spec = load_config(CONFIG)
    grid = flow.FlowGrid(bits=(4,), variation_pct=(0.0, 2.0), seeds=2, n_cal=64,
                         sr_design=False, rtl_mvms=8)
    return flow.run_flow(spec, tmp_path / name, grid=grid, rtl=False, workers=workers,
                         progress=False, **kw)


def _numbers(res):
    return {k: v for k, v in res.items() if k != "timing_s"}


def test_same_seed_same_numbers_whatever_the_workers(tmp_path):
    a = _tiny(tmp_path, "a", workers=1)
    b = _tiny(tmp_path, "b", workers=2)
    assert _numbers(a) == _numbers(b)
    on_disk = json.loads((tmp_path / "b" / "results.json").read_text())
    assert _numbers(on_disk) == json.loads(json.dumps(_numbers(b)))
    assert on_disk["rtl"]["status"] == "skipped: --no-rtl"
    assert on_disk["synth"]["status"].startswith("skipped")


def test_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    from cimgen import report

    def boom(*args, **kw):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(report, "write_figures", boom)
    with pytest.raises(RuntimeError, match="figure failed"):
        _tiny(tmp_path, "x", workers=1)
    assert list(tmp_path.iterdir()) == []


def _bad(capsys, *args, match):
    code = main(["flow", *map(str, args)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert match in err, err


def test_non_empty_output_needs_force(tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep").write_text("x")
    _bad(capsys, CONFIG, "--quick", "-o", tmp_path / "o", match="exists and is not empty")
    assert (tmp_path / "o" / "keep").exists()


def test_signed_inputs_refused(tmp_path, capsys):
    cfg = tmp_path / "signed.toml"
    text = CONFIG.read_text().replace("input_signed = false", "input_signed = true")
    cfg.write_text(text)
    _bad(capsys, cfg, "--quick", "-o", tmp_path / "o", match="macro.input_signed = true")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("args", "match"), [
    (["--seeds", "0"], "--seeds 0: must be an integer in 1..1000"),
    (["--rtl-mvms", "5000"], "--rtl-mvms 5000: must be an integer in 1..1797"),
    (["--workers", "0"], "--workers 0: must be an integer in 1..256"),
    (["--quick", "--design-seeds", "24"], "--design-seeds: only applies to the full flow"),
])
def test_bad_options(tmp_path, capsys, args, match):
    _bad(capsys, CONFIG, *args, "-o", tmp_path / "o", match=match)
    assert not (tmp_path / "o").exists()


def test_bad_config(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    shutil.copy(CONFIG, cfg)
    cfg.write_text(cfg.read_text().replace("bits = 4\nencoding", "bits = 9\nencoding"))
    _bad(capsys, cfg, "-o", tmp_path / "o", match="adc.bits = 9")


def _small_flow(tmp_path, capsys):
    code = main(["flow", str(CONFIG), "--quick", "--seeds", "1", "--rtl-mvms", "12",
                 "--workers", "1", "-o", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="needs Icarus Verilog")
def test_broken_rtl_fails_the_flow(tmp_path, capsys, monkeypatch):
    """A deliberately faulty periphery (sim.mutants) mismatches: exit 1, report written."""
    import hdl.export
    from sim import mutants

    real = hdl.export.generate

    def faulty(*args, **kw):
        return real(*args, **kw, parts=mutants.parts("lut_addr_off_by_one"))

    monkeypatch.setattr(hdl.export, "generate", faulty)
    code, _, err = _small_flow(tmp_path, capsys)
    assert code == 1, err
    assert "cimgen flow: check failed: RTL check: failed" in err
    rtl = json.loads((tmp_path / "o" / "results.json").read_text())["rtl"]
    assert rtl["status"] == "failed" and rtl["mismatches"] > 0, rtl


def test_an_error_in_the_rtl_step_fails_the_flow(tmp_path, capsys, monkeypatch):
    """Not a skip: any exception of the RTL check is a failed check (exit 1)."""
    from sim import runner

    def broken(*args, **kw):
        raise RuntimeError("the bench cannot start")

    monkeypatch.setattr(runner, "run_bench", broken)
    monkeypatch.setattr(runner, "find_simulator", lambda name: runner.SimTool(
        name, "test", "iverilog"))
    monkeypatch.setattr(runner, "build", lambda tool, sources, top, bdir, *a: bdir)
    code, out, err = _small_flow(tmp_path, capsys)
    assert code == 1, err
    assert "RTL check: failed: RuntimeError: the bench cannot start" in err
    assert "Traceback" not in err
    assert "waiting for the RTL check" not in out or "[4/6] RTL: failed" in out
    assert not list((tmp_path / "o").rglob(".*.lock"))
