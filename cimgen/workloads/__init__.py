"""Networks that ``cimgen flow`` and ``cimgen sweep`` evaluate on golden macros.

A workload is a class registered under the name ``[workload] name`` gives it
(:func:`register`). The class carries what is known without building it (the most
inputs it has, which configs it can run on); :meth:`Workload.build` trains and
quantises it for one config. The flow and the sweep only use the :class:`Workload`
interface, so a new network is one module here (plus its name among the allowed
values of ``WorkloadSpec.name`` in :mod:`golden.spec`).

:class:`NetworkContext` is one built workload with the inputs a network run uses
(calibration inputs, then the held-out test inputs): what is sent to every worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from ..errors import InputError

__all__ = ["FLOW_DEFAULT", "REGISTRY", "NetworkContext", "Workload", "flow_workload", "get",
           "register", "row_ids", "sweep_workload"]


class Workload(Protocol):
    """A network that runs layer by layer on golden macros.

    Class-level members (known before building)
    -------------------------------------------
    name : str
        Its ``[workload] name``.
    title : str
        How figures name it (``"Digits MLP"``).
    max_vectors : int
        Inputs it has in all (the largest ``--rtl-mvms``); ``vectors_note`` says why.
    check(spec)
        Raise :class:`~cimgen.errors.InputError` if it cannot run on ``spec`` (e.g. its
        inputs do not fit ``spec.macro.input_range``).
    build(spec)
        The workload, trained and quantised to ``spec``'s weight and input bits.
    report_text(results)
        The report's paragraph about it, from ``results.json`` alone.

    Instance members (what :func:`cimgen.flow.run_network` uses)
    -------------------------------------------------------------
    n_layers, weights
        Integer weights ``W_int`` per layer, shape (in, out), in ``spec``'s range.
    quantize_input(raw) -> ndarray of int64
        Raw inputs to the first layer's integer inputs.
    requantize(layer, acc) -> ndarray
        A layer's product (real units of ``x_int @ W_int``) to its real activation.
    to_next(layer, act) -> ndarray of int64
        A real activation to the next layer's integer inputs.
    accuracy(outputs, labels) -> float
        Score of the last layer's activations.
    calibration_inputs(n), test_set(), all_inputs()
        Raw inputs and their read-noise ids (and the test labels).
    baselines() -> dict
        ``float_baseline`` and ``integer_ideal`` (exact products) test accuracy.
    describe(n_cal, tiles) -> dict
        The ``workload`` section of ``results.json``.
    summary() -> str
        One line for the flow's log.
    arrays() -> dict
        What ``network.npz`` holds.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    max_vectors: ClassVar[int]
    vectors_note: ClassVar[str]

    @classmethod
    def check(cls, spec) -> None: ...
    @classmethod
    def build(cls, spec) -> Workload: ...
    @classmethod
    def report_text(cls, results: dict) -> str: ...

    @property
    def n_layers(self) -> int: ...
    @property
    def weights(self) -> Sequence[np.ndarray]: ...
    def quantize_input(self, raw: np.ndarray) -> np.ndarray: ...
    def requantize(self, layer: int, acc: np.ndarray) -> np.ndarray: ...
    def to_next(self, layer: int, act: np.ndarray) -> np.ndarray: ...
    def accuracy(self, outputs: np.ndarray, labels: np.ndarray) -> float: ...
    def calibration_inputs(self, n: int) -> tuple[np.ndarray, np.ndarray]: ...
    def test_set(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
    def all_inputs(self) -> tuple[np.ndarray, np.ndarray]: ...
    def baselines(self) -> dict: ...
    def describe(self, n_cal: int, tiles: list) -> dict: ...
    def summary(self) -> str: ...
    def arrays(self) -> dict: ...


def row_ids(ids: np.ndarray, per: int) -> np.ndarray:
    """Read-noise keys of the ``per`` input rows each sample gives a layer (a Conv's
    output pixels, sample-major): ``id * per + row``; ``ids`` itself for ``per = 1``."""
    ids = np.asarray(ids, dtype=np.int64)
    return ids if per == 1 else (ids[:, None] * per + np.arange(per)).ravel()


REGISTRY: dict[str, type[Workload]] = {}
"""Workload classes by ``[workload] name``."""

FLOW_DEFAULT = "digits"
"""What ``cimgen flow`` runs when the config names no workload (``name = "none"``)."""


def register(cls: type[Workload]) -> type[Workload]:
    """Class decorator: make ``cls`` the workload of ``[workload] name = cls.name``."""
    REGISTRY[cls.name] = cls
    return cls


def get(name: str) -> type[Workload]:
    """The workload class registered as ``name``.

    Raises
    ------
    InputError
        No workload of that name.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"workload.name = {name!r}: no such workload; allowed: "
                         + ", ".join(repr(n) for n in sorted(REGISTRY))) from None


def flow_workload(spec) -> type[Workload]:
    """The workload ``cimgen flow`` runs: the config's, or :data:`FLOW_DEFAULT`."""
    name = spec.workload.name
    return get(FLOW_DEFAULT if name == "none" else name)


def sweep_workload(spec) -> type[Workload] | None:
    """The workload ``cimgen sweep`` adds to every task: the config's, if any."""
    return None if spec.workload.name == "none" else get(spec.workload.name)


@dataclass(frozen=True, eq=False)
class NetworkContext:
    """A built workload and the inputs a network run goes through (sent once to each
    worker process).

    Attributes
    ----------
    workload : Workload
    inputs : ndarray
        Raw calibration inputs, then the raw test inputs.
    ids : ndarray of int64
        Their read-noise keys.
    labels : ndarray
        The test labels.
    n_cal : int
        Calibration inputs (the first ``n_cal`` of ``inputs``).
    """

    workload: Workload
    inputs: np.ndarray
    ids: np.ndarray
    labels: np.ndarray
    n_cal: int

    @classmethod
    def of(cls, workload: Workload, n_cal: int) -> NetworkContext:
        """``workload`` with its first ``n_cal`` calibration inputs (fewer if it has
        fewer) and its test set."""
        x_cal, id_cal = workload.calibration_inputs(n_cal)
        x_test, id_test, labels = workload.test_set()
        return cls(workload, np.concatenate([x_cal, x_test]),
                   np.concatenate([id_cal, id_test]), labels, int(x_cal.shape[0]))


from . import digits, onnx_net  # noqa: E402, F401  (register themselves)
