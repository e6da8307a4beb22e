"""Q-cell banks: the analog front end of a memristor adaptive ADC.

A Q-cell is a window comparator (the ReADC paper's cell, built on the memristor analog
CAM): memristor M1 sets its lower bound, M2 its upper bound, and its match line stays
high while the input lies inside ``[lower, upper)``. An N-bit ADC is

* ``window`` encoding: ``2**N`` window cells, one per quantisation interval, giving a
  one-hot match vector. Cell 0's lower bound and the last cell's upper bound are
  ``-inf`` / ``+inf``: those memristors sit at the ends of the conductance range,
  beyond the full scale, so the edge cells are half-open. Every interior boundary is
  programmed twice (upper bound of cell k, lower bound of cell k+1) into two different
  memristors, so variation moves the two copies independently: a gap between them
  gives a zero-hot vector, an overlap a two-hot one.
* ``threshold`` encoding: ``2**N - 1`` one-sided cells, cell k matches iff
  ``x >= threshold[k]``, giving a thermometer vector; variation can reorder adjacent
  thresholds (a non-monotone vector).

Tie rule (the same as :func:`golden.quantize.quantize`): an input exactly on a bound
belongs to the upper side, ``lower <= x < upper`` and ``x >= threshold``.

Bound variation is a *static* draw: one :func:`realise` call is one chip, whose bounds
stay fixed for every conversion it makes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import presets
from .spec import ENCODINGS

__all__ = [
    "ENCODINGS", "GUARD_SIGMAS", "ConductanceMap", "QCellBank", "auto_guard_pct", "bank_from_draws",
    "bound_sigma", "check_full_scale", "nominal_bank", "realise", "window_bounds",
]



def check_full_scale(name: str, full_scale) -> tuple[float, float]:
    """``full_scale`` as a pair of floats ``(lo, hi)``; ValueError naming ``name`` unless
    both are finite and ``lo < hi``."""
    try:
        lo, hi = (float(v) for v in full_scale)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} = {full_scale!r}: must be a pair (lo, hi) of finite numbers with lo < hi"
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(
            f"{name} = {full_scale!r}: must be a pair (lo, hi) of finite numbers with lo < hi"
        )
    return lo, hi


def _check_encoding(encoding) -> str:
    if encoding not in ENCODINGS:
        raise ValueError(
            f"encoding = {encoding!r}: must be one of " + ", ".join(repr(e) for e in ENCODINGS)
        )
    return encoding


def _check_bank_shape(bank_shape) -> tuple[int, ...]:
    try:
        shape = tuple(int(n) for n in bank_shape)
    except TypeError:
        raise ValueError(
            f"bank_shape = {bank_shape!r}: must be a tuple of non-negative integers"
        ) from None
    if any(n < 0 for n in shape):
        raise ValueError(f"bank_shape = {bank_shape!r}: must be a tuple of non-negative integers")
    return shape


def _check_boundaries(boundaries) -> np.ndarray:
    b = np.asarray(boundaries, dtype=np.float64)
    if b.ndim != 1 or b.size < 1 or not np.all(np.isfinite(b)) or np.any(np.diff(b) <= 0):
        raise ValueError(
            f"boundaries = {boundaries!r}: must be a 1-D array of at least one finite, "
            "strictly increasing value"
        )
    return b


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class ConductanceMap:
    """Linear map between a memristor's conductance and a Q-cell bound.

    A Q-cell's bound voltage is set by the conductance of its memristor; to first order
    the relation is linear, and the programmable window ``[g_min_us, g_max_us]`` spans
    the ADC full scale: ``bound = lo + (G - g_min) / (g_max - g_min) * (hi - lo)``.

    Parameters
    ----------
    g_min_us, g_max_us : float
        Programmable conductance window in microsiemens, ``0 < g_min_us < g_max_us``.
    full_scale : (float, float)
        ADC input range ``(lo, hi)`` that the window maps onto, ``lo < hi``.

    Raises
    ------
    ValueError
        If the window or the full scale is empty, reversed or not finite.
    """

    g_min_us: float
    g_max_us: float
    full_scale: tuple[float, float]

    def __post_init__(self) -> None:
        for name in ("g_min_us", "g_max_us"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) \
                    or v <= 0:
                raise ValueError(f"{name} = {v!r}: must be a finite number > 0 (uS)")
            object.__setattr__(self, name, float(v))
        if self.g_max_us <= self.g_min_us:
            raise ValueError(
                f"g_max_us = {self.g_max_us!r}: must be greater than g_min_us = {self.g_min_us!r}"
            )
        object.__setattr__(self, "full_scale", check_full_scale("full_scale", self.full_scale))

    @property
    def gain(self) -> float:
        """Input units per microsiemens: ``(hi - lo) / (g_max - g_min)``."""
        lo, hi = self.full_scale
        return (hi - lo) / (self.g_max_us - self.g_min_us)

    def to_bound(self, g_us) -> np.ndarray:
        """Bound (input units) set by conductance(s) ``g_us`` (uS)."""
        return self.full_scale[0] + (np.asarray(g_us, dtype=np.float64) - self.g_min_us) \
            * self.gain

    def to_conductance(self, v) -> np.ndarray:
        """Target conductance (uS) that sets bound(s) ``v`` (input units)."""
        return self.g_min_us + (np.asarray(v, dtype=np.float64) - self.full_scale[0]) \
            / self.gain

    def bound_sigma(self, sigma_g_us) -> np.ndarray:
        """Standard deviation of a bound (input units) for a conductance sigma (uS)."""
        return np.asarray(sigma_g_us, dtype=np.float64) * self.gain

    def targets(self, bounds, program_sigma, sigma_pct: float = 0.0) -> dict[str, np.ndarray]:
        """What the memristors that set ``bounds`` are programmed to, shape of ``bounds``.

        A bound outside the full scale has no conductance in the device window: its
        target is clipped to ``g_min_us`` / ``g_max_us``. The rails (``-inf`` /
        ``+inf``, the window edge cells' outer bounds) sit there without counting as
        clipped.

        Parameters
        ----------
        bounds : array_like
            Bounds in input units (``±inf`` for the rails).
        program_sigma : str, float or callable
            As :func:`golden.presets.program_sigma_us`.
        sigma_pct : float
            Bound variation in percent of the full scale, added in variance.

        Returns
        -------
        dict
            ``g_us`` (target conductance), ``sigma_g_us`` (programming sigma at it),
            ``sigma_bound`` (both sources, input units), ``rail`` (bool) and
            ``clipped`` (int8: -1 below the full scale, 1 above, 0 inside).
        """
        lo, hi = self.full_scale
        b = np.asarray(bounds, dtype=np.float64)
        rail_lo, rail_hi = np.isneginf(b), np.isposinf(b)
        clipped = ((b > hi) & ~rail_hi).astype(np.int8) - ((b < lo) & ~rail_lo)
        g_us = self.to_conductance(np.clip(b, lo, hi))
        sg = presets.program_sigma_us(program_sigma, g_us)
        spread = np.square(float(sigma_pct) / 100.0 * (hi - lo))
        return {"g_us": g_us, "sigma_g_us": sg,
                "sigma_bound": np.sqrt(spread + self.bound_sigma(sg) ** 2),
                "rail": rail_lo | rail_hi, "clipped": clipped}


@dataclass(frozen=True, eq=False)
class QCellBank:
    """The bounds of one or many realised Q-cell ADCs.

    Parameters
    ----------
    encoding : {"window", "threshold"}
        Cell type.
    lower, upper : array_like or None
        Window encoding only: bounds shaped ``(*bank_shape, n_cells)``; cell k matches
        iff ``lower[..., k] <= x < upper[..., k]``. ``lower[..., 0]`` is normally
        ``-inf`` and ``upper[..., -1]`` ``+inf`` (half-open edge cells).
    thresholds : array_like or None
        Threshold encoding only: shaped ``(*bank_shape, n_cells)``, not necessarily
        sorted; cell k matches iff ``x >= thresholds[..., k]``.

    Attributes
    ----------
    bank_shape : tuple of int
        Shape of the batch of ADCs (e.g. ``(n_columns,)`` or ``(n_chips, n_columns)``).
    n_cells : int
        Q-cells per ADC.
    n_codes : int
        Codes per ADC: ``n_cells`` (window) or ``n_cells + 1`` (threshold).
    bits : int
        ``log2(n_codes)``.

    Raises
    ------
    ValueError
        For an unknown encoding, missing or superfluous bound arrays, mismatched shapes
        or NaN bounds. (A window with ``lower > upper`` is allowed: a cell whose bounds
        crossed under variation never matches.)
    """

    encoding: str
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    thresholds: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_encoding(self.encoding)
        if self.encoding == "window":
            if self.lower is None or self.upper is None or self.thresholds is not None:
                raise ValueError(
                    "encoding = 'window': needs lower and upper bounds and no thresholds"
                )
            lo, up = _frozen(self.lower), _frozen(self.upper)
            if lo.ndim < 1 or lo.shape != up.shape or lo.shape[-1] < 2:
                raise ValueError(
                    f"lower.shape = {lo.shape}, upper.shape = {up.shape}: must be equal, "
                    "(*bank_shape, n_cells) with n_cells >= 2"
                )
            if np.any(np.isnan(lo)) or np.any(np.isnan(up)):
                raise ValueError("lower, upper: must not contain NaN")
            object.__setattr__(self, "lower", lo)
            object.__setattr__(self, "upper", up)
        else:
            if self.thresholds is None or self.lower is not None or self.upper is not None:
                raise ValueError(
                    "encoding = 'threshold': needs thresholds and no lower/upper bounds"
                )
            t = _frozen(self.thresholds)
            if t.ndim < 1 or t.shape[-1] < 1:
                raise ValueError(
                    f"thresholds.shape = {t.shape}: must be (*bank_shape, n_cells), n_cells >= 1"
                )
            if np.any(np.isnan(t)):
                raise ValueError("thresholds: must not contain NaN")
            object.__setattr__(self, "thresholds", t)

    @property
    def _bounds(self) -> np.ndarray:
        return self.lower if self.encoding == "window" else self.thresholds

    @property
    def bank_shape(self) -> tuple[int, ...]:
        """Shape of the batch of ADCs."""
        return self._bounds.shape[:-1]

    @property
    def n_cells(self) -> int:
        """Q-cells per ADC."""
        return self._bounds.shape[-1]

    @property
    def n_codes(self) -> int:
        """Codes per ADC: ``n_cells`` (window) or ``n_cells + 1`` (threshold)."""
        return self.n_cells + (self.encoding == "threshold")

    @property
    def bits(self) -> int:
        """ADC resolution ``log2(n_codes)``.

        Raises
        ------
        ValueError
            If ``n_codes`` is not a power of two.
        """
        k = self.n_codes
        if k & (k - 1):
            raise ValueError(f"n_codes = {k}: bits needs a power of two")
        return k.bit_length() - 1

    @property
    def transitions(self) -> np.ndarray:
        """Code transition levels, shape ``(*bank_shape, n_codes - 1)``.

        Threshold encoding: the realised thresholds sorted in increasing order. The
        ones-counter decoder outputs the number of thresholds at or below x, so code
        ``>= k`` exactly from the k-th smallest threshold on: these are the exact
        code transitions of the decoded ADC (before sorting, ``thresholds``).

        Window encoding: the lower bounds of cells 1..n_cells-1, i.e. where each cell
        starts to match. They are the code transitions only while no bubble touches
        them; with gaps or overlaps the decoded transitions depend on the decoder -
        measure them with :func:`golden.linearity.transitions_from_ramp`.
        """
        if self.encoding == "threshold":
            return np.sort(self.thresholds, axis=-1)
        return np.array(self.lower[..., 1:])

    def match(self, x) -> np.ndarray:
        """Match vectors of the bank for inputs ``x``.

        Parameters
        ----------
        x : array_like
            Inputs shaped ``(..., *bank_shape)`` (or anything that broadcasts to it):
            the trailing axes address the ADCs of the bank. ``±inf`` are valid inputs
            (codes 0 and K-1 of a nominal bank); NaN matches no cell.

        Returns
        -------
        ndarray of bool
            Shape ``(..., *bank_shape, n_cells)``; element ``k`` is cell k's match line.

        Raises
        ------
        ValueError
            If ``x`` does not broadcast against ``bank_shape``.
        """
        xe = np.asarray(x, dtype=np.float64)[..., np.newaxis]
        try:
            np.broadcast_shapes(xe.shape, self._bounds.shape)
        except ValueError:
            raise ValueError(
                f"x.shape = {xe.shape[:-1]}: must broadcast to (..., *bank_shape) with "
                f"bank_shape = {self.bank_shape}"
            ) from None
        if self.encoding == "window":
            # An infinite upper bound is no bound at all: x = +inf still matches.
            return (xe >= self.lower) & ((xe < self.upper) | (self.upper == np.inf))
        return xe >= self.thresholds


def window_bounds(upper_b: np.ndarray, lower_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` of window cells from the interior bound copies, (..., K - 1) each.

    Cell ``k`` spans ``[lower_b[k - 1], upper_b[k])``; cell 0's lower bound and the last
    cell's upper bound are the rails ``-inf`` / ``+inf``. Shapes (..., K).
    """
    shape = upper_b.shape[:-1]
    inf = np.full((*shape, 1), np.inf)
    lower = np.concatenate([-inf, lower_b], axis=-1)
    upper = np.concatenate([upper_b, inf], axis=-1)
    return lower, upper


def nominal_bank(boundaries, encoding: str, bank_shape=()) -> QCellBank:
    """A bank of ADCs programmed exactly to ``boundaries`` (no variation).

    Parameters
    ----------
    boundaries : array_like
        The ``K - 1`` strictly increasing quantiser boundaries.
    encoding : {"window", "threshold"}
        ``window``: ``K`` window cells; ``threshold``: ``K - 1`` threshold cells.
    bank_shape : tuple of int
        Batch shape; every ADC gets the same bounds.

    Returns
    -------
    QCellBank

    Raises
    ------
    ValueError
        For an unknown encoding, a bad ``bank_shape`` or non-increasing boundaries.
    """
    _check_encoding(encoding)
    shape = _check_bank_shape(bank_shape)
    b = _check_boundaries(boundaries)
    b = np.broadcast_to(b, (*shape, b.size))
    if encoding == "threshold":
        return QCellBank("threshold", thresholds=b)
    lower, upper = window_bounds(b, b)
    return QCellBank("window", lower=lower, upper=upper)


def bound_sigma(b, full_scale, sigma_pct=0.0, g_map=None, program_sigma=None) -> np.ndarray:
    """Per-boundary sigma of a programmed bound in input units, shape ``b.shape``.

    The two sources of :func:`realise` (``sigma_pct`` of the full scale, and
    ``program_sigma`` through ``g_map``) are independent and add in variance.
    """
    lo, hi = full_scale
    if isinstance(sigma_pct, bool) \
            or not isinstance(sigma_pct, int | float | np.integer | np.floating) \
            or not np.isfinite(sigma_pct) or sigma_pct < 0:
        raise ValueError(f"sigma_pct = {sigma_pct!r}: must be a finite number >= 0 (percent)")
    var = np.full(b.shape, (float(sigma_pct) / 100.0 * (hi - lo)) ** 2)
    if g_map is None:
        if program_sigma is not None:
            raise ValueError(
                f"program_sigma = {program_sigma!r}: needs g_map (a ConductanceMap) to "
                "convert it to a bound sigma"
            )
        return np.sqrt(var)
    if not isinstance(g_map, ConductanceMap):
        raise ValueError(f"g_map = {g_map!r}: must be a ConductanceMap or None")
    if g_map.full_scale != (lo, hi):
        raise ValueError(
            f"g_map.full_scale = {g_map.full_scale!r}: must equal full_scale = {(lo, hi)!r}"
        )
    if program_sigma is None:
        raise ValueError("program_sigma = None: g_map needs a programming sigma")
    sg = presets.program_sigma_us(program_sigma, g_map.to_conductance(b))
    return np.sqrt(var + g_map.bound_sigma(sg) ** 2)


GUARD_SIGMAS = 4.0
"""Default guard band, in sigmas of the difference of a boundary's two copies."""


def auto_guard_pct(sigma_pct: float) -> float:
    """The default window guard band for a bound sigma (both in percent of full scale).

    ``GUARD_SIGMAS * sqrt(2) * sigma_pct``: the two copies of a boundary differ by a
    Gaussian of sigma ``sqrt(2) * sigma``, so a gap opens with probability
    ``Phi(-4)``, about 3e-5, per boundary an input lies on.
    """
    return GUARD_SIGMAS * float(np.sqrt(2.0)) * float(sigma_pct)


def realise(
    boundaries,
    encoding: str,
    full_scale,
    rng: np.random.Generator,
    *,
    sigma_pct: float = 0.0,
    g_map: ConductanceMap | None = None,
    program_sigma: Callable | float | str | None = None,
    bank_shape=(),
    guard_pct: float = 0.0,
) -> QCellBank:
    """Realise (program) Q-cell ADCs with static bound variation: one call, one chip.

    Every bound of every cell gets its own Gaussian error: window interior boundaries
    appear twice (upper bound of cell k, lower bound of cell k+1) and the two copies
    are drawn independently. Two sources, independent and added in variance:

    * ``sigma_pct``: sigma in percent of the full scale, the same for every bound;
    * ``g_map`` with ``program_sigma``: each bound's target conductance is
      ``g_map.to_conductance(bound)``, its programming sigma ``program_sigma(G)``
      (a callable such as :data:`golden.presets.READC_FIG3C_PROGRAM`, a constant in
      uS, or the preset names ``"readc-fig3c"`` / ``"none"``), converted to a bound
      sigma with ``g_map.bound_sigma``.

    The draws take one ``rng.standard_normal`` call of shape
    ``(*bank_shape, copies, K - 1)`` (``copies`` = 2 window, 1 threshold), made even
    when every sigma is zero, so the generator advances the same way whatever the
    variation; the first ADC of a batch gets the same bounds as an unbatched call.

    Parameters
    ----------
    boundaries : array_like
        ``K - 1`` strictly increasing nominal boundaries.
    encoding : {"window", "threshold"}
        Cell type.
    full_scale : (float, float)
        ADC input range, the reference of ``sigma_pct``.
    rng : numpy.random.Generator
        Source of the variation draws.
    sigma_pct : float
        Bound sigma in percent of the full scale, >= 0.
    g_map : ConductanceMap or None
        Conductance-to-bound map; its full scale must equal ``full_scale``.
    program_sigma : callable, float, str or None
        Programming sigma; required with ``g_map`` and only allowed with it.
    bank_shape : tuple of int
        Batch shape of independent ADCs (columns, chips) drawn in the same call.
    guard_pct : float
        Window encoding only: a guard band, in percent of the full scale. The lower
        bound of cell ``k+1`` is programmed ``guard`` below boundary ``k`` while the
        upper bound of cell ``k`` stays on it, so adjacent windows overlap on purpose.
        With the lowest-index priority decoder the overlap decodes to cell ``k``: the
        code transition is the upper bound alone (exact without variation), and
        variation turns into two-hot vectors (corrected, within one code) instead of
        zero-hot gaps (no information left) unless the two copies drift apart by more
        than the guard; :func:`auto_guard_pct` gives the default width.

    Returns
    -------
    QCellBank
        Bounds shaped ``(*bank_shape, n_cells)``.

    Raises
    ------
    ValueError
        Naming the offending parameter.
    """
    _check_encoding(encoding)
    b = _check_boundaries(boundaries)
    fs = check_full_scale("full_scale", full_scale)
    shape = _check_bank_shape(bank_shape)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng = {rng!r}: must be a numpy.random.Generator")
    if isinstance(guard_pct, bool) \
            or not isinstance(guard_pct, int | float | np.integer | np.floating) \
            or not np.isfinite(guard_pct) or not 0 <= guard_pct <= 100:
        raise ValueError(f"guard_pct = {guard_pct!r}: must be a number in [0, 100] (percent)")
    sigma = bound_sigma(b, fs, sigma_pct, g_map, program_sigma)
    copies = 2 if encoding == "window" else 1
    z = rng.standard_normal((*shape, copies, b.size))
    return bank_from_draws(b, encoding, sigma, z,
                           guard=float(guard_pct) / 100.0 * (fs[1] - fs[0]))


def bank_from_draws(boundaries, encoding: str, sigma, z, *, guard: float = 0.0) -> QCellBank:
    """Program banks from nominal boundaries and given unit-normal draws.

    The deterministic core of :func:`realise`, for callers that key their own draws
    (a macro draws ``z`` once per chip and reuses it for any boundaries it programs).

    Parameters
    ----------
    boundaries : array_like, shape (..., K - 1)
        Nominal boundaries of every ADC (broadcast against ``z``).
    encoding : {"window", "threshold"}
    sigma : array_like
        Bound sigma in input units, broadcastable to ``boundaries``.
    z : array_like, shape (*bank_shape, copies, K - 1)
        Unit-normal draws; ``copies`` is 2 for window cells (upper bound of cell k,
        lower bound of cell k+1), 1 for threshold cells.
    guard : float
        Window guard band in input units (see :func:`realise`).

    Returns
    -------
    QCellBank
    """
    _check_encoding(encoding)
    b = np.asarray(boundaries, dtype=np.float64)[..., np.newaxis, :]
    bounds = b + np.asarray(sigma, dtype=np.float64)[..., np.newaxis, :] * np.asarray(z)
    if encoding == "threshold":
        return QCellBank("threshold", thresholds=bounds[..., 0, :])
    lower, upper = window_bounds(bounds[..., 0, :], bounds[..., 1, :] - guard)
    return QCellBank("window", lower=lower, upper=upper)
