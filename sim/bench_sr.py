"""cocotb bench of the super-resolution combiner against
:func:`golden.digital.sr_combine`: every code pair up to 5-bit codes, else the corners
and random pairs."""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import Timer

from golden.digital import sr_combine
from sim.benchlib import check_ports, load_json, load_plan, read_unsigned, tallied, test_rng


@cocotb.test()
async def test_sr_combiner_equals_golden(dut):
    """``sr`` and ``disagree`` of every applied pair equal golden's sum and flag."""
    plan = load_plan()
    facts = load_json(plan["facts"])
    check_ports(dut, facts["ports"])
    name = "test_sr_combiner_equals_golden"
    top = (1 << facts["bits"]) - 1
    if facts["bits"] <= 5:
        a, b = np.meshgrid(np.arange(top + 1), np.arange(top + 1))
        a, b = a.ravel(), b.ravel()
    else:
        rng = test_rng(plan, name)
        a = np.concatenate([[0, 0, top, top, 1, 0], rng.integers(0, top + 1, size=800)])
        b = np.concatenate([[0, top, 0, top, 0, 2], rng.integers(0, top + 1, size=800)])
    sr, flags = sr_combine(a, b)
    with tallied(plan, name, dut._log) as tally:
        tally.flags = {"sr_disagree": 0}
        for x, y, s, f in zip(a.tolist(), b.tolist(), sr.tolist(), flags.tolist(), strict=True):
            dut.a.value, dut.b.value = x, y
            await Timer(1, unit="ns")
            got = (read_unsigned(dut.sr), read_unsigned(dut.disagree))
            tally.flags["sr_disagree"] += bool(got[1])
            tally.check(got == (s, int(f != 0)), lambda x=x, y=y, g=got, s=s, f=f: (
                f"a={x} b={y}: sr/disagree {g}, golden ({s}, {int(f != 0)})"))
