"""A macro's calibration and what it programs into the chip's Q-cells.

:class:`MacroCalibration` holds the ADC boundaries and LUT contents of one macro
instance (``cimgen.calfile`` stores one per weight tile); :func:`lossless_calibration`
and :func:`default_calibration` are the two data-free ones. :func:`bound_sigmas`,
:func:`guard_bands` and :func:`target_conductances` are the rules by which a
calibration becomes Q-cell bounds: :class:`golden.macro.Macro` realises its banks with
the first two, ``cimgen program`` writes the third.

Each bound's sigma combines ``device.bound_variation_pct`` (of the LUT group's full
scale) and ``device.program_sigma`` through the linear map of ``[g_min_us, g_max_us]``
onto the group's full scale (:class:`golden.qcell.ConductanceMap`). Window cell ``k``
spans ``[b[k-1] - guard, b[k])``: the guard band of ``adc.window_guard_pct`` (``auto``:
:func:`golden.qcell.auto_guard_pct` of the group's largest bound sigma).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import digital, qcell, quantize, sr
from .spec import MacroSpec

__all__ = [
    "MacroCalibration",
    "bound_sigmas",
    "conductance_maps",
    "default_calibration",
    "guard_bands",
    "lossless_calibration",
    "target_conductances",
]


@dataclass(frozen=True, eq=False)
class MacroCalibration:
    """ADC boundaries and LUT contents of one macro instance.

    Attributes
    ----------
    full_scale : ndarray, shape (n_luts, 2)
        ADC input range of each LUT group, partial-sum units.
    boundaries : ndarray, shape (n_luts, adcs_per_column, 2**bits - 1)
        Nominal boundaries programmed into ADC A (and B with SR) of each group.
    lut : ndarray, shape (n_luts, lut_entries)
        Reconstruction values in partial-sum units (before fixed-point rounding).
    """

    bits: int
    encoding: str
    sr: str
    lut_scope: str
    full_scale: np.ndarray
    boundaries: np.ndarray
    lut: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ValueError naming the first entry that no config could accept.

        Every number finite; ``full_scale`` (n, 2) with LO < HI in each group;
        ``boundaries`` (n, adcs, cells) strictly increasing in every ADC; ``lut`` (n,
        entries); the same n everywhere.
        """
        dims = {"full_scale": 2, "boundaries": 3, "lut": 2}
        for name, nd in dims.items():
            a = getattr(self, name)
            if a.ndim != nd or a.size == 0:
                raise ValueError(f"calibration {name} has shape {a.shape}; it must be a "
                                 f"non-empty {nd}-D array")
            bad = ~np.isfinite(a)
            if bad.any():
                idx = [int(i) for i in np.argwhere(bad)[0]]
                raise ValueError(f"calibration {name}{idx} = {float(a[tuple(idx)])!r}: every "
                                 "entry must be a finite number")
        n = {name: getattr(self, name).shape[0] for name in dims}
        if len(set(n.values())) != 1:
            raise ValueError(f"calibration: full_scale, boundaries and lut hold {n['full_scale']}, "
                             f"{n['boundaries']} and {n['lut']} LUT groups; they must agree")
        if self.full_scale.shape[1] != 2:
            raise ValueError(f"calibration full_scale has shape {self.full_scale.shape}; it "
                             "must be (LUT groups, 2): one [LO, HI] per group")
        rev = np.flatnonzero(~(self.full_scale[:, 0] < self.full_scale[:, 1]))
        if rev.size:
            g = int(rev[0])
            raise ValueError(f"calibration full_scale[{g}] = {self.full_scale[g].tolist()}: "
                             "LO must be less than HI")
        step = np.diff(self.boundaries, axis=-1) <= 0
        if step.any():
            g, adc, k = (int(i) for i in np.argwhere(step)[0])
            b = self.boundaries[g, adc]
            raise ValueError(f"calibration boundaries[{g}][{adc}]: must increase strictly; "
                             f"entry {k} = {float(b[k])!r} is followed by {float(b[k + 1])!r}")

    def check(self, spec: MacroSpec) -> None:
        """Raise ValueError naming the first field that does not fit ``spec``.

        :meth:`validate` first, then the ADC fields and the array shapes the config
        needs.
        """
        self.validate()
        a = spec.adc
        for name, mine, theirs in (("bits", self.bits, a.bits), ("sr", self.sr, a.sr),
                                   ("encoding", self.encoding, a.encoding),
                                   ("lut_scope", self.lut_scope, a.lut_scope)):
            if mine != theirs:
                raise ValueError(f"calibration {name} = {mine!r}: the config has adc.{name} = "
                                 f"{theirs!r}")
        n = digital.n_luts(spec)
        shapes = {"full_scale": (n, 2), "boundaries": (n, a.adcs_per_column, a.levels - 1),
                  "lut": (n, a.lut_entries)}
        for name, shape in shapes.items():
            got = getattr(self, name).shape
            if got != shape:
                raise ValueError(f"calibration {name} has shape {got}; the config needs {shape}")

    def lut_fixed(self, spec: MacroSpec) -> np.ndarray:
        """LUT contents in the periphery's fixed-point format, int64 (n_luts, entries)."""
        return digital.to_fixed(self.lut, spec.adc.lut_frac_bits, digital.lut_width(spec))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "bits": self.bits, "encoding": self.encoding, "sr": self.sr,
            "lut_scope": self.lut_scope, "full_scale": self.full_scale.tolist(),
            "boundaries": self.boundaries.tolist(), "lut": self.lut.tolist(),
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MacroCalibration:
        """Inverse of :meth:`to_dict`; raises ValueError naming a missing or bad field.

        The result is :meth:`validate`-d (finite numbers, ordered full scales and
        boundaries, consistent shapes).
        """
        if not isinstance(d, dict):
            raise ValueError(f"calibration: must be a JSON object, not {type(d).__name__}")
        try:
            bits = d["bits"]
            if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 8:
                raise ValueError(f"bits = {bits!r} must be an integer in 1..8")
            for key in ("encoding", "sr", "lut_scope"):
                if not isinstance(d[key], str):
                    raise ValueError(f"{key} = {d[key]!r} must be a string")
            arrays = {}
            for key in ("full_scale", "boundaries", "lut"):
                try:
                    arrays[key] = np.asarray(d[key], dtype=np.float64)
                except (TypeError, ValueError):
                    raise ValueError(f"{key} must be a rectangular array of numbers") from None
            meta = d.get("meta", {})
            if not isinstance(meta, dict):
                raise ValueError(f"meta = {meta!r} must be an object")
        except KeyError as e:
            raise ValueError(f"calibration: missing field {e.args[0]!r}") from None
        except ValueError as e:
            raise ValueError(f"calibration: malformed field ({e})") from None
        cal = cls(bits=bits, encoding=d["encoding"], sr=d["sr"], lut_scope=d["lut_scope"],
                  meta=dict(meta), **arrays)
        cal.validate()
        return cal


