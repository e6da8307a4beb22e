"""The digital periphery, bit-exact: decoders, SR combiner, LUT and shift-add.

This module is the reference that the generated RTL must equal bit for bit. It takes
the Q-cell match vectors of one matrix-vector product (MVM) and returns the signed
fixed-point outputs and the flags the periphery raises. Every step is integer
arithmetic with explicit dtypes: codes are ``uint8`` (``uint16`` after the SR
combiner), LUT values and accumulators ``int64``.

Conventions
-----------
* Match vectors have the cells on the last axis, cell 0 first. Window cell ``k``
  matches when the input lies inside quantisation interval ``k``; threshold cell
  ``k`` matches when the input is at or above threshold ``k`` (thresholds ascending).
* Every match vector decodes to a defined code; what the decoder had to correct is
  reported in a flag bit (:class:`Flag`).
* Inputs are applied bit-serially, **MSB first**: cycle ``t = 0`` carries the MSB.
* LUT values are signed fixed point with ``adc.lut_frac_bits`` fractional bits, held in
  :func:`lut_width` bits; outputs have the same fractional bits and :func:`out_width`
  bits, and no rounding happens after the LUT.
"""

from __future__ import annotations

import enum

import numpy as np

from .spec import DECODERS, MacroSpec

__all__ = [
    "DECODERS",
    "FLAG_MULTI_HOT",
    "FLAG_NON_MONOTONE",
    "FLAG_SR_DISAGREE",
    "FLAG_ZERO_HOT",
    "MAX_ACC_WIDTH",
    "Flag",
    "beats_per_mvm",
    "combine_columns",
    "decode",
    "digital_path",
    "from_beats",
    "group_of",
    "lookup",
    "lut_index",
    "lut_width",
    "mux_groups",
    "n_luts",
    "out_width",
    "shift_add",
    "sr_combine",
    "to_beats",
    "to_fixed",
]


class Flag(enum.IntFlag):
    """Correction flags of the periphery, one bit each (``out_flags`` of the RTL).

    Attributes
    ----------
    ZERO_HOT : 1
        A window match vector had no cell matching (a gap between windows).
    MULTI_HOT : 2
        A window match vector had more than one cell matching (overlapping windows).
    NON_MONOTONE : 4
        A threshold match vector was not a thermometer (a 0 below a 1).
    SR_DISAGREE : 8
        The two super-resolution ADCs' codes differed by more than one.
    """

    ZERO_HOT = 1
    MULTI_HOT = 2
    NON_MONOTONE = 4
    SR_DISAGREE = 8


FLAG_ZERO_HOT = int(Flag.ZERO_HOT)
FLAG_MULTI_HOT = int(Flag.MULTI_HOT)
FLAG_NON_MONOTONE = int(Flag.NON_MONOTONE)
FLAG_SR_DISAGREE = int(Flag.SR_DISAGREE)


MAX_CODE_BITS = 8
"""Widest ADC code the periphery handles (``adc.bits`` is at most 8)."""

MAX_ACC_WIDTH = 63
"""Widest signed LUT value or accumulator allowed, so that int64 is always exact."""


def _match_bits(match) -> np.ndarray:
    m = np.asarray(match)
    if m.ndim < 1:
        raise ValueError(f"match: shape {m.shape} has no cell axis; need (..., n_cells)")
    if m.dtype == np.bool_:
        return m
    if not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"match: dtype {m.dtype} is not allowed; need bool or integer 0/1")
    if m.size and (m.min() < 0 or m.max() > 1):
        raise ValueError(
            f"match: values {m.min()}..{m.max()} are not allowed; match bits must be 0 or 1"
        )
    return m.astype(np.bool_)


