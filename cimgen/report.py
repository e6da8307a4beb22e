"""Figures and ``report.md`` of ``cimgen flow``, drawn from its results alone.

Every number on a figure or in a table is in ``results.json``; this module only
formats. Figures are PNG (matplotlib, Agg backend) with a title, labelled axes and
units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from golden.spec import SR_MODES

from .report_cost import cost_lines, fig_pareto

__all__ = ["FIGURES", "markdown", "write_figures"]

FIGURES = {
    "adc_histograms": "ADC inputs with uniform vs adaptive boundaries",
    "accuracy_vs_bits": "Accuracy vs ADC bits",
    "accuracy_vs_variation": "Accuracy vs bound variation, with and without SR",
    "inl_dnl": "INL/DNL of the realised ADCs",
    "mse_per_method": "ADC MSE per quantiser and SR mode",
    "accuracy_vs_energy": "Accuracy vs energy per inference (Pareto)",
}

_COLORS = {"uniform": "tab:gray", "adaptive": "tab:blue", "adaptive+sr": "tab:red"}
_SR_MODES = SR_MODES[1:]  # every SR mode but "none"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _points(summary, scheme, *, bits=None, var=None):
    pts = [s for s in summary if s["scheme"] == scheme
           and (bits is None or s["bits"] == bits) and (var is None or s["variation_pct"] == var)]
    return pts


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=110, format="png", metadata={"Software": None})


def _fig_histograms(res, path: Path, plt, _title: str) -> None:
    groups = res["adc_study"]
    bits = res["config"]["adc"]["bits"]
    ad = res["schemes"]["adaptive"]["adc"]["method"]
    n = len(groups)
    ncol = 2 if n > 1 else 1
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.0 * ncol, 3.6 * nrow), squeeze=False)
    for ax, g in zip(axes.ravel(), groups, strict=False):
        e = np.array(g["histogram"]["edges"])
        c = np.array(g["histogram"]["counts"])
        ax.bar(e[:-1], c, width=np.diff(e), align="edge", color="0.75", edgecolor="0.55",
               linewidth=0.3, label="ADC inputs")
        ax.set_yscale("log")
        for i, b in enumerate(g["boundaries"]["uniform"]):
            ax.axvline(b, color="tab:gray", ls="--", lw=0.9,
                       label="uniform boundaries" if i == 0 else None)
        for i, b in enumerate(g["boundaries"][ad]):
            ax.axvline(b, color="tab:red", lw=0.9,
                       label=f"adaptive ({ad}) boundaries" if i == 0 else None)
        mu = g["mse"]["0"]
        ax.set_title(f"layer {g['layer']}, LUT group {g['group']}: MSE uniform "
                     f"{mu['uniform']:.3g}, {ad} {mu[ad]:.3g}", fontsize=9)
        ax.set_xlabel("ADC input (partial-sum units, one cell level = 1)")
        ax.set_ylabel("samples per bin (log)")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"ADC input distributions on the calibration images with {bits}-bit uniform "
                 f"vs adaptive boundaries (reference chip)")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _panels(plt, n: int):
    """Up to two panels per row, shared y axis."""
    ncol = min(n, 2)
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.4 * ncol, 3.9 * nrow), squeeze=False,
                             sharey=True)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes


def _baselines(ax, acc) -> None:
    ax.axhline(100 * acc["float_baseline"], color="k", ls="-", lw=1,
               label=f"float baseline {100 * acc['float_baseline']:.2f} %")
    ax.axhline(100 * acc["integer_ideal"], color="k", ls=":", lw=1,
               label=f"integer, ideal ADC {100 * acc['integer_ideal']:.2f} %")


def _fig_acc_bits(res, path: Path, plt, title: str) -> None:
    acc = res["accuracy"]
    summ = acc["summary"]
    vars_ = sorted({s["variation_pct"] for s in summ})
    fig, axes = _panels(plt, len(vars_))
    for ax, v in zip(axes.ravel(), vars_, strict=False):
        _baselines(ax, acc)
        for s in ("uniform", "adaptive", "adaptive+sr"):
            pts = sorted(_points(summ, s, var=v), key=lambda p: p["bits"])
            if pts:
                ax.errorbar([p["bits"] for p in pts], [100 * p["accuracy_mean"] for p in pts],
                            yerr=[100 * p["accuracy_std"] for p in pts], marker="o", capsize=3,
                            color=_COLORS[s], label=res["schemes"][s]["label"])
        ax.set_title(f"bound variation {v:g} %")
        ax.set_xlabel("ADC resolution (bits)")
        ax.set_xticks(sorted({p["bits"] for p in summ}))
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{title} test accuracy vs ADC bits (mean ± std over chips)")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _fig_acc_var(res, path: Path, plt, title: str) -> None:
    acc = res["accuracy"]
    summ = acc["summary"]
    bits = sorted({s["bits"] for s in summ if s["scheme"] in ("adaptive", "adaptive+sr")})
    fig, axes = _panels(plt, len(bits))
    for ax, b in zip(axes.ravel(), bits, strict=False):
        _baselines(ax, acc)
        for s in ("uniform", "adaptive", "adaptive+sr"):
            pts = sorted(_points(summ, s, bits=b), key=lambda p: p["variation_pct"])
            if pts:
                ax.errorbar([p["variation_pct"] for p in pts],
                            [100 * p["accuracy_mean"] for p in pts],
                            yerr=[100 * p["accuracy_std"] for p in pts], marker="o", capsize=3,
                            color=_COLORS[s], label=res["schemes"][s]["label"])
        ax.set_title(f"{b}-bit ADC")
        ax.set_xlabel("Q-cell bound variation (sigma, % of full scale)")
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{title} test accuracy vs bound variation, with and without SR "
                 "(mean ± std over chips)")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _fig_inl_dnl(res, path: Path, plt, _title: str) -> None:
    lin = res["linearity"]
    fig, axes = plt.subplots(2, len(lin), figsize=(5.2 * len(lin), 6.4), squeeze=False,
                             sharex=True)
    for j, entry in enumerate(lin):
        for i, key in enumerate(("inl", "dnl")):
            ax = axes[i][j]
            a = np.array(entry[key], dtype=np.float64)
            codes = np.arange(a.shape[1])
            for row in a:
                ax.plot(codes, row, color="tab:blue", alpha=0.15, lw=0.8)
            ax.plot(codes, np.nanmedian(a, axis=0), color="k", lw=1.5, label="median")
            ax.set_title(f"{key.upper()}, bound variation {entry['variation_pct']:g} %: RMS "
                         f"{entry['rms_' + key]:.3g} LSB ({entry['adcs']} ADCs)", fontsize=9)
            ax.set_ylabel(f"{key.upper()} (LSB)")
            ax.grid(alpha=0.3)
            if i == 1:
                ax.set_xlabel("output code")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("INL/DNL of the realised Q-cell ADCs (layer 1, tile 0,0; config programming "
                 f"spread {res['config']['device']['program_sigma']} plus the stated bound "
                 "variation;\nagainst the designed boundaries, LSB = mean designed code width)",
                 fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _fig_mse(res, path: Path, plt, _title: str) -> None:
    groups = res["adc_study"]
    ad = res["schemes"]["adaptive"]["adc"]["method"]
    keys = [("uniform", "uniform"), ("lloyd-max", "Lloyd-Max"), ("optimal", "optimal")] + \
        [(f"sr:{m}", f"{ad} + SR {m}") for m in _SR_MODES]
    variations = list(groups[0]["mse"].keys())
    fig, axes = plt.subplots(1, len(variations), figsize=(6.2 * len(variations), 4.0),
                             squeeze=False, sharey=True)
    width = 0.8 / len(keys)
    cmap = plt.get_cmap("tab10")
    for ax, v in zip(axes[0], variations, strict=True):
        xs = np.arange(len(groups))
        for k, (key, label) in enumerate(keys):
            vals = [g["sr_mse"][v][key[3:]] if key.startswith("sr:") else g["mse"][v][key]
                    for g in groups]
            ax.bar(xs + (k - (len(keys) - 1) / 2) * width, vals, width, label=label,
                   color=cmap(k))
        ax.set_xticks(xs, [f"L{g['layer']} g{g['group']}" for g in groups])
        ax.set_yscale("log")
        ax.set_xlabel("layer and LUT group (slice)")
        ax.set_title(f"bound variation {float(v):g} %")
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("ADC-input MSE (partial-sum units²)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"MSE per quantiser and SR mode, {res['config']['adc']['bits']}-bit ADC, "
                 "on the reference chip's ADC inputs")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def _workload(results: dict, workload):
    """The workload class of ``results`` (given, or the flow's for its config)."""
    if workload is not None:
        return workload
    from . import workloads

    name = results["config"].get("workload", {}).get("name", "none")
    return workloads.get(workloads.FLOW_DEFAULT if name == "none" else name)


def write_figures(results: dict, out_dir: Path, workload=None) -> list[str]:
    """Draw every figure into ``out_dir``; returns the paths relative to its parent.

    ``workload`` (a :class:`cimgen.workloads.Workload` class) names the network in the
    titles; default: the one ``results``' config runs.
    """
    title = _workload(results, workload).title
    plt = _plt()
    out_dir.mkdir(parents=True, exist_ok=True)
    draw = {"adc_histograms": _fig_histograms, "accuracy_vs_bits": _fig_acc_bits,
            "accuracy_vs_variation": _fig_acc_var, "inl_dnl": _fig_inl_dnl,
            "mse_per_method": _fig_mse, "accuracy_vs_energy": fig_pareto}
    paths = []
    for name, fn in draw.items():
        fn(results, out_dir / f"{name}.png", plt, title)
        paths.append(f"{out_dir.name}/{name}.png")
    return paths


# -- report.md --------------------------------------------------------------------------


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}"