def lossless_calibration(spec: MacroSpec) -> MacroCalibration:
    """The ideal-limit ADC: boundaries between consecutive integer partial sums.

    Every group gets boundaries ``k + 0.5`` and levels ``k``, so an ideal array's
    output equals the integer product exactly. Needs ``2**adc.bits`` > the largest
    partial sum ``rows * (2**cell_bits - 1)``; SR tables are the nominal ones.

    Raises
    ------
    ValueError
        If ``adc.bits`` cannot hold the partial-sum range.
    """
    m, a = spec.macro, spec.adc
    top = m.rows * ((1 << m.cell_bits) - 1)
    if a.levels < top + 1:
        raise ValueError(
            f"adc.bits = {a.bits}: a lossless ADC needs {top + 1} codes for partial sums "
            f"0..{top}; allowed: bits >= {int(top).bit_length()}"
        )
    q = quantize.Quantizer(np.arange(a.levels - 1) + 0.5, np.arange(a.levels, dtype=np.float64),
                           (-0.5, a.levels - 0.5), "lossless")
    n = digital.n_luts(spec)
    table = q.levels if a.sr == "none" else sr.nominal_table(q)
    return MacroCalibration(
        bits=a.bits, encoding=a.encoding, sr=a.sr, lut_scope=a.lut_scope,
        full_scale=np.tile([q.full_scale], (n, 1)),
        boundaries=np.tile(q.boundaries, (n, a.adcs_per_column, 1)),
        lut=np.tile(table, (n, 1)), meta={"method": "lossless"},
    )


def default_calibration(spec: MacroSpec) -> MacroCalibration:
    """A data-free calibration: ``adc.bits`` uniform over the physical partial-sum range.

    Every group's full scale is ``[-0.5, rows * (2**cell_bits - 1) + 0.5]``; with SR
    the table is the nominal one, and interleaved SR puts ADC B's boundaries half a
    step above ADC A's. What ``cimgen verilog`` initialises the LUTs with when no
    calibration file is given.
    """
    m, a = spec.macro, spec.adc
    fs = (-0.5, m.rows * ((1 << m.cell_bits) - 1) + 0.5)
    n = digital.n_luts(spec)
    if a.sr == "interleaved":
        fine = quantize.uniform(None, fs, n_levels=2 * a.levels - 1)
        bnd = np.stack([fine.boundaries[0::2], fine.boundaries[1::2]])
        table = fine.levels
    else:
        q = quantize.uniform(a.bits, fs)
        bnd = np.tile(q.boundaries, (a.adcs_per_column, 1))
        table = q.levels if a.sr == "none" else sr.nominal_table(q)
    return MacroCalibration(
        bits=a.bits, encoding=a.encoding, sr=a.sr, lut_scope=a.lut_scope,
        full_scale=np.tile(fs, (n, 1)), boundaries=np.tile(bnd, (n, 1, 1)),
        lut=np.tile(table, (n, 1)), meta={"method": "uniform-physical-range"},
    )


