"""Calibrating and evaluating one adaptive Q-cell ADC on data.

This is the computation behind ``cimgen calibrate``: place boundaries and levels with
one or more quantisers, realise the Q-cells (with bound variation), decode their match
vectors exactly as the digital periphery does, and measure the error, alone and with
super-resolution. Calibration and evaluation use the same samples (an in-sample
report of how well the ADC fits this distribution).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import digital, metrics, qcell, quantize, sr
from .spec import METHODS, SR_MODES

__all__ = ["METHODS", "SR_MODES", "AdcResult", "SrResult", "calibrate_adc"]



@dataclass(frozen=True)
class SrResult:
    """Super-resolution with two realised ADCs.

    Attributes
    ----------
    mode : str
        ``nominal``, ``calibrated`` or ``interleaved``.
    table : ndarray
        ``2**(N+1) - 1`` reconstruction values indexed by ``a + b``.
    boundaries_a, boundaries_b : ndarray
        Nominal boundaries programmed into ADC A and ADC B.
    mse : float
        MSE of the SR reconstruction with the realised (varied) Q-cells.
    disagree_rate : float
        Fraction of samples with ``|a - b| > 1`` (flagged).
    """

    mode: str
    table: np.ndarray
    boundaries_a: np.ndarray
    boundaries_b: np.ndarray
    mse: float
    sqnr_db: float
    disagree_rate: float


@dataclass(frozen=True)
class AdcResult:
    """One quantiser's calibration and its measured quality.

    Attributes
    ----------
    quantizer : golden.quantize.Quantizer
        Nominal boundaries and levels.
    mse, sqnr_db : float
        Error of the ideal (nominal) ADC.
    mse_rel_uniform : float
        ``mse`` divided by the uniform quantiser's MSE on the same data.
    realised_mse : float
        Error of one realised ADC with the requested bound variation, decoded by the
        periphery's decoder (equals ``mse`` without variation).
    flag_rate : float
        Fraction of conversions whose match vector had a bubble (flagged).
    sr : SrResult or None
    """

    method: str
    quantizer: quantize.Quantizer
    mse: float
    sqnr_db: float
    mse_rel_uniform: float
    realised_mse: float
    flag_rate: float
    sr: SrResult | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form (lists of floats)."""
        d: dict[str, Any] = {
            "boundaries": self.quantizer.boundaries.tolist(),
            "levels": self.quantizer.levels.tolist(),
            "mse": self.mse,
            "sqnr_db": self.sqnr_db,
            "mse_rel_uniform": self.mse_rel_uniform,
            "realised_mse": self.realised_mse,
            "flag_rate": self.flag_rate,
        }
        if self.sr is not None:
            d["sr"] = {
                "mode": self.sr.mode,
                "table": self.sr.table.tolist(),
                "boundaries_a": self.sr.boundaries_a.tolist(),
                "boundaries_b": self.sr.boundaries_b.tolist(),
                "mse": self.sr.mse,
                "sqnr_db": self.sr.sqnr_db,
                "disagree_rate": self.sr.disagree_rate,
            }
        return d


def _realised_codes(x, boundaries, encoding, full_scale, rng, variation_pct, guard_pct):
    bank = qcell.realise(boundaries, encoding, full_scale, rng, sigma_pct=variation_pct,
                         guard_pct=guard_pct if encoding == "window" else 0.0)
    return digital.decode(bank.match(x), encoding)


