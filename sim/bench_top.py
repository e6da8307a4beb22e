"""cocotb tests of the periphery top against golden (run through :mod:`sim.runner`).

Each test frames its traffic with :func:`sim.tb.bench`: a started :class:`sim.tb.TB`
whose scoreboard is checked, and found empty, at the end.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles

from sim.tb import bench


@cocotb.test()
async def test_macro_mvms(dut):
    """Match vectors of the golden macro (device variation: bubbles at their natural
    rate; the zero and full-scale inputs first), with the macro's calibrated LUTs
    written through cfg first, under random idle cycles and back-pressure."""
    async with bench(dut, "test_macro_mvms", idle=0.3, stall=0.4) as tb:
        await tb.cfg.write_luts(tb.stim["macro_lut"])
        tb.source.send(tb.stim["macro_match"])
    assert tb.model.writes == tb.stim["macro_lut"].size


@cocotb.test()
async def test_latency_and_throughput(dut):
    """Without idle cycles or back-pressure a beat is accepted every cycle and every
    result leaves exactly ``latency`` cycles (from the manifest) after its last beat."""
    async with bench(dut, "test_latency_and_throughput") as tb:
        tb.source.send(tb.stim["clean_match"])
    beats = np.diff(tb.model.beat_cycles)
    assert tb.in_mon.stalls == 0 and np.all(beats == 1), f"beat cycles {tb.model.beat_cycles}"
    lat = np.array(tb.out_mon.out_cycles) - np.array(tb.model.last_cycles)
    assert np.all(lat == tb.facts.latency), f"latencies {lat.tolist()}, manifest " \
        f"{tb.facts.latency}"


@cocotb.test()
async def test_directed_bubbles(dut):
    """Decoder and SR corner cases (zero-hot, two-hot adjacent and apart, all-hot;
    thermometer bubbles; SR pairs that agree, differ by one, by two) with ramp LUTs
    (distinct entries), under heavy back-pressure; every flag the config can raise
    is seen."""
    async with bench(dut, "test_directed_bubbles", idle=0.2, stall=0.5) as tb:
        await tb.cfg.write_luts(tb.stim["ramp_lut"])  # a wrong code cannot hide
        tb.source.send(tb.stim["directed_match"])
    a = tb.facts.spec.adc
    # Only the flags this config can raise: a one-cell thermometer (1-bit ADC) is
    # always monotone, and 1-bit SR codes (0..1) never differ by more than one.
    if a.encoding == "window":
        want = ["zero_hot", "multi_hot"]
    else:
        want = ["non_monotone"] if a.bits >= 2 else []
    if a.adcs_per_column == 2 and a.bits >= 2:
        want.append("sr_disagree")
    missing = [f for f in want if not tb.sb.flags_seen[f]]
    assert not missing, f"flags never raised: {missing}"


@cocotb.test()
async def test_full_scale_and_zero(dut):
    """LUTs with their extremes at entry 0 and the last entry, then the two MVMs that
    drive every output to its most positive and most negative value, and all-zero and
    all-top codes: the results reach the top bit of out_width."""
    async with bench(dut, "test_full_scale_and_zero", idle=0.1, stall=0.3) as tb:
        await tb.cfg.write_luts(tb.stim["extreme_lut"])
        tb.source.send(tb.stim["extreme_match"])
        tb.source.send(tb.stim["clean_match"][:2])
    lo, hi = tb.sb.expected_extremes
    top = 1 << (tb.facts.col_width - 2)
    assert hi >= top and lo < -top, f"outputs {lo}..{hi} do not reach +-{top}"


@cocotb.test()
async def test_lut_rewrite_between_mvms(dut):
    """A whole new LUT (and writes outside the LUT map, which must be ignored) written
    right after an MVM's last beat is accepted, its result still in flight; then random
    writes at random times while MVMs stream (a write is seen from the next cycle's
    beats on). The model follows the writes the input monitor sees."""
    async with bench(dut, "test_lut_rewrite_between_mvms", idle=0.2, stall=0.4) as tb:
        mvms = tb.stim["bubbly_match"]
        k = len(mvms) // 3
        tb.source.send(mvms[:k])
        await tb.source.wait_idle()
        new = tb.stim["new_lut"]
        bad = [(addr, 1) for addr in tb.facts.unused_addrs()]
        await tb.cfg.write(bad + [(tb.facts.addr(i, e), new[i, e])
                                  for i in range(new.shape[0]) for e in range(new.shape[1])])
        tb.source.send(mvms[k:2 * k])
        await tb.source.wait_idle()
        half = 1 << (tb.facts.lut_width - 1)
        writes = [(tb.facts.addr(int(tb.rng.integers(tb.facts.n_luts)),
                                 int(tb.rng.integers(tb.facts.entries))),
                   int(tb.rng.integers(-half, half))) for _ in range(3 * k)]
        writer = cocotb.start_soon(tb.cfg.write(writes, gap=0.7))
        tb.source.send(mvms[2 * k:])
        await writer
    assert tb.model.ignored_writes == len(bad)
    assert tb.model.writes == new.size + len(writes)


@cocotb.test()
@cocotb.parametrize(hold=[False, True])
async def test_reset_mid_mvm(dut, hold):
    """``rst`` after part of an MVM (its beats of large codes with a flagged bubble) was
    accepted; with ``hold``, ``out_ready`` is low from the previous MVM on, so that
    result is pending (and the pipeline stalled) when the reset comes. The partial
    MVM's sums and flags, and any untaken result, are discarded: bubble-free MVMs
    after the reset come out exactly as golden says, with no flags."""
    async with bench(dut, f"test_reset_mid_mvm/hold={hold}") as tb:
        f = tb.facts
        # No back-pressure up to the reset, and only one MVM in flight before the
        # victim, so that the victim's first beat is accepted before that MVM's held
        # result stalls the pipeline (latency cycles after its last beat).
        tb.source.send(tb.stim["bubbly_match"][:3])
        await tb.wait_results()
        tb.source.send(tb.stim["bubbly_match"][3:4])
        await tb.source.wait_idle()
        tb.sink.hold = hold
        tb.source.send(tb.stim["victim_match"], beats=max(f.beats - 1, 1))
        await ClockCycles(dut.clk, f.beats + f.latency + 2)
        await tb.reset(1)
        tb.sink.hold = False
        tb.sink.stall = tb.source.idle = 0.3
        after = tb.model.mvms
        tb.source.send(tb.stim["clean_match"])
    assert tb.in_mon.resets >= 1
    assert tb.model.discarded_beats >= 1, "the reset did not cut an MVM short"
    if hold:
        assert tb.sb.discarded >= 1, "no result was pending at the reset"
    assert tb.model.mvms - after == len(tb.stim["clean_match"])


@cocotb.test()
async def test_random_resets(dut):
    """``rst`` pulses of 1 to 3 cycles at random moments of a stream of golden-macro
    MVMs under random idle cycles and back-pressure (an MVM half sent, a result
    waiting, the pipeline stalled, all by chance): whatever the reset cut is dropped
    and nothing stale survives it; each MVM sent afterwards comes out as golden says,
    and at the end nothing is missing or extra."""
    async with bench(dut, "test_random_resets", idle=0.3, stall=0.4) as tb:
        await tb.cfg.write_luts(tb.stim["macro_lut"])
        mvms = tb.stim["macro_match"]
        f, rng = tb.facts, tb.rng
        for _ in range(6):
            pick = rng.integers(0, len(mvms), size=int(rng.integers(1, 4)))
            tb.source.send(mvms[pick])
            await ClockCycles(dut.clk, int(rng.integers(1, len(pick) * f.beats * 2 + 2)))
            await tb.reset(int(rng.integers(1, 4)))
        tb.source.send(mvms[: min(len(mvms), 4)])
    assert tb.in_mon.resets >= 6
