"""The typed records every result is made of: one dataclass per kind of result, each
field with its unit (and, where it is drawn, its axis label) in one place.

* :class:`MvmRun`: one batch of MVMs on one macro (``cimgen sweep``'s macro columns).
* :class:`NetworkRun`: one network on golden macros (:func:`cimgen.flow.run_network`).
* :class:`SweepTask`: one task of ``cimgen sweep`` (grid point, trial, its MVM metrics
  and, with a workload, its network metrics): a row of ``results.csv``.
* :class:`FlowRun`: one network run of ``cimgen flow``'s accuracy sweep: an entry of
  ``results.json``'s ``accuracy.runs``; :func:`summarise` averages them per grid point.

``results.json``, ``results.csv``, the report and the plots are built from these, so
adding a metric is adding one field (with :func:`metric`) to its record and computing
it where the record is made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

__all__ = ["FlowRun", "MvmRun", "NetworkMetrics", "NetworkRun", "Record", "SweepTask", "metric",
           "summarise"]


def metric(unit: str, label: str | None = None, *, default: Any = dataclasses.MISSING,
           spread: bool = False, plot: bool = False):
    """A record field that is a measured quantity.

    Parameters
    ----------
    unit : str
        Its unit (``"fraction"``, ``"LSB"``, ...).
    label : str, optional
        Axis label of its plots (default: the field name and the unit).
    default
        For optional metrics (absent from a row when ``None``).
    spread : bool
        :func:`summarise` also gives its standard deviation and standard error.
    plot : bool
        ``cimgen sweep`` draws it against the bound variation.
    """
    return field(default=default, metadata={"unit": unit, "label": label, "spread": spread,
                                            "plot": plot, "metric": True})


def key(doc: str = ""):
    """A record field that identifies the result (grid point, trial, seed)."""
    return field(metadata={"metric": False, "doc": doc})


class Record:
    """Shared behaviour of the records: field names, units, rows, typed parsing."""

    __dataclass_fields__: ClassVar[dict]

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every field, in row order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def metrics(cls) -> tuple[dataclasses.Field, ...]:
        """The measured fields (those made with :func:`metric`)."""
        return tuple(f for f in dataclasses.fields(cls) if f.metadata.get("metric"))

    @classmethod
    def units(cls) -> dict[str, str]:
        """``{name: unit}`` of every metric."""
        return {f.name: f.metadata["unit"] for f in cls.metrics()}

    @classmethod
    def label(cls, name: str) -> str:
        """The axis label of metric ``name``."""
        f = next(f for f in cls.metrics() if f.name == name)
        return f.metadata["label"] or f"{name} ({f.metadata['unit']})"

    @classmethod
    def parse(cls, name: str, text: str):
        """A value of field ``name`` read back from CSV text, with the field's type."""
        kind = {f.name: f.type for f in dataclasses.fields(cls)}[name]
        kind = kind if isinstance(kind, str) else kind.__name__
        if kind.startswith("int"):
            return int(text)
        if kind.startswith("str"):
            return str(text)
        return float(text)

    def row(self) -> dict:
        """The record as a flat dict, optional metrics that are ``None`` left out."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not (f.default is None and getattr(self, f.name) is None)}


@dataclass(frozen=True)
class MvmRun(Record):
    """A batch of MVMs on one macro, against the exact integer product."""

    rms_error: float = metric("integer x·W units",
                              "RMS output error (units of the integer x·W)", plot=True)
    rms_error_rel: float = metric("fraction of the largest |x·W| of the array")
    adc_mse: float = metric("partial-sum units²", "ADC-input MSE (partial-sum units$^2$)",
                            plot=True)
    rms_inl: float = metric("LSB", "RMS INL (LSB)", plot=True)
    rms_dnl: float = metric("LSB")
    flag_rate: float = metric("fraction of MVMs")
    energy_per_mvm_fj: float = metric("fJ per MVM", "energy per MVM (fJ, [cost] model)",
                                      plot=True)
    tops_per_w: float = metric("TOPS/W ([cost] model, 2 operations per MAC)")
    area_um2: float = metric("um² of one macro ([cost] model)")
    latency_ns: float = metric("ns per MVM ([cost] model)")


@dataclass(frozen=True)
class NetworkMetrics(Record):
    """What one network run on golden macros measures."""

    accuracy: float = metric("fraction of test inputs", "network test accuracy", spread=True)
    flagged: float = metric("fraction of test inputs with a decoder/SR flag")
    layer_rms_error_pct: list = metric(  # noqa: RUF009  (a field(), no shared default)
        "% of the layer's largest exact output (one value per layer)")


@dataclass(frozen=True)
class NetworkRun(NetworkMetrics):
    """A network on golden macros, every layer calibrated on the chip.

    ``layers`` (not a metric, never in a row) holds each layer's tiled result and
    inputs (``{"result": TiledResult, "x": ndarray}``) when
    :func:`cimgen.flow.run_network` is asked to keep them.
    """

    layers: list = field(default_factory=list, repr=False, compare=False,
                         metadata={"metric": False})

    def row(self) -> dict:
        return {f.name: getattr(self, f.name) for f in NetworkMetrics.metrics()}


@dataclass(frozen=True)
class SweepPoint(Record):
    bits: int = key("ADC bits")
    variation_pct: float = key("device.bound_variation_pct")
    sr: str = key("adc.sr")
    trial: int = key()
    seed: int = key("the task's device seed")


@dataclass(frozen=True)
class SweepNetwork(Record):
    accuracy: float | None = metric("fraction of test inputs", "network test accuracy",
                                    default=None, plot=True)
    net_flagged: float | None = metric("fraction of test inputs with a decoder/SR flag",
                                       default=None)


@dataclass(frozen=True)
class SweepTask(SweepNetwork, MvmRun, SweepPoint):
    """One ``cimgen sweep`` task: its point, its macro's :class:`MvmRun` metrics and,
    with a workload, the network's accuracy and flagged fraction."""

    MVM_COLUMNS: ClassVar[tuple[str, ...]] = SweepPoint.names() + MvmRun.names()
    NETWORK_COLUMNS: ClassVar[tuple[str, ...]] = SweepNetwork.names()


