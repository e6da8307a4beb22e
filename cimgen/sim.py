"""``cimgen sim``: the cocotb regression of a config's generated periphery."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .config import load_config, with_decoder
from .errors import CheckFailed, InputError
from .progress import timed

__all__ = ["add_parser", "run"]

MUTANT_NAMES = ("lut_addr_off_by_one", "shift_add_wrong_shift", "decoder_or_two_hot")
# (sim.mutants.MUTANTS, spelled out so that `cimgen --help` does not import amaranth;
# tests/cimgen/test_sim.py checks the two agree.)


def _count(name: str, lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{name} {text!r}: must be an integer in {lo}..{hi}")
        return v

    return parse


def add_parser(sub, parser_class=None) -> None:
    """Register the ``sim`` subcommand on an argparse subparsers object.

    ``parser_class`` is accepted for symmetry with the other subcommands and not
    used: the subparsers object already carries the CLI's parser class.
    """
    p = sub.add_parser(
        "sim",
        help="verify the generated Verilog against the golden model with cocotb",
        description=(
            "Generate the periphery Verilog of CONFIG and its components, build them with "
            "Icarus Verilog (default) or Verilator, and run the cocotb benches: golden-"
            "macro match vectors with device variation, directed bubble cases, full-scale "
            "and zero inputs, LUT rewrites through cfg_*, reset in the middle of an MVM, "
            "all under random idle cycles and back-pressure, checked against "
            "golden.digital. Builds are cached per config and simulator under the build "
            "directory. Exit 0 when every result matched, 1 on any mismatch, 2 on bad "
            "input or a missing simulator."
        ),
    )
    p.add_argument("config", metavar="CONFIG", help="macro config (TOML)")
    p.add_argument("--simulator", choices=("icarus", "verilator"), default="icarus",
                   help="HDL simulator (default icarus)")
    p.add_argument("--waves", action="store_true",
                   help="write one FST waveform per cocotb test (each test then runs in "
                        "its own simulator process) and print the paths")
    p.add_argument("--seed", type=_count("--seed", 0, 2**32 - 1), default=0,
                   help="seed of the stimuli and of the idle/back-pressure draws (default 0)")
    p.add_argument("--mvms", type=_count("--mvms", 1, 100_000), default=48,
                   help="golden-macro MVMs in the realistic-traffic test (default 48)")
    p.add_argument("--decoder", metavar="NAME",
                   help="decoder structure: priority (window); ones (default) or majority "
                        "(threshold)")
    p.add_argument("--mutant", choices=MUTANT_NAMES,
                   help="build the design with this deliberate fault, to see the benches "
                        "fail (exit 1)")
    p.add_argument("--emulator", action="store_true",
                   help="instead of the periphery benches, run the board emulator's UART "
                        "bench: the emulator top driven bit by bit over its UART pins by "
                        "the host code of 'cimgen board', --mvms MVMs checked against golden")
    p.add_argument("--build-dir", metavar="DIR", default="build/sim",
                   help="build cache (default build/sim)")
    p.add_argument("-o", "--out", metavar="DIR",
                   help="run directory: plans, stimuli, logs, results, stats, waveforms "
                        "(default <build dir>/<top>-<hash>/run-<simulator>); an explicit DIR "
                        "must be new or empty unless --force")
    p.add_argument("--force", action="store_true",
                   help="empty an existing, non-empty -o DIR before the run")
    p.set_defaults(func=run)


def _flags_text(flags: dict) -> str:
    seen = [f"{k} {v}" for k, v in flags.items() if v]
    return ", ".join(seen) if seen else "-"


def _table(summary) -> list[str]:
    rows = [("bench", "tests", "transactions", "mismatches", "flags seen", "build s",
             "sim s")]
    for b in summary.benches:
        ok = sum(o.passed for o in b.outcomes)
        rows.append((b.name, f"{ok}/{len(b.outcomes)}" + (" ERROR" if b.error else ""),
                     f"{b.transactions:,}", f"{b.mismatches:,}", _flags_text(b.flags),
                     f"{b.build_time:.1f}", f"{b.wall:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {1, 2, 3, 5, 6}

    def fmt(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()

    return [fmt(rows[0]), "  ".join("-" * w for w in widths), *map(fmt, rows[1:])]


def run(args) -> int:
    """Run ``cimgen sim`` from parsed arguments; returns the exit code.

    Raises
    ------
    InputError
        A missing or invalid config, a bad ``--decoder``, an output path that is not
        a directory, or a missing simulator (the message says how to install it).
    CheckFailed
        Any bench saw a mismatch, a missing or extra result, a handshake violation,
        or the design did not compile.
    """
    from golden.outdir import OutDirError
    from golden.spec import SpecError
    from sim.runner import BuildFailed, SimulatorMissing, find_simulator, run_config

    t0 = time.perf_counter()
    try:
        spec = load_config(args.config)
    except SpecError as e:
        raise InputError(str(e)) from None
    spec = with_decoder(spec, getattr(args, "decoder", None))
    for opt, value in (("-o", args.out), ("--build-dir", args.build_dir)):
        if value is not None and Path(value).exists() and not Path(value).is_dir():
            raise InputError(f"{opt} {value!r}: exists and is not a directory")
    from .dataio import check_outputs

    check_outputs(inputs=[("CONFIG", args.config)], dirs=[("-o", args.out)])
    try:
        find_simulator(args.simulator)  # before anything is removed or written
    except SimulatorMissing as e:
        raise InputError(str(e)) from None
    if args.out is not None and Path(args.out).is_dir() and any(Path(args.out).iterdir()):
        if not args.force:
            raise InputError(f"-o {args.out!r}: exists and is not empty; allowed: a new or "
                             "empty directory, or --force to replace its contents")
    if args.emulator:
        if args.mutant:
            raise InputError(f"--mutant {args.mutant!r}: applies to the periphery benches, "
                             "not to --emulator")
        return _run_emulator(args, spec, t0)
    try:
        summary = run_config(spec, simulator=args.simulator, seed=args.seed, mvms=args.mvms,
                             waves=args.waves, out=args.out, root=args.build_dir,
                             mutant=args.mutant, replace=args.force,
                             step=timed)
    except OutDirError as e:  # another run filled -o while this one ran
        raise InputError(str(e)) from None
    except SimulatorMissing as e:
        raise InputError(str(e)) from None
    except BuildFailed as e:
        raise CheckFailed(f"the generated Verilog did not build: {e}") from None
    except ValueError as e:
        raise InputError(f"config {args.config!r}: {e}") from None

    what = f" with mutant {args.mutant}" if args.mutant else ""
    print(f"sim: {summary.design.top} from {args.config}{what} on {summary.tool.label}; "
          f"seed {args.seed}, {args.mvms} golden-macro MVMs")
    for line in _table(summary):
        print(line)
    for b in summary.benches:
        for note in b.notes:
            print(f"note: {b.name}: {note}")
        for w in b.waves:
            print(f"waves: {w}")
    flags = summary.benches[0].flags if summary.benches else {}
    print(f"checked {summary.transactions:,} transactions in {len(summary.benches)} benches: "
          f"{summary.mismatches:,} mismatches; top-level flags seen: {_flags_text(flags)}; "
          f"{time.perf_counter() - t0:.1f} s wall")
    print(f"build: {summary.design.dir}")
    print(f"run: {summary.out}")
    if not summary.passed:
        print(summary.report())
        bad = [b.name for b in summary.benches if not b.passed]
        raise CheckFailed(f"{summary.mismatches:,} mismatches; failing benches: "
                          + ", ".join(bad) + f" (details above; logs under {summary.out})")
    return 0


def _run_emulator(args, spec, t0: float) -> int:
    """``cimgen sim --emulator``: the emulator's UART bench (:mod:`sim.emulator_runner`)."""
    from types import SimpleNamespace

    from golden.outdir import OutDirError
    from sim.emulator_runner import run_emulator
    from sim.runner import BuildFailed

    try:
        res = run_emulator(spec, simulator=args.simulator, seed=args.seed, vectors=args.mvms,
                           waves=args.waves, out=args.out,
                           root=args.build_dir, replace=args.force, step=timed)
    except OutDirError as e:  # another run filled -o while this one ran
        raise InputError(str(e)) from None
    except BuildFailed as e:
        raise CheckFailed(f"the emulator's Verilog did not build: {e}") from None
    except ValueError as e:
        raise InputError(f"config {args.config!r}: {e}") from None
    print(f"sim: board emulator from {args.config} over its UART pins on {args.simulator}; "
          f"seed {args.seed}, {args.mvms} MVMs")
    for line in _table(SimpleNamespace(benches=[res])):
        print(line)
    for w in res.waves:
        print(f"waves: {w}")
    print(f"checked {res.transactions:,} outputs, flags and counters: {res.mismatches:,} "
          f"mismatches; {time.perf_counter() - t0:.1f} s wall")
    print(f"run: {res.run_dir}")
    if not res.passed:
        print(res.report())
        raise CheckFailed(f"{res.mismatches:,} mismatches in the emulator's UART bench "
                          f"(logs under {res.run_dir})")
    return 0
