"""Fixtures of the synth tests: the toolchain skip (``config_file`` is in tests/conftest.py)."""

import pytest


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
