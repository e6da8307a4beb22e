"""What every bench shares inside the simulator: its plan, handle reads, the tally of
checked transactions and the stats file the runner collects.

A bench learns everything through one JSON *plan* whose path is in the environment
variable :data:`PLAN_ENV`: ``facts`` (the component's ``facts.json``) or ``manifest``
(the top's ``manifest.json``), ``stimulus`` (top only), ``seed`` and ``stats_dir``.
Each test writes ``<stats_dir>/<test>.json`` (see :meth:`Tally.stats`), also when it
fails, so the runner can count transactions and mismatches.

Timing convention of every bench: coroutines wake on the rising edge of ``clk``;
reads then see the values of the cycle that just ended (what the design sampled at
that edge), and writes take effect for the cycle that begins.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = ["CLOCK_NS", "PLAN_ENV", "Tally", "check_ports", "high", "load_json", "load_plan",
           "pack_fields", "read_signed", "read_unsigned", "tallied", "test_rng", "to_signed",
           "unpack_fields", "write_stats"]

PLAN_ENV = "CIMGEN_SIM_PLAN"
"""Environment variable holding the path of the bench's plan (JSON)."""

CLOCK_NS = 10
"""Clock period of every clocked bench, ns."""

MAX_MESSAGES = 8
"""Mismatch descriptions kept per test (the count is always complete)."""


def load_plan() -> dict:
    """The plan of this bench run (raises KeyError naming :data:`PLAN_ENV` if unset)."""
    path = os.environ.get(PLAN_ENV)
    if not path:
        raise KeyError(f"{PLAN_ENV} is not set: run the benches through sim.runner")
    return json.loads(Path(path).read_text())


def load_json(path) -> dict:
    return json.loads(Path(path).read_text())


def test_rng(plan: dict, test: str) -> np.random.Generator:
    """A generator for test ``test``: keyed by the plan's seed and the test's name, so
    tests do not depend on each other's draws or order."""
    return np.random.default_rng([int(plan["seed"]), zlib.crc32(test.encode())])


def slug(name: str) -> str:
    """``name`` as a file name (parametrised cocotb names contain ``/`` and ``=``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def high(handle) -> bool:
    """The 1-bit signal reads 1 (X/Z read as not high)."""
    return str(handle.value) == "1"


_WEAK = str.maketrans("LHlh", "0101")


def read_unsigned(handle) -> int | None:
    """The value as an unsigned integer (``L``/``H`` read as 0/1, as cocotb resolves
    them), or None if any bit is X/Z/U/W/-.

    Parses the simulator's bit string directly: ``LogicArray.is_resolvable`` builds a
    ``Logic`` per bit, which on the 512-bit ``in_match`` cost most of a bench cycle."""
    text = str(handle.value)
    try:
        return int(text, 2)
    except ValueError:
        pass
    try:
        return int(text.translate(_WEAK), 2)
    except ValueError:
        return None


def to_signed(raw: int, width: int) -> int:
    """Two's-complement ``width``-bit ``raw`` as a Python int."""
    return raw - (1 << width) if raw >> (width - 1) & 1 else raw


def read_signed(handle, width: int) -> int | None:
    raw = read_unsigned(handle)
    return None if raw is None else to_signed(raw, width)


def check_ports(dut, ports: list[dict]) -> None:
    """Every port of the facts/manifest exists on the DUT with the recorded width."""
    for p in ports:
        h = getattr(dut, p["name"])
        assert len(h) == p["width"], \
            f"port {p['name']}: the design has {len(h)} bits, the manifest says {p['width']}"


class Tally:
    """Counts checked transactions and mismatches of one test; keeps a few messages.

    ``transactions`` are compared outputs, ``mismatches`` wrong ones; ``missing`` and
    ``unexpected`` are set by benches with a scoreboard; ``protocol_errors`` count
    handshake rule violations.
    """

    def __init__(self, test: str, log=None):
        self.test = test
        self.log = log
        self.transactions = 0
        self.mismatches = 0
        self.missing = 0
        self.unexpected = 0
        self.protocol_errors = 0
        self.flags: dict[str, int] = {}
        self.extra: dict = {}
        self.messages: list[str] = []

    def note(self, message: str) -> None:
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)
            if self.log is not None:
                self.log.error(message)

    def check(self, ok: bool, message) -> bool:
        """One transaction; ``message`` (str or callable) is recorded when not ``ok``."""
        self.transactions += 1
        if not ok:
            self.mismatches += 1
            self.note(message() if callable(message) else message)
        return ok

    def protocol(self, message: str) -> None:
        self.protocol_errors += 1
        self.note(f"protocol: {message}")

    @property
    def errors(self) -> int:
        return self.mismatches + self.missing + self.unexpected + self.protocol_errors

    def stats(self) -> dict:
        return {"test": self.test, "transactions": self.transactions,
                "mismatches": self.mismatches, "missing": self.missing,
                "unexpected": self.unexpected, "protocol_errors": self.protocol_errors,
                "flags": self.flags, "extra": self.extra, "messages": self.messages}

    def assert_clean(self) -> None:
        assert self.errors == 0, (
            f"{self.mismatches} mismatches, {self.missing} expected results missing, "
            f"{self.unexpected} unexpected, {self.protocol_errors} protocol errors in "
            f"{self.transactions} transactions; first: " + " | ".join(self.messages[:3]))


def write_stats(plan: dict, tally: Tally, completed: bool) -> None:
    """Write the tally of one test to ``<stats_dir>/<test>.json``."""
    d = Path(plan["stats_dir"])
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{slug(tally.test)}.json").write_text(
        json.dumps({**tally.stats(), "completed": completed}, indent=1) + "\n")


@contextmanager
def tallied(plan: dict, test: str, log=None):
    """``with tallied(plan, name, dut._log) as tally:`` - the stats are written when
    the block ends (also on failure); a block that completed must be error-free."""
    tally = Tally(test, log)
    completed = False
    try:
        yield tally
        completed = True
    finally:
        write_stats(plan, tally, completed)
    tally.assert_clean()


def pack_fields(values, width: int) -> int:
    """Integers (two's complement if negative) as one word, element 0 in the low bits
    (an Amaranth ``ArrayLayout`` port)."""
    mask = (1 << width) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * width)
    return word


def unpack_fields(word: int, count: int, width: int, signed: bool = False) -> list[int]:
    mask = (1 << width) - 1
    out = [(word >> (i * width)) & mask for i in range(count)]
    return [to_signed(v, width) for v in out] if signed else out
