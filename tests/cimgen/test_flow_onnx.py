"""``cimgen flow`` on the user's own network: the bundled CNN (examples/digits_cnn.onnx)
end to end through the CLI on a cut-down sample file, its baselines against
onnxruntime, its tiled convolutions checked on the RTL, and the same numbers serially
and on worker processes."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the flow draws its figures with matplotlib")
ort = pytest.importorskip("onnxruntime", reason="the float reference is onnxruntime")

from cimgen import flow, workloads  # noqa: E402
from cimgen.cli import main  # noqa: E402
from cimgen.config import load_config  # noqa: E402

EX = Path(__file__).resolve().parents[2] / "examples"
N_CAL, N_TEST = 64, 48


def _data(tmp, labelled=True):
    with np.load(EX / "digits_cnn.npz") as z:
        x, y = z["x"][:N_CAL + N_TEST], z["y"][:N_CAL + N_TEST]
    path = tmp / ("small.npz" if labelled else "unlabelled.npz")
    np.savez(path, **({"x": x, "y": y} if labelled else {"x": x}))
    return path, x, y


def _ort_scores(x):
    s = ort.InferenceSession(str(EX / "digits_cnn.onnx"), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x.astype(np.float32)})[0]


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cnn")
    data, x, y = _data(tmp)
    out = tmp / "flow"
    code = main(["flow", str(EX / "default.toml"), "--model", str(EX / "digits_cnn.onnx"),
                 "--data", str(data), "--calibration-samples", str(N_CAL), "--quick",
                 "--seeds", "1", "--rtl-mvms", "40", "-o", str(out)])
    return code, out, x, y


def test_cnn_flow_runs_and_describes_the_network(cnn):
    code, out, _, _ = cnn
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    w = res["workload"]
    assert w["ops"] == ["Conv", "Conv", "Gemm"] and w["layers"] == [[9, 8], [72, 16], [64, 10]]
    assert w["rows_per_sample"] == [64, 16, 1]       # 8x8 and 4x4 output pixels
    assert w["tiles"] == [[1, 1], [2, 2], [1, 2]]    # conv2 is larger than one macro
    assert w["n_cal"] == N_CAL and w["n_test"] == N_TEST and w["labelled"]
    assert "ONNX model" in (out / "report.md").read_text()
    assert len(res["accuracy"]["runs"]) == 3 * 2 * 2


def test_cnn_flow_baselines_against_onnxruntime(cnn):
    _, out, x, y = cnn
    acc = json.loads((out / "results.json").read_text())["accuracy"]
    ref = float(np.mean(np.argmax(_ort_scores(x[N_CAL:]), axis=1) == y[N_CAL:]))
    assert acc["float_baseline"] == pytest.approx(ref, abs=1e-12)
    # 4-bit inputs and weights cost at most a few test samples of 48
    assert acc["integer_ideal"] >= acc["float_baseline"] - 4 / N_TEST
    assert 0.5 < acc["reference_chip"]["accuracy"] <= 1.0


def test_cnn_flow_rtl_checks_convolution_rows(cnn):
    _, out, _, _ = cnn
    rtl = json.loads((out / "results.json").read_text())["rtl"]
    sc = rtl["golden_self_check"]
    assert sc["mvms"] == 40 and sc["out_mismatches"] == 0 and sc["flag_mismatches"] == 0
    if rtl["status"].startswith("skipped") and shutil.which("iverilog") is None:
        pytest.skip(f"RTL check: {rtl['status']}")  # the only skip: no simulator
    assert rtl["status"] == "passed", rtl.get("report")
    assert rtl["mismatches"] == 0


def test_unlabelled_data_scores_agreement_with_the_float_model(tmp_path):
    data, x, _ = _data(tmp_path, labelled=False)
    spec = load_config(EX / "default.toml").replace(workload={
        "name": "onnx", "model": str(EX / "digits_cnn.onnx"), "data": str(data),
        "calibration_samples": N_CAL})
    wl = workloads.flow_workload(spec).build(spec)
    base = wl.baselines()
    assert base["float_baseline"] == 1.0 and not wl.labelled
    agree = np.mean(np.argmax(wl.qnet.forward(x[N_CAL:]), axis=1)
                    == np.argmax(_ort_scores(x[N_CAL:]), axis=1))
    assert base["integer_ideal"] == pytest.approx(agree)


def test_same_numbers_serially_and_on_workers(tmp_path):
    data, _, _ = _data(tmp_path)
    spec = load_config(EX / "cnn.toml").replace(workload={"data": str(data),
                                                          "calibration_samples": N_CAL})
    grid = flow.FlowGrid(bits=(3,), variation_pct=(2.0,), seeds=2, n_cal=N_CAL,
                         sr_design=False, rtl_mvms=8)
    runs = [flow.run_flow(spec, tmp_path / f"w{w}", grid=grid, rtl=False, workers=w,
                          progress=False) for w in (1, 2)]
    a, b = ({k: v for k, v in r.items() if k != "timing_s"} for r in runs)
    assert a == b


def _wide_mlp(tmp):
    """A 512-256-10 MLP (random weights; unlabelled samples): 8 x 32 + 4 x 2 = 264 tiles
    of the default 64 x 8 macro."""
    from onnx import TensorProto, helper, numpy_helper, save

    r = np.random.default_rng(3)
    f = lambda n, a: numpy_helper.from_array(a.astype(np.float32), n)  # noqa: E731
    inits = [f("w1", r.normal(size=(512, 256)) / 20), f("b1", r.normal(size=256) / 10),
             f("w2", r.normal(size=(256, 10)) / 10)]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Add", ["h", "b1"], ["h1"], name="bias1"),
             helper.make_node("Relu", ["h1"], ["h2"], name="relu"),
             helper.make_node("MatMul", ["h2", "w2"], ["y"], name="fc2")]
    vi = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 512]),
          helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 10])]
    save(helper.make_model(helper.make_graph(nodes, "wide", vi[:1], vi[1:], inits),
                           opset_imports=[helper.make_opsetid("", 13)]), str(tmp / "w.onnx"))
    np.savez(tmp / "w.npz", x=r.uniform(0, 1, size=(40, 512)))
    return tmp / "w.onnx", tmp / "w.npz"


def test_hundreds_of_tiles_on_a_dask_cluster_equal_serial(tmp_path):
    """The sweep of a network of 264 tiles: the same table serially and on a
    2-worker LocalCluster."""
    from cimgen import sweep

    model, data = _wide_mlp(tmp_path)
    spec = load_config(EX / "default.toml").replace(workload={
        "name": "onnx", "model": str(model), "data": str(data), "calibration_samples": 24})
    ctx = sweep.network_context(spec)
    from cimgen.tiling import tile_grid

    assert sum(a * b for a, b in (tile_grid(w.shape, spec) for w in ctx.workload.weights)) \
        == 264
    grid = [(4, 2.0, "none", t) for t in range(2)]
    serial = sweep.run_sweep(spec, grid, out_dir=tmp_path / "s", serial=True, progress=False)
    dist = sweep.run_sweep(spec, grid, out_dir=tmp_path / "d", workers=2, progress=False)
    assert serial == dist
    assert serial[0]["accuracy"] != serial[1]["accuracy"] or \
        serial[0]["rms_error"] != serial[1]["rms_error"]   # two chips, two draws
