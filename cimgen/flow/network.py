"""The network on golden macros, and the flow's accuracy sweep of it over chips."""

from __future__ import annotations

import os

import numpy as np

from ..metrics import FlowRun, NetworkRun
from ..progress import Progress
from ..workloads import NetworkContext, row_ids
from .grid import ARRAY_STRIDE, SCHEMES, SR_DESIGNS, scheme_adc, trial_seed

__all__ = ["CALIBRATION_ROWS", "calibration_rows", "run_network", "run_tasks"]

_CTX: NetworkContext | None = None


def _init_worker(ctx: NetworkContext, worker: bool = False) -> None:
    global _CTX
    _CTX = ctx
    if worker:  # Ctrl-C reaches the whole process group: the main process stops us
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_network(ctx: NetworkContext, spec, *, keep: bool = False) -> NetworkRun:
    """The workload of ``ctx`` on golden macros of ``spec``: every layer calibrated on
    the chip (on the calibration inputs as they pass through the chip's own earlier
    layers).

    Returns the test accuracy, the fraction of test inputs with any decoder/SR flag,
    each layer's RMS output error against the exact integer product (in % of the
    layer's largest exact output) and, with ``keep``, the per-layer tiled results
    and inputs (:attr:`NetworkRun.layers`).
    """
    from ..tiling import run_tiled

    if hasattr(ctx.workload, "forward"):
        return _run_graph(ctx, spec, keep)
    net, n = ctx.workload, ctx.n_cal
    x = net.quantize_input(ctx.inputs)
    flags = np.zeros(x.shape[0] - n, dtype=bool)
    rms, layers = [], []
    act = None
    for layer in range(net.n_layers):
        w = net.weights[layer]
        res = run_tiled(spec, w, x, calibrate_on=x[:n], vector_ids=ctx.ids,
                        calibrate_ids=ctx.ids[:n], array_id_base=layer * ARRAY_STRIDE,
                        keep=keep)
        exact = (x[n:] @ w).astype(np.float64)
        err = res.values[n:] - exact
        rms.append(float(100.0 * np.sqrt(np.mean(err**2)) / max(np.abs(exact).max(), 1.0)))
        flags |= res.flags[n:] != 0
        if keep:
            layers.append({"result": res, "x": x, "w_shape": w.shape})
        act = net.requantize(layer, res.values)
        if layer < net.n_layers - 1:
            x = net.to_next(layer, act)
    return NetworkRun(accuracy=net.accuracy(act[n:], ctx.labels),
                      flagged=float(np.mean(flags)), layer_rms_error_pct=rms, layers=layers)


CALIBRATION_ROWS = 4096
"""Most input rows a layer's ADCs are calibrated on (a Conv's im2col rows of the
calibration samples, evenly strided when there are more)."""


def calibration_rows(n: int) -> np.ndarray:
    """Indices of the rows, of the first ``n``, that calibrate: all of them up to
    :data:`CALIBRATION_ROWS`, else that many evenly strided (first and last included)."""
    if n <= CALIBRATION_ROWS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, CALIBRATION_ROWS).round().astype(np.int64))


def _run_graph(ctx: NetworkContext, spec, keep: bool) -> NetworkRun:
    """:func:`run_network` of a workload that drives its own layers (``forward``, e.g.
    an ONNX graph): every linear layer's input rows (a Conv's im2col rows, sample-major)
    on tiled macros calibrated on the calibration samples' rows (at most
    :data:`CALIBRATION_ROWS` of them); a row's read-noise key is ``sample_id *
    rows_per_sample + row``."""
    from ..tiling import run_tiled

    net, n = ctx.workload, ctx.n_cal
    n_all = ctx.inputs.shape[0]
    flags = np.zeros(n_all - n, dtype=bool)
    rms, layers = [], []

    def mvm(i: int, xi: np.ndarray, wi: np.ndarray) -> np.ndarray:
        nonlocal flags
        per = xi.shape[0] // n_all
        ids = row_ids(ctx.ids, per)
        c = n * per
        cal = calibration_rows(c)
        res = run_tiled(spec, wi, xi, calibrate_on=xi[cal], vector_ids=ids,
                        calibrate_ids=ids[cal], array_id_base=i * ARRAY_STRIDE, keep=keep)
        exact = (xi[c:] @ wi).astype(np.float64)
        err = res.values[c:] - exact
        rms.append(float(100.0 * np.sqrt(np.mean(err**2)) / max(np.abs(exact).max(), 1.0)))
        flags |= (res.flags.reshape(n_all, per) != 0).any(axis=1)[n:]
        if keep:
            layers.append({"result": res, "x": xi, "w_shape": wi.shape,
                           "rows_per_sample": per})
        return res.values

    out = net.forward(ctx.inputs, mvm)
    return NetworkRun(accuracy=net.accuracy(out[n:], ctx.labels),
                      flagged=float(np.mean(flags)), layer_rms_error_pct=rms, layers=layers)


def _task(spec_dict: dict, scheme: str, bits: int, variation: float, trial: int) -> dict:
    from golden.spec import MacroSpec

    base = MacroSpec.from_dict(spec_dict)
    adc = {"bits": bits, **scheme_adc(scheme, base)}
    spec = base.replace(adc=adc, device={"bound_variation_pct": variation,
                                         "seed": trial_seed(base.device.seed, trial)})
    point = {"scheme": scheme, "bits": bits, "variation_pct": variation, "trial": trial,
             "seed": spec.device.seed}
    return FlowRun.of(point, run_network(_CTX, spec)).row()


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run_tasks(ctx: NetworkContext, tasks: list[tuple], workers: int,
              progress: bool) -> list[dict]:
    """Run the sweep's tasks (in ``workers`` spawned processes); their
    :class:`~cimgen.metrics.FlowRun` rows, sorted by scheme and grid point."""
    bar = Progress("accuracy sweep", len(tasks), progress)
    rows = []
    try:
        if workers <= 1 or len(tasks) <= 1:
            _init_worker(ctx)
            for t in tasks:
                rows.append(_task(*t))
                bar.update()
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed
            from unittest import mock

            # One BLAS thread per worker (set while they spawn): the workers already use
            # every core.
            with mock.patch.dict(os.environ, dict.fromkeys(_BLAS_THREADS, "1")):
                pool = ProcessPoolExecutor(max_workers=workers,
                                           mp_context=mp.get_context("spawn"),
                                           initializer=_init_worker, initargs=(ctx, True))
            try:
                futs = [pool.submit(_task, *t) for t in tasks]
                for f in as_completed(futs):
                    rows.append(f.result())
                    bar.update()
            except BaseException:
                # Interrupted or failed: stop the workers now instead of letting the
                # pool finish every queued task first.
                for proc in list((pool._processes or {}).values()):
                    proc.terminate()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
    finally:
        bar.close()
    order = {s: i for i, s in enumerate(SCHEMES + SR_DESIGNS)}
    return sorted(rows, key=lambda r: (order.get(r["scheme"], len(order)), r["scheme"],
                                       r["bits"], r["variation_pct"], r["trial"]))
