"""The analog crossbar: signed weights and inputs in, ADC input of every column out.

Weight mapping
--------------
Signed ``weight_bits`` integers ``W`` (rows, cols) become unsigned cell levels
(rows, phys_cols), ``cell_bits`` per slice, slice 0 least significant, physical
columns ordered by :meth:`golden.spec.ArraySpec.phys_index`:

* ``differential``: slice ``s`` of ``max(W, 0)`` on polarity 0 (+), of ``max(-W, 0)`` on
  polarity 1 (-);
* ``offset``: slice ``s`` of ``W + 2**(wb-1)`` on the single column, plus the reference
  column (the last) whose cells all hold level 1, so that its partial sum is the
  number of active rows in each cycle (``sum(x)`` after shift-add).

Inputs are applied bit-serially, MSB first (cycle 0 = MSB); for two's-complement inputs
the MSB plane is the sign bit and its weight ``-2**(ib-1)`` is applied digitally.

Gain chain (column signal -> ADC input)
---------------------------------------
In cycle ``t`` the word lines of the rows whose bit is 1 are driven to ``V_read``, the
others to 0 V; each bit line is held at virtual ground by its sense amplifier. Column
``j`` collects ``I_j = V_read * sum_r b_r T_rj`` (``T`` = cell conductances, IR drop
included) plus read noise. A baseline reference column of ``g_min`` cells, driven by
the same inputs, subtracts ``V_read * n_active * g_min * d`` in the analog domain
(``n_active`` = rows with bit 1, ``d`` = nominal drift factor, 1 without drift; the
reference itself is modelled noise-free). The ADC input is that difference in units of
one conductance step ``delta_G = (g_max - g_min) / (2**cell_bits - 1)``::

    signal = (I_j / V_read - n_active * g_min * d) / delta_G      [partial-sum units]

so an ideal array delivers exactly the integer partial sum ``sum_r b_r level_rj``.
The network is linear, so ``V_read`` cancels and is not a parameter.

Non-ideal terms
---------------
* static: programming error, stuck cells and drift (:class:`golden.device.Device`);
* read noise: per cell ``sigma_r(G)``; per column and cycle the sum over the active rows
  is drawn directly as one Gaussian of variance ``sum_r b_r sigma_r(G_rj)**2`` keyed
  by ``(seed, STREAM_READ, array_id, vector_id, cycle, phys_col // 2)``; it is not
  attenuated by IR drop (a second-order effect);
* IR drop (``device.wire_ohm`` per segment, plus driver ``source_ohm`` and sense
  ``sense_ohm``): see :func:`ir_drop_relative`. The network is linear and inactive word
  lines are driven to 0 V, so IR drop is a static transfer matrix ``T``: applying it
  costs nothing per vector.

Reproducibility
---------------
Every draw is keyed (see :mod:`golden.device`). Sums over rows are made independent of
BLAS blocking: the signal matrix ``(T_rj - g_min * d) / delta_G`` (level units; the
baseline subtraction folded in, which is the same arithmetic) and the read variances
are held on a power-of-two grid on which every sum over a subset of rows is exact in
the matmul's dtype: float32 when that grid step (:attr:`Crossbar.resolution`) is at
most ``2**-12`` level, else float64 with a step near ``rows * max / 2**52``. Results are
then bit-identical for any batch size, order or chunking, and an array whose
conductances sit exactly on their levels reproduces the integer partial sums exactly.
"""

from __future__ import annotations

import numpy as np

from .device import STREAM_READ, Device, ProgrammedCells, keyed_normal_pairs
from .spec import ArraySpec, MacroSpec

__all__ = [
    "Crossbar",
    "check_inputs",
    "check_weights",
    "input_bit_planes",
    "ir_drop_relative",
    "ir_transfer_exact",
    "ir_transfer_fast",
    "map_weights",
]

_CHUNK_ELEMS = 1 << 18
_MAX_NODES = 4096
_RESOLUTION = 2.0**-12


