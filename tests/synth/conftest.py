"""Fixtures of the synth tests: config files and the toolchain skip."""

from pathlib import Path

import pytest


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return repr(v)


def write_config(path: Path, doc: dict) -> Path:
    lines = []
    for section, kv in doc.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in kv.items())
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def config_file(tmp_path):
    """``make(doc, name="config.toml")``: a TOML config from ``{section: {key: value}}``."""
    def make(doc: dict, name: str = "config.toml") -> Path:
        return write_config(tmp_path / name, doc)
    return make


@pytest.fixture
def toolchain():
    """``need(*tools)``: the located tools, or a skip naming what is missing (also
    when amaranth-boards is not installed)."""
    def need(*names):
        pytest.importorskip("amaranth_boards", reason="amaranth-boards is not installed")
        from synth.tools import ToolMissing, find_tool

        try:
            return {n: find_tool(n) for n in names}
        except ToolMissing as e:
            pytest.skip(f"FPGA toolchain: {e}")
    return need
