"""Balanced reduction trees: shape (depth, node count, operand order) and values."""

import math

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from hdl.trees import adder_tree, balanced_reduce, or_tree, popcount


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 63, 64, 255])
def test_depth_is_logarithmic(n):
    tree = balanced_reduce(list(range(n)), lambda a, b: a + b)
    assert tree.depth == math.ceil(math.log2(n))
    assert (tree.nodes, tree.leaves, tree.value) == (n - 1, n, n * (n - 1) // 2)


def test_operand_order_is_kept():
    tree = balanced_reduce(list("abcdefg"), lambda lo, hi: f"({lo}{hi})")
    assert tree.value == "(((ab)(cd))((ef)g))"


def test_empty():
    assert balanced_reduce([], lambda a, b: a, empty=0).value == 0
    assert popcount([]).depth == 0
    with pytest.raises(ValueError, match="items: an empty sequence needs an `empty` result"):
        balanced_reduce([], lambda a, b: a)


def test_values_in_simulation():
    rng = np.random.default_rng(0)
    word = Signal(13)
    terms = [Signal(signed(6), name=f"t{k}") for k in range(5)]
    pc, any_, total = popcount(word), or_tree(word), adder_tree(terms)
    assert (pc.depth, total.depth) == (4, 3)

    async def tb(ctx):
        for _ in range(200):
            w = int(rng.integers(0, 1 << 13))
            vs = [int(v) for v in rng.integers(-32, 32, size=5)]
            ctx.set(word, w)
            for t, v in zip(terms, vs, strict=True):
                ctx.set(t, v)
            assert ctx.get(pc.value) == bin(w).count("1")
            assert ctx.get(any_.value) == (w != 0)
            assert ctx.get(total.value) == sum(vs)

    sim = Simulator(Module())  # no design: the testbench evaluates the expressions
    sim.add_testbench(tb)
    sim.run()
