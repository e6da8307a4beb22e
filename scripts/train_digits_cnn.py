"""Train the bundled CNN (examples/digits_cnn.onnx) on scikit-learn's digits, in numpy.

    python scripts/train_digits_cnn.py [--out examples]

Conv 1->8 (3x3, pad 1) + ReLU + MaxPool 2, Conv 8->16 (3x3, pad 1) + BatchNorm + ReLU +
MaxPool 2, Flatten, Gemm 64->10, on the 8x8 images (pixels / 16). Adam, cross-entropy,
seed 0, 40 epochs: a few seconds on a laptop core. Writes ``digits_cnn.onnx`` (the
BatchNormalization stays a node: the importer folds it) and ``digits_cnn.npz``: ``x``
(N, 1, 8, 8) and ``y``, the first 256 samples the calibration set, the next 600 the
test set (a subset keeps ``cimgen flow --quick`` short). Re-running it reproduces both
files bit for bit (fixed seed, single-threaded numpy arithmetic of float64).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 0
N_CAL, N_TEST = 256, 600
EPOCHS, BATCH, LR = 40, 64, 3e-3


def _im2col(x, pad=1):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.stack([xp[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=2)
    return cols.transpose(0, 3, 4, 1, 2).reshape(n * h * w, c * 9)  # (c, kh, kw) order


def _col2im(dcols, shape, pad=1):
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 9).transpose(0, 3, 4, 1, 2)
    dx = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    for k, (i, j) in enumerate((i, j) for i in range(3) for j in range(3)):
        dx[:, :, i:i + h, j:j + w] += d[:, :, k]
    return dx[:, :, pad:pad + h, pad:pad + w]


def _pool(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = r.max(axis=(3, 5))
    mask = r == out[:, :, :, None, :, None]
    return out, mask


def _unpool(d, mask):
    g = mask * d[:, :, :, None, :, None]
    n, c, h2, _, w2, _ = g.shape
    return g.reshape(n, c, h2 * 2, w2 * 2)


def init(rng):
    def he(*shape, fan):
        return rng.normal(0.0, np.sqrt(2.0 / fan), shape)
    return {"w1": he(8, 1, 3, 3, fan=9), "b1": np.zeros(8),
            "w2": he(16, 8, 3, 3, fan=72), "b2": np.zeros(16),
            "g": np.ones(16), "beta": np.zeros(16),
            "wf": he(10, 64, fan=64), "bf": np.zeros(10)}


def forward(p, x, stats=None):
    """Logits and a cache; ``stats`` (mean, var) switches BatchNorm to inference."""
    n = x.shape[0]
    c1 = _im2col(x) @ p["w1"].reshape(8, -1).T + p["b1"]           # (n*64, 8)
    a1 = np.maximum(c1, 0).reshape(n, 8, 8, 8).transpose(0, 3, 1, 2)
    p1, m1 = _pool(a1)                                               # (n, 8, 4, 4)
    cols2 = _im2col(p1)
    c2 = cols2 @ p["w2"].reshape(16, -1).T + p["b2"]                 # (n*16, 16)
    mu, var = (c2.mean(0), c2.var(0)) if stats is None else stats
    xh = (c2 - mu) / np.sqrt(var + 1e-5)
    bn = xh * p["g"] + p["beta"]
    a2 = np.maximum(bn, 0).reshape(n, 4, 4, 16).transpose(0, 3, 1, 2)
    p2, m2 = _pool(a2)                                               # (n, 16, 2, 2)
    f = p2.reshape(n, -1)
    logits = f @ p["wf"].T + p["bf"]
    return logits, (x, c1, p1, m1, cols2, c2, mu, var, xh, bn, m2, f)


def backward(p, dlogits, cache):
    x, c1, p1, m1, cols2, c2, mu, var, xh, bn, m2, f = cache
    n = x.shape[0]
    g = {"wf": dlogits.T @ f, "bf": dlogits.sum(0)}
    dp2 = (dlogits @ p["wf"]).reshape(n, 16, 2, 2)
    da2 = _unpool(dp2, m2).transpose(0, 2, 3, 1).reshape(n * 16, 16)
    dbn = da2 * (bn > 0)
    g["g"], g["beta"] = (dbn * xh).sum(0), dbn.sum(0)
    dxh = dbn * p["g"]
    m = c2.shape[0]
    dc2 = (dxh - dxh.mean(0) - xh * (dxh * xh).mean(0)) / np.sqrt(var + 1e-5)
    del m, mu
    g["w2"] = (dc2.T @ cols2).reshape(16, 8, 3, 3)
    g["b2"] = dc2.sum(0)
    dp1 = _col2im(dc2 @ p["w2"].reshape(16, -1), p1.shape)
    da1 = _unpool(dp1, m1).transpose(0, 2, 3, 1).reshape(n * 64, 8)
    dc1 = da1 * (c1 > 0)
    g["w1"] = (dc1.T @ _im2col(x)).reshape(8, 1, 3, 3)
    g["b1"] = dc1.sum(0)
    return g


def train(x, y, rng):
    p = init(rng)
    mom = {k: np.zeros_like(v) for k, v in p.items()}
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    t = 0
    run_mu, run_var = np.zeros(16), np.ones(16)
    for _ in range(EPOCHS):
        order = rng.permutation(x.shape[0])
        for s in range(0, x.shape[0], BATCH):
            idx = order[s:s + BATCH]
            logits, cache = forward(p, x[idx])
            z = logits - logits.max(1, keepdims=True)
            prob = np.exp(z) / np.exp(z).sum(1, keepdims=True)
            prob[np.arange(idx.size), y[idx]] -= 1.0
            grads = backward(p, prob / idx.size, cache)
            t += 1
            for k in p:
                mom[k] = 0.9 * mom[k] + 0.1 * grads[k]
                vel[k] = 0.999 * vel[k] + 0.001 * grads[k] ** 2
                p[k] -= LR * (mom[k] / (1 - 0.9**t)) / (np.sqrt(vel[k] / (1 - 0.999**t)) + 1e-8)
            run_mu = 0.9 * run_mu + 0.1 * cache[6]
            run_var = 0.9 * run_var + 0.1 * cache[7]
    return p, (run_mu, run_var)


def to_onnx(p, stats, path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def init_(name, a):
        return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)

    inits = [init_(k, v) for k, v in p.items() if k not in ("g", "beta")]
    inits += [init_("bn_scale", p["g"]), init_("bn_bias", p["beta"]),
              init_("bn_mean", stats[0]), init_("bn_var", stats[1]),
              numpy_helper.from_array(np.array([-1, 64], dtype=np.int64), "flat_shape")]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c2", "bn_scale", "bn_bias", "bn_mean",
                                                "bn_var"], ["n2"], name="bn2", epsilon=1e-5),
        helper.make_node("Relu", ["n2"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Reshape", ["p2", "flat_shape"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], name="fc", transB=1),
    ]
    g = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 10])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="cimgen scripts/train_digits_cnn.py")
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "examples"))
    args = ap.parse_args(argv)
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(SEED)
    order = rng.permutation(d.data.shape[0])
    x = (d.data[order] / 16.0).reshape(-1, 1, 8, 8)
    y = d.target[order].astype(np.int64)
    keep = N_CAL + N_TEST
    train_x, train_y = x[keep:], y[keep:]          # the rest trains the network
    p, stats = train(np.concatenate([x[:N_CAL], train_x]),
                     np.concatenate([y[:N_CAL], train_y]), rng)
    logits, _ = forward(p, x[N_CAL:keep], stats)
    acc = float(np.mean(np.argmax(logits, 1) == y[N_CAL:keep]))
    out = Path(args.out)
    to_onnx(p, stats, out / "digits_cnn.onnx")
    np.savez_compressed(out / "digits_cnn.npz", x=x[:keep].astype(np.float32), y=y[:keep])
    print(f"test accuracy {100 * acc:.2f} % on {N_TEST} held-out images; wrote "
          f"{out / 'digits_cnn.onnx'} and {out / 'digits_cnn.npz'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
