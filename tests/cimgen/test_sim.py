"""``cimgen sim`` end to end: the summary of a passing regression, exit 1 when a
deliberately faulty design mismatches, exit 2 for a missing simulator and bad input."""

import shutil
from pathlib import Path

import pytest

from cimgen import cli, sim

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "sim"

SMALL = (ROOT / "tests" / "data" / "small_window.toml").read_text() + """
[device]
bound_variation_pct = 1.0

[hdl]
top = "sim_small"
"""

needs_icarus = pytest.mark.skipif(
    shutil.which("iverilog") is None or shutil.which("vvp") is None,
    reason="iverilog/vvp (Icarus Verilog) not found on PATH")


@pytest.fixture
def config(tmp_path):
    p = tmp_path / "small.toml"
    p.write_text(SMALL)
    return p


def run(argv, capsys):
    code = cli.main(["sim", *[str(a) for a in argv]])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.sim
@needs_icarus
def test_passing_regression_prints_a_summary(config, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run([config, "--seed", 4, "--mvms", 8, "--build-dir", BUILD,
                             "-o", out], capsys)
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0].startswith(f"sim: sim_small from {config} on Icarus Verilog ")
    assert lines[0].endswith("seed 4, 8 golden-macro MVMs")
    assert lines[1].split() == ["bench", "tests", "transactions", "mismatches", "flags",
                                "seen", "build", "s", "sim", "s"]
    rows = {ln.split()[0]: ln.split() for ln in lines[3:8]}
    assert set(rows) == {"top", "priority_decoder", "code_lut", "shift_add", "qcell_sense"}
    assert rows["top"][1] == "8/8" and rows["top"][3] == "0"
    summary = next(ln for ln in lines if ln.startswith("checked "))
    assert "in 5 benches: 0 mismatches; top-level flags seen: " in summary
    assert "multi_hot" in summary and summary.endswith(" s wall")
    assert f"run: {out.resolve()}" in lines
    assert (out / "top" / "plan.json").exists()
    assert (out / "top" / "stimulus-seed4-mvms8.npz").exists()
    assert sorted(p.name for p in (out / "top" / "stats").iterdir())[0] == \
        "test_directed_bubbles.json"


@pytest.mark.sim
@needs_icarus
def test_mismatch_exits_1(config, tmp_path, capsys):
    code, stdout, err = run([config, "--mvms", 4, "--mutant", "lut_addr_off_by_one",
                             "--build-dir", BUILD, "-o", tmp_path / "run"], capsys)
    assert code == 1
    assert "with mutant lut_addr_off_by_one" in stdout.splitlines()[0]
    assert "cimgen sim: check failed: " in err
    assert "failing benches: top, code_lut (details above" in err
    assert "golden" in stdout  # the first mismatches are shown


@pytest.mark.sim
@needs_icarus
def test_waves_print_one_fst_per_test(config, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run([config, "--mvms", 4, "--waves", "--build-dir", BUILD,
                             "-o", out], capsys)
    assert code == 0, err
    waves = [Path(ln.removeprefix("waves: ")) for ln in stdout.splitlines()
             if ln.startswith("waves: ")]
    assert len(waves) == 8 + 4  # every top test, one per component bench
    assert all(p.suffix == ".fst" and p.stat().st_size > 0 for p in waves)
    assert out / "top" / "waves" / "test_macro_mvms.fst" in waves


def test_missing_simulator_exits_2(config, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, stdout, err = run([config, "--build-dir", tmp_path / "b"], capsys)
    assert code == 2 and stdout == ""
    assert "cimgen sim: error: simulator 'icarus': 'iverilog'/'vvp' (Icarus Verilog) not " \
           "found; install Icarus Verilog" in err
    assert "apt-get install iverilog" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--mvms", "0"], "--mvms '0': must be an integer in 1..100000"),
    (["--seed", "x"], "--seed 'x': must be an integer in 0..4294967295"),
    (["--simulator", "modelsim"], "argument --simulator: invalid choice: 'modelsim'"),
    (["--mutant", "nope"], "argument --mutant: invalid choice: 'nope'"),
])
def test_bad_arguments_exit_2(argv, message, config, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["sim", str(config), *argv])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_decoder_exits_2(config, tmp_path, capsys):
    code, _, err = run([config, "--decoder", "ones", "--build-dir", tmp_path / "b"], capsys)
    assert code == 2
    assert "--decoder 'ones': adc.encoding = 'window' allows 'priority'" in err


