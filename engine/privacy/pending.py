"""New data keys written by the event's own transaction (SQLite): no write of their own.

A command whose payload names a subject of its own instance for the first time (a
request's contact) needs a new data key. On SQLite the key row is inserted by the same
write transaction as the event whose envelopes it opens (the recorder's inline hook): one
commit, one fsync, and never an envelope without its key or a key without its event. The
key is used by this process only once that transaction committed (``promote``, an
after-commit callback); a transaction that failed leaves no row and no cached key, and the
command's retry seals again. Subjects shared between instances (an expert's roster id) are
still created in a transaction of their own first: two instances may race for them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from engine.instance.aggregate import WorkflowInstance
from engine.persistence.sql import Cursor
from engine.persistence.store import InlineHook
from engine.privacy.envelope import DataKey
from engine.privacy.keystore import KeyRow

__all__ = ["PendingKeys"]

Inline = Callable[[Sequence[WorkflowInstance.Event]], InlineHook | None]
Adopt = Callable[[list[tuple[KeyRow, DataKey]], float], None]
"""Takes the inserted keys and a time (``time.monotonic``) before their transaction."""
_MAX_PENDING = 1000
"""Sealed commands per thread whose event was never saved (refused after sealing) kept."""


class PendingKeys:
    """Per thread: the key rows sealed commands wait to insert, by (instance, version)."""

    def __init__(self, table: str, adopt: Adopt) -> None:
        self._insert = (
            f"INSERT INTO {table} (subject, version, wrapped, kek_id, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._adopt = adopt
        self._local = threading.local()

    def add(self, at: tuple[str, int], keys: list[tuple[KeyRow, DataKey]]) -> None:
        """Keys the event of instance ``at[0]`` at version ``at[1]`` must insert."""
        pending: dict[tuple[str, int], list[tuple[KeyRow, DataKey]]] | None = getattr(
            self._local, "pending", None
        )
        if pending is None or len(pending) >= _MAX_PENDING:
            pending = self._local.pending = {}
        pending[at] = keys

    def wrap(self, inner: Inline | None) -> Inline:
        """The command service's inline hook, inserting the pending keys of the events."""

        def hooks(events: Sequence[WorkflowInstance.Event]) -> InlineHook | None:
            local = self._local.__dict__
            if local.get("inserted"):  # a transaction that failed: its rows rolled back
                local["inserted"] = ()
            first = inner(events) if inner is not None else None  # None: no transaction
            # of its own on PostgreSQL (the insert function runs in autocommit)
            pending = local.get("pending")
            if not pending:
                return first
            keys = [
                k
                for e in events
                for k in pending.pop((str(e.originator_id), e.originator_version), ())
            ]
            if not keys:
                return first
            at = datetime.now(UTC).isoformat()

            def hook(cur: Cursor, ids: Sequence[int]) -> None:
                before = time.monotonic()  # in the transaction, before its commit
                cur.executemany(
                    self._insert,
                    [(r.subject, r.version, r.wrapped, r.kek_id, r.status, at) for r, _ in keys],
                )
                local["inserted"] = (keys, before)
                if first is not None:
                    first(cur, ids)

            return hook

        return hooks

    def promote(self) -> None:
        """After a commit: the keys its transaction inserted may now be used (and cached)."""
        local = self._local.__dict__
        inserted = local.get("inserted")
        if inserted:
            local["inserted"] = ()
            self._adopt(*inserted)
