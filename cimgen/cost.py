"""``cimgen cost``: energy, area and latency of a macro config, per component and ADC kind."""

from __future__ import annotations

from golden.cost_spec import ADC_KINDS

from .errors import InputError

__all__ = ["add_parser", "run"]

_KINDS = tuple(k for k in ADC_KINDS if k != "custom")  # the presets shown side by side


def add_parser(sub, parser_class=None) -> None:
    """Register the subcommand on an argparse subparsers object."""
    p = sub.add_parser(
        "cost",
        help="energy, area and latency of a macro: per component, per MVM, TOPS/W",
        description=(
            "Cost the golden macro of CONFIG on a batch of inputs (default: 64 uniform "
            "random vectors and uniform random weights drawn from device.seed): energy, "
            "area and latency per component, TOPS/W and TOPS/mm2, beside the same design "
            "with the other ADC kinds. With --workload NAME, one inference of that network "
            "instead, per layer and in total. The [cost] section of CONFIG sets node, "
            "V_read, pulse, ADC kind and overrides."
        ),
    )
    p.add_argument("config", metavar="CONFIG", help="macro config (TOML), with optional [cost]")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--inputs", metavar="X.npy", help="integer inputs, shape (batch, rows)")
    src.add_argument("--workload", metavar="NAME",
                     help="cost one inference of a registered network (e.g. digits) on the "
                          "golden macros of CONFIG, every layer and tile with the inputs it "
                          "really sees; --inputs/--weights do not apply")
    p.add_argument("--weights", metavar="W.npy", help="integer weights, shape (rows, cols)")
    p.add_argument("--calibration", metavar="FILE",
                   help="macro calibration (cimgen mvm --save-calibration, the flow's "
                        "calibration/layer<N>.json): its LUTs and boundaries set the match "
                        "vectors and LUT words whose toggles cost the digital periphery "
                        "(default: the macro calibrated on the inputs themselves)")
    p.add_argument("--tile", metavar="R,C", help="tile of a multi-tile --calibration file")
    p.add_argument("--adc", choices=_KINDS, help="ADC kind (overrides cost.adc)")
    p.add_argument("--json", metavar="OUT", help="write the costs as JSON (a new file)")
    p.set_defaults(func=run)


def _load(path: str):
    """The macro spec of CONFIG and its ``[cost]`` section (``spec.cost``)."""
    from .config import load_config

    spec = load_config(path)
    return spec, spec.cost


def _operands(args, spec):
    import numpy as np

    from .mvm import check_range, load_int_matrix

    m = spec.macro
    rng = np.random.default_rng(spec.device.seed)
    if args.weights:
        w = load_int_matrix(args.weights, "W", "--weights")
        if w.shape != (m.rows, m.cols):
            raise InputError(f"--weights {args.weights!r}: shape {w.shape}; allowed: "
                             f"(macro.rows, macro.cols) = {(m.rows, m.cols)}")
        check_range(w, *m.weight_range, "W", "--weights", "macro.weight_bits")
    else:
        w = rng.integers(m.weight_range[0], m.weight_range[1] + 1, (m.rows, m.cols))
    if args.inputs:
        x = load_int_matrix(args.inputs, "X", "--inputs")
        x = x[None, :] if x.ndim == 1 else x
        if x.ndim != 2 or x.shape[1] != m.rows or x.shape[0] == 0:
            raise InputError(f"--inputs {args.inputs!r}: shape {x.shape}; allowed: "
                             f"(batch >= 1, macro.rows = {m.rows})")
        check_range(x, *m.input_range, "X", "--inputs", "macro.input_bits")
    else:
        x = rng.integers(m.input_range[0], m.input_range[1] + 1, (64, m.rows))
    return w, x


def _table(main, others) -> str:
    from golden.cost import walden_band

    lines = [f"ADC {main.adc.kind}, {main.adc.bits} bits, {main.adcs} ADCs "
             f"({main.columns_per_adc} columns per ADC), batch {main.batch}, "
             f"{main.conversions} conversions, {main.input_ones} input ones",
             f"{'energy per MVM':<22}{'fJ':>14}{'share':>8}"]
    tot = main.energy_total_fj
    for k, v in main.energy_fj.items():
        lines.append(f"  {k:<20}{v / main.batch:>14.4g}{100 * v / tot if tot else 0:>7.1f}%")
    lines.append(f"  {'total':<20}{tot / main.batch:>14.4g}")
    lines.append(f"{'area':<22}{'um^2':>14}")
    for k, v in main.area_um2.items():
        lines.append(f"  {k:<20}{v:>14.4g}{100 * v / main.area_total_um2:>7.1f}%")
    lines.append(f"  {'total':<20}{main.area_total_um2:>14.4g}")
    lines.append(f"latency per MVM {main.latency_ns:.4g} ns")
    lines.append(f"{'kind':<8}{'fJ/MVM':>12}{'um^2':>12}{'ns/MVM':>9}{'TOPS/W':>9}"
                 f"{'TOPS/mm2':>10}{'fJ/conv':>10}{'FoM fJ/step':>13}")
    for c in [main, *others]:
        e = c.adc.energy_total_fj
        lines.append(f"{c.adc.kind:<8}{c.energy_total_fj / c.batch:>12.4g}"
                     f"{c.area_total_um2:>12.4g}{c.latency_ns:>9.4g}"
                     f"{c.tops_per_w:>9.4g}{c.tops_per_mm2:>10.4g}{e:>10.4g}"
                     f"{e / 2**c.adc.bits:>13.4g}")
    band = walden_band(main.adc.bits)
    lines.append(f"reference: {band['source']}: median {band['median_fj']:.4g} fJ, best "
                 f"{band['best_fj']:.4g} fJ per {main.adc.bits}-bit conversion "
                 f"(Walden FoM x 2^{main.adc.bits})")
    return "\n".join(lines)


