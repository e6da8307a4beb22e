"""``cimgen sweep``: identical serial and distributed, resumable, seeded per task."""

import csv
from pathlib import Path

import pytest

from cimgen import sweep
from cimgen.cli import main
from cimgen.errors import InputError
from golden.spec import MacroSpec

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "default.toml"
SPEC = MacroSpec().replace(macro={"rows": 32, "cols": 4})
GRID = [(b, v, s, t) for b in (3, 4) for v in (0.0, 1.5) for s in ("none", "calibrated")
        for t in range(2)]


def test_serial_and_two_worker_cluster_identical(tmp_path):
    serial = sweep.run_sweep(SPEC, GRID, out_dir=tmp_path / "s", serial=True, progress=False)
    dist = sweep.run_sweep(SPEC, GRID, out_dir=tmp_path / "d", workers=2, progress=False)
    assert serial == dist
    assert len(serial) == len(GRID)
    # Different trials of one point are different draws; SR helps under variation.
    by = {(r["bits"], r["variation_pct"], r["sr"], r["trial"]): r for r in serial}
    assert by[(4, 1.5, "none", 0)]["rms_error"] != by[(4, 1.5, "none", 1)]["rms_error"]


NET_SPEC = MacroSpec().replace(macro={"rows": 64, "cols": 16}, workload={"name": "digits"})
NET_GRID = [(3, 1.5, s, 0) for s in ("none", "calibrated")] + [(4, 1.5, "none", 0)]


def test_workload_accuracy_serial_and_cluster_identical(tmp_path, monkeypatch):
    """With [workload] every task also reports the digit network's test accuracy; the
    network is trained once per sweep, and the table (accuracy included) is the same
    serially and on two workers."""
    trained = []
    real = sweep.network_context
    monkeypatch.setattr(sweep, "network_context", lambda s: trained.append(1) or real(s))
    serial = sweep.run_sweep(NET_SPEC, NET_GRID, out_dir=tmp_path / "s", serial=True,
                             progress=False)
    dist = sweep.run_sweep(NET_SPEC, NET_GRID, out_dir=tmp_path / "d", workers=2,
                           progress=False)
    assert len(trained) == 2  # once per sweep, not per task
    assert serial == dist
    assert list(serial[0]) == list(sweep.COLUMNS + sweep.WORKLOAD_COLUMNS)
    acc = {(r["bits"], r["sr"]): r["accuracy"] for r in serial}
    assert all(0.85 < a <= 1.0 for a in acc.values()), acc
    assert len(set(acc.values())) > 1  # the grid point matters
    # A finished sweep resumes without training the network again.
    again = sweep.run_sweep(NET_SPEC, NET_GRID, out_dir=tmp_path / "s", serial=True,
                            progress=False)
    assert again == serial and len(trained) == 2
    paths = sweep.write_outputs(serial, tmp_path / "s", {"config": NET_SPEC.to_dict()})
    assert tmp_path / "s" / "accuracy_vs_variation.png" in paths
    header = (tmp_path / "s" / "results.csv").read_text().splitlines()[0]
    assert header.endswith("accuracy,net_flagged")


def test_no_workload_no_accuracy_column():
    assert sweep.columns(SPEC) == sweep.COLUMNS
    assert sweep.network_context(SPEC) is None


def test_digits_example_names_the_workload():
    from cimgen.config import load_config

    spec = load_config(CONFIG.with_name("digits.toml"))
    assert spec.workload.name == "digits"
    assert spec.replace(workload={"name": "none"}) == load_config(CONFIG)
    assert sweep.columns(spec)[-2:] == sweep.WORKLOAD_COLUMNS


def test_workload_needs_unsigned_inputs():
    spec = NET_SPEC.replace(macro={"input_signed": True})
    with pytest.raises(InputError, match="input_signed = true"):
        sweep.network_context(spec)


def test_task_depends_only_on_its_point(tmp_path):
    d = SPEC.to_dict()
    a = sweep.run_task(d, 3, 1.5, "calibrated", 1)
    sweep.run_task(d, 4, 0.0, "none", 0)  # anything in between changes nothing
    assert sweep.run_task(d, 3, 1.5, "calibrated", 1) == a


def test_interrupted_sweep_resumes(tmp_path, monkeypatch):
    full = sweep.run_sweep(SPEC, GRID, out_dir=tmp_path / "full", serial=True, progress=False)
    out = tmp_path / "resumed"
    out.mkdir()
    with (out / "partial.csv").open("w", newline="") as f:  # 5 tasks done before the stop
        w = csv.DictWriter(f, fieldnames=sweep.COLUMNS)
        w.writeheader()
        for r in full[:5]:
            w.writerow({c: repr(r[c]) if isinstance(r[c], float) else r[c]
                        for c in sweep.COLUMNS})
    calls = []
    real = sweep.run_task
    monkeypatch.setattr(sweep, "run_task", lambda *a: calls.append(a[1:]) or real(*a))
    resumed = sweep.run_sweep(SPEC, GRID, out_dir=out, serial=True, progress=False)
    assert resumed == full
    assert len(calls) == len(GRID) - 5


def test_cli_writes_table_and_plots(tmp_path, capsys):
    out = tmp_path / "sw"
    code = main(["sweep", str(CONFIG), "--bits", "3", "--variation", "0:1:1", "--sr",
                 "none,interleaved", "--trials", "1", "--serial", "-o", str(out)])
    assert code == 0
    rows = list(csv.DictReader((out / "results.csv").read_text().splitlines()))
    assert len(rows) == 4
    for name in ("rms_error", "adc_mse", "rms_inl"):
        assert (out / f"{name}_vs_variation.png").stat().st_size > 10_000
    assert "4 tasks (0 resumed)" in capsys.readouterr().out
    # Running the same sweep again resumes everything; another grid needs --force.
    assert main(["sweep", str(CONFIG), "--bits", "3", "--variation", "0:1:1", "--sr",
                 "none,interleaved", "--trials", "1", "--serial", "-o", str(out)]) == 0
    assert "4 tasks (4 resumed)" in capsys.readouterr().out
    assert main(["sweep", str(CONFIG), "--bits", "4", "--trials", "1", "--serial",
                 "-o", str(out)]) == 2
    assert "holds a sweep of another config or grid" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("parse", "text", "match"),
    [(sweep.parse_bits, "3,9", r"9 is outside 1\.\.8"),
     (sweep.parse_bits, "three", "not a comma-separated list"),
     (sweep.parse_variation, "0:3", "START:STOP:STEP"),
     (sweep.parse_variation, "3:0:1", "STOP >= START"),
     (sweep.parse_variation, "0,60", r"60 is outside \[0, 50\]"),
     (sweep.parse_sr, "none,double", "'double' is not one of none, nominal")],
)
def test_bad_grid_arguments(parse, text, match):
    with pytest.raises(InputError, match=match):
        parse(text)


def test_variation_range_includes_stop():
    assert sweep.parse_variation("0:3:0.5") == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