def _chunks(batch: int, per_vector: int):
    """Ranges of vectors whose outputs hold about ``_CHUNK_ELEMS`` elements: bounded
    temporaries that stay in cache; the results do not depend on the split."""
    step = max(1, _CHUNK_ELEMS // max(1, per_vector))
    return [(lo, min(batch, lo + step)) for lo in range(0, batch, step)]


def _first_bad(bad: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(bad)[0])


def check_weights(weights, macro: ArraySpec) -> np.ndarray:
    """Validate a weight matrix against the macro.

    Parameters
    ----------
    weights : array_like of int, shape (macro.rows, macro.cols)
        Signed weights.
    macro : ArraySpec
        The array spec.

    Returns
    -------
    ndarray of int64
        The weights.

    Raises
    ------
    ValueError
        If the weights are not integers, have the wrong shape, or an entry is outside
        ``macro.weight_range`` (the message names the first such entry and its value).
    """
    w = np.asarray(weights)
    if w.dtype.kind not in "iu":
        raise ValueError(f"weights must be an integer array; got dtype {w.dtype}")
    if w.shape != (macro.rows, macro.cols):
        raise ValueError(
            f"weights must have shape (macro.rows, macro.cols) = ({macro.rows}, {macro.cols});"
            f" got {w.shape}"
        )
    lo, hi = macro.weight_range
    bad = (w < lo) | (w > hi)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(
            f"weights[{', '.join(map(str, i))}] = {w[i]} is outside the weight range "
            f"{lo}..{hi} (macro.weight_bits = {macro.weight_bits}); "
            f"{int(bad.sum())} entries out of range"
        )
    return w.astype(np.int64)


def check_inputs(x, macro: ArraySpec) -> np.ndarray:
    """Validate a batch of input vectors against the macro.

    Parameters
    ----------
    x : array_like of int, shape (batch, macro.rows)
        Input vectors.
    macro : ArraySpec
        The array spec.

    Returns
    -------
    ndarray of int64

    Raises
    ------
    ValueError
        If ``x`` is not integer, not (batch, rows), or an entry is outside
        ``macro.input_range`` (the message names the first such entry and its value).
    """
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise ValueError(f"x must be an integer array; got dtype {a.dtype}")
    if a.ndim != 2 or a.shape[1] != macro.rows:
        raise ValueError(
            f"x must have shape (batch, macro.rows) = (batch, {macro.rows}); got {a.shape}"
        )
    lo, hi = macro.input_range
    bad = (a < lo) | (a > hi)
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(
            f"x[{', '.join(map(str, i))}] = {a[i]} is outside the input range {lo}..{hi} "
            f"(macro.input_bits = {macro.input_bits}, input_signed = {macro.input_signed}); "
            f"{int(bad.sum())} entries out of range"
        )
    return a.astype(np.int64)


def map_weights(weights, macro: ArraySpec) -> np.ndarray:
    """Cell levels of a weight matrix (see the module docstring for the mapping).

    Parameters
    ----------
    weights : array_like of int, shape (macro.rows, macro.cols)
        Signed weights in ``macro.weight_range``.
    macro : ArraySpec
        The array spec.

    Returns
    -------
    ndarray of int64, shape (macro.rows, macro.phys_cols)
        Levels in ``0 .. 2**cell_bits - 1``, columns in ``phys_index`` order.

    Raises
    ------
    ValueError
        As :func:`check_weights`.
    """
    w = check_weights(weights, macro)
    cb, s_count = macro.cell_bits, macro.slices
    shifts = (np.arange(s_count, dtype=np.int64) * cb)[None, None, :, None]
    mask = (1 << cb) - 1
    if macro.mapping == "differential":
        mags = np.stack([np.maximum(w, 0), np.maximum(-w, 0)], axis=-1)[:, :, None, :]
    else:
        mags = (w + (1 << (macro.weight_bits - 1)))[:, :, None, None]
    levels = ((mags >> shifts) & mask).reshape(macro.rows, -1)
    if macro.has_ref_column:
        levels = np.concatenate([levels, np.ones((macro.rows, 1), dtype=np.int64)], axis=1)
    return levels


def input_bit_planes(x, macro: ArraySpec) -> np.ndarray:
    """Bit planes of a batch of inputs, MSB first.

    Parameters
    ----------
    x : array_like of int, shape (batch, macro.rows)
        Inputs in ``macro.input_range`` (two's complement when ``input_signed``).
    macro : ArraySpec
        The array spec.

    Returns
    -------
    ndarray of uint8, shape (batch, macro.input_bits, macro.rows)
        ``planes[:, t]`` is bit ``input_bits - 1 - t`` of the two's-complement code;
        for signed inputs plane 0 is the sign bit.

    Raises
    ------
    ValueError
        As :func:`check_inputs`.
    """
    a = check_inputs(x, macro)
    ib = macro.input_bits
    code = (a & ((1 << ib) - 1)).astype(np.min_scalar_type((1 << ib) - 1))
    planes = np.empty((code.shape[0], ib, code.shape[1]), dtype=np.uint8)
    for t in range(ib):  # one narrow plane at a time: a fraction of int64 broadcasting
        np.bitwise_and(code >> (ib - 1 - t), 1, out=planes[:, t], casting="unsafe")
    return planes


def _check_ohm(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} = {value!r}: must be a number of ohms >= 0")
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} = {value!r}: must be a finite number of ohms >= 0")
    return v


