"""Random legal macro configs, small enough to simulate in seconds.

:func:`random_config` draws one config (the nested mapping a TOML file parses to) from
a seed; it always passes :meth:`golden.spec.MacroSpec.from_dict`. The draws cover every
choice of the spec (encoding, super-resolution mode, quantiser, mapping, LUT scope,
signed and unsigned inputs, window guard, device variation) while keeping the array
small (:data:`LIMITS`), so that the generated periphery builds and simulates quickly.
:func:`random_decoder` picks one of the encoding's decoders for the same seed.

Random-config equivalence (``tests/sim/test_random_configs.py``) runs the RTL of such
configs against :mod:`golden.digital`; a failing seed reproduces with that seed alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .spec import DECODERS, ENCODINGS, LUT_SCOPES, MAPPINGS, METHODS, SR_MODES, MacroSpec

__all__ = ["COLUMNS_PER_ADC", "LIMITS", "SHARED_COLS", "random_config", "random_decoder",
           "random_spec"]

LIMITS: dict[str, tuple[int, int]] = {
    "rows": (1, 16),
    "cols": (1, 3),
    "input_bits": (1, 5),
    "weight_bits": (1, 6),
    "cell_bits": (1, 3),
    "adc_bits": (1, 5),
    "lut_frac_bits": (0, 8),
}
"""Inclusive ranges of the integer draws (a subset of the spec's own ranges)."""

COLUMNS_PER_ADC = (1, 2, 3, 8)
"""``adc.columns_per_adc`` values drawn (1 with ``lut_scope = "per_column"``)."""
_COLUMNS_PER_ADC_P = (0.4, 0.25, 0.2, 0.15)

SHARED_COLS = (8, 9)
"""``macro.cols`` range when ``columns_per_adc = 8`` (past ``LIMITS["cols"]``: ``k`` must
not exceed ``cols``; 9 gives a ragged last ADC group)."""

_ENCODINGS = ENCODINGS
_SR = SR_MODES
# Drawn in this order since the first random configs (a seed keeps giving its config).
_METHODS = (METHODS[1], METHODS[0], METHODS[2])
_SCOPES = LUT_SCOPES
_MAPPINGS = MAPPINGS


def _rng(seed: int) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed = {seed!r}: must be an integer >= 0")
    return np.random.default_rng([int(seed), 0x72616E64])  # "rand": apart from other uses


def _int(rng: np.random.Generator, lo: int, hi: int) -> int:
    return int(rng.integers(lo, hi, endpoint=True))


def _choice(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _num(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A uniform draw rounded to 3 decimals (short in TOML, exact round trip)."""
    return round(float(rng.uniform(lo, hi)), 3)


def random_config(seed: int) -> dict[str, dict[str, Any]]:
    """A random legal config: ``{"macro": {...}, "adc": {...}, "device": {...}}``.

    Every key the spec knows in these sections is drawn (the ``[hdl]`` and ``[fpga]``
    sections keep their defaults). The same seed always gives the same config.

    Parameters
    ----------
    seed : int
        Any integer >= 0.

    Returns
    -------
    dict
        Plain Python values (int, float, bool, str), accepted by
        :meth:`golden.spec.MacroSpec.from_dict`.

    Raises
    ------
    ValueError
        ``seed`` is not an integer >= 0.
    """
    rng = _rng(seed)
    lim = LIMITS
    mapping = _choice(rng, _MAPPINGS)
    wb_lo = 2 if mapping == "differential" else lim["weight_bits"][0]
    weight_bits = _int(rng, wb_lo, lim["weight_bits"][1])
    macro = {
        "rows": _int(rng, *lim["rows"]),
        "cols": _int(rng, *lim["cols"]),
        "input_bits": _int(rng, *lim["input_bits"]),
        "input_signed": bool(rng.integers(2)),
        "weight_bits": weight_bits,
        "cell_bits": _int(rng, lim["cell_bits"][0], min(weight_bits, lim["cell_bits"][1])),
        "mapping": mapping,
    }
    encoding = _choice(rng, _ENCODINGS)
    adc = {
        "bits": _int(rng, *lim["adc_bits"]),
        "encoding": encoding,
        "sr": _choice(rng, _SR),
        "method": _choice(rng, _METHODS),
        "lut_frac_bits": _int(rng, *lim["lut_frac_bits"]),
        "lut_scope": _choice(rng, _SCOPES),
        "window_guard_pct": "auto" if rng.random() < 0.5 else _num(rng, 0.0, 3.0),
    }
    g_min = _num(rng, 50.0, 150.0)
    sigma_kind = rng.random()
    device = {
        "g_min_us": g_min,
        "g_max_us": round(g_min + _num(rng, 100.0, 300.0), 3),
        "program_sigma": ("readc-fig3c" if sigma_kind < 0.4 else
                          "none" if sigma_kind < 0.6 else _num(rng, 0.0, 3.0)),
        "read_sigma_us": _num(rng, 0.0, 0.5) if rng.random() < 0.7 else 0.0,
        "stuck_on_rate": _num(rng, 0.0, 0.02) if rng.random() < 0.2 else 0.0,
        "stuck_off_rate": _num(rng, 0.0, 0.02) if rng.random() < 0.2 else 0.0,
        "bound_variation_pct": _num(rng, 0.0, 3.0) if rng.random() < 0.8 else 0.0,
        "wire_ohm": _num(rng, 0.0, 2.0) if rng.random() < 0.2 else 0.0,
        "seed": _int(rng, 0, 2**31 - 1),
    }
    _draw_columns_per_adc(seed, macro, adc)
    return {"macro": macro, "adc": adc, "device": device}


def _draw_columns_per_adc(seed: int, macro: dict, adc: dict) -> None:
    """Set ``adc.columns_per_adc`` (and for ``k = 8`` raise ``macro.cols`` into
    :data:`SHARED_COLS`), from a stream of its own so that every other key of a seed
    keeps the value it had before the key existed. ``k`` never exceeds ``cols``
    (``2`` and ``3`` fall back to ``cols``), and is 1 with the ``per_column`` scope."""
    rng = np.random.default_rng([int(seed), 0x6D7578])  # "mux"
    k = int(rng.choice(COLUMNS_PER_ADC, p=_COLUMNS_PER_ADC_P))
    cols = _int(rng, *SHARED_COLS)
    if adc["lut_scope"] == "per_column":
        k = 1
    elif k == COLUMNS_PER_ADC[-1]:
        macro["cols"] = cols
    adc["columns_per_adc"] = min(k, macro["cols"])


def random_spec(seed: int) -> MacroSpec:
    """:func:`random_config` validated into a :class:`~golden.spec.MacroSpec`."""
    return MacroSpec.from_dict(random_config(seed))


def random_decoder(seed: int, encoding: str) -> str:
    """One of ``DECODERS[encoding]`` for ``seed`` (independent of the config draws)."""
    options = DECODERS[encoding]
    rng = np.random.default_rng([int(seed), 0x646563])  # "dec"
    return options[int(rng.integers(len(options)))]
