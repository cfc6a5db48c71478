"""The Merkle tree of the log, kept in the events' database and caught up incrementally.

Two tables of the engine's own (created on first use, like the seals'):
``socieux_merkle_leaves`` holds one row per event in log order (its leaf index, log
position, instance, version and hash) and ``socieux_merkle_nodes`` every complete subtree
above the leaves (``level`` >= 1, ``idx`` its index at that level). A catch-up
(:meth:`MerkleTree.sync`) reads only the events after the last leaf, starting from the
``log n`` nodes on the tree's right edge; any root or proof then needs at most ``log n``
stored nodes per subtree. Everything here can be rebuilt from the log
(:meth:`MerkleTree.rebuild`), and ``verify`` recomputes the roots from the log itself.
"""

# long module: the stored tree's three operations (append leaves, root of a prefix, audit
# and consistency paths) share its two tables and their SQL; splitting would split the SQL.

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent

from engine.audit.merkle import Subtree, consistency_path, inclusion_path, subtree_hash
from engine.audit.offline.chain import Record
from engine.audit.offline.lines import is_hex64
from engine.audit.offline.merkle import Frontier, leaf_hash
from engine.audit.records import UNREADABLE as _UNREADABLE
from engine.audit.records import iter_records, record_of, stored_hash
from engine.errors import ConcurrencyConflict
from engine.persistence.sql import Cursor, SqlStore, is_unique_violation
from engine.persistence.store import EngineApplication

__all__ = [
    "LEAVES_TABLE",
    "NODES_TABLE",
    "Finish",
    "LeafRow",
    "MerkleTree",
    "TreeState",
    "TreeView",
    "leaf_of",
]

LEAVES_TABLE = "socieux_merkle_leaves"
NODES_TABLE = "socieux_merkle_nodes"
_ATTEMPTS = 5


def leaf_of(rec: Record) -> bytes:
    """An event's leaf: its stored hash (or, for a row that has none, its digest)."""
    stored = rec.stored_hash
    return bytes.fromhex(stored if stored is not None and is_hex64(stored) else rec.digest)


@dataclass(frozen=True, slots=True)
class LeafRow:
    """One stored leaf: where its event sits in the tree and in the log."""

    index: int
    position: int
    instance_id: str
    version: int
    hash: str


@dataclass(frozen=True, slots=True)
class TreeState:
    """The tree after a catch-up: its size, root and the log position of its last leaf."""

    size: int
    root: bytes
    position: int


Finish = Callable[[Cursor, TreeState], None]
"""Work done in the catch-up's last write transaction (e.g. recording a head)."""


def _leaf_data(mapper: Mapper[Any], stored: StoredEvent, at: int, spelt: str | None) -> bytes:
    """The leaf of one stored row: its ``hash``, read without re-hashing the event."""
    try:
        digest = stored_hash(mapper, stored)
    except _UNREADABLE:
        digest = None
    if digest is not None:
        return bytes.fromhex(digest)
    return leaf_of(record_of(mapper, stored, at, spelt))


def _unhex(text: object) -> bytes:
    """A stored hash's bytes; an altered row's garbage reads as no hash (proofs then fail)."""
    try:
        return bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        return b""


def _version(stored: StoredEvent) -> int:
    try:
        return int(stored.originator_version)
    except (TypeError, ValueError):
        return 0  # a row whose version is not a number: verify reports it


class _Conflict(Exception):
    """Another process appended the same leaves first."""


@dataclass
class TreeView:
    """Reads of the stored tree on one cursor, each subtree hash computed once."""

    cur: Cursor
    leaves: str
    nodes: str
    _memo: dict[tuple[int, int], bytes] = field(default_factory=dict)

    def node(self, level: int, index: int) -> bytes:
        """The complete subtree ``index`` at ``level`` (level 0: a leaf's hash)."""
        if level == 0:
            self.cur.execute(f"SELECT hash FROM {self.leaves} WHERE idx = ?", (index,))
            row = self.cur.fetchone()
            text = None if row is None else row["hash"]
            return leaf_hash(_unhex(text)) if text else b""
        self.cur.execute(
            f"SELECT hash FROM {self.nodes} WHERE level = ? AND idx = ?", (level, index)
        )
        row = self.cur.fetchone()
        return _unhex(row["hash"]) if row is not None else b""

    def mth(self, start: int, end: int) -> bytes:
        """``MTH`` of leaves ``[start, end)``."""
        key = (start, end)
        if key not in self._memo:
            self._memo[key] = subtree_hash(start, end, self.node)
        return self._memo[key]

    @property
    def subtree(self) -> Subtree:
        """:meth:`mth`, as the proof generators take it."""
        return self.mth

    def size(self) -> tuple[int, int]:
        """The number of leaves and the log position of the last one."""
        self.cur.execute(f"SELECT idx, position FROM {self.leaves} ORDER BY idx DESC LIMIT 1")
        row = self.cur.fetchone()
        return (0, 0) if row is None else (int(row["idx"]) + 1, int(row["position"]))

    def leaf_position(self, index: int) -> int:
        """The log position of leaf ``index`` (0 when there is none)."""
        self.cur.execute(f"SELECT position FROM {self.leaves} WHERE idx = ?", (index,))
        row = self.cur.fetchone()
        return 0 if row is None else int(row["position"])

    def frontier(self, size: int) -> Frontier:
        """The right edge of the tree of ``size`` leaves (to append to)."""
        stack: list[tuple[int, bytes]] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                stack.append((level, self.node(level, start >> level)))
                start += 1 << level
        return Frontier(size=size, stack=stack)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """The inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
        return inclusion_path(index, size, self.mth)

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The consistency proof from the tree of ``first`` leaves to that of ``second``."""
        return consistency_path(first, second, self.mth)

    def leaves_of(self, instance_id: str, size: int) -> list[LeafRow]:
        """The leaves of one instance's events among the first ``size``, in log order."""
        self.cur.execute(
            f"SELECT idx, position, instance_id, version, hash FROM {self.leaves} "
            "WHERE instance_id = ? AND idx < ? ORDER BY idx",
            (instance_id, size),
        )
        return [
            LeafRow(int(r["idx"]), int(r["position"]), str(r["instance_id"]),
                    int(r["version"]), str(r["hash"]))
            for r in self.cur.fetchall()
        ]  # fmt: skip


