"""The macro spec: defaults, derived facts and validation messages."""

import dataclasses

import pytest

from golden.spec import (
    AdcSpec,
    ArraySpec,
    DeviceSpec,
    FpgaSpec,
    HdlSpec,
    MacroSpec,
    SpecError,
    WorkloadSpec,
)


def test_defaults_match_design_contract():
    s = MacroSpec()
    assert (s.macro.rows, s.macro.cols, s.macro.input_bits, s.macro.weight_bits) == (64, 8, 4, 4)
    assert (s.macro.cell_bits, s.macro.mapping, s.macro.input_signed) == (2, "differential", False)
    assert (s.adc.bits, s.adc.encoding, s.adc.sr) == (4, "window", "none")
    assert s.adc.method == "lloyd-max"
    assert (s.adc.lut_frac_bits, s.adc.lut_scope) == (8, "per_slice")
    assert (s.device.g_min_us, s.device.g_max_us, s.device.program_sigma) == (
        100.0, 400.0, "readc-fig3c")
    assert s.hdl.top == "cim_periphery"
    assert (s.fpga.board, s.fpga.clock_mhz) == ("icebreaker", 12.0)
    assert s.workload.name == "none"


@pytest.mark.parametrize(
    ("wb", "cb", "mapping", "slices", "phys"),
    [
        (4, 2, "differential", 2, 8 * 2 * 2),
        (4, 1, "differential", 4, 8 * 4 * 2),
        (8, 3, "differential", 3, 8 * 3 * 2),  # 8 bits in 3-bit cells: rounded up
        (4, 4, "offset", 1, 8 + 1),  # + the reference column
        (5, 2, "offset", 3, 8 * 3 + 1),
    ],
)
def test_slices_and_physical_columns(wb, cb, mapping, slices, phys):
    a = ArraySpec(cols=8, weight_bits=wb, cell_bits=cb, mapping=mapping)
    assert a.slices == slices
    assert a.phys_cols == phys


def test_phys_index_is_a_bijection_onto_data_columns():
    a = ArraySpec(cols=3, weight_bits=5, cell_bits=2)
    idx = sorted(a.phys_index(c, s, p) for c in range(3) for s in range(a.slices) for p in range(2))
    assert idx == list(range(a.phys_cols))


def test_ranges_of_weights_and_inputs():
    assert ArraySpec(weight_bits=4).weight_range == (-8, 7)
    assert ArraySpec(input_bits=4).input_range == (0, 15)
    assert ArraySpec(input_bits=4, input_signed=True).input_range == (-8, 7)


def test_adc_derived_sizes():
    assert AdcSpec(bits=4).cells == 16
    assert AdcSpec(bits=4, encoding="threshold").cells == 15
    assert AdcSpec(bits=4, sr="nominal").lut_entries == 31
    assert AdcSpec(bits=4, sr="nominal").code_bits == 5
    assert AdcSpec(bits=4, sr="interleaved").adcs_per_column == 2
    assert AdcSpec(bits=3).lut_entries == 8


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"adc": {"bits": 9}}, r"adc\.bits = 9: must be an integer in 1\.\.8"),
        ({"adc": {"bits": 4.0}}, r"adc\.bits = 4\.0: must be an integer"),
        ({"macro": {"rows": True}}, r"macro\.rows = True: must be an integer"),
        ({"macro": {"mapping": "diff"}}, r"macro\.mapping = 'diff': must be one of 'differential'"),
        ({"macro": {"colz": 3}}, r"macro\.colz = 3: unknown key; known keys: rows, cols"),
        ({"adcs": {}}, r"adcs = \{\}: unknown section; known sections: macro, adc"),
        ({"device": {"program_sigma": "fig9"}}, r"device\.program_sigma = 'fig9': must be one of"),
        ({"device": {"program_sigma": -1.0}}, r"device\.program_sigma = -1\.0"),
        ({"device": {"g_max_us": 90.0}}, r"device\.g_max_us = 90\.0: must be greater than"),
        ({"device": {"stuck_on_rate": 1.5}}, r"device\.stuck_on_rate = 1\.5: must be a number in"),
        ({"device": {"stuck_on_rate": 0.6, "stuck_off_rate": 0.6}}, r"stuck_on_rate \+ stuck_off"),
        ({"device": {"read_sigma_us": float("nan")}}, r"device\.read_sigma_us = nan"),
        ({"hdl": {"top": "9top"}}, r"hdl\.top = '9top': must be an identifier"),
        ({"fpga": {"clock_mhz": 0}}, r"fpga\.clock_mhz = 0: must be a number in \(0, 1000\]"),
        ({"macro": {"cell_bits": 5, "weight_bits": 4}}, r"macro\.cell_bits = 5: must be at most"),
        ({"macro": {"weight_bits": 1, "cell_bits": 1}}, r"weight_bits = 1: must be at least 2"),
        ({"workload": {"name": "mnist"}},
         r"workload\.name = 'mnist': must be one of 'none', 'digits'"),
        ({"workload": {"name": None}}, r"workload\.name = None: must be one of"),
        ({"workload": {"network": "mlp"}},
         r"workload\.network = 'mlp': unknown key; known keys: name"),
        ({"workload": "digits"}, r"workload = 'digits': must be a table of keys"),
    ],
)
def test_bad_values_name_key_value_and_range(data, match):
    with pytest.raises(SpecError, match=match):
        MacroSpec.from_dict(data)


