# amaranth: UnusedElaboratable=no
"""Periphery top against golden.digital.digital_path: random MVMs under random
back-pressure on both streams, LUT rewrites through cfg, reset mid-MVM, latency and
initiation interval, column-muxed ADCs (columns_per_adc = 2, 3 ragged, 8; junk in
the empty slots), signature, manifest and parameter checks."""

import dataclasses

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from golden.calibration import default_calibration
from golden.digital import (
    DECODERS,
    Flag,
    digital_path,
    from_beats,
    lut_index,
    lut_width,
    mux_groups,
    n_luts,
    out_width,
    to_beats,
)
from golden.macro import Macro
from golden.spec import MacroSpec
from hdl.periphery import Periphery

# name: (macro, adc, device, stimulus, MVMs, decoder). "macro": match vectors of a
# calibrated golden.macro.Macro with Q-cell variation (tuned so that the MVMs' flags
# differ); "random": bubble-biased random vectors
# with a random full-range LUT. Together they span window/threshold, SR none/nominal/
# calibrated/interleaved, differential/offset, signed/unsigned inputs, ADC bits 3..6,
# cell bits 1 and 2 and every LUT scope.
CONFIGS = {
    "win3-none-diff-unsigned-cb1-shared": (
        dict(rows=8, cols=2, input_bits=3, weight_bits=2, cell_bits=1),
        dict(bits=3, encoding="window", sr="none", lut_scope="shared", window_guard_pct=1.0),
        dict(bound_variation_pct=0.5), "macro", 320, None),
    "thr4-nominal-offset-signed-cb2-per_slice": (
        dict(rows=12, cols=2, input_bits=3, input_signed=True, weight_bits=4, cell_bits=2,
             mapping="offset"),
        dict(bits=4, encoding="threshold", sr="nominal", lut_scope="per_slice"),
        dict(bound_variation_pct=3.0), "macro", 300, None),
    "win5-interleaved-diff-signed-cb2-per_column": (
        dict(rows=8, cols=2, input_bits=2, input_signed=True, weight_bits=3, cell_bits=2),
        dict(bits=5, encoding="window", sr="interleaved", lut_scope="per_column"),
        {}, "random", 260, None),
    "thr6-none-offset-unsigned-cb1-per_column-majority": (
        dict(rows=16, cols=2, input_bits=3, weight_bits=2, cell_bits=1, mapping="offset"),
        dict(bits=6, encoding="threshold", sr="none", lut_scope="per_column"),
        {}, "random", 260, "majority"),
    "win6-nominal-offset-unsigned-cb2-per_slice": (
        dict(rows=8, cols=2, input_bits=2, weight_bits=2, cell_bits=2, mapping="offset"),
        dict(bits=6, encoding="window", sr="nominal", lut_scope="per_slice",
             window_guard_pct=1.0),
        dict(bound_variation_pct=2.0), "macro", 220, None),
    "thr3-interleaved-diff-signed-cb1-shared": (
        dict(rows=16, cols=3, input_bits=4, input_signed=True, weight_bits=2, cell_bits=1),
        dict(bits=3, encoding="threshold", sr="interleaved", lut_scope="shared"),
        dict(bound_variation_pct=0.5, program_sigma=1.0), "macro", 240, None),
    "win4-calibrated-diff-unsigned-cb2-per_slice": (
        dict(rows=10, cols=2, input_bits=4, weight_bits=4, cell_bits=2),
        dict(bits=4, encoding="window", sr="calibrated", lut_scope="per_slice",
             window_guard_pct=1.0),
        dict(bound_variation_pct=0.5, program_sigma=1.0), "macro", 240, None),
}


def make_spec(name):
    macro, adc, device, *_ = CONFIGS[name]
    return MacroSpec().replace(macro=macro, adc={"lut_frac_bits": 4, **adc},
                               device={"seed": 7, **device})


# -- stimulus --------------------------------------------------------------------------

