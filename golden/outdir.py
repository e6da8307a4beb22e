"""Output directories that are replaced whole or not at all.

Every command that writes a directory (``cimgen verilog``, ``synth``, ``flow``,
``program``; :func:`hdl.export.generate`) follows one rule: the target must be new or
empty unless ``force`` is given; the output is built under a temporary sibling and
renamed into place when complete, and an existing target is moved aside first and
deleted only once the new one is in place. This module is that rule, once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "OutDirError",
    "check_out_dir",
    "current_umask",
    "nearest_existing",
    "publish_dir",
    "staged",
    "writable",
]


class OutDirError(ValueError):
    """An output directory that cannot be used; the message names it and what is
    allowed."""


def nearest_existing(path: str | Path) -> Path:
    """The closest ancestor of ``path`` that exists (where its creation would start)."""
    up = Path(path).parent
    while not (up.exists() or up == up.parent):
        up = up.parent
    return up


def current_umask() -> int:
    """The process umask, read without changing it where the kernel tells it.

    ``/proc/self/status`` (Linux 4.7+) holds it; elsewhere it is read by setting and
    restoring it, which is safe while no other thread creates files.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def writable(directory: str | Path) -> bool:
    """Whether files can be created in the existing ``directory`` (write and search
    permission, and a file system that is not read-only)."""
    return os.access(directory, os.W_OK | os.X_OK)


def check_out_dir(out: str | Path, force: bool, name: str = "-o") -> Path:
    """Check that ``out`` may be (re)written, before any work is done.

    Parameters
    ----------
    out : path
    force : bool
        Allow a non-empty existing directory (it is replaced by :func:`publish_dir`).
    name : str
        How the user gave it (``-o``, ``out_dir``), for the message.

    Raises
    ------
    OutDirError
        Its nearest existing ancestor is not a directory or not writable; it exists
        and is not a directory (or is a symlink); or it is a non-empty directory and not
        ``force``.
    """
    out = Path(out)
    up = nearest_existing(out)
    if not up.is_dir():
        raise OutDirError(f"{name} {str(out)!r}: {str(up)!r} is not a directory, so DIR "
                          "cannot be created there")
    if not writable(up):
        raise OutDirError(f"{name} {str(out)!r}: {str(up)!r} is not writable, so DIR cannot "
                          "be created or replaced there; allowed: a directory in a writable "
                          "location")
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise OutDirError(f"{name} {str(out)!r}: exists and is not a directory; allowed: "
                              "a new or empty directory (or a non-empty one with --force)")
        if not force and any(out.iterdir()):
            raise OutDirError(f"{name} {str(out)!r}: exists and is not empty; allowed: a new "
                              "or empty directory; pass --force to replace it")
    return out


def publish_dir(tmp: str | Path, out: str | Path) -> None:
    """Rename the finished ``tmp`` to ``out``; an existing ``out`` is moved aside first
    and deleted only once the new directory is in place (restored if the rename
    fails). ``tmp`` gets the permissions of a directory made under the user's umask
    (``mkdtemp`` makes it 0700)."""
    tmp, out = Path(tmp), Path(out)
    tmp.chmod(0o777 & ~current_umask())
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    old.rmdir()
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged(out: str | Path, force: bool, *, check: Callable[[Path, bool], object] | None = None,
           on_error: Callable[[Path, BaseException], None] | None = None) -> Iterator[Path]:
    """Build a directory aside and publish it whole: the one way outputs are written.

    Yields a new temporary sibling of ``out`` (parents are created as needed). When the
    block ends normally, ``out`` is checked again with ``check(out, force)`` (default
    :func:`check_out_dir`; it may have changed while the work ran) and the temporary
    is renamed into place by :func:`publish_dir`. When the block raises, the temporary
    and any parent directories created for it are removed, or handed to
    ``on_error(tmp, exc)`` (which then owns it), and the exception propagates.
    """
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    made = [d for d in reversed([parent, *parent.parents]) if not d.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
        yield tmp
        (check or check_out_dir)(out, force)
        publish_dir(tmp, out)
    except BaseException as exc:
        if tmp is not None:
            if on_error is not None and tmp.exists():
                on_error(tmp, exc)
            shutil.rmtree(tmp, ignore_errors=True)
        for d in reversed(made):
            try:
                d.rmdir()
            except OSError:
                break
        raise
