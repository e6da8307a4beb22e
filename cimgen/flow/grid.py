"""What one flow run sweeps, its ADC schemes and the seeds of its chips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ARRAY_STRIDE", "RESULTS_FORMAT", "SCHEMES", "SCHEME_LABELS", "SR_DESIGNS",
           "SR_VARIATION_PCT", "FlowGrid", "adaptive_method", "scheme_adc", "sweep_tasks",
           "trial_seed"]

RESULTS_FORMAT = "cimgen-flow-results"
ARRAY_STRIDE = 1000
"""Layer ``l``'s tiles get ``array_id = l * ARRAY_STRIDE + tile``."""

SR_VARIATION_PCT = 2.0
"""Bound variation of the SR-recovery claim (and of the second MSE column)."""

SCHEMES = ("uniform", "adaptive", "adaptive+sr")
SCHEME_LABELS = {"uniform": "uniform ADC", "adaptive": "adaptive ADC",
                 "adaptive+sr": "adaptive + SR"}
SR_DESIGNS = ("sr-nominal", "sr-calibrated", "sr-interleaved", "sr-calibrated-per-column",
              "sr-calibrated-threshold-per-column")


@dataclass(frozen=True)
class FlowGrid:
    """What one flow run sweeps.

    Attributes
    ----------
    bits : tuple of int
        ADC resolutions of the accuracy table.
    variation_pct : tuple of float
        ``device.bound_variation_pct`` values.
    seeds : int
        Chips (trials) per grid point.
    n_cal : int
        Calibration images (from the training split).
    sr_design : bool
        Also measure the SR design alternatives at 4 bits (why the SR column is what it
        is).
    design_seeds : int
        Chips of the SR design table (0: ``seeds``).
    rtl_mvms : int
        Real MVMs checked on the RTL.
    """

    bits: tuple[int, ...]
    variation_pct: tuple[float, ...]
    seeds: int
    n_cal: int
    sr_design: bool
    rtl_mvms: int
    design_seeds: int = 0

    @classmethod
    def quick(cls) -> FlowGrid:
        return cls((3, 4), (0.0, 2.0), 6, 256, False, 200)

    @classmethod
    def full(cls) -> FlowGrid:
        return cls((3, 4, 5, 6), (0.0, 1.0, 2.0, 3.0), 6, 256, True, 1000)


def adaptive_method(spec) -> str:
    """The adaptive quantiser: the config's ``adc.method`` unless that is uniform."""
    return spec.adc.method if spec.adc.method != "uniform" else "lloyd-max"


def scheme_adc(scheme: str, spec) -> dict:
    """``[adc]`` overrides of a scheme (on top of the config).

    ``adaptive+sr`` is interleaved SR (ADC B's thresholds placed between ADC A's, so
    the pair is one ``2**(N+1) - 1``-level quantiser by design) on threshold Q-cells,
    with one LUT per physical column: the golden macro fits the SR table to the
    chip's own realised Q-cells, and a table can only undo a column's own variation if
    the column has its own table; with the ones-counter ``a + b`` is the exact count
    of both ADCs' realised thresholds below the input, so each entry is the centroid
    of one realised cell. The ``sr-*`` schemes are the alternatives of the SR design
    table (full flow) that this choice was measured against.
    """
    ad = adaptive_method(spec)
    return {
        "uniform": {"method": "uniform", "sr": "none"},
        "adaptive": {"method": ad, "sr": "none"},
        "adaptive+sr": {"method": ad, "sr": "interleaved", "encoding": "threshold",
                        "lut_scope": "per_column"},
        "sr-nominal": {"method": ad, "sr": "nominal"},
        "sr-calibrated": {"method": ad, "sr": "calibrated"},
        "sr-interleaved": {"method": ad, "sr": "interleaved"},
        "sr-calibrated-per-column": {"method": ad, "sr": "calibrated",
                                     "lut_scope": "per_column"},
        "sr-calibrated-threshold-per-column": {
            "method": ad, "sr": "calibrated", "encoding": "threshold",
            "lut_scope": "per_column"},
    }[scheme]


def trial_seed(base: int, trial: int) -> int:
    """Device seed of chip ``trial``: a function of (device.seed, trial) only, so every
    scheme, resolution and variation of one trial is measured on the same chip draws."""
    return int(np.random.SeedSequence([int(base), int(trial)]).generate_state(1, np.uint64)[0]
               >> np.uint64(1))



def sweep_tasks(spec_dict: dict, grid: FlowGrid) -> list[tuple]:
    """The accuracy sweep's tasks ``(spec_dict, scheme, bits, variation, trial)``: every
    scheme at every grid point on ``seeds`` chips, plus (full flow) the SR design
    alternatives at 4 bits on ``design_seeds`` chips."""
    sd = spec_dict
    tasks = [(sd, s, b, v, t) for s in SCHEMES for b in grid.bits
             for v in grid.variation_pct for t in range(grid.seeds)]
    if grid.sr_design and 4 in grid.bits:
        nd = grid.design_seeds or grid.seeds
        tasks += [(sd, s, 4, v, t) for s in SR_DESIGNS for v in (0.0, SR_VARIATION_PCT)
                  if v in grid.variation_pct for t in range(nd)]
        tasks += [(sd, s, 4, v, t) for s in ("adaptive", "adaptive+sr")
                  for v in (0.0, SR_VARIATION_PCT) if v in grid.variation_pct
                  for t in range(grid.seeds, nd)]
    return tasks
