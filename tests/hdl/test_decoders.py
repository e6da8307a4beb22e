# amaranth: UnusedElaboratable=no
"""Decoder components against golden.digital.decode: exhaustive for small banks,
bubble-biased random vectors up to 6-bit ADCs, named edge cases and structure."""

import itertools
import math

import numpy as np
import pytest
from amaranth.hdl import Fragment, Shape
from amaranth.lib import wiring
from amaranth.sim import Simulator

from golden.digital import DECODERS, Flag, decode
from hdl.decoders import (
    DECODER_CLASSES,
    FlagLayout,
    ThermometerMajorityDecoder,
    ThermometerOnesDecoder,
    WindowDecoder,
    make_decoder,
)

ALL = [
    ("window", "priority", WindowDecoder),
    ("threshold", "ones", ThermometerOnesDecoder),
    ("threshold", "majority", ThermometerMajorityDecoder),
]


def rtl_decode(dut, vectors):
    """Simulate the combinational decoder on each match vector (cell 0 first)."""
    vecs = np.asarray(vectors, dtype=bool).reshape(-1, dut.n_cells)
    words = [int(w) for w in (vecs.astype(object) << np.arange(dut.n_cells)).sum(axis=1)]
    codes, flags = [], []

    async def tb(ctx):
        for w in words:
            ctx.set(dut.match, w)
            codes.append(ctx.get(dut.code))
            flags.append(ctx.get(dut.flags.as_value()))

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()
    return np.array(codes, dtype=np.int64), np.array(flags, dtype=np.int64)


def check_against_golden(encoding, decoder, vectors):
    vectors = np.asarray(vectors, dtype=bool)
    dut = make_decoder(encoding, decoder, vectors.shape[-1])
    codes, flags = rtl_decode(dut, vectors)
    want_codes, want_flags = decode(vectors, encoding, decoder)
    bad = np.flatnonzero((codes != want_codes) | (flags != want_flags))
    assert bad.size == 0, (
        f"{encoding}/{decoder}: {bad.size} mismatches, first {vectors[bad[0]].astype(int)}: "
        f"rtl ({codes[bad[0]]}, {flags[bad[0]]}) golden ({want_codes[bad[0]]}, "
        f"{want_flags[bad[0]]})"
    )


def all_vectors(n):
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=bool).reshape(-1, n)


def bubbly_vectors(rng, encoding, n_cells, count):
    """Mostly valid one-hot / thermometer vectors with a few cells flipped, biased to
    the cells next to the true boundary where real bubbles appear."""
    levels = n_cells if encoding == "window" else n_cells + 1
    k = rng.integers(0, levels, size=count)
    cells = np.arange(n_cells)
    vecs = (cells == k[:, None]) if encoding == "window" else (cells < k[:, None])
    flips = rng.choice(4, size=count, p=[0.25, 0.4, 0.25, 0.1])
    for i in np.flatnonzero(flips):
        near = np.clip(k[i] + rng.integers(-2, 2, size=flips[i]), 0, n_cells - 1)
        anywhere = rng.integers(0, n_cells, size=flips[i])
        where = np.where(rng.random(flips[i]) < 0.75, near, anywhere)
        vecs[i, where] ^= True
    return vecs


# ---------------------------------------------------------------- against golden


@pytest.mark.parametrize("n_cells", [1, 2, 4, 8])
def test_window_exhaustive(n_cells):
    check_against_golden("window", "priority", all_vectors(n_cells))


@pytest.mark.parametrize("decoder", ["ones", "majority"])
@pytest.mark.parametrize("n_cells", [1, 3, 7])
def test_threshold_exhaustive(n_cells, decoder):
    check_against_golden("threshold", decoder, all_vectors(n_cells))


@pytest.mark.parametrize(("encoding", "decoder", "cls"), ALL)
@pytest.mark.parametrize("bits", [3, 4, 5, 6])
def test_bubble_biased_random(encoding, decoder, cls, bits):
    rng = np.random.default_rng(bits * 10 + len(decoder))
    n_cells = (1 << bits) - (encoding == "threshold")
    vecs = bubbly_vectors(rng, encoding, n_cells, 1000)
    # also every clean vector: each code once
    levels = n_cells if encoding == "window" else n_cells + 1
    k = np.arange(levels)[:, None]
    clean = (np.arange(n_cells) == k) if encoding == "window" else (np.arange(n_cells) < k)
    check_against_golden(encoding, decoder, np.concatenate([vecs, clean]))
    flags = decode(vecs, encoding, decoder)[1]
    kinds = [Flag.ZERO_HOT, Flag.MULTI_HOT] if encoding == "window" else [Flag.NON_MONOTONE]
    for kind in kinds:  # each bubble kind, and clean vectors, well represented
        assert 0.05 < np.mean((flags & kind) != 0) < 0.7, kind
    assert np.mean(flags == 0) > 0.2


# ---------------------------------------------------------------- named edge cases


def one(encoding, decoder, bits):
    dut = make_decoder(encoding, decoder, len(bits))
    codes, flags = rtl_decode(dut, [bits])
    return int(codes[0]), Flag(int(flags[0]))


