"""Reading user data (ADC-input samples) and writing outputs atomically."""

from __future__ import annotations

import csv
import json
import os
import stat
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from golden import outdir

from .errors import InputError

__all__ = ["WriteFailed", "check_out_dir", "check_out_file", "check_outputs", "load_samples",
           "write_atomic", "write_json_atomic"]

_MAX_SHOWN = 5
MAX_SAMPLES = 200_000_000
"""Largest sample count read (1.6 GB as float64); larger inputs are refused, not loaded."""
MAX_TEXT_BYTES = 1 << 30
"""Largest CSV/text file parsed (text costs far more memory than its numbers)."""


def _too_many(p: Path, n: int) -> InputError:
    return InputError(
        f"DATA {str(p)!r}: {n:,} samples is more than the {MAX_SAMPLES:,} cimgen reads; "
        "subsample it (calibration needs far fewer)"
    )


def _load_npy(p: Path) -> np.ndarray:
    try:
        a = np.load(p, allow_pickle=False, mmap_mode="r")
        if a.size > MAX_SAMPLES:
            raise _too_many(p, a.size)
        return np.array(a)
    except InputError:
        raise
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"DATA {str(p)!r}: not a readable .npy array ({e})") from None


def _load_npz(p: Path, key: str | None) -> np.ndarray:
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = list(z.files)
            if key is None:
                if len(keys) != 1:
                    raise InputError(
                        f"DATA {str(p)!r}: holds arrays {keys}; choose one with --key"
                    )
                key = keys[0]
            if key not in keys:
                raise InputError(f"--key {key!r}: not in {str(p)!r}; it holds {keys}")
            with z.zip.open(f"{key}.npy") as member:
                fmt = np.lib.format
                version = fmt.read_magic(member)
                read = fmt.read_array_header_1_0 if version == (1, 0) else \
                    fmt.read_array_header_2_0
                n = int(np.prod(read(member)[0], dtype=np.int64))
            if n > MAX_SAMPLES:
                raise _too_many(p, n)
            return z[key]
    except InputError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"DATA {str(p)!r}: not a readable .npz archive ({e})") from None


def _parse_float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a number") from None


def _load_csv(p: Path, column: str | None) -> np.ndarray:
    try:
        with p.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"DATA {str(p)!r}: not a readable CSV file ({e})") from None
    if not rows:
        raise InputError(f"DATA {str(p)!r}: the file holds no rows")
    first = rows[0]
    try:
        [float(c) for c in first]
        header = None
    except ValueError:
        header = [c.strip() for c in first]
        rows = rows[1:]
    ncol = len(header) if header is not None else len(first)
    if column is None:
        if ncol != 1:
            names = header if header is not None else list(range(ncol))
            raise InputError(
                f"DATA {str(p)!r}: has {ncol} columns {names}; choose one with --column"
            )
        idx = 0
    elif header is not None and column in header:
        idx = header.index(column)
    elif column.lstrip("-").isdigit() and 0 <= int(column) < ncol:
        idx = int(column)
    else:
        names = header if header is not None else f"indices 0..{ncol - 1}"
        raise InputError(f"--column {column!r}: not a column of {str(p)!r}; it has {names}")
    out = np.empty(len(rows), dtype=np.float64)
    line0 = 2 if header is not None else 1
    for i, r in enumerate(rows):
        where = f"DATA {str(p)!r} line {i + line0}"
        if idx >= len(r) or not r[idx].strip():
            raise InputError(f"{where}: column {idx} is empty")
        out[i] = _parse_float(r[idx].strip(), where)
    return out


def _load_text(p: Path) -> np.ndarray:
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(
            f"DATA {str(p)!r}: unreadable format (not UTF-8 text); "
            "allowed: .npy, .npz (--key), .csv (--column) or whitespace-separated text"
        ) from None
    vals = []
    for ln, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0]
        vals.extend(_parse_float(tok, f"DATA {str(p)!r} line {ln}") for tok in line.split())
    return np.asarray(vals, dtype=np.float64)


