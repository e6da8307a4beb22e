"""Scalar quantisers: uniform, Lloyd-Max and globally MSE-optimal.

A quantiser with ``K`` levels over a full scale ``(lo, hi)`` is ``K - 1`` strictly
increasing boundaries strictly inside ``(lo, hi)`` and ``K`` reconstruction levels,
level ``k`` inside cell ``k``. In a Q-cell ADC the boundaries are the programmed
(analog) window bounds and the levels are the digital LUT.

Conventions, shared by every part of cimgen:

* ``n_levels`` (if given) overrides ``2**bits``; it need not be a power of two (an
  interleaved super-resolution pair uses ``2**(N+1) - 1`` levels).
* ``full_scale`` defaults to ``(min, max)`` of the samples; samples are clipped to the
  full scale before calibration.
* ``code = number of boundaries <= x`` (``np.searchsorted(..., side="right")``): a value
  exactly on a boundary goes to the upper cell; values below the full scale get code 0
  and values above it code ``K - 1`` (explicit clipping). There are exactly ``K`` codes.

The data-driven designs work on the sorted, clipped samples with prefix sums of the
(mean-removed) values and their squares, so the sum of squared errors of any cell is two
look-ups: a Lloyd-Max iteration costs ``O(K log n)`` after one ``O(n log n)`` sort, and
the dynamic programme of :func:`optimal` evaluates any cell's cost in ``O(1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import METHODS

__all__ = [
    "MAX_LEVELS",
    "METHODS",
    "Quantizer",
    "design",
    "lloyd_max",
    "optimal",
    "quantize",
    "uniform",
]

MAX_LEVELS = 1 << 16


def _fmt(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    return repr(value)


def _check_n_levels(bits, n_levels) -> int:
    """The number of levels: ``n_levels`` if given, else ``2**bits``."""
    if n_levels is not None:
        if isinstance(n_levels, bool) or not isinstance(n_levels, int | np.integer):
            raise ValueError(f"n_levels = {_fmt(n_levels)}: must be an integer in 1..{MAX_LEVELS}")
        if not 1 <= n_levels <= MAX_LEVELS:
            raise ValueError(f"n_levels = {n_levels!r}: must be an integer in 1..{MAX_LEVELS}")
        return int(n_levels)
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 1 <= bits <= 8:
        raise ValueError(
            f"bits = {_fmt(bits)}: must be an integer in 1..8 (or give n_levels instead)"
        )
    return 1 << int(bits)


def _check_full_scale(full_scale) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in full_scale)
    except (TypeError, ValueError):
        raise ValueError(
            f"full_scale = {_fmt(full_scale)}: must be a pair (lo, hi) of finite numbers, lo < hi"
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(
            f"full_scale = {full_scale!r}: must be a pair (lo, hi) of finite numbers, lo < hi"
        )
    return lo, hi


def _check_samples(samples) -> np.ndarray:
    x = np.asarray(samples)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"samples = {_fmt(x)}: must be real numbers")
    x = x.astype(np.float64, copy=False).ravel()
    if x.size == 0:
        raise ValueError("samples = array(shape=(0,)): must contain at least one value")
    if not np.isfinite(x).all():
        raise ValueError(
            f"samples = {_fmt(x)}: must be finite "
            f"({np.count_nonzero(~np.isfinite(x))} NaN or infinite values)"
        )
    return x


def _check_tol_iter(tol, max_iter) -> None:
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 <= tol < 1:
        raise ValueError(f"tol = {tol!r}: must be a number in [0, 1)")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter = {max_iter!r}: must be an integer >= 1")


@dataclass(frozen=True, eq=False)
class Quantizer:
    """A scalar quantiser: boundaries, reconstruction levels and full scale.

    Parameters
    ----------
    boundaries : array_like, shape (K-1,)
        Strictly increasing, strictly inside ``full_scale``. Stored as a read-only
        float64 array.
    levels : array_like, shape (K,)
        Reconstruction levels; ``levels[k]`` lies in cell ``k``, the closed interval
        between boundaries ``k-1`` and ``k`` (the full scale's ends for the edge cells).
        Stored as a read-only float64 array.
    full_scale : (float, float)
        The ADC input range ``(lo, hi)``, ``lo < hi``.
    method : str
        How it was designed (``"uniform"``, ``"lloyd-max"``, ``"optimal"`` or any label).

    Raises
    ------
    ValueError
        If any of the above does not hold.

    Notes
    -----
    Two quantisers compare equal when all fields are equal element by element.
    """

    boundaries: np.ndarray
    levels: np.ndarray
    full_scale: tuple[float, float]
    method: str

    def __post_init__(self) -> None:
        lo, hi = _check_full_scale(self.full_scale)
        b = np.array(self.boundaries, dtype=np.float64, copy=True)
        lv = np.array(self.levels, dtype=np.float64, copy=True)
        if lv.ndim != 1 or not 1 <= lv.size <= MAX_LEVELS:
            raise ValueError(
                f"levels = {_fmt(lv)}: must be 1-D with 1..{MAX_LEVELS} entries"
            )
        if b.shape != (lv.size - 1,):
            raise ValueError(
                f"boundaries = {_fmt(b)}: must be 1-D with len(levels) - 1 = {lv.size - 1} entries"
            )
        if not (np.isfinite(b).all() and np.isfinite(lv).all()):
            raise ValueError("boundaries and levels must be finite")
        if b.size and not (np.all(np.diff(b) > 0) and lo < b[0] and b[-1] < hi):
            raise ValueError(
                f"boundaries = {b.tolist()!r}: must be strictly increasing and strictly inside "
                f"full_scale = ({lo!r}, {hi!r})"
            )
        edges = np.concatenate(([lo], b, [hi]))
        outside = np.flatnonzero((lv < edges[:-1]) | (lv > edges[1:]))
        if outside.size:
            k = int(outside[0])
            raise ValueError(
                f"levels[{k}] = {float(lv[k])!r}: must lie in its cell "
                f"[{float(edges[k])!r}, {float(edges[k + 1])!r}]"
            )
        if not isinstance(self.method, str):
            raise ValueError(f"method = {self.method!r}: must be a string")
        b.flags.writeable = False
        lv.flags.writeable = False
        object.__setattr__(self, "boundaries", b)
        object.__setattr__(self, "levels", lv)
        object.__setattr__(self, "full_scale", (lo, hi))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantizer):
            return NotImplemented
        return (
            self.method == other.method
            and self.full_scale == other.full_scale
            and np.array_equal(self.boundaries, other.boundaries)
            and np.array_equal(self.levels, other.levels)
        )

    def __hash__(self) -> int:
        return hash(
            (self.method, self.full_scale, self.boundaries.tobytes(), self.levels.tobytes())
        )

    @property
    def n_levels(self) -> int:
        """Number of levels (codes) ``K``."""
        return int(self.levels.size)

    @property
    def bits(self) -> int:
        """Resolution ``log2(K)``.

        Raises
        ------
        ValueError
            If ``K`` is not a power of two.
        """
        k = self.n_levels
        if k & (k - 1):
            raise ValueError(f"n_levels = {k}: bits is defined only for a power of two")
        return k.bit_length() - 1

    def quantize(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Quantise ``x``; see :func:`quantize`."""
        return quantize(x, self.boundaries, self.levels)

    def to_dict(self) -> dict:
        """Plain-value form (JSON-ready)."""
        return {
            "method": self.method,
            "full_scale": list(self.full_scale),
            "boundaries": self.boundaries.tolist(),
            "levels": self.levels.tolist(),
        }


def quantize(x, boundaries, levels) -> tuple[np.ndarray, np.ndarray]:
    """Quantise values with given boundaries and levels.

    Parameters
    ----------
    x : array_like
        Values, any shape; ``+-inf`` are clipped like any out-of-range value.
    boundaries : array_like, shape (K-1,)
        Strictly increasing boundaries.
    levels : array_like, shape (K,)
        Reconstruction levels.

    Returns
    -------
    codes : ndarray of int64, shape of ``x``
        Number of boundaries ``<= x``: a value on a boundary goes to the upper cell,
        values below the first boundary get 0 and above the last ``K - 1``.
    values : ndarray of float64, shape of ``x``
        ``levels[codes]``.

    Raises
    ------
    ValueError
        If ``x`` contains NaN or is not real, or boundaries and levels do not fit
        together (shape, order, finiteness).
    """
    b = np.asarray(boundaries, dtype=np.float64)
    lv = np.asarray(levels, dtype=np.float64)
    if lv.ndim != 1 or lv.size < 1:
        raise ValueError(f"levels = {_fmt(lv)}: must be 1-D with at least one entry")
    if b.shape != (lv.size - 1,):
        raise ValueError(
            f"boundaries = {_fmt(b)}: must be 1-D with len(levels) - 1 = {lv.size - 1} entries"
        )
    if not np.isfinite(b).all() or (b.size > 1 and not np.all(b[1:] > b[:-1])):
        raise ValueError(
            f"boundaries = {_fmt(b)}: must be finite and strictly increasing"
        )
    xa = np.asarray(x)
    if xa.dtype.kind not in "biuf":
        raise ValueError(f"x = {_fmt(xa)}: must be real numbers")
    xa = xa.astype(np.float64, copy=False)
    if np.isnan(xa).any():
        raise ValueError(f"x = {_fmt(xa)}: must not contain NaN")
    codes = np.searchsorted(b, xa, side="right").astype(np.int64, copy=False)
    return codes, lv[codes]


def uniform(bits, full_scale, *, n_levels=None) -> Quantizer:
    """Uniform quantiser: ``K`` equal cells over the full scale, levels at cell midpoints.

    Parameters
    ----------
    bits : int
        Resolution, 1..8 (ignored when ``n_levels`` is given).
    full_scale : (float, float)
        ``(lo, hi)`` with ``lo < hi``.
    n_levels : int, optional
        Number of levels ``K`` (1..65536); overrides ``2**bits``.

    Returns
    -------
    Quantizer
        ``boundaries[k] = lo + (k+1) * (hi-lo)/K``, ``levels[k] = lo + (k+1/2) * (hi-lo)/K``.

    Raises
    ------
    ValueError
        On a bad ``bits``, ``n_levels`` or ``full_scale``.
    """
    k = _check_n_levels(bits, n_levels)
    lo, hi = _check_full_scale(full_scale)
    step = (hi - lo) / k
    b = lo + step * np.arange(1, k, dtype=np.float64)
    lv = lo + step * (np.arange(k, dtype=np.float64) + 0.5)
    return Quantizer(b, lv, (lo, hi), "uniform")


class _Sorted:
    """Sorted, clipped samples with prefix sums of ``x - mean`` and its square.

    Cells are index ranges ``xs[e[k]:e[k+1]]``; their counts, sums and sums of squares
    (hence centroids and squared errors) are differences of the prefix sums, ``O(K)`` for
    all cells. Removing the mean first keeps the prefix sums small, so the cancellation in
    ``sum(x^2) - sum(x)^2 / n`` costs only about ``eps * n * var(x)`` absolute.
    """

    def __init__(self, samples, full_scale, n_levels: int):
        x = _check_samples(samples)
        if full_scale is None:
            lo, hi = float(x.min()), float(x.max())
            if not lo < hi:
                raise ValueError(
                    f"samples: all {x.size} values equal {lo!r}; give full_scale or "
                    f"at least n_levels = {n_levels} distinct values"
                )
        else:
            lo, hi = _check_full_scale(full_scale)
        self.full_scale = (lo, hi)
        xs = np.sort(np.clip(x, lo, hi))
        change = np.flatnonzero(xs[1:] != xs[:-1]) + 1
        distinct = change.size + 1
        if distinct < n_levels:
            raise ValueError(
                f"samples: {distinct} distinct values (after clipping to full_scale); "
                f"need at least n_levels = {n_levels}"
            )
        self.xs = xs
        self.n = xs.size
        self.unique_starts = np.concatenate(([0], change))
        self.mean = float(xs.mean())
        c = xs - self.mean
        self.s1 = np.zeros(self.n + 1, dtype=np.float64)
        self.s2 = np.zeros(self.n + 1, dtype=np.float64)
        np.cumsum(c, out=self.s1[1:])
        np.cumsum(c * c, out=self.s2[1:])

    def edges(self, boundaries: np.ndarray) -> np.ndarray:
        """Cell edges in ``xs`` (a sample equal to a boundary goes up)."""
        e = np.empty(boundaries.size + 2, dtype=np.intp)
        e[0], e[-1] = 0, self.n
        e[1:-1] = np.searchsorted(self.xs, boundaries, side="left")
        return e

    def moments(self, e: np.ndarray):
        cnt = np.diff(e)
        return cnt, self.s1[e[1:]] - self.s1[e[:-1]], self.s2[e[1:]] - self.s2[e[:-1]]

    def centroids(self, e: np.ndarray) -> np.ndarray:
        """Centroids of non-empty cells, clipped to each cell's sample range.

        The clip only removes rounding (a cell of equal values gets exactly that value),
        and keeps the centroids strictly increasing when cells split at value changes.
        """
        cnt, s1, _ = self.moments(e)
        return np.clip(self.mean + s1 / cnt, self.xs[e[:-1]], self.xs[e[1:] - 1])

    def mse(self, boundaries: np.ndarray, levels: np.ndarray) -> float:
        """MSE of quantising the samples with these boundaries and levels."""
        cnt, s1, s2 = self.moments(self.edges(boundaries))
        lc = levels - self.mean
        return float(np.sum(s2 - 2.0 * lc * s1 + lc * lc * cnt) / self.n)

    def reseed(self, e: np.ndarray, n_levels: int) -> np.ndarray:
        """Replace empty cells by splitting the cells of largest SSE.

        Drops the empty cells, then (once per missing cell) splits the cell with the
        largest sum of squared errors at its centroid; that lowers the SSE, so Lloyd's
        iteration stays monotone. Runs only when a cell is empty (rare), never per sample.
        """
        e = np.unique(e)
        while e.size - 1 < n_levels:
            cnt, s1, s2 = self.moments(e)
            sse = s2 - s1 * s1 / cnt
            sse[self.xs[e[:-1]] == self.xs[e[1:] - 1]] = -1.0
            k = int(np.argmax(sse))
            centroid = self.mean + s1[k] / cnt[k]
            split = e[k] + int(np.searchsorted(self.xs[e[k] : e[k + 1]], centroid, side="left"))
            e = np.insert(e, k + 1, split)
        return e


def _lloyd(data: _Sorted, levels: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
    """Lloyd iterations from ``levels``; returns the final centroids (strictly increasing).

    Stops at a fixed point (the partition repeats), when the relative decrease of the
    MSE falls to ``tol`` or below, or after ``max_iter`` iterations.
    """
    k = levels.size
    if k == 1:
        return data.centroids(np.array([0, data.n]))
    prev_sse = np.inf
    prev_e = None
    for _ in range(max_iter):
        e = data.edges(_midpoints(levels))
        if np.any(e[1:] == e[:-1]):
            e = data.reseed(e, k)
        if prev_e is not None and np.array_equal(e, prev_e):
            break
        cnt, s1, s2 = data.moments(e)
        sse = float(np.sum(s2 - s1 * s1 / cnt))
        levels = data.centroids(e)
        if prev_sse - sse <= tol * sse:
            break
        prev_sse, prev_e = sse, e
    return levels


def _init_levels(init, data: _Sorted, k: int) -> np.ndarray:
    lo, hi = data.full_scale
    if isinstance(init, str):
        if init == "uniform":
            return lo + (hi - lo) / k * (np.arange(k, dtype=np.float64) + 0.5)
        if init == "quantile":
            e = data.unique_starts[
                np.unique(np.round(np.linspace(0, data.unique_starts.size, k + 1)[1:-1]))
                .astype(np.intp)
            ]
            return data.centroids(data.reseed(np.concatenate(([0], e, [data.n])), k))
        raise ValueError(
            f"init = {init!r}: must be 'uniform', 'quantile' or an array of n_levels levels"
        )
    lv = np.asarray(init, dtype=np.float64)
    if lv.shape != (k,) or not np.isfinite(lv).all() or np.any(np.diff(lv) <= 0):
        raise ValueError(
            f"init = {_fmt(lv)}: must be 'uniform', 'quantile' or {k} finite, strictly "
            f"increasing levels"
        )
    return np.clip(lv, lo, hi)


def _midpoints(levels: np.ndarray) -> np.ndarray:
    return 0.5 * levels[:-1] + 0.5 * levels[1:]


def _from_levels(levels: np.ndarray, full_scale, method: str) -> Quantizer:
    return Quantizer(_midpoints(levels), levels, full_scale, method)


def lloyd_max(
    samples,
    bits,
    *,
    n_levels=None,
    full_scale=None,
    init="uniform",
    tol: float = 1e-10,
    max_iter: int = 100_000,
) -> Quantizer:
    """Lloyd-Max quantiser fitted to samples (a local MSE optimum).

    Alternates the two optimality conditions on the empirical distribution: boundaries
    at midpoints of neighbouring levels, levels at the centroids of their cells.

    Parameters
    ----------
    samples : array_like
        Calibration data, any shape (flattened), finite; at least ``K`` distinct values
        after clipping to the full scale.
    bits : int
        Resolution, 1..8 (ignored when ``n_levels`` is given).
    n_levels : int, optional
        Number of levels ``K`` (1..65536); overrides ``2**bits``.
    full_scale : (float, float), optional
        Input range; default ``(min, max)`` of the samples. Samples are clipped to it.
    init : {"uniform", "quantile"} or array_like, optional
        Starting levels: ``"uniform"`` (default) the midpoints of ``K`` equal cells over
        the full scale, ``"quantile"`` the centroids of ``K`` cells holding equal numbers
        of distinct sample values, or ``K`` strictly increasing levels (clipped to the
        full scale).
    tol : float, optional
        Stop when the MSE decreases by at most ``tol`` times itself in one iteration.
    max_iter : int, optional
        Iteration limit.

    Returns
    -------
    Quantizer
        ``method = "lloyd-max"``; boundaries are the midpoints of the levels.

    Raises
    ------
    ValueError
        On bad parameters or too few distinct samples.

    Notes
    -----
    Cost: one ``O(n log n)`` sort, then ``O(K log n)`` per iteration (cell edges by
    binary search in the sorted data, centroids from prefix sums).

    An empty cell is re-seeded deterministically: the cell with the largest sum of
    squared errors is split at its centroid and the empty one dropped. This keeps all
    ``K`` levels in use and the MSE non-increasing; no randomness is involved, so the
    result depends only on the data, ``init`` and the stopping rule.

    The iteration converges to a local optimum, which on multi-modal data need not be
    the global one; see :func:`optimal`.
    """
    k = _check_n_levels(bits, n_levels)
    _check_tol_iter(tol, max_iter)
    data = _Sorted(samples, full_scale, k)
    levels = _lloyd(data, _init_levels(init, data, k), float(tol), max_iter)
    return _from_levels(levels, data.full_scale, "lloyd-max")


def _dp_splits(e: np.ndarray, s1: np.ndarray, s2: np.ndarray, k: int) -> np.ndarray:
    """Globally optimal split of ``m`` ordered weighted groups into ``k`` contiguous runs.

    ``e`` (length m+1) are cumulative counts, ``s1``/``s2`` the prefix sums of values
    and squares at the group edges, so the SSE of groups ``i..j-1`` is
    ``s2[j]-s2[i] - (s1[j]-s1[i])**2 / (e[j]-e[i])``. Returns the ``k+1`` run edges
    (indices into the groups). Layer by layer, ``D_k(j) = min_i D_{k-1}(i) + cost(i, j)``;
    the SSE cost is Monge, so the leftmost minimiser is non-decreasing in ``j`` and
    divide and conquer evaluates each layer in ``O(m log m)``. The recursion is run
    breadth first: every node of one depth is evaluated in one vectorised pass over
    its candidate ranges, which sum to ``O(m)`` per depth.
    """
    m = e.size - 1
    cnt = e.astype(np.float64)

    def cost(i, j):
        s = s1[j] - s1[i]
        return (s2[j] - s2[i]) - s * s / (cnt[j] - cnt[i])

    prev = np.full(m + 1, np.inf)
    j = np.arange(1, m - k + 2)
    prev[j] = cost(0, j)
    back = []
    for layer in range(2, k + 1):
        cur = np.full(m + 1, np.inf)
        arg = np.zeros(m + 1, dtype=np.intp)
        jhi = m - k + layer
        jl = np.array([layer])
        jr = np.array([jhi])
        ol = np.array([layer - 1])
        orr = np.array([jhi - 1])
        while jl.size:
            mid = (jl + jr) // 2
            length = np.minimum(orr, mid - 1) - ol + 1
            starts = np.cumsum(length) - length
            seg = np.repeat(np.arange(mid.size), length)
            i = np.arange(seg.size) + (ol - starts)[seg]
            v = prev[i] + cost(i, mid[seg])
            best = np.minimum.reduceat(v, starts)
            hit = np.flatnonzero(v <= best[seg])
            first = hit[np.concatenate(([True], seg[hit[1:]] != seg[hit[:-1]]))]
            opt = i[first]
            cur[mid] = best
            arg[mid] = opt
            left = mid - 1 >= jl
            right = mid + 1 <= jr
            jl, jr, ol, orr = (
                np.concatenate((jl[left], mid[right] + 1)),
                np.concatenate((mid[left] - 1, jr[right])),
                np.concatenate((ol[left], opt[right])),
                np.concatenate((opt[left], orr[right])),
            )
        back.append(arg)
        prev = cur
    splits = np.empty(k + 1, dtype=np.intp)
    splits[0], splits[k] = 0, m
    for layer in range(k - 1, 0, -1):
        splits[layer] = back[layer - 1][splits[layer + 1]]
    return splits


def optimal(
    samples,
    bits,
    *,
    n_levels=None,
    full_scale=None,
    max_exact: int = 4096,
    bins: int = 4096,
    tol: float = 1e-10,
    max_iter: int = 100_000,
) -> Quantizer:
    """Globally MSE-optimal quantiser by dynamic programming.

    In one dimension an MSE-optimal partition is contiguous in sorted order, so the
    optimum is the best split of the sorted samples into ``K`` runs.

    * **Exact** when the samples have at most ``max_exact`` distinct values: the
      dynamic programme runs over the distinct values weighted by their counts and
      returns the global optimum (up to floating-point rounding in the cost sums).
    * Otherwise the sorted samples are cut into at most ``2 * bins`` groups (``bins``
      equal-width cells over the full scale, refined by ``bins`` cuts equally spaced in
      rank among the distinct values); the programme finds the optimum among partitions
      whose boundaries fall between groups, computed with the exact sample moments of
      each group, and a Lloyd polish on the exact samples then moves the boundaries off
      the group grid (it can only lower the MSE).

    In both cases the result is also compared with :func:`lloyd_max` from its default
    (uniform) start with the same ``tol`` and ``max_iter``, and the lower-MSE quantiser
    is returned, so ``optimal`` is never worse than ``lloyd_max``'s default.

    Parameters
    ----------
    samples : array_like
        Calibration data, any shape (flattened), finite; at least ``K`` distinct values
        after clipping to the full scale.
    bits : int
        Resolution, 1..8 (ignored when ``n_levels`` is given).
    n_levels : int, optional
        Number of levels ``K`` (1..65536); overrides ``2**bits``.
    full_scale : (float, float), optional
        Input range; default ``(min, max)`` of the samples. Samples are clipped to it.
    max_exact : int, optional
        Largest number of distinct values solved exactly (>= 1).
    bins : int, optional
        Grid resolution of the approximate path (>= 2).
    tol, max_iter : optional
        Stopping rule of the Lloyd polish and of the comparison run, as in
        :func:`lloyd_max`.

    Returns
    -------
    Quantizer
        ``method = "optimal"``; levels are cell centroids, boundaries their midpoints.

    Raises
    ------
    ValueError
        On bad parameters or too few distinct samples.

    Notes
    -----
    Complexity: ``O(n log n)`` sort, then ``O(K m log m)`` for ``m`` groups
    (``m <= max_exact`` exact, ``m <= 2 * bins`` otherwise) with the monotone-split
    (divide and conquer) optimisation of the classic ``O(K m^2)`` programme; memory
    ``O(K m)`` for the back-pointers.
    """
    k = _check_n_levels(bits, n_levels)
    _check_tol_iter(tol, max_iter)
    for name, value, least in (("max_exact", max_exact, 1), ("bins", bins, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} = {value!r}: must be an integer >= {least}")
    data = _Sorted(samples, full_scale, k)
    lo, hi = data.full_scale
    us = data.unique_starts
    exact = us.size <= max_exact
    if exact:
        groups = np.concatenate((us, [data.n]))
    else:
        nb = max(bins, k)
        by_value = np.searchsorted(data.xs, lo + (hi - lo) / nb * np.arange(1, nb), side="left")
        by_rank = us[(np.arange(nb) * us.size) // nb]
        groups = np.unique(np.concatenate((by_value, by_rank, [0, data.n])))
    levels = data.centroids(groups[_dp_splits(groups, data.s1[groups], data.s2[groups], k)])
    if not exact:
        levels = _lloyd(data, levels, float(tol), max_iter)
    reference = _lloyd(data, _init_levels("uniform", data, k), float(tol), max_iter)
    if k > 1 and data.mse(_midpoints(reference), reference) < data.mse(
        _midpoints(levels), levels
    ):
        levels = reference
    return _from_levels(levels, data.full_scale, "optimal")


def design(method, samples, bits, *, n_levels=None, full_scale=None) -> Quantizer:
    """Design a quantiser by name.

    Parameters
    ----------
    method : {"uniform", "lloyd-max", "optimal"}
        The design rule; ``"uniform"`` ignores the samples except for the default
        full scale.
    samples : array_like
        Calibration data (see :func:`lloyd_max`).
    bits, n_levels, full_scale
        As in :func:`lloyd_max`.

    Returns
    -------
    Quantizer

    Raises
    ------
    ValueError
        On an unknown method or bad parameters.
    """
    if method == "uniform":
        if full_scale is None:
            x = _check_samples(samples)
            full_scale = (float(x.min()), float(x.max()))
            if not full_scale[0] < full_scale[1]:
                raise ValueError(
                    f"samples: all {x.size} values equal {full_scale[0]!r}; give full_scale"
                )
        return uniform(bits, full_scale, n_levels=n_levels)
    if method == "lloyd-max":
        return lloyd_max(samples, bits, n_levels=n_levels, full_scale=full_scale)
    if method == "optimal":
        return optimal(samples, bits, n_levels=n_levels, full_scale=full_scale)
    raise ValueError(f"method = {method!r}: must be one of " + ", ".join(map(repr, METHODS)))
