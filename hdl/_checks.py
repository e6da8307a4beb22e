"""Parameter checks shared by the components: ``ValueError`` naming the parameter,
the value and what is allowed."""

from __future__ import annotations

from golden.spec import MacroSpec


def check_spec(spec) -> MacroSpec:
    """``spec`` if it is a :class:`golden.spec.MacroSpec`, else ``ValueError``."""
    if not isinstance(spec, MacroSpec):
        raise ValueError(f"spec = {spec!r}: must be a golden.spec.MacroSpec")
    return spec


def check_int(name: str, value, lo: int, hi: int) -> int:
    """``value`` if it is an integer (not a bool) in ``lo..hi``, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} = {value!r}: must be an integer in {lo}..{hi}")
    return value