def random_operands(spec, batch, rng):
    m = spec.macro
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, size=(m.rows, m.cols))
    x = rng.integers(m.input_range[0], m.input_range[1] + 1, size=(batch, m.rows))
    x[rng.random(x.shape) < 0.3] = 0
    return w, x


def macro_stimulus(spec, batch, rng):
    """Match vectors of a calibrated macro with Q-cell variation, and its calibration."""
    w, x = random_operands(spec, batch, rng)
    macro = Macro(spec, w)
    macro.calibrate(x)
    return macro.match_vectors(x), macro.calibration


def cells_for(spec, codes):
    """Ideal match vectors for ADC codes (one-hot window, thermometer threshold)."""
    cells = np.arange(spec.adc.cells)
    if spec.adc.encoding == "window":
        return cells == codes[..., None]
    return cells < codes[..., None]


def bubbly_match(spec, batch, rng):
    """Random codes (SR pairs mostly within one code of each other) with bubbles:
    single flipped cells, flipped neighbour pairs, all-zero and all-one vectors."""
    a, m = spec.adc, spec.macro
    shape = (batch, m.input_bits, m.phys_cols)
    code_a = rng.integers(0, a.levels, size=shape)
    codes = code_a[..., None]
    if a.adcs_per_column == 2:
        code_b = np.clip(code_a + rng.integers(-1, 2, size=shape), 0, a.levels - 1)
        far = rng.random(shape) < 0.05
        code_b[far] = rng.integers(0, a.levels, size=int(far.sum()))
        codes = np.stack([code_a, code_b], axis=-1)
    match = cells_for(spec, codes)
    kind = rng.random(codes.shape)
    pos = rng.integers(0, a.cells, size=codes.shape)
    idx = np.nonzero(kind < 0.06)
    match[(*idx, pos[idx])] ^= True
    idx = np.nonzero((kind >= 0.06) & (kind < 0.08))
    match[(*idx, pos[idx])] ^= True
    match[(*idx, (pos[idx] + 2) % a.cells)] ^= True
    match[(kind >= 0.08) & (kind < 0.09)] = False
    match[(kind >= 0.09) & (kind < 0.095)] = True
    return match


def extreme_match(spec):
    """Two MVMs driving every (beat, physical column) to the LUT entry that pushes the
    output to its largest / smallest value, with entry 0 the minimum and the last
    entry the maximum of every LUT (see random_calibration)."""
    a, m = spec.adc, spec.macro
    sign = np.ones((m.input_bits, m.phys_cols), dtype=np.int64)
    if m.input_signed:
        sign[0] *= -1
    if m.polarities == 2:
        sign[:, 1::2] *= -1
    if m.has_ref_column:
        sign[:, -1] *= -1
    top = a.levels - 1
    codes = np.stack([np.where(sign > 0, top, 0), np.where(sign > 0, 0, top)])
    codes = np.repeat(codes[..., None], a.adcs_per_column, axis=-1)
    return cells_for(spec, codes)


def random_calibration(spec, rng):
    """default_calibration with a random LUT spanning the whole lut_width range."""
    cal = default_calibration(spec)
    half = 1 << (lut_width(spec) - 1)
    scale = float(1 << spec.adc.lut_frac_bits)
    lut = rng.integers(-half, half, size=cal.lut.shape) / scale
    lut[:, 0] = -half / scale
    lut[:, -1] = (half - 1) / scale
    return dataclasses.replace(cal, lut=lut)


def stimulus(name, rng):
    spec = make_spec(name)
    *_, kind, batch, _ = CONFIGS[name]
    if kind == "macro":
        return spec, *macro_stimulus(spec, batch, rng)
    match = np.concatenate([extreme_match(spec), bubbly_match(spec, batch - 2, rng)])
    return spec, match, random_calibration(spec, rng)


# -- the simulation as a pure function ---------------------------------------------------

def pack(bits):
    """A boolean vector as an integer, element 0 in bit 0."""
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def unpack_out(raw, cols, width):
    mask = (1 << width) - 1
    vals = [(raw >> (c * width)) & mask for c in range(cols)]
    return [v - (1 << width) if v >> (width - 1) else v for v in vals]


