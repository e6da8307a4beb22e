"""The cocotb benches (sim/) on a matrix of configs: the generated Verilog of the top
and of every component equals golden on Icarus, the top also on Verilator, and every
deliberate RTL fault of sim.mutants makes the benches fail.

Builds are cached under build/sim (one directory per config and simulator), so a
second run only simulates. Each test's run directory (stimuli, logs, results, stats)
is its tmp_path.
"""

import os
from pathlib import Path

import pytest

from golden.spec import MacroSpec
from sim import mutants
from sim.runner import (
    SimulatorMissing,
    build,
    find_simulator,
    prepare_design,
    run_components,
    run_top,
    trace_format,
)

pytestmark = pytest.mark.sim

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "sim"

# name: (macro, adc, device, decoder). Together: window/threshold, SR none/nominal/
# calibrated/interleaved, differential/offset, signed/unsigned inputs, ADC bits 3..6,
# cell bits 1..3, every LUT scope, 2..4 columns, 1..4 input bits, 0..8 LUT fraction
# bits; device variation so that the golden macro's match vectors carry bubbles at
# their natural rate.
CONFIGS = {
    "win3-none-diff-unsigned-cb1-shared": (
        dict(rows=8, cols=2, input_bits=3, weight_bits=2, cell_bits=1),
        dict(bits=3, encoding="window", sr="none", lut_scope="shared", window_guard_pct=1.0),
        dict(bound_variation_pct=0.5), None),
    "thr4-nominal-offset-signed-cb2-per_slice": (
        dict(rows=12, cols=2, input_bits=3, input_signed=True, weight_bits=4, cell_bits=2,
             mapping="offset"),
        dict(bits=4, encoding="threshold", sr="nominal", lut_scope="per_slice"),
        dict(bound_variation_pct=3.0), None),
    "win5-interleaved-diff-signed-cb2-per_column": (
        dict(rows=8, cols=2, input_bits=2, input_signed=True, weight_bits=3, cell_bits=2),
        dict(bits=5, encoding="window", sr="interleaved", lut_scope="per_column"),
        dict(bound_variation_pct=1.0), None),
    "thr6-none-offset-unsigned-cb1-per_column-majority": (
        dict(rows=16, cols=2, input_bits=3, weight_bits=2, cell_bits=1, mapping="offset"),
        dict(bits=6, encoding="threshold", sr="none", lut_scope="per_column"),
        dict(bound_variation_pct=1.0), "majority"),
    "win6-nominal-offset-unsigned-cb2-per_slice": (
        dict(rows=8, cols=2, input_bits=2, weight_bits=2, cell_bits=2, mapping="offset"),
        dict(bits=6, encoding="window", sr="nominal", lut_scope="per_slice",
             window_guard_pct=1.0),
        dict(bound_variation_pct=2.0), None),
    "thr3-interleaved-diff-signed-cb1-shared": (
        dict(rows=16, cols=3, input_bits=4, input_signed=True, weight_bits=2, cell_bits=1),
        dict(bits=3, encoding="threshold", sr="interleaved", lut_scope="shared"),
        dict(bound_variation_pct=0.5, program_sigma=1.0), None),
    "win4-calibrated-diff-unsigned-cb2-per_slice": (
        dict(rows=10, cols=2, input_bits=4, weight_bits=4, cell_bits=2),
        dict(bits=4, encoding="window", sr="calibrated", lut_scope="per_slice",
             window_guard_pct=1.0),
        dict(bound_variation_pct=0.5, program_sigma=1.0), None),
    "thr5-calibrated-offset-signed-cb3-shared": (
        dict(rows=8, cols=4, input_bits=2, input_signed=True, weight_bits=6, cell_bits=3,
             mapping="offset"),
        dict(bits=5, encoding="threshold", sr="calibrated", lut_scope="shared"),
        dict(bound_variation_pct=2.0), None),
    "win4-none-diff-signed-cb2-per_column-cols4": (
        dict(rows=16, cols=4, input_bits=3, input_signed=True, weight_bits=2, cell_bits=2),
        dict(bits=4, encoding="window", sr="none", lut_scope="per_column", lut_frac_bits=8),
        {}, None),
    "win3-interleaved-diff-unsigned-ib1-frac0-per_column": (
        dict(rows=8, cols=2, input_bits=1, weight_bits=3, cell_bits=1),
        dict(bits=3, encoding="window", sr="interleaved", lut_scope="per_column",
             lut_frac_bits=0),
        dict(bound_variation_pct=2.0), None),
}
VERILATOR_CONFIGS = ["win3-none-diff-unsigned-cb1-shared",
                     "thr4-nominal-offset-signed-cb2-per_slice"]
MVMS = 32


def make_spec(name: str) -> MacroSpec:
    macro, adc, device, _ = CONFIGS[name]
    return MacroSpec().replace(macro=macro, adc={"lut_frac_bits": 4, **adc},
                               device={"seed": 7, **device})


def design(name: str, mutant=None):
    spec = make_spec(name).replace(adc={"decoder": CONFIGS[name][3] or "auto"})
    return prepare_design(spec, mutant=mutant, root=BUILD)


