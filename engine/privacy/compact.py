"""After an erasure: leave no destroyed key in the SQLite file's free pages or its WAL.

The destroying ``UPDATE`` runs with ``secure_delete`` (the old bytes are zeroed); then the
WAL is checkpointed, the file vacuumed and the WAL truncated. Best effort: a concurrent
reader can make ``VACUUM`` busy, which is logged (the key's page was already zeroed).
PostgreSQL keeps a dead row version until (auto)vacuum: a wrapped key, useless without
the KEK (``docs/privacy.md``, "What backups still hold").
"""

from __future__ import annotations

import sqlite3

from engine.logs import get_logger
from engine.persistence.sql import PooledSQLiteStore, SqlStore

__all__ = ["compact"]

_log = get_logger("socieux.privacy")


def compact(sql: SqlStore, kind: str) -> None:
    """Checkpoint and vacuum a SQLite file store; nothing for the other backends."""
    if kind != "sqlite" or not isinstance(sql, PooledSQLiteStore):
        return
    try:
        sql.compact()
    except sqlite3.Error as exc:
        _log.warning("compact_failed", error=type(exc).__name__)
