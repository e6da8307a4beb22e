"""An ONNX model as a small numpy graph whose linear layers run anywhere.

:func:`load_onnx` reads a model (``onnx`` package) into an :class:`OnnxGraph`: its nodes
in graph order, each one of :data:`SUPPORTED`, with BatchNormalization folded into the
Conv or Gemm before it. :meth:`OnnxGraph.run` evaluates it in float64 numpy, calling a
``linear(index, x, layer)`` hook for every Gemm/MatMul/Conv (Conv by im2col), so the
same graph runs as the float reference, as an integer network with exact products, or on
golden macros, layer by layer. Anything else is refused naming the node, its op type and
the supported list.

Conventions: one graph input, NCHW for convolutions and pools, ``groups = 1``,
dilations 1, no ``ceil_mode``; Gemm with ``transA = 0``; MatMul and Gemm with a constant
(initializer) weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError

__all__ = ["SUPPORTED", "LinearLayer", "OnnxGraph", "OnnxNode", "im2col", "load_onnx"]

SUPPORTED = ("Gemm", "MatMul", "Conv", "Relu", "Flatten", "Reshape", "Add", "MaxPool",
             "AveragePool", "GlobalAveragePool", "BatchNormalization")


@dataclass
class LinearLayer:
    """A Gemm/MatMul/Conv as a matrix: ``y = x @ w + b`` (Conv: on im2col patches).

    ``w`` has shape ``(in_features, out_features)``; for a Conv ``in_features = C_in *
    kh * kw`` in (channel, row, column) order and ``kernel``, ``stride``, ``pads``
    (top, left, bottom, right) describe the patches."""

    w: np.ndarray
    b: np.ndarray
    kind: str
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class OnnxNode:
    """One node: op type, input and output value names, attributes, and its linear
    layer (Gemm/MatMul/Conv) or constant operand (Add with an initializer, Reshape)."""

    name: str
    op: str
    inputs: list[str]
    output: str
    attrs: dict = field(default_factory=dict)
    layer: LinearLayer | None = None
    const: np.ndarray | None = None


def im2col(x: np.ndarray, layer: LinearLayer) -> tuple[np.ndarray, tuple[int, int]]:
    """Patches of ``x`` (N, C, H, W) as rows ``(N * Ho * Wo, C * kh * kw)`` (image,
    then output row, then output column), and ``(Ho, Wo)``."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = layer.kernel, layer.stride, layer.pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    ho, wo = (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1
    cols = np.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * ho * wo, c * kh * kw), (ho, wo)


def _pool(x: np.ndarray, node: OnnxNode) -> np.ndarray:
    kh, kw = node.attrs["kernel_shape"]
    sh, sw = node.attrs.get("strides", [1, 1])
    pt, pl, pb, pr = node.attrs.get("pads", [0, 0, 0, 0])
    mx = node.op == "MaxPool"
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)),
                constant_values=-np.inf if mx else 0.0)
    h, w = xp.shape[2:]
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    win = np.stack([xp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]
                    for i in range(kh) for j in range(kw)])
    if mx:
        return win.max(axis=0)
    if any((pt, pl, pb, pr)) and not node.attrs.get("count_include_pad", 0):
        ones = np.pad(np.ones((1, 1, h - pt - pb, w - pl - pr)), ((0, 0), (0, 0), (pt, pb),
                                                                  (pl, pr)))
        cnt = np.stack([ones[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]
                        for i in range(kh) for j in range(kw)]).sum(axis=0)
        return win.sum(axis=0) / cnt
    return win.mean(axis=0)


def _reshape(x: np.ndarray, shape: np.ndarray) -> np.ndarray:
    shape = [int(s) for s in shape]
    shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


@dataclass
class OnnxGraph:
    """The imported model: nodes in graph order, input and output names and the input
    shape (batch dimension first, as the model declares it)."""

    path: str
    nodes: list[OnnxNode]
    input_name: str
    input_shape: tuple
    output_name: str

    @property
    def linear(self) -> list[OnnxNode]:
        """The Gemm/MatMul/Conv nodes, in order (the layers that go on macros)."""
        return [n for n in self.nodes if n.layer is not None]

    def run(self, x: np.ndarray, linear: Callable | None = None, keep: bool = False,
            stop: OnnxNode | None = None) -> np.ndarray | tuple[np.ndarray, dict]:
        """Evaluate on ``x`` (float64); ``linear(i, x_rows, layer) -> y_rows`` computes
        linear layer ``i`` on its input rows (default: ``x_rows @ w``, the float model),
        the bias is added after it. With ``keep``, also every value by name. With
        ``stop``, evaluation ends before that node (the output is then ``None``)."""
        vals = {self.input_name: np.asarray(x, dtype=np.float64)}
        index = {id(n): i for i, n in enumerate(self.linear)}
        mm = linear or (lambda _i, rows, layer: rows @ layer.w)
        for node in self.nodes:
            if node is stop:
                return (None, vals) if keep else None
            a = vals[node.inputs[0]]
            if node.layer is not None:
                lay = node.layer
                if lay.kind == "conv":
                    rows, (ho, wo) = im2col(a, lay)
                    y = mm(index[id(node)], rows, lay) + lay.b
                    out = y.reshape(a.shape[0], ho, wo, -1).transpose(0, 3, 1, 2)
                else:
                    out = mm(index[id(node)], a.reshape(a.shape[0], -1), lay) + lay.b
            elif node.op == "Relu":
                out = np.maximum(a, 0.0)
            elif node.op == "Flatten":
                ax = node.attrs.get("axis", 1)
                out = a.reshape(int(np.prod(a.shape[:ax], dtype=np.int64)), -1)
            elif node.op == "Reshape":
                out = _reshape(a, node.const)
            elif node.op == "Add":
                out = a + (node.const if node.const is not None else vals[node.inputs[1]])
            elif node.op in ("MaxPool", "AveragePool"):
                out = _pool(a, node)
            elif node.op == "GlobalAveragePool":
                out = a.mean(axis=(2, 3), keepdims=True)
            else:  # load_onnx admits nothing else
                raise AssertionError(node.op)
            vals[node.output] = out
        y = vals[self.output_name]
        return (y, vals) if keep else y


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _refuse(path, node, why: str) -> InputError:
    return InputError(f"model {path!r}: node {node.name or '(unnamed)'!r} ({node.op_type}): "
                      f"{why}")


