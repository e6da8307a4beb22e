"""Compare two ``cimgen flow`` results.json files, timings aside.

    python -m bench.diff_results BEFORE AFTER [--allow PATH ...]

Every key and value must be equal, recursively (numbers exactly, unless ``--rtol``),
except wall-clock timings (:data:`TIMINGS`) and the paths named with ``--allow`` (glob
patterns on dotted paths such as ``config.adc.decoder`` or ``accuracy.runs[*].seed``),
which may differ, appear or disappear. Prints each difference; exit status 0 when there
is none, 1 when there is one, 2 on bad input.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
from pathlib import Path

__all__ = ["TIMINGS", "diff", "main"]

TIMINGS = ("timing_s", "*.timing_s", "rtl.sim_wall_s", "synth.*_s", "synth.timing.*_s")
"""Dotted-path patterns of wall-clock times, never compared."""


def _allowed(path: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _same_number(a, b, rtol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if rtol == 0 or not all(isinstance(v, int | float) for v in (a, b)):
        return a == b or (isinstance(a, float) and isinstance(b, float)
                          and math.isnan(a) and math.isnan(b))
    return math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)


def diff(a, b, *, allow=(), rtol: float = 0.0, path: str = "") -> list[str]:
    """The differences between ``a`` and ``b`` (JSON values), one line each.

    Paths matching :data:`TIMINGS` or a pattern of ``allow`` are skipped (and may be
    missing on either side).
    """
    patterns = (*TIMINGS, *allow)
    if path and _allowed(path, patterns):
        return []
    where = path or "(top)"
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in b or k not in a:
                if not _allowed(sub, patterns):
                    side = "AFTER" if k not in b else "BEFORE"
                    out.append(f"{sub}: missing in {side}")
                continue
            out += diff(a[k], b[k], allow=allow, rtol=rtol, path=sub)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items before, {len(b)} after"]
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += diff(x, y, allow=allow, rtol=rtol, path=f"{path}[{i}]")
        return out
    if type(a) is not type(b) and not (isinstance(a, int | float) and isinstance(b, int | float)
                                       and not isinstance(a, bool) and not isinstance(b, bool)):
        return [f"{where}: {a!r} ({type(a).__name__}) before, {b!r} ({type(b).__name__}) after"]
    if not _same_number(a, b, rtol):
        return [f"{where}: {a!r} before, {b!r} after"]
    return []


def _load(path: str, what: str):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise SystemExit(_bad(f"{what} {path!r}: cannot read ({e.strerror})")) from None
    except json.JSONDecodeError as e:
        raise SystemExit(_bad(f"{what} {path!r}: not JSON ({e})")) from None


def _bad(msg: str) -> int:
    print(f"diff_results: {msg}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.diff_results",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("before", metavar="BEFORE")
    ap.add_argument("after", metavar="AFTER")
    ap.add_argument("--allow", action="append", default=[], metavar="PATH",
                    help="dotted-path glob that may differ (repeatable), e.g. "
                         "config.adc.decoder")
    ap.add_argument("--rtol", type=float, default=0.0,
                    help="relative tolerance of numbers (default 0: exactly equal)")
    args = ap.parse_args(argv)
    if not (args.rtol >= 0 and math.isfinite(args.rtol)):
        return _bad(f"--rtol {args.rtol}: must be a finite number >= 0")
    a, b = _load(args.before, "BEFORE"), _load(args.after, "AFTER")
    found = diff(a, b, allow=args.allow, rtol=args.rtol)
    for line in found[:200]:
        print(line)
    if len(found) > 200:
        print(f"... and {len(found) - 200} more")
    allowed = ", ".join(args.allow) or "none"
    print(f"diff_results: {len(found)} difference(s) (timings ignored; allowed: {allowed})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
