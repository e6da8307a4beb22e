"""``cimgen synth``: FPGA synthesis of the periphery or the board emulator (YoWASP tools).

Amaranth and the flows are imported inside :func:`run`, so registering the
subcommand costs nothing at CLI start-up.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .config import load_config, with_decoder
from .dataio import check_out_dir, check_outputs
from .errors import CheckFailed, InputError

__all__ = ["add_parser", "run"]


def add_parser(sub, parser_class=None) -> None:
    """Register the ``synth`` subcommand on an argparse subparsers object."""
    p = sub.add_parser(
        "synth",
        help="FPGA build: resource and timing report, or a bitstream (periphery or emulator)",
        description=(
            "Synthesise, place and route for an FPGA board with the YoWASP tools from PyPI "
            "(Yosys, nextpnr, icepack/ecppack). Without --emulator the design is the "
            "periphery alone, out of context (inside a scan-chain harness, clock at "
            "[fpga] clock_mhz); with --emulator it is the board emulator of the whole "
            "macro with its UART host link, at the board clock. --report-only stops "
            "after place and route; otherwise a bitstream is packed. Writes report.json "
            "(resources, Fmax per clock, target met, tool versions) and the tools' logs "
            "into the output directory and prints a table. Exit code 1 if the target "
            "clock is not met or a tool fails (its files are then kept in DIR.failed)."
        ),
    )
    p.add_argument("config", metavar="CONFIG", nargs="?", help="macro config (TOML)")
    p.add_argument("--list-boards", action="store_true", help="list the known boards and exit")
    p.add_argument("--board", metavar="NAME",
                   help="board (default: [fpga] board of the config); see --list-boards")
    p.add_argument("--report-only", action="store_true",
                   help="stop after place and route: report.json, no bitstream")
    p.add_argument("--emulator", action="store_true",
                   help="build the board emulator of the whole macro (UART host link)")
    p.add_argument("--calibration", metavar="FILE",
                   help="calibration JSON for the LUTs (default: uniform over the partial sums)")
    p.add_argument("--tile", metavar="R,C", help="tile of a multi-tile calibration file")
    p.add_argument("--decoder", metavar="NAME",
                   help="decoder: priority (window); ones (default) or majority (threshold)")
    p.add_argument("--memory", choices=("auto", "block", "distributed", "logic"),
                   default="auto",
                   help="memory mapping (default auto: per LUT read port, block RAM as far "
                        "as the device has blocks, the rest in logic (iCE40) or distributed "
                        "RAM (ECP5); emulator memories in block RAM)")
    p.add_argument("--baud", type=int, default=115200,
                   help="emulator UART rate (default 115200)")
    p.add_argument("--batch-max", type=int, default=32, metavar="N",
                   help="emulator: vectors per RUN command, 1..4096 (default 32)")
    p.add_argument("--noise-bits-max", type=int, default=3, metavar="N",
                   help="emulator: widest LFSR read noise, 0 (none) .. 8 (default 3)")
    p.add_argument("--seed", type=int, default=1, help="nextpnr placement seed (default 1)")
    p.add_argument("-o", "--out", metavar="DIR",
                   help="output directory (default build/synth/BOARD/DESIGN, replaced); an "
                        "explicit DIR must be new or empty unless --force")
    p.add_argument("--force", action="store_true",
                   help="replace a non-empty DIR (only once the new output is complete)")
    p.set_defaults(func=run)


def list_boards() -> str:
    """The known boards, one per line."""
    from synth.boards import BOARDS

    width = max(len(n) for n in BOARDS)
    return "\n".join(f"{b.name:<{width}}  {b.family:<5}  {b.device:<10} {b.title}"
                     for b in BOARDS.values())


def run(args) -> int:
    """Run ``cimgen synth`` from parsed arguments; returns the exit code.

    Raises
    ------
    InputError
        No CONFIG, an unknown board, a bad option value, a bad calibration file, an
        unusable output directory, or a missing tool.
    CheckFailed
        A tool failed (e.g. the design does not fit) or timing was not met.
    """
    if args.list_boards:
        print(list_boards())
        return 0
    if not args.config:
        raise InputError("CONFIG: required (or --list-boards)")
    from golden.spec import SpecError
    from synth.boards import get_board

    try:
        spec = load_config(args.config)
    except SpecError as e:
        raise InputError(str(e)) from None
    name = args.board or spec.fpga.board
    try:
        board = get_board(name)
    except KeyError as e:
        src = "--board" if args.board else f"[fpga] board in {args.config!r}"
        raise InputError(f"{src}: {e.args[0]}") from None
    if args.memory == "distributed" and board.family != "ecp5":
        raise InputError(f"--memory distributed: {board.name} ({board.device}) has no "
                         "distributed RAM; allowed: auto, block, logic")
    spec = with_decoder(spec, args.decoder)
    if not 1 <= args.batch_max <= 4096:
        raise InputError(f"--batch-max {args.batch_max}: must be an integer in 1..4096")
    if not 0 <= args.noise_bits_max <= 8:
        raise InputError(f"--noise-bits-max {args.noise_bits_max}: must be an integer in 0..8")
    if args.baud <= 0:
        raise InputError(f"--baud {args.baud}: must be a positive integer")
    if args.emulator:
        from hdl.uart import uart_divisor

        try:
            uart_divisor(board.pins()["clk_hz"], args.baud)
        except ValueError as e:
            raise InputError(f"--baud {args.baud}: {str(e).split(': ', 1)[1]}") from None

    from .calfile import choose_calibration

    cal, _ = choose_calibration(args, spec)
    design = "emulator" if args.emulator else spec.hdl.top
    if args.out:
        out = Path(args.out)
        check_out_dir(out, args.force)
    else:
        out = Path("build") / "synth" / board.name / design
    check_outputs(inputs=[("CONFIG", args.config), ("--calibration", args.calibration)],
                  dirs=[("-o" if args.out else "output directory", out)])

    from synth.flow import SynthOptions, format_table, synthesize
    from synth.tools import ToolError, ToolMissing

    opts = SynthOptions(board=board, report_only=args.report_only, emulator=args.emulator,
                        memory=args.memory, calibration=cal,
                        baud=args.baud, batch_max=args.batch_max,
                        noise_bits_max=args.noise_bits_max, seed=args.seed)
    what = "emulator" if args.emulator else f"periphery {spec.hdl.top}"
    m, a = spec.macro, spec.adc
    print(f"synth: {what} of a {m.rows} x {m.cols} macro ({m.phys_cols} physical columns, "
          f"{a.bits}-bit {a.encoding} ADC, SR {a.sr}) for {board.name} ({board.device}), "
          f"{'report only' if args.report_only else 'bitstream'} -> {out}/")

    def progress(line):
        print(line, flush=True)

    try:
        report = synthesize(spec, opts, out, progress=progress,
                            config_file=Path(args.config).name)
    except ToolMissing as e:
        raise InputError(f"toolchain: {e}") from None
    except ToolError as e:
        failed = out.with_name(out.name + ".failed")
        raise CheckFailed(f"{e.tool} failed (exit code {e.code}); its log and the run's "
                          f"files are in {failed}/\n{e.tail}") from None
    except ValueError as e:  # what the RTL generators refuse, named by their parameter
        raise InputError(f"config {args.config!r}: {e}") from None
    print(format_table(report))
    if report["files"]["bitstream"]:
        print(f"bitstream: {out / report['files']['bitstream']}")
    print(f"report: {out / 'report.json'}; logs: {', '.join(report['files']['logs'])}; "
          f"{report['total_seconds']:.1f} s")
    if not report["fits"]:
        over = ", ".join(f"{k} {v['used']}/{v['available']}"
                         for k, v in report["over_capacity"].items())
        print(f"cimgen synth: check failed: the design does not fit {board.device}: {over} "
              "(the resources above are Yosys's count; nothing was placed)", file=sys.stderr)
        return 1
    if not report["timing"]["met"]:
        slow = [c for c in report["timing"]["clocks"] if not c["met"]]
        what = "; ".join(f"{c['net']} {c['fmax_mhz']:.2f} MHz < {c['target_mhz']:.2f} MHz"
                         for c in slow) or "no clock was analysed"
        print(f"cimgen synth: check failed: target clock not met: {what}", file=sys.stderr)
        return 1
    return 0
