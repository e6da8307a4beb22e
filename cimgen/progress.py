"""Progress and interruption of long CLI steps: the progress bar (``cimgen flow``'s
accuracy sweep, ``cimgen sweep``), one timed line per step (``cimgen sim``, ``verilog``,
``board``), and what SIGINT/SIGTERM need (:class:`Terminated`, :func:`stop_children`)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator

__all__ = ["Progress", "Terminated", "handle_sigterm", "stop_children", "timed"]


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal; elsewhere (a log, a
    pipe, CI) one line every ``every`` seconds and one at the end, so long work is
    never silent."""

    def __init__(self, label: str, total: int, enabled: bool = True, done: int = 0,
                 every: float = 10.0):
        self.label, self.total, self.done = label, total, done
        self.t0 = self._last = time.perf_counter()
        self.tty = enabled and sys.stderr.isatty()
        self.enabled, self.every = enabled, every
        self._start = done
        self._draw()

    def _left(self, now: float) -> str:
        """Time left at the mean rate so far (of this run's items only)."""
        ran = self.done - self._start
        if ran <= 0 or self.done >= self.total:
            return ""
        return f", about {(now - self.t0) / ran * (self.total - self.done):.0f} s left"

    def _draw(self) -> None:
        now = time.perf_counter()
        if self.tty:
            frac = self.done / self.total if self.total else 1.0
            sys.stderr.write(f"\r  {self.label} [{'#' * int(30 * frac):<30s}] "
                             f"{self.done}/{self.total} {now - self.t0:.1f} s{self._left(now)}"
                             "\033[K")
            sys.stderr.flush()
        elif (self.enabled and self._start < self.done < self.total
              and now - self._last >= self.every):
            self._last = now
            sys.stderr.write(f"  {self.label}: {self.done}/{self.total} after "
                             f"{now - self.t0:.1f} s{self._left(now)}\n")
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


@contextlib.contextmanager
def timed(text: str, enabled: bool = True) -> Iterator[None]:
    """One line on stderr for a long step: ``  TEXT... 12.3 s``.

    The text is written (and flushed) when the step starts and the time when it ends,
    so a reader sees what is running; a step that raises ends its line with
    ``failed`` or ``interrupted``.
    """
    if not enabled:
        yield
        return
    sys.stderr.write(f"  {text}... ")
    sys.stderr.flush()
    t0 = time.perf_counter()
    try:
        yield
    except Exception:
        sys.stderr.write("failed\n")
        raise
    except BaseException:
        sys.stderr.write("interrupted\n")
        raise
    else:
        sys.stderr.write(f"{time.perf_counter() - t0:.1f} s\n")
    finally:
        sys.stderr.flush()


class Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler of :func:`handle_sigterm`.

    A ``BaseException`` like ``KeyboardInterrupt``, so ``except Exception`` does not
    swallow it and every ``finally`` (temporary directories, child processes) runs.
    """


def _raise_terminated(signum, frame):
    raise Terminated(signum)


def handle_sigterm():
    """Make SIGTERM raise :class:`Terminated` in the main thread (no-op elsewhere);
    returns the previous handler (for ``signal.signal``), or ``None``."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


def _tracker(proc) -> bool:
    """multiprocessing's resource tracker: it ignores SIGTERM and exits by itself once
    this process has gone, after releasing what the workers left (semaphores)."""
    try:
        return "multiprocessing.resource_tracker" in " ".join(proc.cmdline())
    except Exception:  # psutil.Error: gone already
        return True


def stop_children(timeout: float = 2.0) -> int:
    """Terminate every child process of this one (worker pools, simulators, their
    children), killing those still alive after ``timeout`` seconds; returns how many
    there were. Used when a command is interrupted: a child started by a library
    (cocotb's runner, a process pool) does not always stop with its parent."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - a dependency of dask.distributed
        return 0
    try:
        kids = [k for k in psutil.Process().children(recursive=True) if not _tracker(k)]
    except psutil.Error:  # pragma: no cover
        return 0
    for k in kids:
        with contextlib.suppress(psutil.Error):
            k.terminate()
    _, alive = psutil.wait_procs(kids, timeout=timeout)
    for k in alive:
        with contextlib.suppress(psutil.Error):
            k.kill()
    psutil.wait_procs(alive, timeout=timeout)
    return len(kids)
