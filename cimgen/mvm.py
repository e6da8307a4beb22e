"""``cimgen mvm``: the golden macro on the user's own integer weights and inputs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .calfile import load_calibration, save_calibration
from .config import load_config
from .dataio import check_outputs, write_atomic
from .errors import InputError
from .tiling import run_tiled, tile_grid

__all__ = ["add_parser", "check_range", "load_int_matrix", "run"]

def add_parser(sub, parser_class=None) -> None:
    """Register the subcommand on an argparse subparsers object."""
    p = sub.add_parser(
        "mvm",
        help="run the golden macro on your integer weights and inputs",
        description=(
            "Run the golden CIM macro (crossbar, devices, Q-cell ADCs, bit-exact digital "
            "path) on W (rows, cols) and X (batch, rows). W larger than the macro is tiled "
            "over macro instances and the partial results summed digitally. Writes the "
            "outputs in real units, the raw fixed-point integers, the flags and the exact "
            "integer product; prints the RMS error relative to full scale."
        ),
    )
    p.add_argument("config", metavar="CONFIG", help="macro config (TOML)")
    p.add_argument("--weights", required=True, metavar="W.npy",
                   help="signed integer weights, shape (rows, cols): .npy, .csv or text")
    p.add_argument("--inputs", required=True, metavar="X.npy",
                   help="integer inputs, shape (batch, rows) or (rows,): .npy, .csv or text")
    p.add_argument("--calibration", metavar="FILE",
                   help="macro calibration JSON (default: calibrate on the inputs themselves)")
    p.add_argument("--save-calibration", metavar="FILE",
                   help="write the calibration used, one entry per weight tile")
    p.add_argument("--ideal", action="store_true",
                   help="no noise or variation and a lossless ADC: the output must equal X @ W")
    p.add_argument("--seed", type=int, default=None,
                   help="override device.seed of the config (static and dynamic draws)")
    p.add_argument("-o", "--out", required=True, metavar="OUT.npz",
                   help="output file (new, unless --force)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing OUT.npz (and --save-calibration FILE)")
    p.set_defaults(func=run)


def load_int_matrix(path: str, what: str, flag: str) -> np.ndarray:
    """An integer array from ``path`` (.npy, .csv or whitespace text) as int64.

    ``what`` names the array and ``flag`` the option in error messages (``cimgen mvm``
    and ``cimgen board`` read their operands with it).

    Raises
    ------
    InputError
        A missing, unreadable or oversized file, or entries that are not integers.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{flag} {path!r}: no such file")
    from .dataio import MAX_SAMPLES, MAX_TEXT_BYTES

    try:
        if p.suffix.lower() == ".npy":
            a = np.load(p, allow_pickle=False, mmap_mode="r")
            if a.size > MAX_SAMPLES:
                raise InputError(f"{flag} {path!r}: {a.size:,} entries is more than the "
                                 f"{MAX_SAMPLES:,} cimgen reads; split the batch")
            a = np.array(a)
        else:
            if p.stat().st_size > MAX_TEXT_BYTES:
                raise InputError(f"{flag} {path!r}: {p.stat().st_size:,} bytes of text is "
                                 f"more than the {MAX_TEXT_BYTES:,} cimgen parses; save it "
                                 "as .npy instead")
            text = p.read_text(encoding="utf-8").replace(",", " ")
            a = np.loadtxt(text.splitlines(), ndmin=2)
    except InputError:
        raise
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as e:
        raise InputError(
            f"{flag} {path!r}: unreadable ({e}); allowed: .npy, or .csv/text with one row per line"
        ) from None
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(
                f"{flag} {path!r}: {what}{list(idx)} = {float(a[idx])!r} is not an integer; "
                f"{what} must be integers"
            )
        big = np.abs(a) >= 2.0**63
        if big.any():
            idx = tuple(int(i) for i in np.argwhere(big)[0])
            raise InputError(f"{flag} {path!r}: {what}{list(idx)} = {float(a[idx])!r} does "
                             "not fit int64; allowed: the configured bit range")
        a = a.astype(np.int64)
    elif a.dtype.kind not in "iu":
        raise InputError(f"{flag} {path!r}: dtype {a.dtype} is not allowed; allowed: integers")
    elif a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        idx = tuple(int(i) for i in np.argwhere(a > np.iinfo(np.int64).max)[0])
        raise InputError(f"{flag} {path!r}: {what}{list(idx)} = {int(a[idx])} does not fit "
                         "int64; allowed: the configured bit range")
    return a.astype(np.int64)


