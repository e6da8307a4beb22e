"""The ``onnx`` workload: the user's own network (an ONNX file) on the user's samples.

``[workload] model`` is the ONNX file (:func:`cimgen.onnx_graph.load_onnx`: Gemm,
MatMul, Conv, Relu, Flatten, Reshape, Add, pools, BatchNormalization folded), ``data``
an ``.npz`` with ``x`` (samples in the model's input layout) and optionally ``y``
(integer labels). The first ``[workload] calibration_samples`` samples calibrate (the quantiser
scales of :class:`cimgen.onnx_quant.QuantGraph`, and the chips' ADCs in the flow), the
rest are the test set. Accuracy is the argmax against ``y``; without labels, the
agreement of the argmax with the float model's (the float model then scores 1.0).

The network runs through :meth:`OnnxWorkload.forward`: every linear layer's integer
product on the macros (a Conv's im2col rows, image by image, then output pixel), the
rest in float (:func:`cimgen.flow.network.run_network`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import InputError
from ..onnx_graph import OnnxGraph, im2col, load_onnx
from ..onnx_quant import QuantGraph
from . import register

__all__ = ["OnnxWorkload", "load_samples"]

def load_samples(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``x`` and ``y`` (or ``None``) of the ``.npz`` at ``path``.

    Raises
    ------
    InputError
        Missing file, not an npz, no ``x``, non-finite samples, labels that are not
        integers or do not match the samples.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"workload.data {path!r}: no such file")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise InputError(f"workload.data {path!r}: not an .npz file ({e})") from None
    if "x" not in arrays:
        raise InputError(f"workload.data {path!r}: no array 'x'; allowed: an .npz with 'x' "
                         "(samples) and optionally 'y' (integer labels)")
    x = arrays["x"]
    if x.dtype.kind not in "iuf" or x.ndim < 2 or x.shape[0] < 2:
        raise InputError(f"workload.data {path!r}: x of dtype {x.dtype} and shape {x.shape}; "
                         "allowed: real samples, shape (n >= 2, ...)")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise InputError(f"workload.data {path!r}: x holds NaN or infinite values")
    y = arrays.get("y")
    if y is not None and (y.dtype.kind not in "iu" or y.shape != (x.shape[0],)):
        raise InputError(f"workload.data {path!r}: y of dtype {y.dtype} and shape {y.shape}; "
                         f"allowed: integer labels, shape ({x.shape[0]},)")
    return x, None if y is None else y.astype(np.int64)


@register
@dataclass(frozen=True, eq=False)
class OnnxWorkload:
    """An ONNX network quantised to one config (see the module docstring)."""

    name: ClassVar[str] = "onnx"
    title: ClassVar[str] = "ONNX network"
    max_vectors: ClassVar[int] = 10**9
    vectors_note: ClassVar[str] = "the samples of workload.data"

    path: str
    data_path: str
    graph: OnnxGraph
    qnet: QuantGraph
    x: np.ndarray
    y: np.ndarray
    labelled: bool
    n_cal: int
    weight_scale: str

    @classmethod
    def check(cls, spec) -> None:
        """The model and data files exist and load (refused by name otherwise)."""
        load_onnx(spec.workload.model)
        load_samples(spec.workload.data)

    @classmethod
    def build(cls, spec) -> OnnxWorkload:
        w = spec.workload
        n_cal = w.calibration_samples
        graph = load_onnx(w.model)
        x, y = load_samples(w.data)
        if x.shape[0] <= n_cal:
            raise InputError(f"workload.data {w.data!r}: {x.shape[0]} samples; allowed: more "
                             f"than workload.calibration_samples = {n_cal} (the rest are the "
                             "test set)")
        try:
            ref = graph.run(x[:2])
        except (ValueError, IndexError) as e:
            raise InputError(f"workload.data {w.data!r}: samples of shape {x.shape[1:]} do "
                             f"not fit model {w.model!r} ({e})") from None
        if ref.ndim != 2:
            raise InputError(f"model {w.model!r}: output of shape {ref.shape[1:]} per sample; "
                             "allowed: one score vector per sample (a classifier)")
        qnet = QuantGraph.fit(graph, x[:n_cal], spec,
                              per_channel=w.weight_scale == "per_channel")
        labelled = y is not None
        if not labelled:
            y = np.argmax(graph.run(x), axis=1)
        return cls(w.model, w.data, graph, qnet, x, y, labelled, n_cal, w.weight_scale)

    @classmethod
    def report_text(cls, results: dict) -> str:
        w = results["workload"]
        return (f"Workload: ONNX model {w['model']!r} ({len(w['layers'])} linear layers on the "
                f"macros), {w['n_test']} test samples of {w['data']!r}"
                + ("" if w["labelled"] else " scored by agreement with the float model")
                + f"; weights quantised {w['weight_scale'].replace('_', ' ')}, activations "
                "per layer from the calibration samples.")

    # -- the network on macros ------------------------------------------------------------

    @property
    def n_layers(self) -> int:
        return self.qnet.n_layers

    @property
    def weights(self) -> list[np.ndarray]:
        return self.qnet.w_int

    def rows_per_sample(self, layer: int) -> int:
        """Input rows one sample gives linear layer ``layer`` (a Conv's output pixels)."""
        node = self.graph.linear[layer]
        _, vals = self.graph.run(self.x[:1], keep=True, stop=node)
        v = vals[node.inputs[0]]
        return im2col(v, node.layer)[0].shape[0] if node.layer.kind == "conv" else 1

    def forward(self, raw: np.ndarray, mvm=None) -> np.ndarray:
        """The integer network; ``mvm(i, x_int, w_int)`` computes layer ``i``'s product."""
        return self.qnet.forward(raw, mvm)

    def quantize_input(self, raw: np.ndarray) -> np.ndarray:
        """The first linear layer's integer input rows."""
        return self.qnet.first_rows(raw)

    def accuracy(self, outputs: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(np.argmax(outputs, axis=1) == labels))

    def calibration_inputs(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(n, self.n_cal)
        return self.x[:k], np.arange(k, dtype=np.int64)

    def test_set(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.n_cal
        return self.x[n:], np.arange(n, self.x.shape[0], dtype=np.int64), self.y[n:]

    def all_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x, np.arange(self.x.shape[0], dtype=np.int64)

    def baselines(self) -> dict:
        x, y = self.x[self.n_cal:], self.y[self.n_cal:]
        return {"float_baseline": self.accuracy(self.graph.run(x), y),
                "integer_ideal": self.accuracy(self.qnet.forward(x), y)}

    def describe(self, n_cal: int, tiles: list) -> dict:
        return {"dataset": f"workload.data {self.data_path!r}",
                "model": self.path, "data": self.data_path,
                "samples_shape": list(self.x.shape), "labelled": self.labelled,
                "n_train": self.n_cal, "n_test": int(self.x.shape[0] - self.n_cal),
                "n_cal": n_cal, "layers": [list(w.shape) for w in self.weights],
                "ops": [n.op for n in self.graph.linear],
                "rows_per_sample": [self.rows_per_sample(i) for i in range(self.n_layers)],
                "tiles": [list(t) for t in tiles], "weight_scale": self.weight_scale,
                "x_scales": list(self.qnet.x_scale)}

    def summary(self) -> str:
        ops = ", ".join(f"{n.op} {w.shape[0]}x{w.shape[1]}"
                        for n, w in zip(self.graph.linear, self.weights, strict=True))
        return (f"ONNX {Path(self.path).name}: {ops}; {self.n_cal} calibration / "
                f"{self.x.shape[0] - self.n_cal} test samples")

    def arrays(self) -> dict:
        q = self.qnet
        return {**{f"w{i + 1}": w for i, w in enumerate(q.w_int)},
                **{f"w_scale{i + 1}": s for i, s in enumerate(q.w_scale)},
                "x_scales": np.array(q.x_scale)}
