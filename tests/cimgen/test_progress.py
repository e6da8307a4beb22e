"""The progress bar and the timed step line, as a non-terminal reader sees them."""

from __future__ import annotations

import pytest

from cimgen.progress import Progress, timed


def test_progress_off_a_terminal_prints_lines_while_it_runs(capsys):
    bar = Progress("work", 4, every=0.0)
    for _ in range(4):
        bar.update()
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert [ln.split(" after ")[0] for ln in lines[:-1]] == [
        "  work: 1/4", "  work: 2/4", "  work: 3/4"]
    assert all("s left" in ln for ln in lines[:-1])
    assert lines[-1].startswith("  work: 4/4 in ")


def test_progress_off_a_terminal_is_quiet_between_intervals(capsys):
    bar = Progress("work", 3, every=3600.0)
    bar.update(3)
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("  work: 3/3 in ")

def test_progress_disabled_prints_nothing(capsys):
    bar = Progress("work", 2, enabled=False, every=0.0)
    bar.update(2)
    bar.close()
    assert capsys.readouterr().err == ""


def test_timed_says_how_a_step_ended(capsys):
    with timed("building"):
        pass
    with pytest.raises(ValueError), timed("checking"):
        raise ValueError("bad")
    err = capsys.readouterr().err
    assert err.startswith("  building... ") and err.splitlines()[0].endswith(" s")
    assert err.splitlines()[1] == "  checking... failed"
