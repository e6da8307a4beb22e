"""Memristor device model: conductance levels, static and dynamic variation, drift.

A cell stores ``cell_bits`` bits as one of ``2**cell_bits`` conductance levels spread
evenly over the programmable window ``[g_min, g_max]`` (spec ``[device]``): level 0 is
``g_min`` (a finite on/off ratio ``g_max / g_min``), the top level ``g_max``.

Non-idealities, all in uS:

* **Programming error** (static, once per programmed cell): the cell lands at
  ``G = max(G_target + sigma_p(G_target) * z, 0)``, ``z ~ N(0, 1)``, with ``sigma_p``
  from ``device.program_sigma``: ``"readc-fig3c"`` (the measured sigma(G) of
  :data:`golden.presets.READC_FIG3C_PROGRAM`, absolute uS, held at its end values
  outside 100..400 uS), ``"none"`` (0) or a constant in uS.
* **Stuck cells** (static): with probability ``stuck_on_rate`` a cell sits at ``g_max``,
  with ``stuck_off_rate`` at ``g_min``, whatever its target; stuck cells have no
  programming error and do not drift.
* **Drift** (static, optional, off unless a time is given): the power law
  ``G(t) = G(t0) * (t / t0) ** (-nu)`` for ``t > t0`` (no change for ``t <= t0``), with a
  per-cell exponent ``nu ~ N(drift_nu, drift_nu_sigma**2)``. The defaults
  (``drift_nu = 0.01``, ``drift_nu_sigma = 0``, ``drift_t0_s = 1 s``, the time of the
  program-verify read) are illustrative, not a ReADC measurement.
* **Read noise** (dynamic, a fresh draw on every read): sigma
  ``sigma_r(G) = read_sigma_us * READC_FIG3D_READ(G) / READC_FIG3D_READ.mean_sigma_us``
  with ``read_shape="readc-fig3d"`` (default): the measured conductance dependence of
  ReADC fig. 3d, scaled so that its mean over the measured targets equals the config
  knob ``device.read_sigma_us``; ``read_shape="constant"`` gives ``read_sigma_us`` at
  every conductance. ``read_sigma_us = 0`` switches read noise off. It is evaluated at
  the cell's actual conductance (after programming error, sticking and drift).

Keyed randomness
----------------
Every draw is a pure function of ``device.seed`` and the draw's key, so results do not
depend on batch size, batch order, tiling or on which other draws were made. This
replaces the ``np.random.Generator`` of the other golden modules on purpose: a
generator's stream depends on the order of the draws. The key is a tuple of
non-negative integers ``(stream, *fields)``; :func:`keyed_hash` folds it into 64 bits as
``h = seed; for k in key: h = mix(h + (k + 1) * GAMMA)`` (``mix`` = the splitmix64
finaliser, ``GAMMA`` = its golden-ratio increment), i.e. each field selects one output
of the splitmix64 stream seeded by the fields before it. Normal deviates use
Box-Muller on the two 32-bit halves of one hash (radius from the low half, angle from
the high half). Key layouts:

=================  =====================================================
stream             key fields after the stream id
=================  =====================================================
``STREAM_PROGRAM`` ``array_id, row, phys_col`` -> z of the programming error
``STREAM_STUCK``   ``array_id, row, phys_col`` -> uniform u of the stuck draw
``STREAM_DRIFT``   ``array_id, row, phys_col`` -> z of the drift exponent
``STREAM_READ``    ``array_id, vector_id, cycle, phys_col // 2`` -> the pair of
                   column read-noise deviates of columns ``2k`` (cosine branch)
                   and ``2k + 1`` (sine branch), see :func:`keyed_normal_pairs`
=================  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .presets import READC_FIG3D_READ, program_sigma_us
from .spec import MacroSpec

__all__ = [
    "READ_SHAPES",
    "STREAM_DRIFT",
    "STREAM_PROGRAM",
    "STREAM_READ",
    "STREAM_STUCK",
    "Device",
    "ProgrammedCells",
    "keyed_hash",
    "keyed_normal",
    "keyed_normal_pairs",
    "keyed_uniform",
]

STREAM_PROGRAM = 1
STREAM_STUCK = 2
STREAM_DRIFT = 3
STREAM_READ = 4
READ_SHAPES = ("readc-fig3d", "constant")

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a uint64 array (wrapping arithmetic)."""
    tmp = np.empty_like(z)
    for shift, mult in ((_S30, _M1), (_S27, _M2), (_S31, None)):
        np.right_shift(z, shift, out=tmp)
        z ^= tmp
        if mult is not None:
            z *= mult
    return z


