"""``cimgen calibrate``: clipping by --full-scale counted, the data's scale, 2-D data.

The refusals (3-D arrays, too few distinct values, magnitudes whose squares overflow,
spreads whose squares underflow, denormals) are rows of the bad-input table
(tests/cimgen/test_bad_inputs.py); here the cases that succeed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cimgen import cli
from cimgen.calibrate import MAX_ABS, MIN_SPREAD


def _run(tmp_path, capsys, data, *args, out="c.json"):
    code = cli.main(["calibrate", str(data), *map(str, args), "-o", str(tmp_path / out)])
    o, e = capsys.readouterr()
    assert code == 0, e
    return o, json.loads((tmp_path / out).read_text())


@pytest.fixture
def normal(tmp_path):
    x = np.random.default_rng(0).normal(size=2000)
    np.save(tmp_path / "x.npy", x)
    return x


def test_full_scale_narrower_than_the_data_reports_the_clipped_samples(tmp_path, capsys,
                                                                       normal):
    out, doc = _run(tmp_path, capsys, tmp_path / "x.npy", "--bits", 4, "--full-scale", -1, 1)
    below, above = int(np.sum(normal < -1)), int(np.sum(normal > 1))
    assert below > 300 and above > 300
    assert doc["clipped"] == {"below_lo": below, "above_hi": above,
                              "below_lo_pct": 100 * below / 2000,
                              "above_hi_pct": 100 * above / 2000}
    lines = out.splitlines()
    line = next(i for i, t in enumerate(lines) if t.startswith("clipped by --full-scale"))
    assert lines[line - 1].startswith("optimal")          # right under the table
    assert (f"{below} sample(s) ({100 * below / 2000:.2f} %) below LO -1, {above} "
            f"({100 * above / 2000:.2f} %) above HI 1") in lines[line]


def test_default_full_scale_clips_nothing(tmp_path, capsys, normal):
    out, doc = _run(tmp_path, capsys, tmp_path / "x.npy", "--bits", 3)
    assert doc["clipped"] == {"below_lo": 0, "above_hi": 0, "below_lo_pct": 0.0,
                              "above_hi_pct": 0.0}
    assert "clipped by" not in out


@pytest.mark.parametrize("exp", [300, -300])
def test_scaled_data_gives_the_same_quantisers(tmp_path, capsys, normal, exp):
    """A power-of-two scale (2**300 ~ 2e90, 2**-300 ~ 5e-91, inside the allowed band)
    scales every boundary, level and SR entry exactly and leaves the SQNR as it is."""
    assert 2.0 ** abs(exp) < MAX_ABS and 2.0 ** -abs(exp) > MIN_SPREAD
    np.save(tmp_path / "s.npy", normal * 2.0**exp)
    args = ("--bits", 3, "--sr", "interleaved", "--variation", 1)
    _, ref = _run(tmp_path, capsys, tmp_path / "x.npy", *args, out="ref.json")
    _, got = _run(tmp_path, capsys, tmp_path / "s.npy", *args, out="s.json")
    for m in ("uniform", "lloyd-max", "optimal"):
        r, g = ref["methods"][m], got["methods"][m]
        for key in ("boundaries", "levels"):
            np.testing.assert_array_equal(np.array(g[key]), np.array(r[key]) * 2.0**exp)
        np.testing.assert_array_equal(np.array(g["sr"]["table"]),
                                      np.array(r["sr"]["table"]) * 2.0**exp)
        assert g["sqnr_db"] == pytest.approx(r["sqnr_db"], abs=1e-9)
        assert g["sr"]["sqnr_db"] == pytest.approx(r["sr"]["sqnr_db"], abs=1e-9)
        assert g["mse"] == pytest.approx(r["mse"] * 4.0**exp, rel=1e-9)


def test_two_d_data_is_pooled(tmp_path, capsys, normal):
    np.save(tmp_path / "x2.npy", normal.reshape(200, 10))
    _, flat = _run(tmp_path, capsys, tmp_path / "x.npy", "--bits", 3, out="a.json")
    _, two = _run(tmp_path, capsys, tmp_path / "x2.npy", "--bits", 3, out="b.json")
    assert two["data"]["samples"] == 2000
    assert two["methods"] == flat["methods"]


def test_few_distinct_values_are_fine_for_the_uniform_quantiser(tmp_path, capsys):
    """An 8-row macro's partial sums (0..8, 9 values) at 4 bits: uniform needs no
    distinct values per level; Lloyd-Max and optimal are refused (a bad-input row)."""
    x = np.random.default_rng(1).integers(0, 9, 500).astype(float)
    np.save(tmp_path / "p.npy", x)
    _, doc = _run(tmp_path, capsys, tmp_path / "p.npy", "--bits", 4, "--method", "uniform")
    assert list(doc["methods"]) == ["uniform"]
    # 3 bits (8 levels) fit 9 distinct values
    _run(tmp_path, capsys, tmp_path / "p.npy", "--bits", 3, out="b3.json")


def test_json_is_strict_when_a_figure_is_infinite(tmp_path, capsys):
    """A lossless SR table (MSE 0) has SQNR +inf: written as "inf", not as Infinity."""
    x = np.random.default_rng(1).integers(0, 9, 500).astype(float)
    np.save(tmp_path / "p.npy", x)
    _run(tmp_path, capsys, tmp_path / "p.npy", "--bits", 3, "--sr", "calibrated",
         "--method", "uniform", "--variation", 1)

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    doc = json.loads((tmp_path / "c.json").read_text(), parse_constant=refuse)
    sr = doc["methods"]["uniform"]["sr"]
    assert sr["mse"] == 0.0 and sr["sqnr_db"] == "inf"
