"""Errors the CLI turns into exit codes: bad input exits 2, a failed check exits 1."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input (a file, an argument, a config value): the CLI exits 2.

    The message names the input, the value and what is allowed.
    """


class CheckFailed(RuntimeError):
    """A verification check failed (a mismatch, a missed target): the CLI exits 1."""