def _cell(summary, scheme, bits, var) -> str:
    pts = _points(summary, scheme, bits=bits, var=var)
    if not pts:
        return ""
    p = pts[0]
    return f"{100 * p['accuracy_mean']:.2f} ± {100 * p['accuracy_std']:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _head(res: dict, workload) -> list[str]:
    cfg = res["config"]
    m, a, d = cfg["macro"], cfg["adc"], cfg["device"]
    w = res["workload"]
    return [
        "# cimgen flow report", "",
        f"Config `{res.get('config_file')}` ({res['mode']} run): macro {m['rows']} x {m['cols']}, "
        f"{m['input_bits']}-bit inputs, {m['weight_bits']}-bit weights in {m['cell_bits']}-bit "
        f"cells ({m['mapping']}); {a['bits']}-bit {a['encoding']} Q-cell ADC, method "
        f"{a['method']}, SR {a['sr']}, LUT {a['lut_scope']}; device program sigma "
        f"{d['program_sigma']}, read sigma {d['read_sigma_us']} uS, seed {d['seed']}.", "",
        workload.report_text(res) + " Tiles (macros) per layer: "
        + ", ".join(f"{t[0]} x {t[1]}" for t in w["tiles"])
        + f". Calibration: the first {w['n_cal']} training images, each layer calibrated on "
        "the chip with the images passing through the chip's own earlier layers.", "",
    ]


