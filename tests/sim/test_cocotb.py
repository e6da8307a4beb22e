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
# their natural rate; 1, 2 and 8 columns per ADC.
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
    # adc.columns_per_adc: 3 columns on 2-way ADCs (ragged last group), 9 on 8-way ADCs
    # with the offset reference column in a group of its own.
    "win4-calibrated-diff-signed-cb2-per_slice-k2": (
        dict(rows=8, cols=3, input_bits=3, input_signed=True, weight_bits=4, cell_bits=2),
        dict(bits=4, encoding="window", sr="calibrated", lut_scope="per_slice",
             columns_per_adc=2, window_guard_pct=1.0),
        dict(bound_variation_pct=1.5), None),
    "thr3-nominal-offset-unsigned-cb1-shared-k8": (
        dict(rows=8, cols=9, input_bits=2, weight_bits=2, cell_bits=1, mapping="offset"),
        dict(bits=3, encoding="threshold", sr="nominal", lut_scope="shared", columns_per_adc=8),
        dict(bound_variation_pct=2.0), None),
}
MUX_CONFIGS = ["win4-calibrated-diff-signed-cb2-per_slice-k2",
               "thr3-nominal-offset-unsigned-cb1-shared-k8"]
VERILATOR_CONFIGS = ["win3-none-diff-unsigned-cb1-shared",
                     "thr4-nominal-offset-signed-cb2-per_slice", *MUX_CONFIGS]
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


# -- the top bench's model and source, without a simulator ---------------------------------

def bench_facts(spec):
    """TopFacts of ``spec`` as a manifest would give them (the widths golden derives)."""
    import numpy as np

    from golden import digital
    from sim.tb import TopFacts

    a = spec.adc
    groups = digital.mux_groups(spec)
    entry_bits = max(a.lut_entries - 1, 1).bit_length()
    return TopFacts(
        spec=spec, decoder=a.decoder_name, ports=[],
        match_width=groups.shape[0] * a.adcs_per_column * a.cells,
        match_shape=(groups.shape[0], a.adcs_per_column, a.cells),
        beats=digital.beats_per_mvm(spec), columns_per_adc=a.columns_per_adc,
        mux_groups=groups, cols=spec.macro.cols, col_width=digital.out_width(spec),
        flag_names=(), n_luts=digital.n_luts(spec), entries=a.lut_entries,
        entry_bits=entry_bits, addr_width=entry_bits + digital.n_luts(spec).bit_length(),
        lut_width=digital.lut_width(spec), latency=1, reset_cycles=1,
        lut_init=np.zeros((digital.n_luts(spec), a.lut_entries), dtype=np.int64))


