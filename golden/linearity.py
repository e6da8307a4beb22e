"""Static linearity (INL and DNL) of realised Q-cell ADCs.

Definitions, for an ADC with ``K`` codes and code transitions ``T_1 .. T_{K-1}``
(``T_k`` is the lowest input at which the output code is ``>= k``; array index
``k - 1``):

* reference ``"ideal"``: the reference transitions are the nominal (designed) ones,
  ``R_k = nominal_k``, in units of ``lsb`` (default the mean nominal code width
  ``(nominal_{K-1} - nominal_1) / (K - 2)``, the LSB of a uniform ADC);
* reference ``"endpoint"``: gain and offset are removed first: the nominal transitions
  are mapped affinely onto the measured end points, ``R_k = T_1 + (nominal_k -
  nominal_1) * g`` with ``g = (T_{K-1} - T_1) / (nominal_{K-1} - nominal_1)``, and the
  unit is ``lsb * g``. With uniform nominal transitions (the default) this is the
  usual line through the first and last transitions, and ``INL_1 = INL_{K-1} = 0``.

Then, per code ``k = 0 .. K-1`` (``K`` values, like the ReADC paper's fig. 4a/4b tables
of ``2**N`` rows per N-bit ADC):

* ``INL[k] = (T_k - R_k) / LSB`` for ``k >= 1``; ``INL[0] = 0`` (code 0 has no lower
  transition; its lower edge is the full-scale bottom);
* ``DNL[k] = INL[k+1] - INL[k]`` for ``k <= K - 2``: the deviation of code k's width
  from its reference width (code 0 starts at the fixed full-scale bottom, so
  ``DNL[0] = INL[1]``: 0 with ``"endpoint"``); ``DNL[K-1] = 0`` (the top code is
  open-ended).

A skipped (missing) code has ``DNL = -1`` (uniform nominal). A code a ramp never
reached has a NaN transition and NaN INL there (everywhere with ``"endpoint"`` if it is
an end point), and NaN DNL beside it.

Transitions come from :func:`measure_transitions`: exact for threshold banks read by
the ones-counter (the sorted realised thresholds), from a ramp for any bank and decoder
(:func:`transitions_from_ramp`, the code-edge method), or per cell (each threshold as
programmed, unsorted). The ReADC paper's fig. 4c/4d RMS INL/DNL follow the per-cell
convention: their RMS DNL grows as ``sqrt(2)`` times the threshold sigma in LSB well
past 1 LSB, which sorted (decoded) transitions cannot do.
"""

from __future__ import annotations

import numpy as np

from . import digital, qcell

__all__ = [
    "REFERENCES",
    "inl_dnl",
    "measure_transitions",
    "rms_inl_dnl_vs_variation",
    "transitions_from_ramp",
    "uniform_transitions",
]

REFERENCES = ("endpoint", "ideal")


def uniform_transitions(bits: int, full_scale) -> np.ndarray:
    """Nominal transitions of a uniform N-bit ADC: ``lo + k (hi - lo) / 2**N``, k = 1..2**N-1.

    Parameters
    ----------
    bits : int
        Resolution, 1..16.
    full_scale : (float, float)
        Input range, ``lo < hi``.

    Returns
    -------
    ndarray of float64, shape (2**N - 1,)

    Raises
    ------
    ValueError
        For bad ``bits`` or ``full_scale``.
    """
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 1 <= bits <= 16:
        raise ValueError(f"bits = {bits!r}: must be an integer in 1..16")
    lo, hi = qcell.check_full_scale("full_scale", full_scale)
    k = np.arange(1, 1 << int(bits), dtype=np.float64)
    return lo + k * ((hi - lo) / (1 << int(bits)))