class MerkleTree:
    """The stored tree of one store's log."""

    def __init__(self, sql: SqlStore) -> None:
        self._sql = sql
        self.leaves = sql.table(LEAVES_TABLE)
        self.nodes = sql.table(NODES_TABLE)

    def _ddl(self, cur: Cursor) -> None:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.leaves} (idx BIGINT PRIMARY KEY, "
            "position BIGINT NOT NULL, instance_id TEXT NOT NULL, version BIGINT NOT NULL, "
            "hash TEXT NOT NULL)"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {LEAVES_TABLE}_instance ON {self.leaves} (instance_id)"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self.nodes} (level INTEGER NOT NULL, "
            "idx BIGINT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (level, idx))"
        )

    def exists(self) -> bool:
        """Whether the tree's tables were created."""
        with self._sql.read() as cur:
            return self.exists_on(cur)

    def exists_on(self, cur: Cursor) -> bool:
        """:meth:`exists`, on a cursor."""
        return self._sql.has_table(cur, LEAVES_TABLE) and self._sql.has_table(cur, NODES_TABLE)

    @contextmanager
    def view(self) -> Iterator[TreeView]:
        """A :class:`TreeView` on one read transaction."""
        with self._sql.read() as cur:
            yield TreeView(cur, self.leaves, self.nodes)

    def sync(
        self, app: EngineApplication, *, then: Finish | None = None, page: int = 1000
    ) -> TreeState:
        """Append every event after the last leaf. ``then(cur, state)`` runs in the last
        write transaction (recording a head with the leaves costs one commit)."""
        for _ in range(_ATTEMPTS):
            try:
                return self._catch_up(app, page, then)
            except _Conflict:
                continue
        raise ConcurrencyConflict("the Merkle tree", expected=None, actual=None, attempts=_ATTEMPTS)

    def _start(self) -> tuple[Frontier, int]:
        with self._sql.read() as cur:
            if not self.exists_on(cur):
                return Frontier(), 0
            view = TreeView(cur, self.leaves, self.nodes)
            size, position = view.size()
            return view.frontier(size), position

    def _catch_up(self, app: EngineApplication, page: int, then: Finish | None) -> TreeState:
        frontier, position = self._start()
        pending: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] | None = None
        for batch in iter_records(app.recorder, app.mapper, start=position, page=page):
            if pending is not None:
                self._write(*pending, None)
            pending = ([], [])
            for stored, at, spelt in batch.rows:
                data = _leaf_data(app.mapper, stored, at, spelt)
                made = frontier.append(leaf_hash(data))
                pending[0].append(
                    (
                        made[0][1],
                        at,
                        str(stored.originator_id),
                        int(stored.originator_version),
                        data.hex(),
                    )
                )
                pending[1].extend((lvl, i, h.hex()) for lvl, i, h in made[1:])
            position = batch.last
        state = TreeState(frontier.size, frontier.root(), position)
        self._write(*(pending or ([], [])), (then, state) if then else None)
        return state

    def _write(
        self,
        leaves: list[tuple[Any, ...]],
        nodes: list[tuple[Any, ...]],
        then: tuple[Finish, TreeState] | None,
    ) -> None:
        if not leaves and then is None:
            return
        try:
            with self._sql.write() as cur:
                self._ddl(cur)
                if leaves:
                    cur.executemany(
                        f"INSERT INTO {self.leaves} (idx, position, instance_id, version, hash) "
                        "VALUES (?, ?, ?, ?, ?)",
                        leaves,
                    )
                if nodes:
                    cur.executemany(
                        f"INSERT INTO {self.nodes} (level, idx, hash) VALUES (?, ?, ?)", nodes
                    )
                if then is not None:
                    then[0](cur, then[1])
        except Exception as exc:
            if is_unique_violation(exc):
                raise _Conflict from None
            raise

    def rebuild(self, app: EngineApplication) -> TreeState:
        """Drop every stored leaf and node and build the tree again from the log."""
        with self._sql.write() as cur:
            self._ddl(cur)
            cur.execute(f"DELETE FROM {self.nodes}")
            cur.execute(f"DELETE FROM {self.leaves}")
        return self.sync(app)
