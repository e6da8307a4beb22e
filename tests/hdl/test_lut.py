# amaranth: UnusedElaboratable=no
"""CodeLut against golden.digital.lookup, with run-time writes through cfg_*."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from golden.digital import lookup, lut_index, lut_width, n_luts
from golden.spec import MacroSpec
from hdl.lut import CodeLut

SPECS = {
    "shared": dict(macro={"cols": 2, "weight_bits": 4, "cell_bits": 2},
                   adc={"bits": 3, "lut_scope": "shared"}),
    "per_slice-offset-sr": dict(macro={"cols": 2, "weight_bits": 4, "cell_bits": 2,
                                       "mapping": "offset"},
                                adc={"bits": 3, "sr": "nominal", "lut_scope": "per_slice"}),
    "per_column-sr": dict(macro={"cols": 3, "weight_bits": 3, "cell_bits": 2},
                          adc={"bits": 2, "sr": "interleaved", "lut_scope": "per_column"}),
    "per_slice-1bit": dict(macro={"cols": 1, "weight_bits": 2, "cell_bits": 1, "rows": 8,
                                  "input_signed": True},
                           adc={"bits": 1, "lut_scope": "per_slice", "lut_frac_bits": 0}),
}


def make_spec(name):
    return MacroSpec().replace(**SPECS[name])


def random_luts(rng, spec):
    half = 1 << (lut_width(spec) - 1)
    luts = rng.integers(-half, half, size=(n_luts(spec), spec.adc.lut_entries))
    luts.flat[:2] = [-half, half - 1]  # full scale of both signs
    return luts


def run_lut(dut, steps):
    """Drive one step per cycle; return ``value`` seen after each clock edge."""
    seen = []

    async def tb(ctx):
        for st in steps:
            ctx.set(dut.code, [int(c) for c in st["code"]])
            ctx.set(dut.en, st["en"])
            ctx.set(dut.cfg_we, st["we"])
            ctx.set(dut.cfg_addr, st["addr"])
            ctx.set(dut.cfg_data, st["data"])
            await ctx.tick()
            seen.append(list(ctx.get(dut.value)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return seen


def model_lut(init, spec, steps, port_luts=None):
    """Reads see the contents before the same cycle's write (what simulation gives for
    the read-during-write don't-care). Without ``port_luts``, golden.digital.lookup;
    with it, port ``k`` reads ``luts[port_luts[k]]``."""
    luts = np.array(init, dtype=np.int64)
    bits, entries = spec.adc.code_bits, spec.adc.lut_entries
    value, seen = None, []
    for st in steps:
        if st["en"] and port_luts is None:
            value = lookup(np.asarray(st["code"]), luts, spec).tolist()
        elif st["en"]:
            value = [int(luts[i, c]) for i, c in zip(port_luts, st["code"], strict=True)]
        lut_id, entry = st["addr"] >> bits, st["addr"] & ((1 << bits) - 1)
        if st["we"] and lut_id < luts.shape[0] and entry < entries:
            luts[lut_id, entry] = st["data"]
        seen.append(value)
    return seen


def step(code, en=1, we=0, addr=0, data=0):
    return {"code": code, "en": en, "we": we, "addr": addr, "data": data}


def read_all(spec):
    """Steps that read every entry in every column."""
    return [step([e] * spec.macro.phys_cols) for e in range(spec.adc.lut_entries)]


def random_steps(rng, spec, dut, n=150):
    half = 1 << (dut.data_width - 1)
    ports = len(dut.port_luts)
    return [
        step(rng.integers(0, spec.adc.lut_entries, size=ports),
             en=int(rng.random() < 0.8), we=int(rng.random() < 0.3),
             addr=int(rng.integers(0, 1 << dut.addr_width)),
             data=int(rng.integers(-half, half)))
        for _ in range(n)
    ] + [step([e] * ports) for e in range(spec.adc.lut_entries)]


def check_against_model(dut, init, spec, steps, port_luts=None):
    got, want = run_lut(dut, steps), model_lut(init, spec, steps, port_luts)
    assert len(got) == len(want)
    for t, (g, w) in enumerate(zip(got, want, strict=True)):
        if w is not None:
            assert g == w, f"cycle {t}: rtl {g} model {w}"


def ram_bits_cases(spec):
    """Every structure: one memory per LUT, all logic, all memory copies, and a split
    that differs per port (the FPGA flow's mixed mapping)."""
    w, p = lut_width(spec), spec.macro.phys_cols
    return {"memory": None, "logic": 0, "copies": w,
            "mixed": [(w - 1, 0, w, 1)[k % 4] for k in range(p)]}


@pytest.mark.parametrize("structure", ["memory", "logic", "copies", "mixed"])
@pytest.mark.parametrize("name", list(SPECS))
def test_random_reads_and_writes_match_golden(name, structure):
    spec = make_spec(name)
    rng = np.random.default_rng(len(name))
    init = random_luts(rng, spec)
    dut = CodeLut(spec, init, ram_bits=ram_bits_cases(spec)[structure])
    check_against_model(dut, init, spec, random_steps(rng, spec, dut))


@pytest.mark.parametrize("structure", ["memory", "mixed"])
def test_port_luts_shared_ports(structure):
    """Fewer read ports than columns, several on one LUT, in any order (a column mux)."""
    spec = make_spec("per_slice-offset-sr")  # 3 LUTs
    rng = np.random.default_rng(11)
    init = random_luts(rng, spec)
    port_luts = [2, 0, 0, 1, 2]
    w = lut_width(spec)
    ram_bits = None if structure == "memory" else [0, w, 3, w - 1, 1]
    dut = CodeLut(spec, init, port_luts=port_luts, ram_bits=ram_bits)
    assert dut.port_luts.tolist() == port_luts and dut.ram_bits == (
        None if ram_bits is None else tuple(ram_bits))
    assert len(dut.code) == len(dut.value) == 5
    assert dut.addr_map()["lut_of_column"] == port_luts
    check_against_model(dut, init, spec, random_steps(rng, spec, dut), port_luts)


def test_port_luts_default_is_lut_index():
    spec = make_spec("per_column-sr")
    init = np.zeros((n_luts(spec), spec.adc.lut_entries), dtype=np.int64)
    assert CodeLut(spec, init).port_luts.tolist() == lut_index(spec).tolist()
    assert CodeLut(spec, init).ram_bits is None


@pytest.mark.parametrize(("kw", "message"), [
    ({"port_luts": []}, r"port_luts = \[\]: must be a non-empty sequence of LUT ids "
                        r"in 0\.\.2"),
    ({"port_luts": [0, 3]}, r"port_luts = \[0, 3\]: must be a non-empty sequence"),
    ({"port_luts": [0, -1]}, r"port_luts = \[0, -1\]: must be"),
    ({"port_luts": [0, 1.0]}, r"port_luts = \[0, 1\.0\]: must be a sequence of integer"),
    ({"port_luts": 2}, r"port_luts = 2: must be a sequence of integer LUT ids in 0\.\.2"),
    ({"port_luts": [True]}, r"port_luts = \[True\]: must be"),
    ({"ram_bits": [0, 1]}, r"ram_bits = \[0, 1\]: must be None, or an integer or 5 "
                           r"integers \(one per read port\) in 0\.\."),
    ({"ram_bits": -1}, r"ram_bits = -1: must be None"),
    ({"ram_bits": 99}, r"ram_bits = 99: must be None"),
    ({"port_luts": [0, 1], "ram_bits": [0, 0, 0]}, r"ram_bits = \[0, 0, 0\]: .* or 2 "),
])
def test_bad_ports(kw, message):
    spec = make_spec("per_slice-offset-sr")
    with pytest.raises(ValueError, match=message):
        CodeLut(spec, np.zeros((3, 15), dtype=np.int64), **kw)


@pytest.mark.parametrize("name", list(SPECS))
def test_initial_contents_every_entry(name):
    spec = make_spec(name)
    init = random_luts(np.random.default_rng(7), spec)
    steps = read_all(spec)
    assert run_lut(CodeLut(spec, init), steps) == model_lut(init, spec, steps)


@pytest.mark.parametrize("structure", ["memory", "logic", "mixed"])
def test_read_during_write_old_in_simulation_then_new(structure):
    """The collision cycle is a don't-care of the contract; simulation (every
    structure) gives the old value, and the next read the new one."""
    spec = make_spec("per_slice-offset-sr")
    init = random_luts(np.random.default_rng(3), spec)
    dut = CodeLut(spec, init, ram_bits=ram_bits_cases(spec)[structure])
    assert dut.addr_map()["read_during_write"].startswith("don't care")
    lut_id, entry = 1, 5
    col = int(np.flatnonzero(lut_index(spec) == lut_id)[0])
    code = [0] * spec.macro.phys_cols
    code[col] = entry
    new = -int(init[lut_id, entry]) - 1
    steps = [step(code, we=1, addr=dut.address(lut_id, entry), data=new),  # cycle t
             step(code),                                                  # t + 1
             step(code)]
    seen = run_lut(dut, steps)
    assert [s[col] for s in seen] == [init[lut_id, entry], new, new]


def test_en_low_holds_value():
    spec = make_spec("shared")
    init = random_luts(np.random.default_rng(4), spec)
    dut = CodeLut(spec, init)
    p = spec.macro.phys_cols
    seen = run_lut(dut, [step([1] * p), step([2] * p, en=0), step([3] * p, en=0),
                         step([3] * p)])
    assert [s[0] for s in seen] == [init[0, 1], init[0, 1], init[0, 1], init[0, 3]]


def test_out_of_range_writes_are_ignored():
    spec = make_spec("per_slice-offset-sr")  # 3 LUTs of 15 entries: holes in both fields
    init = random_luts(np.random.default_rng(5), spec)
    dut = CodeLut(spec, init)
    bits = spec.adc.code_bits
    bad = [(3 << bits) | e for e in range(1 << bits)]
    bad += [(lut << bits) | ((1 << bits) - 1) for lut in range(3)]
    steps = [step([0] * spec.macro.phys_cols, en=0, we=1, addr=a, data=-1) for a in bad]
    steps += read_all(spec)
    got = run_lut(dut, steps)[len(bad):]
    assert got == model_lut(init, spec, read_all(spec))


def test_address_map():
    spec = make_spec("per_slice-offset-sr")
    dut = CodeLut(spec, np.zeros((3, 15), dtype=np.int64))
    amap = dut.addr_map()
    assert (dut.addr_width, dut.latency, dut.n_luts, dut.data_width) == (
        2 + 4, 1, 3, lut_width(spec))
    assert amap["addr_width"] == 6 and amap["lut_id_bits"] == 2 and amap["entry_bits"] == 4
    assert (amap["n_luts"], amap["lut_entries"]) == (3, 15)
    assert amap["lut_of_column"] == lut_index(spec).tolist()
    assert dut.address(2, 14) == 2 * 16 + 14
    with pytest.raises(ValueError, match=r"entry = 15: must be in 0\.\.14"):
        dut.address(0, 15)
    with pytest.raises(ValueError, match=r"lut_id = 3: must be in 0\.\.2"):
        dut.address(3, 0)
    single = CodeLut(make_spec("shared"), np.zeros((1, 8), dtype=np.int64))
    assert (single.addr_width, single.addr_map()["lut_id_bits"]) == (3, 0)


def test_signature_widths():
    spec = make_spec("per_column-sr")
    dut = CodeLut(spec, np.zeros((n_luts(spec), 7), dtype=np.int64))
    p = spec.macro.phys_cols
    assert len(dut.code.as_value()) == p * 3
    assert len(dut.value.as_value()) == p * lut_width(spec)
    assert dut.cfg_data.shape().signed and len(dut.cfg_data) == lut_width(spec)
    assert dut.init.shape == (n_luts(spec), 7) and not dut.init.flags.writeable


@pytest.mark.parametrize(
    ("init", "message"),
    [
        (np.zeros((2, 8), dtype=np.int64), r"init: shape \(2, 8\) must be \(n_luts, "
                                           r"lut_entries\) = \(1, 8\)"),
        (np.zeros((1, 8)), "init: dtype float64 is not allowed; need integers"),
        (np.full((1, 8), 1 << 40), "init: values .* do not fit the signed lut_width = "),
    ],
)
def test_bad_init(init, message):
    with pytest.raises(ValueError, match=message):
        CodeLut(make_spec("shared"), init)


def test_bad_spec():
    with pytest.raises(ValueError, match=r"spec = 3: must be a golden\.spec\.MacroSpec"):
        CodeLut(3, np.zeros((1, 8), dtype=np.int64))
