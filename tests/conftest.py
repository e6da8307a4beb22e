"""Fixtures shared by every test directory."""

import json
from pathlib import Path

import pytest


@pytest.fixture
def config_file(tmp_path):
    """``make(doc, name="config.toml")``: write ``{section: {key: value}}`` as a TOML
    config in ``tmp_path`` and return its path (values as JSON literals, which TOML
    reads the same for the strings, numbers and booleans a config holds)."""
    def make(doc: dict, name: str = "config.toml") -> Path:
        lines = []
        for section, kv in doc.items():
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {json.dumps(v)}" for k, v in kv.items())
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return path
    return make