def _claims(res: dict) -> list[str]:
    out = ["## Claims", ""]
    for c in res["claims"].values():
        verdict = "**holds**" if c["holds"] else "**does not hold**"
        if not c.get("evaluated", True):
            verdict = "not evaluated on this grid"
        out.append(f"* {c['statement']}: {verdict}.")
        if "per_bits" in c:
            for b, v in c["per_bits"].items():
                out.append(f"  * {b} bits: uniform {_pct(v['uniform'])} %, adaptive "
                           f"{_pct(v['adaptive'])} %")
        if c.get("cost") is not None:
            frac = c["fraction"]
            out.append(f"  * 2 % costs the adaptive ADC {100 * c['cost']:.2f} points "
                       f"({_pct(c['adaptive_0pct'])} -> {_pct(c['adaptive_2pct'])} %); adaptive "
                       f"+ SR recovers {100 * c['recovered']:.2f} points "
                       f"(to {_pct(c['sr_2pct'])} %)"
                       + (f", {100 * frac:.0f} % of the loss." if frac is not None else "."))
    return out


def _accuracy(res: dict) -> list[str]:
    acc, grid, d = res["accuracy"], res["grid"], res["config"]["device"]
    summ = acc["summary"]
    out = ["", "## Accuracy (held-out test set, % correct, mean ± std over "
           f"{grid['seeds']} chips)", "",
           f"Float baseline **{_pct(acc['float_baseline'])} %**; integer network with exact "
           f"products (ideal ADC) **{_pct(acc['integer_ideal'])} %**; the reference chip "
           f"(config as given, seed {d['seed']}) {_pct(acc['reference_chip']['accuracy'])} %. "
           "Variation is `device.bound_variation_pct` (sigma of every Q-cell bound in % of "
           "its ADC's full scale) on top of the config's programming spread "
           f"(`program_sigma = {d['program_sigma']!r}` through the conductance map). "
           "Columns: "
           + "; ".join(f"*{res['schemes'][s]['label']}*: " + ", ".join(
               f"{k} {v}" for k, v in res["schemes"][s]["adc"].items())
               for s in ("uniform", "adaptive", "adaptive+sr")) + ".", ""]
    rows = []
    for b in grid["bits"]:
        for v in grid["variation_pct"]:
            rows.append([str(b), f"{v:g}", _pct(acc["float_baseline"]),
                         _pct(acc["integer_ideal"])]
                        + [_cell(summ, s, b, v) for s in ("uniform", "adaptive", "adaptive+sr")])
    out += [_table(["ADC bits", "variation %", "float baseline", "integer ideal",
                          "uniform ADC", "adaptive ADC", "adaptive + SR"], rows), ""]
    return out


