# amaranth: UnusedElaboratable=no
"""SRCombiner against golden.digital.sr_combine, exhaustively."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.digital import FLAG_SR_DISAGREE, sr_combine
from hdl.sr import SRCombiner


def rtl_sr_combine(dut, a, b):
    out_sr, out_dis = [], []

    async def tb(ctx):
        for x, y in zip(a, b, strict=True):
            ctx.set(dut.a, int(x))
            ctx.set(dut.b, int(y))
            out_sr.append(ctx.get(dut.sr))
            out_dis.append(ctx.get(dut.disagree))

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()
    return np.array(out_sr), np.array(out_dis)


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_exhaustive(bits):
    a, b = (g.ravel() for g in np.meshgrid(np.arange(1 << bits), np.arange(1 << bits)))
    dut = SRCombiner(bits)
    sr, disagree = rtl_sr_combine(dut, a, b)
    want_sr, want_flags = sr_combine(a, b)
    assert np.array_equal(sr, want_sr)
    assert np.array_equal(disagree * FLAG_SR_DISAGREE, want_flags)


def test_full_scale():
    sr, disagree = rtl_sr_combine(SRCombiner(8), [255, 0, 255], [255, 255, 254])
    assert sr.tolist() == [510, 255, 509] and disagree.tolist() == [0, 1, 0]


def test_signature():
    dut = SRCombiner(5)
    assert (dut.bits, dut.latency, len(dut.sr), len(dut.disagree)) == (5, 0, 6, 1)


@pytest.mark.parametrize("bits", [0, 9, 2.0, True])
def test_bad_bits(bits):
    with pytest.raises(ValueError, match=rf"bits = {bits!r}: must be an integer in 1\.\.8"):
        SRCombiner(bits)
