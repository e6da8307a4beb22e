"""Macro calibration files: one :class:`golden.macro.MacroCalibration` per weight tile.

Format (JSON)::

    {"format": "cimgen-macro-calibration", "version": 1,
     "config": {...the MacroSpec as a dict...},
     "tiles": [{"row": 0, "col": 0, "calibration": {...MacroCalibration.to_dict()...}}, ...]}

``cimgen mvm --save-calibration`` writes it; ``cimgen mvm --calibration`` and
``cimgen verilog --calibration`` read it. A file holding a bare
``MacroCalibration.to_dict()`` is accepted as a single tile (0, 0).
"""

from __future__ import annotations

import json
from pathlib import Path

from golden.macro import MacroCalibration
from golden.spec import MacroSpec

from .dataio import write_json_atomic
from .errors import InputError

__all__ = ["FORMAT", "load_calibration", "save_calibration"]

FORMAT = "cimgen-macro-calibration"


def save_calibration(path, spec: MacroSpec, tiles: dict[tuple[int, int], MacroCalibration]):
    """Write the calibrations of every tile atomically."""
    doc = {
        "format": FORMAT, "version": 1, "config": spec.to_dict(),
        "tiles": [{"row": r, "col": c, "calibration": cal.to_dict()}
                  for (r, c), cal in sorted(tiles.items())],
    }
    return write_json_atomic(path, doc)


def load_calibration(path, spec: MacroSpec) -> dict[tuple[int, int], MacroCalibration]:
    """Read a calibration file and check every tile against ``spec``.

    Raises
    ------
    InputError
        Missing or unreadable file, wrong format, or a tile that does not fit the
        config (different ADC bits, SR mode, encoding, LUT scope or array size); the
        message names the file, the field and both values.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--calibration {str(p)!r}: no such file")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"--calibration {str(p)!r}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise InputError(f"--calibration {str(p)!r}: must hold a JSON object")
    if ("tiles" in doc or "format" in doc) and doc.get("format") != FORMAT:
        raise InputError(
            f"--calibration {str(p)!r}: format {doc.get('format')!r}; allowed: {FORMAT!r} "
            "(written by 'cimgen mvm --save-calibration' and 'cimgen flow'), or one tile's "
            "bare calibration object"
        )
    entries = doc["tiles"] if "tiles" in doc else [{"row": 0, "col": 0, "calibration": doc}]
    if not isinstance(entries, list):
        raise InputError(f"--calibration {str(p)!r}: 'tiles' must be a list of tiles")
    out = {}
    for i, e in enumerate(entries):
        try:
            cal = MacroCalibration.from_dict(e["calibration"])
            key = (int(e["row"]), int(e["col"]))
            cal.check(spec)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"--calibration {str(p)!r} tile {i}: {err}") from None
        out[key] = cal
    if not out:
        raise InputError(f"--calibration {str(p)!r}: holds no tiles")
    return out