def load_samples(
    path: str | Path,
    *,
    key: str | None = None,
    column: str | None = None,
    drop_nonfinite: bool = False,
) -> tuple[np.ndarray, int]:
    """Read a 1-D float64 sample vector from ``.npy``, ``.npz``, ``.csv`` or text.

    Parameters
    ----------
    path : path-like
        ``.npy`` (1-D, or 2-D flattened), ``.npz`` (one array, chosen by ``key`` when
        there are several), ``.csv`` (one column, chosen by ``column`` name or index;
        a non-numeric first row is a header) or any other file as whitespace-separated
        numbers (``#`` starts a comment).
    drop_nonfinite : bool
        Drop NaN and inf instead of refusing them.

    Returns
    -------
    samples : ndarray of float64
    dropped : int
        How many non-finite values were dropped.

    Raises
    ------
    InputError
        Missing file, unreadable format, non-numeric values, empty data, or NaN/inf
        (naming how many and where) unless ``drop_nonfinite``.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"DATA {str(p)!r}: no such file")
    if not p.is_file():
        raise InputError(f"DATA {str(p)!r}: not a regular file")
    suffix = p.suffix.lower()
    if key is not None and suffix != ".npz":
        raise InputError(f"--key {key!r}: only applies to .npz files, not {str(p)!r}")
    if column is not None and suffix != ".csv":
        raise InputError(f"--column {column!r}: only applies to .csv files, not {str(p)!r}")
    if suffix not in (".npy", ".npz") and p.stat().st_size > MAX_TEXT_BYTES:
        raise InputError(
            f"DATA {str(p)!r}: {p.stat().st_size:,} bytes of text is more than the "
            f"{MAX_TEXT_BYTES:,} cimgen parses; save the samples as .npy instead"
        )
    if suffix == ".npy":
        arr = _load_npy(p)
    elif suffix == ".npz":
        arr = _load_npz(p, key)
    elif suffix == ".csv":
        arr = _load_csv(p, column)
    else:
        arr = _load_text(p)
    if arr.dtype.kind not in "iuf":
        raise InputError(
            f"DATA {str(p)!r}: array dtype {arr.dtype} is not allowed; "
            "allowed: integer or floating-point numbers"
        )
    if arr.ndim > 2:
        raise InputError(
            f"DATA {str(p)!r}: array of shape {arr.shape}; allowed: 1-D (samples) or 2-D "
            "(samples, columns), whose entries are pooled into one set of samples"
        )
    x = np.asarray(arr, dtype=np.float64).ravel()
    bad = ~np.isfinite(x)
    nbad = int(bad.sum())
    if nbad:
        if not drop_nonfinite:
            where = np.flatnonzero(bad)[:_MAX_SHOWN].tolist()
            more = ", ..." if nbad > _MAX_SHOWN else ""
            raise InputError(
                f"DATA {str(p)!r}: {nbad} non-finite value(s) (NaN or inf) at index "
                f"{', '.join(map(str, where))}{more}; pass --drop-nonfinite to drop them"
            )
        x = x[~bad]
    if x.size == 0:
        raise InputError(f"DATA {str(p)!r}: no samples; it must hold at least one finite "
                         "number")
    return x, nbad


def _kind(p: Path) -> str:
    mode = p.stat().st_mode
    for test, name in ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISFIFO, "named pipe (FIFO)"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def check_out_file(path: str | Path, flag: str = "-o", *, force: bool = False) -> Path:
    """Check that an output file can be written at ``path`` before any work is done.

    Parameters
    ----------
    path : path-like
    flag : str
        How the user gave it (``-o``, ``--save-calibration``), for the message.
    force : bool
        Allow replacing an existing regular file.

    Raises
    ------
    InputError
        ``path`` is a directory, a symbolic link or another non-regular file (a device,
        a FIFO); an existing file without ``force``; or its nearest existing ancestor
        is not a directory or not writable.
    """
    p = Path(path)
    allowed = "allowed: a new file name, or an existing regular file with --force"
    if p.is_symlink():
        raise InputError(f"{flag} {str(p)!r}: is a symbolic link (never followed or "
                         f"replaced); {allowed}")
    if p.is_dir():
        raise InputError(f"{flag} {str(p)!r}: is a directory; allowed: a file name")
    if p.exists() and not p.is_file():
        raise InputError(f"{flag} {str(p)!r}: is a {_kind(p)}, not a regular file; {allowed}")
    up = outdir.nearest_existing(p)
    if not up.is_dir():
        raise InputError(f"{flag} {str(p)!r}: {str(up)!r} is not a directory, so the file "
                         "cannot be created there")
    if not outdir.writable(up):
        raise InputError(f"{flag} {str(p)!r}: {str(up)!r} is not writable, so the file "
                         "cannot be created there; allowed: a file in a writable directory")
    if p.exists() and not force:
        raise InputError(f"{flag} {str(p)!r}: exists; allowed: a new file name, or --force "
                         "to replace it")
    return p


def _same(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file: through symlinks, hard links and ``..``."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, directory: Path) -> bool:
    """Whether ``path`` lies in ``directory`` (as given or with symlinks resolved)."""
    ps = {Path(os.path.abspath(path)), Path(os.path.realpath(path))}
    ds = {Path(os.path.abspath(directory)), Path(os.path.realpath(directory))}
    return any(p.is_relative_to(d) for p in ps for d in ds)


def _given(pairs) -> list[tuple[str, Path]]:
    return [(flag, Path(p)) for flag, p in pairs if p is not None]


def check_outputs(*, inputs=(), files=(), dirs=(), force: bool = False) -> None:
    """Check every output of a command against its inputs and each other, before work.

    Parameters
    ----------
    inputs, files, dirs : iterables of (flag, path or None)
        The command's input files, output files and output directories, each with
        the flag (or argument name) the user gave it by; ``None`` paths are skipped.
    force : bool
        ``--force``: an existing output file may be replaced. (Whether a non-empty
        directory may be replaced is each command's rule; the directories here get
        only the location checks of :func:`golden.outdir.check_out_dir`.)

    Raises
    ------
    InputError
        An output file that is one of the inputs (also through a symlink or hard
        link), an output directory that holds an input (replacing it would destroy
        the input), two outputs on one path, or an output that fails
        :func:`check_out_file` / the location checks of ``check_out_dir``.
    """
    ins, outs, out_dirs = _given(inputs), _given(files), _given(dirs)
    for flag, p in outs:
        for iflag, q in ins:
            if _same(p, q):
                raise InputError(f"{flag} {str(p)!r}: is the input {iflag} {str(q)!r}; "
                                 "allowed: an output path that is none of the command's "
                                 "inputs (an input is never overwritten)")
    for flag, d in out_dirs:
        for iflag, q in ins:
            if _inside(q, d):
                raise InputError(f"{flag} {str(d)!r}: holds the input {iflag} {str(q)!r}, "
                                 "which replacing the directory would destroy; allowed: a "
                                 "directory that holds none of the command's inputs")
    seen: list[tuple[str, Path]] = []
    for flag, p in outs + out_dirs:
        for f2, p2 in seen:
            if _same(p, p2):
                raise InputError(f"{flag} {str(p)!r}: is also the output of {f2} "
                                 f"{str(p2)!r}; allowed: a different path for each output")
        seen.append((flag, p))
    for flag, p in outs:
        check_out_file(p, flag, force=force)
    for flag, d in out_dirs:
        try:
            outdir.check_out_dir(d, True, name=flag)
        except outdir.OutDirError as e:
            raise InputError(str(e)) from None


def check_out_dir(out: str | Path, force: bool) -> Path:
    """:func:`golden.outdir.check_out_dir` for ``-o DIR``, as a CLI input error."""
    from golden.outdir import check_out_dir as _check

    try:
        return _check(out, force)
    except outdir.OutDirError as e:
        raise InputError(str(e)) from None


class WriteFailed(OSError):
    """Writing an output failed midway (disk full, file too large, no permission); the
    CLI exits 1. ``filename`` is the output the user asked for, not the temporary."""

    def __str__(self) -> str:
        return f"cannot write {self.filename!r}: {self.strerror}"


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` through ``write(tmp)`` on a temporary sibling, then rename.

    A failure leaves neither a partial file, the temporary nor the parent directories
    it created behind. The file gets the permissions of one made under the user's
    umask (``mkstemp`` makes it 0600). An existing regular file is replaced: the CLI
    checks ``--force`` first (:func:`check_outputs`).

    Raises
    ------
    WriteFailed
        The OS refused a write (``ENOSPC``, ``EFBIG``, ``EACCES``, ...), naming ``path``
        and the reason.
    """
    p = check_out_file(path, force=True)
    made = [d for d in (p.parent, *p.parent.parents) if not d.exists()]
    tmp = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        os.close(fd)
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~outdir.current_umask())
        os.replace(tmp, p)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        for d in made:
            try:
                d.rmdir()
            except OSError:
                break
        if isinstance(e, OSError) and not isinstance(e, WriteFailed):
            raise WriteFailed(e.errno, e.strerror or str(e), str(p)) from e
        raise
    return p


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (see :func:`write_atomic`)."""
    text = json.dumps(obj, indent=2, sort_keys=False) + "\n"
    return write_atomic(path, lambda t: t.write_text(text, encoding="utf-8"))
