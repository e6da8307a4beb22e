"""The progress bar of long CLI steps (``cimgen flow``'s accuracy sweep, ``cimgen sweep``)."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """A one-line progress bar on stderr (redrawn on a terminal, one line otherwise)."""

    def __init__(self, label: str, total: int, enabled: bool = True, done: int = 0):
        self.label, self.total, self.done = label, total, done
        self.t0 = time.perf_counter()
        self.tty = enabled and sys.stderr.isatty()
        self.enabled = enabled
        self._draw()

    def _draw(self) -> None:
        if self.tty:
            frac = self.done / self.total if self.total else 1.0
            sys.stderr.write(f"\r  {self.label} [{'#' * int(30 * frac):<30s}] "
                             f"{self.done}/{self.total} {time.perf_counter() - self.t0:.1f} s")
            sys.stderr.flush()

    def update(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
        elif self.enabled:
            sys.stderr.write(f"  {self.label}: {self.done}/{self.total} in "
                             f"{time.perf_counter() - self.t0:.1f} s\n")
        sys.stderr.flush()