def _check_g(g_us) -> np.ndarray:
    g = np.asarray(g_us, dtype=np.float64)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"g_us must be a non-empty 2-D (rows, columns) array; got shape {g.shape}")
    if not np.all(np.isfinite(g)) or g.min() < 0:
        raise ValueError("g_us must hold finite conductances >= 0")
    return g


def ir_drop_relative(g_us, wire_ohm: float, *, source_ohm: float = 0.0,
                     sense_ohm: float = 0.0) -> np.ndarray:
    """First-order relative IR drop ``a_rj`` of every cell.

    Geometry: word line ``r`` is driven at its column-0 end through ``source_ohm`` and
    one wire segment, with one segment between adjacent columns; bit line ``j`` is
    sensed (virtual ground) below the last row through one segment and ``sense_ohm``,
    with one segment between adjacent rows. With the ideal node voltages (driven word
    lines at ``V``, bit lines at 0) every wire carries the sum of the cell currents
    beyond it; the resulting node-voltage errors, fed back through the cells, change
    column ``j``'s current by ``-V * sum_r b_r G_rj a_rj`` to first order in R*G, with::

        a_rj = R_s * sum_k G_rk + r_w * sum_{m<=j} sum_{k>=m} G_rk     (word line)
             + r_w * sum_{q>=r} sum_{r'<=q} G_r'j + R_sense * sum_r' G_r'j   (bit line)

    The bit-line part sums over all rows, active or not: raising the bit line also drives
    current back through the cells of idle rows. It is independent of the inputs.

    Parameters
    ----------
    g_us : array_like of float, shape (rows, columns)
        Cell conductances in uS (all physical columns, in physical order).
    wire_ohm : float
        Resistance of one wire segment (ohm, >= 0).
    source_ohm, sense_ohm : float
        Word-line driver and bit-line sense resistances (ohm, >= 0).

    Returns
    -------
    ndarray of float64, shape (rows, columns)
        ``a_rj`` (dimensionless).

    Raises
    ------
    ValueError
        If a resistance is negative or ``g_us`` is not a 2-D array of conductances >= 0.
    """
    g = _check_g(g_us) * 1e-6
    rw = _check_ohm("wire_ohm", wire_ohm)
    rs = _check_ohm("source_ohm", source_ohm)
    rsen = _check_ohm("sense_ohm", sense_ohm)
    beyond = np.cumsum(g[:, ::-1], axis=1)[:, ::-1]
    wl = rs * beyond[:, :1] + rw * np.cumsum(beyond, axis=1)
    above = np.cumsum(g, axis=0)
    bl = rw * np.cumsum(above[::-1], axis=0)[::-1] + rsen * above[-1:, :]
    return wl + bl


