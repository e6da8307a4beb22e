"""``cimgen flow``: the main job, from a real network to verified Verilog, with a report.

Steps (each prints a line with its wall time; long ones show a progress bar):

1. **Workload** (:mod:`cimgen.workloads`): the config's network (``[workload] name``;
   the digits MLP when it names none), trained with a fixed seed and quantised to the
   config's weight and input bits; each layer tiled over macros of the configured size
   (:mod:`cimgen.tiling`).
2. **ADC inputs and calibration**: the *reference chip* (the config as it is, seed
   ``device.seed``) runs the calibration inputs; per layer and LUT group the ADC inputs
   are pooled and calibrated with the uniform, Lloyd-Max and optimal quantisers and
   with SR nominal / calibrated / interleaved (:func:`golden.adc.calibrate_adc`, MSE at
   0 % and at 2 % bound variation). Calibrations of every tile are saved for
   ``cimgen program`` / ``cimgen verilog``; the INL/DNL of the realised ADCs measured
   with a ramp.
3. **Accuracy sweep**: held-out test accuracy of the whole network on golden macros for
   each scheme (uniform ADC, adaptive ADC, adaptive + SR) at every ADC resolution and
   bound variation of the grid, on several chips (seeds); each layer is calibrated on
   the chip itself with the calibration inputs passing through the chip's own earlier
   layers. Tasks are independent and seeded by (device.seed, trial) only, so the
   numbers do not depend on the number of worker processes.
4. **RTL**: the periphery Verilog of the configured macro with the reference chip's
   calibrated LUTs (layer 1, tile 0,0), and the cocotb bench run on the match vectors
   of that tile's real MVMs, compared with golden bit for bit.
5. **Synthesis** (``--synth``): the FPGA resource and timing report.
6. **Report**: ``report.md``, ``results.json``, PNG figures.

Everything is written into a temporary directory beside ``DIR`` and renamed into place
at the end; an existing non-empty ``DIR`` is replaced only with ``--force``.

Modules: :mod:`.grid` (what is swept, schemes, seeds), :mod:`.network` (the network on
golden macros, the sweep's worker pool), :mod:`.studies` (step 2), :mod:`.claims`,
:mod:`.hardware` (steps 4 and 5), :mod:`.steps` (:func:`run_flow`), :mod:`.cli`.
"""

from __future__ import annotations

from ..workloads import NetworkContext
from .claims import check_claims, sr_design_table, summarise
from .cli import add_parser, run
from .grid import (
    ARRAY_STRIDE,
    RESULTS_FORMAT,
    SCHEME_LABELS,
    SCHEMES,
    SR_DESIGNS,
    SR_VARIATION_PCT,
    FlowGrid,
    adaptive_method,
    scheme_adc,
    trial_seed,
)
from .hardware import run_rtl_check, run_synth_report
from .network import run_network
from .steps import FlowState, run_flow
from .studies import adc_study, linearity_study

__all__ = ["ARRAY_STRIDE", "RESULTS_FORMAT", "SCHEMES", "SCHEME_LABELS", "SR_DESIGNS",
           "SR_VARIATION_PCT", "FlowGrid", "FlowState", "NetworkContext", "adaptive_method",
           "adc_study", "add_parser", "check_claims", "linearity_study", "run", "run_flow",
           "run_network", "run_rtl_check", "run_synth_report", "scheme_adc",
           "sr_design_table", "summarise", "trial_seed"]
