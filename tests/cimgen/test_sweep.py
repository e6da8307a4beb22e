"""``cimgen sweep``: identical serial and distributed, resumable, seeded per task."""

import csv
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cimgen import sweep, sweep_dask
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


SMALL = "[macro]\nrows = 8\ncols = 2\ninput_bits = 2\nweight_bits = 4\ncell_bits = 2\n" \
        "[adc]\nbits = 3\n"
CIMGEN = Path(sys.executable).with_name("cimgen")


def _start(tmp_path, *extra):
    """``cimgen sweep`` of the small config in its own process group (a terminal's Ctrl-C
    reaches the whole group: the Dask workers too); about 10 s on two workers here."""
    (tmp_path / "small.toml").write_text(SMALL)
    argv = [str(CIMGEN), "sweep", "small.toml", "--trials", "10", "--workers", "2",
            "-o", "w", *extra]
    return argv, subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)


def _rows(path: Path) -> int:
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def _stop(proc, sig, tmp_path, when: str) -> tuple[float, str]:
    """Send ``sig`` to the sweep's process group once its workers have finished some
    tasks (``when="running"``) or while its LocalCluster starts (``"starting"``: the
    workers' log is opened then); returns the seconds it took to exit and its stderr."""
    announced = proc.stderr.readline()
    assert "tasks (0 done)" in announced and "estimate" in announced, announced
    partial, log = tmp_path / "w" / "partial.csv", tmp_path / "w" / "workers.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
            _rows(partial) <= 3 if when == "running" else not log.exists()):
        time.sleep(0.01)  # (the first 3 tasks ran in the sweep's process, to time them)
    os.killpg(proc.pid, sig)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=30)
    return time.monotonic() - t0, announced + err


@pytest.mark.parametrize(("sig", "code", "word", "when"),
                         [(signal.SIGINT, 130, "interrupted", "running"),
                          (signal.SIGINT, 130, "interrupted", "starting"),
                          (signal.SIGTERM, 143, "terminated", "running")])
def test_signal_stops_sweep_in_one_line(tmp_path, sig, code, word, when):
    """Ctrl-C (or SIGTERM) to the whole process group, while the LocalCluster starts or
    runs: exit 130 (143) within 5 s, one line saying what is kept, no Dask traceback or
    log, no leaked semaphore; partial.csv holds whole rows only."""
    _, proc = _start(tmp_path)
    took, err = _stop(proc, sig, tmp_path, when)
    assert proc.returncode == code, err
    assert took < 5, f"took {took:.1f} s to stop"
    lines = err.strip().splitlines()
    assert len(lines) == 2, err  # the announcement and the one line
    n = _rows(tmp_path / "w" / "partial.csv")
    assert re.fullmatch(rf"cimgen sweep: {word} after {n} of 630 tasks; partial results "
                        r"in w/partial\.csv, rerun the same command to resume", lines[1])
    assert 3 <= n < 630
    assert "Traceback" not in err and "leaked" not in err
    rows = list(csv.DictReader((tmp_path / "w" / "partial.csv").read_text().splitlines()))
    assert all(None not in r.values() for r in rows)


def test_resume_after_interrupt_equals_uninterrupted_run(tmp_path):
    """Ctrl-C mid-sweep, then the same command again: it resumes, and results.csv equals
    that of a sweep run without a stop (serially here, which is identical)."""
    argv, proc = _start(tmp_path)
    _stop(proc, signal.SIGINT, tmp_path, "running")
    assert proc.returncode == 130
    done = _rows(tmp_path / "w" / "partial.csv")
    again = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"630 tasks ({done} resumed)" in again.stdout
    assert f"630 tasks ({done} done)" in again.stderr
    clean = main(["sweep", str(tmp_path / "small.toml"), "--trials", "10", "--serial",
                  "-o", str(tmp_path / "clean")])
    assert clean == 0
    assert (tmp_path / "w" / "results.csv").read_text() == \
        (tmp_path / "clean" / "results.csv").read_text()


