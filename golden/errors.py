"""The error every config check raises (:mod:`golden.spec`, :mod:`golden.cost_spec`)."""

from __future__ import annotations

from typing import Any

__all__ = ["SpecError"]


class SpecError(ValueError):
    """A config value is missing its type, out of range or unknown.

    Parameters
    ----------
    key : str
        Dotted key, e.g. ``"adc.bits"``.
    value : object
        The offending value (``None`` for a missing or unknown key's value).
    allowed : str
        What is allowed, in words.
    """

    def __init__(self, key: str, value: Any, allowed: str):
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key} = {value!r}: {allowed}")
