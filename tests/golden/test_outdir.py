"""golden.outdir: the one rule for output directories."""

import os

import pytest

from golden.outdir import OutDirError, check_out_dir, publish_dir, staged


def test_new_empty_and_forced_targets_pass(tmp_path):
    assert check_out_dir(tmp_path / "new" / "deeper", False) == tmp_path / "new" / "deeper"
    (tmp_path / "empty").mkdir()
    check_out_dir(tmp_path / "empty", False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    check_out_dir(tmp_path / "full", True)


def test_refusals_name_the_input_and_what_is_allowed(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    (tmp_path / "file").write_text("f")
    (tmp_path / "link").symlink_to(tmp_path / "full")
    with pytest.raises(OutDirError, match=r"-o '.*full': exists and is not empty; allowed: "
                                          r"a new or empty directory; pass --force"):
        check_out_dir(tmp_path / "full", False)
    with pytest.raises(OutDirError, match=r"out_dir '.*file': exists and is not a directory"):
        check_out_dir(tmp_path / "file", True, name="out_dir")
    with pytest.raises(OutDirError, match="exists and is not a directory"):
        check_out_dir(tmp_path / "link", True)
    with pytest.raises(OutDirError, match=r"'.*file' is not a directory, so DIR cannot"):
        check_out_dir(tmp_path / "file" / "sub", True)


def _tree(d):
    return sorted(os.listdir(d))


def test_publish_replaces_whole_and_leaves_no_temporaries(tmp_path):
    out = tmp_path / "out"
    for content in ("first", "second"):
        tmp = tmp_path / f".tmp-{content}"
        tmp.mkdir()
        (tmp / f"{content}.txt").write_text(content)
        publish_dir(tmp, out)
        assert _tree(out) == [f"{content}.txt"]
    assert _tree(tmp_path) == ["out"]   # the old directory and the temporaries are gone
    (tmp_path / "empty").mkdir()
    tmp = tmp_path / ".tmp"
    tmp.mkdir()
    publish_dir(tmp, tmp_path / "empty")
    assert _tree(tmp_path) == ["empty", "out"]


def test_failed_rename_restores_the_old_directory(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    tmp = tmp_path / ".tmp"
    tmp.mkdir()
    real = os.rename

    def rename(a, b):
        if str(a) == str(tmp):
            raise OSError("disk full")
        return real(a, b)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        publish_dir(tmp, out)
    assert _tree(out) == ["old.txt"]


def test_unwritable_location_refused(tmp_path):
    """/proc/sys refuses writes even to root (access(2) says so)."""
    assert not os.access("/proc/sys", os.W_OK)
    with pytest.raises(OutDirError, match=r"-o '/proc/sys/out': '/proc/sys' is not writable, "
                                          "so DIR cannot be created or replaced there"):
        check_out_dir("/proc/sys/out", True)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], ids=oct)
def test_published_directories_follow_the_umask(umask, tmp_path):
    import tempfile

    from golden.outdir import current_umask

    old = os.umask(umask)
    try:
        assert current_umask() == umask
        tmp = tempfile.mkdtemp(dir=tmp_path)   # 0700
        publish_dir(tmp, tmp_path / "out")
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~umask


def test_staged_publishes_whole_or_nothing(tmp_path):
    out = tmp_path / "new" / "deeper" / "out"
    with pytest.raises(RuntimeError), staged(out, False) as tmp:
        (tmp / "half.txt").write_text("partial")
        raise RuntimeError("interrupted")
    assert not (tmp_path / "new").exists()          # temporaries and made parents gone
    with staged(out, False) as tmp:
        (tmp / "a.txt").write_text("done")
    assert [p.name for p in out.iterdir()] == ["a.txt"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_staged_rechecks_and_hands_failures_over(tmp_path):
    out = tmp_path / "out"
    kept = []
    with pytest.raises(OutDirError), staged(out, False, on_error=lambda t, e: kept.append(
            (t.name, type(e).__name__))) as tmp:
        (tmp / "a.txt").write_text("x")
        out.mkdir()                                  # someone filled out meanwhile
        (out / "theirs.txt").write_text("keep me")
    assert [p.name for p in out.iterdir()] == ["theirs.txt"]
    assert kept and kept[0][1] == "OutDirError"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