def test_two_hot_adjacent():
    assert one("window", None, [0, 0, 1, 1, 0, 0, 0, 0]) == (2, Flag.MULTI_HOT)


def test_two_hot_far_apart():
    v = [0] * 64
    v[5] = v[60] = 1
    assert one("window", None, v) == (5, Flag.MULTI_HOT)


def test_gap_between_windows():
    assert one("window", None, [0] * 16) == (0, Flag.ZERO_HOT)


def test_non_monotone_thermometer():
    bubble = [1, 1, 0, 1, 1, 0, 0]
    assert one("threshold", "ones", bubble) == (4, Flag.NON_MONOTONE)
    assert one("threshold", "majority", bubble) == (5, Flag.NON_MONOTONE)
    stray = [1, 1, 0, 0, 1, 0, 0]
    assert one("threshold", "majority", stray) == (2, Flag.NON_MONOTONE)
    assert one("threshold", "ones", [0, 0, 1]) == (1, Flag.NON_MONOTONE)


@pytest.mark.parametrize("decoder", ["ones", "majority"])
def test_full_scale(decoder):
    assert one("window", None, [0] * 63 + [1]) == (63, Flag(0))
    assert one("threshold", decoder, [1] * 63) == (63, Flag(0))


@pytest.mark.parametrize("decoder", ["ones", "majority"])
def test_zero(decoder):
    assert one("window", None, [1] + [0] * 63) == (0, Flag(0))
    assert one("threshold", decoder, [0] * 63) == (0, Flag(0))


def test_single_cell_window_has_a_zero_width_code():
    dut = WindowDecoder(1)
    assert dut.bits == 0 and len(dut.code) == 0
    assert one("window", None, [1]) == (0, Flag(0))
    assert one("window", None, [0]) == (0, Flag.ZERO_HOT)


# ---------------------------------------------------------------- signature and structure


def test_flag_layout_matches_golden_flags():
    for name, flag in [("zero_hot", Flag.ZERO_HOT), ("multi_hot", Flag.MULTI_HOT),
                       ("non_monotone", Flag.NON_MONOTONE), ("sr_disagree", Flag.SR_DISAGREE)]:
        field = FlagLayout[name]
        assert (1 << field.offset, field.width) == (int(flag), 1)
    assert FlagLayout.size == 4


@pytest.mark.parametrize(("encoding", "decoder", "cls"), ALL)
def test_signature(encoding, decoder, cls):
    n = 16 if encoding == "window" else 15
    dut = cls(n)
    assert (dut.n_cells, dut.bits, dut.latency) == (n, 4, 0)
    members = dut.signature.members
    assert members["match"].flow == wiring.In and Shape.cast(members["match"].shape).width == n
    assert members["code"].flow == wiring.Out and Shape.cast(members["code"].shape).width == 4
    assert members["flags"].flow == wiring.Out and members["flags"].shape is FlagLayout


def test_registry_mirrors_golden():
    assert {e: tuple(d) for e, d in DECODER_CLASSES.items()} == DECODERS
    for args, cls in [(("threshold", None, 7), ThermometerOnesDecoder),
                      (("window", None, 4), WindowDecoder),
                      (("threshold", "majority", 7), ThermometerMajorityDecoder)]:
        dut = make_decoder(*args)
        Fragment.get(dut, None)  # made in hdl/decoders.py: use it, or Amaranth warns
        assert type(dut) is cls


@pytest.mark.parametrize("cls", [ThermometerOnesDecoder, ThermometerMajorityDecoder])
@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 6, 7, 8])
def test_popcount_is_a_balanced_tree(cls, bits):
    n = (1 << bits) - 1
    assert cls(n).tree_depth == math.ceil(math.log2(n))  # a linear chain would be n - 1


@pytest.mark.parametrize("bits", [0, 1, 3, 6, 8])
def test_priority_encoder_is_a_balanced_tree(bits):
    assert WindowDecoder(1 << bits).tree_depth == bits


@pytest.mark.parametrize(
    ("cls", "n_cells", "message"),
    [
        (WindowDecoder, 3, r"n_cells = 3: must be 2\*\*N window cells with N = 0..8"),
        (WindowDecoder, 0, "n_cells = 0: must be 2"),
        (WindowDecoder, 512, "n_cells = 512"),
        (WindowDecoder, 4.0, "n_cells = 4.0"),
        (WindowDecoder, True, "n_cells = True"),
        (ThermometerOnesDecoder, 8, r"n_cells = 8: must be 2\*\*N - 1 threshold cells"),
        (ThermometerMajorityDecoder, 0, "n_cells = 0"),
        (ThermometerOnesDecoder, 511, "n_cells = 511"),
    ],
)
def test_bad_cell_counts(cls, n_cells, message):
    with pytest.raises(ValueError, match=message):
        cls(n_cells)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("flash", None, 4), "encoding = 'flash': must be one of 'window', 'threshold'"),
        (("window", "ones", 4), "decoder = 'ones': encoding 'window' allows 'priority'"),
        (("threshold", "priority", 7), "decoder = 'priority': encoding 'threshold' allows"),
        (("threshold", None, 8), "n_cells = 8"),
    ],
)
def test_make_decoder_rejects(args, message):
    with pytest.raises(ValueError, match=message):
        make_decoder(*args)
