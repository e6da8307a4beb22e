"""``cimgen verilog``: config (+ calibration) -> periphery Verilog, manifest, LUT files."""

from __future__ import annotations

import time
from pathlib import Path

from .calfile import choose_calibration
from .config import load_config, with_decoder
from .dataio import WriteFailed, check_out_dir, check_outputs
from .errors import CheckFailed, InputError
from .progress import timed

__all__ = ["add_parser", "run"]


def add_parser(sub, parser_class=None) -> None:
    """Register the ``verilog`` subcommand on an argparse subparsers object.

    ``parser_class`` is accepted for symmetry with the other subcommands and not
    used: the subparsers object already carries the CLI's parser class.
    """
    p = sub.add_parser(
        "verilog",
        help="generate the periphery Verilog, manifest.json and LUT init files",
        description=(
            "Generate the digital periphery of the macro described by CONFIG as Verilog "
            "(module [hdl] top), with manifest.json (ports, widths, bit orders, LUT map, "
            "latency, tool versions), LUT init files (.hex per LUT, lut_init.csv/.json) "
            "and a Verilator waiver file (<top>.vlt). The LUTs are initialised from "
            "--calibration (a cimgen calibration file) or, without it, from a uniform "
            "ADC over the physical partial-sum range. Output is deterministic."
        ),
    )
    p.add_argument("config", metavar="CONFIG", help="macro config (TOML)")
    p.add_argument("--calibration", metavar="FILE",
                   help="calibration JSON (cimgen mvm --save-calibration) for the LUTs")
    p.add_argument("--tile", metavar="R,C",
                   help="which weight tile of a multi-tile calibration file to use")
    p.add_argument("--decoder", metavar="NAME",
                   help="decoder structure: priority (window); ones (default) or majority "
                        "(threshold)")
    p.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="output directory (new or empty, unless --force)")
    p.add_argument("--force", action="store_true",
                   help="replace a non-empty DIR (only once the new output is complete)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``cimgen verilog`` from parsed arguments; returns the exit code.

    Raises
    ------
    InputError
        A missing or invalid config, a calibration file that is unreadable or does
        not fit the config (ADC bits, encoding, SR mode, LUT scope, shapes), a bad
        ``--tile`` or ``--decoder``, or an output directory that is not a directory,
        is non-empty without ``--force`` or cannot be written.
    CheckFailed
        Yosys, which writes the clean netlist ``<top>.v``, is missing or failed (its
        log tail in the message): exit 1, like the other tool failures.
    """
    from golden.spec import SpecError
    from hdl.export import generate
    from hdl.netlist import NetlistError

    t0 = time.perf_counter()
    try:
        spec = load_config(args.config)
    except SpecError as e:
        raise InputError(str(e)) from None
    spec = with_decoder(spec, getattr(args, "decoder", None))
    cal, source = choose_calibration(args, spec)
    out = Path(args.out)
    force = bool(getattr(args, "force", False))
    check_outputs(inputs=[("CONFIG", args.config), ("--calibration", args.calibration)],
                  dirs=[("-o", out)])
    check_out_dir(out, force)
    try:
        result = generate(spec, cal, out, force=force, source=source, step=timed)
    except (FileExistsError, NotADirectoryError) as e:
        raise InputError(f"-o {str(out)!r}: {e}") from None
    except NetlistError as e:  # a tool failure, not bad input: exit 1 without a traceback
        raise CheckFailed(f"the clean netlist {spec.hdl.top}.v (Yosys): {e}") from None
    except OSError as e:  # refused midway (the location was checked up front): exit 1
        raise WriteFailed(e.errno, e.strerror or str(e), str(out)) from e
    except ValueError as e:  # whatever the RTL generator refuses, named by its input
        what = f"--calibration {args.calibration!r}" if args.calibration else \
            f"config {args.config!r}"
        raise InputError(f"{what}: {e}") from None

    man = result.manifest
    def ports(direction):
        return ", ".join(f"{p['name']}[{p['width']}]" if p["width"] > 1 else p["name"]
                         for p in man["top_ports"] if p["direction"] == direction)

    w = man["widths"]
    print(f"verilog: module {man['top']} -> {out}/ ({len(result.files)} files: "
          + ", ".join(result.files) + ")")
    print(f"inputs: {ports('input')}")
    print(f"outputs: {ports('output')}")
    print(f"latency {man['latency']} cycles (in_last beat -> out_valid), initiation "
          f"interval {man['initiation_interval']}; lut_width {w['lut_width']}, out_width "
          f"{w['out_width']} x {spec.macro.cols} columns, {w['frac_bits']} fractional bits; "
          f"{man['lut']['n_luts']} LUT(s) of {man['lut']['lut_entries']} entries; decoder "
          f"{man['decoder']}; {time.perf_counter() - t0:.2f} s")
    return 0