def beat_of(m, k, p, t):
    """Beat that carries physical column ``p`` of input bit ``t``, by the contract's
    closed form (the phase is the logical column mod k; the reference column phase 0)."""
    if m.has_ref_column and p == m.phys_cols - 1:
        return t * k
    return t * k + (p // (m.slices * m.polarities)) % k


MODEL_SPECS = {
    "k1-diff": dict(macro=dict(rows=8, cols=3, input_bits=3, weight_bits=4, cell_bits=2),
                    adc=dict(bits=3, lut_scope="per_column")),
    "k2-ragged-diff-sr": dict(macro=dict(rows=8, cols=3, input_bits=3, weight_bits=4,
                                         cell_bits=2),
                              adc=dict(bits=3, sr="nominal", columns_per_adc=2)),
    "k3-offset-thr": dict(macro=dict(rows=8, cols=5, input_bits=2, input_signed=True,
                                     weight_bits=3, cell_bits=2, mapping="offset"),
                          adc=dict(bits=3, encoding="threshold", columns_per_adc=3,
                                   lut_scope="shared")),
}


@pytest.mark.parametrize("name", list(MODEL_SPECS))
def test_bench_model_reads_each_column_with_the_lut_of_its_beat(name):
    """LUT writes land before a mid-bit beat: the model's result equals golden's steps
    with, for each (input bit, column), the LUT state of the beat that carried that
    column (found by the closed form, column by column); junk in the empty slots
    changes nothing."""
    import numpy as np

    from golden import digital
    from sim.benchlib import Tally
    from sim.tb import BeatSource, PeripheryModel, Scoreboard

    spec = MacroSpec().replace(**MODEL_SPECS[name])
    f = bench_facts(spec)
    m, a, k = spec.macro, spec.adc, spec.adc.columns_per_adc
    rng = np.random.default_rng(3)
    half = 1 << (f.lut_width - 1)
    lut_a, lut_b = (rng.integers(-half, half, size=f.lut_init.shape) for _ in range(2))
    codes = rng.integers(0, a.levels, size=(2, m.input_bits, m.phys_cols, a.adcs_per_column))
    cells = np.arange(a.cells)
    match = (codes[..., None] == cells) if a.encoding == "window" else codes[..., None] > cells
    source = BeatSource(None, f, rng, 0.0)
    source.send(match)
    words = list(source.queue)
    assert [last for _, last in words] == [t % f.beats == f.beats - 1 for t in range(len(words))]
    switch = (m.input_bits // 2) * k + (k > 1)  # phase 1 of an input bit for k > 1
    sb = Scoreboard(f, Tally("model"))
    model = PeripheryModel(f, sb, lut_a)
    for i, (word, last) in enumerate(words):
        if i == switch:  # before MVM 0's beat `switch`
            for lut_id, entry in np.ndindex(lut_b.shape):
                model.write(f.addr(lut_id, entry), int(lut_b[lut_id, entry]) & (2 * half - 1))
        model.beat(word, last, i)
    assert model.mvms == 2 and model.writes == lut_b.size and not model.beats
    code = codes[..., 0]
    if a.adcs_per_column == 2:
        code = digital.sr_combine(codes[..., 0], codes[..., 1])[0]
    idx = digital.lut_index(spec)
    values = np.empty(code.shape, dtype=np.int64)
    for b, t, p in np.ndindex(code.shape):
        lut = lut_b if b == 1 or beat_of(m, k, p, t) >= switch else lut_a
        values[b, t, p] = lut[idx[p], code[b, t, p]]
    want = digital.shift_add(values, spec)
    got = [sb.expected.popleft() for _ in range(2)]
    for b in range(2):
        np.testing.assert_array_equal(got[b][0], want[b])
    flags = digital.digital_path(match, lut_a, spec)[1]  # flags do not read the LUT
    assert [fl for _, fl, _ in got] == flags.tolist()


@pytest.mark.parametrize("name", list(MODEL_SPECS))
def test_beat_source_sends_to_beats_order_with_junk_in_empty_slots(name):
    import numpy as np

    from golden import digital
    from sim.tb import BeatSource

    spec = MacroSpec().replace(**MODEL_SPECS[name])
    f = bench_facts(spec)
    m, a = spec.macro, spec.adc
    rng = np.random.default_rng(5)
    match = rng.random((3, m.input_bits, m.phys_cols, a.adcs_per_column, a.cells)) < 0.5
    source = BeatSource(None, f, rng, 0.0)
    source.send(match)
    source.send(match[:1], beats=f.beats - 1)
    words = [f.unpack(w) for w, _ in source.queue]
    assert len(words) == 4 * f.beats - 1
    assert [last for _, last in source.queue].count(True) == 3
    beats = np.stack(words[:3 * f.beats]).reshape(3, f.beats, *f.match_shape)
    np.testing.assert_array_equal(digital.from_beats(beats, spec), match)
    live = digital.to_beats(match, spec)
    empty = np.tile(f.empty_slots, (m.input_bits, 1))  # (beats, groups)
    np.testing.assert_array_equal(beats[:, ~empty], live[:, ~empty])
    if empty.any():
        assert beats[:, empty].any() and not beats[:, empty].all(), "no random junk"


def test_components_are_built_from_the_clean_netlist():
    """Every component bench builds the Yosys-cleaned netlist, as the top does: the
    ``<name>.v`` it gets equals :func:`hdl.netlist.clean_verilog` of the Amaranth
    output beside it (and is not that output itself)."""
    import json

    from hdl import netlist
    from sim.designs import prepare_components

    d = design(MUTANT_CONFIG)
    assert d.manifest["verilog_form"] == "yosys-clean"
    comps = prepare_components(d)
    assert comps
    for comp, vpath, fpath, _ in comps:
        raw = vpath.with_name(f"{comp.name}.amaranth.v").read_text()
        assert vpath.read_text() == netlist.clean_verilog(raw, comp.name), comp.name
        assert vpath.read_text() != raw, comp.name
        assert json.loads(fpath.read_text())["verilog_form"] == "yosys-clean"