def simulator(name: str):
    try:
        return find_simulator(name)
    except SimulatorMissing as e:
        pytest.skip(str(e))


def seed_of(name: str) -> int:
    return list(CONFIGS).index(name) + 1


# Verilator first: its builds are the longest, so xdist starts them early.
@pytest.mark.parametrize("name", VERILATOR_CONFIGS)
def test_top_verilator(name, tmp_path):
    tool = simulator("verilator")
    res = run_top(design(name), tool, seed=seed_of(name), mvms=MVMS, run_dir=tmp_path)
    assert res.passed, res.report()
    assert res.transactions >= MVMS + 20


@pytest.mark.parametrize("name", list(CONFIGS))
def test_top_icarus(name, tmp_path):
    tool = simulator("icarus")
    res = run_top(design(name), tool, seed=seed_of(name), mvms=MVMS, run_dir=tmp_path)
    assert res.passed, res.report()
    assert len(res.outcomes) == 8 and res.transactions >= MVMS + 20
    assert any(res.flags.values()), "no MVM raised a flag: the stimulus has no bubbles"


@pytest.mark.parametrize("name", list(CONFIGS))
def test_components_icarus(name, tmp_path):
    tool = simulator("icarus")
    results = run_components(design(name), tool, seed=seed_of(name), run_dir=tmp_path)
    spec = make_spec(name)
    want = {"code_lut", "shift_add", "qcell_sense"} | ({"sr_combiner"} if spec.adc.sr != "none"
                                                       else set())
    assert want <= {r.name for r in results} and any(r.name.endswith("_decoder")
                                                     for r in results)
    for r in results:
        assert r.passed, r.report()
        assert r.transactions > 0


# -- the benches can fail -----------------------------------------------------------------

MUTANT_CONFIG = "win3-none-diff-unsigned-cb1-shared"
MUTATED_COMPONENT = {"lut_addr_off_by_one": "code_lut",
                     "shift_add_wrong_shift": "shift_add",
                     "decoder_or_two_hot": "priority_decoder"}


@pytest.mark.parametrize("mutant", list(mutants.MUTANTS))
def test_mutant_fails_the_benches(mutant, tmp_path):
    """The fault is caught by the top bench (as mismatches, not by a crash) and by the
    bench of the component it lives in; the other components still pass."""
    tool = simulator("icarus")
    d = design(MUTANT_CONFIG, mutant)
    top = run_top(d, tool, seed=5, mvms=16, run_dir=tmp_path / "top")
    assert not top.passed and top.error is None
    assert top.count("mismatches") > 0, top.report()
    comps = {r.name: r for r in run_components(d, tool, seed=5, run_dir=tmp_path / "c")}
    bad = MUTATED_COMPONENT[mutant]
    assert not comps[bad].passed and comps[bad].count("mismatches") > 0
    assert all(r.passed for n, r in comps.items() if n != bad), \
        [r.report() for r in comps.values() if r.name != bad and not r.passed]


def test_mutants_differ_from_the_design():
    keys = {design(MUTANT_CONFIG, m).key for m in [None, *mutants.MUTANTS]}
    assert len(keys) == 1 + len(mutants.MUTANTS)


# -- runner behaviour ------------------------------------------------------------------------

def test_waves_one_fst_per_test(tmp_path):
    tool = simulator("icarus")
    res = run_top(design(MUTANT_CONFIG), tool, seed=2, mvms=8, waves=True, run_dir=tmp_path,
                  tests=["test_latency_and_throughput", "test_reset_mid_mvm"])
    assert res.passed, res.report()
    names = sorted(p.name for p in res.waves)
    assert names == ["test_latency_and_throughput.fst", "test_reset_mid_mvm_hold_False.fst",
                     "test_reset_mid_mvm_hold_True.fst"]
    for p in res.waves:
        assert p.parent == tmp_path / "waves" and p.stat().st_size > 1000
    assert trace_format(design(MUTANT_CONFIG).dir / "icarus-waves") == "fst"


def test_build_is_cached(tmp_path):
    """A second build of the same sources is skipped (the simulator binary is not
    rewritten); changed sources rebuild."""
    tool = simulator("icarus")
    d = design(MUTANT_CONFIG)
    src = tmp_path / "rtl.v"
    src.write_text(d.verilog.read_text())
    out = build(tool, [src], d.top, tmp_path / "b")
    vvp = out / "sim.vvp"
    first = vvp.stat().st_mtime_ns
    build(tool, [src], d.top, tmp_path / "b")
    assert vvp.stat().st_mtime_ns == first
    src.write_text(d.verilog.read_text() + "\n// changed\n")
    os.utime(src)
    build(tool, [src], d.top, tmp_path / "b")
    assert vvp.stat().st_mtime_ns != first


def test_missing_simulator_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SimulatorMissing, match=r"apt-get install iverilog"):
        find_simulator("icarus")
    with pytest.raises(ValueError, match=r"simulator 'modelsim': must be one of icarus, "
                                         r"verilator"):
        find_simulator("modelsim")
