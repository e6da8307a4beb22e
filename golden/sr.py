"""Super-resolution (SR): two Q-cell ADCs on one signal, read as one finer ADC.

Two N-bit ADCs A and B digitise the same input; the periphery adds their codes,
``sr = a + b`` (N+1 bits), and looks the sum up in a table of ``2**(N+1) - 1`` values.
Three ways to fill the table:

* :func:`nominal_table` - the ReADC rule for two ADCs with the same nominal
  boundaries: codes that agree give that code's level, codes that differ by one give
  the boundary between them. Variation makes them disagree near each boundary, which
  is where the boundary is the better estimate.
* :func:`calibrated_table` - each entry is the centroid of the calibration samples
  that produced that SR code: the MSE-optimal table for the realised chip.
* :func:`interleaved_pair` - ADC B's thresholds are placed between ADC A's by design,
  so A and B together realise one (2**(N+1) - 1)-level quantiser.

:func:`sr_values` is the combine-and-look-up step (what the periphery computes) and
:func:`sr_quantize` runs the whole chain from inputs through two realised Q-cell banks.
:func:`variation_curve` measures SR against a single ADC under bound variation.
"""

from __future__ import annotations

import numpy as np

from . import digital, qcell, quantize

__all__ = [
    "calibrated_table",
    "interleaved_pair",
    "nominal_table",
    "sr_quantize",
    "sr_values",
    "variation_curve",
]


def nominal_table(q: quantize.Quantizer) -> np.ndarray:
    """The ReADC SR table of two ADCs that share quantiser ``q``.

    Entry ``2k`` is ``q.levels[k]`` (both ADCs read k), entry ``2k + 1`` is
    ``q.boundaries[k]`` (one reads k, the other k + 1: the input sits near the
    boundary between them).

    Parameters
    ----------
    q : golden.quantize.Quantizer
        ``K`` levels, ``K - 1`` boundaries.

    Returns
    -------
    ndarray of float64, shape (2K - 1,)
    """
    levels = np.asarray(q.levels, dtype=np.float64)
    bounds = np.asarray(q.boundaries, dtype=np.float64)
    table = np.empty(2 * levels.size - 1, dtype=np.float64)
    table[0::2] = levels
    table[1::2] = bounds
    return table


