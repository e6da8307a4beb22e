"""One step timer for the numbered, timed progress lines of the flows.

:class:`StepTimer` numbers the steps of a run ``[i/n]``, times each one and reports
it through a ``say`` callable: ``[2/4] synthesise (Yosys synth_ice40) ...`` when it
starts (``announce``) and ``[2/4] synthesise (Yosys synth_ice40): 5.6 s`` when it
ends (``done``, a format of ``title`` and ``seconds``). It depends on nothing else in
cimgen, so :mod:`synth.flow` and :mod:`cimgen.flow` can share it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Step", "StepTimer"]


@dataclass
class Step:
    """One timed step.

    Attributes
    ----------
    index : int
        Its number in ``[index/total]``.
    title : str
        Printed when it starts and when it ends; may be changed inside the step (a
        title that reports the step's result).
    key : str
        Its name in :meth:`StepTimer.timings` (default the title at the start).
    seconds : float
        Wall time, set when the step ends.
    """

    index: int
    title: str
    key: str
    seconds: float = 0.0


class StepTimer:
    """Numbered, timed steps of one run.

    Parameters
    ----------
    total : int
        The ``n`` of ``[i/n]``.
    say : callable, optional
        Receives each progress line; default: drop them.
    announce : bool
        Also report a step when it starts (``[i/n] title ...``).
    done : str
        Format of the line when a step ends, with fields ``title`` and ``seconds``.

    Members
    -------
    steps : list of Step
        The finished steps in order.
    """

    def __init__(self, total: int, say: Callable[[str], None] | None = None, *,
                 announce: bool = True, done: str = "{title}: {seconds:.1f} s"):
        self.total = total
        self._say = say or (lambda line: None)
        self._announce = announce
        self._done = done
        self._last = 0
        self._t0 = time.perf_counter()
        self.steps: list[Step] = []

    @contextmanager
    def step(self, title: str, *, index: int | None = None,
             key: str | None = None) -> Iterator[Step]:
        """Time the block as the next step (or step ``index``: numbers left out are
        skipped steps); yields its :class:`Step`. A step that raises is not recorded."""
        self._last = self._last + 1 if index is None else index
        st = Step(self._last, title, key or title)
        tag = f"[{st.index}/{self.total}]"
        if self._announce:
            self._say(f"{tag} {title} ...")
        t0 = time.perf_counter()
        yield st
        st.seconds = time.perf_counter() - t0
        self.steps.append(st)
        self._say(f"{tag} " + self._done.format(title=st.title, seconds=st.seconds))

    def run(self, title: str, fn: Callable, *args, index: int | None = None):
        """``fn(*args)`` as the next step; returns its result."""
        with self.step(title, index=index):
            return fn(*args)

    def timings(self, digits: int = 3) -> dict[str, float]:
        """Seconds per step key, rounded to ``digits``."""
        return {st.key: round(st.seconds, digits) for st in self.steps}

    @property
    def elapsed(self) -> float:
        """Seconds since the timer was made."""
        return time.perf_counter() - self._t0
