"""The Merkle tree against RFC 6962 / 9162's reference vectors and a plain recursive
reading of the RFC's definitions (MTH, PATH, PROOF), for every size up to 70."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.audit.merkle import consistency_path, inclusion_path, subtree_hash
from engine.audit.offline.merkle import (
    EMPTY_ROOT,
    Frontier,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads((Path(__file__).parents[1] / "fixtures" / "rfc6962_vectors.json").read_text())
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves"]]
N = 70
BIG = [hashlib.sha256(f"leaf {i}".encode()).digest() for i in range(N)]


# --- RFC 9162 section 2.1, written as directly as the text reads (the reference) ---
def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    return [*path(m, d[:k]), mth(d[k:])] if m < k else [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(d)) else subproof(m, d, True)


# --- the engine's side: a node oracle over a leaf list, as the stored tree answers ---
def oracle(data: list[bytes]) -> Callable[[int, int], bytes]:
    hashed = [leaf_hash(x) for x in data]

    def node(level: int, index: int) -> bytes:
        return mth(data[index << level : (index + 1) << level]) if level else hashed[index]

    return lambda start, end: subtree_hash(start, end, node)


def hx(items: list[bytes]) -> list[str]:
    return [h.hex() for h in items]


def test_reference_roots_of_every_size() -> None:
    assert mth([]).hex() == VECTORS["empty_root"] == EMPTY_ROOT.hex()
    f = Frontier()
    for n, leaf in enumerate(LEAVES, 1):
        f.append(leaf_hash(leaf))
        assert mth(LEAVES[:n]).hex() == VECTORS["roots"][n - 1]
        assert f.root().hex() == VECTORS["roots"][n - 1]
        assert oracle(LEAVES)(0, n).hex() == VECTORS["roots"][n - 1]


@pytest.mark.parametrize("v", VECTORS["inclusion"], ids=lambda v: f"{v['index']}/{v['size']}")
def test_reference_inclusion_proofs(v: dict[str, object]) -> None:
    index, size, expected = v["index"], v["size"], v["proof"]
    assert isinstance(index, int)
    assert isinstance(size, int)
    assert hx(path(index, LEAVES[:size])) == expected
    assert hx(inclusion_path(index, size, oracle(LEAVES))) == expected
    root = bytes.fromhex(VECTORS["roots"][size - 1])
    hashes = [bytes.fromhex(p) for p in expected]
    assert verify_inclusion(index, size, leaf_hash(LEAVES[index]), hashes, root)


@pytest.mark.parametrize("v", VECTORS["consistency"], ids=lambda v: f"{v['first']}-{v['second']}")
def test_reference_consistency_proofs(v: dict[str, object]) -> None:
    first, second, expected = v["first"], v["second"], v["proof"]
    assert isinstance(first, int)
    assert isinstance(second, int)
    assert hx(proof(first, LEAVES[:second])) == expected
    assert hx(consistency_path(first, second, oracle(LEAVES))) == expected
    old, new = (bytes.fromhex(VECTORS["roots"][s - 1]) for s in (first, second))
    hashes = [bytes.fromhex(p) for p in expected]
    assert verify_consistency(first, second, old, new, hashes)


def test_every_inclusion_proof_up_to_70_leaves_matches_the_reference_and_verifies() -> None:
    tree = oracle(BIG)
    for n in range(1, N + 1):
        root = mth(BIG[:n])
        assert tree(0, n) == root
        for i in range(n):
            p = inclusion_path(i, n, tree)
            assert p == path(i, BIG[:n])
            assert verify_inclusion(i, n, leaf_hash(BIG[i]), p, root)
            assert not verify_inclusion(i, n, leaf_hash(BIG[(i + 1) % N]), p, root)
            if p:
                assert not verify_inclusion(i, n, leaf_hash(BIG[i]), p[:-1], root)
                assert not verify_inclusion(i, n, leaf_hash(BIG[i]), [*p, p[0]], root)
                bent = [bytes([p[0][0] ^ 1]) + p[0][1:], *p[1:]]
                assert not verify_inclusion(i, n, leaf_hash(BIG[i]), bent, root)
        assert not verify_inclusion(n, n, leaf_hash(BIG[0]), [], root)


def test_every_consistency_proof_up_to_70_leaves_matches_the_reference_and_verifies() -> None:
    tree = oracle(BIG)
    roots = [mth(BIG[:n]) for n in range(N + 1)]
    for second in range(N + 1):
        for first in range(second + 1):
            p = consistency_path(first, second, tree)
            assert p == proof(first, BIG[:second])
            assert verify_consistency(first, second, roots[first], roots[second], p)
            if 0 < first < second:
                assert not verify_consistency(first, second, roots[first - 1], roots[second], p)
                assert not verify_consistency(first, second, roots[first], roots[second - 1], p)
                assert not verify_consistency(first, second, roots[first], roots[second], p[:-1])
                assert not verify_consistency(second, first, roots[second], roots[first], p)


def test_a_rewritten_history_is_not_consistent_with_the_old_head() -> None:
    rewritten = [*BIG[:10], hashlib.sha256(b"forged").digest(), *BIG[11:40]]
    p = consistency_path(20, 40, oracle(rewritten))
    assert not verify_consistency(20, 40, mth(BIG[:20]), mth(rewritten), p)


def test_the_frontier_reports_each_complete_node_it_makes() -> None:
    f = Frontier()
    made: dict[tuple[int, int], bytes] = {}
    for leaf in BIG:
        made.update({(lvl, i): h for lvl, i, h in f.append(leaf_hash(leaf))})
    assert made[(0, 69)] == leaf_hash(BIG[69])
    assert made[(6, 0)] == mth(BIG[:64])
    assert made[(2, 16)] == mth(BIG[64:68])
    assert (2, 17) not in made
    assert f.root() == mth(BIG)


def test_malformed_inputs_are_not_proofs() -> None:
    root = mth(BIG[:8])
    assert not verify_inclusion(-1, 8, leaf_hash(BIG[0]), [], root)
    assert not verify_inclusion(0, 8, b"short", [], root)
    assert not verify_consistency(4, 4, root, root, [root])
    assert verify_consistency(0, 8, EMPTY_ROOT, root, [])
    assert not verify_consistency(3, 8, mth(BIG[:3]), root, [])
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_path(8, 8, oracle(BIG))
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_path(9, 8, oracle(BIG))
