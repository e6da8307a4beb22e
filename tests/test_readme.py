"""The README's commands name files the project ships (outside the bad-input table,
whose files the test creates in a scratch directory)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_without_bad_input_table() -> str:
    text = (ROOT / "README.md").read_text()
    return re.sub(r"<!-- bad-inputs -->.*?<!-- /bad-inputs -->", "", text, flags=re.S)


def test_configs_in_readme_commands_are_shipped():
    text = _readme_without_bad_input_table()
    names = set()
    for line in text.splitlines():
        for cmd in re.findall(r"cimgen [a-z-]+ [^`|]*", line):
            names.update(t for t in cmd.split() if t.endswith(".toml"))
    assert names, "no cimgen commands with a config found in README.md"
    missing = sorted(n for n in names if n != "CONFIG" and not (ROOT / n).is_file())
    assert not missing, f"README commands use configs the project does not ship: {missing}"


def test_readme_cites_no_unshipped_design_document():
    for name in re.findall(r"\b([A-Z]+\.md)\b", _readme_without_bad_input_table()):
        assert (ROOT / name).is_file(), f"README cites {name}, which is not in the project"