def transitions_from_ramp(ramp, codes, n_codes: int) -> np.ndarray:
    """Code transitions measured with a slow ramp (the code-edge method).

    Transition ``k`` is the first ramp value whose output code is ``>= k``. With a
    non-monotone ADC (bubbles) the code may fall back below k later; the first
    crossing still counts. Resolution is the ramp step.

    Parameters
    ----------
    ramp : array_like of float, shape (M,)
        Strictly increasing inputs.
    codes : array_like of int, shape (..., M)
        Output codes for each ramp value, in ``0 .. n_codes - 1``; leading axes are a
        batch of ADCs.
    n_codes : int
        Codes of the ADC, ``K >= 2``.

    Returns
    -------
    ndarray of float64, shape (..., n_codes - 1)
        ``T_1 .. T_{K-1}``; NaN where the ramp never reached code ``k``.

    Raises
    ------
    ValueError
        For a non-increasing ramp, mismatched lengths or out-of-range codes.
    """
    r = np.asarray(ramp, dtype=np.float64)
    if r.ndim != 1 or r.size < 1 or not np.all(np.isfinite(r)) or np.any(np.diff(r) <= 0):
        raise ValueError("ramp: must be a 1-D, finite, strictly increasing array")
    if isinstance(n_codes, bool) or not isinstance(n_codes, int | np.integer) or n_codes < 2:
        raise ValueError(f"n_codes = {n_codes!r}: must be an integer >= 2")
    c = np.asarray(codes)
    if not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"codes: dtype {c.dtype} is not allowed; need integers")
    if c.ndim < 1 or c.shape[-1] != r.size:
        raise ValueError(f"codes.shape = {c.shape}: the last axis must match ramp length {r.size}")
    if c.size and (c.min() < 0 or c.max() >= n_codes):
        raise ValueError(f"codes: values {c.min()}..{c.max()} are out of range 0..{n_codes - 1}")
    batch = c.shape[:-1]
    rows = c.reshape(-1, r.size).astype(np.int64)
    reached = np.maximum.accumulate(rows, axis=-1)
    # Points below transition k = points whose running-max code is < k: a cumulative
    # histogram of the running max, one bincount for the whole batch.
    slot = reached + np.arange(rows.shape[0], dtype=np.int64)[:, np.newaxis] * n_codes
    hist = np.bincount(slot.ravel(), minlength=rows.shape[0] * n_codes)
    below = np.cumsum(hist.reshape(rows.shape[0], n_codes), axis=-1)[:, :-1]
    t = np.where(below < r.size, r[np.minimum(below, r.size - 1)], np.nan)
    return t.reshape(*batch, n_codes - 1)


def measure_transitions(bank: qcell.QCellBank, *, ramp=None, decoder: str | None = None,
                        per_cell: bool = False) -> np.ndarray:
    """Code transitions of a realised bank.

    Parameters
    ----------
    bank : golden.qcell.QCellBank
    ramp : array_like of float or None
        ``None``: the exact transitions of a threshold bank read by the ones-counter
        (its sorted thresholds, :attr:`golden.qcell.QCellBank.transitions`). Otherwise
        the bank is swept with this ramp and decoded with ``decoder``
        (:func:`transitions_from_ramp`), for any encoding and decoder.
    decoder : str or None
        Decoder for the ramp sweep (:func:`golden.digital.decode`).
    per_cell : bool
        Return each cell's own transition instead of the decoded ones: threshold k
        (unsorted) or the lower bound of window cell k. This is the convention of the
        ReADC paper's fig. 4 (INL/DNL of every cell's programmed threshold): it equals
        the decoded transitions until variation reorders thresholds, and keeps growing
        linearly with the variation where the decoded INL saturates.

    Returns
    -------
    ndarray of float64, shape (*bank_shape, n_codes - 1)

    Raises
    ------
    ValueError
        Without a ramp, for a window bank or a non-default threshold decoder (unless
        ``per_cell``); with a ramp and ``per_cell``.
    """
    if per_cell:
        if ramp is not None:
            raise ValueError("per_cell = True: takes the bounds themselves; ramp must be None")
        if bank.encoding == "threshold":
            return np.array(bank.thresholds)
        return np.array(bank.lower[..., 1:])
    if ramp is None:
        if bank.encoding != "threshold" or decoder not in (None, "ones"):
            raise ValueError(
                "ramp = None: exact transitions exist only for threshold banks with the "
                "ones-counter decoder; pass a ramp"
            )
        return bank.transitions
    r = np.asarray(ramp, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"ramp.shape = {r.shape}: must be 1-D")
    x = np.broadcast_to(r.reshape(-1, *([1] * len(bank.bank_shape))), (r.size, *bank.bank_shape))
    codes, _ = digital.decode(bank.match(x), bank.encoding, decoder)
    return transitions_from_ramp(r, np.moveaxis(codes, 0, -1), bank.n_codes)