def check_range(a: np.ndarray, lo: int, hi: int, what: str, flag: str, key: str) -> None:
    """Refuse an operand with an entry outside ``lo..hi``.

    The range is the macro's (``spec.macro.weight_range`` / ``input_range``); ``key``
    names the config fields that set it.

    Raises
    ------
    InputError
        Naming the first entry outside the range, its value and how many there are.
    """
    bad = (a < lo) | (a > hi)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{flag}: {what}{list(idx)} = {int(a[idx])} is outside {lo}..{hi} ({key}); "
            f"{int(bad.sum())} entr{'y' if bad.sum() == 1 else 'ies'} out of range"
        )


def run(args) -> int:
    """Run ``cimgen mvm`` from parsed arguments; returns the exit code."""
    t0 = time.perf_counter()
    spec = load_config(args.config)
    check_outputs(inputs=[("CONFIG", args.config), ("--weights", args.weights),
                          ("--inputs", args.inputs), ("--calibration", args.calibration)],
                  files=[("-o", args.out), ("--save-calibration", args.save_calibration)],
                  force=args.force)
    if args.seed is not None:
        if args.seed < 0:
            raise InputError(f"--seed {args.seed}: must be an integer >= 0")
        spec = spec.replace(device={"seed": args.seed})
    m = spec.macro
    w = load_int_matrix(args.weights, "W", "--weights")
    x = load_int_matrix(args.inputs, "X", "--inputs")
    if x.ndim == 1:
        x = x[None, :]
    if w.ndim != 2:
        raise InputError(f"--weights {args.weights!r}: shape {w.shape}; must be 2-D (rows, cols)")
    if x.ndim != 2 or x.shape[1] != w.shape[0]:
        raise InputError(
            f"--inputs {args.inputs!r}: shape {x.shape}; must be (batch, {w.shape[0]}) to "
            f"match W's {w.shape[0]} rows"
        )
    if x.shape[0] == 0 or w.size == 0:
        raise InputError("--weights/--inputs: empty arrays; need at least one vector and weight")
    check_range(w, *m.weight_range, "W", "--weights", f"macro.weight_bits = {m.weight_bits}")
    check_range(x, *m.input_range, "X", "--inputs",
                f"macro.input_bits = {m.input_bits}, input_signed = "
                 f"{str(m.input_signed).lower()}")

    n_r, n_c = tile_grid(w.shape, spec)
    cals = load_calibration(args.calibration, spec) if args.calibration else None
    if cals is not None:
        missing = [(r, c) for r in range(n_r) for c in range(n_c) if (r, c) not in cals]
        if missing:
            raise InputError(
                f"--calibration {args.calibration!r}: has no tile {missing[0]}; W "
                f"{w.shape} needs {n_r} x {n_c} tiles of {m.rows} x {m.cols}"
            )
    batch = x.shape[0]
    res = run_tiled(spec, w, x, calibrations=cals, ideal=args.ideal)
    raw, flags, used = res.raw, res.flags, res.calibrations
    f = spec.adc.lut_frac_bits
    y = raw.astype(np.float64) / float(1 << f)
    exact = x @ w
    full_scale = float(w.shape[0]) * max(abs(v) for v in m.weight_range) * \
        max(abs(v) for v in m.input_range)
    rms = float(np.sqrt(np.mean((y - exact) ** 2)))

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez(fh, y=y, raw=raw, frac_bits=np.int64(f), flags=flags, exact=exact)

    out = write_atomic(args.out, write)
    if args.save_calibration and used:
        try:
            save_calibration(args.save_calibration, spec, used)
        except OSError:
            out.unlink(missing_ok=True)  # both outputs or neither
            raise
    mode = "ideal" if args.ideal else (
        "calibration from " + args.calibration if args.calibration else
        "calibrated on these inputs")
    print(f"mvm: {batch} vector(s) x W {w.shape} on {n_r} x {n_c} macro tile(s) of "
          f"{m.rows} x {m.cols} ({mode})")
    print(f"RMS error {rms:.6g} = {100 * rms / full_scale:.4g} % of full scale {full_scale:g}; "
          f"max |error| {float(np.max(np.abs(y - exact))):.6g}; "
          f"flagged MVMs {int(np.count_nonzero(flags))}/{batch}")
    print(f"wrote {out}" + (f" and {args.save_calibration}" if args.save_calibration and used
                            else "") + f" in {time.perf_counter() - t0:.2f} s")
    if args.ideal and not np.array_equal(raw, exact << f):
        from .errors import CheckFailed

        raise CheckFailed("ideal mode: the output differs from X @ W")
    return 0
