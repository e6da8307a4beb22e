"""TOML config loading: defaults, the bundled example, and errors naming the key."""

from pathlib import Path

import pytest

from cimgen.config import load_config
from cimgen.errors import InputError
from golden.spec import MacroSpec, SpecError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_bundled_default_equals_spec_defaults():
    assert load_config(EXAMPLES / "default.toml") == MacroSpec()


def test_bundled_default_spells_out_every_key():
    """examples/default.toml names every section and key of the spec (the README says so)."""
    import tomllib

    raw = (EXAMPLES / "default.toml").read_text()
    text = tomllib.loads(raw)
    for section, kv in MacroSpec().to_dict().items():
        assert section in text, f"[{section}] missing from examples/default.toml"
        keys = [k for k, v in kv.items() if v is not None]
        assert sorted(text[section]) == sorted(keys), f"[{section}] keys differ"
        unset = [k for k, v in kv.items() if v is None]  # TOML has no null: named in a comment
        comments = " ".join(ln for ln in raw.splitlines() if ln.lstrip().startswith("#"))
        assert all(k in comments for k in unset), f"[{section}] overrides not named"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_every_bundled_example_loads(name):
    assert isinstance(load_config(EXAMPLES / name), MacroSpec)


def test_none_gives_defaults():
    assert load_config(None) == MacroSpec()


def test_partial_config_fills_defaults(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[macro]\nrows = 128\n[adc]\nencoding = "threshold"\n')
    s = load_config(p)
    assert s.macro.rows == 128
    assert s.adc.encoding == "threshold"
    assert s.macro.cols == MacroSpec().macro.cols


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"config '.*nope\.toml': no such file"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[macro\nrows = 3\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_config(p)


def test_unknown_key_names_file_and_key(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[adc]\nbitz = 4\n")
    with pytest.raises(SpecError, match=r"adc\.bitz = 4: unknown key.*in config '.*c\.toml'"):
        load_config(p)


def test_out_of_range_names_key(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[macro]\nrows = 0\n")
    with pytest.raises(SpecError, match=r"macro\.rows = 0: must be an integer in 1\.\.4096"):
        load_config(p)