def ir_transfer_fast(g_us, wire_ohm: float, *, source_ohm: float = 0.0,
                     sense_ohm: float = 0.0) -> np.ndarray:
    """Effective cell conductances with IR drop, fast model ``G / (1 + a)``.

    ``a`` is :func:`ir_drop_relative`; ``G / (1 + a)`` has the same first-order term as
    ``G * (1 - a)`` but stays positive and is several times closer to the exact network.
    Against :func:`ir_transfer_exact` the tests hold
    ``max |T_fast - T_exact| <= eps**2 / 4 * max(G)`` with ``eps = max(a)`` for
    ``eps <= 0.6`` (measured: at most ``0.16 * eps**2 * max(G)``). The model is meant for
    ``eps`` up to about 0.5; beyond that use a smaller wire resistance or conductance.

    Returns
    -------
    ndarray of float64, shape (rows, columns)
        ``T`` in uS: column current per volt is ``sum_r b_r T_rj``.
    """
    g = _check_g(g_us)
    return g / (1.0 + ir_drop_relative(g, wire_ohm, source_ohm=source_ohm,
                                       sense_ohm=sense_ohm))


def ir_transfer_exact(g_us, wire_ohm: float, *, source_ohm: float = 0.0,
                      sense_ohm: float = 0.0) -> np.ndarray:
    """Exact transfer conductances of the resistive network by a dense nodal solve.

    Same geometry as :func:`ir_drop_relative`: ``2 * rows * columns`` unknown node
    voltages (word-line and bit-line node of every cell); one solve per row with that
    row's driver at 1 V and all others at 0 V. A reference for small arrays.

    Parameters
    ----------
    g_us : array_like of float, shape (rows, columns)
        Cell conductances in uS.
    wire_ohm : float
        Resistance of one wire segment (ohm, > 0).
    source_ohm, sense_ohm : float
        Driver and sense resistances (ohm, >= 0).

    Returns
    -------
    ndarray of float64, shape (rows, columns)
        ``T_rj``: current (uA) into sense node ``j`` per volt on driver ``r``.

    Raises
    ------
    ValueError
        If ``wire_ohm`` is not positive or the network has more than 4096 nodes.
    """
    g = _check_g(g_us) * 1e-6
    rw = _check_ohm("wire_ohm", wire_ohm)
    if rw == 0:
        raise ValueError("wire_ohm = 0: the exact solve needs wire_ohm > 0 (0 is no IR drop)")
    rs = _check_ohm("source_ohm", source_ohm)
    rsen = _check_ohm("sense_ohm", sense_ohm)
    rows, cols = g.shape
    n = rows * cols
    if 2 * n > _MAX_NODES:
        raise ValueError(
            f"g_us shape {g.shape}: the exact solve is limited to {_MAX_NODES} nodes "
            f"(2 * rows * columns); got {2 * n}"
        )
    wl = np.arange(n).reshape(rows, cols)
    bl = wl + n
    y = np.zeros((2 * n, 2 * n))

    def stamp(a, b, c):
        np.add.at(y, (a, a), c)
        np.add.at(y, (b, b), c)
        np.add.at(y, (a, b), -c)
        np.add.at(y, (b, a), -c)

    stamp(wl[:, :-1].ravel(), wl[:, 1:].ravel(), np.full(rows * (cols - 1), 1.0 / rw))
    stamp(bl[:-1, :].ravel(), bl[1:, :].ravel(), np.full((rows - 1) * cols, 1.0 / rw))
    stamp(wl.ravel(), bl.ravel(), g.ravel())
    y[wl[:, 0], wl[:, 0]] += 1.0 / (rs + rw)
    y[bl[-1, :], bl[-1, :]] += 1.0 / (rw + rsen)
    drive = np.zeros((2 * n, rows))
    drive[wl[:, 0], np.arange(rows)] = 1.0 / (rs + rw)
    v = np.linalg.solve(y, drive)
    return v[bl[-1, :], :].T / (rw + rsen) * 1e6


def _exact_grid(m: np.ndarray, resolution: float) -> tuple[np.ndarray, float]:
    """Round a (rows, n) matrix onto a power-of-two grid ``q`` on which every sum over a
    subset of rows is exact: float32 if ``q <= resolution`` there, else float64.

    Returns the rounded matrix and ``q``.
    """
    top = m.shape[0] * float(np.abs(m).max(initial=0.0))
    if top == 0.0:
        return np.zeros(m.shape, dtype=np.float32), 0.0
    for dtype, mant in ((np.float32, 24), (np.float64, 53)):
        # one bit of headroom: rounding may add rows * q / 2 to a sum of magnitudes
        q = float(2.0 ** np.ceil(np.log2(top / 2.0 ** (mant - 1))))
        if q <= resolution or dtype is np.float64:
            return (np.round(m / q) * q).astype(dtype), q
    raise AssertionError("unreachable")


