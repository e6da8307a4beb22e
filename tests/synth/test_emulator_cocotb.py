"""The board emulator top (hdl.emulator) as Verilog under cocotb, talked to over its
UART pins by the unchanged host protocol code (synth.host) through a simulated serial
transport (sim.bench_emulator): every output and flag equals golden bit for bit, every
request gets exactly one response, malformed frames are answered as documented.

Exports and builds are cached under build/sim (one directory per config and emulator
options), so a second run only simulates.
"""

import shutil
import time
from pathlib import Path

import pytest

from golden.spec import MacroSpec
from hdl.emulator import Command, Status, crc8
from sim.bench_emulator import ResponseCounter
from sim.emulator_runner import run_emulator, start_comb_blocks

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "sim"

# name: (config, run options). Together: window/threshold, SR none/calibrated,
# differential/offset, unsigned/signed inputs, cell bits 2/1, an ideal crossbar (the
# analog golden macro must agree too) and one with programming error and emulator read
# noise; Q-cell bound variation in both.
CONFIGS = {
    "win3-none-diff-unsigned-ideal": (
        {"macro": {"rows": 6, "cols": 2, "input_bits": 3, "weight_bits": 4, "cell_bits": 2},
         "adc": {"bits": 3, "lut_frac_bits": 4, "window_guard_pct": 0.0},
         "device": {"program_sigma": "none", "read_sigma_us": 0.0,
                    "bound_variation_pct": 3.0, "seed": 2}},
        {"vectors": 9, "seed": 1}),
    "thr3-calibrated-offset-signed-noise": (
        {"macro": {"rows": 5, "cols": 2, "input_bits": 3, "input_signed": True,
                   "weight_bits": 3, "cell_bits": 1, "mapping": "offset"},
         "adc": {"bits": 3, "encoding": "threshold", "sr": "calibrated", "lut_frac_bits": 4},
         "device": {"bound_variation_pct": 5.0, "seed": 3}},
        {"vectors": 7, "seed": 2, "noise_bits": 2, "noise_seed": 77}),
    # the column mux (adc.columns_per_adc = k) between the twin and the periphery:
    # k = 1 above, k = 2 and k = 8 (one ADC per slice and polarity for all 8 columns)
    "win3-none-diff-unsigned-k2-ideal": (
        {"macro": {"rows": 6, "cols": 4, "input_bits": 3, "weight_bits": 4, "cell_bits": 2},
         "adc": {"bits": 3, "lut_frac_bits": 4, "window_guard_pct": 0.0,
                 "columns_per_adc": 2},
         "device": {"program_sigma": "none", "read_sigma_us": 0.0,
                    "bound_variation_pct": 3.0, "seed": 5}},
        {"vectors": 9, "seed": 4}),
    "thr2-calibrated-offset-signed-k8-noise": (
        {"macro": {"rows": 4, "cols": 8, "input_bits": 2, "input_signed": True,
                   "weight_bits": 3, "cell_bits": 2, "mapping": "offset"},
         "adc": {"bits": 2, "encoding": "threshold", "sr": "calibrated", "lut_frac_bits": 4,
                 "columns_per_adc": 8},
         "device": {"bound_variation_pct": 5.0, "seed": 4}},
        {"vectors": 7, "seed": 3, "noise_bits": 1, "noise_seed": 5}),
}


@pytest.fixture(scope="module")
def icarus():
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        reason = "Icarus Verilog (iverilog, vvp) is not installed: apt-get install iverilog"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    pytest.importorskip("cocotb_tools", reason="cocotb is not installed")


@pytest.mark.sim
@pytest.mark.parametrize("name", list(CONFIGS))
def test_uart_session_equals_golden(icarus, tmp_path, name):
    doc, opts = CONFIGS[name]
    spec = MacroSpec.from_dict(doc)
    t0 = time.perf_counter()
    res = run_emulator(spec, root=BUILD, out=tmp_path, batch_max=4, **opts)
    wall = time.perf_counter() - t0
    print(f"{name}: {res.transactions} checks, build {res.build_time:.1f} s, "
          f"total {wall:.1f} s")
    assert res.passed, res.report()
    names = {o.name: o for o in res.outcomes}
    assert set(names) == {"test_session_equals_golden", "test_malformed_frames"}
    sess = names["test_session_equals_golden"].stats
    vectors = opts["vectors"]
    m = spec.macro
    assert sess["extra"]["outputs"] == vectors * m.cols
    assert sess["extra"]["flags_checked"] == vectors
    assert sess["extra"]["batches"] == -(-vectors // 4)
    # each output and flag against two references, plus the STATUS counters
    assert sess["transactions"] >= 2 * vectors * (m.cols + 1)
    assert sess["extra"]["requests"] == sess["extra"]["responses"] > 0
    if name.endswith("ideal"):
        assert sess["extra"]["golden_macro_outputs"] == vectors * m.cols
    bad = names["test_malformed_frames"].stats
    assert bad["extra"]["malformed"] == 4 and bad["transactions"] > 0
    assert res.mismatches == 0


def _response(status: int, cmd: int, payload: bytes = b"") -> bytes:
    body = bytes([status, cmd, len(payload) & 0xFF, len(payload) >> 8]) + payload
    return b"\x5a" + body + bytes([crc8(body)])


def test_response_counter_frames_stray_and_crc():
    c = ResponseCounter()
    good = _response(Status.OK, Command.READ, bytes(range(7)))
    bad = bytearray(_response(Status.BAD_CRC, Command.STATUS))
    bad[-1] ^= 1
    for b in b"\x00\x13" + good + bytes(bad) + _response(Status.OK, Command.RUN, b"\x02\x00")[:4]:
        c.feed(b)
    assert c.frames == [(Status.OK, Command.READ), (Status.BAD_CRC, Command.STATUS)]
    assert (c.stray, c.bad_crc, c.partial) == (2, 1, True)


def test_comb_blocks_started_at_time_0():
    dummy = "\\$auto$verilog_backend.cc:2355:dump_module$1 "
    text = f"module m(a);\n  reg {dummy} = 0;\n  always @* if ({dummy}) begin end\nendmodule\n"
    out, n = start_comb_blocks(text)
    assert n == 1
    assert f"  reg {dummy} = 0;\n  initial #0 {dummy} = 1;\n" in out
