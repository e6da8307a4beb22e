"""The cost part of ``cimgen flow``'s report: the Pareto figure of accuracy against
energy per inference, and the cost tables (from ``results["cost"]`` alone)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["cost_lines", "fig_pareto", "pareto_front"]

_COLORS = {"uniform": "tab:gray", "adaptive": "tab:blue", "adaptive+sr": "tab:red"}
_MARKERS = {"qcell": "o", "flash": "s", "sar": "^"}


def _joined(res: dict, var: float) -> list[dict]:
    """The cost rows of ``res`` with the mean accuracy of their grid point at ``var``."""
    acc = {(s["scheme"], s["bits"]): s["accuracy_mean"] for s in res["accuracy"]["summary"]
           if s["variation_pct"] == var}
    return [{**r, "accuracy": acc[(r["scheme"], r["bits"])]} for r in res["cost"]["schemes"]
            if (r["scheme"], r["bits"]) in acc]


def pareto_front(points: list[dict]) -> list[dict]:
    """The points no other point beats on both lower energy and higher accuracy (ties
    on both kept once), by energy."""
    front = []
    for p in sorted(points, key=lambda p: (p["energy_per_inference_fj"], -p["accuracy"])):
        if not front or p["accuracy"] > front[-1]["accuracy"]:
            front.append(p)
    return front


def fig_pareto(res: dict, path: Path, plt, title: str) -> None:
    """Accuracy vs energy per inference, one panel per bound variation of the grid."""
    from .report import _panels, _save

    vars_ = sorted({s["variation_pct"] for s in res["accuracy"]["summary"]})
    fig, axes = _panels(plt, len(vars_))
    for ax, v in zip(axes.ravel(), vars_, strict=False):
        pts = _joined(res, v)
        for s in _COLORS:
            for kind, mk in _MARKERS.items():
                mine = sorted((p for p in pts if p["scheme"] == s and p["adc_kind"] == kind),
                              key=lambda p: p["bits"])
                if not mine:
                    continue
                ax.plot([p["energy_per_inference_fj"] * 1e-6 for p in mine],
                        [100 * p["accuracy"] for p in mine], mk, color=_COLORS[s], ms=5,
                        mfc="none" if kind != "qcell" else _COLORS[s],
                        label=f"{res['schemes'][s]['label']}, {kind}")
                if kind == "qcell":
                    for p in mine:
                        ax.annotate(f"{p['bits']}b", (p["energy_per_inference_fj"] * 1e-6,
                                                      100 * p["accuracy"]), fontsize=7,
                                    xytext=(3, 3), textcoords="offset points")
        front = pareto_front(pts)
        ax.step([p["energy_per_inference_fj"] * 1e-6 for p in front],
                [100 * p["accuracy"] for p in front], where="post", color="k", lw=0.8,
                label="Pareto front")
        ax.set_title(f"bound variation {v:g} %")
        ax.set_xlabel("energy per inference (nJ)")
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("test accuracy (%)")
    axes[0][0].legend(fontsize=6, loc="lower right", ncol=2)
    fig.suptitle(f"{title}: accuracy vs energy per inference over ADC bits x SR x ADC kind "
                 "(reference chip; filled: Q-cell)")
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def cost_lines(res: dict) -> list[str]:
    """The report's cost section."""
    from .report import _table

    if "cost" not in res:
        return []
    c = res["cost"]["per_inference"]
    e = c["energy_fj"]
    tot = c["energy_per_inference_fj"]
    out = ["## Cost", "",
           f"Per inference of the configured design on the reference chip ({c['tiles']} "
           f"tiles, {c['test_inputs']} test inputs, ADC kind {c['adc']}): "
           f"{tot * 1e-6:.4g} nJ, {c['tops_per_w']:.3g} TOPS/W, {c['latency_ns']:.4g} ns "
           f"(layers in sequence, tiles in parallel), {c['area_total_um2']:.4g} um^2 of "
           f"macros, {c['conversions']} conversions. Every figure is a cited preset "
           "(`golden/cost_presets.py`); activity is the golden run's.", "",
           _table(["component", "fJ per inference", "share"],
                  [[k, f"{v:.4g}", f"{100 * v / tot:.1f} %" if tot else "-"]
                   for k, v in e.items()]), "",
           _table(["layer", "tiles", "nJ per inference", "conversions", "latency (ns)"],
                  [[str(i + 1), str(ly["tiles"]), f"{ly['energy_per_inference_fj'] * 1e-6:.4g}",
                    str(ly["conversions_per_inference"]), f"{ly['latency_ns']:.4g}"]
                   for i, ly in enumerate(c["layers"])]), "",
           _table(["scheme", "bits", "ADC kind", "ADCs per column", "nJ per inference",
                   "of it ADC (pJ)", "TOPS/W", "area (um^2)"],
                  [[r["scheme"], str(r["bits"]), r["adc_kind"], str(r["adcs_per_column"]),
                    f"{r['energy_per_inference_fj'] * 1e-6:.4g}",
                    f"{r['adc_energy_fj'] * 1e-3:.4g}", f"{r['tops_per_w']:.3g}",
                    f"{r['area_total_um2']:.4g}"] for r in res["cost"]["schemes"]]), ""]
    return out