def test_bad_paths_exit_2(config, tmp_path, capsys):
    code, _, err = run([tmp_path / "missing.toml"], capsys)
    assert code == 2 and "missing.toml" in err
    (tmp_path / "file").write_text("x")
    code, _, err = run([config, "-o", tmp_path / "file", "--build-dir", tmp_path / "b"],
                       capsys)
    assert code == 2 and "-o " in err and "exists and is not a directory" in err


def test_mutant_choices_match_sim_mutants():
    from sim.mutants import MUTANTS

    assert tuple(MUTANTS) == sim.MUTANT_NAMES


EMU = """\
[macro]
rows = 6
cols = 2
input_bits = 3
weight_bits = 4
cell_bits = 2
[adc]
bits = 3
lut_frac_bits = 4
[device]
bound_variation_pct = 3.0
seed = 2
"""


@pytest.mark.sim
@needs_icarus
def test_emulator_uart_bench(tmp_path, capsys):
    """--emulator runs the board emulator's UART bench: every output and flag of the
    MVMs sent over the UART pins checked against golden."""
    cfg = tmp_path / "emu.toml"
    cfg.write_text(EMU)
    out = tmp_path / "run"
    code, stdout, err = run([cfg, "--emulator", "--mvms", 6, "--build-dir", BUILD, "-o", out],
                            capsys)
    assert code == 0, err
    row = next(ln.split() for ln in stdout.splitlines() if ln.startswith("emulator "))
    assert row[1] == "2/2" and int(row[2].replace(",", "")) >= 2 * 6 * 3 and row[3] == "0"
    assert "checked" in stdout and ": 0 mismatches;" in stdout
    assert any(out.iterdir())  # plan, logs and results of the run


def test_emulator_refuses_a_mutant(tmp_path, capsys):
    cfg = tmp_path / "emu.toml"
    cfg.write_text(EMU)
    code, _, err = run([cfg, "--emulator", "--mutant", "lut_addr_off_by_one",
                        "--build-dir", tmp_path / "b"], capsys)
    assert code == 2
    assert "--mutant 'lut_addr_off_by_one': applies to the periphery benches, not to " \
           "--emulator" in err


def _summary(stdout: str) -> list[str]:
    """The summary without its times (build s, sim s, wall) and paths."""
    out = []
    for ln in stdout.splitlines():
        if ln.startswith(("build: ", "run: ")) or ln.startswith("-"):
            continue
        if ln.startswith("checked "):
            ln = ln.rsplit(";", 1)[0]
        elif ln.split() and ln.split()[-1].replace(".", "").isdigit():
            ln = " ".join(ln.split()[:-2])  # a bench row: drop build s and sim s
        out.append(ln)
    return out


def _sim(config, *args):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "cimgen.cli", "sim", str(config),
                             "--mvms", "4", "--build-dir", str(BUILD), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)


@pytest.mark.sim
@needs_icarus
def test_parallel_runs_own_their_run_directories(config, tmp_path):
    """Two runs of one config with different seeds at the same time, into the default
    run directory and then into one -o (with --force), each print what they alone
    print."""
    alone = {}
    for seed in (1, 2):
        p = _sim(config, "--seed", seed, "-o", tmp_path / f"alone{seed}")
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        alone[seed] = _summary(out)
    assert alone[1] != alone[2]  # the seeds give different transaction counts
    for extra in ([], ["-o", tmp_path / "shared", "--force"]):
        procs = {seed: _sim(config, "--seed", seed, *extra) for seed in (1, 2)}
        for seed, p in procs.items():
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            assert _summary(out) == alone[seed]
            run = Path(next(ln for ln in out.splitlines() if ln.startswith("run: "))[5:])
            if not extra:
                assert [p.name for p in (run / "top").glob("stimulus-*")] == \
                    [f"stimulus-seed{seed}-mvms4.npz"]
    # the last run to finish is in -o, whole
    assert len(list((tmp_path / "shared" / "top").glob("stimulus-*"))) == 1
    assert not list(tmp_path.glob(".*.tmp"))