def decode(match, encoding: str, decoder: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode Q-cell match vectors into ADC codes and correction flags.

    The decoder is total: every match vector maps to a code in ``0 .. 2**N - 1``.

    * ``window`` / ``"priority"`` (``2**N`` cells): one-hot -> the index of the set
      cell. Zero-hot -> code 0 and :attr:`Flag.ZERO_HOT`. Multi-hot -> the index of
      the **lowest** set cell and :attr:`Flag.MULTI_HOT`.
    * ``threshold`` / ``"ones"`` (``2**N - 1`` cells, the default): code = popcount,
      i.e. the number of realised thresholds at or below the input, which stays
      meaningful when device variation unsorts the thresholds.
    * ``threshold`` / ``"majority"``: 3-input majority bubble correction, corrected
      bit ``c[k] = maj(b[k-1], b[k], b[k+1])`` with ``b[-1] = 1`` and ``b[n] = 0``
      (all cells at once, from the raw bits); code = popcount of ``c``. A single
      isolated 0 between 1s is filled and an isolated 1 between 0s is removed; runs
      of two or more survive, and their cells are still counted.

    With either threshold decoder :attr:`Flag.NON_MONOTONE` is raised when the
    **raw** vector is not a valid thermometer (some cell reads 0 below a cell that
    reads 1).

    Parameters
    ----------
    match : array_like of bool or integer 0/1, shape (..., n_cells)
        Match bits, cell 0 first on the last axis.
    encoding : {"window", "threshold"}
        Q-cell type; fixes the allowed widths: ``n_cells = 2**N`` (window, N = 0..8)
        or ``2**N - 1`` (threshold, N = 1..8).
    decoder : str or None
        One of ``DECODERS[encoding]``; ``None`` picks the first (``"priority"`` or
        ``"ones"``).

    Returns
    -------
    codes : ndarray of uint8, shape (...)
    flags : ndarray of uint8, shape (...)
        OR of :class:`Flag` bits, 0 when nothing was corrected.

    Raises
    ------
    ValueError
        Unknown encoding or decoder, a cell count that is not ``2**N`` (window) or
        ``2**N - 1`` (threshold), or match values other than 0/1.
    """
    if encoding not in DECODERS:
        raise ValueError(
            f"encoding {encoding!r}: must be one of " + ", ".join(repr(e) for e in DECODERS)
        )
    allowed = DECODERS[encoding]
    if decoder is None:
        decoder = allowed[0]
    if decoder not in allowed:
        raise ValueError(
            f"decoder {decoder!r}: encoding {encoding!r} allows "
            + ", ".join(repr(d) for d in allowed)
        )
    b = _match_bits(match)
    n = b.shape[-1]
    if encoding == "window":
        widths = [1 << k for k in range(MAX_CODE_BITS + 1)]
    else:
        widths = [(1 << k) - 1 for k in range(1, MAX_CODE_BITS + 1)]
    if n not in widths:
        form = "2**N" if encoding == "window" else "2**N - 1"
        raise ValueError(
            f"match: {n} cells is not a {encoding} ADC width; need {form} cells "
            f"({', '.join(map(str, widths))})"
        )

    flags = np.zeros(b.shape[:-1], dtype=np.uint8)
    if encoding == "window":
        count = np.count_nonzero(b, axis=-1)
        codes = np.argmax(b, axis=-1).astype(np.uint8)
        flags[count == 0] |= np.uint8(FLAG_ZERO_HOT)
        flags[count > 1] |= np.uint8(FLAG_MULTI_HOT)
        return codes, flags

    rising = b[..., 1:] & ~b[..., :-1]
    flags[np.any(rising, axis=-1)] |= np.uint8(FLAG_NON_MONOTONE)
    if decoder == "majority":
        lo = np.concatenate([np.ones_like(b[..., :1]), b[..., :-1]], axis=-1)
        hi = np.concatenate([b[..., 1:], np.zeros_like(b[..., :1])], axis=-1)
        b = (lo & b) | (b & hi) | (lo & hi)
    codes = np.count_nonzero(b, axis=-1).astype(np.uint8)
    return codes, flags


def sr_combine(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Combine the codes of the two super-resolution ADCs of one column.

    Parameters
    ----------
    a, b : array_like of int, broadcastable
        Codes of ADC A and ADC B, each in ``0 .. 255``.

    Returns
    -------
    sr : ndarray of uint16
        ``a + b`` (the SR LUT index, N+1 bits).
    flags : ndarray of uint8
        :attr:`Flag.SR_DISAGREE` where ``|a - b| > 1``, else 0.

    Raises
    ------
    ValueError
        Non-integer codes or codes outside ``0 .. 255``.
    """
    ai = np.asarray(a)
    bi = np.asarray(b)
    for name, v in (("a", ai), ("b", bi)):
        if not (np.issubdtype(v.dtype, np.integer) or v.dtype == np.bool_):
            raise ValueError(f"{name}: dtype {v.dtype} is not allowed; need integer codes")
        if v.size and (v.min() < 0 or v.max() >= 1 << MAX_CODE_BITS):
            raise ValueError(
                f"{name}: codes {v.min()}..{v.max()} are out of range; need 0..255"
            )
    ai = ai.astype(np.int64)
    bi = bi.astype(np.int64)
    sr = (ai + bi).astype(np.uint16)
    flags = np.where(np.abs(ai - bi) > 1, FLAG_SR_DISAGREE, 0).astype(np.uint8)
    return sr, flags


def _check_spec(spec) -> MacroSpec:
    if not isinstance(spec, MacroSpec):
        raise ValueError(
            f"spec: {type(spec).__name__} is not allowed; need a golden.spec.MacroSpec"
        )
    return spec


def _check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} = {value!r}: must be an integer in {lo}..{hi}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} = {value!r}: must be an integer in {lo}..{hi}")
    return int(value)


