"""The macro spec: validated, frozen dataclasses that every part of cimgen reads.

One :class:`MacroSpec` describes a CIM macro (array shape, number formats, weight
mapping), its Q-cell ADCs (resolution, encoding, super-resolution, LUT format), the
memristor devices, the generated HDL, the FPGA board and the network workload it is
evaluated on. The sections and key names mirror the TOML config (``[macro]``, ``[adc]``,
``[device]``, ``[hdl]``, ``[fpga]``, ``[workload]``).

Every field has a default and a declared range; construction checks each field and
raises :class:`SpecError` naming the key, the value and what is allowed. Derived
facts (number of slices, physical columns, SR table size) are read-only properties.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .cost_spec import CostSpec
from .errors import SpecError

__all__ = [
    "DECODERS",
    "ENCODINGS",
    "LUT_SCOPES",
    "MAPPINGS",
    "METHODS",
    "SR_MODES",
    "AdcSpec",
    "ArraySpec",
    "DeviceSpec",
    "FpgaSpec",
    "HdlSpec",
    "MacroSpec",
    "SpecError",
    "WorkloadSpec",
]

PROGRAM_SIGMA_PRESETS = ("readc-fig3c", "none")

# The vocabulary: every ``choices=``, registry and generator imports these.
ENCODINGS = ("window", "threshold")
"""``adc.encoding``: window (one-hot) or threshold (thermometer) Q-cells."""
SR_MODES = ("none", "nominal", "calibrated", "interleaved")
"""``adc.sr``: super-resolution modes; ``"none"`` is one ADC per column."""
METHODS = ("uniform", "lloyd-max", "optimal")
"""``adc.method``: quantisers that place boundaries and levels (the baseline first)."""
LUT_SCOPES = ("per_slice", "shared", "per_column")
"""``adc.lut_scope``: one LUT per slice, one for all ADCs, or one per physical column."""
MAPPINGS = ("differential", "offset")
"""``macro.mapping``: signed weights on +/- column pairs, or offset on one column."""
DECODERS: dict[str, tuple[str, ...]] = {
    "window": ("priority",),
    "threshold": ("ones", "majority"),
}
"""Decoders each encoding allows; the first one is what ``adc.decoder = "auto"`` picks."""
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _int(lo: int, hi: int, **kw):
    return field(metadata={"kind": "int", "lo": lo, "hi": hi}, **kw)


def _float(lo: float, hi: float, *, lo_open: bool = False, **kw):
    return field(metadata={"kind": "float", "lo": lo, "hi": hi, "lo_open": lo_open}, **kw)


def _choice(*choices: str, **kw):
    return field(metadata={"kind": "choice", "choices": choices}, **kw)


def _bool(**kw):
    return field(metadata={"kind": "bool"}, **kw)


def _ident(**kw):
    return field(metadata={"kind": "ident"}, **kw)


def _path(**kw):
    return field(metadata={"kind": "path"}, **kw)


def _check_field(section: str, f: dataclasses.Field, value: Any) -> Any:
    """Check one value against its field's metadata; return it normalised."""
    key = f"{section}.{f.name}"
    kind = f.metadata.get("kind")
    if kind == "int":
        lo, hi = f.metadata["lo"], f.metadata["hi"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(key, value, f"must be an integer in {lo}..{hi}")
        if not lo <= value <= hi:
            raise SpecError(key, value, f"must be an integer in {lo}..{hi}")
        return int(value)
    if kind == "float":
        lo, hi, lo_open = f.metadata["lo"], f.metadata["hi"], f.metadata["lo_open"]
        rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(key, value, f"must be a number in {rng}")
        v = float(value)
        if not math.isfinite(v) or v > hi or v < lo or (lo_open and v == lo):
            raise SpecError(key, value, f"must be a number in {rng}")
        return v
    if kind == "choice":
        choices = f.metadata["choices"]
        if value not in choices:
            raise SpecError(key, value, "must be one of " + ", ".join(repr(c) for c in choices))
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise SpecError(key, value, "must be true or false")
        return value
    if kind == "ident":
        if not isinstance(value, str) or not _IDENT.match(value):
            raise SpecError(key, value, "must be an identifier ([A-Za-z_][A-Za-z0-9_]*)")
        return value
    if kind == "path":
        if not isinstance(value, str):
            raise SpecError(key, value, "must be a file path (a string; \"\" for none)")
        return value
    return value


class _Section:
    """Mixin: validate every declared field after construction."""

    SECTION = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            object.__setattr__(self, f.name, _check_field(self.SECTION, f, getattr(self, f.name)))
        self._check()

    def _check(self) -> None:
        """Cross-field checks; sections override."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Build the section from a mapping, rejecting unknown keys by name."""
        if not isinstance(data, dict):
            raise SpecError(cls.SECTION, data, "must be a table of keys")
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        for k in data:
            if k not in names:
                raise SpecError(
                    f"{cls.SECTION}.{k}", data[k], "unknown key; known keys: " + ", ".join(names)
                )
        return cls(**data)


@dataclass(frozen=True)
class ArraySpec(_Section):
    """``[macro]``: the crossbar and its number formats.

    Parameters
    ----------
    rows, cols : int
        Word lines (inputs) and logical columns (outputs) of one macro.
    input_bits : int
        Input width; inputs are applied bit-serially, MSB first, one bit per cycle.
    input_signed : bool
        Two's-complement inputs: the MSB cycle carries weight ``-2**(input_bits-1)``.
    weight_bits : int
        Signed weight width, range ``-2**(wb-1) .. 2**(wb-1)-1``.
    cell_bits : int
        Bits stored per memristor cell (``2**cell_bits`` conductance levels).
    mapping : {"differential", "offset"}
        ``differential``: ``max(W,0)`` on a + column and ``max(-W,0)`` on a - column;
        ``offset``: ``W + 2**(wb-1)`` on one column, offset removed digitally.
    """

    SECTION = "macro"
    rows: int = _int(1, 4096, default=64)
    cols: int = _int(1, 1024, default=8)
    input_bits: int = _int(1, 16, default=4)
    input_signed: bool = _bool(default=False)
    weight_bits: int = _int(1, 16, default=4)
    cell_bits: int = _int(1, 8, default=2)
    mapping: str = _choice(*MAPPINGS, default="differential")

    def _check(self) -> None:
        if self.cell_bits > self.weight_bits:
            raise SpecError(
                "macro.cell_bits", self.cell_bits,
                f"must be at most macro.weight_bits = {self.weight_bits}",
            )
        if self.mapping == "differential" and self.weight_bits < 2:
            raise SpecError(
                "macro.weight_bits", self.weight_bits,
                "must be at least 2 with mapping = 'differential' (a sign and a magnitude)",
            )

    @property
    def store_bits(self) -> int:
        """Unsigned bits stored per weight in the array.

        Both mappings need ``weight_bits``: ``differential`` stores magnitudes up to
        ``2**(wb-1)`` (the most negative weight), ``offset`` stores ``0 .. 2**wb - 1``.
        """
        return self.weight_bits

    @property
    def slices(self) -> int:
        """Number of weight slices ``S = ceil(store_bits / cell_bits)``."""
        return -(-self.store_bits // self.cell_bits)

    @property
    def polarities(self) -> int:
        """Physical columns per slice and logical column: 2 for differential, else 1."""
        return 2 if self.mapping == "differential" else 1

    @property
    def has_ref_column(self) -> bool:
        """Whether the array carries an offset reference column (``offset`` mapping).

        The offset mapping stores ``W + 2**(wb-1)``; to remove ``2**(wb-1) * sum(x)``
        digitally the periphery needs ``sum(x)`` per input-bit cycle. It gets it from
        one extra physical column whose cells all hold level 1 (the unit weight in the
        lowest slice), digitised and looked up like every other column, so the
        periphery ports need nothing beyond the match vectors.
        """
        return self.mapping == "offset"

    @property
    def phys_cols(self) -> int:
        """Physical columns: ``cols * slices * polarities`` (+1 reference column
        with the ``offset`` mapping)."""
        return self.cols * self.slices * self.polarities + int(self.has_ref_column)

    def phys_index(self, col: int, slice_: int, polarity: int = 0) -> int:
        """Physical column of logical column ``col``, slice ``slice_`` (0 = least
        significant) and polarity (0 = +, 1 = -): ``(col*slices + slice_)*polarities
        + polarity``. The reference column, if any, is the last, ``phys_cols - 1``."""
        return (col * self.slices + slice_) * self.polarities + polarity

    @property
    def weight_range(self) -> tuple[int, int]:
        """Inclusive range of legal weights."""
        return -(1 << (self.weight_bits - 1)), (1 << (self.weight_bits - 1)) - 1

    @property
    def input_range(self) -> tuple[int, int]:
        """Inclusive range of legal inputs."""
        if self.input_signed:
            return -(1 << (self.input_bits - 1)), (1 << (self.input_bits - 1)) - 1
        return 0, (1 << self.input_bits) - 1


@dataclass(frozen=True)
class AdcSpec(_Section):
    """``[adc]``: the Q-cell ADCs and the code-to-value LUT.

    Parameters
    ----------
    bits : int
        ADC resolution N: exactly ``2**N`` codes.
    encoding : {"window", "threshold"}
        ``window``: ``2**N`` window Q-cells, one-hot match vector; ``threshold``:
        ``2**N - 1`` threshold cells, thermometer match vector.
    sr : {"none", "nominal", "calibrated", "interleaved"}
        Super-resolution mode (two ADCs per physical column unless ``none``).
    method : {"lloyd-max", "uniform", "optimal"}
        Quantiser used to place boundaries and levels.
    lut_frac_bits : int
        Fractional bits of the LUT's fixed-point values.
    lut_scope : {"per_slice", "shared", "per_column"}
        One LUT for all ADCs, one per slice, or one per physical column.
    window_guard_pct : "auto" or float
        Window encoding: deliberate overlap of adjacent windows, in percent of the
        ADC full scale, so that bound variation yields correctable two-hot vectors
        rather than zero-hot gaps (see :func:`golden.qcell.realise`). ``"auto"``:
        ``4 * sqrt(2)`` times the Q-cells' bound sigma; 0: the paper's abutting windows.
    decoder : {"auto", "priority", "ones", "majority"}
        Match-vector decoder structure; must be one :data:`DECODERS` allows for the
        encoding. ``"auto"``: the encoding's first (``priority`` for window, ``ones``
        for threshold); :attr:`decoder_name` resolves it.
    columns_per_adc : int
        Physical columns that share one ADC (its Q-cells, decoder and LUT read port)
        through a column multiplexer, as NeuroSim's ``numColMuxed`` and fabricated
        macros do. ADC group ``g`` serves the same slice and polarity of ``k``
        adjacent logical columns, so every column it reads has the same LUT and the
        same Q-cell bounds; the offset mapping's reference column has its own. The
        periphery reads the ``k`` columns in turn, ``k`` beats per input bit
        (:func:`golden.digital.mux_groups`, :func:`golden.digital.to_beats`).
        1 (default): one ADC per physical column.
    """

    SECTION = "adc"
    bits: int = _int(1, 8, default=4)
    encoding: str = _choice(*ENCODINGS, default="window")
    sr: str = _choice(*SR_MODES, default="none")
    method: str = _choice(*METHODS, default="lloyd-max")
    lut_frac_bits: int = _int(0, 16, default=8)
    lut_scope: str = _choice(*LUT_SCOPES, default="per_slice")
    window_guard_pct: str | float = field(default="auto", metadata={"kind": "guard"})
    decoder: str = "auto"
    columns_per_adc: int = _int(1, 64, default=1)

    def _check(self) -> None:
        allowed = ("auto", *DECODERS[self.encoding])
        if self.decoder not in allowed:
            raise SpecError("adc.decoder", self.decoder,
                            f"encoding {self.encoding!r} allows "
                            + ", ".join(repr(d) for d in DECODERS[self.encoding])
                            + " (or 'auto': the first)")
        g = self.window_guard_pct
        if isinstance(g, bool) or not (
            g == "auto" or (isinstance(g, int | float) and math.isfinite(g) and 0 <= g <= 100)
        ):
            raise SpecError(
                "adc.window_guard_pct", g, "must be 'auto' or a number in [0, 100] (percent)"
            )
        if isinstance(g, int):
            object.__setattr__(self, "window_guard_pct", float(g))

    @property
    def decoder_name(self) -> str:
        """The concrete decoder: :attr:`decoder`, or the encoding's default for ``"auto"``."""
        return DECODERS[self.encoding][0] if self.decoder == "auto" else self.decoder

    @property
    def levels(self) -> int:
        """Codes of one ADC: ``2**bits``."""
        return 1 << self.bits

    @property
    def cells(self) -> int:
        """Q-cells per ADC: ``2**N`` window cells or ``2**N - 1`` threshold cells."""
        return self.levels if self.encoding == "window" else self.levels - 1

    @property
    def adcs_per_column(self) -> int:
        """ADCs per physical column: 2 with super-resolution, else 1."""
        return 1 if self.sr == "none" else 2

    @property
    def code_bits(self) -> int:
        """Width of the code that indexes the LUT: N, or N+1 with SR (``a + b``)."""
        return self.bits + (0 if self.sr == "none" else 1)

    @property
    def lut_entries(self) -> int:
        """Entries per LUT: ``2**N``, or ``2**(N+1) - 1`` with super-resolution."""
        return self.levels if self.sr == "none" else (1 << (self.bits + 1)) - 1


@dataclass(frozen=True)
class DeviceSpec(_Section):
    """``[device]``: memristor parameters and variation.

    Parameters
    ----------
    g_min_us, g_max_us : float
        Programmable conductance window in microsiemens.
    program_sigma : str or float
        Programming error: ``"readc-fig3c"`` (measured sigma(G) of the ReADC paper,
        2.4..3.0 uS over 100..400 uS), ``"none"``, or a constant sigma in uS.
    read_sigma_us : float
        Read-to-read noise sigma in uS.
    stuck_on_rate, stuck_off_rate : float
        Fractions of cells stuck at ``g_max`` / ``g_min``.
    bound_variation_pct : float
        Extra Q-cell bound variation, sigma in percent of the ADC full scale.
    wire_ohm : float
        Wire resistance per crossbar segment (IR drop); 0 disables it.
    seed : int
        Seed of every static and dynamic draw.
    """

    SECTION = "device"
    g_min_us: float = _float(0.0, 1e6, lo_open=True, default=100.0)
    g_max_us: float = _float(0.0, 1e6, lo_open=True, default=400.0)
    program_sigma: str | float = field(default="readc-fig3c", metadata={"kind": "sigma"})
    read_sigma_us: float = _float(0.0, 1e6, default=0.2)
    stuck_on_rate: float = _float(0.0, 1.0, default=0.0)
    stuck_off_rate: float = _float(0.0, 1.0, default=0.0)
    bound_variation_pct: float = _float(0.0, 50.0, default=0.0)
    wire_ohm: float = _float(0.0, 1e6, default=0.0)
    seed: int = _int(0, 2**63 - 1, default=0)

    def _check(self) -> None:
        ps = self.program_sigma
        if isinstance(ps, bool) or not (
            ps in PROGRAM_SIGMA_PRESETS
            or (isinstance(ps, int | float) and math.isfinite(ps) and 0 <= ps <= 1e6)
        ):
            raise SpecError(
                "device.program_sigma", ps,
                "must be one of " + ", ".join(repr(p) for p in PROGRAM_SIGMA_PRESETS)
                + " or a sigma in uS (a number >= 0)",
            )
        if isinstance(ps, int):
            object.__setattr__(self, "program_sigma", float(ps))
        if self.g_max_us <= self.g_min_us:
            raise SpecError(
                "device.g_max_us", self.g_max_us,
                f"must be greater than device.g_min_us = {self.g_min_us:g}",
            )
        if self.stuck_on_rate + self.stuck_off_rate > 1.0:
            raise SpecError(
                "device.stuck_off_rate", self.stuck_off_rate,
                f"stuck_on_rate + stuck_off_rate must be at most 1 "
                f"(stuck_on_rate = {self.stuck_on_rate:g})",
            )


@dataclass(frozen=True)
class HdlSpec(_Section):
    """``[hdl]``: the generated Verilog.

    Parameters
    ----------
    top : str
        Name of the generated top-level Verilog module.
    """

    SECTION = "hdl"
    top: str = _ident(default="cim_periphery")


@dataclass(frozen=True)
class FpgaSpec(_Section):
    """``[fpga]``: the board for synthesis and emulation.

    Parameters
    ----------
    board : str
        Board name (``cimgen synth --list-boards`` lists the known ones).
    clock_mhz : float
        Target clock frequency in MHz.
    """

    SECTION = "fpga"
    board: str = field(default="icebreaker", metadata={"kind": "board"})
    clock_mhz: float = _float(0.0, 1000.0, lo_open=True, default=12.0)

    def _check(self) -> None:
        if not isinstance(self.board, str) or not re.match(r"^[A-Za-z0-9_.-]+$", self.board):
            raise SpecError("fpga.board", self.board, "must be a board name such as 'icebreaker'")


@dataclass(frozen=True)
class WorkloadSpec(_Section):
    """``[workload]``: the network the config is evaluated on, if any.

    Parameters
    ----------
    name : {"none", "digits", "onnx"}
        ``"digits"``: the 64-64-10 MLP on scikit-learn's handwritten digits
        (:mod:`cimgen.workloads.digits`); ``"onnx"``: the network in ``model`` on the
        samples in ``data`` (:mod:`cimgen.workloads.onnx`); ``cimgen sweep`` then also
        reports its test accuracy on the golden macros of every grid point. ``"none"``:
        no network.
    model, data : str
        With ``name = "onnx"``: the ONNX file and the ``.npz`` of samples (``x``, and
        optionally integer labels ``y``); a relative path is relative to the config
        file. Empty otherwise.
    weight_scale : {"per_channel", "per_layer"}
        How an ONNX network's weights are scaled to ``macro.weight_bits``.
    calibration_samples : int
        Samples that calibrate the flow's chips (and, for ``"onnx"``, the quantiser
        scales): the first ones of ``data`` (the rest are the test set); for
        ``"digits"``, images of its training split.
    """

    SECTION = "workload"
    name: str = _choice("none", "digits", "onnx", default="none")
    model: str = _path(default="")
    data: str = _path(default="")
    weight_scale: str = _choice("per_channel", "per_layer", default="per_channel")
    calibration_samples: int = _int(1, 1_000_000, default=256)

    def _check(self) -> None:
        if self.name == "onnx":
            for k in ("model", "data"):
                if not getattr(self, k):
                    raise SpecError(f"workload.{k}", getattr(self, k),
                                    "required with workload.name = 'onnx' (a file path)")
        else:
            for k in ("model", "data"):
                if getattr(self, k):
                    raise SpecError(f"workload.{k}", getattr(self, k),
                                    "only with workload.name = 'onnx'; allowed here: \"\"")


@dataclass(frozen=True)
class MacroSpec:
    """A whole macro: ``[macro]``, ``[adc]``, ``[device]``, ``[hdl]``, ``[fpga]``,
    ``[workload]``, ``[cost]`` (:class:`golden.cost_spec.CostSpec`).

    Build it with :meth:`from_dict` (what the TOML loader does) or directly from the
    section dataclasses; every section defaults to its own defaults.
    """

    macro: ArraySpec = field(default_factory=ArraySpec)
    adc: AdcSpec = field(default_factory=AdcSpec)
    device: DeviceSpec = field(default_factory=DeviceSpec)
    hdl: HdlSpec = field(default_factory=HdlSpec)
    fpga: FpgaSpec = field(default_factory=FpgaSpec)
    workload: WorkloadSpec = field(default_factory=WorkloadSpec)
    cost: CostSpec = field(default_factory=CostSpec)

    SECTIONS: ClassVar[dict[str, type]] = {
        "macro": ArraySpec, "adc": AdcSpec, "device": DeviceSpec, "hdl": HdlSpec, "fpga": FpgaSpec,
        "workload": WorkloadSpec, "cost": CostSpec,
    }

    def __post_init__(self) -> None:
        for name, cls in self.SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise SpecError(name, getattr(self, name), f"must be a {cls.__name__}")
        k = self.adc.columns_per_adc
        if k > 1 and self.adc.lut_scope == "per_column":
            raise SpecError(
                "adc.columns_per_adc", k,
                "must be 1 with adc.lut_scope = 'per_column': columns sharing an ADC share "
                "its Q-cell bounds, so they need one LUT ('per_slice' or 'shared')")
        if k > self.macro.cols:
            raise SpecError("adc.columns_per_adc", k,
                            f"must be at most macro.cols = {self.macro.cols}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MacroSpec:
        """Build a spec from a nested mapping (parsed TOML); unknown sections are errors."""
        if not isinstance(data, dict):
            raise SpecError("<config>", data, "must be a table of sections")
        for k in data:
            if k not in cls.SECTIONS:
                raise SpecError(
                    k, data[k], "unknown section; known sections: " + ", ".join(cls.SECTIONS)
                )
        return cls(**{k: c.from_dict(data.get(k, {})) for k, c in cls.SECTIONS.items()})

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The spec as a nested mapping of plain values (round-trips via from_dict)."""
        return {k: dataclasses.asdict(getattr(self, k)) for k in self.SECTIONS}

    def replace(self, **sections: dict[str, Any]) -> MacroSpec:
        """A copy with some keys changed, e.g. ``spec.replace(adc={"bits": 5})``."""
        d = self.to_dict()
        for sec, kv in sections.items():
            if sec not in d:
                raise SpecError(sec, kv, "unknown section; known sections: " + ", ".join(d))
            d[sec].update(kv)
        return MacroSpec.from_dict(d)
