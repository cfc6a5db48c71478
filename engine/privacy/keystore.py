"""The engine's own privacy tables, in the events' database but apart from the events.

``socieux_privacy_keys``: one wrapped data key per subject and key version, with its
status (``live``, ``restricted`` while an erasure is deferred, ``erased`` once the key is
destroyed: ``wrapped`` is then NULL). ``socieux_privacy_refs``: which instances hold data of
which subject (for retention), a read model of the log caught up before each use (its
watermark is the row with subject ``""``), so the command path never writes it. A backup
of the events alone holds no usable key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from engine.persistence.sql import Cursor, SqlStore, is_unique_violation

__all__ = ["KEYS", "REFS", "KeyRow", "KeyStore"]

KEYS = "socieux_privacy_keys"
REFS = "socieux_privacy_refs"
LIVE, RESTRICTED, ERASED = "live", "restricted", "erased"


class KeyRow(NamedTuple):
    """One data key's row (``wrapped`` is ``None`` once erased): a named tuple, built on
    the command path for every new key."""

    subject: str
    version: int
    wrapped: str | None
    kek_id: str
    status: str
    erasure: str | None


class KeyStore:
    """The wrapped data keys and the subject-to-instance index."""

    def __init__(self, sql: SqlStore) -> None:
        self._sql = sql
        self.keys = sql.table(KEYS)
        self.refs = sql.table(REFS)
        self._exists = False

    def setup(self) -> None:
        """Create the tables (idempotent)."""
        with self._sql.write() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.keys} (subject TEXT NOT NULL, "
                "version INTEGER NOT NULL, wrapped TEXT, kek_id TEXT NOT NULL, "
                "status TEXT NOT NULL, created_at TEXT NOT NULL, erased_at TEXT, "
                "erasure TEXT, PRIMARY KEY (subject, version))"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.refs} (subject TEXT NOT NULL, "
                "instance_id TEXT NOT NULL, PRIMARY KEY (subject, instance_id))"
            )

    def _has(self, cur: Cursor) -> bool:
        if not self._exists:  # tables are never dropped: once seen, always there
            self._exists = self._sql.has_table(cur, KEYS)
        return self._exists

    def kek_ids(self) -> set[str]:
        """The fingerprints of the KEKs that wrap the stored (not erased) keys."""
        with self._sql.read() as cur:
            if not self._has(cur):
                return set()
            cur.execute(f"SELECT DISTINCT kek_id FROM {self.keys} WHERE wrapped IS NOT NULL")
            return {str(r["kek_id"]) for r in cur.fetchall()}

    def rows(self, subjects: Iterable[str]) -> dict[tuple[str, int], KeyRow]:
        """Every key row of ``subjects``, by (subject, version)."""
        wanted = sorted(set(subjects))
        found: dict[tuple[str, int], KeyRow] = {}
        if not wanted:
            return found
        with self._sql.read() as cur:
            if not self._has(cur):
                return found
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                cur.execute(
                    f"SELECT subject, version, wrapped, kek_id, status, erasure FROM "
                    f"{self.keys} WHERE subject IN ({marks})",
                    chunk,
                )
                for r in cur.fetchall():
                    row = _row(r)
                    found[row.subject, row.version] = row
        return found

    def create(self, rows: Iterable[KeyRow], at: str) -> bool:
        """Insert new key rows in one transaction; ``False`` (nothing written) if another
        writer created one of those key versions first."""
        # in one order for every writer: two processes creating keys of the same subjects
        # then wait for each other (and one finds the other's rows) instead of deadlocking
        keys = sorted((r.subject, r.version, r.wrapped, r.kek_id, r.status, at) for r in rows)
        try:
            with self._sql.write() as cur:
                cur.executemany(
                    f"INSERT INTO {self.keys} (subject, version, wrapped, kek_id, status, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    keys,
                )
        except Exception as exc:
            if is_unique_violation(exc):
                return False
            raise
        return True

    def watermark(self) -> int:
        """The last log position the refs index has read."""
        with self._sql.read() as cur:
            if not self._sql.has_table(cur, REFS):
                return 0
            cur.execute(f"SELECT instance_id FROM {self.refs} WHERE subject = ''")
            row = cur.fetchone()
        return int(row["instance_id"]) if row is not None else 0

    def add_refs(self, pairs: Iterable[tuple[str, str]], *, since: int, upto: int) -> bool:
        """Add ``pairs`` and move the watermark from ``since`` to ``upto``, atomically;
        ``False`` if another process moved it first (its pairs cover the same events)."""
        with self._sql.write() as cur:
            cur.execute(f"SELECT instance_id FROM {self.refs} WHERE subject = ''")
            row = cur.fetchone()
            if (int(row["instance_id"]) if row is not None else 0) != since:
                return False
            cur.executemany(
                f"INSERT INTO {self.refs} (subject, instance_id) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                sorted(set(pairs)),
            )
            cur.execute(f"DELETE FROM {self.refs} WHERE subject = ''")
            cur.execute(
                f"INSERT INTO {self.refs} (subject, instance_id) VALUES ('', ?)", (str(upto),)
            )
        return True

    def instances(self, subject: str) -> list[str]:
        """The instances holding data of ``subject``."""
        with self._sql.read() as cur:
            if not self._sql.has_table(cur, REFS):
                return []
            cur.execute(
                f"SELECT instance_id FROM {self.refs} WHERE subject = ? AND subject <> '' "
                "ORDER BY instance_id",
                (subject,),
            )
            return [str(r["instance_id"]) for r in cur.fetchall()]

    def set_status(self, subject: str, status: str, *, erasure: str | None) -> None:
        """Restrict (or lift the restriction of) the subject's live keys."""
        with self._sql.write() as cur:
            cur.execute(
                f"UPDATE {self.keys} SET status = ?, erasure = ? WHERE subject = ? "
                "AND wrapped IS NOT NULL",
                (status, erasure, subject),
            )

    def destroy(self, subject: str, *, erasure: str, at: str) -> int:
        """Destroy every live key of ``subject``; how many were destroyed."""
        with self._sql.write() as cur:
            if self._sql.dialect == "sqlite":  # zero the destroyed key's bytes in its page
                cur.execute("PRAGMA secure_delete = ON")
            cur.execute(
                f"SELECT COUNT(*) AS n FROM {self.keys} WHERE subject = ? AND wrapped IS NOT NULL",
                (subject,),
            )
            count = int(cur.fetchone()["n"])
            cur.execute(
                f"UPDATE {self.keys} SET wrapped = NULL, status = ?, erasure = ?, "
                "erased_at = ? WHERE subject = ? AND wrapped IS NOT NULL",
                (ERASED, erasure, at, subject),
            )
        return count

    def live(self) -> list[KeyRow]:
        """Every key row that still has a key."""
        with self._sql.read() as cur:
            if not self._has(cur):
                return []
            cur.execute(
                f"SELECT subject, version, wrapped, kek_id, status, erasure FROM {self.keys} "
                "WHERE wrapped IS NOT NULL ORDER BY subject, version"
            )
            return [_row(r) for r in cur.fetchall()]

    def rewrap(self, rows: Iterable[KeyRow]) -> None:
        """Store re-wrapped keys (one transaction: all or none)."""
        with self._sql.write() as cur:
            cur.executemany(
                f"UPDATE {self.keys} SET wrapped = ?, kek_id = ? WHERE subject = ? "
                "AND version = ? AND wrapped IS NOT NULL",
                [(r.wrapped, r.kek_id, r.subject, r.version) for r in rows],
            )


def _row(r: Any) -> KeyRow:
    return KeyRow(
        subject=str(r["subject"]),
        version=int(r["version"]),
        wrapped=None if r["wrapped"] is None else str(r["wrapped"]),
        kek_id=str(r["kek_id"]),
        status=str(r["status"]),
        erasure=None if r["erasure"] is None else str(r["erasure"]),
    )
