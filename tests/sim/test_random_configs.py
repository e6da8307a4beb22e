# amaranth: UnusedElaboratable=no
"""Random-config equivalence: the periphery of random legal configs
(:func:`golden.randcfg.random_config`) equals golden bit for bit, under random
back-pressure and random resets mid-stream.

Per seed, two checks:

* **cocotb** (``test_cocotb_top``): the generated Verilog through the top bench
  (:mod:`sim.bench_top` via :func:`sim.runner.run_top`) on Icarus: calibrated-macro
  MVMs, directed bubbles, full scale, LUT rewrites, latency, reset mid-MVM.
* **amaranth.sim** (``test_random_resets``): the Amaranth :class:`hdl.periphery.Periphery`
  with a random producer, a random consumer and ``rst`` pulses of 1..3 cycles at random
  cycles (mid-MVM, with results in flight or held, while idle). A monitor feeds the
  accepted beats to :func:`golden.digital.digital_path`; a reset discards the MVM in
  progress and every result not yet transferred. Every result must be the golden one
  of the beats accepted since the last reset, in order, none lost, none duplicated,
  and the held output must not change while ``out_ready`` is low.

The CI-sized run (:data:`CI_CONFIGS` seeds) is always on. The long run
(:data:`LONG_CONFIGS` seeds) runs only when selected::

    .venv/bin/pytest tests/sim/test_random_configs.py -m randcfg_long -n 2

``CIMGEN_RANDCFG_SEED=<n>`` sets the base seed (default 0); the seed of each case is
in its test id and in every failure message, which also gives the command that reruns
that one case.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from golden.digital import beats_per_mvm, digital_path, mux_groups, to_beats
from golden.macro import Macro
from golden.randcfg import random_config, random_decoder, random_spec
from hdl.periphery import Periphery
from sim.runner import (
    SimulatorMissing,
    find_simulator,
    prepare_design,
    run_top,
)
from sim.stimulus import bubbly_match, operands

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "sim"
SEED_ENV = "CIMGEN_RANDCFG_SEED"
BASE_SEED = int(os.environ.get(SEED_ENV, "0"))
CI_CONFIGS = 4
LONG_CONFIGS = 50
MVMS = 8  # the top bench's calibrated-macro MVMs per config


def seeds(n: int) -> list[int]:
    return [BASE_SEED + i for i in range(n)]


def first_seed_with(k: int) -> int:
    """The first seed from the base seed on whose config shares ADCs ``k`` ways."""
    return next(s for s in range(BASE_SEED, BASE_SEED + 10_000)
                if random_config(s)["adc"]["columns_per_adc"] == k)


def ci_seeds() -> list[int]:
    """:data:`CI_CONFIGS` seeds from the base seed, plus the first seed with each
    ``adc.columns_per_adc > 1`` the draws take, so that the column mux is always in
    the CI-sized run."""
    out = seeds(CI_CONFIGS)
    return out + sorted({first_seed_with(k) for k in (2, 3, 8)} - set(out))


def seed_id(seed: int) -> str:
    return f"seed{seed}"


def rerun(request, seed: int) -> str:
    """What reproduces this case: the config and the one command."""
    marker = " -m randcfg_long" if request.node.get_closest_marker("randcfg_long") else ""
    name = request.node.originalname
    return (f"seed {seed}: config {random_config(seed)}, decoder "
            f"{random_decoder(seed, random_spec(seed).adc.encoding)}; reproduce with "
            f"{SEED_ENV}={seed} .venv/bin/pytest "
            f"'tests/sim/test_random_configs.py::{name}[{seed_id(seed)}]'{marker}")


def long_run_selected(config) -> bool:
    return "randcfg_long" in (config.getoption("markexpr") or "")


@pytest.fixture
def long_run(request):
    """Skip the long run unless ``-m`` names it (keeps ``make test`` short)."""
    if not long_run_selected(request.config):
        pytest.skip(f"{LONG_CONFIGS}-config random run: select it with -m randcfg_long")


# -- cocotb: the generated Verilog through the top bench -----------------------------------

def check_cocotb_top(seed: int, run_dir: Path, request) -> None:
    try:
        tool = find_simulator("icarus")
    except SimulatorMissing as e:
        pytest.skip(str(e))
    spec = random_spec(seed)
    spec = spec.replace(adc={"decoder": random_decoder(seed, spec.adc.encoding)})
    design = prepare_design(spec, root=BUILD)
    res = run_top(design, tool, seed=seed, mvms=MVMS, run_dir=run_dir)
    assert res.passed, f"{rerun(request, seed)}\n{res.report()}"
    assert res.transactions >= MVMS, rerun(request, seed)


# -- amaranth.sim: random back-pressure and random resets ---------------------------------

def pack(bits: np.ndarray) -> int:
    return int.from_bytes(np.packbits(bits.reshape(-1), bitorder="little").tobytes(), "little")


def unpack_out(raw: int, cols: int, width: int) -> list[int]:
    mask = (1 << width) - 1
    vals = [(raw >> (c * width)) & mask for c in range(cols)]
    return [v - (1 << width) if v >> (width - 1) else v for v in vals]


def reset_stimulus(seed: int, mvms: int):
    """The spec, the decoder, match vectors (half from a calibrated golden macro with
    the config's device variation, half bubble-biased random ones) and the macro's
    calibration (the LUT contents)."""
    spec = random_spec(seed)
    rng = np.random.default_rng([seed, 1])
    w, x = operands(spec, mvms - mvms // 2, rng)
    macro = Macro(spec, w)
    macro.calibrate(x)
    match = np.concatenate([macro.match_vectors(x), bubbly_match(spec, mvms // 2, rng)])
    order = rng.permutation(len(match))
    return spec, random_decoder(seed, spec.adc.encoding), match[order], macro.calibration


def beat_stream(match: np.ndarray, spec, rng: np.random.Generator) -> np.ndarray:
    """Per-column match bits as the periphery's beats (:func:`golden.digital.to_beats`)
    with random junk in the empty ADC slots (``columns_per_adc > 1``)."""
    stream = to_beats(match, spec)
    k = spec.adc.columns_per_adc
    split = stream.reshape(len(stream), -1, k, *stream.shape[2:])
    empty = mux_groups(spec).T < 0
    split[:, :, empty] = rng.random(split[:, :, empty].shape) < 0.5
    return split.reshape(stream.shape)


def simulate_random_resets(seed: int, mvms: int = 24, cycles: int | None = None) -> dict:
    """Stream ``mvms`` MVMs (cycling) through the Periphery for ``cycles`` cycles with
    random valid/ready and random resets; check every output against golden on the
    fly. Returns the counts of what was exercised; raises AssertionError (with the
    cycle) on the first wrong, extra or changed output, or handshake in reset."""
    spec, decoder, match, cal = reset_stimulus(seed, mvms)
    spec = spec.replace(adc={"decoder": decoder})
    lut = cal.lut_fixed(spec)
    dut = Periphery(spec, cal)
    beats = beats_per_mvm(spec)
    cols, width = spec.macro.cols, dut.out_width
    rng = np.random.default_rng([seed, 2])
    words = [[pack(b) for b in mvm] for mvm in beat_stream(match, spec, rng)]
    golden = digital_path(match, lut, spec)
    if cycles is None:
        cycles = 40 * beats + 400
    m = Module()
    m.domains.sync = cd = ClockDomain()
    m.submodules.dut = dut
    def junk(rng):
        return int.from_bytes(rng.bytes((dut.match_width + 7) // 8), "little") \
            & ((1 << dut.match_width) - 1)

    stats = dict.fromkeys(["results", "resets", "discarded_beats", "discarded_results",
                           "stalled", "held", "beats"], 0)

    async def bench(ctx):
        expected: list[tuple[list[int], int, int]] = []  # (out, flags, mvm)
        nxt, t = 0, 0  # the MVM and beat the producer offers (t beats of it taken)
        rst_left = 0
        held = None
        # Phases of random pressure: each a few dozen cycles of one (gap, stall) pair.
        gap = stall = 0.0
        for cycle in range(cycles):
            if cycle % 32 == 0:
                gap, stall = rng.choice([0.0, 0.3, 0.7]), rng.choice([0.0, 0.4, 0.9, 1.0])
            if rst_left == 0 and cycle > 2 and rng.random() < 0.03:
                rst_left = int(rng.integers(1, 4))
            rst = rst_left > 0
            valid = bool(rng.random() >= gap)  # also in reset: must not be taken
            ready = bool(rng.random() >= stall)
            ctx.set(cd.rst, rst)
            ctx.set(dut.in_valid, valid)
            if valid:
                ctx.set(dut.in_match.as_value(), words[nxt][t])
                ctx.set(dut.in_last, t == beats - 1)
            else:
                ctx.set(dut.in_match.as_value(), junk(rng))
                ctx.set(dut.in_last, int(rng.integers(2)))
            ctx.set(dut.out_ready, ready)
            in_ready, out_valid, data, flags = (await ctx.tick().sample(
                dut.in_ready, dut.out_valid, dut.out_data.as_value(),
                dut.out_flags.as_value()))[2:]
            where = f"cycle {cycle}"
            if rst:
                rst_left -= 1
                assert not in_ready, f"{where}: in_ready high in reset"
                assert not out_valid, f"{where}: out_valid high in reset"
                stats["resets"] += rst_left == 0
                stats["discarded_beats"] += t
                stats["discarded_results"] += len(expected)
                expected.clear()
                held = None
                if t:  # abandon the MVM in progress, start the next one
                    nxt, t = (nxt + 1) % len(words), 0
                continue
            if valid and in_ready:
                stats["beats"] += 1
                t += 1
                if t == beats:
                    expected.append(([int(v) for v in golden[0][nxt]], int(golden[1][nxt]),
                                     nxt))
                    nxt, t = (nxt + 1) % len(words), 0
            elif valid:
                stats["stalled"] += 1
            if out_valid:
                got = (unpack_out(data, cols, width), int(flags))
                assert held is None or got == held, \
                    f"{where}: output changed while held: {held} -> {got}"
                if ready:
                    assert expected, f"{where}: result {got} with nothing expected (stale?)"
                    out, fl, which = expected.pop(0)
                    assert got == (out, fl), \
                        f"{where}: MVM {which}: got {got}, golden {(out, fl)}"
                    stats["results"] += 1
                    held = None
                else:
                    stats["held"] += 1
                    held = got
            else:
                assert held is None, f"{where}: out_valid dropped before the result was taken"
        # Drain: no reset, no pressure; everything expected comes out, nothing else.
        ctx.set(dut.in_valid, 0)
        ctx.set(dut.out_ready, 1)
        for _ in range(dut.latency + 8 + 2 * len(expected)):
            out_valid, data, flags = (await ctx.tick().sample(
                dut.out_valid, dut.out_data.as_value(), dut.out_flags.as_value()))[2:]
            if out_valid:
                got = (unpack_out(data, cols, width), int(flags))
                assert expected, f"drain: result {got} with nothing expected"
                out, fl, which = expected.pop(0)
                assert got == (out, fl), f"drain: MVM {which}: got {got}, golden {(out, fl)}"
                stats["results"] += 1
        assert not expected, f"{len(expected)} results never came out"

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return stats


def check_random_resets(seed: int, request, **kw) -> None:
    try:
        stats = simulate_random_resets(seed, **kw)
    except AssertionError as e:
        raise AssertionError(f"{rerun(request, seed)}\n{e}") from None
    # The run exercised what it should: results, resets, both kinds of back-pressure.
    assert stats["results"] > 0 and stats["resets"] > 0, f"{rerun(request, seed)}: {stats}"
    assert stats["stalled"] > 0 and stats["held"] > 0, f"{rerun(request, seed)}: {stats}"


# -- CI-sized run (always on) -------------------------------------------------------------

@pytest.mark.sim
@pytest.mark.parametrize("seed", ci_seeds(), ids=seed_id)
def test_cocotb_top(seed, tmp_path, request):
    check_cocotb_top(seed, tmp_path, request)


@pytest.mark.parametrize("seed", ci_seeds(), ids=seed_id)
def test_random_resets(seed, request):
    check_random_resets(seed, request)


def test_reset_check_catches_a_wrong_result(monkeypatch, request):
    """The amaranth.sim check can fail: with golden off by one LSB it names the seed
    and the command that reruns the case."""
    real = digital_path

    def off_by_one(*args, **kw):
        out, flags = real(*args, **kw)
        return out + 1, flags

    monkeypatch.setitem(globals(), "digital_path", off_by_one)
    with pytest.raises(AssertionError, match=r"(?s)seed 0: config .*reproduce with "
                                             r"CIMGEN_RANDCFG_SEED=0 .*got .*golden"):
        check_random_resets(0, request, cycles=200)


# -- long run (-m randcfg_long) -----------------------------------------------------------

@pytest.mark.randcfg_long
@pytest.mark.parametrize("seed", seeds(LONG_CONFIGS), ids=seed_id)
def test_long_cocotb_top(seed, tmp_path, request, long_run):
    check_cocotb_top(seed, tmp_path, request)


@pytest.mark.randcfg_long
@pytest.mark.parametrize("seed", seeds(LONG_CONFIGS), ids=seed_id)
def test_long_random_resets(seed, request, long_run):
    check_random_resets(seed, request)
