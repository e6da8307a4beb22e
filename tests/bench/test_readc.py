"""``python -m bench --readc PATH``: the reference functions are found in a checkout by
their ``def``, called on the same data as cimgen's, and compared.

The checkout here is a stand-in written for this test: numpy functions with the
reference code's names and call signatures (the real one needs torch), following the
rules its paper states: SR takes the level where both ADCs agree and the nominal
boundary between their codes where they differ.
"""

import textwrap

import numpy as np
import pytest

from bench import bench_quantize, bench_sr
from bench.readc import find_function

STANDIN = textwrap.dedent('''
    import numpy as np

    def lloyd_max_algorithm(data, bits, time_limit=None):
        x = np.sort(np.asarray(data, dtype=float))
        levels = np.quantile(x, (np.arange(2 ** bits) + 0.5) / 2 ** bits)
        for _ in range(50):
            b = 0.5 * (levels[1:] + levels[:-1])
            idx = np.searchsorted(b, x)
            levels = np.array([x[idx == k].mean() if np.any(idx == k) else levels[k]
                               for k in range(2 ** bits)])
        b = 0.5 * (levels[1:] + levels[:-1])
        return np.concatenate([[x[0]], b, [x[-1]]]), levels

    def super_resolution_quantize(input_tensor, bit_precision, boundary_sets=None,
                                  output_levels=None):
        x = np.asarray(input_tensor)
        codes = [np.searchsorted(np.asarray(s), x, side="right") for s in boundary_sets[1:]]
        lv = np.asarray(output_levels)
        out = lv[codes[0]].astype(float)
        differ = codes[0] != codes[1]
        low = np.minimum(codes[0], codes[1])[differ]
        out[differ] = np.asarray(boundary_sets[0])[low]
        return out
''')


@pytest.fixture
def checkout(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "readc_quant.py").write_text(STANDIN)
    (tmp_path / "src" / "other.py").write_text("import no_such_package\n")
    return tmp_path


def test_find_function_and_reasons_to_skip(checkout, tmp_path):
    fn, where = find_function(checkout, "super_resolution_quantize")
    assert callable(fn) and where.endswith("readc_quant.py")
    assert find_function(None, "x") == (None, "no readc_path given")
    assert "is not a directory" in find_function(tmp_path / "nope", "x")[1]
    assert "no module defining nothing_here" in find_function(checkout, "nothing_here")[1]
    (checkout / "src" / "broken.py").write_text("import no_such_package\ndef broken(): pass\n")
    fn, why = find_function(checkout, "broken")
    assert fn is None and "no_such_package" in why


def test_sr_reference_is_timed_and_agrees_with_nominal_sr(checkout):
    res = bench_sr.main(n_samples=200_000, n_loop=20_000, readc_path=checkout)
    r = res["readc_sr"]
    assert r is not None and r["seconds"] > 0
    # Where the two codes differ by at most one, the paper's rule is cimgen's nominal
    # SR table exactly.
    assert r["equal_where_codes_differ_by_at_most_one"] == 1.0
    assert res["readc_sr_note"].endswith("readc_quant.py")


def test_sr_without_checkout_says_why(capsys):
    res = bench_sr.main(n_samples=100_000, n_loop=10_000)
    assert res["readc_sr"] is None and res["readc_sr_note"] == "no readc_path given"
    assert "ReADC super_resolution_quantize: skipped (no readc_path given)" in \
        capsys.readouterr().out


def test_lloyd_reference_rows(checkout, monkeypatch):
    monkeypatch.setattr(bench_quantize, "READC_CASES", ((20_000, 3),))
    fn, _ = find_function(checkout, "lloyd_max_algorithm")
    (row,) = bench_quantize._bench_readc(fn, np.random.default_rng(1))
    assert row["n"] == 20_000 and row["bits"] == 3 and row["readc_s"] > 0
    # Both converge to the same 3-bit Gaussian quantiser (Max 1960: MSE 0.03455).
    assert row["readc_mse"] == pytest.approx(row["lloyd_mse"], rel=0.02)
    assert row["lloyd_mse"] == pytest.approx(0.03455, rel=0.05)
