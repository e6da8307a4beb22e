"""Reading samples from every supported format, and the errors for bad data."""

import os

import numpy as np
import pytest

from cimgen.dataio import load_samples, write_atomic, write_json_atomic
from cimgen.errors import InputError

VALUES = np.array([0.5, -1.25, 3.0, 2.0], dtype=np.float64)


def test_npy_any_shape_flattened(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, VALUES.reshape(2, 2).astype(np.float32))
    x, dropped = load_samples(p)
    np.testing.assert_array_equal(x, VALUES)
    assert x.dtype == np.float64
    assert dropped == 0


def test_npz_with_and_without_key(tmp_path):
    p = tmp_path / "one.npz"
    np.savez(p, a=VALUES)
    np.testing.assert_array_equal(load_samples(p)[0], VALUES)
    p2 = tmp_path / "two.npz"
    np.savez(p2, a=VALUES, b=VALUES * 2)
    np.testing.assert_array_equal(load_samples(p2, key="b")[0], VALUES * 2)
    with pytest.raises(InputError, match=r"holds arrays \['a', 'b'\]; choose one with --key"):
        load_samples(p2)
    with pytest.raises(InputError, match=r"--key 'c': not in .*; it holds \['a', 'b'\]"):
        load_samples(p2, key="c")


def test_csv_header_and_column_by_name_or_index(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n" + "".join(f"{v},{2 * v}\n" for v in VALUES))
    np.testing.assert_array_equal(load_samples(p, column="b")[0], 2 * VALUES)
    np.testing.assert_array_equal(load_samples(p, column="0")[0], VALUES)
    with pytest.raises(InputError, match=r"has 2 columns \['a', 'b'\]; choose one with --column"):
        load_samples(p)
    with pytest.raises(InputError, match=r"--column 'z': not a column of .*; it has \['a', 'b'\]"):
        load_samples(p, column="z")


def test_csv_without_header_single_column(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("".join(f"{v}\n" for v in VALUES))
    np.testing.assert_array_equal(load_samples(p)[0], VALUES)


def test_csv_non_numeric_cell_named_by_line(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("v\n1.0\nabc\n")
    with pytest.raises(InputError, match=r"line 3: 'abc' is not a number"):
        load_samples(p)


def test_text_whitespace_and_comments(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("# samples\n0.5 -1.25\n3.0\t2.0  # trailing\n")
    np.testing.assert_array_equal(load_samples(p)[0], VALUES)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"DATA '.*missing\.npy': no such file"):
        load_samples(tmp_path / "missing.npy")


def test_unreadable_format(tmp_path):
    p = tmp_path / "x.npy"
    p.write_bytes(b"\x00\x01garbage")
    with pytest.raises(InputError, match=r"not a readable \.npy array"):
        load_samples(p)
    q = tmp_path / "x.bin"
    q.write_bytes(bytes(range(128, 256)))
    with pytest.raises(InputError, match=r"unreadable format \(not UTF-8 text\); allowed: \.npy"):
        load_samples(q)


def test_nonfinite_refused_with_count_and_where(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, np.array([1.0, np.nan, 2.0, np.inf, 3.0]))
    with pytest.raises(InputError, match=r"2 non-finite value\(s\) .* at index 1, 3; pass "):
        load_samples(p)
    x, dropped = load_samples(p, drop_nonfinite=True)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    assert dropped == 2


def test_wrong_dtype(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, np.array(["a", "b"]))
    with pytest.raises(InputError, match=r"dtype <U1 is not allowed; allowed: integer or float"):
        load_samples(p)


def test_empty(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("# nothing\n")
    with pytest.raises(InputError, match="no samples"):
        load_samples(p)


def test_key_and_column_only_for_their_formats(tmp_path):
    p = tmp_path / "x.npy"
    np.save(p, VALUES)
    with pytest.raises(InputError, match=r"--key 'a': only applies to \.npz"):
        load_samples(p, key="a")
    with pytest.raises(InputError, match=r"--column 'a': only applies to \.csv"):
        load_samples(p, column="a")


def test_write_atomic_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "r.json"

    def boom(tmp):
        tmp.write_text("partial")
        raise RuntimeError("fail mid-write")

    with pytest.raises(RuntimeError):
        write_atomic(target, boom)
    assert not target.exists()
    assert not target.parent.exists()    # the directory it made is removed too
    write_json_atomic(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [f.name for f in target.parent.iterdir()] == ["r.json"]


def test_huge_inputs_refused_before_loading(tmp_path, monkeypatch):
    import cimgen.dataio as dataio

    monkeypatch.setattr(dataio, "MAX_SAMPLES", 100)
    monkeypatch.setattr(dataio, "MAX_TEXT_BYTES", 1000)
    np.save(tmp_path / "a.npy", np.zeros(101))
    np.savez(tmp_path / "b.npz", big=np.zeros(101), small=np.zeros(100))
    (tmp_path / "c.txt").write_text("1.0\n" * 300)
    with pytest.raises(InputError, match=r"101 samples is more than the 100 cimgen reads"):
        load_samples(tmp_path / "a.npy")
    with pytest.raises(InputError, match=r"101 samples is more than the 100"):
        load_samples(tmp_path / "b.npz", key="big")
    assert load_samples(tmp_path / "b.npz", key="small")[0].size == 100
    with pytest.raises(InputError, match=r"1,200 bytes of text is more than the 1,000 .*\.npy"):
        load_samples(tmp_path / "c.txt")


def _refused(match, **kw):
    from cimgen.dataio import check_outputs

    with pytest.raises(InputError, match=match):
        check_outputs(**kw)


def test_an_input_is_never_an_output_through_any_name(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("1\n2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "hard.csv").hardlink_to(data)
    (tmp_path / "soft.csv").symlink_to(data)
    for name in (data, tmp_path / "hard.csv", tmp_path / "soft.csv",
                 tmp_path / "sub" / ".." / "data.csv"):
        _refused(r"-o '.*': is the input DATA '.*data\.csv'; allowed: an output path that "
                 r"is none", inputs=[("DATA", data)], files=[("-o", name)], force=True)
    assert data.read_text() == "1\n2\n"


def test_two_outputs_on_one_path_and_dirs_holding_inputs(tmp_path):
    cfg = tmp_path / "cfg" / "c.toml"
    cfg.parent.mkdir()
    cfg.write_text("")
    (tmp_path / "alias").symlink_to(tmp_path / "cfg")
    _refused(r"--save-calibration '.*y\.npz': is also the output of -o",
             files=[("-o", tmp_path / "y.npz"), ("--save-calibration", tmp_path / "y.npz")])
    for d in (tmp_path, tmp_path / "cfg"):
        _refused(r"holds the input CONFIG '.*c\.toml', which replacing the directory would "
                 "destroy", inputs=[("CONFIG", tmp_path / "alias" / "c.toml")],
                 dirs=[("-o", d)])
    from cimgen.dataio import check_outputs

    check_outputs(inputs=[("CONFIG", cfg), ("--calibration", None)],
                  files=[("-o", tmp_path / "y.npz"), ("--save-calibration", None)],
                  dirs=[("-o", tmp_path / "v")])


def test_non_regular_and_existing_files(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "old.json").write_text("{}")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    _refused(r"'.*pipe': is a named pipe \(FIFO\), not a regular file",
             files=[("-o", fifo)], force=True)
    _refused(r"'.*dangling': is a symbolic link", files=[("-o", tmp_path / "dangling")],
             force=True)
    _refused(r"'/dev/null': is a character device", files=[("-o", "/dev/null")], force=True)
    _refused(r"--save-calibration '.*old\.json': exists; allowed: a new file name, or --force",
             files=[("--save-calibration", tmp_path / "old.json")])
    from cimgen.dataio import check_outputs

    check_outputs(files=[("-o", tmp_path / "old.json")], force=True)
    assert not (tmp_path / "nowhere").exists()


def test_write_atomic_names_the_output_and_follows_the_umask(tmp_path):
    from cimgen.dataio import WriteFailed

    def enospc(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device", str(tmp))

    with pytest.raises(WriteFailed) as e:
        write_atomic(tmp_path / "r.json", enospc)
    assert str(e.value) == f"cannot write {str(tmp_path / 'r.json')!r}: No space left on device"
    assert list(tmp_path.iterdir()) == []
    old = os.umask(0o027)
    try:
        write_json_atomic(tmp_path / "r.json", {})
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o640
