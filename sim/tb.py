"""The periphery top's test bench: :class:`TB` owns the clock, the reset, the drivers,
the monitors, the golden model and the scoreboard.

::

    BeatSource  --in_*-->  DUT  --out_*-->  ResultSink (random back-pressure)
    CfgDriver   --cfg_*-->  |
    InputMonitor: the in_* transfers, cfg_* writes and rst the DUT saw
        --> PeripheryModel (golden.digital on the observed beats and LUT state)
        --> Scoreboard.expected  <-- compared with --  OutputMonitor (out_* transfers)

The model is fed only what the input monitor observed, never the stimulus lists, so
what the drivers meant to send does not matter; a bench that skipped or repeated a
beat would show as a mismatch. Widths, bit orders, the LUT address map, latency and
the reset length come from the design's ``manifest.json``; the config inside it is the
spec the model runs with. Every test ends (:func:`bench`) by draining the pipeline and
asserting that nothing expected is left and nothing else came out.

Model semantics (the periphery's contract: the README's port table and the manifest):

* a beat is the ``in_match``/``in_last`` of a cycle with ``in_valid & in_ready``; an
  MVM is the beats up to one with ``in_last``: ``beats_per_mvm = input_bits *
  columns_per_adc`` of them, beat ``t*k + j`` carrying in ADC slot ``g`` the physical
  column ``mux_groups[g][j]`` of input bit ``t`` (:func:`golden.digital.to_beats`
  order); the model turns the observed beats back into per-column match bits with
  :func:`golden.digital.from_beats`, so whatever an empty slot carried is ignored;
* a ``cfg`` write in cycle ``t`` is seen by beats accepted in cycle ``t + 1`` or
  later (so the model records each beat with the LUT state before that cycle's
  write), and physical column ``p`` of input bit ``t`` reads the LUT state of the beat
  that carried it; writes outside the LUT map are ignored;
* a cycle with ``rst`` high discards the beats of the MVM in progress and every
  result not yet transferred (the expected queue is flushed); LUTs keep their contents.

LUT contents also survive from one cocotb test to the next (the tests of a bench share
one simulator run), so the model starts each test from the LUT state the previous test
left, and the first test of a run from the manifest's initial contents - which checks
the Verilog's power-on LUTs.
"""

from __future__ import annotations

import json
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Event, RisingEdge, Timer, with_timeout

from golden.digital import (
    decode,
    digital_path,
    from_beats,
    lookup,
    mux_groups,
    shift_add,
    sr_combine,
    to_beats,
)
from golden.spec import MacroSpec

from .benchlib import (
    CLOCK_NS,
    Tally,
    check_ports,
    high,
    load_json,
    load_plan,
    read_unsigned,
    test_rng,
    to_signed,
    write_stats,
)

__all__ = ["TB", "BeatSource", "CfgDriver", "InputMonitor", "OutputMonitor",
           "PeripheryModel", "ResultSink", "Scoreboard", "TopFacts", "bench"]

_lut_carried: dict[str, np.ndarray] = {}
"""LUT state at the end of the last test in this simulator run, by manifest path."""

_MATCH_ORDER = "bit (g * adcs_per_column + a) * cells + c"
_OUT_ORDER = "column c in bits [c*column_width, (c+1)*column_width)"


