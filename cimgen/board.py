"""``cimgen board``: talk to the board emulator (``cimgen synth --emulator``) over a serial
port, run MVMs on it and compare every output with the golden model.

``--port sim`` runs the emulator top in ``amaranth.sim`` behind a simulated serial
port instead of a board (slow, but needs no hardware). pyserial, numpy and Amaranth
are imported inside the commands.
"""

from __future__ import annotations

import time
from pathlib import Path

from .config import load_config
from .errors import CheckFailed, InputError

__all__ = ["add_parser", "run"]

SIM_PORT = "sim"
SIM_CLK_HZ = 1e6
SIM_BAUD = 250e3  # 4 clock cycles per bit: the shortest the UART allows


def add_parser(sub, parser_class=None) -> None:
    """Register the ``board`` subcommand (with ``run`` and ``status``)."""
    p = sub.add_parser(
        "board",
        help="run MVMs on the board emulator over a serial port, compared with golden",
        description=(
            "Talk to a board running the emulator built by 'cimgen synth CONFIG "
            "--emulator' (framed UART protocol, see hdl/emulator.py). 'run' loads weights, "
            "the realised Q-cell bounds and the LUTs of the golden macro, runs MVMs and "
            "compares every output and flag with the golden model (exit 1 on any "
            "difference); 'status' prints what the board reports about itself."
        ),
    )
    bsub = p.add_subparsers(dest="board_command", metavar="ACTION")
    bsub.required = True
    for action in ("run", "status"):
        q = bsub.add_parser(action, help={
            "run": "load the macro, run MVMs, compare with golden",
            "status": "print the board's STATUS fields"}[action])
        q.add_argument("config", metavar="CONFIG", help="macro config (TOML)")
        q.add_argument("--port", required=True, metavar="DEV",
                       help=f"serial port (e.g. /dev/ttyUSB1), or '{SIM_PORT}' for the "
                            "simulated emulator")
        q.add_argument("--baud", type=int, default=115200,
                       help="UART rate the emulator was built for (default 115200)")
        q.add_argument("--timeout", type=float, default=2.0, metavar="S",
                       help="seconds to wait for a response (default 2)")
        q.add_argument("--batch-max", type=int, default=32, metavar="N",
                       help=f"with --port {SIM_PORT}: vectors per RUN of the simulated "
                            "emulator (default 32)")
        if action == "run":
            q.add_argument("--inputs", metavar="X.npy",
                           help="integer inputs (vectors, rows): .npy, .csv or text "
                                "(default: --vectors random vectors)")
            q.add_argument("--weights", metavar="W.npy",
                           help="signed integer weights (rows, cols) (default: random)")
            q.add_argument("--vectors", type=int, default=64, metavar="N",
                           help="random input vectors when no --inputs (default 64)")
            q.add_argument("--calibration", metavar="FILE",
                           help="calibration JSON (default: calibrate on the inputs)")
            q.add_argument("--tile", metavar="R,C", help="tile of a multi-tile calibration")
            q.add_argument("--seed", type=int, default=0,
                           help="seed of the random weights and inputs (default 0)")
            q.add_argument("--noise-bits", type=int, default=0, metavar="N",
                           help="emulator read noise width, 0 = off (default 0)")
            q.add_argument("--noise-seed", type=int, default=1, metavar="S",
                           help="seed of the emulator's noise generator (default 1)")
            q.add_argument("-o", "--out", metavar="OUT.npz",
                           help="write inputs, weights, board and golden outputs and flags "
                                "(a new file, unless --force)")
            q.add_argument("--force", action="store_true", help="replace an existing OUT.npz")
        q.set_defaults(func=run)


