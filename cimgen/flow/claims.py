"""The accuracy table's summary, the SR design table and the issue's claims."""

from __future__ import annotations

import numpy as np

from .. import metrics
from .grid import SR_DESIGNS, SR_VARIATION_PCT, FlowGrid

__all__ = ["check_claims", "sr_design_table", "summarise"]


def summarise(rows: list[dict]) -> list[dict]:
    """Mean, standard deviation and standard error of the accuracy per grid point (and
    the mean of every other :class:`~cimgen.metrics.FlowRun` metric)."""
    return metrics.summarise(rows, metrics.FlowRun, ("scheme", "bits", "variation_pct"))


def sr_design_table(rows: list[dict], grid: FlowGrid, bits: int = 4) -> dict:
    """The SR design alternatives at ``bits`` on ``design_seeds`` chips: accuracy at 0 %
    and :data:`SR_VARIATION_PCT`, and the fraction of the single adaptive ADC's loss
    each recovers (with the standard error of the mean gain, in points)."""
    nd = grid.design_seeds or grid.seeds
    v = SR_VARIATION_PCT
    names = ("adaptive", *SR_DESIGNS, "adaptive+sr")
    sel = [r for r in rows if r["bits"] == bits and r["scheme"] in names and r["trial"] < nd
           and r["variation_pct"] in (0.0, v)]
    acc = {(r["scheme"], r["variation_pct"], r["trial"]): r["accuracy"] for r in sel}
    trials = range(nd)
    cost = np.array([acc[("adaptive", 0.0, t)] - acc[("adaptive", v, t)] for t in trials])
    out = {"bits": bits, "variation_pct": v, "seeds": nd, "cost": float(cost.mean()),
           "summary": summarise(sel), "recovery": {}}
    for s in names[1:]:
        gain = np.array([acc[(s, v, t)] - acc[("adaptive", v, t)] for t in trials])
        out["recovery"][s] = {
            "gain": float(gain.mean()),
            "gain_sem": float(gain.std(ddof=1) / np.sqrt(nd)) if nd > 1 else 0.0,
            "fraction": float(gain.mean() / cost.mean()) if cost.mean() > 0 else None,
        }
    return out


def _mean(summary: list[dict], scheme: str, bits: int, var: float) -> float | None:
    for s in summary:
        if s["scheme"] == scheme and s["bits"] == bits and s["variation_pct"] == var:
            return s["accuracy_mean"]
    return None


def check_claims(summary: list[dict], rows: list[dict]) -> dict:
    """The issue's claims, each with the numbers it rests on and whether it holds."""
    claims: dict = {}
    ge = {}
    for b in (3, 4):
        u, a = _mean(summary, "uniform", b, 0.0), _mean(summary, "adaptive", b, 0.0)
        if u is not None and a is not None:
            ge[str(b)] = {"uniform": u, "adaptive": a, "holds": bool(a >= u)}
    claims["adaptive_ge_uniform"] = {
        "statement": "adaptive ADC accuracy >= uniform ADC accuracy at 3 and 4 bits "
                     "(0 % bound variation, mean over chips)",
        "per_bits": ge,
        "holds": bool(ge) and all(v["holds"] for v in ge.values()),
        "evaluated": len(ge) == 2,
    }
    b, v = 4, SR_VARIATION_PCT
    a0 = _mean(summary, "adaptive", b, 0.0)
    av = _mean(summary, "adaptive", b, v)
    sv = _mean(summary, "adaptive+sr", b, v)
    sr: dict = {"statement": f"adaptive + SR recovers at least half of the accuracy that "
                             f"{v:g} % bound variation costs a single adaptive ADC at {b} bits",
                "evaluated": None not in (a0, av, sv)}
    if sr["evaluated"]:
        cost, rec = a0 - av, sv - av
        per_trial = []
        trials = sorted({r["trial"] for r in rows if r["scheme"] == "adaptive"})
        for t in trials:
            def acc(s, var, t=t):
                return next(r["accuracy"] for r in rows if r["scheme"] == s and r["bits"] == b
                            and r["variation_pct"] == var and r["trial"] == t)
            per_trial.append({"trial": t, "cost": acc("adaptive", 0.0) - acc("adaptive", v),
                              "recovered": acc("adaptive+sr", v) - acc("adaptive", v)})
        sr.update({"adaptive_0pct": a0, f"adaptive_{v:g}pct": av, f"sr_{v:g}pct": sv,
                   "cost": cost, "recovered": rec,
                   "fraction": rec / cost if cost > 0 else None,
                   "holds": bool(rec >= cost / 2.0), "per_trial": per_trial})
    else:
        sr["holds"] = False
    claims["sr_recovers_half"] = sr
    return claims