def conductance_maps(spec: MacroSpec, full_scale: np.ndarray) -> list[qcell.ConductanceMap]:
    """The conductance-to-bound map of every LUT group (``full_scale`` (n_luts, 2))."""
    d = spec.device
    return [qcell.ConductanceMap(d.g_min_us, d.g_max_us, (float(lo), float(hi)))
            for lo, hi in full_scale]


def bound_sigmas(spec: MacroSpec, boundaries: np.ndarray, full_scale: np.ndarray) -> np.ndarray:
    """Nominal bound sigma (input units) of every boundary, shape (n_luts, adcs, K - 1).

    :func:`golden.qcell.bound_sigma` per LUT group, with ``device.bound_variation_pct``
    and ``device.program_sigma`` through the group's :func:`conductance_maps`.
    """
    d = spec.device
    out = np.empty_like(boundaries)
    for g, gmap in enumerate(conductance_maps(spec, full_scale)):
        out[g] = qcell.bound_sigma(boundaries[g], gmap.full_scale, d.bound_variation_pct, gmap,
                                   d.program_sigma)
    return out


def guard_bands(spec: MacroSpec, full_scale: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Window guard band of every LUT group in input units, shape (n_luts,).

    ``adc.window_guard_pct`` of the group's full-scale width; ``auto`` is
    :func:`golden.qcell.auto_guard_pct` of the group's largest bound sigma (``sigma``
    from :func:`bound_sigmas`) in percent of that width.
    """
    width = full_scale[:, 1] - full_scale[:, 0]
    g = spec.adc.window_guard_pct
    if g == "auto":
        pct = np.max(sigma / width[:, None, None], axis=(1, 2)) * 100.0
        gpct = np.array([qcell.auto_guard_pct(v) for v in pct])
    else:
        gpct = np.full(width.shape, float(g))
    return gpct / 100.0 * width


def target_conductances(spec: MacroSpec, cal: MacroCalibration) -> dict[str, Any]:
    """Target conductance and expected spread of every memristor that sets a Q-cell bound.

    Window cells have two memristors, M1 (lower bound, ``b[k-1] - guard``) and M2
    (upper bound, ``b[k]``); threshold cells one (M1, the threshold). Per physical
    column the bounds of its LUT group go through that group's
    :meth:`golden.qcell.ConductanceMap.targets`.

    Returns
    -------
    dict
        ``gmaps`` (a :class:`golden.qcell.ConductanceMap` per LUT group),
        ``bound_sigma_nominal`` (:func:`bound_sigmas`), ``guard`` (window only,
        :func:`guard_bands`) and ``memristors``: per name (``M1``, ``M2``) its
        ``role`` (``lower``/``upper``/``threshold``), ``bound`` and the arrays of
        :meth:`~golden.qcell.ConductanceMap.targets`, each (phys_cols, adcs, cells).
    """
    d = spec.device
    gmaps = conductance_maps(spec, cal.full_scale)
    sig = bound_sigmas(spec, cal.boundaries, cal.full_scale)
    li = digital.lut_index(spec)
    bnd = cal.boundaries[li]  # (phys_cols, adcs, K - 1)
    out: dict[str, Any] = {"gmaps": gmaps, "bound_sigma_nominal": sig}
    if spec.adc.encoding == "threshold":
        roles = {"M1": ("threshold", bnd)}
    else:
        out["guard"] = guard_bands(spec, cal.full_scale, sig)
        lower, upper = qcell.window_bounds(bnd, bnd - out["guard"][li][:, None, None])
        roles = {"M1": ("lower", lower), "M2": ("upper", upper)}
    out["memristors"] = {}
    for name, (role, bound) in roles.items():
        mm: dict[str, Any] = {"role": role, "bound": bound}
        for g, gmap in enumerate(gmaps):
            cols = li == g
            for key, arr in gmap.targets(bound[cols], d.program_sigma,
                                         d.bound_variation_pct).items():
                mm.setdefault(key, np.empty(bound.shape, dtype=arr.dtype))[cols] = arr
        out["memristors"][name] = mm
    return out