def _open(args, spec):
    if args.port == SIM_PORT:
        from hdl.emulator import Emulator
        from synth.simlink import SimSerial

        if not 1 <= args.batch_max <= 4096:
            raise InputError(f"--batch-max {args.batch_max}: must be an integer in 1..4096")
        try:
            emu = Emulator(spec, clk_hz=SIM_CLK_HZ, baud=SIM_BAUD, batch_max=args.batch_max)
        except ValueError as e:
            raise InputError(f"config {args.config!r}: {e}") from None
        return SimSerial(emu)
    try:
        import serial
    except ImportError:
        raise InputError("--port: pyserial is not installed (pip install pyserial)") from None
    if args.baud <= 0 or args.timeout <= 0:
        raise InputError(f"--baud {args.baud} / --timeout {args.timeout}: must be positive")
    try:
        port = serial.Serial(args.port, args.baud, timeout=args.timeout)
    except (serial.SerialException, OSError, ValueError) as e:
        raise InputError(f"--port {args.port!r}: cannot open it ({e})") from None
    time.sleep(0.15)              # let a frame abandoned by an earlier host time out
    port.reset_input_buffer()
    return port


def _operands(args, spec):
    import numpy as np

    from .mvm import check_range, load_int_matrix

    m = spec.macro
    rng = np.random.default_rng(args.seed)
    lo_w, hi_w = m.weight_range
    lo_x, hi_x = m.input_range
    if args.weights:
        w = load_int_matrix(args.weights, "weights", "--weights")
        if w.shape != (m.rows, m.cols):
            raise InputError(f"--weights {args.weights!r}: shape {w.shape}; the macro needs "
                             f"(rows, cols) = ({m.rows}, {m.cols})")
        check_range(w, lo_w, hi_w, "W", "--weights", f"macro.weight_bits = {m.weight_bits}")
    else:
        w = rng.integers(lo_w, hi_w + 1, size=(m.rows, m.cols))
    if args.inputs:
        x = load_int_matrix(args.inputs, "inputs", "--inputs")
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != m.rows:
            raise InputError(f"--inputs {args.inputs!r}: shape {x.shape}; the macro needs "
                             f"(vectors, {m.rows})")
        check_range(x, lo_x, hi_x, "X", "--inputs", f"macro.input_bits = {m.input_bits}")
    else:
        if args.vectors < 1:
            raise InputError(f"--vectors {args.vectors}: must be at least 1")
        x = rng.integers(lo_x, hi_x + 1, size=(args.vectors, m.rows))
    return w.astype(np.int64), x.astype(np.int64)


def run(args) -> int:
    """Run ``cimgen board run`` / ``cimgen board status``; returns the exit code.

    Raises
    ------
    InputError
        A bad config, option, input file or port, or a board built for another config.
    CheckFailed
        The board's outputs or flags differ from golden, or the board stops answering.
    """
    from golden.spec import SpecError

    try:
        spec = load_config(args.config)
    except SpecError as e:
        raise InputError(str(e)) from None
    if args.board_command == "run" and not 0 <= args.noise_bits <= 8:
        raise InputError(f"--noise-bits {args.noise_bits}: must be an integer in 0..8")
    if args.board_command == "run":
        from .dataio import check_outputs

        check_outputs(inputs=[("CONFIG", args.config), ("--inputs", args.inputs),
                              ("--weights", args.weights), ("--calibration", args.calibration)],
                      files=[("-o", args.out)], force=args.force)
    operands = _operands(args, spec) if args.board_command == "run" else None

    from synth.host import BoardClient, BoardError, ProtocolError

    port = _open(args, spec)
    try:
        try:
            client, info = BoardClient.connect(port, spec)
        except ProtocolError as e:
            raise InputError(f"--port {args.port!r}: {e}") from None
        lay = client.layout
        where = "simulated emulator (amaranth.sim)" if args.port == SIM_PORT else args.port
        print(f"board: {where}: {info['rows']} x {info['cols']} macro, {info['phys_cols']} "
              f"physical columns, batch {lay.batch_max}, read noise up to "
              f"{lay.noise_bits_max} bits, decoder {lay.decoder}, clock "
              f"{info['clk_hz'] / 1e6:g} MHz, config id {info['config_id']:#010x}")
        if args.board_command == "status":
            for name, _ in lay.info_fields:
                print(f"  {name:<16} {info[name]}")
            return 0
        try:
            return _run(args, spec, client, *operands)
        except (ProtocolError, BoardError) as e:
            raise CheckFailed(f"the board: {e}") from None
    finally:
        close = getattr(port, "close", None)
        if close is not None:
            close()