@dataclass(frozen=True)
class FlowPoint(Record):
    scheme: str = key("a scheme of cimgen.flow.scheme_adc")
    bits: int = key("ADC bits")
    variation_pct: float = key("device.bound_variation_pct")
    trial: int = key()
    seed: int = key("the chip's device seed")


@dataclass(frozen=True)
class FlowRun(NetworkMetrics, FlowPoint):
    """One network run of the flow's accuracy sweep: its point and its metrics."""

    @classmethod
    def of(cls, point: dict, run: NetworkRun) -> FlowRun:
        return cls(**point, **run.row())


def summarise(rows: list[dict], record: type[Record] = FlowRun,
              by: tuple[str, ...] = ("scheme", "bits", "variation_pct")) -> list[dict]:
    """Per group of ``by``: its size ``n`` and every metric of ``record`` averaged
    (``<name>_mean``; per-layer lists element-wise), with ``<name>_std`` (ddof 1) and
    ``<name>_sem`` after the mean of each ``spread`` metric (0 for a single row)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    out = []
    for k, rs in groups.items():
        s: dict = {**dict(zip(by, k, strict=True)), "n": len(rs)}
        for f in record.metrics():
            vals = [r[f.name] for r in rs]
            if vals and isinstance(vals[0], list):
                s[f"{f.name}_mean"] = np.mean(vals, axis=0).tolist()
                continue
            a = np.array(vals, dtype=np.float64)
            s[f"{f.name}_mean"] = float(a.mean())
            if f.metadata["spread"]:
                s[f"{f.name}_std"] = float(a.std(ddof=1)) if a.size > 1 else 0.0
                s[f"{f.name}_sem"] = float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 \
                    else 0.0
        out.append(s)
    return out