def _as_key(k, name: str) -> np.ndarray:
    a = np.asarray(k)
    if a.dtype.kind not in "iub":
        raise ValueError(f"key field {name} must be integers; got dtype {a.dtype}")
    if a.dtype.kind == "i" and a.size and int(a.min()) < 0:
        raise ValueError(f"key field {name} must be >= 0; got {int(a.min())}")
    return a.astype(np.uint64)


def keyed_hash(seed: int, *keys) -> np.ndarray:
    """64-bit hash of ``(seed, *keys)``, element-wise over broadcast integer keys.

    Parameters
    ----------
    seed : int
        Non-negative seed (``device.seed``).
    *keys : int or array_like of int
        Non-negative key fields; they broadcast against each other.

    Returns
    -------
    ndarray of uint64
        One hash per element of the broadcast key shape (the seed itself, 0-d, when
        no keys are given).

    Raises
    ------
    ValueError
        If the seed or a key field is negative or not an integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed = {seed!r}: must be a non-negative integer")
    fields = [_as_key(k, f"#{i}") for i, k in enumerate(keys)]
    h = np.array(seed, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for f in fields:
            # the state grows to the broadcast shape of the fields so far, so leading
            # fields (stream, ids) are folded in at their own small shapes
            h = np.asarray(h + (f + np.uint64(1)) * _GAMMA, dtype=np.uint64)
            _mix(h)
    return h


def _halves(h: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """The low and high 32-bit halves of each hash as contiguous float arrays
    (independent of the platform's byte order)."""
    flat = np.ascontiguousarray(h.astype("<u8", copy=False)).reshape(-1)
    v = flat.view("<u4").reshape(*h.shape, 2)
    return v[..., 0].astype(dtype), v[..., 1].astype(dtype)


def _box_muller(h: np.ndarray, dtype) -> np.ndarray:
    """Box-Muller on each hash: radius from the low half, ``u1 = (lo + 1) / 2**32`` in
    (0, 1], angle ``2 pi hi / 2**32`` from the high half.

    Returns an array shaped ``h.shape + (2,)``: ``[..., 0] = r cos``, ``[..., 1] = r sin``.
    """
    r, theta = _halves(h, dtype)
    r += dtype(1.0)
    r *= dtype(2.0**-32)
    np.log(r, out=r)
    r *= dtype(-2.0)
    np.sqrt(r, out=r)
    theta *= dtype(2.0 * np.pi * 2.0**-32)
    out = np.empty((*h.shape, 2), dtype=dtype)
    np.multiply(r, np.cos(theta), out=out[..., 0])
    np.sin(theta, out=theta)
    np.multiply(r, theta, out=out[..., 1])
    return out


def keyed_uniform(seed: int, *keys) -> np.ndarray:
    """Uniform deviates in (0, 1) with 53 random bits, one per key.

    Parameters
    ----------
    seed : int
        Non-negative seed.
    *keys : int or array_like of int
        Key fields (see :func:`keyed_hash`).

    Returns
    -------
    ndarray of float64
    """
    h = keyed_hash(seed, *keys)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def keyed_normal(seed: int, *keys) -> np.ndarray:
    """Standard normal deviates, one per key (Box-Muller, cosine branch, float64).

    Parameters
    ----------
    seed : int
        Non-negative seed.
    *keys : int or array_like of int
        Key fields (see :func:`keyed_hash`).

    Returns
    -------
    ndarray of float64
        Deviates, truncated at ``|z| <= sqrt(2 ln 2**32) = 6.66`` by the 32-bit radius.
    """
    return _box_muller(keyed_hash(seed, *keys), np.float64)[..., 0].copy()


def keyed_normal_pairs(seed: int, *keys, n: int, dtype=np.float32) -> np.ndarray:
    """Standard normal deviates along a last axis of length ``n``, two per hash.

    Element ``j`` of the last axis comes from the hash of ``(*keys, j // 2)``: the cosine
    branch of its Box-Muller pair for even ``j``, the sine branch for odd ``j``. Each
    element therefore depends only on its own key, whatever ``n`` and the key shape.

    Parameters
    ----------
    seed : int
        Non-negative seed.
    *keys : int or array_like of int
        Leading key fields; they broadcast to the leading shape.
    n : int
        Length of the last axis.
    dtype : {numpy.float32, numpy.float64}
        Precision of the Box-Muller arithmetic (float32: half the memory traffic,
        deviates accurate to about 1e-6 relative).

    Returns
    -------
    ndarray
        Shape ``broadcast(keys) + (n,)``.

    Raises
    ------
    ValueError
        If ``n`` is not a non-negative integer or a key field is invalid.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n = {n!r}: must be a non-negative integer")
    dtype = np.dtype(dtype).type
    pairs = np.arange((n + 1) // 2, dtype=np.uint64)
    lead = [np.asarray(k)[..., None] for k in keys]
    f = _box_muller(keyed_hash(seed, *lead, pairs), dtype)
    return f.reshape(*f.shape[:-2], -1)[..., :n]


@dataclass(frozen=True)
class ProgrammedCells:
    """The static state of an array of programmed cells.

    Attributes
    ----------
    g_target : ndarray of float64
        Target conductances in uS (the nominal levels).
    g : ndarray of float64
        Actual conductances in uS: programming error, stuck cells and drift applied.
    stuck : ndarray of int8
        ``+1`` stuck at ``g_max``, ``-1`` stuck at ``g_min``, ``0`` programmable.
    drift_factor : float
        Nominal drift factor ``(t / t0) ** (-drift_nu)`` (1 without drift); the
        analog baseline reference drifts by this factor.
    """

    g_target: np.ndarray
    g: np.ndarray
    stuck: np.ndarray
    drift_factor: float


def _check_nonneg(name: str, value, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} = {value!r}: must be a number")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (positive and v == 0):
        op = ">" if positive else ">="
        raise ValueError(f"{name} = {value!r}: must be a finite number {op} 0")
    return v


class Device:
    """Memristor cells of one macro spec.

    Parameters
    ----------
    spec : MacroSpec
        Reads ``spec.device`` (window, variation, seed) and ``spec.macro.cell_bits``.
    read_shape : {"readc-fig3d", "constant"}
        Conductance dependence of the read noise (see the module docstring).
    drift_nu : float
        Mean drift exponent (>= 0); used only when a drift time is given.
    drift_nu_sigma : float
        Cell-to-cell sigma of the drift exponent (>= 0).
    drift_t0_s : float
        Reference time of the power law in seconds (> 0).

    Raises
    ------
    ValueError
        If ``spec`` is not a MacroSpec or a parameter is out of range.
    """

    def __init__(
        self,
        spec: MacroSpec,
        *,
        read_shape: str = "readc-fig3d",
        drift_nu: float = 0.01,
        drift_nu_sigma: float = 0.0,
        drift_t0_s: float = 1.0,
    ):
        if not isinstance(spec, MacroSpec):
            raise ValueError(f"spec = {spec!r}: must be a MacroSpec")
        if read_shape not in READ_SHAPES:
            raise ValueError(
                f"read_shape = {read_shape!r}: must be one of "
                + ", ".join(repr(s) for s in READ_SHAPES)
            )
        self.spec = spec
        self.read_shape = read_shape
        self.drift_nu = _check_nonneg("drift_nu", drift_nu)
        self.drift_nu_sigma = _check_nonneg("drift_nu_sigma", drift_nu_sigma)
        self.drift_t0_s = _check_nonneg("drift_t0_s", drift_t0_s, positive=True)

    @property
    def g_min(self) -> float:
        """Lowest conductance (level 0), uS."""
        return self.spec.device.g_min_us

    @property
    def g_max(self) -> float:
        """Highest conductance (top level), uS."""
        return self.spec.device.g_max_us

    @property
    def n_levels(self) -> int:
        """Conductance levels per cell, ``2**cell_bits``."""
        return 1 << self.spec.macro.cell_bits

    @property
    def delta_g(self) -> float:
        """Conductance step between adjacent levels, ``(g_max - g_min) / (levels - 1)``."""
        return (self.g_max - self.g_min) / (self.n_levels - 1)

    @property
    def seed(self) -> int:
        """Seed of every keyed draw (``device.seed``)."""
        return self.spec.device.seed

    def level_to_g(self, levels) -> np.ndarray:
        """Nominal conductance of each level, ``g_min + level * delta_g`` (uS).

        Raises
        ------
        ValueError
            If a level is not an integer in ``0 .. n_levels - 1``.
        """
        lv = np.asarray(levels)
        if lv.dtype.kind not in "iu":
            raise ValueError(f"levels must be integers; got dtype {lv.dtype}")
        if lv.size and (lv.min() < 0 or lv.max() >= self.n_levels):
            bad = np.argwhere((lv < 0) | (lv >= self.n_levels))[0]
            raise ValueError(
                f"levels[{', '.join(map(str, bad))}] = {lv[tuple(bad)]}: "
                f"must be in 0..{self.n_levels - 1}"
            )
        return self.g_min + lv.astype(np.float64) * self.delta_g

    def g_to_level(self, g) -> np.ndarray:
        """Nearest level of each conductance (ties round up), clipped to the window.

        Returns
        -------
        ndarray of int64
        """
        x = (np.asarray(g, dtype=np.float64) - self.g_min) / self.delta_g
        return np.clip(np.floor(x + 0.5), 0, self.n_levels - 1).astype(np.int64)

    def program_sigma(self, g_target) -> np.ndarray:
        """Programming-error sigma (uS) at target conductance(s), per ``program_sigma``."""
        return program_sigma_us(self.spec.device.program_sigma, g_target)

    def read_sigma(self, g) -> np.ndarray:
        """Read-noise sigma (uS) of one read of cell(s) at conductance ``g``."""
        g = np.asarray(g, dtype=np.float64)
        s = self.spec.device.read_sigma_us
        if self.read_shape == "constant":
            return np.full(g.shape, s)
        return READC_FIG3D_READ(g) * (s / READC_FIG3D_READ.mean_sigma_us)

    def drift_exponent(self, shape, *, array_id: int = 0, row_offset: int = 0,
                       col_offset: int = 0) -> np.ndarray:
        """Per-cell drift exponents ``drift_nu + drift_nu_sigma * z`` (keyed draw)."""
        if self.drift_nu_sigma == 0.0:
            return np.full(shape, self.drift_nu)
        r, c = _grid(shape, row_offset, col_offset)
        return self.drift_nu + self.drift_nu_sigma * keyed_normal(
            self.seed, STREAM_DRIFT, array_id, r, c)

    def drift_factor(self, t_s: float) -> float:
        """Nominal drift factor ``(max(t, t0) / t0) ** (-drift_nu)``."""
        t = _check_nonneg("drift_time", t_s, positive=True)
        return float((max(t, self.drift_t0_s) / self.drift_t0_s) ** (-self.drift_nu))

    def program(self, levels, *, array_id: int = 0, drift_time: float | None = None,
                row_offset: int = 0, col_offset: int = 0) -> ProgrammedCells:
        """Program a 2-D array of levels: the static draws of every cell.

        Parameters
        ----------
        levels : array_like of int, shape (rows, cols)
            Target level of each cell.
        array_id : int
            Array identifier in the keys (>= 0).
        drift_time : float or None
            Seconds since programming; ``None`` disables drift.
        row_offset, col_offset : int
            Position of ``levels[0, 0]`` in a larger array: the keys use the global
            ``(row_offset + i, col_offset + j)``, so a tile draws what the same cells
            of the whole array draw.

        Returns
        -------
        ProgrammedCells

        Raises
        ------
        ValueError
            If ``levels`` is not 2-D or holds a level outside ``0 .. n_levels - 1``, or
            an id, offset or time is negative.
        """
        lv = np.asarray(levels)
        if lv.ndim != 2:
            raise ValueError(f"levels must be 2-D (rows, cols); got shape {lv.shape}")
        _check_index("array_id", array_id)
        _check_index("row_offset", row_offset)
        _check_index("col_offset", col_offset)
        g_target = self.level_to_g(lv)
        r, c = _grid(lv.shape, row_offset, col_offset)
        dev = self.spec.device
        z = keyed_normal(self.seed, STREAM_PROGRAM, array_id, r, c)
        g = np.maximum(g_target + self.program_sigma(g_target) * z, 0.0)
        stuck = np.zeros(lv.shape, dtype=np.int8)
        if dev.stuck_on_rate > 0 or dev.stuck_off_rate > 0:
            u = keyed_uniform(self.seed, STREAM_STUCK, array_id, r, c)
            stuck[u < dev.stuck_on_rate] = 1
            stuck[(u >= dev.stuck_on_rate) & (u < dev.stuck_on_rate + dev.stuck_off_rate)] = -1
        factor = 1.0
        if drift_time is not None:
            t = _check_nonneg("drift_time", drift_time, positive=True)
            nu = self.drift_exponent(lv.shape, array_id=array_id, row_offset=row_offset,
                                     col_offset=col_offset)
            g = g * (max(t, self.drift_t0_s) / self.drift_t0_s) ** (-nu)
            factor = self.drift_factor(t)
        g = np.where(stuck == 1, self.g_max, np.where(stuck == -1, self.g_min, g))
        return ProgrammedCells(g_target=g_target, g=g, stuck=stuck, drift_factor=factor)


def _check_index(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0:
        raise ValueError(f"{name} = {v!r}: must be a non-negative integer")
    return int(v)


def _grid(shape, row_offset: int, col_offset: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = shape
    return (np.arange(rows, dtype=np.uint64)[:, None] + np.uint64(row_offset),
            np.arange(cols, dtype=np.uint64)[None, :] + np.uint64(col_offset))