def inl_dnl(transitions, *, reference: str = "endpoint", nominal=None, lsb=None):
    """INL and DNL in LSB per code (definitions in the module docstring).

    Parameters
    ----------
    transitions : array_like of float, shape (..., K - 1)
        Measured transitions ``T_1 .. T_{K-1}``, non-decreasing along the last axis.
    reference : {"endpoint", "ideal"}
        Reference transitions: the nominal ones after gain/offset correction through the
        end points, or the nominal ones as they are.
    nominal : array_like of float, shape (K - 1,), or None
        Nominal transitions, strictly increasing. Required for ``"ideal"``; default for
        ``"endpoint"`` a uniform grid.
    lsb : float or None
        Unit of ``"ideal"`` (default the mean nominal code width); for ``"endpoint"``
        the nominal unit, scaled by the fitted gain (default the mean nominal width).

    Returns
    -------
    inl, dnl : ndarray of float64, shape (..., K)

    Raises
    ------
    ValueError
        For an unknown reference, a missing or malformed ``nominal``, a bad ``lsb`` or
        too few transitions (``"endpoint"`` and a default ``lsb`` need K >= 3).
    """
    if reference not in REFERENCES:
        raise ValueError(
            f"reference = {reference!r}: must be one of " + ", ".join(map(repr, REFERENCES))
        )
    t = np.asarray(transitions, dtype=np.float64)
    if t.ndim < 1 or t.shape[-1] < 1:
        raise ValueError(f"transitions.shape = {t.shape}: must be (..., K - 1) with K >= 2")
    m = t.shape[-1]
    if nominal is None:
        if reference == "ideal":
            raise ValueError("nominal = None: reference 'ideal' needs the nominal transitions")
        nom = np.arange(1, m + 1, dtype=np.float64)
    else:
        nom = np.asarray(nominal, dtype=np.float64)
        if nom.shape != (m,) or not np.all(np.isfinite(nom)) or np.any(np.diff(nom) <= 0):
            raise ValueError(
                f"nominal: must be {m} finite, strictly increasing transitions "
                f"(got shape {nom.shape})"
            )
    if lsb is None:
        if m < 2:
            raise ValueError("lsb = None: a default LSB needs at least two transitions (K >= 3)")
        lsb = (nom[-1] - nom[0]) / (m - 1)
    elif isinstance(lsb, bool) or not isinstance(lsb, int | float | np.floating) \
            or not np.isfinite(lsb) or lsb <= 0:
        raise ValueError(f"lsb = {lsb!r}: must be a finite number > 0")
    if reference == "endpoint":
        if m < 2:
            raise ValueError(
                f"transitions.shape = {t.shape}: reference 'endpoint' needs K >= 3 codes"
            )
        gain = (t[..., -1:] - t[..., :1]) / (nom[-1] - nom[0])
        ref = t[..., :1] + (nom - nom[0]) * gain
        unit = lsb * gain
    else:
        ref, unit = nom, lsb
    inl = np.zeros((*t.shape[:-1], m + 1), dtype=np.float64)
    inl[..., 1:] = (t - ref) / unit
    dnl = np.zeros_like(inl)
    dnl[..., :-1] = np.diff(inl, axis=-1)
    return inl, dnl


def rms_inl_dnl_vs_variation(bits: int, sigma_pcts, rng: np.random.Generator, *,
                             n_chips: int = 1000, reference: str = "ideal",
                             per_cell: bool = False) -> dict:
    """RMS INL and DNL of a uniform N-bit threshold ADC versus threshold variation.

    For each sigma (percent of the full scale) ``n_chips`` chips are realised in one
    draw (:func:`golden.qcell.realise`), their exact ones-counter transitions (or, with
    ``per_cell``, each cell's own threshold as the ReADC paper counts them; see
    :func:`measure_transitions`) taken and INL/DNL computed against ``reference``. The
    RMS pools all ``2**N`` entries of all chips (the fixed ``INL[0] = 0`` and
    ``DNL[K-1] = 0`` included, as in a per-code table such as the ReADC paper's
    fig. 4a/4b).

    Parameters
    ----------
    bits : int
        Resolution N.
    sigma_pcts : array_like of float
        Threshold sigmas in percent of the full scale.
    rng : numpy.random.Generator
    n_chips : int
        Monte-Carlo chips per sigma.
    reference : {"endpoint", "ideal"}
    per_cell : bool
        Per-cell (unsorted) thresholds instead of the decoded transitions.

    Returns
    -------
    dict
        ``sigma_pct``, ``rms_inl``, ``rms_dnl`` (arrays, in LSB).
    """
    if isinstance(n_chips, bool) or not isinstance(n_chips, int) or n_chips < 1:
        raise ValueError(f"n_chips = {n_chips!r}: must be an integer >= 1")
    fs = (0.0, 1.0)
    nom = uniform_transitions(bits, fs)
    sig = np.asarray(sigma_pcts, dtype=np.float64).ravel()
    rms_inl = np.empty(sig.size)
    rms_dnl = np.empty(sig.size)
    for i, s in enumerate(sig):
        bank = qcell.realise(nom, "threshold", fs, rng, sigma_pct=float(s),
                             bank_shape=(n_chips,))
        t = measure_transitions(bank, per_cell=per_cell)
        inl, dnl = inl_dnl(t, reference=reference, nominal=nom,
                           lsb=1.0 / (1 << bits))
        rms_inl[i] = np.sqrt(np.mean(inl**2))
        rms_dnl[i] = np.sqrt(np.mean(dnl**2))
    return {"sigma_pct": sig, "rms_inl": rms_inl, "rms_dnl": rms_dnl}
