"""``cimgen program``: what a real chip needs from a calibration.

For every weight tile of a calibration file, every physical column, ADC and Q-cell:
the target conductance of each memristor that sets a bound, through the Q-cell
conductance-to-bound map (:class:`golden.qcell.ConductanceMap`: the programmable window
``[g_min_us, g_max_us]`` spans the LUT group's ADC full scale), and the expected
programming spread. Window cells have two memristors, M1 (lower bound) and M2 (upper
bound); threshold cells one (M1, the threshold). Plus the LUT contents in the
periphery's fixed point and in real units, with their ``cfg_addr``.

Bounds are the ones :class:`golden.macro.Macro` programs, computed by
:func:`golden.calibration.target_conductances`: window cell ``k`` spans
``[b[k-1] - guard, b[k])`` (the guard band of ``adc.window_guard_pct``, ``auto`` from
the bound sigma as the macro computes it), cell 0's M1 and the last cell's M2 sit on
the conductance rails (their bounds are -inf / +inf).

Clipping: a bound outside its LUT group's full scale has no conductance in the device
window; it is clipped to ``g_min`` (``clipped = -1``) or ``g_max`` (``clipped = 1``).
A window cell's guarded lower bound (M1) below the full scale is harmless (every input
of the full scale lies above it either way, so the cell behaves the same); any other
clipped bound moves a code transition, so ``cimgen program`` fails (exit 1, the output
still written for inspection) unless ``--allow-clip`` is given.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import numpy as np

from golden.outdir import staged

from .calfile import load_calibration, parse_tile
from .config import load_config
from .dataio import check_out_dir
from .errors import CheckFailed, InputError

__all__ = ["FORMAT", "add_parser", "program_tile", "run"]

FORMAT = "cimgen-program"

QCELL_COLUMNS = ("tile_row", "tile_col", "phys_col", "logical_col", "slice", "polarity", "lut",
                 "adc", "cell", "memristor", "role", "bound", "target_g_us", "sigma_g_us",
                 "sigma_bound", "rail", "clipped")
"""``clipped``: -1 below g_min, 1 above g_max, 0 inside the device window."""
LUT_COLUMNS = ("tile_row", "tile_col", "lut", "entry", "cfg_addr", "fixed", "value")


def program_tile(spec, cal) -> dict:
    """Target conductances and spreads of one tile's Q-cells, and its LUT contents.

    Returns
    -------
    dict
        :func:`golden.calibration.target_conductances` (``gmaps``,
        ``bound_sigma_nominal``, ``guard`` with window cells, and per memristor its
        ``role``, ``bound``, ``g_us``, ``sigma_g_us``, ``sigma_bound``, ``rail`` and
        ``clipped``, each (phys_cols, adcs, cells)), plus ``lut_fixed`` and ``lut``
        (n_luts, entries) and their ``cfg_addr``.
    """
    from golden.calibration import target_conductances

    out = target_conductances(spec, cal)
    out["lut_fixed"] = cal.lut_fixed(spec)
    out["lut"] = np.asarray(cal.lut, dtype=np.float64)
    n, entries = out["lut"].shape
    out["cfg_addr"] = (np.arange(n)[:, None] << spec.adc.code_bits) + np.arange(entries)[None, :]
    return out


def _phys(spec, p: int) -> tuple[str, str, str]:
    m = spec.macro
    if m.has_ref_column and p == m.phys_cols - 1:
        return "ref", "0", "+"
    col = p // (m.slices * m.polarities)
    sl = (p // m.polarities) % m.slices
    pol = "+-"[p % m.polarities] if m.polarities == 2 else "+"
    return str(col), str(sl), pol


def _json_num(a: np.ndarray):
    """Nested lists with +-inf as the strings "inf" / "-inf" (valid JSON)."""
    x = np.asarray(a, dtype=object)
    x[np.isposinf(a.astype(float))] = "inf"
    x[np.isneginf(a.astype(float))] = "-inf"
    return x.tolist()


def add_parser(sub, parser_class=None) -> None:
    """Register ``cimgen program``."""
    p = sub.add_parser(
        "program",
        help="Q-cell target conductances (M1/M2) and LUT contents for a real chip",
        description=(
            "From a calibration file (cimgen mvm --save-calibration, or cimgen flow's "
            "calibration/layer<N>.json): per tile, physical column, ADC and Q-cell the "
            "target conductance of every memristor that sets a bound (window cells: M1 "
            "lower, M2 upper; threshold cells: M1) through the conductance-to-bound map, "
            "with the expected programming spread from the device preset (in uS and in "
            "input units), and the LUT contents (fixed point and real, with cfg_addr). "
            "Writes DIR/qcells.csv, DIR/lut.csv and DIR/program.json."
        ),
    )
    p.add_argument("config", metavar="CONFIG", help="macro config (TOML)")
    p.add_argument("--calibration", required=True, metavar="FILE",
                   help="calibration JSON (one entry per weight tile)")
    p.add_argument("--tile", metavar="R,C", help="only this tile (default: every tile)")
    p.add_argument("--allow-clip", action="store_true",
                   help="exit 0 even when bounds outside the full scale were clipped to "
                        "g_min_us / g_max_us (default: exit 1, output still written)")
    p.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="output directory (new or empty unless --force)")
    p.add_argument("--force", action="store_true",
                   help="replace a non-empty DIR (only once the new output is complete)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``cimgen program`` from parsed arguments; returns the exit code.

    Raises
    ------
    InputError
        A bad config, a missing or mismatched calibration file, an unknown ``--tile``,
        or an output directory that exists and is not empty (without ``--force``).
    CheckFailed
        A bound outside its LUT group's full scale was clipped to the device window
        (other than a harmless guarded window lower bound), without ``--allow-clip``;
        the output is written first so that the clipped targets can be inspected.
    """
    from golden.spec import SpecError

    t0 = time.perf_counter()
    try:
        spec = load_config(args.config)
    except SpecError as e:
        raise InputError(str(e)) from None
    tiles = load_calibration(args.calibration, spec)
    if args.tile is not None:
        key = parse_tile(args.tile)
        if key not in tiles:
            have = ", ".join(f"{r},{c}" for r, c in sorted(tiles))
            raise InputError(f"--tile {args.tile!r}: --calibration {args.calibration!r} has "
                             f"no such tile; it holds {have}")
        tiles = {key: tiles[key]}
    out = Path(args.out)
    from .dataio import check_outputs

    check_outputs(inputs=[("CONFIG", args.config), ("--calibration", args.calibration)],
                  dirs=[("-o", out)])
    check_out_dir(out, bool(args.force))

    doc_tiles, qcsv, lcsv, stats = _tables(spec, tiles)
    doc = _document(spec, args.calibration, doc_tiles, stats)
    _publish(out, bool(args.force), {"qcells.csv": qcsv, "lut.csv": lcsv,
                                     "program.json": json.dumps(doc, indent=1) + "\n"})
    d, a = spec.device, spec.adc
    g, s = stats["g"], stats["s"]
    cells_text = "M1 lower + M2 upper per window cell" if a.encoding == "window" else \
        "M1 per threshold cell"
    print(f"program: {len(doc_tiles)} tile(s), {stats['n']} memristors ({cells_text}); "
          f"targets {g.min():.1f}..{g.max():.1f} uS, expected programming sigma "
          f"{s.mean():.2f} uS mean ({d.program_sigma}); LUTs of {a.lut_entries} entries")
    clip = doc["summary"]["clipped"]
    print(f"clipped: {clip['below_g_min']} target(s) below g_min_us = {d.g_min_us:g} "
          f"({clip['below_g_min_guard']} of them guarded window lower bounds, harmless), "
          f"{clip['above_g_max']} above g_max_us = {d.g_max_us:g}")
    print(f"wrote {out}/qcells.csv, lut.csv, program.json in {time.perf_counter() - t0:.2f} s")
    if clip["harmful"] and not getattr(args, "allow_clip", False):
        raise CheckFailed(
            f"{clip['harmful']} bound(s) lie outside their LUT group's full scale, so their "
            f"target conductances lie outside the device window [{d.g_min_us:g}, "
            f"{d.g_max_us:g}] uS and were clipped to it (qcells.csv column clipped: -1 "
            f"below, 1 above); those Q-cells do not realise the calibration's boundaries. "
            "Pass --allow-clip to accept the clipped targets"
        )
    return 0


