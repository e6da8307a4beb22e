"""cimgen.metrics: every metric has a unit, rows and columns follow the records, and the
per-point summary equals a direct numpy computation."""

import dataclasses

import numpy as np
import pytest

from cimgen import metrics, sweep
from cimgen.metrics import FlowRun, MvmRun, NetworkRun, SweepTask


@pytest.mark.parametrize("record", [MvmRun, NetworkRun, SweepTask, FlowRun])
def test_every_metric_has_a_unit(record):
    units = record.units()
    assert units and all(isinstance(u, str) and u for u in units.values())
    for name in units:
        assert record.label(name)


def test_sweep_columns_are_the_record():
    assert sweep.COLUMNS == ("bits", "variation_pct", "sr", "trial", "seed", "rms_error",
                             "rms_error_rel", "adc_mse", "rms_inl", "rms_dnl", "flag_rate",
                             "energy_per_mvm_fj", "tops_per_w", "area_um2", "latency_ns")
    assert sweep.WORKLOAD_COLUMNS == ("accuracy", "net_flagged")
    assert SweepTask.names() == sweep.COLUMNS + sweep.WORKLOAD_COLUMNS
    plotted = [f.name for f in SweepTask.metrics() if f.metadata["plot"]]
    assert plotted == ["rms_error", "adc_mse", "rms_inl", "energy_per_mvm_fj", "accuracy"]


def test_rows_leave_out_absent_network_metrics():
    mvm = MvmRun(1.5, 0.01, 0.2, 0.3, 0.4, 0.0, 1.8e6, 0.55, 583.0, 44.0)
    row = SweepTask(bits=4, variation_pct=1.5, sr="none", trial=0, seed=9,
                    **dataclasses.asdict(mvm)).row()
    assert list(row) == list(sweep.COLUMNS)
    full = SweepTask(bits=4, variation_pct=1.5, sr="none", trial=0, seed=9,
                     **dataclasses.asdict(mvm), accuracy=0.9, net_flagged=0.1).row()
    assert list(full) == list(sweep.COLUMNS + sweep.WORKLOAD_COLUMNS)
    for name, value in full.items():
        assert SweepTask.parse(name, repr(value) if isinstance(value, float)
                               else str(value)) == value


def test_network_run_row_has_no_layers():
    run = NetworkRun(0.9, 0.1, [1.0, 2.0], layers=[{"x": np.zeros(3)}])
    assert run.row() == {"accuracy": 0.9, "flagged": 0.1, "layer_rms_error_pct": [1.0, 2.0]}
    point = {"scheme": "uniform", "bits": 4, "variation_pct": 0.0, "trial": 1, "seed": 5}
    assert FlowRun.of(point, run).row() == {**point, **run.row()}


def test_summary_equals_numpy():
    rng = np.random.default_rng(3)
    rows = [FlowRun(s, 4, v, t, t, float(rng.random()), float(rng.random()),
                    rng.random(2).tolist()).row()
            for s in ("uniform", "adaptive") for v in (0.0, 2.0) for t in range(5)]
    summ = metrics.summarise(rows)
    assert list(summ[0]) == [
        "scheme", "bits", "variation_pct", "n", "accuracy_mean", "accuracy_std",
        "accuracy_sem", "flagged_mean", "layer_rms_error_pct_mean"]
    for s in summ:
        sel = [r for r in rows if r["scheme"] == s["scheme"]
               and r["variation_pct"] == s["variation_pct"]]
        acc = np.array([r["accuracy"] for r in sel])
        assert s["n"] == 5
        assert s["accuracy_mean"] == pytest.approx(acc.mean(), rel=1e-15)
        assert s["accuracy_std"] == pytest.approx(np.std(acc, ddof=1), rel=1e-12)
        assert s["accuracy_sem"] == pytest.approx(np.std(acc, ddof=1) / np.sqrt(5), rel=1e-12)
        assert s["flagged_mean"] == pytest.approx(np.mean([r["flagged"] for r in sel]))
        np.testing.assert_allclose(s["layer_rms_error_pct_mean"],
                                   np.mean([r["layer_rms_error_pct"] for r in sel], axis=0))
    one = metrics.summarise(rows[:1])[0]
    assert one["accuracy_std"] == 0.0 and one["accuracy_sem"] == 0.0