@dataclass(frozen=True)
class TopFacts:
    """What the bench needs to know about the design, all read from ``manifest.json``."""

    spec: MacroSpec
    decoder: str
    ports: list
    match_width: int
    match_shape: tuple[int, int, int]
    """One beat's ``(adc_groups, adcs_per_column, cells)``."""
    beats: int
    """``beats_per_mvm``: ``input_bits * columns_per_adc``."""
    columns_per_adc: int
    mux_groups: np.ndarray
    """``(adc_groups, columns_per_adc)``: the physical column of slot g in phase j, -1
    for an empty slot (as :func:`golden.digital.mux_groups`)."""
    cols: int
    col_width: int
    flag_names: tuple[str, ...]
    n_luts: int
    entries: int
    entry_bits: int
    addr_width: int
    lut_width: int
    latency: int
    reset_cycles: int
    lut_init: np.ndarray

    @classmethod
    def load(cls, manifest_path) -> TopFacts:
        path = Path(manifest_path)
        man = json.loads(path.read_text())
        im, od, lut = man["in_match"], man["out_data"], man["lut"]
        spec = MacroSpec.from_dict(man["config"])
        groups = _manifest_groups(im, spec)
        bits = man["out_flags"]["bits"]
        # The bench packs and unpacks by this order; refuse a design that changed it.
        assert od["bit_order"].startswith(_OUT_ORDER), od["bit_order"]
        table = next(f for f in man["files"]["lut_table"] if f.endswith(".json"))
        init = np.array(load_json(path.parent / table)["luts"], dtype=np.int64)
        return cls(
            spec=spec, decoder=man["decoder"],
            ports=man["top_ports"], match_width=im["width"],
            match_shape=(groups.shape[0], im["adcs_per_column"], im["cells"]),
            beats=im["beats_per_mvm"], columns_per_adc=groups.shape[1], mux_groups=groups,
            cols=od["cols"], col_width=od["column_width"],
            flag_names=tuple(sorted(bits, key=bits.get)), n_luts=lut["n_luts"],
            entries=lut["lut_entries"], entry_bits=lut["entry_bits"],
            addr_width=lut["addr_width"], lut_width=man["widths"]["lut_width"],
            latency=man["latency"], reset_cycles=man["reset"]["min_cycles_at_startup"],
            lut_init=init)

    @property
    def empty_slots(self) -> np.ndarray:
        """``(columns_per_adc, adc_groups)`` bool: slot g has no column in phase j."""
        return self.mux_groups.T < 0

    def pack(self, beat: np.ndarray) -> int:
        """One beat's match bits ``(adc_groups, adcs, cells)`` as the ``in_match`` word."""
        flat = np.asarray(beat, dtype=bool).reshape(-1)  # C order = the manifest's order
        return int.from_bytes(np.packbits(flat, bitorder="little").tobytes(), "little")

    def unpack(self, word: int) -> np.ndarray:
        raw = np.frombuffer(word.to_bytes((self.match_width + 7) // 8, "little"), np.uint8)
        bits = np.unpackbits(raw, bitorder="little")[: self.match_width].astype(bool)
        return bits.reshape(self.match_shape)

    def addr(self, lut_id: int, entry: int) -> int:
        return (lut_id << self.entry_bits) | entry

    def unused_addrs(self) -> list[int]:
        """``cfg_addr`` values outside the LUT map (entries past ``lut_entries`` or LUT
        ids past ``n_luts``), a few of each."""
        out = [self.addr(i, e) for i in range(min(self.n_luts, 2))
               for e in range(self.entries, 1 << self.entry_bits)][:3]
        out += list(range(self.addr(self.n_luts, 0), 1 << self.addr_width))[:3]
        return out

    def flag_list(self, flags: int) -> list[str]:
        return [n for i, n in enumerate(self.flag_names) if flags >> i & 1]


def _manifest_groups(im: dict, spec: MacroSpec) -> np.ndarray:
    """The manifest's ADC groups (``in_match.mux_groups``), checked against golden's
    :func:`golden.digital.mux_groups` for the manifest's own config, with the beat
    count and bit order the bench packs by."""
    want = mux_groups(spec)
    k = spec.adc.columns_per_adc
    assert im["bit_order"].startswith(_MATCH_ORDER), im["bit_order"]
    groups = np.array(im["mux_groups"], dtype=np.int64).reshape(-1, k)
    assert im["columns_per_adc"] == k and im["adc_groups"] == len(want), \
        (im["columns_per_adc"], im["adc_groups"], want.shape)
    assert np.array_equal(groups, want), \
        f"manifest mux_groups {groups.tolist()}, golden {want.tolist()}"
    assert im["beats_per_mvm"] == spec.macro.input_bits * k, im["beats_per_mvm"]
    return groups


class Scoreboard:
    """Expected results in order; each output transfer is compared with the oldest."""

    def __init__(self, facts: TopFacts, tally: Tally):
        self.facts = facts
        self.tally = tally
        self.expected: deque = deque()
        self.discarded = 0
        self.expected_extremes = [0, 0]
        self.flags_seen = dict.fromkeys(facts.flag_names, 0)
        tally.flags = self.flags_seen

    def expect(self, out: np.ndarray, flags: int, what: str) -> None:
        self.expected.append((out, flags, what))
        self.expected_extremes[0] = min(self.expected_extremes[0], int(out.min()))
        self.expected_extremes[1] = max(self.expected_extremes[1], int(out.max()))

    def flush(self) -> None:
        """A reset: every result not yet transferred is gone."""
        self.discarded += len(self.expected)
        self.expected.clear()

    def observe(self, out: list | None, flags: int | None, cycle: int) -> None:
        if flags is not None:
            for name in self.facts.flag_list(flags):
                self.flags_seen[name] += 1
        if not self.expected:
            self.tally.unexpected += 1
            self.tally.note(f"cycle {cycle}: result {out} flags {flags} with nothing expected")
            return
        exp, exp_flags, what = self.expected.popleft()
        ok = out is not None and flags is not None and list(exp) == out and exp_flags == flags
        self.tally.check(ok, lambda: (
            f"cycle {cycle}: {what}: out_data {out} flags {flags} "
            f"({self.facts.flag_list(flags or 0)}); golden {exp.tolist()} flags {exp_flags} "
            f"({self.facts.flag_list(exp_flags)})"))


class PeripheryModel:
    """The golden model driven by the input monitor: collects beats, applies LUT writes
    and resets, and puts each MVM's :func:`golden.digital.digital_path` result on the
    scoreboard."""

    def __init__(self, facts: TopFacts, scoreboard: Scoreboard, lut: np.ndarray | None = None):
        self.facts = facts
        self.sb = scoreboard
        # replaced, never modified, on a write
        self.lut = (facts.lut_init if lut is None else lut).copy()
        self.beats: list[np.ndarray] = []
        self.beat_luts: list[np.ndarray] = []
        self.mvms = 0
        self.writes = 0
        self.ignored_writes = 0
        self.writes_mid_mvm = 0
        self.discarded_beats = 0
        self.last_cycles: list[int] = []
        self.beat_cycles: list[int] = []

    def beat(self, word: int, last: bool, cycle: int) -> None:
        self.beats.append(self.facts.unpack(word))
        self.beat_luts.append(self.lut)
        self.beat_cycles.append(cycle)
        if last:
            self.last_cycles.append(cycle)
            self._close()

    def _close(self) -> None:
        f = self.facts
        luts = self.beat_luts
        beats = np.stack(self.beats)[None]
        self.beats, self.beat_luts = [], []
        what = f"MVM {self.mvms}"
        self.mvms += 1
        if beats.shape[1] != f.beats:
            self.sb.tally.protocol(f"{what} had {beats.shape[1]} beats, the design "
                                   f"needs {f.beats}")
            return
        match = from_beats(beats, f.spec)
        if all(lut is luts[0] for lut in luts):
            out, flags = digital_path(match, luts[0], f.spec)
        else:
            out, flags = self._per_beat_luts(match, luts)
        self.sb.expect(out[0], int(flags[0]), what)

    def _per_beat_luts(self, match, luts):
        """digital_path's steps when the LUTs changed during the MVM: physical column
        ``p`` of input bit ``t`` reads the LUT state of beat ``t*k + j``, the beat
        that carried it (``p = mux_groups[g][j]``)."""
        f = self.facts
        k = f.columns_per_adc
        codes, flags = decode(match, f.spec.adc.encoding, f.decoder)
        if codes.shape[-1] == 2:
            code, sr_flags = sr_combine(codes[..., 0], codes[..., 1])
            flags = flags[..., 0] | flags[..., 1] | sr_flags
        else:
            code, flags = codes[..., 0], flags[..., 0]
        phase = np.empty(f.spec.macro.phys_cols, dtype=np.int64)
        g, j = np.nonzero(f.mux_groups >= 0)
        phase[f.mux_groups[g, j]] = j
        cols = np.arange(phase.size)
        values = np.stack([
            np.stack([lookup(code[:, t], luts[t * k + j], f.spec) for j in range(k)])
            [phase, :, cols].T
            for t in range(f.spec.macro.input_bits)], axis=1)
        return shift_add(values, f.spec), np.bitwise_or.reduce(flags.reshape(1, -1), axis=1)

    def write(self, addr: int, raw: int) -> None:
        f = self.facts
        lut_id, entry = addr >> f.entry_bits, addr & ((1 << f.entry_bits) - 1)
        if lut_id >= f.n_luts or entry >= f.entries:
            self.ignored_writes += 1
            return
        lut = self.lut.copy()
        lut[lut_id, entry] = to_signed(raw, f.lut_width)
        self.lut = lut
        self.writes += 1
        self.writes_mid_mvm += bool(self.beats)

    def reset(self) -> None:
        self.discarded_beats += len(self.beats)
        self.beats, self.beat_luts = [], []
        self.sb.flush()


class BeatSource:
    """Drives ``in_*``: queued beats, each held until accepted, with random idle
    cycles (``idle``: probability of an idle cycle before a beat) that carry junk on
    ``in_match``/``in_last`` with ``in_valid`` low. MVMs are sent in
    :func:`golden.digital.to_beats` order, with random junk in the empty slots (which
    the design must ignore)."""

    def __init__(self, dut, facts: TopFacts, rng: np.random.Generator, idle: float):
        self.dut, self.facts, self.rng, self.idle = dut, facts, rng, idle
        self.queue: deque = deque()
        self._drop = False
        self._current = None
        self._idle = Event()
        self._idle.set()

    def send(self, mvms: np.ndarray, beats: int | None = None) -> None:
        """Queue MVMs ``(n, input_bits, phys_cols, adcs, cells)`` (per-column match
        bits) as beats; with ``beats``, only the first ``beats`` beats of each, none of
        them marked last."""
        f = self.facts
        n = f.beats if beats is None else beats
        stream = to_beats(mvms, f.spec)
        split = stream.reshape(len(stream), -1, f.columns_per_adc, *stream.shape[2:])
        empty = f.empty_slots
        split[:, :, empty] = self.rng.random(split[:, :, empty].shape) < 0.5
        for mvm in split.reshape(stream.shape):
            for t in range(n):
                self.queue.append((f.pack(mvm[t]), beats is None and t == n - 1))
        if self.queue:
            self._idle.clear()

    def flush(self) -> None:
        """Forget every queued beat and withdraw the one on the bus (at a reset)."""
        self.queue.clear()
        self._drop = True

    async def wait_idle(self) -> None:
        """Until every queued beat has been accepted (or flushed); fails after a
        generous bound (a design that stops accepting beats must not hang the run)."""
        bound = 2000 + 200 * len(self.queue)
        await with_timeout(self._idle.wait(), bound * CLOCK_NS, "ns")

    def step(self, in_ready: bool) -> None:
        """One clock edge (``in_ready``: as sampled at it): retire the beat on the bus
        if it was accepted, then drive the next beat or an idle cycle."""
        dut, rng = self.dut, self.rng
        if self._current is not None and (self._drop or in_ready):
            self._current = None
        self._drop = False
        if self._current is None and self.queue and rng.random() >= self.idle:
            self._current = self.queue.popleft()
            dut.in_match.value, dut.in_last.value = self._current
            dut.in_valid.value = 1
        elif self._current is None:
            width = self.facts.match_width
            dut.in_valid.value = 0
            dut.in_match.value = int.from_bytes(rng.bytes((width + 7) // 8), "little") \
                & ((1 << width) - 1)
            dut.in_last.value = int(rng.integers(2))
            if not self.queue:
                self._idle.set()


class ResultSink:
    """Drives ``out_ready``: low with probability ``stall`` each cycle, and low
    throughout while ``hold`` is set."""

    def __init__(self, dut, rng: np.random.Generator, stall: float):
        self.dut, self.rng, self.stall = dut, rng, stall
        self.hold = False

    def step(self) -> None:
        """One clock edge: drive ``out_ready`` for the next cycle."""
        ready = not self.hold and self.rng.random() >= self.stall
        self.dut.out_ready.value = int(ready)


class CfgDriver:
    """Drives ``cfg_*``: LUT writes, one per cycle (``gap``: probability of an idle
    cycle before each)."""

    def __init__(self, dut, facts: TopFacts, rng: np.random.Generator):
        self.dut, self.facts, self.rng = dut, facts, rng

    async def write(self, writes, gap: float = 0.0) -> None:
        dut = self.dut
        mask = (1 << self.facts.lut_width) - 1
        for addr, value in writes:
            while self.rng.random() < gap:
                await RisingEdge(dut.clk)
                dut.cfg_we.value = 0
            await RisingEdge(dut.clk)
            dut.cfg_we.value = 1
            dut.cfg_addr.value = int(addr)
            dut.cfg_data.value = int(value) & mask
        await RisingEdge(dut.clk)
        dut.cfg_we.value = 0

    async def write_luts(self, luts: np.ndarray) -> None:
        """Every entry of every LUT (``(n_luts, lut_entries)``)."""
        await self.write([(self.facts.addr(i, e), luts[i, e])
                          for i in range(luts.shape[0]) for e in range(luts.shape[1])])


class InputMonitor:
    """Observes ``rst``, the ``in_*`` transfers and the ``cfg_*`` writes, in that order
    within a cycle, and feeds them to the model."""

    def __init__(self, dut, model: PeripheryModel, tally: Tally):
        self.dut, self.model, self.tally = dut, model, tally
        self.cycle = 0
        self.stalls = 0
        self.resets = 0

    def step(self, rst: bool, ready: bool) -> None:
        """One clock edge (``rst``, ``in_ready``: as sampled at it)."""
        dut, model = self.dut, self.model
        self.cycle += 1
        valid = high(dut.in_valid)
        if rst:
            self.resets += 1
            model.reset()
            if ready:
                self.tally.protocol(f"cycle {self.cycle}: in_ready high during reset")
        elif valid and ready:
            word = read_unsigned(dut.in_match)
            model.beat(word, high(dut.in_last), self.cycle)
        elif valid:
            self.stalls += 1
        if high(dut.cfg_we):
            model.write(read_unsigned(dut.cfg_addr), read_unsigned(dut.cfg_data))


class OutputMonitor:
    """Observes the ``out_*`` transfers and checks the handshake: a result offered
    (``out_valid``) stays unchanged until taken, and ``out_valid`` is low in reset."""

    def __init__(self, dut, facts: TopFacts, scoreboard: Scoreboard, tally: Tally):
        self.dut, self.facts, self.sb, self.tally = dut, facts, scoreboard, tally
        self.cycle = 0
        self.out_cycles: list[int] = []
        self.held = 0
        self.pending = None

    def _read(self):
        f = self.facts
        raw = read_unsigned(self.dut.out_data)
        flags = read_unsigned(self.dut.out_flags)
        if raw is None:
            return None, flags
        mask = (1 << f.col_width) - 1
        return [to_signed(raw >> (c * f.col_width) & mask, f.col_width)
                for c in range(f.cols)], flags

    def step(self, rst: bool) -> None:
        """One clock edge (``rst``: as sampled at it); the outputs are read only in a
        cycle with ``out_valid`` high."""
        dut = self.dut
        self.cycle += 1
        valid_level = str(dut.out_valid.value)
        if rst:
            if valid_level != "0":
                self.tally.protocol(f"cycle {self.cycle}: out_valid {valid_level} in reset")
            self.pending = None
            return
        if valid_level not in "01":
            self.tally.protocol(f"cycle {self.cycle}: out_valid is {valid_level}")
            return
        if valid_level == "0":
            if self.pending is not None:
                self.tally.protocol(f"cycle {self.cycle}: out_valid dropped before "
                                    "the result was taken")
            self.pending = None
            return
        got = self._read()
        if self.pending is not None and got != self.pending:
            self.tally.protocol(f"cycle {self.cycle}: result changed while held: "
                                f"{self.pending} -> {got}")
        if high(dut.out_ready):
            self.pending = None
            self.out_cycles.append(self.cycle)
            self.sb.observe(*got, self.cycle)
        else:
            self.held += 1
            self.pending = got


class TB:
    """The periphery top's bench: build with the DUT, the plan and the test name, then
    ``await start()``; see :func:`bench` for the usual frame.

    Parameters
    ----------
    idle : float
        Probability of an idle cycle before each input beat.
    stall : float
        Probability of ``out_ready`` low in a cycle.
    """

    def __init__(self, dut, plan: dict, test: str, idle: float = 0.0, stall: float = 0.0):
        self.dut = dut
        self.plan = plan
        self.facts = TopFacts.load(plan["manifest"])
        self.stim = np.load(plan["stimulus"], allow_pickle=False)
        self.rng = test_rng(plan, test)
        self.tally = Tally(test, dut._log)
        self.sb = Scoreboard(self.facts, self.tally)
        self.model = PeripheryModel(self.facts, self.sb, _lut_carried.get(plan["manifest"]))
        self.source = BeatSource(dut, self.facts, self.rng, idle)
        self.sink = ResultSink(dut, self.rng, stall)
        self.cfg = CfgDriver(dut, self.facts, self.rng)
        self.in_mon = InputMonitor(dut, self.model, self.tally)
        self.out_mon = OutputMonitor(dut, self.facts, self.sb, self.tally)

    async def start(self) -> None:
        """Check the ports against the manifest, start the clock and every coroutine,
        and hold reset for the manifest's start-up cycles."""
        dut = self.dut
        check_ports(dut, self.facts.ports)
        dut.rst.value = 1
        for name in ("in_valid", "in_last", "in_match", "out_ready", "cfg_we", "cfg_addr",
                     "cfg_data"):
            getattr(dut, name).value = 0
        await Timer(1, unit="ns")  # inputs settle before the first edge
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        cocotb.start_soon(self._cycles())
        await ClockCycles(dut.clk, self.facts.reset_cycles)
        dut.rst.value = 0

    async def _cycles(self) -> None:
        """The drivers and monitors, one await per clock edge: at each edge the
        monitors sample first (``rst``, ``in_*``, ``cfg_*``, ``out_*``), then the
        drivers write the next cycle's inputs (cocotb applies writes after the
        edge's reads, so the order within a cycle matches separate coroutines)."""
        dut = self.dut
        edge = RisingEdge(dut.clk)
        source, sink, in_mon, out_mon = self.source, self.sink, self.in_mon, self.out_mon
        while True:
            await edge
            rst, ready = high(dut.rst), high(dut.in_ready)
            in_mon.step(rst, ready)
            out_mon.step(rst)
            source.step(ready)
            sink.step()

    async def reset(self, cycles: int = 1) -> None:
        """Assert ``rst`` for ``cycles`` clock edges from the next one; the source
        withdraws whatever it was sending."""
        self.dut.rst.value = 1
        self.source.flush()
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0

    async def wait_results(self) -> None:
        """Until every queued beat is accepted and every expected result has come out
        (bounded like :meth:`drain`)."""
        await self.source.wait_idle()
        bound = 200 + 100 * self.facts.beats * len(self.sb.expected)

        async def out():
            while self.sb.expected:
                await RisingEdge(self.dut.clk)

        await with_timeout(out(), bound * CLOCK_NS, "ns")

    async def drain(self) -> None:
        """Until every queued beat is accepted, every expected result has come out and
        then ``latency + 4`` quiet cycles have passed (to catch extra outputs); fails
        after a generous bound on the cycles that should take."""
        self.sink.hold = False
        work = len(self.source.queue) + self.facts.beats * (len(self.sb.expected) + 1)
        stall = max(self.sink.stall, self.source.idle)
        bound = 200 + int(40 * work / (1.0 - min(stall, 0.9)))

        async def settle():
            await self.source.wait_idle()
            while self.sb.expected or self.model.beats:
                await RisingEdge(self.dut.clk)
            await ClockCycles(self.dut.clk, self.facts.latency + 4)

        await with_timeout(settle(), bound * CLOCK_NS, "ns")

    def finish(self, completed: bool) -> None:
        """Record the stats; then a test that completed must have left nothing
        expected and seen no error."""
        t = self.tally
        t.missing = len(self.sb.expected)
        t.extra.update({
            "mvms_in": self.model.mvms, "beats": len(self.model.beat_cycles),
            "cycles": self.in_mon.cycle, "input_stall_cycles": self.in_mon.stalls,
            "output_held_cycles": self.out_mon.held, "lut_writes": self.model.writes,
            "lut_writes_ignored": self.model.ignored_writes,
            "lut_writes_mid_mvm": self.model.writes_mid_mvm,
            "discarded_results": self.sb.discarded,
            "discarded_beats": self.model.discarded_beats, "resets": self.in_mon.resets,
        })
        _lut_carried[self.plan["manifest"]] = self.model.lut
        write_stats(self.plan, t, completed)
        if completed:
            if t.missing:
                t.note(f"{t.missing} expected results never came out")
            t.assert_clean()


@asynccontextmanager
async def bench(dut, test: str, idle: float = 0.0, stall: float = 0.0):
    """``async with bench(dut, name, idle=..., stall=...) as tb:`` - a started
    :class:`TB`; on leaving the block the pipeline is drained, the stats written and
    the scoreboard checked (stats are written on failure too)."""
    tb = TB(dut, load_plan(), test, idle, stall)
    await tb.start()
    completed = False
    try:
        yield tb
        await tb.drain()
        completed = True
    finally:
        tb.finish(completed)