def calibrated_table(samples, sr_codes, n_entries: int, fallback) -> np.ndarray:
    """The centroid SR table of a realised pair of ADCs.

    Entry ``s`` is the mean of the samples whose SR code is ``s``; entries that no
    sample reached keep ``fallback[s]`` (e.g. the nominal table).

    With threshold encoding and the ones-counter decoder, ``a`` counts ADC A's realised
    thresholds at or below ``x`` and ``b`` ADC B's, so ``sr = a + b`` counts all
    realised thresholds of both ADCs at or below ``x``, in whatever order variation
    left them. Each SR code is therefore one cell of the merged (sorted) threshold
    set, and the centroid of each cell is the MSE-optimal reconstruction for it: no
    other table indexed by ``sr`` has a lower in-sample MSE. (With window encoding
    bubbles make a code a union of pieces of input range; the centroid is still the
    MSE-optimal value for that code.)

    Parameters
    ----------
    samples : array_like of float, shape (n,) or (n, *batch)
        Calibration inputs (broadcast against ``sr_codes``).
    sr_codes : array_like of int, shape (n,) or (n, *batch)
        SR codes of the samples, in ``0 .. n_entries - 1``. Trailing axes are a batch
        of independent ADC pairs (e.g. chips), each getting its own table.
    n_entries : int
        Table size, ``2**(N+1) - 1`` for two N-bit ADCs.
    fallback : array_like of float, shape broadcastable to (*batch, n_entries)
        Values of entries without samples.

    Returns
    -------
    ndarray of float64, shape (*batch, n_entries)

    Raises
    ------
    ValueError
        If ``n_entries`` < 1, shapes do not match, codes are out of range or samples
        are not finite.
    """
    if isinstance(n_entries, bool) or not isinstance(n_entries, int | np.integer) \
            or n_entries < 1:
        raise ValueError(f"n_entries = {n_entries!r}: must be an integer >= 1")
    codes = np.asarray(sr_codes)
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"sr_codes: dtype {codes.dtype} is not allowed; need integers")
    if codes.ndim < 1:
        raise ValueError("sr_codes: must have a sample axis (shape (n,) or (n, *batch))")
    try:
        x = np.broadcast_to(np.asarray(samples, dtype=np.float64).reshape(
            np.shape(samples) + (1,) * (codes.ndim - np.ndim(samples))), codes.shape)
    except ValueError:
        raise ValueError(
            f"samples.shape = {np.shape(samples)}: must broadcast to sr_codes.shape = "
            f"{codes.shape}"
        ) from None
    if not np.all(np.isfinite(x)):
        raise ValueError("samples: must be finite")
    if codes.size and (codes.min() < 0 or codes.max() >= n_entries):
        raise ValueError(
            f"sr_codes: values {codes.min()}..{codes.max()} are out of range 0..{n_entries - 1}"
        )
    batch = codes.shape[1:]
    n_batch = int(np.prod(batch, dtype=np.int64))
    try:
        fb = np.broadcast_to(np.asarray(fallback, dtype=np.float64), (*batch, n_entries))
    except ValueError:
        raise ValueError(
            f"fallback.shape = {np.shape(fallback)}: must broadcast to (*batch, n_entries) "
            f"= {(*batch, n_entries)}"
        ) from None
    # One bincount over (batch element, code) pairs keeps every batch vectorised.
    slot = codes.reshape(codes.shape[0], n_batch).astype(np.int64) \
        + np.arange(n_batch, dtype=np.int64) * n_entries
    size = n_batch * n_entries
    total = np.bincount(slot.ravel(), weights=x.reshape(slot.shape).ravel(), minlength=size)
    count = np.bincount(slot.ravel(), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return np.where(count > 0, mean, fb.reshape(size)).reshape(*batch, n_entries)


def _centroid_levels(x: np.ndarray, boundaries: np.ndarray, full_scale) -> np.ndarray:
    """Per-cell sample centroids (cell midpoint when empty), kept inside each cell."""
    lo, hi = full_scale
    edges = np.concatenate([[lo], boundaries, [hi]])
    k = boundaries.size + 1
    codes = np.searchsorted(boundaries, x, side="right")
    total = np.bincount(codes, weights=x, minlength=k)
    count = np.bincount(codes, minlength=k)
    mid = 0.5 * (edges[:-1] + edges[1:])
    with np.errstate(invalid="ignore", divide="ignore"):
        lev = np.where(count > 0, total / np.maximum(count, 1), mid)
    # Summation rounding must not push a centroid onto the next cell's boundary.
    return np.clip(lev, edges[:-1], np.nextafter(edges[1:], -np.inf))


def interleaved_pair(samples, bits: int, full_scale=None, *, method: str = "optimal"):
    """Design two N-bit ADCs whose thresholds interleave into one finer quantiser.

    A quantiser with ``2**(N+1) - 1`` levels, i.e. ``2**(N+1) - 2`` thresholds
    ``t0 < t1 < ...``, is designed on the samples (``method``, default the exact
    optimal quantiser). ADC A gets ``t0, t2, t4, ...`` and ADC B ``t1, t3, ...``,
    ``2**N - 1`` thresholds each. Then ``a + b`` is the number of all thresholds at
    or below ``x``, which is exactly the fine quantiser's code, and the SR table is the
    fine quantiser's levels: two N-bit ADCs give the fine quantiser's MSE (without
    variation).

    Parameters
    ----------
    samples : array_like of float
        Calibration samples.
    bits : int
        Resolution N of each ADC, 1..7 (the SR code has N + 1 bits).
    full_scale : (float, float) or None
        ADC input range; default the samples' min and max.
    method : {"optimal", "lloyd-max", "uniform"}
        Quantiser for the fine (2**(N+1) - 1)-level design.

    Returns
    -------
    qa, qb : golden.quantize.Quantizer
        The two ADCs. Their own levels are the centroids of the (clipped) samples in
        each of their cells (cell midpoint for an empty cell), i.e. what each ADC would
        reconstruct alone.
    table : ndarray of float64, shape (2**(N+1) - 1,)
        SR table indexed by ``a + b``: the fine quantiser's levels.

    Raises
    ------
    ValueError
        For a bad ``bits`` or ``method``; the quantiser design checks the rest.
    """
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 1 <= bits <= 7:
        raise ValueError(f"bits = {bits!r}: must be an integer in 1..7")
    bits = int(bits)
    fine = quantize.design(method, samples, bits + 1, n_levels=(1 << (bits + 1)) - 1,
                           full_scale=full_scale)
    fs = tuple(float(v) for v in fine.full_scale)
    x = np.clip(np.asarray(samples, dtype=np.float64).ravel(), fs[0], fs[1])
    t = np.asarray(fine.boundaries, dtype=np.float64)
    pair = []
    for name, bounds in (("a", t[0::2]), ("b", t[1::2])):
        lev = _centroid_levels(x, bounds, fs)
        pair.append(quantize.Quantizer(bounds, lev, fs, f"interleaved-{name}-{method}"))
    return pair[0], pair[1], np.array(fine.levels, dtype=np.float64)


def sr_values(a, b, table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combine two ADCs' codes and look the SR code up (the periphery's SR path).

    Parameters
    ----------
    a, b : array_like of int
        Codes of ADC A and B (broadcastable), each in ``0 .. 2**N - 1``.
    table : array_like of float, shape (2**(N+1) - 1,)
        SR table.

    Returns
    -------
    sr : ndarray of uint16
        ``a + b``.
    values : ndarray of float64
        ``table[sr]``.
    flags : ndarray of uint8
        :data:`golden.digital.FLAG_SR_DISAGREE` where ``|a - b| > 1``.

    Raises
    ------
    ValueError
        If an SR code falls outside the table.
    """
    tab = np.asarray(table, dtype=np.float64)
    if tab.ndim != 1 or tab.size < 1:
        raise ValueError(f"table.shape = {tab.shape}: must be 1-D and not empty")
    s, flags = digital.sr_combine(a, b)
    if s.size and int(s.max()) >= tab.size:
        raise ValueError(
            f"a + b: SR code {int(s.max())} is out of range for a table of {tab.size} entries"
        )
    return s, tab[s], flags


def sr_quantize(x, bank_a: qcell.QCellBank, bank_b: qcell.QCellBank, table,
                decoder: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digitise ``x`` with two realised Q-cell ADCs and super-resolution.

    Parameters
    ----------
    x : array_like of float, shape (..., *bank_shape)
        Inputs (see :meth:`golden.qcell.QCellBank.match`).
    bank_a, bank_b : golden.qcell.QCellBank
        The two ADCs, same encoding, cell count and bank shape.
    table : array_like of float, shape (2**(N+1) - 1,)
        SR table.
    decoder : str or None
        Decoder for both ADCs (:func:`golden.digital.decode`).

    Returns
    -------
    sr : ndarray of uint16
        SR codes ``a + b``.
    values : ndarray of float64
        Reconstructed values ``table[sr]``.
    flags : ndarray of uint8
        OR of both decoders' flags and the SR-disagree flag.

    Raises
    ------
    ValueError
        If the banks do not match each other.
    """
    if (bank_a.encoding, bank_a.n_cells, bank_a.bank_shape) != \
            (bank_b.encoding, bank_b.n_cells, bank_b.bank_shape):
        raise ValueError(
            f"bank_b: (encoding, n_cells, bank_shape) = "
            f"{(bank_b.encoding, bank_b.n_cells, bank_b.bank_shape)} must equal bank_a's "
            f"{(bank_a.encoding, bank_a.n_cells, bank_a.bank_shape)}"
        )
    a, fa = digital.decode(bank_a.match(x), bank_a.encoding, decoder)
    b, fb = digital.decode(bank_b.match(x), bank_b.encoding, decoder)
    s, values, fs = sr_values(a, b, table)
    return s, values, fa | fb | fs


def variation_curve(samples, bits: int, sigma_pcts, rng: np.random.Generator, *,
                    n_chips: int = 8, full_scale=None, encoding: str = "threshold",
                    interleaved_method: str = "optimal") -> dict[str, np.ndarray]:
    """MSE of single-ADC and SR schemes versus Q-cell bound variation.

    For each sigma, ``n_chips`` independent chips are realised (one vectorised draw per
    ADC role) and every scheme is measured on ``samples`` clipped to the full scale
    (calibration = evaluation, an in-sample figure) and averaged over the chips:

    * ``single``: one N-bit Lloyd-Max ADC with its nominal levels;
    * ``single_calibrated``: the same ADC with per-chip centroid levels;
    * ``sr_nominal`` / ``sr_calibrated``: two Lloyd-Max ADCs (same nominal boundaries,
      independent variation) with the nominal / calibrated SR table;
    * ``interleaved``: the interleaved pair with its calibrated table (at sigma 0 the
      centroids of the fine quantiser's cells, i.e. its levels).

    Parameters
    ----------
    samples : array_like of float
        1-D data.
    bits : int
        ADC resolution N.
    sigma_pcts : array_like of float
        Bound sigmas in percent of the full scale.
    rng : numpy.random.Generator
    n_chips : int
        Chips per sigma.
    full_scale : (float, float) or None
        Default the samples' min and max.
    encoding : {"threshold", "window"}
    interleaved_method : str
        Fine quantiser of the interleaved pair.

    Returns
    -------
    dict of str to ndarray
        ``sigma_pct`` and one MSE array per scheme (same length as ``sigma_pcts``).

    Raises
    ------
    ValueError
        For a bad ``n_chips``; the designs and :func:`golden.qcell.realise` check the
        rest.
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    if full_scale is None:
        full_scale = (float(x.min()), float(x.max()))
    if isinstance(n_chips, bool) or not isinstance(n_chips, int) or n_chips < 1:
        raise ValueError(f"n_chips = {n_chips!r}: must be an integer >= 1")
    sig = np.asarray(sigma_pcts, dtype=np.float64).ravel()
    lm = quantize.design("lloyd-max", x, bits, full_scale=full_scale)
    qa, qb, itab = interleaved_pair(x, bits, full_scale, method=interleaved_method)
    fs = tuple(float(v) for v in lm.full_scale)
    xc = np.clip(x, fs[0], fs[1])[:, np.newaxis]
    k = lm.n_levels
    ntab = nominal_table(lm)
    keys = ("single", "single_calibrated", "sr_nominal", "sr_calibrated", "interleaved")
    out = {key: np.empty(sig.size) for key in keys}

    def codes(bounds, sigma):
        bank = qcell.realise(bounds, encoding, fs, rng, sigma_pct=sigma, bank_shape=(n_chips,))
        return digital.decode(bank.match(xc), encoding)[0].astype(np.int64)

    def mse(table, c):
        values = table[c] if table.ndim == 1 else np.take_along_axis(table.T, c, axis=0)
        return float(np.mean((values - xc) ** 2))

    for i, s in enumerate(sig.tolist()):
        a, b = codes(lm.boundaries, s), codes(lm.boundaries, s)
        out["single"][i] = mse(lm.levels, a)
        out["single_calibrated"][i] = mse(calibrated_table(xc[:, 0], a, k, lm.levels), a)
        out["sr_nominal"][i] = mse(ntab, a + b)
        out["sr_calibrated"][i] = mse(calibrated_table(xc[:, 0], a + b, 2 * k - 1, ntab), a + b)
        c = codes(qa.boundaries, s) + codes(qb.boundaries, s)
        out["interleaved"][i] = mse(calibrated_table(xc[:, 0], c, 2 * k - 1, itab), c)
    out["sigma_pct"] = sig
    return out