def _run(args, spec, client, w, x) -> int:
    import numpy as np

    from golden.macro import Macro
    from synth.host import program_macro, twin_reference

    from .calfile import choose_calibration

    lay = client.layout
    if args.noise_bits > lay.noise_bits_max:
        raise InputError(f"--noise-bits {args.noise_bits}: the board was built with "
                         f"--noise-bits-max {lay.noise_bits_max}")
    cal, _ = choose_calibration(args, spec)
    if cal is None:
        cal = Macro(spec, w).calibrate(x)
    prog = program_macro(lay, w, cal)

    from .progress import timed

    t0 = time.perf_counter()
    with timed(f"loading weights ({lay.weights_len} bytes)"):
        client.load_weights(prog.levels)
    with timed(f"loading Q-cell bounds ({lay.bounds_len} bytes)"):
        client.load_bounds(prog.lo, prog.hi)
    with timed(f"loading LUTs ({lay.lut_len} bytes)"):
        client.load_lut(prog.luts)
    client.set_noise(args.noise_bits, args.noise_seed)
    n_load = lay.weights_len + lay.bounds_len + lay.lut_len
    print(f"loaded weights, Q-cell bounds and LUTs ({n_load} bytes) in "
          f"{time.perf_counter() - t0:.2f} s")

    t0 = time.perf_counter()
    outs, flags, want, want_flags = [], [], [], []
    for lo in range(0, x.shape[0], lay.batch_max):
        batch = x[lo:lo + lay.batch_max]
        o, f = client.run_batch(batch)
        r_o, r_f = twin_reference(lay, prog, batch, noise_bits=args.noise_bits,
                                  seed=args.noise_seed)
        outs.append(o)
        flags.append(f)
        want.append(r_o)
        want_flags.append(r_f)
    dt = time.perf_counter() - t0
    out, flg = np.concatenate(outs), np.concatenate(flags)
    ref, ref_flags = np.concatenate(want), np.concatenate(want_flags)
    n = x.shape[0]
    print(f"ran {n} MVMs in {-(-n // lay.batch_max)} RUN batches: {dt:.2f} s "
          f"({n / dt:.1f} MVM/s)")

    ok_out = out == ref
    ok_flags = flg == ref_flags
    print(f"golden (ideal crossbar, realised Q-cells, bit-exact periphery"
          f"{', emulator read noise' if args.noise_bits else ''}): outputs equal "
          f"{int(ok_out.sum())}/{ok_out.size}, flags equal {int(ok_flags.sum())}/{ok_flags.size}")
    gold = prog.macro.run(x)
    same = int((gold.out == out).sum())
    rms = float(np.sqrt(np.mean((gold.values - out / float(1 << spec.adc.lut_frac_bits)) ** 2)))
    print(f"golden analog macro model (crossbar device effects, Gaussian read noise): "
          f"{same}/{out.size} outputs equal, RMS difference {rms:.4g}")
    if args.out:
        from .dataio import write_atomic

        def save(tmp: Path):
            with open(tmp, "wb") as fh:
                np.savez(fh, x=x, weights=w, out=out, flags=flg, golden_out=ref,
                         golden_flags=ref_flags, frac_bits=spec.adc.lut_frac_bits)

        write_atomic(args.out, save)
        print(f"wrote {args.out}")
    if not (ok_out.all() and ok_flags.all()):
        bad = np.argwhere(~ok_out)[:5].tolist() + [[int(i)] for i in
                                                    np.flatnonzero(~ok_flags)[:3]]
        detail = "; ".join(
            f"vector {i[0]} column {i[1]}: board {out[i[0], i[1]]}, golden {ref[i[0], i[1]]}"
            if len(i) == 2 else f"vector {i[0]} flags: board {flg[i[0]]}, golden "
            f"{ref_flags[i[0]]}" for i in bad)
        raise CheckFailed(f"the board differs from golden: {detail}")
    return 0
