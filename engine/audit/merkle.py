"""Merkle proofs from any tree: RFC 9162's ``PATH`` and ``PROOF`` over a subtree-hash oracle.

The generators take ``mth(start, end)``, the hash of the subtree over leaves
``[start, end)``, and ask only for the ranges RFC 9162's recursion visits; the stored tree
(:mod:`engine.audit.tree`) answers each from at most ``log n`` stored nodes. Verification
lives in :mod:`engine.audit.offline.merkle` (standard library only).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.audit.offline.merkle import EMPTY_ROOT, node_hash

__all__ = ["Subtree", "consistency_path", "inclusion_path", "split", "subtree_hash"]

Subtree = Callable[[int, int], bytes]
"""``mth(start, end)``: the hash of the subtree over leaves ``start`` to ``end - 1``."""


def split(n: int) -> int:
    """The largest power of two below ``n`` (``n`` > 1): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(start: int, end: int, node: Callable[[int, int], bytes]) -> bytes:
    """``MTH`` of leaves ``[start, end)`` from complete nodes ``node(level, index)``."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return node(level, start >> level)
    k = split(n)
    return node_hash(subtree_hash(start, start + k, node), subtree_hash(start + k, end, node))


def inclusion_path(index: int, size: int, mth: Subtree) -> list[bytes]:
    """``PATH(index, D[size])``: the audit path of leaf ``index``, leaf side first."""
    if not 0 <= index < size:
        msg = f"leaf {index} is not in a tree of {size}"
        raise ValueError(msg)
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append(mth(start + k, end))
            end = start + k
        else:
            path.append(mth(start, start + k))
            start += k
    return path[::-1]


def consistency_path(first: int, second: int, mth: Subtree) -> list[bytes]:
    """``PROOF(first, D[second])``: that the tree of ``second`` extends that of ``first``."""
    if not 0 <= first <= second:
        msg = f"no consistency proof from {first} to {second} leaves"
        raise ValueError(msg)
    if first in (0, second):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, second, first, True
    while m != end - start:
        k = split(end - start)
        if m <= k:
            proof.append(mth(start + k, end))
            end = start + k
        else:
            proof.append(mth(start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append(mth(start, end))
    return proof[::-1]