def _sr_design(res: dict) -> list[str]:
    design = res["accuracy"].get("sr_design")
    if not design:
        return []
    v = design["variation_pct"]
    out = [f"### Which SR design ({design['bits']} bits, {design['seeds']} chips)", "",
           f"The alternatives measured on the same chips. *recovered*: the share of "
           f"the single adaptive ADC's loss at {v:g} % "
           f"({100 * design['cost']:.2f} points) that each design wins back; *gain*: "
           "its accuracy gain over the single adaptive ADC at that variation, "
           "points, ± standard error over chips.", ""]
    drows = []
    for s in ["adaptive", *design["recovery"]]:
        cells = [_cell(design["summary"], s, design["bits"], x) for x in (0.0, v)]
        desc = ", ".join(f"{k} {val}" for k, val in res["schemes"][s]["adc"].items())
        rec = design["recovery"].get(s)
        extra = ["", ""] if rec is None else [
            "n/a" if rec["fraction"] is None else f"{100 * rec['fraction']:.0f} %",
            f"{100 * rec['gain']:+.2f} ± {100 * rec['gain_sem']:.2f}"]
        drows.append([s, desc, *cells, *extra])
    out += [
        _table(["scheme", "adc settings", "0 %", f"{v:g} %", "recovered", "gain"], drows), "",
        "Why the SR column is interleaved SR on threshold cells with one LUT per "
        "physical column: the golden macro fits each SR table to the realised "
        "Q-cells it reads, and with `lut_scope = per_slice` one table serves every "
        "column of a slice, whose Q-cells vary independently, so it can only undo "
        "their average. With threshold cells and the ones-counter, `a + b` is the "
        "exact count of both ADCs' realised thresholds below the input, so each "
        "entry of a per-column table is the centroid of one realised cell; "
        "interleaving ADC B's thresholds between ADC A's makes the pair one "
        "finer quantiser even where variation is small. Telling these designs "
        "apart takes about 24 chips (`--design-seeds 24`, see the README); a "
        f"handful of chips is within the noise of a {res['workload']['n_test']}-image test "
        "set.", ""]
    return out


