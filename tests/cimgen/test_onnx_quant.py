"""cimgen.onnx_quant against onnxruntime's integer-quantised reference.

A Conv + Relu + Flatten + Gemm model is built here with the onnx helper API. Its
integer twin is built independently as a second ONNX graph: QuantizeLinear of the
activations (per layer) and of the weights (per output channel, int8), the integer
products as Conv/Gemm of the integer-valued tensors (exact in float32 at these sizes),
the scales and biases applied after. onnxruntime runs it; QuantGraph with its products
on ideal tiled golden macros must give the same integer weights, the same integer
inputs and exactly the same integer products, layer by layer.
"""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="ONNX import needs the onnx package")
ort = pytest.importorskip("onnxruntime", reason="the reference is onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cimgen.errors import InputError  # noqa: E402
from cimgen.onnx_graph import im2col, load_onnx  # noqa: E402
from cimgen.onnx_quant import QuantGraph  # noqa: E402
from cimgen.tiling import run_tiled  # noqa: E402
from golden.spec import MacroSpec  # noqa: E402

RNG = np.random.default_rng(5)
SPEC = MacroSpec.from_dict({"macro": {"rows": 16, "cols": 4, "input_bits": 8,
                                      "weight_bits": 8, "cell_bits": 2}})


def _f(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def _graph(nodes, inits, outs, name):
    g = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 6, 6])],
        [helper.make_tensor_value_info(o, t, SHAPES[o]) for o, t in outs], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    return m


SHAPES = {"y": ["n", 5], "f": ["n", 144], "q1": ["n", 1, 6, 6], "a1": ["n", 4, 6, 6],
          "q2": ["n", 144], "a2": ["n", 5], "wq1": [4, 1, 3, 3], "wq2": [5, 144]}
W1, B1 = RNG.normal(size=(4, 1, 3, 3)), RNG.normal(size=4)
W2, B2 = RNG.normal(size=(5, 144)), RNG.normal(size=5)


def float_model(tmp_path, probe=False):
    """The model; with ``probe`` it also outputs the Gemm's input ``f``."""
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv", pads=[1] * 4),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
             helper.make_node("Flatten", ["r1"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], name="fc", transB=1)]
    m = _graph(nodes, [_f("w1", W1), _f("b1", B1), _f("w2", W2), _f("b2", B2)],
               [("y", TensorProto.FLOAT)] + [("f", TensorProto.FLOAT)] * probe, "float")
    path = tmp_path / ("probe.onnx" if probe else "float.onnx")
    onnx.save(m, str(path))
    return path


def integer_model(sx1, sx2, tmp_path):
    """The integer twin: what onnxruntime quantises and multiplies."""
    sw1 = np.abs(W1).reshape(4, -1).max(axis=1) / 127
    sw2 = np.abs(W2).max(axis=1) / 127
    z8 = lambda n, k: numpy_helper.from_array(np.zeros(k, dtype=np.int8), n)  # noqa: E731
    inits = [_f("w1", W1), _f("sw1", sw1), z8("zw1", 4), _f("w2", W2), _f("sw2", sw2),
             z8("zw2", 5), _f("sx1", sx1), _f("sx2", sx2),
             numpy_helper.from_array(np.uint8(0), "zx"),
             _f("k1", (sx1 * sw1).reshape(1, 4, 1, 1)), _f("b1", B1.reshape(1, 4, 1, 1)),
             _f("k2", sx2 * sw2), _f("b2", B2)]
    n = helper.make_node
    nodes = [
        n("QuantizeLinear", ["x", "sx1", "zx"], ["q1"]),
        n("QuantizeLinear", ["w1", "sw1", "zw1"], ["wq1"], axis=0),
        n("Cast", ["q1"], ["q1f"], to=TensorProto.FLOAT),
        n("Cast", ["wq1"], ["wq1f"], to=TensorProto.FLOAT),
        n("Conv", ["q1f", "wq1f"], ["a1"], pads=[1] * 4),
        n("Mul", ["a1", "k1"], ["m1"]), n("Add", ["m1", "b1"], ["c1"]),
        n("Relu", ["c1"], ["r1"]), n("Flatten", ["r1"], ["f"]),
        n("QuantizeLinear", ["f", "sx2", "zx"], ["q2"]),
        n("QuantizeLinear", ["w2", "sw2", "zw2"], ["wq2"], axis=0),
        n("Cast", ["q2"], ["q2f"], to=TensorProto.FLOAT),
        n("Cast", ["wq2"], ["wq2f"], to=TensorProto.FLOAT),
        n("Gemm", ["q2f", "wq2f"], ["a2"], transB=1),
        n("Mul", ["a2", "k2"], ["m2"]), n("Add", ["m2", "b2"], ["y"]),
    ]
    outs = [("y", TensorProto.FLOAT), ("q1", TensorProto.UINT8), ("a1", TensorProto.FLOAT),
            ("q2", TensorProto.UINT8), ("a2", TensorProto.FLOAT), ("wq1", TensorProto.INT8),
            ("wq2", TensorProto.INT8)]
    path = tmp_path / "int.onnx"
    onnx.save(_graph(nodes, inits, outs, "integer"), str(path))
    return path