def _tables(spec, tiles) -> tuple[list, str, str, dict]:
    """Per tile: the program.json entry and the qcells.csv / lut.csv rows; and totals
    (memristor count, live conductances ``g`` and spreads ``s``, clip counts)."""
    from golden import digital

    qbuf, lbuf = io.StringIO(), io.StringIO()
    qw = csv.writer(qbuf, lineterminator="\n")
    lw = csv.writer(lbuf, lineterminator="\n")
    qw.writerow(QCELL_COLUMNS)
    lw.writerow(LUT_COLUMNS)
    doc_tiles, g_all, s_all = [], [], []
    stats = {"n": 0, "below": 0, "below_guard": 0, "above": 0}
    lut_of = digital.lut_index(spec)
    for (r, c), cal in sorted(tiles.items()):
        prog = program_tile(spec, cal)
        mems = prog["memristors"]
        p_n, adcs, cells = next(iter(mems.values()))["g_us"].shape
        for p in range(p_n):
            col, sl, pol = _phys(spec, p)
            for ai in range(adcs):
                for k in range(cells):
                    for name, mm in mems.items():
                        qw.writerow([r, c, p, col, sl, pol, int(lut_of[p]), ai, k, name,
                                     mm["role"], repr(float(mm["bound"][p, ai, k])),
                                     f"{mm['g_us'][p, ai, k]:.6f}",
                                     f"{mm['sigma_g_us'][p, ai, k]:.6f}",
                                     f"{mm['sigma_bound'][p, ai, k]:.6g}",
                                     int(mm["rail"][p, ai, k]), int(mm["clipped"][p, ai, k])])
        for mm in mems.values():
            stats["n"] += mm["g_us"].size
            live = ~mm["rail"]
            g_all.append(mm["g_us"][live])
            s_all.append(mm["sigma_g_us"][live])
            below = int(np.count_nonzero(mm["clipped"] < 0))
            stats["below"] += below
            stats["below_guard"] += below if mm["role"] == "lower" else 0
            stats["above"] += int(np.count_nonzero(mm["clipped"] > 0))
        for li in range(prog["lut"].shape[0]):
            for e in range(prog["lut"].shape[1]):
                lw.writerow([r, c, li, e, int(prog["cfg_addr"][li, e]),
                             int(prog["lut_fixed"][li, e]), repr(float(prog["lut"][li, e]))])
        doc_tiles.append(_tile_doc(spec, r, c, cal, prog))
    stats["g"], stats["s"] = np.concatenate(g_all), np.concatenate(s_all)
    return doc_tiles, qbuf.getvalue(), lbuf.getvalue(), stats


