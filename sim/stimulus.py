"""Stimuli for the periphery top's bench, computed from the config with golden.

Every array of match vectors has the shape ``(mvms, input_bits, phys_cols,
adcs_per_column, cells)``: per physical column, input bit MSB first. The bench's
source turns each MVM into the periphery's ``in_match`` beats with
:func:`golden.digital.to_beats` (``input_bits * columns_per_adc`` beats, ADC group
slots; random junk in the empty slots), so the stimuli do not depend on
``adc.columns_per_adc``. LUTs are ``(n_luts, lut_entries)`` fixed-point integers.
:func:`make_stimulus` collects them; :func:`save` writes them as ``.npz`` (no pickles)
named after their parameters. Only stimuli live here: the bench computes every expected
result itself from what its input monitor sees on the bus.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from golden.digital import lut_width, n_luts
from golden.macro import Macro
from golden.spec import MacroSpec

__all__ = [
    "bubbly_match",
    "directed_bubbles",
    "directed_vectors",
    "extreme_lut",
    "extreme_match",
    "ideal_match",
    "macro_stimulus",
    "make_stimulus",
    "output_signs",
    "ramp_lut",
    "random_lut",
    "save",
    "stimulus_name",
]


def ideal_match(spec: MacroSpec, codes) -> np.ndarray:
    """Bubble-free match vectors for ADC codes ``codes`` (shape ``(...)``): one-hot
    (window) or thermometer (threshold); shape ``(..., cells)``."""
    cells = np.arange(spec.adc.cells)
    c = np.asarray(codes)[..., None]
    return cells == c if spec.adc.encoding == "window" else cells < c


def _codes_shape(spec: MacroSpec, mvms: int) -> tuple[int, ...]:
    m, a = spec.macro, spec.adc
    return (mvms, m.input_bits, m.phys_cols, a.adcs_per_column)


def operands(spec: MacroSpec, batch: int, rng: np.random.Generator):
    """Random weights ``(rows, cols)`` and ReLU-like inputs ``(batch, rows)`` (30 %
    zeros); the first rows of ``x`` are all-zero and full-scale inputs (the largest,
    and for signed inputs also the most negative, value on every row)."""
    m = spec.macro
    lo, hi = m.input_range
    w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, size=(m.rows, m.cols))
    x = rng.integers(lo, hi + 1, size=(batch, m.rows))
    x[rng.random(x.shape) < 0.3] = 0
    fixed = [np.zeros(m.rows, dtype=np.int64), np.full(m.rows, hi)]
    if lo < 0:
        fixed.append(np.full(m.rows, lo))
    k = min(len(fixed), batch)
    x[:k] = np.array(fixed[:k])
    return w, x


def macro_stimulus(spec: MacroSpec, mvms: int, rng: np.random.Generator):
    """Match vectors of a golden :class:`golden.macro.Macro` calibrated on its own
    inputs, with the config's device variation (bubbles at their natural rate), and the
    calibrated LUTs (fixed point) that go with them."""
    w, x = operands(spec, mvms, rng)
    macro = Macro(spec, w)
    macro.calibrate(x)
    return macro.match_vectors(x), macro.calibration.lut_fixed(spec)


def bubbly_match(spec: MacroSpec, mvms: int, rng: np.random.Generator) -> np.ndarray:
    """Random codes (SR pairs mostly within one code of each other) with bubbles:
    single flipped cells (6 %), two flipped cells two apart (2 %), all-zero (1 %) and
    all-one (0.5 %) vectors."""
    a = spec.adc
    shape = _codes_shape(spec, mvms)
    codes = rng.integers(0, a.levels, size=shape)
    if a.adcs_per_column == 2:
        b = np.clip(codes[..., 0] + rng.integers(-1, 2, size=shape[:-1]), 0, a.levels - 1)
        far = rng.random(b.shape) < 0.05
        b[far] = rng.integers(0, a.levels, size=int(far.sum()))
        codes[..., 1] = b
    match = ideal_match(spec, codes)
    u = rng.random(shape)
    pos = rng.integers(0, a.cells, size=shape)
    one = np.nonzero(u < 0.06)
    match[(*one, pos[one])] ^= True
    two = np.nonzero((u >= 0.06) & (u < 0.08))
    match[(*two, pos[two])] ^= True
    match[(*two, (pos[two] + 2) % a.cells)] ^= True
    match[(u >= 0.08) & (u < 0.09)] = False
    match[(u >= 0.09) & (u < 0.095)] = True
    return match


def directed_vectors(spec: MacroSpec) -> list[tuple[str, np.ndarray]]:
    """Named single-ADC match vectors, each a decoder corner case."""
    n = spec.adc.cells
    mid = max(n // 2 - 1, 0)

    def vec(*set_cells):
        v = np.zeros(n, dtype=bool)
        v[list(set_cells)] = True
        return v

    if spec.adc.encoding == "window":
        cases = [("one_hot_lowest", vec(0)), ("one_hot_highest", vec(n - 1)),
                 ("zero_hot", vec()), ("all_hot", np.ones(n, dtype=bool))]
        if n >= 2:
            cases.append(("two_hot_adjacent", vec(mid, mid + 1)))
        if n >= 4:
            cases += [("two_hot_one_and_two", vec(1, 2)),
                      ("two_hot_apart", vec(1, n - 2)), ("three_hot", vec(0, mid, n - 1))]
        return cases
    therm = np.arange(n)
    cases = [("thermometer_empty", vec()), ("thermometer_full", np.ones(n, dtype=bool)),
             ("thermometer_half", therm < n // 2 + 1)]
    if n >= 3:
        hole = therm < mid + 2
        hole[mid] = False
        cases += [("single_zero_bubble", hole), ("single_one_above", vec(0, n - 1)),
                  ("top_cell_only", vec(n - 1))]
    if n >= 7:
        run = therm < mid + 3
        run[mid:mid + 2] = False
        cases.append(("two_cell_bubble", run))
    return cases


def directed_bubbles(spec: MacroSpec, rng: np.random.Generator):
    """One MVM per directed case: every input bit and column carries ideal random
    codes, and in input bit 0 ADC A (and with SR, in a second MVM, ADC B) of one
    physical column (a different one for each MVM) carries the case's vector - one
    column, so that the + and - columns of a differential pair cannot cancel a decoding
    error. The cases repeat until every physical column (so with shared ADCs every ADC
    group in every phase) has carried one. With SR, code pairs that agree, differ by
    one and differ by two or more (``sr_disagree``) are added.

    Returns
    -------
    match : bool ndarray (mvms, input_bits, phys_cols, adcs, cells)
    names : str ndarray (mvms,)
    """
    a = spec.adc
    out, names = [], []
    cases = directed_vectors(spec)
    rounds = -(-spec.macro.phys_cols // (len(cases) * a.adcs_per_column))
    for name, v in cases * rounds:
        for adc in range(a.adcs_per_column):
            base = ideal_match(spec, rng.integers(0, a.levels, size=_codes_shape(spec, 1)))
            base[0, 0, len(out) % spec.macro.phys_cols, adc] = v
            out.append(base)
            names.append(name if a.adcs_per_column == 1 else f"{name}_adc{'AB'[adc]}")
    if a.adcs_per_column == 2:
        top = a.levels - 1
        for name, (ca, cb) in {"sr_agree": (top, top), "sr_adjacent": (1, 2),
                               "sr_apart_by_two": (0, min(2, top)),
                               "sr_extremes": (0, top)}.items():
            codes = rng.integers(0, a.levels, size=_codes_shape(spec, 1))
            p = len(out) % spec.macro.phys_cols
            codes[0, :, p, 0], codes[0, :, p, 1] = ca, cb
            out.append(ideal_match(spec, codes))
            names.append(name)
    return np.concatenate(out), np.array(names)


def output_signs(spec: MacroSpec) -> np.ndarray:
    """Sign of each (beat, physical column)'s weight in the output: + for the
    unsigned beats and + columns, - for a signed MSB beat, - columns and the offset
    reference column."""
    m = spec.macro
    s = np.ones((m.input_bits, m.phys_cols), dtype=np.int64)
    if m.input_signed:
        s[0] *= -1
    if m.polarities == 2:
        s[:, 1::2] *= -1
    if m.has_ref_column:
        s[:, -1] *= -1
    return s


def extreme_match(spec: MacroSpec) -> np.ndarray:
    """Two MVMs that drive the output to its largest and its smallest value when
    every LUT has its minimum at entry 0 and its maximum at the last entry
    (:func:`extreme_lut`). With SR both ADCs read the same code."""
    a = spec.adc
    s = output_signs(spec)
    top = a.levels - 1
    codes = np.stack([np.where(s > 0, top, 0), np.where(s > 0, 0, top)])
    return ideal_match(spec, np.repeat(codes[..., None], a.adcs_per_column, axis=-1))


def random_lut(spec: MacroSpec, rng: np.random.Generator) -> np.ndarray:
    """Random LUT contents over the whole signed ``lut_width`` range."""
    half = 1 << (lut_width(spec) - 1)
    return rng.integers(-half, half, size=(n_luts(spec), spec.adc.lut_entries))


def ramp_lut(spec: MacroSpec, rng: np.random.Generator) -> np.ndarray:
    """Every LUT a rising ramp over most of the ``lut_width`` range with a random start
    and slope: distinct entries wherever the width allows, so that decoding any code
    wrongly changes the value."""
    half = 1 << (lut_width(spec) - 1)
    n, e = n_luts(spec), spec.adc.lut_entries
    lo = rng.integers(-half, -half // 2 + 1, size=(n, 1))
    hi = rng.integers(half // 2, half, size=(n, 1))
    return np.round(lo + (hi - lo) * np.arange(e) / max(e - 1, 1)).astype(np.int64)


def extreme_lut(spec: MacroSpec, rng: np.random.Generator) -> np.ndarray:
    """:func:`random_lut` with every LUT's entry 0 at the minimum and its last entry
    at the maximum of the ``lut_width`` range (``lut_entries - 1`` is what an SR
    combiner outputs for two top codes)."""
    lut = random_lut(spec, rng)
    half = 1 << (lut_width(spec) - 1)
    lut[:, 0] = -half
    lut[:, -1] = half - 1
    return lut


def make_stimulus(spec: MacroSpec, *, seed: int, mvms: int) -> dict[str, np.ndarray]:
    """Every stimulus of the top bench, from ``seed``:

    ``macro_match``/``macro_lut`` (``mvms`` MVMs of the golden macro, first the zero
    and full-scale inputs), ``directed_match``/``directed_names``, ``bubbly_match``
    (24 random bubbly MVMs), ``clean_match`` (8 bubble-free MVMs: all codes 0, all
    top codes, then random), ``victim_match`` (one MVM of top codes with a multi-hot
    or non-monotone vector, to be cut short by a reset), ``extreme_match``/
    ``extreme_lut``, ``ramp_lut`` (distinct entries) and ``new_lut`` (random
    full-range LUT contents).
    """
    rng = np.random.default_rng([seed, 0x51A])
    a = spec.adc
    macro_match, macro_lut = macro_stimulus(spec, mvms, rng)
    directed, names = directed_bubbles(spec, rng)
    clean_codes = rng.integers(0, a.levels, size=_codes_shape(spec, 8))
    clean_codes[0] = 0
    clean_codes[1] = a.levels - 1
    victim = ideal_match(spec, np.full(_codes_shape(spec, 1), a.levels - 1))
    victim[0, :, 0, 0, :] = True  # multi-hot (window) or full; plus a bubble below
    if a.encoding == "threshold" and a.cells >= 2:
        victim[0, :, 0, 0, 0] = False  # non-monotone
    return {
        "macro_match": macro_match,
        "macro_lut": macro_lut,
        "directed_match": directed,
        "directed_names": names,
        "bubbly_match": bubbly_match(spec, 24, rng),
        "clean_match": ideal_match(spec, clean_codes),
        "victim_match": victim,
        "extreme_match": extreme_match(spec),
        "extreme_lut": extreme_lut(spec, rng),
        "ramp_lut": ramp_lut(spec, rng),
        "new_lut": random_lut(spec, rng),
    }


def stimulus_name(seed: int, mvms: int) -> str:
    """File name carrying the stimulus parameters."""
    return f"stimulus-seed{seed}-mvms{mvms}.npz"


def save(stim: dict[str, np.ndarray], path: Path) -> Path:
    """Write ``stim`` as an uncompressed ``.npz`` (loadable with ``allow_pickle=False``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **stim)
    return path