def _check_ints(name: str, arr, width: int | None = None) -> np.ndarray:
    """``arr`` as an integer ndarray; with ``width``, check it fits that signed width."""
    a = np.asarray(arr)
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name}: dtype {a.dtype} is not allowed; need integers")
    if width is not None and a.size:
        lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
        if int(a.min()) < lo or int(a.max()) > hi:
            raise ValueError(
                f"{name}: values {a.min()}..{a.max()} do not fit the signed "
                f"{width}-bit range {lo}..{hi}"
            )
    return a


def to_fixed(values, frac_bits: int, width: int) -> np.ndarray:
    """Convert real values to signed fixed point (the LUT contents).

    Rounding is **round half up**: ``q = floor(v * 2**frac_bits + 0.5)``, so ties go
    towards +inf (``0.5 -> 1``, ``-0.5 -> 0``, ``-1.5 -> -1`` with ``frac_bits = 0``).
    It is computed exactly (``floor`` of the scaled value plus a comparison of its
    fractional part with 0.5), with no double rounding of the ``+ 0.5``.
    The result then **saturates** to the signed ``width``-bit range
    ``-2**(width-1) .. 2**(width-1) - 1``; infinities saturate too.

    Parameters
    ----------
    values : array_like of float
        Real values; NaN is not allowed.
    frac_bits : int
        Fractional bits, 0..62.
    width : int
        Total signed width including the sign bit, 1..63.

    Returns
    -------
    ndarray of int64
        Same shape as ``values``; the real value is ``q / 2**frac_bits``.

    Raises
    ------
    ValueError
        ``frac_bits`` or ``width`` out of range, or NaN in ``values``.
    """
    f = _check_int("frac_bits", frac_bits, 0, 62)
    w = _check_int("width", width, 1, MAX_ACC_WIDTH)
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).any():
        raise ValueError("values: NaN cannot be converted to fixed point")
    s = np.ldexp(v, f)
    with np.errstate(invalid="ignore"):
        r = np.floor(s)
        q = r + ((s - r) >= 0.5)
    half = float(1 << (w - 1))
    q = np.clip(q, -half, half).astype(np.int64)
    return np.asarray(np.minimum(q, (1 << (w - 1)) - 1), dtype=np.int64)


def _max_partial_sum(spec: MacroSpec) -> int:
    m = spec.macro
    return m.rows * ((1 << m.cell_bits) - 1)


def lut_width(spec: MacroSpec) -> int:
    """Signed width of one LUT value.

    A physical column's partial sum, in units of one cell level, lies in
    ``0 .. P`` with ``P = rows * (2**cell_bits - 1)``; the ADC full scale is at most
    ``[-0.5, P + 0.5]``, so every reconstruction value (levels and SR boundaries)
    lies there. With ``f = adc.lut_frac_bits`` the largest fixed-point value is
    ``M = to_fixed(P + 0.5, f) = floor(((2P + 1) * 2**f + 1) / 2)`` and the most
    negative one, ``to_fixed(-0.5, f) >= -M``, so

        ``lut_width = bit_length(M) + 1``  (magnitude bits plus sign).

    Parameters
    ----------
    spec : MacroSpec

    Returns
    -------
    int
    """
    spec = _check_spec(spec)
    f = spec.adc.lut_frac_bits
    big = ((2 * _max_partial_sum(spec) + 1) * (1 << f) + 1) // 2
    return big.bit_length() + 1


