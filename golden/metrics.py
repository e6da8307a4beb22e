"""Quantisation error metrics: mean squared error and signal-to-quantisation-noise ratio."""

from __future__ import annotations

import numpy as np

__all__ = ["mse", "sqnr_db"]


def _pair(x, xq) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x)
    b = np.asarray(xq)
    for name, v in (("x", a), ("xq", b)):
        if v.dtype.kind not in "biuf":
            raise ValueError(f"{name} = array(dtype={v.dtype}): must be real numbers")
    if a.shape != b.shape:
        raise ValueError(f"xq.shape = {b.shape}: must equal x.shape = {a.shape}")
    if a.size == 0:
        raise ValueError(f"x.shape = {a.shape}: must contain at least one value")
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("x and xq must be finite")
    return a, b


def mse(x, xq) -> float:
    """Mean squared error ``mean((x - xq)**2)``.

    Parameters
    ----------
    x : array_like
        Original values.
    xq : array_like
        Quantised (reconstructed) values, same shape as ``x``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ, the arrays are empty, or a value is not finite or real.
    """
    a, b = _pair(x, xq)
    d = a - b
    return float(np.mean(d * d))


def sqnr_db(x, xq) -> float:
    """Signal-to-quantisation-noise ratio ``10 log10(var(x) / mse(x, xq))`` in dB.

    The signal power is the variance of ``x`` (population variance, ``ddof=0``): the
    power of the signal's variation, so a DC offset that every quantiser reproduces
    does not inflate the figure. For a full-scale uniform signal on an ``N``-bit uniform
    quantiser this gives ``20 log10(2**N) = 6.02 N`` dB.

    Parameters
    ----------
    x : array_like
        Original values; must not be constant.
    xq : array_like
        Quantised (reconstructed) values, same shape as ``x``.

    Returns
    -------
    float
        ``inf`` when ``xq`` equals ``x`` exactly.

    Raises
    ------
    ValueError
        As :func:`mse`, or if ``x`` is constant (zero signal power).
    """
    a, b = _pair(x, xq)
    power = float(np.var(a))
    if power == 0.0:
        raise ValueError(
            f"x: all {a.size} values equal {float(a.flat[0])!r}; SQNR needs var(x) > 0"
        )
    err = mse(a, b)
    if err == 0.0:
        return float("inf")
    return float(10.0 * np.log10(power / err))