def _tile_doc(spec, r: int, c: int, cal, prog) -> dict:
    return {
        "row": r, "col": c,
        "full_scale": cal.full_scale.tolist(),
        "boundaries": cal.boundaries.tolist(),
        "gain_input_per_us": [gm.gain for gm in prog["gmaps"]],
        **({"guard": prog["guard"].tolist()} if "guard" in prog else {}),
        "memristors": {name: {
            "role": mm["role"], "bound": _json_num(mm["bound"]),
            "target_g_us": mm["g_us"].tolist(), "sigma_g_us": mm["sigma_g_us"].tolist(),
            "sigma_bound": mm["sigma_bound"].tolist(),
            "rail": mm["rail"].astype(int).tolist(),
            "clipped": mm["clipped"].astype(int).tolist()}
            for name, mm in prog["memristors"].items()},
        "lut": {"fixed": prog["lut_fixed"].tolist(), "value": prog["lut"].tolist(),
                "cfg_addr": prog["cfg_addr"].tolist(), "frac_bits": spec.adc.lut_frac_bits},
    }


def _document(spec, calibration: str, doc_tiles: list, stats: dict) -> dict:
    from golden import presets

    d = spec.device
    ps = d.program_sigma
    g, s = stats["g"], stats["s"]
    harmful = stats["below"] - stats["below_guard"] + stats["above"]
    return {
        "format": FORMAT, "version": 1, "config": spec.to_dict(),
        "calibration": Path(calibration).name,
        "conventions": {
            "shape": "per tile and memristor: (phys_cols, adcs_per_column, cells)",
            "phys_col": "(col * slices + slice) * polarities + polarity; the offset "
                        "mapping's reference column last",
            "map": "bound = lo + (G - g_min_us) * (hi - lo) / (g_max_us - g_min_us), with "
                   "(lo, hi) the LUT group's full scale",
            "window": "cell k matches lower <= x < upper; M1 = lower, M2 = upper; rails are "
                      "the -inf/+inf edge bounds, programmed to g_min_us / g_max_us",
            "threshold": "cell k matches x >= threshold; M1 = threshold",
            "sigma_g_us": "expected programming spread at the target conductance",
            "sigma_bound": "the same in input units plus device.bound_variation_pct",
            "cfg_addr": "lut_id * 2**code_bits + entry",
            "clipped": "-1: the bound lies below the full scale, target clipped to "
                       "g_min_us; 1: above it, clipped to g_max_us; 0: inside. A window "
                       "cell's guarded lower bound (M1) below it is harmless; every other "
                       "clip is counted in summary.clipped.harmful (exit 1 without "
                       "--allow-clip)",
        },
        "device": {"g_min_us": d.g_min_us, "g_max_us": d.g_max_us, "program_sigma": ps,
                   "program_sigma_source": presets.READC_FIG3C_PROGRAM.source
                   if ps == "readc-fig3c" else None,
                   "bound_variation_pct": d.bound_variation_pct},
        "summary": {"tiles": len(doc_tiles), "memristors": stats["n"],
                    "programmed_g_us_min": float(g.min()), "programmed_g_us_max": float(g.max()),
                    "mean_sigma_g_us": float(s.mean()),
                    "clipped": {"below_g_min": stats["below"],
                                "below_g_min_guard": stats["below_guard"],
                                "above_g_max": stats["above"], "harmful": harmful}},
        "tiles": doc_tiles,
    }


def _publish(out: Path, force: bool, files: dict[str, str]) -> None:
    """Write ``files`` into a temporary sibling of ``out``, then move it into place."""
    with staged(out, force, check=check_out_dir) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