def _run(path, x):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in s.get_outputs()]
    return dict(zip(names, s.run(None, {"x": x.astype(np.float32)}), strict=True))


def test_integer_network_equals_onnxruntime_quantised_reference(tmp_path):
    x = RNG.uniform(0, 1, size=(40, 1, 6, 6)).astype(np.float32).astype(np.float64)
    x_cal, x_test = x[:24], x[24:]
    fpath = float_model(tmp_path)
    f_cal = _run(float_model(tmp_path, probe=True), x_cal)["f"]
    sx1, sx2 = np.float32(x_cal.max() / 255), np.float32(f_cal.max() / 255)
    ref = _run(integer_model(sx1, sx2, tmp_path), x_test)

    q = QuantGraph.fit(load_onnx(fpath), x_cal, SPEC, per_channel=True)
    assert np.allclose(q.x_scale, [sx1, sx2], rtol=1e-6)
    # the same integer weights (ours are (in, out); onnx's (out, ...))
    assert np.array_equal(q.w_int[0], ref["wq1"].reshape(4, -1).T)
    assert np.array_equal(q.w_int[1], ref["wq2"].T)

    graph = q.graph
    # ideal macros on onnxruntime's own integer inputs: exactly its integer products
    rows1 = im2col(ref["q1"].astype(np.float64), graph.linear[0].layer)[0].astype(np.int64)
    r1 = run_tiled(SPEC, q.w_int[0], rows1, ideal=True)
    assert np.array_equal(r1.raw >> r1.frac_bits,
                          ref["a1"].transpose(0, 2, 3, 1).reshape(-1, 4).astype(np.int64))
    r2 = run_tiled(SPEC, q.w_int[1], ref["q2"].astype(np.int64), ideal=True)
    assert r2.raw.shape == (16, 5)
    assert np.array_equal(r2.raw >> r2.frac_bits, ref["a2"].astype(np.int64))

    # our own forward on ideal macros: the same integer inputs (float32 vs float64
    # scaling may move a rare exact tie by one code) and outputs within float32 rounding
    seen = []

    def on_macros(i, xi, wi):
        seen.append(xi)
        res = run_tiled(SPEC, wi, xi, ideal=True)
        return res.values

    y = q.forward(x_test, on_macros)
    assert np.array_equal(seen[0], rows1)
    assert np.mean(seen[1] != ref["q2"]) <= 1e-3
    assert np.allclose(y, ref["y"], rtol=1e-4, atol=1e-3 * np.abs(ref["y"]).max())
    # and the float model within the quantisation error
    yf = _run(fpath, x_test)["y"]
    assert np.abs(y - yf).max() < 0.05 * np.abs(yf).max()


def test_per_layer_weight_scale(tmp_path):
    x = RNG.uniform(0, 1, size=(8, 1, 6, 6))
    q = QuantGraph.fit(load_onnx(float_model(tmp_path)), x, SPEC, per_channel=False)
    ws = [W1.reshape(4, -1).T.astype(np.float32), W2.T.astype(np.float32)]  # as stored
    for w, s, wi in zip(ws, q.w_scale, q.w_int, strict=True):
        assert np.all(s == np.float64(np.abs(w).max()) / 127)
        assert np.abs(wi).max() == 127 and np.array_equal(wi, np.round(w.astype(np.float64) / s[0]))


def test_negative_inputs_need_signed_macro(tmp_path):
    path = float_model(tmp_path)
    x = RNG.normal(size=(8, 1, 6, 6))
    with pytest.raises(InputError, match=r"linear layer 1 \(node 'conv', Conv\) has "
                                         r"negative inputs .* macro.input_signed = true"):
        QuantGraph.fit(load_onnx(path), x, SPEC)
    signed = SPEC.replace(macro={"input_signed": True})
    q = QuantGraph.fit(load_onnx(path), x, signed)
    lo, hi = signed.macro.input_range
    rows = q.first_rows(x)
    assert lo < rows.min() < 0 and np.abs(rows).max() == hi  # symmetric scale: +-hi
    yf = load_onnx(path).run(x)
    assert np.abs(q.forward(x) - yf).max() < 0.05 * np.abs(yf).max()
