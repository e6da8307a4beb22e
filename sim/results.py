"""What a cocotb bench checked: per-test outcomes and the bench's own counts."""

from __future__ import annotations

import importlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    """One cocotb test: pass/fail as cocotb reported it, and the bench's own stats."""

    name: str
    passed: bool
    skipped: bool = False
    message: str = ""
    sim_ns: float = 0.0
    stats: dict | None = None


_COUNTS = ("transactions", "mismatches", "missing", "unexpected", "protocol_errors")


@dataclass
class BenchResult:
    """What one bench checked on one simulator."""

    name: str
    toplevel: str
    simulator: str
    run_dir: Path
    outcomes: list[Outcome] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    waves: list[Path] = field(default_factory=list)
    wall: float = 0.0  # the simulation runs
    build_time: float = 0.0  # the (cached) build before them
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def count(self, key: str) -> int:
        return sum(int((o.stats or {}).get(key, 0)) for o in self.outcomes)

    @property
    def transactions(self) -> int:
        return self.count("transactions")

    @property
    def mismatches(self) -> int:
        """Wrong results plus results missing or extra plus handshake violations."""
        return sum(self.count(k) for k in _COUNTS[1:])

    @property
    def flags(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            for k, v in ((o.stats or {}).get("flags") or {}).items():
                out[k] = out.get(k, 0) + int(v)
        return out

    @property
    def passed(self) -> bool:
        return (self.error is None and bool(self.outcomes) and self.mismatches == 0
                and all(o.passed or o.skipped for o in self.outcomes))

    def report(self) -> str:
        """Why the bench failed (empty when it passed): failing tests, their first
        mismatches and the log tail."""
        if self.passed:
            return ""
        lines = [f"bench {self.name} ({self.toplevel}) on {self.simulator}: "
                 f"{self.mismatches} mismatches in {self.transactions} transactions"]
        if self.error:
            lines.append(self.error)
        for o in self.outcomes:
            if not (o.passed or o.skipped) or (o.stats and any(o.stats.get(k)
                                                                for k in _COUNTS[1:])):
                lines.append(f"  {o.name}: {'FAIL' if not o.passed else 'pass'} "
                             f"{o.message.strip()[:600]}")
                for msg in (o.stats or {}).get("messages", [])[:3]:
                    lines.append(f"    {msg[:400]}")
        lines += [f"  log: {p}" for p in self.logs]
        return "\n".join(lines)


def _parse_results(path: Path) -> list[Outcome]:
    root = ET.parse(path).getroot()
    out = []
    for tc in root.iter("testcase"):
        bad = tc.find("failure")
        if bad is None:
            bad = tc.find("error")
        skipped = tc.find("skipped") is not None
        props = {p.get("name"): p.get("value") for p in tc.iter("property")}
        msg = "" if bad is None else (bad.get("message") or bad.text or "failed")
        out.append(Outcome(tc.get("name", "?"), bad is None and not skipped, skipped, msg,
                           float(props.get("sim_time_duration") or 0.0)))
    return out


def list_tests(module: str) -> list[str]:
    """The cocotb tests a bench module defines (parametrised ones expanded), in order."""
    mod = importlib.import_module(module)
    names = []
    for obj in vars(mod).values():
        if hasattr(obj, "generate_tests") and getattr(obj, "__module__", module) == module:
            names.extend(t.name for t in obj.generate_tests())
    if not names:  # cocotb's generators may not carry __module__
        names = [t.name for obj in vars(mod).values() if hasattr(obj, "generate_tests")
                 for t in obj.generate_tests()]
    return names
