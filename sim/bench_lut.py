"""cocotb bench of the code-to-value LUTs against :func:`golden.digital.lookup`.

Random codes with random read enables and random configuration writes (also to
addresses outside the LUT map). The reference, fed with the ports as sampled at each
clock edge: a read with ``en`` returns, one cycle later, the entry as it was before
that cycle's write; ``value`` holds while ``en`` is low; writes outside the map are
ignored.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from golden.digital import lookup
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
    to_signed,
    unpack_fields,
)

CYCLES = 400


@cocotb.test()
async def test_lut_reads_and_writes(dut):
    """Every ``value`` after the first read equals the reference LUT's entry."""
    plan = load_plan()
    facts = load_json(plan["facts"])
    check_ports(dut, facts["ports"])
    name = "test_lut_reads_and_writes"
    rng = test_rng(plan, name)
    spec = MacroSpec.from_dict(facts["config"])
    amap = facts["addr_map"]
    lut = np.array(facts["init"], dtype=np.int64)
    cols, eb, width = len(amap["lut_of_column"]), amap["entry_bits"], facts["lut_width"]
    half = 1 << (width - 1)
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.rst.value, dut.en.value, dut.cfg_we.value = 1, 0, 0
    dut.code.value, dut.cfg_addr.value, dut.cfg_data.value = 0, 0, 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    expected = None
    with tallied(plan, name, dut._log) as tally:
        tally.extra = {"writes": 0, "ignored_writes": 0}
        for _ in range(CYCLES):
            await RisingEdge(dut.clk)
            raw = read_unsigned(dut.value)
            got = None if raw is None else unpack_fields(raw, cols, width, signed=True)
            if expected is not None:
                tally.check(got == expected, lambda g=got, e=expected: f"value {g}, golden {e}")
            if high(dut.en):
                codes = unpack_fields(read_unsigned(dut.code), cols, eb)
                expected = lookup(np.array(codes), lut, spec).tolist()
            if high(dut.cfg_we):
                addr = read_unsigned(dut.cfg_addr)
                lut_id, entry = addr >> eb, addr & ((1 << eb) - 1)
                if lut_id < amap["n_luts"] and entry < amap["lut_entries"]:
                    lut[lut_id, entry] = to_signed(read_unsigned(dut.cfg_data), width)
                    tally.extra["writes"] += 1
                else:
                    tally.extra["ignored_writes"] += 1
            dut.en.value = int(rng.random() < 0.8)
            dut.code.value = pack_fields(rng.integers(0, amap["lut_entries"], size=cols), eb)
            we = rng.random() < 0.3
            dut.cfg_we.value = int(we)
            if rng.random() < 0.8:
                addr = (int(rng.integers(amap["n_luts"])) << eb) | \
                    int(rng.integers(amap["lut_entries"]))
            else:
                addr = int(rng.integers(1 << amap["addr_width"]))
            dut.cfg_addr.value = addr
            dut.cfg_data.value = int(rng.integers(-half, half)) & ((1 << width) - 1)