def simulate(dut, mvms, *, rng, in_gap=0.0, out_stall=0.0, cfg_after=None, reset_at=None,
             drain=8):
    """Run MVMs through ``dut`` with a producer and a consumer.

    Parameters
    ----------
    mvms : bool array (batch, beats_per_mvm, adc_groups, adcs, cells)
        The beat stream (:func:`golden.digital.to_beats` order; per physical column
        for ``columns_per_adc = 1``).
    in_gap, out_stall : float
        Probability of an idle cycle before each beat / of ``out_ready`` low.
    cfg_after : dict {mvm index: [(addr, data), ...]}
        LUT writes issued, one per cycle, right after that MVM's last beat is accepted.
    reset_at : (mvm, beats, hold) or None
        Pulse ``rst`` for one cycle after ``beats`` beats of MVM ``mvm`` are accepted
        (that MVM is then abandoned). Before it, the producer waits until every
        earlier result is out. With ``hold``, ``out_ready`` is held low from the last
        beat of MVM ``mvm - 1`` on, so that its result is still pending at the reset
        (and the pipeline stalled: ``beats`` must be at most 2), and it is lost too.

    Returns
    -------
    outs : list of list of int
        Every transferred ``out_data``, in order, unpacked per column.
    flags : list of int
        The matching ``out_flags``.
    stats : dict
        ``cycles``, ``stalled`` (cycles with in_valid & ~in_ready), ``held`` (cycles
        with out_valid & ~out_ready), ``last_cycles`` and ``out_cycles``.
    """
    m = Module()
    m.domains.sync = cd = ClockDomain()
    m.submodules.dut = dut
    spec = dut.spec
    beats = dut.beats_per_mvm
    n_out = len(mvms) - (1 + reset_at[2] if reset_at else 0)
    words = [[pack(mvms[b, t].reshape(-1)) for t in range(beats)] for b in range(len(mvms))]
    junk = rng.integers(0, 2, size=(64, dut.match_width)).astype(bool)
    outs, flags = [], []
    st = {"cycles": 0, "stalled": 0, "held": 0, "last_cycles": [], "out_cycles": []}
    state = {"cycle": 0, "hold_out": False, "done": False}

    async def producer(ctx):
        async def tick(*sample):
            res = await ctx.tick().sample(*sample)
            state["cycle"] += 1
            return res[2:]

        for b in range(len(mvms)):
            gap = in_gap
            if reset_at and b == reset_at[0] - reset_at[2]:
                while len(outs) < b:
                    await tick()
            if reset_at and b == reset_at[0]:
                state["hold_out"] = reset_at[2]
                gap = 0.0
            for t in range(beats):
                if reset_at and (b, t) == tuple(reset_at[:2]):
                    ctx.set(dut.in_valid, 0)
                    await tick()
                    ctx.set(cd.rst, 1)
                    (ready,) = await tick(dut.in_ready)
                    assert not ready, "in_ready high during reset"
                    ctx.set(cd.rst, 0)
                    state["hold_out"] = False
                    break
                while rng.random() < gap:
                    ctx.set(dut.in_valid, 0)
                    ctx.set(dut.in_match.as_value(), pack(junk[rng.integers(64)]))
                    ctx.set(dut.in_last, int(rng.integers(2)))
                    await tick()
                ctx.set(dut.in_match.as_value(), words[b][t])
                ctx.set(dut.in_last, t == beats - 1)
                ctx.set(dut.in_valid, 1)
                while True:
                    (ready,) = await tick(dut.in_ready)
                    if ready:
                        break
                    st["stalled"] += 1
                if t == beats - 1:
                    st["last_cycles"].append(state["cycle"] - 1)
            ctx.set(dut.in_valid, 0)
            for addr, value in (cfg_after or {}).get(b, []):
                ctx.set(dut.cfg_we, 1)
                ctx.set(dut.cfg_addr, addr)
                ctx.set(dut.cfg_data, value)
                await tick()
            ctx.set(dut.cfg_we, 0)
        state["done"] = True

    async def consumer(ctx):
        cycle = 0
        pending = None  # (data, flags) seen valid but not taken: must stay put
        quiet = 0
        while quiet < drain:
            ready = not state["hold_out"] and rng.random() >= out_stall
            ctx.set(dut.out_ready, ready)
            _, rst, valid, data, fl = await ctx.tick().sample(
                dut.out_valid, dut.out_data.as_value(), dut.out_flags.as_value())
            cycle += 1
            if rst:
                assert not valid, "out_valid high during reset"
                pending = None
                continue
            if valid and pending is not None:
                assert (data, fl) == pending, "out_data/out_flags changed while held"
            if valid and ready:
                outs.append(unpack_out(data, spec.macro.cols, dut.out_width))
                flags.append(fl)
                st["out_cycles"].append(cycle - 1)
                pending = None
            elif valid:
                st["held"] += 1
                pending = (data, fl)
            quiet = quiet + 1 if state["done"] and not valid and len(outs) >= n_out else 0
        st["cycles"] = cycle

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    return outs, flags, st


