"""cimgen.workloads.digits: the digits split, the numpy MLP and its quantisation."""

import numpy as np
import pytest

from cimgen.workloads import digits as workload
from golden.spec import MacroSpec

pytest.importorskip("sklearn", reason="scikit-learn provides the digits data set")

SPEC = MacroSpec()


@pytest.fixture(scope="module")
def digits():
    return workload.load_digits()


@pytest.fixture(scope="module")
def nets(digits):
    net = workload.train_mlp(digits)
    return net, workload.quantize_net(net, digits, SPEC)


def test_split_is_disjoint_and_seeded(digits):
    assert digits.x_train.shape == (1200, 64) and digits.x_test.shape == (597, 64)
    assert not set(digits.id_train) & set(digits.id_test)
    assert digits.x_train.min() == 0 and digits.x_train.max() == 16
    again = workload.load_digits()
    np.testing.assert_array_equal(again.id_test, digits.id_test)
    other = workload.load_digits(seed=1)
    assert not np.array_equal(other.id_test, digits.id_test)


def test_training_is_reproducible_and_accurate(digits, nets):
    net, _ = nets
    again = workload.train_mlp(digits)
    for a, b in zip(net.weights + net.biases, again.weights + again.biases, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.mean(net.predict(digits.x_test) == digits.y_test) > 0.96


def test_quantised_network_fits_the_macro(digits, nets):
    net, q = nets
    lo, hi = SPEC.macro.weight_range
    for w, wf in zip(q.weights, net.weights, strict=True):
        assert w.dtype == np.int64 and w.shape == wf.shape
        assert w.min() >= lo and w.max() <= hi
    x = q.quantize_input(digits.x_test)
    assert x.min() >= 0 and x.max() <= 15
    h = q.to_next(0, q.requantize(0, (x @ q.weights[0]).astype(float)))
    assert h.min() >= 0 and h.max() <= 15 and h.dtype == np.int64


def test_integer_network_close_to_float(digits, nets):
    net, q = nets
    acc_f = np.mean(net.predict(digits.x_test) == digits.y_test)
    acc_q = np.mean(q.predict(digits.x_test) == digits.y_test)
    assert acc_q > acc_f - 0.02


def test_forward_takes_any_mvm(digits, nets):
    _, q = nets
    seen = []

    def exact(layer, xi):
        seen.append(layer)
        return (xi @ q.weights[layer]).astype(float)

    np.testing.assert_array_equal(q.forward(digits.x_test[:30], exact),
                                  q.forward(digits.x_test[:30]))
    assert seen == [0, 1]


def test_weight_scale_beats_max_scaling(nets):
    net, _ = nets
    w = net.weights[0]
    s = workload._weight_scale(w, 4)
    naive = np.abs(w).max() / 7

    def err(scale):
        return np.mean((np.clip(np.rint(w / scale), -8, 7) * scale - w) ** 2)

    assert err(s) <= err(naive)


def test_signed_inputs_are_refused(digits, nets):
    net, _ = nets
    signed = MacroSpec.from_dict({"macro": {"input_signed": True}})
    with pytest.raises(ValueError, match=r"macro\.input_signed = true"):
        workload.quantize_net(net, digits, signed)