class Crossbar:
    """One programmed crossbar array: static draws at construction, reads on demand.

    Parameters
    ----------
    spec : MacroSpec
        Macro spec (array shape and formats, device parameters, seed).
    weights : array_like of int, shape (spec.macro.rows, spec.macro.cols)
        Signed weights in ``spec.macro.weight_range``.
    array_id : int
        Array identifier in every random key (>= 0).
    drift_time : float or None
        Seconds since programming (drift), ``None`` for none.
    source_ohm, sense_ohm : float
        Word-line driver and bit-line sense resistances for IR drop (ohm, >= 0).
    device : Device or None
        Device model (for its read-noise shape and drift parameters); built from
        ``spec`` when ``None``. Must have been built from the same spec.

    Attributes
    ----------
    levels : ndarray of int64, shape (rows, phys_cols)
        Target level of each cell (:func:`map_weights`).
    cells : ProgrammedCells
        The programmed state (targets, actual conductances, stuck map, drift factor).
    transfer : ndarray of float64, shape (rows, phys_cols)
        Effective conductances (uS) the columns sum: ``cells.g`` with IR drop
        (``cells.g`` itself without).
    read_variance : ndarray of float64, shape (rows, phys_cols)
        Per-cell read-noise variance (uS^2).
    resolution : float
        Grid step of the signal matrix in level units (see Reproducibility); a column
        sum of ``n`` rows is within ``n * resolution / 2`` of the unrounded value.
    ir_epsilon : float
        Largest first-order relative IR drop ``max(a)`` (0 without IR drop).

    Raises
    ------
    ValueError
        On an invalid weight, id, time or resistance, or a device from another spec.
    """

    def __init__(self, spec: MacroSpec, weights, *, array_id: int = 0,
                 drift_time: float | None = None, source_ohm: float = 0.0,
                 sense_ohm: float = 0.0, device: Device | None = None):
        if not isinstance(spec, MacroSpec):
            raise ValueError(f"spec = {spec!r}: must be a MacroSpec")
        if device is None:
            device = Device(spec)
        elif not isinstance(device, Device) or device.spec != spec:
            raise ValueError("device must be a Device built from the same spec")
        self.spec = spec
        self.macro = spec.macro
        self.device = device
        self.array_id = array_id
        self.drift_time = drift_time
        self.levels = map_weights(weights, self.macro)
        self.cells: ProgrammedCells = device.program(
            self.levels, array_id=array_id, drift_time=drift_time)
        g = self.cells.g
        rw = spec.device.wire_ohm
        rs, rsen = _check_ohm("source_ohm", source_ohm), _check_ohm("sense_ohm", sense_ohm)
        if rw > 0 or rs > 0 or rsen > 0:
            a = ir_drop_relative(g, rw, source_ohm=rs, sense_ohm=rsen)
            transfer = g / (1.0 + a)
            self.ir_epsilon = float(a.max())
        else:
            transfer = g
            self.ir_epsilon = 0.0
        self.transfer = np.array(transfer, dtype=np.float64)
        # signal matrix in level units with the baseline folded in:
        # sum_r b_r (T_rj - g_min d) / dG = (I / V - n_active g_min d) / dG
        self._t, self.resolution = _exact_grid(
            (transfer - self.baseline_g) / self.delta_g, _RESOLUTION)
        var = device.read_sigma(g) ** 2
        self.read_variance = var
        self._noisy = bool(var.max(initial=0.0) > 0.0)
        self._v, _ = _exact_grid(
            var / self.delta_g**2, _RESOLUTION * (spec.device.read_sigma_us / self.delta_g)**2)
        for arr in (self.levels, self.transfer, self.read_variance, self._t, self._v):
            arr.flags.writeable = False

    @property
    def delta_g(self) -> float:
        """Conductance step of one level (uS): one ADC-input unit."""
        return self.device.delta_g

    @property
    def baseline_g(self) -> float:
        """Conductance per active row removed by the baseline reference (uS):
        ``g_min * cells.drift_factor``."""
        return self.device.g_min * self.cells.drift_factor

    @property
    def compute_dtype(self) -> np.dtype:
        """Dtype of the signal matmul (see Reproducibility in the module docstring)."""
        return self._t.dtype

    def bit_planes(self, x) -> np.ndarray:
        """:func:`input_bit_planes` of ``x`` for this macro."""
        return input_bit_planes(x, self.macro)

    def partial_sums(self, x) -> np.ndarray:
        """Exact integer partial sums of every cycle and physical column.

        Parameters
        ----------
        x : array_like of int, shape (batch, rows)
            Inputs in ``macro.input_range``.

        Returns
        -------
        ndarray of int64, shape (batch, input_bits, phys_cols)
            ``sum_r bit[b, t, r] * levels[r, j]``.
        """
        return self._partial_sums(self.bit_planes(x))

    def _partial_sums(self, bits: np.ndarray, dtype=np.int64) -> np.ndarray:
        batch, cycles, rows = bits.shape
        p = self.macro.phys_cols
        out = np.empty((batch, cycles, p), dtype=dtype)
        # levels <= 255 and rows <= 4096: every sum < 2**24 is exact in float32
        lv = self.levels.astype(np.float32)
        for lo, hi in _chunks(batch, cycles * p):
            out[lo:hi].reshape(-1, p)[...] = bits[lo:hi].reshape(-1, rows).astype(np.float32) @ lv
        return out

    def column_signals(self, x, *, vector_ids=None, ideal: bool = False) -> np.ndarray:
        """ADC input of every cycle and physical column, in partial-sum units.

        Parameters
        ----------
        x : array_like of int, shape (batch, rows)
            Inputs in ``macro.input_range``.
        vector_ids : array_like of int, shape (batch,), optional
            Key of each vector's read noise (>= 0); default ``0 .. batch - 1``. Give the
            same id to get the same draw, whatever the batch it is in.
        ideal : bool
            Return the exact partial sums (as float64), no device effects.

        Returns
        -------
        ndarray of float64, shape (batch, input_bits, phys_cols)
            ``(I / V_read - n_active * g_min * d + noise) / delta_G``.

        Raises
        ------
        ValueError
            On invalid inputs or vector ids.
        """
        bits = self.bit_planes(x)
        if ideal:
            return self._partial_sums(bits, np.float64)
        batch, cycles, rows = bits.shape
        vids = self._vector_ids(vector_ids, batch)
        p = self.macro.phys_cols
        out = np.empty((batch, cycles, p), dtype=np.float64)
        cyc = np.arange(cycles, dtype=np.uint64)[None, :]
        for lo, hi in _chunks(batch, cycles * p):
            b = bits[lo:hi].reshape(-1, rows)
            o = out[lo:hi].reshape(-1, p)
            o[...] = b.astype(self._t.dtype) @ self._t
            if self._noisy:
                sd = b.astype(self._v.dtype) @ self._v
                np.sqrt(sd, out=sd)
                sd *= keyed_normal_pairs(self.device.seed, STREAM_READ, self.array_id,
                                         vids[lo:hi, None], cyc, n=p,
                                         dtype=self._v.dtype).reshape(-1, p)
                o += sd
        return out

    @staticmethod
    def _vector_ids(vector_ids, batch: int) -> np.ndarray:
        if vector_ids is None:
            return np.arange(batch, dtype=np.uint64)
        v = np.asarray(vector_ids)
        if v.dtype.kind not in "iu":
            raise ValueError(f"vector_ids must be integers; got dtype {v.dtype}")
        if v.shape != (batch,):
            raise ValueError(f"vector_ids must have shape (batch,) = ({batch},); got {v.shape}")
        if v.size and v.min() < 0:
            i = _first_bad(v < 0)
            raise ValueError(f"vector_ids[{i[0]}] = {v[i]}: must be >= 0")
        return v.astype(np.uint64)