def test_announces_count_and_estimate(tmp_path, capsys):
    out = tmp_path / "sw"
    assert main(["sweep", str(CONFIG), "--bits", "3", "--variation", "0:1:1", "--sr",
                 "none,interleaved", "--trials", "2", "--serial", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"sweep: 8 tasks \(0 done\), 5 left for this process: about \d+ s "
                     r"\(estimate: 2 tasks timed here after a warm-up one took [\d.e-]+ s on "
                     r"average, x 5 / 1 worker\(s\); Dask's scheduling not counted\)", err), err


def test_grid_size_counted_before_it_is_built():
    assert sweep.check_grid_size(3, 7, 3, 20, yes=False) == 1260
    with pytest.raises(InputError, match=r"has 10,001 tasks, more than the limit of 10,000; "
                                         r"allowed: a smaller grid, or --yes"):
        sweep.check_grid_size(1, 10_001, 1, 1, yes=False)
    assert sweep.check_grid_size(1, 10_001, 1, 1, yes=True) == 10_001
    with pytest.raises(InputError, match="more than the 1,000,000 a sweep may have"):
        sweep.check_grid_size(8, 500_001, 4, 100_000, yes=True)
    # A step so small that the list itself would not fit: refused before it is built.
    for text in ("0:50:1e-9", "0:50:1e-320"):
        with pytest.raises(InputError, match="more than 1,000,000 values"):
            sweep.parse_variation(text)
    with pytest.raises(InputError, match=r"START and STOP must lie in \[0, 50\]"):
        sweep.parse_variation("0:inf:1")


@pytest.mark.parametrize("address", ["foo", "127.0.0.1:8786", "tcp://host:notaport",
                                     "tcp://host:0", "tcp://host:70000", "tcp://:8786",
                                     "http://host:8786", "tcp://host:8786/x"])
def test_malformed_scheduler_address(address):
    with pytest.raises(InputError, match=r"--scheduler .*allowed: SCHEME://HOST:PORT"):
        sweep_dask.parse_scheduler(address)


def test_scheduler_port_without_dask_fails_in_time():
    """A port that accepts connections but never speaks Dask (Client's own timeout does
    not cover this: it hung for good) gives a message within CONNECT_TIMEOUT + 1 s."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(InputError, match=rf"127\.0\.0\.1:{port}: no Dask handshake"):
            sweep_dask.connect(f"tcp://127.0.0.1:{port}")
        assert time.monotonic() - t0 < sweep_dask.CONNECT_TIMEOUT + 3


def test_torn_last_line_of_partial_is_dropped(tmp_path):
    """A sweep killed while writing a row leaves half a line: it is cut off, never read
    back as a number, and the next row starts a line of its own."""
    full = sweep.run_sweep(SPEC, GRID[:4], out_dir=tmp_path / "a", serial=True,
                           progress=False)
    partial = tmp_path / "a" / "partial.csv"
    text = partial.read_text()
    partial.write_text(text[:-12])  # the last row without its end
    assert len(sweep._read_partial(partial, sweep.COLUMNS)) == 3
    assert partial.read_text().endswith("\n")
    assert sweep.run_sweep(SPEC, GRID[:4], out_dir=tmp_path / "a", serial=True,
                           progress=False) == full


def test_existing_scheduler_gives_the_same_table(tmp_path):
    """``client=`` (what ``--scheduler`` connects): the same rows as serially; the
    client is the caller's and stays open."""
    from distributed import Client, LocalCluster

    from cimgen.sweep_dask import NO_FIXED_PORT

    serial = sweep.run_sweep(SPEC, GRID, out_dir=tmp_path / "s", serial=True, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None, scheduler_kwargs=NO_FIXED_PORT) \
            as cluster, Client(cluster) as client:
        remote = sweep.run_sweep(SPEC, GRID, out_dir=tmp_path / "r", client=client,
                                 progress=False)
        assert client.status == "running"
    assert remote == serial


def test_bad_scheduler_with_force_keeps_the_old_sweep(tmp_path, capsys):
    """--force would start afresh, but only once every check passed: an unreachable
    scheduler leaves the sweep already in -o DIR as it was."""
    out = tmp_path / "sw"
    assert main(["sweep", str(CONFIG), "--bits", "3", "--variation", "0", "--sr", "none",
                 "--trials", "2", "--serial", "-o", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["sweep", str(CONFIG), "--bits", "4", "--trials", "1", "--force",
                 "--scheduler", "tcp://127.0.0.1:1", "-o", str(out)]) == 2
    assert "Connection refused" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_sweep_rows_carry_the_cost_of_their_point():
    """Energy per MVM and TOPS/W of a grid point are golden.cost's for its macro and
    evaluation inputs; an SR point converts twice and costs more."""
    import numpy as np

    from golden.cost import mvm_cost
    from golden.macro import Macro

    spec = MacroSpec.from_dict({"macro": {"rows": 16, "cols": 2}})
    rng = np.random.default_rng(3)
    m = spec.macro
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, (m.rows, m.cols))
    x = rng.integers(0, 2**m.input_bits, (sweep.CAL_VECTORS + sweep.EVAL_VECTORS, m.rows))
    run = sweep.mvm_metrics(spec, w, x)
    xb = Macro(spec, w).crossbar
    want = mvm_cost(spec, xb.cells.g, xb.bit_planes(x[sweep.CAL_VECTORS:]))
    assert run.energy_per_mvm_fj == pytest.approx(want.energy_total_fj / want.batch, rel=1e-12)
    assert run.tops_per_w == pytest.approx(want.tops_per_w, rel=1e-12)
    assert (run.area_um2, run.latency_ns) == (want.area_total_um2, want.latency_ns)
    sr = sweep.mvm_metrics(spec.replace(adc={"sr": "nominal"}), w, x)
    assert sr.energy_per_mvm_fj > run.energy_per_mvm_fj
