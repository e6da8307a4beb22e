"""Finding a function of the ReADC reference code in a checkout (``--readc PATH``).

The reference code is not a package: its modules are found by the ``def`` they hold
and imported from their file. Anything that goes wrong (no such function, an import
that needs a package not installed here) is a reason to skip, returned as text.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from pathlib import Path

__all__ = ["find_function"]


def find_function(readc_path, name: str):
    """``(function, source path)`` for ``def name`` under ``readc_path``, or
    ``(None, reason)``."""
    if readc_path is None:
        return None, "no readc_path given"
    root = Path(readc_path)
    if not root.is_dir():
        return None, f"{root} is not a directory"
    for path in sorted(root.rglob("*.py")):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if f"def {name}(" not in text:
            continue
        spec = importlib.util.spec_from_file_location(f"readc_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                spec.loader.exec_module(module)
        except Exception as exc:  # any import failure means: skip, and say why
            return None, f"importing {path} failed: {exc!r}"
        return getattr(module, name), str(path)
    return None, f"no module defining {name} under {root}"
