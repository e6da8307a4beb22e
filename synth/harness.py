"""An out-of-context timing harness: any top behind a serial scan chain.

The periphery has far more port bits than a board has pins (``in_match`` alone is
``phys_cols * adcs * cells`` bits) and nextpnr-ice40 has no out-of-context mode, so
the flows place and route it inside :class:`ScanHarness`:

* every input port of the top (``rst`` included, ``clk`` excluded) is a slice of one
  shift register clocked by the board clock and fed from pin ``sin``: every input
  comes from a flip-flop and changes independently, so Yosys can neither fold
  constants into the top nor drop any of its logic;
* every output bit of the top enters a pipelined tree of 4-input XORs, one register
  per level, ending in pin ``sout``: every output is observed, and the paths out of
  the top end in a flip-flop after one LUT level.

So every path through the top starts and ends at a register and nextpnr's Fmax is the
top's own (the harness adds one LUT level after its outputs, as any consumer would).
The top is instantiated as a separate module; the flows keep its hierarchy in Yosys
(``keep_hierarchy``) so that ``stat`` reports its cells apart from the harness's.
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockDomain, ClockSignal, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ScanHarness"]


class ScanHarness(wiring.Component):
    """Wrap module ``top`` (ports ``ports``) between a scan chain and an XOR tree.

    Parameters
    ----------
    top : str
        Module name of the wrapped design (read from its own RTLIL file).
    ports : list of dict
        Its ports as :attr:`hdl.periphery.Periphery.ports` lists them (``name``,
        ``direction``, ``width``), ``clk`` first.

    Members
    -------
    clk : In(1)
        Board clock; also the wrapped top's ``clk``.
    sin : In(1)
        Scan-chain input (one bit per clock).
    sout : Out(1)
        XOR of every output bit of the top, ``levels`` clocks late.

    Raises
    ------
    ValueError
        ``ports`` has no ``clk`` input, or no output.
    """

    def __init__(self, top: str, ports: list[dict]):
        names = [p["name"] for p in ports]
        if "clk" not in names:
            raise ValueError(f"ports: the wrapped top needs a 'clk' input; got {names}")
        self._top = top
        self._inputs = [p for p in ports if p["direction"] == "input" and p["name"] != "clk"]
        self._outputs = [p for p in ports if p["direction"] == "output"]
        if not self._outputs:
            raise ValueError(f"ports: the wrapped top has no output; got {names}")
        super().__init__({"clk": In(1), "sin": In(1), "sout": Out(1)})

    @property
    def chain_bits(self) -> int:
        """Flip-flops of the scan chain: the total input width (``clk`` excluded)."""
        return sum(p["width"] for p in self._inputs)

    @property
    def output_bits(self) -> int:
        """Output bits of the wrapped top, all XOR-ed into ``sout``."""
        return sum(p["width"] for p in self._outputs)

    @property
    def xor_registers(self) -> int:
        """Flip-flops of the XOR tree (one per 4-input XOR, ``sout`` included)."""
        n, regs = self.output_bits, 0
        while True:
            n = -(-n // 4)
            regs += n
            if n == 1:
                return regs

    def instantiate(self, m: Module, ports: dict) -> None:
        """Add the wrapped top to ``m``; ``ports`` maps ``i_<name>``/``o_<name>`` to the
        harness signals (a test may override this with a model)."""
        m.submodules.dut = Instance(self._top, **ports)

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain(reset_less=True)
        m.d.comb += ClockSignal().eq(self.clk)

        chain = Signal(self.chain_bits)
        m.d.sync += chain.eq(Cat(self.sin, chain[:-1]) if self.chain_bits > 1 else self.sin)
        kw = {"i_clk": ClockSignal()}
        lo = 0
        for p in self._inputs:
            kw[f"i_{p['name']}"] = chain[lo:lo + p["width"]]
            lo += p["width"]
        outs = []
        for p in self._outputs:
            s = Signal(p["width"], name=f"dut_{p['name']}")
            kw[f"o_{p['name']}"] = s
            outs.append(s)
        self.instantiate(m, kw)

        level = list(Cat(*outs))
        depth = 0
        while True:
            nxt = []
            for i in range(0, len(level), 4):
                r = Signal(name=f"xor_l{depth}_{i // 4}")
                group = level[i:i + 4]
                acc = group[0]
                for b in group[1:]:
                    acc = acc ^ b
                m.d.sync += r.eq(acc)
                nxt.append(r)
            level, depth = nxt, depth + 1
            if len(level) == 1:
                break
        m.d.comb += self.sout.eq(level[0])
        return m