def n_luts(spec: MacroSpec) -> int:
    """Number of LUTs: 1 (``shared``), ``slices`` (+1 for the offset mapping's
    reference column) (``per_slice``), or ``phys_cols`` (``per_column``).

    Parameters
    ----------
    spec : MacroSpec

    Returns
    -------
    int
    """
    spec = _check_spec(spec)
    m, scope = spec.macro, spec.adc.lut_scope
    if scope == "shared":
        return 1
    if scope == "per_slice":
        return m.slices + int(m.has_ref_column)
    return m.phys_cols


def lut_index(spec: MacroSpec) -> np.ndarray:
    """Which LUT each physical column reads.

    ``shared``: all 0. ``per_slice``: the column's slice ``s`` (physical column
    ``p = (c*slices + s)*polarities + polarity``, so ``s = (p // polarities) %
    slices``); the offset mapping's reference column (the last physical column) has
    its own LUT, index ``slices``. ``per_column``: the physical column itself.

    Parameters
    ----------
    spec : MacroSpec

    Returns
    -------
    ndarray of int64, shape (phys_cols,)
        Values in ``0 .. n_luts(spec) - 1``.
    """
    spec = _check_spec(spec)
    m, scope = spec.macro, spec.adc.lut_scope
    p = np.arange(m.phys_cols, dtype=np.int64)
    if scope == "shared":
        return np.zeros_like(p)
    if scope == "per_column":
        return p
    idx = (p // m.polarities) % m.slices
    if m.has_ref_column:
        idx[-1] = m.slices
    return idx


def mux_groups(spec: MacroSpec) -> np.ndarray:
    """The physical columns each ADC group reads, in the order it reads them.

    With ``k = adc.columns_per_adc``, ADC group ``g = (q*slices + s)*polarities +
    polarity`` serves slice ``s`` and polarity ``polarity`` of the logical columns
    ``q*k .. q*k + k - 1`` (``q`` in ``0 .. ceil(cols/k) - 1``) and reads column
    ``q*k + j`` in phase ``j``; the offset mapping's reference column is the last
    group, read in phase 0. Every column of a group has the same slice, hence the
    same LUT (:func:`lut_index`; ``per_column`` scope needs ``k = 1``). For ``k = 1``
    group ``g`` is physical column ``g``.

    Parameters
    ----------
    spec : MacroSpec

    Returns
    -------
    ndarray of int64, shape (n_groups, k)
        Physical column of group ``g`` in phase ``j``, or -1 where the group has no
        column in that phase (the last column group when ``cols % k != 0``, the
        reference group in phases ``j > 0``).
    """
    spec = _check_spec(spec)
    m, k = spec.macro, spec.adc.columns_per_adc
    groups = -(-m.cols // k)
    n = groups * m.slices * m.polarities + int(m.has_ref_column)
    out = np.full((n, k), -1, dtype=np.int64)
    for q in range(groups):
        for s in range(m.slices):
            for pol in range(m.polarities):
                g = (q * m.slices + s) * m.polarities + pol
                for j in range(min(k, m.cols - q * k)):
                    out[g, j] = m.phys_index(q * k + j, s, pol)
    if m.has_ref_column:
        out[-1, 0] = m.phys_cols - 1
    return out


def group_of(spec: MacroSpec) -> np.ndarray:
    """The ADC group that converts each physical column (see :func:`mux_groups`).

    Returns
    -------
    ndarray of int64, shape (phys_cols,)
        ``group_of(spec)[p] = g`` where ``p`` is in row ``g`` of ``mux_groups``; the
        identity for ``columns_per_adc = 1``.
    """
    groups = mux_groups(spec)
    out = np.empty(spec.macro.phys_cols, dtype=np.int64)
    g, _ = np.nonzero(groups >= 0)
    out[groups[groups >= 0]] = g
    return out


def beats_per_mvm(spec: MacroSpec) -> int:
    """``in_match`` beats of one MVM: ``input_bits * columns_per_adc``."""
    spec = _check_spec(spec)
    return spec.macro.input_bits * spec.adc.columns_per_adc


def to_beats(match, spec: MacroSpec) -> np.ndarray:
    """Per-column match bits as the periphery's beat stream.

    Beat ``t*k + j`` (input bit ``t``, MSB first, phase ``j`` of ``k =
    columns_per_adc``) carries, in slot ``g``, the match vectors of the physical
    column ADC group ``g`` reads in phase ``j`` (:func:`mux_groups`). Empty slots are
    don't-care for the periphery; this function fills them with ``False``.

    Parameters
    ----------
    match : array_like of bool, shape (batch, input_bits, phys_cols, adcs_per_column, cells)

    Returns
    -------
    ndarray of bool, shape (batch, input_bits * k, n_groups, adcs_per_column, cells)
        For ``k = 1`` the input itself (a copy).

    Raises
    ------
    ValueError
        ``match`` has the wrong shape.
    """
    spec = _check_spec(spec)
    m, adc = spec.macro, spec.adc
    bits = _match_bits(match)
    want = (m.input_bits, m.phys_cols, adc.adcs_per_column, adc.cells)
    if bits.ndim != 5 or bits.shape[1:] != want:
        raise ValueError(
            f"match: shape {bits.shape} must be (batch, input_bits, phys_cols, "
            f"adcs_per_column, cells) = (batch, {', '.join(map(str, want))})"
        )
    groups = mux_groups(spec)
    k = adc.columns_per_adc
    padded = np.concatenate([bits, np.zeros_like(bits[:, :, :1])], axis=2)
    beats = padded[:, :, groups.T]  # (batch, input_bits, k, n_groups, adcs, cells)
    return beats.reshape(bits.shape[0], m.input_bits * k, *beats.shape[3:])


def from_beats(beats, spec: MacroSpec) -> np.ndarray:
    """The inverse of :func:`to_beats`: a beat stream back to per-column match bits.

    Empty slots (``mux_groups == -1``) are dropped, whatever they hold, exactly as the
    periphery ignores them.

    Parameters
    ----------
    beats : array_like of bool, shape (batch, input_bits * k, n_groups, adcs_per_column, cells)

    Returns
    -------
    ndarray of bool, shape (batch, input_bits, phys_cols, adcs_per_column, cells)

    Raises
    ------
    ValueError
        ``beats`` has the wrong shape.
    """
    spec = _check_spec(spec)
    m, adc = spec.macro, spec.adc
    groups = mux_groups(spec)
    k = adc.columns_per_adc
    bits = _match_bits(beats)
    want = (m.input_bits * k, groups.shape[0], adc.adcs_per_column, adc.cells)
    if bits.ndim != 5 or bits.shape[1:] != want:
        raise ValueError(
            f"beats: shape {bits.shape} must be (batch, input_bits * columns_per_adc, "
            f"n_groups, adcs_per_column, cells) = (batch, {', '.join(map(str, want))})"
        )
    split = bits.reshape(bits.shape[0], m.input_bits, k, *bits.shape[2:])
    g, j = np.nonzero(groups >= 0)
    out = np.empty((bits.shape[0], m.input_bits, m.phys_cols, *bits.shape[3:]), dtype=bool)
    out[:, :, groups[g, j]] = split[:, :, j, g]
    return out


def out_width(spec: MacroSpec) -> int:
    """Signed width of one output: the exact range of :func:`shift_add` over every
    LUT content of :func:`lut_width` ``L`` bits and every code sequence.

    ``y`` is a sum of LUT values ``v`` in ``[-2**(L-1), 2**(L-1) - 1]`` times integer
    coefficients, each the product of a cycle weight (``+2**(T-1-t)``, but
    ``-2**(T-1)`` for the MSB with signed inputs; ``T = input_bits``) and a column
    weight (``+2**(s*cell_bits)`` for a + column, ``-2**(s*cell_bits)`` for a -
    column, ``-2**(weight_bits-1)`` for the offset reference column). With

    * ``Hp, Hn`` the summed positive / negative cycle weights: ``2**T - 1, 0``
      (unsigned) or ``2**(T-1) - 1, 2**(T-1)`` (signed),
    * ``Kp, Kn`` the same for the column weights of one logical column:
      ``Kp = sum_s 2**(s*cell_bits)``; ``Kn = Kp`` (differential) or
      ``2**(weight_bits-1)`` (offset),
    * ``Cp = Hp*Kp + Hn*Kn`` and ``Cn = Hp*Kn + Hn*Kp``,

    the outputs span ``lo = -2**(L-1)*Cp - (2**(L-1) - 1)*Cn`` to
    ``hi = (2**(L-1) - 1)*Cp + 2**(L-1)*Cn``; both ends are reachable, and

        ``out_width = 1 + max(bit_length(hi), bit_length(-lo - 1))``.

    Every intermediate of :func:`shift_add` has a magnitude of at most
    ``2**(L-1) * (Cp + Cn) <= max(hi, -lo) + Cp``, so int64 is exact while
    ``out_width <= 63``.

    Parameters
    ----------
    spec : MacroSpec

    Returns
    -------
    int
    """
    lo, hi = _out_range(spec)
    return 1 + max(hi.bit_length(), (-lo - 1).bit_length())


def _out_range(spec: MacroSpec) -> tuple[int, int]:
    spec = _check_spec(spec)
    m = spec.macro
    t = m.input_bits
    hp, hn = ((1 << (t - 1)) - 1, 1 << (t - 1)) if m.input_signed else ((1 << t) - 1, 0)
    kp = sum(1 << (s * m.cell_bits) for s in range(m.slices))
    kn = (1 << (m.weight_bits - 1)) if m.has_ref_column else kp
    cp, cn = hp * kp + hn * kn, hp * kn + hn * kp
    half = 1 << (lut_width(spec) - 1)
    return -half * cp - (half - 1) * cn, (half - 1) * cp + half * cn


def shift_add(values, spec: MacroSpec) -> np.ndarray:
    """Shift-add the looked-up LUT values of one MVM into the logical outputs.

    Per physical column, MSB-first Horner over the cycles: ``acc = v_0`` (``acc =
    -v_0`` with ``input_signed``, the MSB carrying ``-2**(T-1)``), then
    ``acc = 2*acc + v_t`` for ``t = 1 .. T-1``. Then per logical column ``c``::

        y_c = sum_s 2**(s*cell_bits) * (acc[c, s, +] - acc[c, s, -])   # differential
        y_c = sum_s 2**(s*cell_bits) * acc[c, s] - 2**(weight_bits-1) * acc[ref]  # offset

    with physical columns ordered as :meth:`golden.spec.ArraySpec.phys_index` and the
    reference column (all cells at level 1, so it measures ``sum(x)``) last. No
    rounding: ``y`` keeps ``adc.lut_frac_bits`` fractional bits and is exact in int64.

    Parameters
    ----------
    values : array_like of int, shape (..., input_bits, phys_cols)
        LUT values per cycle (axis -2, **MSB first**) and physical column; each must
        fit :func:`lut_width`.
    spec : MacroSpec

    Returns
    -------
    ndarray of int64, shape (..., cols)
        Fits the signed :func:`out_width` range.

    Raises
    ------
    ValueError
        Wrong shape or dtype, values outside the LUT width, or ``out_width(spec)``
        above 63 bits (int64 could no longer be exact).
    """
    spec = _check_spec(spec)
    m = spec.macro
    ow = out_width(spec)
    if ow > MAX_ACC_WIDTH:
        raise ValueError(
            f"out_width = {ow} bits exceeds {MAX_ACC_WIDTH}: shrink macro.rows, "
            "macro.input_bits, macro.weight_bits or adc.lut_frac_bits"
        )
    v = _check_ints("values", values, lut_width(spec))
    want = (m.input_bits, m.phys_cols)
    if v.ndim < 2 or v.shape[-2:] != want:
        raise ValueError(f"values: shape {v.shape} must end in (input_bits, phys_cols) = {want}")
    return _shift_add(v.astype(np.int64), spec)


def _shift_add(v: np.ndarray, spec: MacroSpec) -> np.ndarray:
    """:func:`shift_add` on checked int64 values (no validation: internal fast path)."""
    m = spec.macro
    acc = -v[..., 0, :] if m.input_signed else v[..., 0, :].copy()
    for t in range(1, m.input_bits):
        acc *= 2
        acc += v[..., t, :]
    return combine_columns(acc, spec)


def combine_columns(acc: np.ndarray, spec: MacroSpec) -> np.ndarray:
    """Per-physical-column accumulators, int64 ``(..., phys_cols)``, to the logical
    outputs ``(..., cols)``: the last stage of :func:`shift_add` (slice weights
    ``2**(cell_bits * slice)``, polarity difference, reference-column offset removal).

    Unchecked, for the fast path of :meth:`golden.macro.Macro.run`: ``acc`` must hold
    the int64 input-bit (Horner) sums of the LUT values.
    """
    m = spec.macro
    n_main = m.cols * m.slices * m.polarities
    main = acc[..., :n_main].reshape(*acc.shape[:-1], m.cols, m.slices, m.polarities)
    per_slice = main[..., 0] - main[..., 1] if m.polarities == 2 else main[..., 0]
    weights = np.left_shift(np.int64(1), m.cell_bits * np.arange(m.slices, dtype=np.int64))
    y = np.sum(per_slice * weights, axis=-1, dtype=np.int64)
    if m.has_ref_column:
        y = y - np.int64(1 << (m.weight_bits - 1)) * acc[..., -1:]
    return y


def lookup(codes, luts, spec: MacroSpec) -> np.ndarray:
    """Look up each physical column's code in its LUT (see :func:`lut_index`).

    Parameters
    ----------
    codes : array_like of int, shape (..., phys_cols)
        LUT indices in ``0 .. adc.lut_entries - 1``.
    luts : array_like of int, shape (n_luts(spec), adc.lut_entries)
        Fixed-point LUT values (e.g. from :func:`to_fixed`), each fitting
        :func:`lut_width`.
    spec : MacroSpec

    Returns
    -------
    ndarray of int64, same shape as ``codes``
        ``luts[lut_index(spec)[p], codes[..., p]]``.

    Raises
    ------
    ValueError
        Wrong shapes or dtypes, codes out of range or LUT values too wide.
    """
    spec = _check_spec(spec)
    entries = spec.adc.lut_entries
    lt = _check_ints("luts", luts, lut_width(spec))
    if lt.shape != (n_luts(spec), entries):
        raise ValueError(
            f"luts: shape {lt.shape} must be (n_luts, lut_entries) = {(n_luts(spec), entries)}"
        )
    c = _check_ints("codes", codes)
    if c.ndim < 1 or c.shape[-1] != spec.macro.phys_cols:
        raise ValueError(
            f"codes: shape {c.shape} must end in phys_cols = {spec.macro.phys_cols}"
        )
    if c.size and (int(c.min()) < 0 or int(c.max()) >= entries):
        raise ValueError(f"codes: values {c.min()}..{c.max()} are out of range 0..{entries - 1}")
    return lt.astype(np.int64)[lut_index(spec), c]


def digital_path(match, luts, spec: MacroSpec) -> tuple[np.ndarray, np.ndarray]:
    """The whole periphery for a batch of MVMs: what ``out_data``/``out_flags`` carry.

    Decode every ADC (:func:`decode` with ``adc.encoding``), combine the two ADCs of a
    column with :func:`sr_combine` when ``adc.sr != "none"``, :func:`lookup` and
    :func:`shift_add`. The flags of all decodes and SR combinations of one MVM are
    OR-ed together.

    Parameters
    ----------
    match : array_like of bool, shape (batch, input_bits, phys_cols, adcs_per_column, cells)
        Match bits per MVM, cycle (MSB first), physical column, ADC (A then B) and
        cell (the ``in_match`` order of the RTL, one cycle per beat).
    luts : array_like of int, shape (n_luts(spec), adc.lut_entries)
    spec : MacroSpec
        Its ``adc.decoder`` picks the decoder (:attr:`golden.spec.AdcSpec.decoder_name`).

    Returns
    -------
    out : ndarray of int64, shape (batch, cols)
        Outputs with ``adc.lut_frac_bits`` fractional bits.
    flags : ndarray of uint8, shape (batch,)
        OR of the :class:`Flag` bits raised during each MVM.

    Raises
    ------
    ValueError
        Wrong shapes, or anything the steps reject.
    """
    spec = _check_spec(spec)
    m, adc = spec.macro, spec.adc
    bits = _match_bits(match)
    want = (m.input_bits, m.phys_cols, adc.adcs_per_column, adc.cells)
    if bits.ndim != 5 or bits.shape[1:] != want:
        raise ValueError(
            f"match: shape {bits.shape} must be (batch, input_bits, phys_cols, "
            f"adcs_per_column, cells) = (batch, {', '.join(map(str, want))})"
        )
    codes, flags = decode(bits, adc.encoding, adc.decoder_name)
    if adc.adcs_per_column == 2:
        code, sr_flags = sr_combine(codes[..., 0], codes[..., 1])
        flags = flags[..., 0] | flags[..., 1] | sr_flags
    else:
        code, flags = codes[..., 0], flags[..., 0]
    out = shift_add(lookup(code, luts, spec), spec)
    return out, np.bitwise_or.reduce(flags, axis=(1, 2)).astype(np.uint8)
