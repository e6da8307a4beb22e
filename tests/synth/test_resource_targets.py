# amaranth: UnusedElaboratable=no
"""Resource targets of issue 15 ("LUTs in memory"): the default config
(examples/default.toml, 64 x 8, 32 physical columns) on its default board, the
iCEBreaker (iCE40 UP5K), through the whole flow to a bitstream (one build shared by
the tests of this module, about a minute; skipped only when the YoWASP toolchain is
missing). The test checks that it fits the device (the UP5K bitstream is always
104,090 bytes); the issue's cell and Fmax targets are benchmark figures, measured and
recorded in the README's Benchmarks section, not asserted here."""

import json
from pathlib import Path

import pytest

from cimgen import cli

pytestmark = pytest.mark.synth

DEFAULT = Path(__file__).resolve().parents[2] / "examples" / "default.toml"
UP5K = {"lcs": 5280, "bram": 30}


@pytest.fixture(scope="module")
def default_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("targets") / "icebreaker"
    code = cli.main(["synth", str(DEFAULT), "--board", "icebreaker", "-o", str(out)])
    return code, json.loads((out / "report.json").read_text()), out


@pytest.fixture
def build(toolchain, request):
    toolchain("yosys", "nextpnr-ice40", "icepack")
    return request.getfixturevalue("default_build")


def test_default_bitstream_fits_the_up5k(build):
    code, report, out = build
    assert code == 0
    assert report["fits"] is True and report["over_capacity"] == {}
    assert report["mode"] == "bitstream" and report["periphery"]["latency"] > 0
    bits = out / report["files"]["bitstream"]
    assert bits.name == "cimgen_scan_harness.bin" and bits.stat().st_size == 104090
    placed = report["placed"]
    assert placed["lcs"]["available"] == UP5K["lcs"] and placed["lcs"]["used"] <= UP5K["lcs"]
    assert placed["bram"]["used"] == report["resources"]["bram"] <= UP5K["bram"]
    ports = report["memory"]["ports"]
    assert sum(ports[k] for k in ("block", "split", "distributed", "logic")) == 32
    assert report["resources"]["bram"] == report["memory"]["ram_bits"].count(16)
