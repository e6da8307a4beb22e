"""Balanced reduction trees: popcount, adder and OR trees.

A Python ``sum()`` (or ``functools.reduce``) over many operands elaborates to a linear
chain whose logic depth grows with the number of operands. The helpers here pair
operands level by level instead, so the depth is ``ceil(log2(n))`` operator levels.
Each returns a :class:`Tree` that records the depth and the operator count, which the
components expose and the tests check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from amaranth.hdl import Const, Value

__all__ = ["Tree", "adder_tree", "balanced_reduce", "or_tree", "popcount", "signed_adder_tree"]


@dataclass(frozen=True)
class Tree:
    """The result of a balanced reduction.

    Attributes
    ----------
    value : object
        The reduced value (an Amaranth value, or whatever the operator returns).
    depth : int
        Operator levels on the longest path from a leaf to the result:
        ``ceil(log2(n))`` for ``n`` leaves (0 for one leaf or none).
    nodes : int
        Number of two-input operators in the tree: ``n - 1`` (0 for none).
    leaves : int
        Number of operands reduced.
    """

    value: Any
    depth: int
    nodes: int
    leaves: int


def balanced_reduce(items: Sequence[Any], op: Callable[[Any, Any], Any], empty: Any = None) -> Tree:
    """Reduce ``items`` with the two-input ``op`` as a balanced binary tree.

    Operands are paired level by level in order (``op(items[0], items[1])``,
    ``op(items[2], items[3])``, ...); an odd one out moves up a level unchanged. The
    order of operands is kept, so ``op`` need not be commutative (the left operand
    always covers lower indices), only associative for the result to equal a left fold.

    Parameters
    ----------
    items : sequence
        Operands, lowest index first.
    op : callable
        ``op(lower, upper) -> combined``.
    empty : object
        Result for an empty ``items``.

    Returns
    -------
    Tree

    Raises
    ------
    ValueError
        ``items`` is empty and no ``empty`` value is given.
    """
    level = list(items)
    n = len(level)
    if n == 0:
        if empty is None:
            raise ValueError("items: an empty sequence needs an `empty` result")
        return Tree(empty, 0, 0, 0)
    depth = 0
    while len(level) > 1:
        paired = [op(level[k], level[k + 1]) for k in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        depth += 1
    return Tree(level[0], depth, n - 1, n)


def _bits(value: Value | Sequence[Value]) -> list[Value]:
    if isinstance(value, Value):
        return [value[k] for k in range(len(value))]
    return [Value.cast(v) for v in value]


def popcount(bits: Value | Sequence[Value]) -> Tree:
    """Number of set bits, as a balanced tree of adders.

    Every adder's result is one bit wider than its wider operand, so no level can
    overflow; the result is ``unsigned`` and at least ``bit_length(n)`` bits wide.

    Parameters
    ----------
    bits : Value or sequence of 1-bit values

    Returns
    -------
    Tree
        ``value`` is the count (``Const(0, 1)`` for no bits).
    """
    return balanced_reduce(_bits(bits), lambda a, b: a + b, empty=Const(0, 1))


def adder_tree(terms: Sequence[Value]) -> Tree:
    """Sum of ``terms`` (signed or unsigned values) as a balanced tree of adders.

    Amaranth widens each sum by one bit over its wider operand, so the result is exact.

    Parameters
    ----------
    terms : sequence of Value

    Returns
    -------
    Tree
    """
    return balanced_reduce([Value.cast(t) for t in terms], lambda a, b: a + b, empty=Const(0, 1))


def signed_adder_tree(terms: Sequence[tuple[Value, bool]]) -> Tree:
    """``sum(-t if neg else t for t, neg in terms)`` as a balanced tree of adders and
    subtractors, with no negation inside the tree.

    Each node combines two signed partial sums ``(a, na)`` and ``(b, nb)`` (``na``:
    ``a`` enters the total negated): ``a + b`` keeping the common sign when ``na ==
    nb``, else ``a - b`` (or ``b - a``) with a positive sign. Only a root left negative
    (every term negated) costs a negation, one more level. Exact: every node is one
    bit wider than its wider operand.

    Parameters
    ----------
    terms : sequence of (Value, bool)
        Operands and whether each is subtracted, lowest index first.

    Returns
    -------
    Tree
        ``value`` is the signed sum (``Const(0, 1)`` for no terms); ``depth`` counts
        the final negation, if any.
    """
    def op(a, b):
        (x, nx), (y, ny) = a, b
        if nx == ny:
            return x + y, nx
        return (x - y, False) if ny else (y - x, False)

    leaves = [(Value.cast(t), bool(neg)) for t, neg in terms]
    tree = balanced_reduce(leaves, op, empty=(Const(0, 1), False))
    value, neg = tree.value
    if neg:
        return Tree(-value, tree.depth + 1, tree.nodes + 1, tree.leaves)
    return Tree(value, tree.depth, tree.nodes, tree.leaves)


def or_tree(bits: Value | Sequence[Value]) -> Tree:
    """OR of ``bits`` as a balanced tree of 2-input ORs (``Const(0, 1)`` for none)."""
    return balanced_reduce(_bits(bits), lambda a, b: a | b, empty=Const(0, 1))

