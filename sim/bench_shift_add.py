"""cocotb bench of the shift-add accumulator against :func:`golden.digital.shift_add`.

MVMs of random full-range LUT values (and the two that reach the output's extremes),
``input_bits * columns_per_adc`` valid beats each with random gaps, slot ``g`` of beat
``t*k + j`` carrying physical column ``mux_groups[g][j]`` and random junk where that
is -1; every ``out_valid`` strobe carries the oldest outstanding MVM's result, exactly
``latency`` cycles after its last beat. The model is fed what the monitor saw on
``values``, mapped back to physical columns (empty slots dropped).
"""

from __future__ import annotations

from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from golden.digital import mux_groups, shift_add
from golden.spec import MacroSpec
from sim.benchlib import (
    CLOCK_NS,
    check_ports,
    high,
    load_json,
    load_plan,
    pack_fields,
    read_unsigned,
    tallied,
    test_rng,
    unpack_fields,
)
from sim.stimulus import output_signs

MVMS = 40


def slot_beats(mvm: np.ndarray, groups: np.ndarray, rng, half: int) -> list:
    """One MVM's values ``(input_bits, phys_cols)`` as the ``input_bits * k`` beats of
    ``n_groups`` slots, junk in the empty ones."""
    n, k = groups.shape
    out = []
    for t in range(mvm.shape[0]):
        for j in range(k):
            junk = rng.integers(-half, half, size=n)
            out.append(np.where(groups[:, j] >= 0, mvm[t, groups[:, j]], junk))
    return out


def to_columns(seen: list, groups: np.ndarray, phys_cols: int) -> np.ndarray:
    """The inverse of :func:`slot_beats`: ``(input_bits, phys_cols)``."""
    n, k = groups.shape
    beats = np.array(seen, dtype=np.int64).reshape(-1, k, n)
    out = np.zeros((beats.shape[0], phys_cols), dtype=np.int64)
    g, j = np.nonzero(groups >= 0)
    out[:, groups[g, j]] = beats[:, j, g]
    return out


@cocotb.test()
async def test_shift_add_equals_golden(dut):
    """Every result equals golden's, on time; none is missing or extra."""
    plan = load_plan()
    facts = load_json(plan["facts"])
    check_ports(dut, facts["ports"])
    name = "test_shift_add_equals_golden"
    rng = test_rng(plan, name)
    spec = MacroSpec.from_dict(facts["config"])
    m = spec.macro
    lw, ow, latency = facts["lut_width"], facts["out_width"], facts["latency"]
    half = 1 << (lw - 1)
    s = output_signs(spec)
    mvms = np.concatenate([
        np.stack([np.where(s > 0, half - 1, -half), np.where(s > 0, -half, half - 1)]),
        rng.integers(-half, half, size=(MVMS, m.input_bits, m.phys_cols)),
    ])
    groups = mux_groups(spec)
    n_slots = len(groups)
    per_mvm = m.input_bits * groups.shape[1]
    beats = deque((v, i == per_mvm - 1) for mvm in mvms
                  for i, v in enumerate(slot_beats(mvm, groups, rng, half)))
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.rst.value, dut.valid.value, dut.last.value, dut.values.value = 1, 0, 0, 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    expected: deque = deque()
    current: list = []
    cycle = 0
    with tallied(plan, name, dut._log) as tally:
        tally.extra = {"extremes": [0, 0]}
        while beats or expected or cycle < 10:
            await RisingEdge(dut.clk)
            cycle += 1
            if high(dut.out_valid):
                got = unpack_fields(read_unsigned(dut.out), m.cols, ow, signed=True)
                if not expected:
                    tally.unexpected += 1
                    tally.note(f"cycle {cycle}: result {got} with nothing expected")
                else:
                    exp, done = expected.popleft()
                    tally.check(got == exp and cycle - done == latency,
                                lambda g=got, e=exp, d=cycle - done: (
                                    f"result {g} after {d} cycles, golden {e} after {latency}"))
            if high(dut.valid):
                current.append(unpack_fields(read_unsigned(dut.values), n_slots, lw, True))
                if high(dut.last):
                    cols = to_columns(current, groups, m.phys_cols)
                    y = shift_add(cols[None], spec)[0].tolist()
                    ext = tally.extra["extremes"]
                    ext[:] = [min(ext[0], *y), max(ext[1], *y)]
                    expected.append((y, cycle))
                    current = []
            if beats and rng.random() < 0.7:
                values, last = beats.popleft()
                dut.values.value = pack_fields(values, lw)
                dut.last.value, dut.valid.value = int(last), 1
            else:
                dut.valid.value = 0
                dut.last.value = int(rng.integers(2))
            if cycle > 100 * len(mvms) * per_mvm:
                break
        tally.missing = len(expected)
    lo, hi = facts["out_range"]
    assert tally.extra["extremes"] == [lo, hi], \
        f"extreme MVMs gave {tally.extra['extremes']}, the output range is {lo}..{hi}"
