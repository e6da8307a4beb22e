"""golden.randcfg: random configs are legal, reproducible and cover every choice."""

import json

import pytest

from golden.digital import DECODERS
from golden.randcfg import (
    COLUMNS_PER_ADC,
    LIMITS,
    SHARED_COLS,
    random_config,
    random_decoder,
    random_spec,
)
from golden.spec import MacroSpec

SEEDS = range(500)


@pytest.fixture(scope="module")
def specs():
    return [MacroSpec.from_dict(random_config(s)) for s in SEEDS]


def test_every_seed_validates_within_the_limits(specs):
    for seed, spec in zip(SEEDS, specs, strict=True):
        m, a = spec.macro, spec.adc
        assert LIMITS["rows"][0] <= m.rows <= LIMITS["rows"][1], seed
        k = a.columns_per_adc
        cols = SHARED_COLS if k == 8 else LIMITS["cols"]
        assert cols[0] <= m.cols <= cols[1], seed
        assert k in COLUMNS_PER_ADC and k <= m.cols, seed
        assert k == 1 or a.lut_scope != "per_column", seed
        assert m.input_bits <= LIMITS["input_bits"][1], seed
        assert m.cell_bits <= LIMITS["cell_bits"][1], seed
        assert a.bits <= LIMITS["adc_bits"][1], seed
        assert a.lut_frac_bits <= LIMITS["lut_frac_bits"][1], seed
        assert random_decoder(seed, a.encoding) in DECODERS[a.encoding]


def test_covers_every_choice(specs):
    seen: dict[str, set] = {}
    for seed, spec in zip(SEEDS, specs, strict=True):
        for k, v in [("encoding", spec.adc.encoding), ("sr", spec.adc.sr),
                     ("method", spec.adc.method), ("lut_scope", spec.adc.lut_scope),
                     ("mapping", spec.macro.mapping), ("signed", spec.macro.input_signed),
                     ("guard_auto", spec.adc.window_guard_pct == "auto"),
                     ("program_sigma", type(spec.device.program_sigma).__name__),
                     ("adc_bits", spec.adc.bits), ("cell_bits", spec.macro.cell_bits),
                     ("cols", spec.macro.cols), ("input_bits", spec.macro.input_bits)]:
            seen.setdefault(k, set()).add(v)
        seen.setdefault("encoding/sr", set()).add((spec.adc.encoding, spec.adc.sr))
        seen.setdefault("decoder", set()).add(random_decoder(seed, spec.adc.encoding))
        k = spec.adc.columns_per_adc
        seen.setdefault("columns_per_adc", set()).add(k)
        seen.setdefault("k/ragged", set()).add((k, spec.macro.cols % k != 0))
        seen.setdefault("k/mapping", set()).add((k, spec.macro.mapping))
    assert seen["encoding"] == {"window", "threshold"}
    assert seen["sr"] == {"none", "nominal", "calibrated", "interleaved"}
    assert seen["method"] == {"lloyd-max", "uniform", "optimal"}
    assert seen["lut_scope"] == {"shared", "per_slice", "per_column"}
    assert seen["mapping"] == {"differential", "offset"}
    assert seen["signed"] == seen["guard_auto"] == {False, True}
    assert seen["program_sigma"] == {"str", "float"}
    assert len(seen["encoding/sr"]) == 8
    assert seen["decoder"] == {d for ds in DECODERS.values() for d in ds}
    assert seen["columns_per_adc"] == set(COLUMNS_PER_ADC)
    assert {(2, True), (2, False), (3, False), (8, True), (8, False)} <= seen["k/ragged"]
    assert {(k, mp) for k in COLUMNS_PER_ADC for mp in ("differential", "offset")} \
        <= seen["k/mapping"]
    for key, lim in [("adc_bits", "adc_bits"), ("cell_bits", "cell_bits"),
                     ("input_bits", "input_bits")]:
        assert seen[key] == set(range(LIMITS[lim][0], LIMITS[lim][1] + 1)), key
    assert seen["cols"] == {*range(LIMITS["cols"][0], LIMITS["cols"][1] + 1), *SHARED_COLS}


def test_reproducible_and_toml_friendly():
    a, b = random_config(123), random_config(123)
    assert a == b and a != random_config(124)
    assert json.loads(json.dumps(a)) == a  # plain values only
    assert random_spec(123) == MacroSpec.from_dict(a)
    assert random_spec(123).to_dict()["macro"] == a["macro"]


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_bad_seed_is_named(seed):
    with pytest.raises(ValueError, match=r"seed = .*: must be an integer >= 0"):
        random_config(seed)
