"""Definitions kept in the store, content-addressed: what every pinned hash meant.

An engine records the canonical JSON of each definition it has registered when it opens
(``socieux_definitions``: content hash, name, version, body). Audit then checks an
instance's history against the definition it pinned even where that definition is no
longer installed (an auditor's machine, an old version retired); the body is re-hashed
before it is trusted, so a row altered in the table is worth nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.persistence.sql import SqlStore

__all__ = ["DEFINITIONS_TABLE", "DefinitionStore"]

DEFINITIONS_TABLE = "socieux_definitions"


class DefinitionStore:
    """The ``socieux_definitions`` table of one store."""

    def __init__(self, sql: SqlStore) -> None:
        self._sql = sql
        self._table = sql.table(DEFINITIONS_TABLE)

    def record(self, definitions: Iterable[tuple[str, str, int, str]]) -> None:
        """Record ``(hash, name, version, canonical JSON)`` rows not yet there."""
        rows = list(definitions)
        with self._sql.write() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (hash TEXT PRIMARY KEY, "
                "name TEXT NOT NULL, version BIGINT NOT NULL, body TEXT NOT NULL)"
            )
            for row in rows:
                cur.execute(
                    f"INSERT INTO {self._table} (hash, name, version, body) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
                    row,
                )

    def body(self, digest: str) -> str | None:
        """The stored canonical JSON for ``digest`` (unchecked: re-hash it before use)."""
        with self._sql.read() as cur:
            if not self._sql.has_table(cur, DEFINITIONS_TABLE):
                return None
            cur.execute(f"SELECT body FROM {self._table} WHERE hash = ?", (digest,))
            row = cur.fetchone()
        return None if row is None else str(row["body"])
