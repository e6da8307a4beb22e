"""Loading a macro config (TOML) into a validated :class:`golden.spec.MacroSpec`."""

from __future__ import annotations

import tomllib
from pathlib import Path

from golden.spec import DECODERS, MacroSpec, SpecError

from .errors import InputError

__all__ = ["load_config", "with_decoder"]


def load_config(path: str | Path | None) -> MacroSpec:
    """Read a TOML config; ``None`` gives the all-defaults spec.

    Raises
    ------
    InputError
        The file is missing or not valid TOML.
    golden.spec.SpecError
        An unknown section or key, a wrong type or an out-of-range value; the message
        names the dotted key, the value and the allowed range.
    """
    if path is None:
        return MacroSpec()
    return spec_from_data(read_config_data(path), path)


def read_config_data(path: str | Path) -> dict:
    """The parsed TOML of a config file (for callers that take sections of their own out
    before :func:`spec_from_data`); a missing file or bad TOML is an InputError."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"config {str(p)!r}: is a directory; CONFIG must be a TOML file")
    if not p.is_file():
        raise InputError(f"config {str(p)!r}: no such file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"config {str(p)!r}: not valid TOML: {e}") from None
    return data


def spec_from_data(data: dict, path: str | Path) -> MacroSpec:
    """The spec of parsed config ``data``; a SpecError names the config file. Relative
    ``[workload]`` file paths (``model``, ``data``) are made relative to the config's
    directory."""
    wl = data.get("workload")
    if isinstance(wl, dict):
        base = Path(path).parent
        wl = dict(wl)
        for k in ("model", "data"):
            v = wl.get(k)
            if isinstance(v, str) and v and not Path(v).is_absolute():
                wl[k] = str(base / v)
        data = {**data, "workload": wl}
    try:
        return MacroSpec.from_dict(data)
    except SpecError as e:
        raise SpecError(e.key, e.value, f"{e.allowed} (in config {str(path)!r})") from None


def with_decoder(spec: MacroSpec, decoder: str | None) -> MacroSpec:
    """``spec`` with ``adc.decoder`` replaced by a ``--decoder`` override (``None``:
    ``spec`` itself).

    Raises
    ------
    InputError
        ``decoder`` is not one the config's encoding allows.
    """
    if decoder is None:
        return spec
    allowed = DECODERS[spec.adc.encoding]
    if decoder not in allowed:
        raise InputError(
            f"--decoder {decoder!r}: adc.encoding = {spec.adc.encoding!r} allows "
            + ", ".join(repr(d) for d in allowed)
        )
    return spec.replace(adc={"decoder": decoder})
