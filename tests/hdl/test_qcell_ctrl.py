# amaranth: UnusedElaboratable=no
"""QCellSense: strobe durations, what gets captured, chaining, and a cycle model."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from hdl.qcell_ctrl import QCellSense

OUTPUTS = ("precharge", "evaluate", "latch", "busy", "match", "match_valid")


def run_sense(dut, start, lines, durations=None):
    """One cycle per element of ``start``; returns each output's value in every cycle.

    ``durations`` is ``(tp, te, tl)`` per cycle, or None to leave the ports undriven.
    """
    trace = {name: [] for name in OUTPUTS}

    async def tb(ctx):
        for k in range(len(start)):
            ctx.set(dut.start, int(start[k]))
            ctx.set(dut.match_lines, int(lines[k]))
            if durations is not None:
                for port, d in zip((dut.t_precharge, dut.t_evaluate, dut.t_latch),
                                   durations[k], strict=True):
                    ctx.set(port, int(d))
            for name in OUTPUTS:
                trace[name].append(ctx.get(getattr(dut, name)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return {name: np.array(v) for name, v in trace.items()}


def high_cycles(x):
    return np.flatnonzero(x).tolist()


def pulse(n, at):
    s = np.zeros(n, dtype=int)
    s[at] = 1
    return s


@pytest.mark.parametrize(("tp", "te", "tl"), [(1, 1, 1), (2, 3, 1), (5, 1, 4), (1, 7, 2)])
def test_strobe_durations(tp, te, tl):
    n = tp + te + tl + 6
    lines = np.arange(n) + 100
    dut = QCellSense(8)
    tr = run_sense(dut, pulse(n, 0), lines, [(tp, te, tl)] * n)
    assert high_cycles(tr["precharge"]) == list(range(1, 1 + tp))
    assert high_cycles(tr["evaluate"]) == list(range(1 + tp, 1 + tp + te))
    assert high_cycles(tr["latch"]) == list(range(1 + tp + te, 1 + tp + te + tl))
    assert high_cycles(tr["busy"]) == list(range(1, 1 + tp + te + tl))
    assert high_cycles(tr["match_valid"]) == [QCellSense.latency(tp, te, tl)]
    strobes = tr["precharge"] + tr["evaluate"] + tr["latch"]
    assert strobes.max() == 1  # never two at once


def test_only_the_last_latch_cycle_is_captured():
    tp, te, tl = 2, 2, 3
    n = 14
    lines = np.array([0xFF] * n)
    last_latch = tp + te + tl
    lines[last_latch] = 0x5A  # every other cycle, latch cycles included, shows 0xFF
    tr = run_sense(QCellSense(8), pulse(n, 0), lines, [(tp, te, tl)] * n)
    k = high_cycles(tr["match_valid"])
    assert k == [last_latch + 1]
    assert tr["match"][: k[0]].tolist() == [0] * k[0]  # nothing captured before
    assert tr["match"][k[0]:].tolist() == [0x5A] * (n - k[0])  # held afterwards


def test_zero_durations_count_as_one():
    n = 8
    tr = run_sense(QCellSense(4), pulse(n, 0), np.zeros(n), [(0, 0, 0)] * n)
    assert [high_cycles(tr[s]) for s in ("precharge", "evaluate", "latch", "match_valid")] == [
        [1], [2], [3], [4]]


def test_start_held_high_senses_back_to_back():
    tp, te, tl = 1, 2, 1
    n = 20
    lines = np.arange(n)
    tr = run_sense(QCellSense(8), np.ones(n, dtype=int), lines, [(tp, te, tl)] * n)
    period = tp + te + tl
    valid = high_cycles(tr["match_valid"])
    assert valid == list(range(period + 1, n, period))
    assert [tr["match"][k] for k in valid] == [k - 1 for k in valid]
    assert high_cycles(tr["busy"]) == list(range(1, n))


def test_start_while_busy_is_ignored():
    n = 16
    start = pulse(n, [0, 2, 3, 4])  # 2..4 fall inside the first operation (1..6)
    tr = run_sense(QCellSense(8), start, np.arange(n), [(2, 2, 2)] * n)
    assert high_cycles(tr["match_valid"]) == [7]
    assert high_cycles(tr["busy"]) == list(range(1, 7))


def test_default_durations_when_ports_are_undriven():
    n = 12
    dut = QCellSense(3, duration_bits=4, precharge=2, evaluate=3, latch=2)
    tr = run_sense(dut, pulse(n, 1), np.full(n, 5))
    assert high_cycles(tr["precharge"]) == [2, 3]
    assert high_cycles(tr["evaluate"]) == [4, 5, 6]
    assert high_cycles(tr["latch"]) == [7, 8]
    assert high_cycles(tr["match_valid"]) == [9] == [1 + QCellSense.latency(2, 3, 2)]


def model_sense(start, lines, durations):
    """Independent cycle model: phase and cycles left in it, one step per clock."""
    phase, left, match, match_valid = "idle", 0, 0, 0
    trace = {name: [] for name in OUTPUTS}
    for k in range(len(start)):
        for name, v in [("precharge", phase == "pre"), ("evaluate", phase == "eval"),
                        ("latch", phase == "latch"), ("busy", phase != "idle"),
                        ("match", match), ("match_valid", match_valid)]:
            trace[name].append(int(v))
        tp, te, tl = (max(int(d), 1) for d in durations[k])
        match_valid = 0
        if phase == "idle":
            if start[k]:
                phase, left = "pre", tp
            continue
        left -= 1
        if left:
            continue
        if phase == "pre":
            phase, left = "eval", te
        elif phase == "eval":
            phase, left = "latch", tl
        else:
            match, match_valid = int(lines[k]), 1
            phase, left = ("pre", tp) if start[k] else ("idle", 0)
    return {name: np.array(v) for name, v in trace.items()}


def test_random_against_cycle_model():
    rng = np.random.default_rng(5)
    n = 400
    start = (rng.random(n) < 0.3).astype(int)
    start[200:260] = 1
    lines = rng.integers(0, 1 << 12, size=n)
    # durations change every few cycles, including in the middle of phases
    durations = np.repeat(rng.integers(0, 5, size=(n // 5, 3)), 5, axis=0)
    got = run_sense(QCellSense(12, duration_bits=3), start, lines, durations)
    want = model_sense(start, lines, durations)
    for name in OUTPUTS:
        assert got[name].tolist() == want[name].tolist(), name
    assert want["match_valid"].sum() > 20


def test_signature():
    dut = QCellSense(40, duration_bits=6)
    assert (dut.n_bits, dut.duration_bits) == (40, 6)
    assert (len(dut.match_lines), len(dut.match), len(dut.t_evaluate)) == (40, 40, 6)
    assert QCellSense.latency(3, 0, 2) == 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_bits=0), r"n_bits = 0: must be an integer in 1\.\.65536"),
        (dict(n_bits=4, duration_bits=17), r"duration_bits = 17: must be an integer in 1\.\.16"),
        (dict(n_bits=4, duration_bits=2, precharge=4), r"precharge = 4: must be an integer "
                                                      r"in 1\.\.3"),
        (dict(n_bits=4, evaluate=0), r"evaluate = 0: must be an integer in 1\.\.255"),
        (dict(n_bits=4, latch=1.5), r"latch = 1.5: must be an integer"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QCellSense(**kwargs)
