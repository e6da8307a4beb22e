"""The ``digits`` workload: an MLP digit classifier, trained and quantised here.

The data are scikit-learn's bundled handwritten digits (``load_digits``: 1797 images of
8 x 8 pixels with values 0..16, UCI; shipped inside the package, no download). A
64-``hidden``-10 ReLU network is trained in numpy (Adam, cross-entropy, fixed seed,
about a second), then quantised for the macro:

* weights: per layer, symmetric, ``W_int = clip(round(W / s_w), -2**(wb-1), 2**(wb-1)-1)``
  with ``s_w`` chosen among clipping scales by the least weight MSE;
* inputs: the pixels ``0..16`` mapped onto the unsigned input range,
  ``x_int = round(pixel * xmax / 16)``;
* hidden activations: unsigned after the ReLU, ``h_int = clip(round(h / s_h), 0, xmax)``
  with ``s_h`` a high percentile of the training activations over ``xmax``.

Each layer's integer product ``x_int @ W_int`` is what the macro computes; the biases and
scales stay digital, in float (:meth:`QuantNet.forward`). The float network is the
software baseline, the integer network with exact products the ideal-ADC reference.
:class:`DigitsWorkload` is the registered :class:`cimgen.workloads.Workload`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from golden.spec import MacroSpec

from ..errors import InputError
from . import register

__all__ = ["Digits", "DigitsWorkload", "FloatNet", "QuantNet", "load_digits", "quantize_net",
           "train_mlp"]

WORKLOAD_SEED = 0
"""Seed of the data split and of the training (part of the bundled example)."""

PIXEL_MAX = 16
N_IMAGES = 1797
"""Images of scikit-learn's digits data set (training and test split together)."""


@dataclass(frozen=True, eq=False)
class Digits:
    """The digits split into training and held-out test images.

    Attributes
    ----------
    x_train, x_test : ndarray of float64, shape (n, 64)
        Pixels 0..16.
    y_train, y_test : ndarray of int64
        Labels 0..9.
    id_train, id_test : ndarray of int64
        Each image's index in the data set (read-noise keys of the golden macro).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    id_train: np.ndarray
    id_test: np.ndarray


def load_digits(n_test: int = 597, seed: int = WORKLOAD_SEED) -> Digits:
    """scikit-learn's digits, shuffled with ``seed`` and split; the last ``n_test`` are held out.

    Raises
    ------
    ImportError
        scikit-learn is not installed.
    """
    from sklearn.datasets import load_digits as _load

    d = _load()
    x = np.asarray(d.data, dtype=np.float64)
    y = np.asarray(d.target, dtype=np.int64)
    perm = np.random.default_rng(seed).permutation(x.shape[0])
    tr, te = perm[:-n_test], perm[-n_test:]
    return Digits(x[tr], y[tr], x[te], y[te], tr.astype(np.int64), te.astype(np.int64))


@dataclass(frozen=True, eq=False)
class FloatNet:
    """A float MLP: ``weights[l]`` (in, out), ``biases[l]`` (out,), ReLU between layers.

    Inputs are pixels / 16.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        h = np.asarray(pixels, dtype=np.float64) / PIXEL_MAX
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return h

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        return np.argmax(self.logits(pixels), axis=1)


