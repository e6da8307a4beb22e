"""A weight matrix larger than one macro, split over macro instances.

W (in_features, out_features) is cut into tiles of ``rows x cols`` (the macro's size),
zero-padded at the edges. Tile ``(r, c)`` holds ``W[r*rows:(r+1)*rows,
c*cols:(c+1)*cols]`` on its own :class:`golden.macro.Macro` with ``array_id =
array_id_base + r * n_c + c``, so every tile has its own static draws; the tiles of
one column band see the same input slice, and their fixed-point outputs are summed
digitally (exactly, in int64). ``cimgen mvm`` and ``cimgen flow`` both run layers
through :func:`run_tiled`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from golden.macro import Macro, MacroCalibration
from golden.spec import MacroSpec

__all__ = ["TiledResult", "input_tile", "run_tiled", "tile_grid", "weight_tile"]


def tile_grid(w_shape: tuple[int, int], spec: MacroSpec) -> tuple[int, int]:
    """Tiles ``(n_r, n_c)`` needed for a W of ``w_shape`` on macros of ``spec``."""
    m = spec.macro
    return -(-int(w_shape[0]) // m.rows), -(-int(w_shape[1]) // m.cols)


def weight_tile(w: np.ndarray, r: int, c: int, spec: MacroSpec) -> np.ndarray:
    """Tile ``(r, c)`` of ``w`` as a ``(rows, cols)`` int64 array, zero-padded."""
    m = spec.macro
    wt = np.zeros((m.rows, m.cols), dtype=np.int64)
    blk = w[r * m.rows:(r + 1) * m.rows, c * m.cols:(c + 1) * m.cols]
    wt[:blk.shape[0], :blk.shape[1]] = blk
    return wt


def input_tile(x: np.ndarray, r: int, spec: MacroSpec) -> np.ndarray:
    """The inputs of tile row ``r``: ``x[:, r*rows:(r+1)*rows]`` zero-padded to ``rows``."""
    m = spec.macro
    xt = np.zeros((x.shape[0], m.rows), dtype=np.int64)
    blk = x[:, r * m.rows:(r + 1) * m.rows]
    xt[:, :blk.shape[1]] = blk
    return xt


@dataclass(frozen=True, eq=False)
class TiledResult:
    """Outputs of a tiled layer.

    Attributes
    ----------
    raw : ndarray of int64, shape (batch, out_features)
        Fixed-point outputs with ``frac_bits`` fractional bits (sum over tile rows).
    flags : ndarray of uint8, shape (batch,)
        OR of every tile's ``out_flags`` per MVM.
    calibrations : dict of (int, int) to MacroCalibration
        What each tile ran with (empty for ``ideal``).
    macros : dict of (int, int) to Macro
        The macro instances, only with ``keep=True``.
    """

    raw: np.ndarray
    flags: np.ndarray
    frac_bits: int
    calibrations: dict = field(default_factory=dict)
    macros: dict = field(default_factory=dict)

    @property
    def values(self) -> np.ndarray:
        """Outputs in real units, float64."""
        return self.raw.astype(np.float64) / float(1 << self.frac_bits)


def run_tiled(spec: MacroSpec, w, x, *,
              calibrations: Mapping[tuple[int, int], MacroCalibration] | None = None,
              calibrate_on=None, vector_ids=None, calibrate_ids=None, ideal: bool = False,
              array_id_base: int = 0, keep: bool = False) -> TiledResult:
    """Run ``x @ w`` over as many macros of ``spec`` as ``w`` needs.

    Parameters
    ----------
    spec : MacroSpec
    w : array_like of int, shape (in_features, out_features)
        Weights in ``spec.macro.weight_range``.
    x : array_like of int, shape (batch, in_features)
        Inputs in ``spec.macro.input_range``.
    calibrations : mapping of (r, c) to MacroCalibration, optional
        Use these instead of calibrating; every tile must be present.
    calibrate_on : array_like of int, shape (n, in_features), optional
        Calibration inputs (default ``x`` itself) when ``calibrations`` is not given.
    vector_ids, calibrate_ids : array_like of int, optional
        Read-noise keys of ``x`` and ``calibrate_on`` (default ``0 .. n - 1``).
    ideal : bool
        Lossless ADC, no device effects: ``raw == (x @ w) << frac_bits`` exactly.
    array_id_base : int
        First ``array_id``; tile ``(r, c)`` gets ``array_id_base + r * n_c + c``.
    keep : bool
        Keep the macro instances in the result (for their match vectors).

    Returns
    -------
    TiledResult

    Raises
    ------
    KeyError
        A tile missing from ``calibrations``.
    ValueError
        Out-of-range weights or inputs (from the golden model).
    """
    w = np.asarray(w)
    x = np.asarray(x)
    n_r, n_c = tile_grid(w.shape, spec)
    m = spec.macro
    batch = x.shape[0]
    raw = np.zeros((batch, n_c * m.cols), dtype=np.int64)
    flags = np.zeros(batch, dtype=np.uint8)
    used: dict = {}
    macros: dict = {}
    if calibrate_on is None:
        cal_x, calibrate_ids = x, vector_ids if calibrate_ids is None else calibrate_ids
    else:
        cal_x = np.asarray(calibrate_on)
    for r in range(n_r):
        xt = input_tile(x, r, spec)
        ct = None if calibrations is not None or ideal else input_tile(cal_x, r, spec)
        for c in range(n_c):
            mac = Macro(spec, weight_tile(w, r, c, spec), array_id=array_id_base + r * n_c + c)
            if ideal:
                res = mac.run(xt, ideal=True)
            else:
                if calibrations is not None:
                    mac.calibration = calibrations[(r, c)]
                else:
                    mac.calibrate(ct, vector_ids=calibrate_ids)
                used[(r, c)] = mac.calibration
                res = mac.run(xt, vector_ids=vector_ids)
            raw[:, c * m.cols:(c + 1) * m.cols] += res.out
            flags |= res.flags
            if keep:
                macros[(r, c)] = mac
    return TiledResult(raw[:, :w.shape[1]], flags, spec.adc.lut_frac_bits, used, macros)
