"""Macro calibration files: one :class:`golden.macro.MacroCalibration` per weight tile.

Format (JSON), version 2::

    {"format": "cimgen-macro-calibration", "version": 2,
     "depends_on": {"macro.rows": 64, "macro.cols": 8, ..., "adc.lut_frac_bits": 8},
     "config": {...the MacroSpec as a dict, for reference...},
     "tiles": [{"row": 0, "col": 0, "calibration": {...MacroCalibration.to_dict()...}}, ...]}

``depends_on`` records every config field the tables depend on (:data:`DEPENDS_ON`);
loading a file checks each against the config and refuses a mismatch, naming the field
and both values. Version 1 files (no ``depends_on``) are read from their ``config``.
``cimgen mvm --save-calibration`` and ``cimgen flow`` write it; ``mvm``, ``verilog``,
``program``, ``synth`` and ``board`` read it. A bare ``MacroCalibration.to_dict()``
without this header is refused: it does not say which macro it was made for, so it
cannot be checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from golden.calibration import MacroCalibration
from golden.spec import MacroSpec

from .dataio import write_json_atomic
from .errors import InputError

__all__ = ["DEPENDS_ON", "FORMAT", "VERSION", "choose_calibration", "load_calibration",
           "parse_tile", "save_calibration"]

FORMAT = "cimgen-macro-calibration"
VERSION = 2
SUPPORTED = (1, 2)
DEPENDS_ON = (
    "macro.rows", "macro.cols", "macro.input_bits", "macro.input_signed",
    "macro.weight_bits", "macro.cell_bits", "macro.mapping",
    "adc.bits", "adc.encoding", "adc.sr", "adc.lut_scope", "adc.lut_frac_bits",
)
"""Config fields a calibration's tables depend on: the array (partial-sum range, slices,
columns, reference column) and the ADC and LUT format."""

_WRITERS = "written by 'cimgen mvm --save-calibration', or by 'cimgen flow' as " \
    "calibration/layer<N>.json"


def depends_on(spec: MacroSpec) -> dict[str, Any]:
    """The values of :data:`DEPENDS_ON` in ``spec``, keyed by dotted name."""
    d = spec.to_dict()
    return {k: d[k.split(".")[0]][k.split(".")[1]] for k in DEPENDS_ON}


def save_calibration(path, spec: MacroSpec, tiles: dict[tuple[int, int], MacroCalibration]):
    """Write the calibrations of every tile atomically (format version 2)."""
    doc = {
        "format": FORMAT, "version": VERSION, "depends_on": depends_on(spec),
        "config": spec.to_dict(),
        "tiles": [{"row": r, "col": c, "calibration": cal.to_dict()}
                  for (r, c), cal in sorted(tiles.items())],
    }
    return write_json_atomic(path, doc)


def _read(p: Path) -> dict:
    if not p.is_file():
        raise InputError(f"--calibration {str(p)!r}: no such file")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"--calibration {str(p)!r}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise InputError(f"--calibration {str(p)!r}: must hold a JSON object")
    return doc


def _check_header(p: Path, doc: dict) -> dict[str, Any]:
    """Format and version; returns the recorded :data:`DEPENDS_ON` values."""
    where = f"--calibration {str(p)!r}"
    if doc.get("format") != FORMAT:
        if "format" in doc or "tiles" in doc:
            raise InputError(f"{where}: format {doc.get('format')!r}; allowed: {FORMAT!r} "
                             f"({_WRITERS})")
        if doc.get("command") == "calibrate":
            raise InputError(
                f"{where}: is a data calibration written by 'cimgen calibrate' (one ADC's "
                f"boundaries and levels per method), not a macro calibration; allowed: a "
                f"{FORMAT!r} file ({_WRITERS})")
        if "lut" in doc and "boundaries" in doc:
            raise InputError(
                f"{where}: a bare calibration object without the file header (format, "
                "version, depends_on) does not say which macro it was made for, so it "
                f"cannot be checked against the config; allowed: a {FORMAT!r} file "
                f"({_WRITERS})")
        raise InputError(f"{where}: has no 'format'; allowed: a {FORMAT!r} file ({_WRITERS})")
    version = doc.get("version")
    if isinstance(version, bool) or version not in SUPPORTED:
        raise InputError(
            f"{where}: format version {version!r} is not supported; supported versions: "
            + ", ".join(map(str, SUPPORTED)) + f" (this cimgen writes {VERSION})")
    if version == 1:
        cfg = doc.get("config")
        if not isinstance(cfg, dict):
            raise InputError(f"{where}: a version 1 file must hold its 'config'; it has none, "
                             "so it cannot be checked against the config")
        rec = {}
        for k in DEPENDS_ON:
            sec, key = k.split(".")
            if not isinstance(cfg.get(sec), dict) or key not in cfg[sec]:
                raise InputError(f"{where}: its config has no {k}, so it cannot be checked "
                                 "against the config; write it again with this cimgen")
            rec[k] = cfg[sec][key]
        return rec
    rec = doc.get("depends_on")
    if not isinstance(rec, dict):
        raise InputError(f"{where}: has no 'depends_on' object; version 2 files record "
                         + ", ".join(DEPENDS_ON))
    missing = [k for k in DEPENDS_ON if k not in rec]
    if missing:
        raise InputError(f"{where}: depends_on lacks {', '.join(missing)}; version 2 files "
                         "record " + ", ".join(DEPENDS_ON))
    return rec


def load_calibration(path, spec: MacroSpec) -> dict[tuple[int, int], MacroCalibration]:
    """Read a calibration file and check it and every tile against ``spec``.

    Raises
    ------
    InputError
        Missing or unreadable file, wrong format (a data calibration from ``cimgen
        calibrate``, a bare calibration object), an unsupported version, a recorded
        config field that differs from ``spec`` (``macro.rows = 64 in the file, the
        config has macro.rows = 16``), or a tile that is malformed (NaN, a reversed full
        scale, unsorted boundaries) or does not fit the config.
    """
    p = Path(path)
    where = f"--calibration {str(p)!r}"
    doc = _read(p)
    rec = _check_header(p, doc)
    have = depends_on(spec)
    for k in DEPENDS_ON:
        if rec[k] != have[k] or type(rec[k]) is not type(have[k]):
            raise InputError(f"{where}: {k} = {rec[k]!r} in the file, the config has "
                             f"{k} = {have[k]!r}")
    entries = doc.get("tiles")
    if not isinstance(entries, list):
        raise InputError(f"{where}: 'tiles' must be a list of tiles")
    out = {}
    for i, e in enumerate(entries):
        try:
            if not isinstance(e, dict):
                raise ValueError(f"must be an object with row, col, calibration, not {e!r:.40}")
            cal = MacroCalibration.from_dict(e["calibration"])
            r, c = e["row"], e["col"]
            if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in (r, c)):
                raise ValueError(f"row = {r!r}, col = {c!r}: must be integers >= 0")
            cal.check(spec)
        except KeyError as err:
            raise InputError(f"{where} tile {i}: missing field {err.args[0]!r}") from None
        except (TypeError, ValueError) as err:
            raise InputError(f"{where} tile {i}: {err}") from None
        if (r, c) in out:
            raise InputError(f"{where} tile {i}: tile ({r}, {c}) appears twice")
        out[(r, c)] = cal
    if not out:
        raise InputError(f"{where}: holds no tiles")
    return out


def parse_tile(text) -> tuple[int, int]:
    """The tile key ``(R, C)`` of a ``--tile R,C`` argument (a tuple passes through).

    Raises
    ------
    InputError
        Unless ``text`` is two integers >= 0 separated by a comma.
    """
    if isinstance(text, tuple):
        return text
    parts = str(text).split(",")
    try:
        r, c = (int(v) for v in parts)
    except ValueError:
        raise InputError(
            f"--tile {text!r}: must be two integers R,C (e.g. 0,1)"
        ) from None
    if r < 0 or c < 0:
        raise InputError(f"--tile {text!r}: R and C must be >= 0")
    return r, c


def choose_calibration(args, spec) -> tuple[MacroCalibration | None, dict[str, Any]]:
    """The calibration a command's ``--calibration FILE`` / ``--tile R,C`` select.

    Without ``--calibration``: ``None`` (the caller's default). With it, the tile
    ``--tile`` names, or the file's only tile.

    Returns
    -------
    calibration : MacroCalibration or None
    source : dict
        Where it came from, for manifests: ``{"source": "default_calibration"}`` or
        ``{"source": "file", "file": NAME, "tile": [R, C]}``.

    Raises
    ------
    InputError
        ``--tile`` without ``--calibration``, a bad or unknown ``--tile``, a file that
        does not load against ``spec``, or several tiles and no ``--tile``.
    """
    tile = getattr(args, "tile", None)
    if not args.calibration:
        if tile is not None:
            raise InputError(f"--tile {tile!r}: only applies with --calibration FILE")
        return None, {"source": "default_calibration"}
    tiles = load_calibration(args.calibration, spec)
    have = ", ".join(f"{r},{c}" for r, c in sorted(tiles))
    if tile is not None:
        key = parse_tile(tile)
        if key not in tiles:
            raise InputError(
                f"--tile {tile!r}: --calibration {args.calibration!r} has no such tile; "
                f"it holds {have}"
            )
    elif len(tiles) == 1:
        key = next(iter(tiles))
    else:
        raise InputError(
            f"--calibration {args.calibration!r}: holds {len(tiles)} tiles ({have}); "
            "choose one with --tile R,C"
        )
    return tiles[key], {"source": "file", "file": Path(args.calibration).name,
                        "tile": list(key)}