def test_error_carries_key_value_allowed():
    with pytest.raises(SpecError) as ei:
        MacroSpec.from_dict({"adc": {"encoding": "gray"}})
    assert ei.value.key == "adc.encoding"
    assert ei.value.value == "gray"
    assert "'window'" in ei.value.allowed


def test_program_sigma_accepts_number_as_float():
    d = DeviceSpec(program_sigma=3)
    assert d.program_sigma == 3.0
    assert isinstance(d.program_sigma, float)


def test_roundtrip_and_replace():
    s = MacroSpec.from_dict({"macro": {"rows": 32}, "adc": {"sr": "calibrated"}})
    assert MacroSpec.from_dict(s.to_dict()) == s
    t = s.replace(adc={"bits": 5})
    assert (t.adc.bits, t.adc.sr, t.macro.rows) == (5, "calibrated", 32)
    with pytest.raises(SpecError, match=r"adc\.bits = 0"):
        s.replace(adc={"bits": 0})


def test_spec_is_frozen():
    s = MacroSpec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.adc.bits = 5  # type: ignore[misc]


def test_sections_reject_wrong_types():
    with pytest.raises(SpecError, match="macro = 3: must be a table"):
        ArraySpec.from_dict(3)  # type: ignore[arg-type]
    assert HdlSpec(top="my_top").top == "my_top"
    assert FpgaSpec(board="ulx3s-85f").board == "ulx3s-85f"


def test_workload_section():
    s = MacroSpec.from_dict({"workload": {"name": "digits"}})
    assert s.workload == WorkloadSpec(name="digits")
    rest = {"model": "", "data": "", "weight_scale": "per_channel", "calibration_samples": 256}
    assert s.to_dict()["workload"] == {"name": "digits", **rest}
    assert MacroSpec.from_dict(s.to_dict()) == s
    assert s.replace(workload={"name": "none"}).workload.name == "none"
    assert MacroSpec().to_dict()["workload"] == {"name": "none", **rest}


def test_onnx_workload_needs_its_files_and_only_it():
    s = MacroSpec.from_dict({"workload": {"name": "onnx", "model": "m.onnx", "data": "d.npz"}})
    assert (s.workload.model, s.workload.data) == ("m.onnx", "d.npz")
    with pytest.raises(SpecError, match=r"workload\.data = '': required with workload\.name"):
        MacroSpec.from_dict({"workload": {"name": "onnx", "model": "m.onnx"}})
    with pytest.raises(SpecError, match=r"workload\.model = 'm\.onnx': only with workload\.name"):
        MacroSpec.from_dict({"workload": {"name": "digits", "model": "m.onnx"}})
    with pytest.raises(SpecError, match=r"workload\.weight_scale = 'per_tensor'"):
        MacroSpec.from_dict({"workload": {"weight_scale": "per_tensor"}})
    with pytest.raises(SpecError, match=r"workload\.calibration_samples = 0"):
        MacroSpec.from_dict({"workload": {"calibration_samples": 0}})


# -- adc.columns_per_adc ---------------------------------------------------------------

def test_columns_per_adc_defaults_to_one_adc_per_column():
    assert MacroSpec().adc.columns_per_adc == 1
    assert MacroSpec.from_dict({"adc": {"columns_per_adc": 8}}).adc.columns_per_adc == 8


@pytest.mark.parametrize(("data", "message"), [
    ({"adc": {"columns_per_adc": 2, "lut_scope": "per_column"}},
     "adc.columns_per_adc = 2: must be 1 with adc.lut_scope = 'per_column': columns sharing "
     "an ADC share its Q-cell bounds, so they need one LUT ('per_slice' or 'shared')"),
    ({"macro": {"cols": 4}, "adc": {"columns_per_adc": 5}},
     "adc.columns_per_adc = 5: must be at most macro.cols = 4"),
    ({"adc": {"columns_per_adc": 0}}, "adc.columns_per_adc = 0: must be an integer in 1..64"),
    ({"adc": {"columns_per_adc": 65}}, "adc.columns_per_adc = 65: must be an integer in 1..64"),
])
def test_columns_per_adc_refusals(data, message):
    with pytest.raises(SpecError) as info:
        MacroSpec.from_dict(data)
    assert str(info.value) == message
    assert info.value.key == "adc.columns_per_adc"


@pytest.mark.parametrize(("cols", "k", "scope"), [
    (4, 4, "shared"), (8, 3, "per_slice"), (1, 1, "per_column"), (8, 1, "per_column")])
def test_columns_per_adc_accepted_at_the_limits(cols, k, scope):
    s = MacroSpec.from_dict({"macro": {"cols": cols}, "adc": {"columns_per_adc": k,
                                                              "lut_scope": scope}})
    assert (s.macro.cols, s.adc.columns_per_adc, s.adc.lut_scope) == (cols, k, scope)
