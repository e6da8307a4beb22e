"""Run directories that belong to one run.

Two ``cimgen sim`` runs of one config started at the same time must not read each
other's results, so a run never writes into a directory another run may use:

* without ``out``, a new ``<design dir>/run-<sim>-<id>/`` (``tempfile.mkdtemp``), kept
  after the run; the oldest finished ones beyond ``keep`` are removed;
* with ``out``, a hidden ``.<name>.<id>.tmp/`` beside it, renamed into place when the
  run is complete (:func:`golden.outdir.publish_dir`), so ``out`` holds one whole run
  or nothing new.

An interrupted run (``KeyboardInterrupt``, SIGTERM) leaves neither behind.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from golden.outdir import check_out_dir, current_umask, publish_dir

__all__ = ["RunDir"]

_DONE = ".cimgen-run-done"
_STALE_S = 24 * 3600.0  # an unfinished default run directory older than this is abandoned


class RunDir:
    """The private directory of one run and where it ends up.

    Parameters
    ----------
    out : path-like or None
        The user's run directory (replaced when the run completes), or ``None`` for a
        new directory under ``default_parent``.
    default_parent : Path
        Where default run directories go (the design's build directory).
    prefix : str
        Name prefix of a default run directory (``run-icarus``).
    replace : bool
        Replace a non-empty ``out`` (``cimgen sim --force``); else one that another run
        filled in the meantime is refused (:class:`golden.outdir.OutDirError`).
    keep : int
        Default run directories kept per prefix.
    """

    def __init__(self, out, default_parent: Path, prefix: str, *, replace: bool = True,
                 keep: int = 8):
        self.replace = replace
        if out is None:
            default_parent.mkdir(parents=True, exist_ok=True)
            _prune(default_parent, prefix, keep - 1)
            self.final = None
            self.work = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=default_parent))
        else:
            self.final = Path(out).absolute()
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.work = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.", suffix=".tmp",
                                              dir=self.final.parent))
        # mkdtemp makes it 0700; a run kept in place (no ``out``) is never published.
        # (Not os.umask(0) and back: the RTL thread of cimgen flow creates files too.)
        self.work.chmod(0o777 & ~current_umask())
        self.work = self.work.resolve()

    @property
    def path(self) -> Path:
        """Where the results are once :meth:`publish` has run."""
        return self.work if self.final is None else self.final.resolve()

    def publish(self) -> Path:
        """Make the finished run visible at :attr:`path` and return it.

        Paths recorded inside (``plan.json``) are rewritten to the final location.
        """
        if self.final is None:
            (self.work / _DONE).write_text(f"{time.time():.0f}\n")
            return self.work
        old, new = str(self.work), str(self.final.resolve())
        for plan in self.work.rglob("plan.json"):
            plan.write_text(plan.read_text().replace(old, new))
        check_out_dir(self.final, self.replace)
        publish_dir(self.work, self.final)
        return self.final.resolve()

    def discard(self, interrupted: bool) -> None:
        """After a failure: remove the temporary of an ``out`` run (nothing partial is
        published) and, if ``interrupted``, a default run directory too; a default run
        directory of a failed run stays, with its logs."""
        if self.final is not None or interrupted:
            shutil.rmtree(self.work, ignore_errors=True)

    def relocate(self, p: Path) -> Path:
        """``p`` (inside the work directory) at its published location."""
        try:
            return self.path / Path(p).relative_to(self.work)
        except ValueError:
            return Path(p)


def _prune(parent: Path, prefix: str, keep: int) -> None:
    """Remove the oldest finished (or long abandoned) ``<prefix>-*`` run directories,
    keeping ``keep``; a run still going on has no done-marker and is left alone."""
    runs = []
    now = time.time()
    for d in parent.glob(f"{prefix}-*"):
        if not d.is_dir() or d.is_symlink():
            continue
        done = (d / _DONE).exists()
        try:
            age = now - d.stat().st_mtime
        except OSError:
            continue
        if done or age > _STALE_S:
            runs.append((d.stat().st_mtime, d))
    runs.sort()
    for _, d in runs[:max(len(runs) - keep, 0)]:
        shutil.rmtree(d, ignore_errors=True)