def _sr_result(x, q, mode, bits, encoding, full_scale, rng, variation_pct, guard_pct, method):
    if mode == "interleaved":
        qa, qb, design_table = sr.interleaved_pair(x, bits, full_scale=full_scale, method=method)
        ba, bb = qa.boundaries, qb.boundaries
        fallback = design_table
    else:
        ba = bb = q.boundaries
        fallback = sr.nominal_table(q)
    a, _ = _realised_codes(x, ba, encoding, full_scale, rng, variation_pct, guard_pct)
    b, _ = _realised_codes(x, bb, encoding, full_scale, rng, variation_pct, guard_pct)
    s, fs = digital.sr_combine(a, b)
    n_entries = 2 * q.n_levels - 1
    if mode == "nominal":
        table = fallback
    elif mode == "interleaved" and variation_pct == 0.0:
        table = fallback
    else:
        table = sr.calibrated_table(x, s, n_entries, fallback)
    xq = table[s]
    return SrResult(
        mode=mode,
        table=np.asarray(table, dtype=np.float64),
        boundaries_a=np.asarray(ba, dtype=np.float64),
        boundaries_b=np.asarray(bb, dtype=np.float64),
        mse=metrics.mse(x, xq),
        sqnr_db=metrics.sqnr_db(x, xq),
        disagree_rate=float(np.mean((fs & digital.FLAG_SR_DISAGREE) != 0)),
    )


def calibrate_adc(
    samples: np.ndarray,
    bits: int,
    *,
    methods: tuple[str, ...] = METHODS,
    sr_mode: str = "none",
    encoding: str = "window",
    variation_pct: float = 0.0,
    guard_pct: float | str = "auto",
    rng: np.random.Generator,
    full_scale: tuple[float, float] | None = None,
) -> dict[str, AdcResult]:
    """Calibrate an N-bit Q-cell ADC on ``samples`` with each method and measure it.

    Parameters
    ----------
    samples : ndarray
        Finite ADC-input samples (1-D).
    bits : int
        ADC resolution, 1..8.
    methods : tuple of str
        Any of ``uniform``, ``lloyd-max``, ``optimal``; uniform is always computed as
        the reference of ``mse_rel_uniform``.
    sr_mode : str
        ``none``, ``nominal``, ``calibrated`` or ``interleaved``.
    encoding : str
        ``window`` or ``threshold`` Q-cells.
    variation_pct : float
        Sigma of every Q-cell bound, in percent of the full scale.
    guard_pct : float or "auto"
        Window encoding: overlap of adjacent windows in percent of the full scale
        (:func:`golden.qcell.realise`); ``"auto"`` is
        :func:`golden.qcell.auto_guard_pct` of ``variation_pct``.
    rng : numpy.random.Generator
        Source of the variation draws (one realised chip per ADC, in method order).
    full_scale : (float, float) or None
        ADC input range; default the samples' min and max.

    Returns
    -------
    dict of str to AdcResult
        Keyed by method, in the order given.
    """
    x = np.asarray(samples, dtype=np.float64).ravel()
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"method {m!r}: must be one of {', '.join(METHODS)}")
    if sr_mode not in SR_MODES:
        raise ValueError(f"sr_mode {sr_mode!r}: must be one of {', '.join(SR_MODES)}")
    if full_scale is None:
        full_scale = (float(x.min()), float(x.max()))
    if guard_pct == "auto":
        guard_pct = qcell.auto_guard_pct(variation_pct)
    uni_mse = None
    out: dict[str, AdcResult] = {}
    for m in ("uniform", *[m for m in methods if m != "uniform"]):
        q = quantize.design(m, x, bits, full_scale=full_scale)
        _, xq = q.quantize(x)
        err = metrics.mse(x, xq)
        if m == "uniform":
            uni_mse = err
        if m not in methods:
            continue
        codes, flags = _realised_codes(x, q.boundaries, encoding, full_scale, rng,
                                       variation_pct, guard_pct)
        xr = q.levels[codes]
        srr = None
        if sr_mode != "none":
            srr = _sr_result(x, q, sr_mode, bits, encoding, full_scale, rng, variation_pct,
                             guard_pct, m)
        out[m] = AdcResult(
            method=m,
            quantizer=q,
            mse=err,
            sqnr_db=metrics.sqnr_db(x, xq),
            mse_rel_uniform=err / uni_mse if uni_mse else float("nan"),
            realised_mse=metrics.mse(x, xr),
            flag_rate=float(np.mean(flags != 0)),
            sr=srr,
        )
    return out