def assert_matches(outs, flags, exp_out, exp_flags):
    """Scoreboard: every expected MVM came out exactly once, in order, nothing else."""
    assert len(outs) == len(exp_out), f"{len(outs)} results for {len(exp_out)} MVMs"
    np.testing.assert_array_equal(np.array(outs, dtype=np.int64).reshape(exp_out.shape),
                                  exp_out)
    np.testing.assert_array_equal(np.array(flags, dtype=np.uint8), exp_flags)


# -- tests -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CONFIGS))
def test_equals_golden_under_back_pressure(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    spec, match, cal = stimulus(name, rng)
    spec = spec.replace(adc={"decoder": CONFIGS[name][-1] or "auto"})
    dut = Periphery(spec, cal)
    exp_out, exp_flags = digital_path(match, cal.lut_fixed(spec), spec)
    outs, flags, st = simulate(dut, match, rng=rng, in_gap=0.3, out_stall=0.4)
    assert_matches(outs, flags, exp_out, exp_flags)
    # The stimulus exercised what it should: bubbles, both kinds of back-pressure.
    assert len(np.unique(exp_flags)) > 1
    assert st["stalled"] > 20 and st["held"] > 20


def test_extreme_mvms_reach_out_width():
    name = "win5-interleaved-diff-signed-cb2-per_column"
    spec = make_spec(name)
    cal = random_calibration(spec, np.random.default_rng(0))
    match = extreme_match(spec)
    exp_out, exp_flags = digital_path(match, cal.lut_fixed(spec), spec)
    w = out_width(spec)
    assert exp_out.max() >= 1 << (w - 2) or exp_out.min() < -(1 << (w - 2))
    outs, flags, _ = simulate(Periphery(spec, cal), match, rng=np.random.default_rng(1),
                              out_stall=0.5)
    assert_matches(outs, flags, exp_out, exp_flags)


def test_latency_and_initiation_interval():
    """No back-pressure: a beat every cycle, each result ``latency`` cycles after its
    last beat."""
    spec = make_spec("thr4-nominal-offset-signed-cb2-per_slice")
    rng = np.random.default_rng(3)
    match = bubbly_match(spec, 12, rng)
    dut = Periphery(spec)
    exp_out, exp_flags = digital_path(match, dut.lut_init, spec)
    outs, flags, st = simulate(dut, match, rng=rng)
    assert_matches(outs, flags, exp_out, exp_flags)
    assert st["stalled"] == 0 and st["held"] == 0
    beats = spec.macro.input_bits
    assert st["last_cycles"] == [beats * (k + 1) - 1 for k in range(12)]
    assert [o - i for o, i in zip(st["out_cycles"], st["last_cycles"], strict=True)] \
        == [dut.latency] * 12
    assert dut.latency == 3 and dut.initiation_interval == 1


def test_one_beat_mvms_back_to_back():
    """input_bits = 1: every beat is an MVM, so a result can leave every cycle."""
    spec = MacroSpec().replace(macro={"rows": 8, "cols": 2, "input_bits": 1,
                                      "weight_bits": 2, "cell_bits": 1},
                               adc={"bits": 3, "lut_frac_bits": 2})
    rng = np.random.default_rng(5)
    match = bubbly_match(spec, 40, rng)
    dut = Periphery(spec, random_calibration(spec, rng))
    exp = digital_path(match, dut.lut_init, spec)
    outs, flags, st = simulate(dut, match, rng=rng)
    assert_matches(outs, flags, *exp)
    assert np.all(np.diff(st["out_cycles"]) == 1)
    outs, flags, _ = simulate(Periphery(spec, dut.calibration), match, rng=rng,
                              in_gap=0.3, out_stall=0.5)
    assert_matches(outs, flags, *exp)


def test_lut_rewrite_between_mvms():
    """cfg writes right after an MVM's last beat (its beats still in flight) change the
    results of later MVMs exactly as golden says, and not of earlier ones."""
    name = "thr4-nominal-offset-signed-cb2-per_slice"
    spec = make_spec(name)
    rng = np.random.default_rng(11)
    match = bubbly_match(spec, 30, rng)
    dut = Periphery(spec)
    old = dut.lut_init
    half = 1 << (lut_width(spec) - 1)
    new = rng.integers(-half, half, size=old.shape)
    bits = spec.adc.code_bits
    writes = [((i << bits) | e, int(new[i, e])) for i in range(n_luts(spec))
              for e in range(spec.adc.lut_entries)]
    if spec.adc.lut_entries < 1 << bits:
        writes.append(((1 << bits) - 1, 5))  # out of range: ignored
    outs, flags, _ = simulate(dut, match, rng=rng, in_gap=0.2, out_stall=0.4,
                              cfg_after={14: writes})
    first = digital_path(match[:15], old, spec)
    second = digital_path(match[15:], new, spec)
    assert_matches(outs, flags, np.concatenate([first[0], second[0]]),
                   np.concatenate([first[1], second[1]]))
    assert not np.array_equal(first[0][:5], digital_path(match[:5], new, spec)[0])


@pytest.mark.parametrize(("beats_in", "hold"), [(1, True), (2, True), (2, False)])
def test_reset_mid_mvm_leaves_no_stale_state(beats_in, hold):
    """rst after ``beats_in`` beats of MVM 6 (with ``hold``: while MVM 5's result waits
    on a low out_ready and the pipeline is stalled): MVM 6's partial sums and flags
    (and MVM 5's result) are gone; the MVMs after the reset come out as golden says."""
    spec = make_spec("win3-none-diff-unsigned-cb1-shared")
    a = spec.adc
    rng = np.random.default_rng(beats_in + 2 * hold)
    match = bubbly_match(spec, 12, rng)
    match[7:] = cells_for(spec, rng.integers(0, a.levels, size=(5, *match.shape[1:4])))
    # MVM 6: large values everywhere and a multi-hot vector, so stale partial sums
    # or stale flags would show in MVM 7
    match[6] = cells_for(spec, np.full(match.shape[1:4], a.levels - 1))
    match[6, :, 0, 0, a.levels - 2] = True
    dut = Periphery(spec)
    exp_out, exp_flags = digital_path(match, dut.lut_init, spec)
    keep = [k for k in range(12) if k not in ((5, 6) if hold else (6,))]
    outs, flags, _ = simulate(dut, match, rng=rng, in_gap=0.2, out_stall=0.3,
                              reset_at=(6, beats_in, hold))
    assert_matches(outs, flags, exp_out[keep], exp_flags[keep])
    assert not exp_flags[7:].any() and exp_flags[6] & Flag.MULTI_HOT


def test_cfg_write_survives_reset():
    spec = make_spec("win3-none-diff-unsigned-cb1-shared")
    rng = np.random.default_rng(4)
    match = bubbly_match(spec, 6, rng)
    dut = Periphery(spec)
    new = dut.lut_init[::-1, ::-1].copy()
    writes = [(e, int(new[0, e])) for e in range(spec.adc.lut_entries)]
    outs, flags, _ = simulate(dut, match, rng=rng, cfg_after={1: writes},
                              reset_at=(4, 1, False))
    exp_out, exp_flags = digital_path(match, new, spec)
    keep = [2, 3, 5]  # MVM 4 is cut short by the reset
    first = digital_path(match[:2], dut.lut_init, spec)
    assert_matches(outs, flags, np.concatenate([first[0], exp_out[keep]]),
                   np.concatenate([first[1], exp_flags[keep]]))


# -- signature, manifest facts and parameter checks ------------------------------------

def test_ports_and_widths():
    spec = make_spec("thr4-nominal-offset-signed-cb2-per_slice")
    dut = Periphery(spec)
    a, m = spec.adc, spec.macro
    want = {
        "clk": ("input", 1), "rst": ("input", 1),
        "in_match": ("input", m.phys_cols * 2 * a.cells), "in_valid": ("input", 1),
        "in_ready": ("output", 1), "in_last": ("input", 1),
        "out_data": ("output", m.cols * out_width(spec)), "out_flags": ("output", 4),
        "out_valid": ("output", 1), "out_ready": ("input", 1), "cfg_we": ("input", 1),
        "cfg_addr": ("input", (n_luts(spec) - 1).bit_length() + a.code_bits),
        "cfg_data": ("input", lut_width(spec)),
    }
    assert {p["name"]: (p["direction"], p["width"]) for p in dut.ports} == want
    assert {p["name"] for p in dut.ports if p["signed"]} == {"out_data", "cfg_data"}
    assert dut.out_width == out_width(spec) and dut.lut_width == lut_width(spec)
    assert dut.match_bit(3, 1, 2) == (3 * 2 + 1) * a.cells + 2
    fact = dut.manifest
    assert fact["latency"] == dut.latency
    assert fact["lut"]["lut_of_column"] == [0, 1, 0, 1, 2]  # slice, reference last
    assert fact["out_flags"]["bits"] == {"zero_hot": 0, "multi_hot": 1, "non_monotone": 2,
                                         "sr_disagree": 3}
    assert fact["widths"]["out_width"] == out_width(spec)


def test_match_bit_order_is_column_adc_cell():
    spec = make_spec("thr4-nominal-offset-signed-cb2-per_slice")
    dut = Periphery(spec)
    a = spec.adc
    bits = np.zeros((spec.macro.phys_cols, 2, a.cells), dtype=bool)
    bits[2, 1, 5] = True
    assert pack(bits.reshape(-1)) == 1 << dut.match_bit(2, 1, 5)


def test_parameter_errors():
    spec = make_spec("win3-none-diff-unsigned-cb1-shared")
    with pytest.raises(ValueError, match=r"spec = 3: must be a golden.spec.MacroSpec"):
        Periphery(3)
    with pytest.raises(ValueError, match=r"decoder = 'ones': encoding 'window' allows "
                                         r"'priority'"):
        Periphery(spec.replace(adc={"decoder": "ones"}))
    with pytest.raises(ValueError, match=r"calibration = 'x': must be a "
                                         r"golden.macro.MacroCalibration"):
        Periphery(spec, "x")
    other = spec.replace(adc={"bits": 4})
    with pytest.raises(ValueError, match=r"calibration does not fit the spec: calibration "
                                         r"bits = 4: the config has adc.bits = 3"):
        Periphery(spec, default_calibration(other))
    with pytest.raises(ValueError, match=r"group = 8: must be an integer in 0..7"):
        Periphery(spec).match_bit(8, 0, 0)


def test_every_decoder_is_accepted():
    for encoding, names in DECODERS.items():
        spec = MacroSpec().replace(macro={"rows": 8, "cols": 1, "weight_bits": 2},
                                   adc={"bits": 3, "encoding": encoding})
        for d in names:
            assert Periphery(spec.replace(adc={"decoder": d})).decoder == d


# -- column mux: columns_per_adc = k > 1 ------------------------------------------------

# name: (base config, columns_per_adc, cols, MVMs)
MUXED = {
    "k2-win3-none-diff-unsigned-shared": ("win3-none-diff-unsigned-cb1-shared", 2, 4, 50),
    "k3-ragged-thr4-nominal-offset-signed": ("thr4-nominal-offset-signed-cb2-per_slice", 3,
                                             4, 40),
    "k3-ragged-win6-nominal-offset-unsigned": ("win6-nominal-offset-unsigned-cb2-per_slice",
                                               3, 5, 40),
    "k8-thr6-none-offset-unsigned-majority": (
        "thr6-none-offset-unsigned-cb1-per_column-majority", 8, 8, 24),
    "k2-thr3-interleaved-diff-signed": ("thr3-interleaved-diff-signed-cb1-shared", 2, 3, 30),
}


def muxed_spec(name):
    base, k, cols, _ = MUXED[name]
    spec = make_spec(base).replace(macro={"cols": cols})
    decoder = CONFIGS[base][-1] or "auto"
    scope = "per_slice" if spec.adc.lut_scope == "per_column" else spec.adc.lut_scope
    return spec.replace(adc={"columns_per_adc": k, "lut_scope": scope, "decoder": decoder})


def with_junk(beats, spec, rng):
    """``beats`` with random bits in every empty slot (mux_groups == -1)."""
    groups = mux_groups(spec)
    k = groups.shape[1]
    out = beats.copy()
    view = out.reshape(out.shape[0], -1, k, *out.shape[2:])
    g, j = np.nonzero(groups < 0)
    view[:, :, j, g] = rng.random(view[:, :, j, g].shape) < 0.5
    return out


def muxed_stimulus(name, rng):
    """Beats of ``columns_per_adc = k`` (junk in empty slots), the per-column match
    bits they carry and a calibration: golden.macro match vectors for the configs
    whose base uses them, bubbly random vectors with a full-range LUT otherwise."""
    spec = muxed_spec(name)
    base, *_, batch = MUXED[name]
    if CONFIGS[base][3] == "macro":
        match, cal = macro_stimulus(spec, batch, rng)
    else:
        match = np.concatenate([extreme_match(spec), bubbly_match(spec, batch - 2, rng)])
        cal = random_calibration(spec, rng)
    beats = with_junk(to_beats(match, spec), spec, rng)
    assert np.array_equal(from_beats(beats, spec), match)
    return spec, beats, cal


@pytest.mark.parametrize("name", list(MUXED))
def test_column_mux_equals_golden(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    spec, beats, cal = muxed_stimulus(name, rng)
    dut = Periphery(spec, cal)
    exp_out, exp_flags = digital_path(from_beats(beats, spec), cal.lut_fixed(spec), spec)
    outs, flags, st = simulate(dut, beats, rng=rng, in_gap=0.3, out_stall=0.4)
    assert_matches(outs, flags, exp_out, exp_flags)
    assert len(np.unique(exp_flags)) > 1
    assert st["stalled"] > 10 and st["held"] > 10


def test_column_mux_junk_changes_nothing():
    """The same MVMs with all-zero and with all-one empty slots give the same
    results and flags (all-one vectors would raise multi_hot / non_monotone)."""
    name = "k3-ragged-win6-nominal-offset-unsigned"
    spec, beats, cal = muxed_stimulus(name, np.random.default_rng(2))
    beats = beats[:10]
    groups = mux_groups(spec)
    empty = np.nonzero(groups < 0)
    runs = []
    for fill in (False, True):
        b = beats.copy()
        view = b.reshape(b.shape[0], -1, groups.shape[1], *b.shape[2:])
        view[:, :, empty[1], empty[0]] = fill
        runs.append(simulate(Periphery(spec, cal), b, rng=np.random.default_rng(3))[:2])
    exp = digital_path(from_beats(beats, spec), cal.lut_fixed(spec), spec)
    assert_matches(*runs[0], *exp)
    assert_matches(*runs[1], *exp)


def test_column_mux_latency_and_cycles_per_mvm():
    spec = muxed_spec("k3-ragged-thr4-nominal-offset-signed")
    rng = np.random.default_rng(8)
    match = bubbly_match(spec, 8, rng)
    dut = Periphery(spec)
    beats = with_junk(to_beats(match, spec), spec, rng)
    outs, flags, st = simulate(dut, beats, rng=rng)
    assert_matches(outs, flags, *digital_path(match, dut.lut_init, spec))
    n = dut.cycles_per_mvm
    assert n == dut.beats_per_mvm == spec.macro.input_bits * 3
    assert st["stalled"] == 0 and st["held"] == 0
    assert st["last_cycles"] == [n * (k + 1) - 1 for k in range(8)]
    assert [o - i for o, i in zip(st["out_cycles"], st["last_cycles"], strict=True)] \
        == [dut.latency] * 8


@pytest.mark.parametrize("beats_in", [2, 4])
def test_column_mux_reset_mid_mvm(beats_in):
    """rst inside MVM 3 (phase 2 of bit 0 / phase 1 of bit 1 with k = 3) while MVM 2's
    result waits: the phase counters restart, so MVM 4 onwards match golden. Clean
    vectors in the live slots and non-monotone ones in the empty slots: a phase
    counter out of step would let the empty slots' flags (or values) through."""
    spec = muxed_spec("k3-ragged-thr4-nominal-offset-signed")
    rng = np.random.default_rng(beats_in)
    m, a = spec.macro, spec.adc
    codes = rng.integers(0, a.levels, size=(8, m.input_bits, m.phys_cols))
    match = cells_for(spec, np.repeat(codes[..., None], a.adcs_per_column, axis=-1))
    dut = Periphery(spec)
    beats = to_beats(match, spec)
    groups = mux_groups(spec)
    view = beats.reshape(8, m.input_bits, 3, *beats.shape[2:])
    g, j = np.nonzero(groups < 0)
    view[:, :, j, g, :, 1::2] = True
    exp_out, exp_flags = digital_path(match, dut.lut_init, spec)
    assert not exp_flags.any()
    hold = beats_in <= 2
    keep = [k for k in range(8) if k not in ((2, 3) if hold else (3,))]
    outs, flags, _ = simulate(dut, beats, rng=rng, in_gap=0.2, out_stall=0.3,
                              reset_at=(3, beats_in, hold))
    assert_matches(outs, flags, exp_out[keep], exp_flags[keep])


def test_column_mux_ports_and_manifest():
    spec = muxed_spec("k3-ragged-win6-nominal-offset-unsigned")
    dut = Periphery(spec)
    a, m = spec.adc, spec.macro
    groups = mux_groups(spec)
    assert dut.adc_groups == len(groups) == 2 * m.slices + 1  # 2 column groups + reference
    ports = {p["name"]: p["width"] for p in dut.ports}
    assert ports["in_match"] == len(groups) * a.adcs_per_column * a.cells
    assert ports["out_data"] == m.cols * out_width(spec)
    assert dut.match_bit(2, 1, 3) == (2 * 2 + 1) * a.cells + 3
    im = dut.manifest["in_match"]
    assert (im["adc_groups"], im["columns_per_adc"], im["beats_per_mvm"]) == \
        (len(groups), 3, m.input_bits * 3)
    assert im["mux_groups"] == groups.tolist() and im["phys_cols"] == m.phys_cols
    assert im["bit_order"].startswith("bit (g * adcs_per_column + a) * cells + c")
    assert im["beat_order"].startswith("input bit MSB first, then phase j = 0..k-1")
    fact = dut.manifest
    assert fact["initiation_interval"] == 1 and fact["cycles_per_mvm"] == m.input_bits * 3
    assert fact["lut"]["lut_of_column"] == lut_index(spec).tolist()
    assert fact["lut"]["lut_of_group"] == [lut_index(spec)[r[0]] for r in groups]
