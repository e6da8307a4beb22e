"""cimgen.onnx_graph: ONNX models built here with the onnx helper API, run by the numpy
graph against onnxruntime (float), with integer products on ideal golden macros, and
every unsupported op or attribute refused by name."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="ONNX import needs the onnx package")
ort = pytest.importorskip("onnxruntime", reason="the float reference is onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cimgen.errors import InputError  # noqa: E402
from cimgen.onnx_graph import SUPPORTED, load_onnx  # noqa: E402

RNG = np.random.default_rng(11)


def _init(name, a):
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def _save(tmp_path, nodes, inits, in_shape, out_shape, name="m.onnx"):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                      in_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    path = tmp_path / name
    onnx.save(m, str(path))
    return path


def cnn(tmp_path):
    """Conv(pad 1) + BN + Relu + MaxPool + Conv(stride 2) + Relu + AveragePool(pad) +
    GlobalAveragePool + Flatten + Gemm(transB) + Add + residual Add."""
    r = RNG
    inits = [_init("w1", r.normal(size=(4, 1, 3, 3))), _init("b1", r.normal(size=4)),
             _init("s", r.uniform(0.5, 1.5, 4)), _init("bb", r.normal(size=4)),
             _init("mu", r.normal(size=4)), _init("var", r.uniform(0.5, 2, 4)),
             _init("w2", r.normal(size=(6, 4, 3, 3))),
             _init("wf", r.normal(size=(3, 6))), _init("bf", r.normal(size=3)),
             _init("c", r.normal(size=3))]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "s", "bb", "mu", "var"], ["n1"],
                         name="bn1", epsilon=1e-5),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], name="conv2", strides=[2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("AveragePool", ["r2"], ["a2"], name="avg", kernel_shape=[2, 2],
                         pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["a2"], ["g2"], name="gap"),
        helper.make_node("Flatten", ["g2"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["z"], name="fc", transB=1),
        helper.make_node("Add", ["z", "c"], ["z2"], name="bias"),
        helper.make_node("Add", ["z2", "z"], ["y"], name="residual"),
    ]
    return _save(tmp_path, nodes, inits, [None, 1, 10, 10], [None, 3])


def mlp(tmp_path, extra=None):
    r = RNG
    inits = [_init("w1", r.normal(size=(16, 8))), _init("b1", r.normal(size=8)),
             _init("w2", r.normal(size=(8, 4))), _init("shape", [-1, 16])]
    inits[-1] = numpy_helper.from_array(np.array([-1, 16], dtype=np.int64), "shape")
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["x2"], name="reshape"),
             helper.make_node("MatMul", ["x2", "w1"], ["h"], name="mm1"),
             helper.make_node("Add", ["h", "b1"], ["h2"], name="add1"),
             helper.make_node("Relu", ["h2"], ["h3"], name="relu"),
             helper.make_node("MatMul", ["h3", "w2"], ["y"], name="mm2")]
    return _save(tmp_path, nodes + (extra or []), inits, [None, 4, 4], [None, 4])


def _ort(path, x):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)


@pytest.mark.parametrize("build, shape", [(cnn, (5, 1, 10, 10)), (mlp, (5, 4, 4))])
def test_float_graph_equals_onnxruntime(tmp_path, build, shape):
    path = build(tmp_path)
    x = RNG.normal(size=shape)
    g = load_onnx(path)
    assert np.allclose(g.run(x), _ort(path, x), rtol=1e-4, atol=1e-4)


def test_batchnorm_is_folded_into_its_conv(tmp_path):
    g = load_onnx(cnn(tmp_path))
    assert "BatchNormalization" not in [n.op for n in g.nodes]
    assert [n.name for n in g.linear] == ["conv1", "conv2", "fc"]
    assert [n.layer.w.shape for n in g.linear] == [(9, 4), (36, 6), (6, 3)]


def test_integer_products_on_ideal_macros(tmp_path):
    """Every linear layer with quantised inputs and weights, its products computed on
    ideal golden macros (tiled): exactly the integer products, layer by layer."""
    from cimgen.tiling import run_tiled
    from golden.spec import MacroSpec

    spec = MacroSpec.from_dict({"macro": {"rows": 8, "cols": 2, "input_bits": 6,
                                          "input_signed": True, "weight_bits": 6}})
    m = spec.macro
    g = load_onnx(cnn(tmp_path))
    seen = []

    def on_macros(i, rows, layer):
        sx = np.abs(rows).max() / m.input_range[1] or 1.0
        sw = np.abs(layer.w).max() / m.weight_range[1]
        xi = np.clip(np.round(rows / sx), *m.input_range).astype(np.int64)
        wi = np.clip(np.round(layer.w / sw), *m.weight_range).astype(np.int64)
        res = run_tiled(spec, wi, xi, ideal=True)
        assert np.array_equal(res.raw, (xi @ wi) << res.frac_bits)
        seen.append((i, rows.shape))
        return res.values * sx * sw

    x = RNG.normal(size=(3, 1, 10, 10))
    y = g.run(x, linear=on_macros)
    assert [s[0] for s in seen] == [0, 1, 2]
    assert seen[0][1] == (3 * 10 * 10, 9) and seen[1][1] == (3 * 2 * 2, 36)
    ref = g.run(x)  # quantisation error only: 6-bit inputs and weights
    assert np.abs(y - ref).max() < 0.1 * np.abs(ref).max()


@pytest.mark.parametrize("node, match", [
    (("Sigmoid", "sig", {}), "node 'sig' (Sigmoid): unsupported op; supported: "
     + ", ".join(SUPPORTED)),
])
def test_unsupported_op_refused_by_name(tmp_path, node, match):
    op, name, kw = node
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="r"),
             helper.make_node(op, ["r"], ["y"], name=name, **kw)]
    path = _save(tmp_path, nodes, [], [None, 4], [None, 4])
    with pytest.raises(InputError, match=match.replace("(", r"\(").replace(")", r"\)")):
        load_onnx(path)


@pytest.mark.parametrize("kind, match", [
    ("group", r"node 'conv' \(Conv\): group = 2; allowed: 1"),
    ("transA", r"node 'fc' \(Gemm\): transA = 1; allowed: 0"),
    ("dynamic", r"node 'mm' \(MatMul\): input 1 must be a constant"),
    ("bn", r"node 'bn' \(BatchNormalization\): not right after a Conv or Gemm"),
])
def test_unsupported_attributes_refused(tmp_path, kind, match):
    r = RNG
    if kind == "group":
        nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", group=2)]
        inits, ins, outs = [_init("w", r.normal(size=(2, 1, 1, 1)))], [1, 2, 3, 3], [1, 2, 3, 3]
    elif kind == "transA":
        nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transA=1)]
        inits, ins, outs = [_init("w", r.normal(size=(4, 2)))], [4, 1], [1, 2]
    elif kind == "dynamic":
        nodes = [helper.make_node("MatMul", ["x", "x"], ["y"], name="mm")]
        inits, ins, outs = [], [2, 2], [2, 2]
    else:
        nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
                 helper.make_node("BatchNormalization", ["r", "s", "b", "m", "v"], ["y"],
                                  name="bn")]
        inits = [_init(n, np.ones(2)) for n in "sbmv"]
        ins, outs = [1, 2, 3, 3], [1, 2, 3, 3]
    path = _save(tmp_path, nodes, inits, ins, outs)
    with pytest.raises(InputError, match=match):
        load_onnx(path)


def test_not_a_model(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01 not protobuf at all \xff" * 10)
    with pytest.raises(InputError, match=r"model '.*bad.onnx': not an ONNX model"):
        load_onnx(bad)
    with pytest.raises(InputError, match="no such file"):
        load_onnx(tmp_path / "none.onnx")
