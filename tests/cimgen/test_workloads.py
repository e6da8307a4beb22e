"""cimgen.workloads: the registry, and a toy workload added through it alone (no flow
code touched) run by the flow's network evaluation and by ``run_flow``, checked against
an integer reference computed here with numpy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from cimgen import flow, workloads
from cimgen.errors import InputError
from cimgen.workloads import NetworkContext
from golden.spec import MacroSpec

N_IN, N_HID, N_OUT = 20, 12, 4
N_CAL, N_TEST = 48, 96
TOY_SEED = 7


@dataclass(frozen=True, eq=False)
class ToyWorkload:
    """A 2-layer random integer network: inputs and weights drawn from ``TOY_SEED``,
    the hidden layer ReLU'd and rescaled by a power of two; labels are the argmax of
    the float network (hidden layer unquantised), so the integer network is not
    perfect."""

    name: ClassVar[str] = "toy"
    title: ClassVar[str] = "Toy MLP"
    max_vectors: ClassVar[int] = N_CAL + N_TEST
    vectors_note: ClassVar[str] = f"the toy set has {N_CAL + N_TEST} inputs"

    w: tuple
    x: np.ndarray
    labels: np.ndarray
    shift: int
    xmax: int

    @classmethod
    def check(cls, spec) -> None:
        if spec.macro.input_signed:
            raise InputError("macro.input_signed = true: the toy's inputs are unsigned; "
                             "allowed: false")

    @classmethod
    def build(cls, spec) -> ToyWorkload:
        rng = np.random.default_rng(TOY_SEED)
        lo, hi = spec.macro.weight_range
        xmax = spec.macro.input_range[1]
        w1 = rng.integers(lo, hi + 1, (N_IN, N_HID))
        w2 = rng.integers(lo, hi + 1, (N_HID, N_OUT))
        x = rng.integers(0, xmax + 1, (N_CAL + N_TEST, N_IN))
        h = np.maximum(x @ w1, 0)
        shift = max(int(np.ceil(np.log2(max(h.max(), 1) / xmax))), 0)
        labels = np.argmax((h / 2.0**shift) @ w2, axis=1)
        return cls((w1, w2), x, labels, shift, xmax)

    @classmethod
    def report_text(cls, results) -> str:
        return f"Workload: {results['workload']['dataset']}."

    n_layers = 2

    @property
    def weights(self):
        return self.w

    def quantize_input(self, raw):
        return np.asarray(raw, dtype=np.int64)

    def requantize(self, layer, acc):
        return np.asarray(acc, dtype=np.float64)

    def to_next(self, layer, act):
        return np.clip(np.rint(np.maximum(act, 0.0) / 2.0**self.shift), 0,
                       self.xmax).astype(np.int64)

    def accuracy(self, outputs, labels):
        return float(np.mean(np.argmax(outputs, axis=1) == labels))

    def calibration_inputs(self, n):
        # From every input (test ones included): on the exact chip below, a lossless
        # calibration that has seen every partial sum makes the chip exact.
        n = min(n, self.x.shape[0])
        return self.x[:n], np.arange(n)

    def test_set(self):
        return self.x[N_CAL:], np.arange(N_CAL, N_CAL + N_TEST), self.labels[N_CAL:]

    def all_inputs(self):
        return self.x, np.arange(self.x.shape[0])

    def baselines(self):
        return {"float_baseline": 1.0,
                "integer_ideal": _reference_accuracy(self.w, self.x[N_CAL:], self.shift,
                                                     self.xmax, self.labels[N_CAL:])}

    def describe(self, n_cal, tiles):
        return {"dataset": f"toy random network (seed {TOY_SEED})", "n_train": N_CAL,
                "n_test": N_TEST, "n_cal": n_cal,
                "layers": [list(w.shape) for w in self.w], "tiles": [list(t) for t in tiles]}

    def summary(self):
        return f"toy {N_IN} -> {N_HID} -> {N_OUT}"

    def arrays(self):
        return {"w1": self.w[0], "w2": self.w[1]}


def _reference_accuracy(w, x, shift, xmax, labels) -> float:
    """The integer network written out: two exact products, ReLU, shift, clip."""
    h = np.clip(np.rint(np.maximum(x @ w[0], 0) / 2.0**shift), 0, xmax)
    return float(np.mean(np.argmax(h @ w[1], axis=1) == labels))


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(workloads.REGISTRY, "toy", ToyWorkload)
    return workloads.get("toy")


# An exact chip: no programming spread, read noise or bound variation, and an 8-bit ADC
# with more levels than a 16-row column has partial sums (the calibration is lossless).
EXACT = MacroSpec().replace(macro={"rows": 16, "cols": 8},
                            adc={"bits": 8},
                            device={"program_sigma": "none", "read_sigma_us": 0.0})


def test_registry_names_and_defaults():
    assert workloads.get("digits").name == "digits"
    assert workloads.flow_workload(MacroSpec()) is workloads.get(workloads.FLOW_DEFAULT)
    assert workloads.sweep_workload(MacroSpec()) is None
    with pytest.raises(InputError, match=r"workload.name = 'nope'.*allowed: .*'digits'"):
        workloads.get("nope")


def test_toy_on_an_exact_chip_is_the_integer_network(toy):
    wl = toy.build(EXACT)
    ctx = NetworkContext.of(wl, 1000)
    assert ctx.n_cal == N_CAL + N_TEST and ctx.inputs.shape == (N_CAL + 2 * N_TEST, N_IN)
    run = flow.run_network(ctx, EXACT, keep=True)
    assert run.layer_rms_error_pct == [0.0, 0.0]
    ref = _reference_accuracy(wl.w, wl.x[N_CAL:], wl.shift, wl.xmax, wl.labels[N_CAL:])
    assert 0.3 < ref < 1.0  # the reference is neither trivial nor perfect
    assert run.accuracy == ref
    # layer 2's inputs are the reference's hidden layer, image for image
    h = np.clip(np.rint(np.maximum(wl.x @ wl.w[0], 0) / 2.0**wl.shift), 0, wl.xmax)
    np.testing.assert_array_equal(run.layers[1]["x"][ctx.n_cal:], h[N_CAL:])
    assert [lay["result"].raw.shape for lay in run.layers] == [(240, N_HID), (240, N_OUT)]


def test_toy_on_a_real_chip_loses_little(toy):
    spec = EXACT.replace(adc={"bits": 4}, device={"program_sigma": "readc-fig3c",
                                                  "read_sigma_us": 0.2})
    wl = toy.build(spec)
    run = flow.run_network(NetworkContext.of(wl, N_CAL), spec)
    assert all(0 < e < 20 for e in run.layer_rms_error_pct), run.layer_rms_error_pct
    assert abs(run.accuracy - wl.baselines()["integer_ideal"]) < 0.25


def test_toy_runs_the_whole_flow(toy, tmp_path):
    grid = flow.FlowGrid(bits=(4,), variation_pct=(0.0, 2.0), seeds=2, n_cal=32,
                         sr_design=False, rtl_mvms=8)
    res = flow.run_flow(MacroSpec(), tmp_path / "toy", grid=grid, rtl=False,
                        workers=1, progress=False, workload="toy")
    wl = toy.build(MacroSpec())
    ref = _reference_accuracy(wl.w, wl.x[N_CAL:], wl.shift, wl.xmax, wl.labels[N_CAL:])
    assert res["accuracy"]["integer_ideal"] == ref
    assert res["workload"]["layers"] == [[N_IN, N_HID], [N_HID, N_OUT]]
    assert res["workload"]["tiles"] == [[1, 2], [1, 1]] and res["workload"]["n_cal"] == 32
    assert len(res["accuracy"]["runs"]) == 3 * 1 * 2 * 2
    assert res["rtl"]["golden_self_check"]["mvms"] == 8
    assert res["rtl"]["golden_self_check"]["out_mismatches"] == 0
    out = tmp_path / "toy"
    assert json.loads((out / "results.json").read_text())["workload"]["dataset"].startswith("toy")
    assert "Workload: toy random network" in (out / "report.md").read_text()
    with np.load(out / "network.npz") as z:
        np.testing.assert_array_equal(z["w2"], wl.w[1])


def test_toy_refuses_signed_inputs_before_writing(toy, tmp_path):
    grid = flow.FlowGrid.quick()
    with pytest.raises(InputError, match="toy's inputs are unsigned"):
        flow.run_flow(EXACT.replace(macro={"input_signed": True}), tmp_path / "o", grid=grid,
                      workload="toy")
    assert not (tmp_path / "o").exists()