def _adc_mse(res: dict) -> list[str]:
    a = res["config"]["adc"]
    out = ["## ADC-input MSE per quantiser and SR mode", "",
           f"{a['bits']}-bit ADC on the reference chip's ADC inputs (calibration images), "
           "per layer and LUT group; in-sample (golden `calibrate_adc`); realised Q-cells "
           "with the stated bound variation (no programming spread).", ""]
    mrows = []
    ad = res["schemes"]["adaptive"]["adc"]["method"]
    for g in res["adc_study"]:
        for v in g["mse"]:
            mrows.append([str(g["layer"]), str(g["group"]), f"{g['samples']}", f"{float(v):g}"]
                         + [f"{g['mse'][v][k]:.4g}" for k in ("uniform", "lloyd-max", "optimal")]
                         + [f"{g['sr_mse'][v][k]:.4g}" for k in _SR_MODES])
    out += [_table(["layer", "group", "samples", "variation %", "uniform", "Lloyd-Max",
                          "optimal", f"{ad} + SR nominal", "SR calibrated", "SR interleaved"],
                         mrows), ""]
    return out


def _linearity(res: dict) -> list[str]:
    return ["## Linearity of the realised ADCs", "",
            _table(["variation %", "ADCs", "RMS INL (LSB)", "RMS DNL (LSB)", "max abs INL",
                    "max abs DNL"],
                   [[f"{e['variation_pct']:g}", str(e["adcs"]), f"{e['rms_inl']:.3f}",
                     f"{e['rms_dnl']:.3f}", f"{e['max_abs_inl']:.3f}", f"{e['max_abs_dnl']:.3f}"]
                    for e in res["linearity"]]), ""]


def _hardware(res: dict) -> list[str]:
    rtl = res["rtl"]
    sc = rtl["golden_self_check"]
    out = ["## RTL", "",
           f"Verilog of the configured macro with the reference chip's calibrated LUTs "
           f"(layer 1, tile 0,0) in `verilog/`; {sc['mvms']} real MVMs of that tile "
           f"(match vectors from the golden Q-cells, {sc['flagged_mvms']} with corrected "
           "bubbles) in `verilog/mvms_*.npz`.", "",
           f"* golden digital path from the match vectors vs the golden macro: "
           f"{sc['out_mismatches']} output and {sc['flag_mismatches']} flag mismatches",
           f"* cocotb bench: **{rtl['status']}**"
           + (f", {rtl['mvms']} MVMs, {rtl['mismatches']} mismatches" if "mvms" in rtl else ""),
           "", "## Synthesis", "", f"{res['synth']['status']}", ""]
    syn = res["synth"]
    if "resources" in syn:
        out += [_table(["resource", "used"], [[k, str(v)] for k, v in syn["resources"].items()]),
                ""]
    return out


def _figures_and_timing(res: dict) -> list[str]:
    out = ["## Figures", ""]
    names = {Path(p).stem: p for p in res.get("figures", [])}
    for key, title in FIGURES.items():
        if key in names:
            out += [f"### {title}", "", f"![{title}]({names[key]})", ""]
    t = res.get("timing_s", {})
    if t:
        out += ["## Timing (wall clock, s)", "",
                _table(list(t), [[f"{v:.1f}" for v in t.values()]]), ""]
    return out


SECTIONS = (_claims, _accuracy, _sr_design, _adc_mse, _linearity, cost_lines, _hardware,
            _figures_and_timing)
"""The report's sections after its head, in order: each ``section(results) -> lines``."""


def markdown(res: dict, workload=None) -> str:
    """The report as Markdown (figures embedded by relative path); ``workload`` as for
    :func:`write_figures`."""
    out = _head(res, _workload(res, workload))
    for section in SECTIONS:
        out += section(res)
    return "\n".join(out)
