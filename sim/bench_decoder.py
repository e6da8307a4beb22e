"""cocotb bench of one Q-cell match-vector decoder against :func:`golden.digital.decode`.

Combinational: every vector is applied, given 1 ns to settle, and its code and flags
compared. Exhaustive up to :data:`EXHAUSTIVE_MAX_CELLS` cells; above, every ideal
vector, the directed corner cases and random bubbly vectors.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import Timer

from golden.digital import Flag, decode
from golden.spec import MacroSpec
from sim.benchlib import check_ports, load_json, load_plan, read_unsigned, tallied, test_rng
from sim.stimulus import directed_vectors

EXHAUSTIVE_MAX_CELLS = 10


def vectors(n: int, encoding: str, rng: np.random.Generator) -> np.ndarray:
    """Match vectors to apply, bool ``(count, n)``."""
    if n <= EXHAUSTIVE_MAX_CELLS:
        words = np.arange(1 << n)
        return (words[:, None] >> np.arange(n)) & 1 == 1
    cells = np.arange(n)
    codes = np.arange(n + 1 if encoding == "threshold" else n)
    ideal = cells == codes[:, None] if encoding == "window" else cells < codes[:, None]
    bits = n.bit_length() - (encoding == "window")
    spec = MacroSpec().replace(adc={"bits": bits, "encoding": encoding})
    directed = np.array([v for _, v in directed_vectors(spec)])
    noisy = ideal[rng.integers(0, len(ideal), size=600)]
    flips = rng.integers(0, n, size=(600, 3))
    for k in range(3):
        hit = rng.random(600) < 0.5
        noisy[hit, flips[hit, k]] ^= True
    return np.concatenate([ideal, directed, noisy])


@cocotb.test()
async def test_decoder_equals_golden(dut):
    """Code and flags of every applied vector equal golden's."""
    plan = load_plan()
    facts = load_json(plan["facts"])
    check_ports(dut, facts["ports"])
    name = "test_decoder_equals_golden"
    v = vectors(facts["n_cells"], facts["encoding"], test_rng(plan, name))
    codes, flags = decode(v, facts["encoding"], facts["decoder"])
    with tallied(plan, name, dut._log) as tally:
        tally.flags = {f.name.lower(): 0 for f in Flag}
        for bits, code, flag in zip(v, codes.tolist(), flags.tolist(), strict=True):
            word = int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")
            dut.match.value = word
            await Timer(1, unit="ns")
            got = (read_unsigned(dut.code), read_unsigned(dut.flags))
            for f in Flag:
                tally.flags[f.name.lower()] += bool((got[1] or 0) & f)
            tally.check(got == (code, flag), lambda w=word, c=code, fl=flag, g=got: (
                f"match {w:#x}: code/flags {g}, golden ({c}, {fl})"))