def _linear(path, node, attrs, inits) -> LinearLayer:
    def const(i: int) -> np.ndarray:
        if len(node.input) <= i or node.input[i] not in inits:
            raise _refuse(path, node, f"input {i} must be a constant (initializer); allowed: "
                                      "a weight stored in the model")
        return inits[node.input[i]]

    if node.op_type == "MatMul":
        w = const(1)
        if w.ndim != 2:
            raise _refuse(path, node, f"weight of shape {w.shape}; allowed: 2-D")
        return LinearLayer(w, np.zeros(w.shape[1]), "matmul")
    if node.op_type == "Gemm":
        if attrs.get("transA", 0):
            raise _refuse(path, node, "transA = 1; allowed: 0")
        w = const(1)
        w = (w.T if attrs.get("transB", 0) else w) * attrs.get("alpha", 1.0)
        b = const(2) * attrs.get("beta", 1.0) if len(node.input) > 2 and node.input[2] else \
            np.zeros(w.shape[1])
        return LinearLayer(w, np.broadcast_to(b, (w.shape[1],)).copy(), "gemm")
    w = const(1)  # Conv: (C_out, C_in, kh, kw)
    if attrs.get("group", 1) != 1:
        raise _refuse(path, node, f"group = {attrs['group']}; allowed: 1")
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise _refuse(path, node, f"dilations = {attrs['dilations']}; allowed: 1")
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise _refuse(path, node, "auto_pad; allowed: explicit pads")
    if w.ndim != 4:
        raise _refuse(path, node, f"weight of shape {w.shape}; allowed: 2-D convolution")
    b = const(2) if len(node.input) > 2 and node.input[2] else np.zeros(w.shape[0])
    return LinearLayer(w.reshape(w.shape[0], -1).T.copy(), b.astype(np.float64), "conv",
                       tuple(w.shape[2:]), tuple(attrs.get("strides", [1, 1])),
                       tuple(attrs.get("pads", [0, 0, 0, 0])))


def _fold_bn(path, node, attrs, inits, prev: OnnxNode | None, users: dict) -> None:
    """Fold BatchNormalization ``node`` into ``prev`` (its producer's linear layer)."""
    if prev is None or prev.layer is None or users.get(prev.output, 0) != 1:
        raise _refuse(path, node, "not right after a Conv or Gemm whose output only it uses; "
                                  "allowed: BatchNormalization folded into that layer")
    scale, bias, mean, var = (inits[n] for n in node.input[1:5])
    k = scale / np.sqrt(var + attrs.get("epsilon", 1e-5))
    prev.layer.w = prev.layer.w * k
    prev.layer.b = (prev.layer.b - mean) * k + bias
    prev.output = node.output[0]


def load_onnx(path) -> OnnxGraph:
    """Read ``path`` into an :class:`OnnxGraph`.

    Raises
    ------
    InputError
        Not a readable ONNX model, more than one input, an unsupported op or attribute
        (naming the node, its op type and what is allowed).
    """
    import onnx
    from onnx import numpy_helper

    p = str(path)
    if not Path(p).is_file():
        raise InputError(f"model {p!r}: no such file")
    try:
        model = onnx.load(p)
    except Exception as e:
        raise InputError(f"model {p!r}: not an ONNX model ({type(e).__name__}: {e})") from None
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1 or len(g.output) != 1:
        raise InputError(f"model {p!r}: {len(inputs)} inputs and {len(g.output)} outputs; "
                         "allowed: one of each")
    users: dict[str, int] = {}
    for node in g.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    nodes: list[OnnxNode] = []
    by_out: dict[str, OnnxNode] = {}
    for node in g.node:
        if node.op_type not in SUPPORTED:
            raise _refuse(p, node, "unsupported op; supported: " + ", ".join(SUPPORTED))
        attrs = _attrs(node)
        if node.op_type == "BatchNormalization":
            _fold_bn(p, node, attrs, inits, by_out.get(node.input[0]), users)
            by_out[node.output[0]] = by_out.pop(node.input[0])
            continue
        n = OnnxNode(node.name, node.op_type, [i for i in node.input if i not in inits],
                     node.output[0], attrs)
        if node.op_type in ("Gemm", "MatMul", "Conv"):
            n.layer = _linear(p, node, attrs, inits)
            n.inputs = [node.input[0]]
        elif node.op_type in ("Reshape", "Add"):
            consts = [inits[i] for i in node.input if i in inits]
            n.const = consts[0] if consts else None
            if node.op_type == "Reshape" and n.const is None:
                raise _refuse(p, node, "shape is not a constant; allowed: an initializer shape")
        if node.op_type in ("MaxPool", "AveragePool") and attrs.get("ceil_mode", 0):
            raise _refuse(p, node, "ceil_mode = 1; allowed: 0")
        nodes.append(n)
        by_out[n.output] = n
    shape = tuple(d.dim_value or None for d in inputs[0].type.tensor_type.shape.dim)
    return OnnxGraph(p, nodes, inputs[0].name, shape, g.output[0].name)
