"""An imported ONNX graph quantised to one macro config.

Every linear layer ``i`` (Gemm/MatMul/Conv of :class:`cimgen.onnx_graph.OnnxGraph`) gets

* weights ``W_int = clip(round(W / s_w), -wmax, wmax)`` with ``wmax =
  2**(weight_bits-1) - 1``, ``s_w`` per output channel (``max |W[:, c]| / wmax``) or per
  layer;
* inputs ``x_int = clip(round(x / s_x), lo, hi)`` in ``macro.input_range``, ``s_x = max
  |x| / hi`` over the layer's inputs on the calibration data (its im2col rows for a
  Conv). A layer whose calibration inputs go below zero needs ``macro.input_signed``.

:meth:`QuantGraph.forward` runs the graph with each linear layer's product ``x_int @
W_int`` computed by a callback (exact integers, or golden macros) and scaled back, the
bias, pools and activations in float: the integer network. The float graph is the
software baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .onnx_graph import OnnxGraph, im2col

__all__ = ["QuantGraph"]


def _rows(value: np.ndarray, layer) -> np.ndarray:
    return im2col(value, layer)[0] if layer.kind == "conv" else value.reshape(value.shape[0], -1)


@dataclass(eq=False)
class QuantGraph:
    """The graph with integer weights and input scales per linear layer."""

    graph: OnnxGraph
    w_int: list[np.ndarray]
    w_scale: list[np.ndarray]
    x_scale: list[float]
    input_range: tuple[int, int]

    @classmethod
    def fit(cls, graph: OnnxGraph, x_cal: np.ndarray, spec, *,
            per_channel: bool = True) -> QuantGraph:
        """Scales from the calibration inputs ``x_cal`` (raw model inputs).

        Raises
        ------
        InputError
            A layer's calibration inputs are negative and ``macro.input_signed`` is false,
            or the calibration inputs are all zero at some layer.
        """
        m = spec.macro
        lo, hi = m.input_range
        wmax = m.weight_range[1]
        _, vals = graph.run(x_cal, keep=True)
        w_int, w_scale, x_scale = [], [], []
        for i, node in enumerate(graph.linear):
            lay = node.layer
            rows = _rows(vals[node.inputs[0]], lay)
            if rows.min() < 0 and lo == 0:
                raise InputError(
                    f"model {graph.path!r}: linear layer {i + 1} (node {node.name!r}, "
                    f"{node.op}) has negative inputs on the calibration data (min "
                    f"{rows.min():.4g}); allowed: macro.input_signed = true")
            amax = float(np.abs(rows).max())
            if amax == 0.0:
                raise InputError(f"model {graph.path!r}: linear layer {i + 1} (node "
                                 f"{node.name!r}) sees only zeros on the calibration data; "
                                 "allowed: calibration samples that exercise every layer")
            x_scale.append(amax / hi)
            a = np.abs(lay.w).max(axis=0) if per_channel else np.full(lay.w.shape[1],
                                                                       np.abs(lay.w).max())
            s = np.where(a > 0, a / wmax, 1.0)
            w_scale.append(s)
            w_int.append(np.clip(np.round(lay.w / s), -wmax, wmax).astype(np.int64))
        return cls(graph, w_int, w_scale, x_scale, (lo, hi))

    @property
    def n_layers(self) -> int:
        return len(self.w_int)

    def quantize(self, i: int, rows: np.ndarray) -> np.ndarray:
        """Layer ``i``'s float input rows as integer inputs."""
        return np.clip(np.round(rows / self.x_scale[i]), *self.input_range).astype(np.int64)

    def first_rows(self, x: np.ndarray) -> np.ndarray:
        """The first linear layer's integer input rows for raw inputs ``x`` (what runs
        before it is evaluated in float)."""
        first = self.graph.linear[0]
        _, vals = self.graph.run(x, keep=True, stop=first)
        return self.quantize(0, _rows(vals[first.inputs[0]], first.layer))

    def forward(self, x: np.ndarray, mvm: Callable | None = None) -> np.ndarray:
        """The integer network on raw inputs ``x``; ``mvm(i, x_int, w_int) -> product``
        in units of ``x_int @ w_int`` (default: the exact integer product)."""
        mvm = mvm or (lambda _i, xi, wi: (xi @ wi).astype(np.float64))

        def hook(i, rows, _layer):
            xi = self.quantize(i, rows)
            return mvm(i, xi, self.w_int[i]) * (self.x_scale[i] * self.w_scale[i])

        return self.graph.run(x, linear=hook)
