"""The ``cimgen`` command line: one subcommand per job.

Exit codes: 0 ok, 1 a check failed, 2 bad input. Heavy packages (amaranth, cocotb)
are imported only inside the subcommands that need them, so ``cimgen calibrate``
starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Sequence

from golden.spec import ENCODINGS, METHODS, SR_MODES

from . import __version__
from .errors import CheckFailed, InputError

EXIT_OK, EXIT_CHECK, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and our message prefix on every usage error."""

    def error(self, message: str):  # pragma: no cover - exercised through main()
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def _int_in(name: str, lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} {text!r}: must be an integer in {lo}..{hi}"
            ) from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{name} {v}: must be an integer in {lo}..{hi}")
        return v

    return parse


def _float_in(name: str, lo: float, hi: float):
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = float("nan")
        if not (math.isfinite(v) and lo <= v <= hi):
            raise argparse.ArgumentTypeError(
                f"{name} {text!r}: must be a finite number in [{lo:g}, {hi:g}]"
            )
        return v

    return parse


def _finite_float(name: str):
    return _float_in(name, -float("inf"), float("inf"))


def _guard(text: str) -> str | float:
    return "auto" if text == "auto" else _float_in("--guard", 0.0, 100.0)(text)


def _add_calibrate(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="calibrate an adaptive Q-cell ADC on data: boundaries, levels, SR table, MSE",
        description=(
            "Place ADC boundaries and reconstruction levels on the samples in DATA with "
            "uniform, Lloyd-Max and/or DP-optimal quantisers, optionally with "
            "super-resolution and Q-cell bound variation; print an MSE table and write JSON."
        ),
    )
    p.add_argument("data", metavar="DATA", help=".npy, .npz (--key), .csv (--column) or text")
    p.add_argument("--bits", type=_int_in("--bits", 1, 8), required=True, help="ADC bits, 1..8")
    p.add_argument(
        "--method", choices=(*METHODS, "all"), default="all",
        help="quantiser (default: all, compared side by side)",
    )
    p.add_argument(
        "--sr", choices=SR_MODES, default="none",
        help="super-resolution mode (two ADCs per signal)",
    )
    p.add_argument(
        "--encoding", choices=ENCODINGS, default="window",
        help="Q-cell encoding: window (one-hot) or threshold (thermometer)",
    )
    p.add_argument(
        "--variation", type=_float_in("--variation", 0.0, 50.0), default=0.0, metavar="PCT",
        help="Q-cell bound variation, sigma in %% of full scale (default 0)",
    )
    p.add_argument(
        "--guard", type=_guard, default="auto", metavar="auto|PCT",
        help="window encoding: overlap of adjacent windows in %% of full scale "
        "(default auto: 4*sqrt(2)*variation; 0 = abutting windows as in the paper)",
    )
    p.add_argument("--seed", type=_int_in("--seed", 0, 2**63 - 1), default=0,
                   help="seed of the variation draws (default 0)")
    p.add_argument(
        "--full-scale", nargs=2, type=_finite_float("--full-scale"), metavar=("LO", "HI"),
        help="ADC full scale (default: the data's min and max)",
    )
    p.add_argument("--key", help="array name inside an .npz file")
    p.add_argument("--column", help="CSV column name or 0-based index")
    p.add_argument("--drop-nonfinite", action="store_true", help="drop NaN/inf samples")
    p.add_argument("-o", "--out", required=True, metavar="OUT.json",
                   help="JSON output file (new, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an existing OUT.json")
    p.set_defaults(func=_cmd_calibrate)


def _cmd_calibrate(args) -> int:
    from .calibrate import run_calibrate

    return run_calibrate(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cimgen`` command."""
    parser = _Parser(
        prog="cimgen",
        description="Generate, verify and synthesise the digital periphery of analog "
        "compute-in-memory macros with memristor Q-cell adaptive ADCs.",
    )
    parser.add_argument("--version", action="version", version=f"cimgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_calibrate(sub)
    from . import board, mvm, sim, synth, verilog

    mvm.add_parser(sub)
    verilog.add_parser(sub)
    sim.add_parser(sub)
    synth.add_parser(sub)
    board.add_parser(sub)
    from . import flow, program, sweep

    sweep.add_parser(sub)
    flow.add_parser(sub)
    program.add_parser(sub)
    from . import cost

    cost.add_parser(sub)
    return parser


def _os_error_text(e: OSError, args) -> str:
    """``cannot write 'PATH': REASON``, naming the user's ``-o`` when the failing file is
    unnamed or a temporary beside or inside it."""
    from .dataio import WriteFailed

    if isinstance(e, WriteFailed):
        return str(e)
    reason = e.strerror or str(e)
    name = None if e.filename is None else str(e.filename)
    out = getattr(args, "out", None)
    if out is not None:
        where = os.path.dirname(os.path.abspath(out))
        if name is None or os.path.abspath(name).startswith(where + os.sep):
            return f"cannot write {str(out)!r}: {reason}" + (f" (at {name!r})" if name else "")
    return f"cannot write {name!r}: {reason}" if name else reason


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 check failed, 2 bad input)."""
    from golden.spec import SpecError

    parser = build_parser()
    args = parser.parse_args(argv)
    from .progress import Terminated, handle_sigterm, stop_children

    previous = handle_sigterm()  # SIGTERM raises Terminated: finally-blocks clean up
    try:
        return int(args.func(args) or EXIT_OK)
    except (InputError, SpecError) as e:
        print(f"cimgen {args.command}: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except CheckFailed as e:
        print(f"cimgen {args.command}: check failed: {e}", file=sys.stderr)
        return EXIT_CHECK
    except OSError as e:  # an output the OS refused midway (disk full, permissions)
        print(f"cimgen {args.command}: error: {_os_error_text(e, args)}", file=sys.stderr)
        return EXIT_CHECK
    except KeyboardInterrupt:
        stop_children()
        print(f"cimgen {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        stop_children()
        print(f"cimgen {args.command}: terminated", file=sys.stderr)
        return 143
    except Exception as e:  # a tool or a bug: one line, exit 1; the traceback on request
        if os.environ.get("CIMGEN_TRACEBACK"):
            raise
        print(f"cimgen {args.command}: failed: {type(e).__name__}: {e} (an error cimgen does "
              "not expect: set CIMGEN_TRACEBACK=1 to see where, and please report it)",
              file=sys.stderr)
        return EXIT_CHECK
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
