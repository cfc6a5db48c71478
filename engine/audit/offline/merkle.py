"""The Merkle tree of the log, as RFC 9162 (Certificate Transparency 2.0) defines it.

Standard library only. The leaves are the events' hashes (32 bytes each) in log order; a
leaf hashes as ``sha256(0x00 || leaf)`` and an inner node as ``sha256(0x01 || left ||
right)``; the tree over ``n`` leaves splits at the largest power of two below ``n``.
:class:`Frontier` folds leaves into a root with memory in ``log n``; the two ``verify_``
functions are RFC 9162's algorithms (sections 2.1.3.2 and 2.1.4.2), returning a bool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "leaf_hash",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the empty tree."""


def leaf_hash(leaf: bytes) -> bytes:
    """``sha256(0x00 || leaf)``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``sha256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


@dataclass
class Frontier:
    """The complete subtrees on the tree's right edge: append leaves, read the root."""

    size: int = 0
    stack: list[tuple[int, bytes]] = field(default_factory=list)  # (height, hash), left first

    def append(self, hashed_leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; returns the complete nodes it finished as ``(level, index,
        hash)``, the leaf itself first (level 0)."""
        made = [(0, self.size, hashed_leaf)]
        height, node = 0, hashed_leaf
        index = self.size
        while self.stack and self.stack[-1][0] == height:
            _, left = self.stack.pop()
            node, height, index = node_hash(left, node), height + 1, index >> 1
            made.append((height, index, node))
        self.stack.append((height, node))
        self.size += 1
        return made

    def root(self) -> bytes:
        """The tree head's root over every leaf appended so far."""
        if not self.stack:
            return EMPTY_ROOT
        node = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            node = node_hash(left, node)
        return node


def _is_hashes(items: Sequence[bytes], *more: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == 32 for h in (*items, *more))


def verify_inclusion(
    index: int, size: int, hashed_leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf ``index`` (its hash) in the tree of ``size`` leaves."""
    if not 0 <= index < size or not _is_hashes(proof, hashed_leaf, root):
        return False
    fn, sn, r = index, size - 1, hashed_leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``second`` leaves extends the one of ``first``."""
    if not 0 <= first <= second or not _is_hashes(proof, first_root, second_root):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0
