"""Signed tree heads: the Merkle root of the log at a size, kept with the events.

``socieux_tree_heads`` (created on the first head) holds each head's number, size, root,
time, the log position of its last leaf and, when signed, the Ed25519 public key and
signature (over :func:`~engine.audit.offline.tree_head.head_message`). Making a head first
catches the stored tree up (:meth:`engine.audit.tree.MerkleTree.sync`), so it costs time in
proportion to the events since the last head.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from engine.audit.offline.signing import SigningKey
from engine.audit.offline.tree_head import TreeHeadRecord, check_head, head_message
from engine.audit.tree import Finish, MerkleTree, TreeState
from engine.errors import InvalidArgument
from engine.instance.hashing import utc_iso
from engine.persistence.sql import Cursor, SqlStore
from engine.persistence.store import EngineApplication, translate_errors

__all__ = [
    "HEADS_TABLE",
    "TreeHead",
    "head_records",
    "head_rows",
    "list_heads",
    "load_key",
    "make_head",
]

HEADS_TABLE = "socieux_tree_heads"
_COLUMNS = ("seq", "size", "root", "made_at", "position", "public_key", "signature")


class TreeHead(BaseModel):
    """A recorded tree head: the log's first ``size`` events hash to ``root``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    size: int
    root: str
    at: datetime
    position: int
    public_key: str | None = None
    signature: str | None = None

    def record(self) -> TreeHeadRecord:
        """The head as the offline checks read it."""
        return TreeHeadRecord(
            self.size, self.root, utc_iso(self.at), self.signature, self.public_key, self.seq
        )

    def witness_line(self) -> str:
        """The one-line form to publish elsewhere: ``size root time signature``."""
        return self.record().witness_line()


def _table(sql: SqlStore) -> str:
    return sql.table(HEADS_TABLE)


def _parse(row: Any) -> TreeHead | str:
    """A stored head, or why its row is malformed (an SQL edit can leave anything)."""
    size, root, at, sig = (row[k] for k in ("size", "root", "made_at", "signature"))
    why = check_head(size, root, at, sig)
    key = row["public_key"]
    if why is None and not (key is None or (isinstance(key, str) and len(key) == 64)):
        why = "its public key is not 64 hex characters"
    if why is None and not isinstance(row["position"], int):
        why = "its position is not a whole number"
    if why is not None:
        return why
    return TreeHead(
        seq=row["seq"], size=size, root=root, at=datetime.fromisoformat(at),
        position=row["position"], public_key=key, signature=sig,
    )  # fmt: skip


def head_rows(sql: SqlStore) -> tuple[list[TreeHead], list[tuple[object, str]]]:
    """Every well-formed head, oldest first, and ``(seq, why)`` of each malformed row."""
    with sql.read() as cur:
        if not sql.has_table(cur, HEADS_TABLE):
            return [], []
        cur.execute(f"SELECT {', '.join(_COLUMNS)} FROM {_table(sql)} ORDER BY seq")
        rows = list(cur.fetchall())
    heads: list[TreeHead] = []
    bad: list[tuple[object, str]] = []
    for row in rows:
        parsed = _parse(row)
        if isinstance(parsed, str):
            bad.append((row["seq"], parsed))
        else:
            heads.append(parsed)
    return heads, bad


def head_records(sql: SqlStore) -> list[TreeHead]:
    """Every well-formed head, oldest first (none when the table does not exist)."""
    return head_rows(sql)[0]


def _recorder(sql: SqlStore, now: datetime, key: SigningKey | None, made: list[TreeHead]) -> Finish:
    """Record the head of the caught-up tree, numbered in the same transaction."""

    def record(cur: Cursor, state: TreeState) -> None:
        table = _table(sql)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (seq BIGINT PRIMARY KEY, "
            "size BIGINT NOT NULL, root TEXT NOT NULL, made_at TEXT NOT NULL, "
            "position BIGINT NOT NULL, public_key TEXT, signature TEXT)"
        )
        cur.execute(f"SELECT COALESCE(MAX(seq), 0) AS top FROM {table}")
        row = cur.fetchone()
        at = utc_iso(now)
        root = state.root.hex()
        signature = key.sign(head_message(state.size, root, at)).hex() if key else None
        head = TreeHead(
            seq=int(row["top"]) + 1, size=state.size, root=root, at=datetime.fromisoformat(at),
            position=state.position, public_key=key.public_hex if key else None,
            signature=signature,
        )  # fmt: skip
        values = [getattr(head, c) for c in ("seq", "size", "root")]
        values += [at, head.position, head.public_key, head.signature]
        cur.execute(
            f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)", values
        )
        made[:] = [head]

    return record


def load_key(key: str | os.PathLike[str] | None) -> SigningKey | None:
    """The Ed25519 signing key in file ``key`` (``InvalidArgument`` if it is not one)."""
    if key is None:
        return None
    from engine.audit.offline.signing import load_signing_key

    try:
        return load_signing_key(key)
    except ValueError as exc:
        raise InvalidArgument(f"signing key: {exc}") from None


def make_head(
    app: EngineApplication,
    sql: SqlStore,
    *,
    label: str,
    now: datetime,
    key: str | os.PathLike[str] | None = None,
    rebuild: bool = False,
) -> TreeHead:
    """Catch the tree up (or rebuild it from the log) and record a head of it."""
    signing = load_key(key)
    made: list[TreeHead] = []
    with translate_errors("making a tree head", label):
        tree = MerkleTree(sql)
        if rebuild:
            tree.rebuild(app)
        tree.sync(app, then=_recorder(sql, now, signing, made))
    return made[0]


def list_heads(sql: SqlStore, *, label: str) -> list[TreeHead]:
    """Every recorded head, oldest first."""
    with translate_errors("reading tree heads", label):
        return head_records(sql)