def train_mlp(digits: Digits, hidden: int = 64, *, epochs: int = 60, batch: int = 64,
              lr: float = 3e-3, weight_decay: float = 1e-4,
              seed: int = WORKLOAD_SEED) -> FloatNet:
    """Train a 64-``hidden``-10 ReLU MLP with Adam on the training images.

    He-normal initialisation, softmax cross-entropy, L2 weight decay; every random draw
    (initialisation, mini-batch order) from ``np.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    x = digits.x_train / PIXEL_MAX
    y = digits.y_train
    sizes = (x.shape[1], hidden, 10)
    params = []
    for a, b in itertools.pairwise(sizes):
        params += [rng.normal(0.0, np.sqrt(2.0 / a), (a, b)), np.zeros(b)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    step = 0
    onehot = np.eye(10)[y]
    for _ in range(epochs):
        order = rng.permutation(x.shape[0])
        for lo in range(0, x.shape[0], batch):
            idx = order[lo:lo + batch]
            xb, tb = x[idx], onehot[idx]
            w1, c1, w2, c2 = params
            z1 = xb @ w1 + c1
            h1 = np.maximum(z1, 0.0)
            z2 = h1 @ w2 + c2
            z2 -= z2.max(axis=1, keepdims=True)
            p = np.exp(z2)
            p /= p.sum(axis=1, keepdims=True)
            g2 = (p - tb) / idx.size
            gw2 = h1.T @ g2 + weight_decay * w2
            gh1 = (g2 @ w2.T) * (z1 > 0)
            gw1 = xb.T @ gh1 + weight_decay * w1
            grads = [gw1, gh1.sum(axis=0), gw2, g2.sum(axis=0)]
            step += 1
            for i, g in enumerate(grads):
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                mh = m[i] / (1 - b1**step)
                vh = v[i] / (1 - b2**step)
                params[i] = params[i] - lr * mh / (np.sqrt(vh) + eps)
    return FloatNet((params[0], params[2]), (params[1], params[3]))


def _weight_scale(w: np.ndarray, wb: int) -> float:
    """Symmetric scale with the least weight MSE among clipping fractions of max|W|."""
    qmax = (1 << (wb - 1)) - 1
    qmin = -(1 << (wb - 1))
    top = float(np.max(np.abs(w)))
    best, best_err = top / max(qmax, 1), np.inf
    for frac in np.linspace(0.3, 1.0, 71):
        s = frac * top / max(qmax, 1)
        err = float(np.mean((np.clip(np.round(w / s), qmin, qmax) * s - w) ** 2))
        if err < best_err - 1e-15:
            best, best_err = s, err
    return best


@dataclass(frozen=True, eq=False)
class QuantNet:
    """The integer network the macros run.

    Attributes
    ----------
    weights : tuple of ndarray of int64
        ``W_int`` per layer, shape (in, out), in ``spec.macro.weight_range``.
    w_scales : tuple of float
        ``W ~= W_int * w_scale``.
    biases : tuple of ndarray of float64
    in_scales : tuple of float
        Real value of one input LSB of each layer: ``16 / xmax / 16`` for the pixels
        (inputs are pixels / 16), ``s_h`` for the hidden layer.
    xmax : int
        Largest unsigned input, ``2**input_bits - 1``.
    """

    weights: tuple[np.ndarray, ...]
    w_scales: tuple[float, ...]
    biases: tuple[np.ndarray, ...]
    in_scales: tuple[float, ...]
    xmax: int

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def quantize_input(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels 0..16 -> unsigned integers 0..xmax."""
        return np.rint(np.asarray(pixels, dtype=np.float64) * self.xmax / PIXEL_MAX) \
            .astype(np.int64)

    def requantize(self, layer: int, acc: np.ndarray) -> np.ndarray:
        """Layer output (the macro's real-valued product) -> real activation (with bias)."""
        return acc * (self.in_scales[layer] * self.w_scales[layer]) + self.biases[layer]

    def to_next(self, layer: int, act: np.ndarray) -> np.ndarray:
        """ReLU and quantise a hidden activation to the next layer's integer inputs."""
        h = np.maximum(act, 0.0) / self.in_scales[layer + 1]
        return np.clip(np.rint(h), 0, self.xmax).astype(np.int64)

    def forward(self, pixels: np.ndarray,
                mvm: Callable[[int, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """Logits; ``mvm(layer, x_int) -> x_int @ W_int`` (real units) runs each layer.

        The default ``mvm`` is the exact integer product (the ideal-ADC network).
        """
        if mvm is None:
            def mvm(layer, xi):
                return (xi @ self.weights[layer]).astype(np.float64)
        x = self.quantize_input(pixels)
        for layer in range(self.n_layers):
            act = self.requantize(layer, mvm(layer, x))
            if layer == self.n_layers - 1:
                return act
            x = self.to_next(layer, act)
        raise AssertionError("unreachable")

    def predict(self, pixels: np.ndarray, mvm=None) -> np.ndarray:
        return np.argmax(self.forward(pixels, mvm), axis=1)


def quantize_net(net: FloatNet, digits: Digits, spec: MacroSpec, *,
                 act_percentile: float = 99.9) -> QuantNet:
    """Quantise ``net`` to the macro's weight and (unsigned) input bits.

    Raises
    ------
    ValueError
        With ``macro.input_signed`` (the activations after a ReLU and the pixels are
        unsigned; the flow needs unsigned inputs).
    """
    m = spec.macro
    if m.input_signed:
        raise ValueError("macro.input_signed = true: the digit network's inputs are "
                         "unsigned; allowed: false")
    xmax = (1 << m.input_bits) - 1
    ws, ss = [], []
    for w in net.weights:
        s = _weight_scale(w, m.weight_bits)
        lo, hi = m.weight_range
        ws.append(np.clip(np.rint(w / s), lo, hi).astype(np.int64))
        ss.append(s)
    in_scales = [1.0 / xmax]
    h = digits.x_train / PIXEL_MAX
    for i in range(len(net.weights) - 1):
        h = np.maximum(h @ net.weights[i] + net.biases[i], 0.0)
        top = float(np.percentile(h[h > 0], act_percentile)) if np.any(h > 0) else 1.0
        in_scales.append(top / xmax)
    return QuantNet(tuple(ws), tuple(ss), tuple(np.asarray(b, dtype=np.float64)
                                                for b in net.biases),
                    tuple(in_scales), xmax)


@register
@dataclass(frozen=True, eq=False)
class DigitsWorkload:
    """The digits MLP as a :class:`cimgen.workloads.Workload`: the split, the float
    network and its quantisation to one config."""

    name: ClassVar[str] = "digits"
    title: ClassVar[str] = "Digits MLP"
    max_vectors: ClassVar[int] = N_IMAGES
    vectors_note: ClassVar[str] = f"the digits data set has {N_IMAGES} images"

    digits: Digits
    float_net: FloatNet
    net: QuantNet

    @classmethod
    def check(cls, spec: MacroSpec) -> None:
        """Pixels and ReLU activations are unsigned: signed inputs are refused; the data
        set needs scikit-learn."""
        if spec.macro.input_signed:
            raise InputError("macro.input_signed = true: the digit network's inputs (pixels "
                             "and ReLU activations) are unsigned; allowed: false")
        try:
            import sklearn  # noqa: F401
        except ImportError as e:
            raise InputError(f"workload 'digits' needs scikit-learn ({e}); install it with "
                             "pip") from None

    @classmethod
    def build(cls, spec: MacroSpec) -> DigitsWorkload:
        cls.check(spec)
        digits = load_digits()
        fnet = train_mlp(digits)
        return cls(digits, fnet, quantize_net(fnet, digits, spec))

    @classmethod
    def report_text(cls, results: dict) -> str:
        w, m = results["workload"], results["config"]["macro"]
        return (f"Workload: {w['dataset']}, MLP {' -> '.join(str(s[0]) for s in w['layers'])}"
                f" -> {w['layers'][-1][1]} (ReLU), trained in numpy with seed {w['seed']} on "
                f"{w['n_train']} images, tested on {w['n_test']} held-out images; weights "
                f"quantised per layer (symmetric), pixels 0..{PIXEL_MAX} and ReLU activations "
                f"to {m['input_bits']}-bit unsigned inputs.")

    @property
    def n_layers(self) -> int:
        return self.net.n_layers

    @property
    def weights(self) -> tuple[np.ndarray, ...]:
        return self.net.weights

    def quantize_input(self, raw: np.ndarray) -> np.ndarray:
        return self.net.quantize_input(raw)

    def requantize(self, layer: int, acc: np.ndarray) -> np.ndarray:
        return self.net.requantize(layer, acc)

    def to_next(self, layer: int, act: np.ndarray) -> np.ndarray:
        return self.net.to_next(layer, act)

    def accuracy(self, outputs: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(np.argmax(outputs, axis=1) == labels))

    def calibration_inputs(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The first ``n`` training images (all of them if ``n`` is larger)."""
        return self.digits.x_train[:n], self.digits.id_train[:n]

    def test_set(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = self.digits
        return d.x_test, d.id_test, d.y_test

    def all_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """Training then test images."""
        d = self.digits
        return np.concatenate([d.x_train, d.x_test]), np.concatenate([d.id_train, d.id_test])

    def baselines(self) -> dict:
        d = self.digits
        return {"float_baseline": float(np.mean(self.float_net.predict(d.x_test) == d.y_test)),
                "integer_ideal": float(np.mean(self.net.predict(d.x_test) == d.y_test))}

    def describe(self, n_cal: int, tiles: list) -> dict:
        d, net = self.digits, self.net
        return {"dataset": f"scikit-learn load_digits (8x8, pixels 0..{PIXEL_MAX})",
                "n_train": int(d.x_train.shape[0]), "n_test": int(d.x_test.shape[0]),
                "n_cal": n_cal, "layers": [list(w.shape) for w in net.weights],
                "tiles": [list(t) for t in tiles], "seed": WORKLOAD_SEED,
                "w_scales": list(net.w_scales), "in_scales": list(net.in_scales)}

    def summary(self) -> str:
        ws = self.net.weights
        shapes = " -> ".join([str(w.shape[0]) for w in ws] + [str(ws[-1].shape[1])])
        return (f"digits MLP {shapes}, {self.digits.x_train.shape[0]} training / "
                f"{self.digits.x_test.shape[0]} test images")

    def arrays(self) -> dict:
        net = self.net
        return {**{f"w{i + 1}": w for i, w in enumerate(net.weights)},
                **{f"b{i + 1}": b for i, b in enumerate(net.biases)},
                "w_scales": np.array(net.w_scales), "in_scales": np.array(net.in_scales)}