def _other_kinds(cost):
    """``cost`` with each other preset ADC kind (its ``adc_*`` overrides dropped)."""
    return [cost.replace(adc=k, adc_energy_fj=None, adc_area_um2=None, adc_time_ns=None)
            for k in _KINDS if k != cost.adc]


def _workload_table(main: dict, others: list[dict]) -> str:
    tot = main["energy_per_inference_fj"]
    lines = [f"one inference: {main['tiles']} tiles, {main['conversions']} conversions, "
             f"ADC {main['adc']} (mean of {main['test_inputs']} test inputs)",
             f"{'energy per inference':<22}{'fJ':>14}{'share':>8}"]
    for k, v in main["energy_fj"].items():
        lines.append(f"  {k:<20}{v:>14.4g}{100 * v / tot if tot else 0:>7.1f}%")
    lines.append(f"  {'total':<20}{tot:>14.4g}")
    lines.append(f"{'layer':<8}{'tiles':>6}{'fJ':>14}{'conversions':>13}{'ns':>8}")
    for i, ly in enumerate(main["layers"]):
        lines.append(f"{i + 1:<8}{ly['tiles']:>6}{ly['energy_per_inference_fj']:>14.4g}"
                     f"{ly['conversions_per_inference']:>13}{ly['latency_ns']:>8.4g}")
    lines.append(f"{'kind':<8}{'fJ/inference':>14}{'um^2':>12}{'ns':>9}{'TOPS/W':>9}")
    for c in [main, *others]:
        lines.append(f"{c['adc']:<8}{c['energy_per_inference_fj']:>14.4g}"
                     f"{c['area_total_um2']:>12.4g}{c['latency_ns']:>9.4g}{c['tops_per_w']:>9.4g}")
    return "\n".join(lines)


def _run_workload(args, spec, cost) -> int:
    from . import workloads
    from .dataio import write_json_atomic
    from .flow.network import run_network
    from .netcost import network_cost

    try:
        kind = workloads.get(args.workload)
    except InputError as e:
        raise InputError(f"--workload {args.workload!r}: "
                         + str(e).split(": ", 1)[1]) from None
    kind.check(spec)
    ctx = workloads.NetworkContext.of(kind.build(spec), N_CAL)
    ref = run_network(ctx, spec, keep=True)
    main = network_cost(spec, ref.layers, ctx.n_cal, cost)
    others = [network_cost(spec, ref.layers, ctx.n_cal, c) for c in _other_kinds(cost)]
    print(_workload_table(main, others))
    if args.json:
        write_json_atomic(args.json, {"workload": args.workload, "accuracy": ref.accuracy,
                                      "cost": main, "other_adc_kinds": others})
    return 0


N_CAL = 256
"""Calibration inputs of ``--workload`` (as the flow's grid)."""


def run(args) -> int:
    """Print the cost table; write JSON with ``--json``."""
    from .dataio import check_outputs, write_json_atomic

    check_outputs(inputs=[("CONFIG", args.config), ("--inputs", args.inputs),
                          ("--weights", args.weights)], files=[("--json", args.json)])
    spec, cost = _load(args.config)
    if args.adc:
        cost = cost.replace(adc=args.adc)
    if args.workload:
        if args.calibration:
            raise InputError(f"--calibration {args.calibration!r}: not with --workload "
                             f"{args.workload!r} (every tile of the network is calibrated "
                             "on its own inputs); allowed: one of them")
        if args.weights:
            raise InputError(f"--weights {args.weights!r}: not with --workload "
                             f"{args.workload!r} (the network has its own weights); "
                             "allowed: one of them")
        return _run_workload(args, spec, cost)
    w, x = _operands(args, spec)
    from golden.cost import mvm_cost
    from golden.macro import Macro

    from .calfile import choose_calibration

    cal, _ = choose_calibration(args, spec)
    mac = Macro(spec, w, calibration=cal)
    if cal is None:
        cal = mac.calibrate(x)
    xb = mac.crossbar
    g, bits = xb.cells.g, xb.bit_planes(x)
    # the digital periphery from the toggles of these MVMs' match bits and LUT words
    act = {"match": mac.match_vectors(x), "luts": cal.lut_fixed(spec)}
    main = mvm_cost(spec, g, bits, cost, **act)
    others = [mvm_cost(spec, g, bits, c, **act) for c in _other_kinds(cost)]
    print(_table(main, others))
    if args.json:
        from golden.cost import walden_band

        write_json_atomic(args.json, {"cost": main.as_dict(),
                                      "other_adc_kinds": [c.as_dict() for c in others],
                                      "walden_reference": walden_band(main.adc.bits)})
    return 0
