"""The host's own outbox: messages to send, written by an engine hook.

``engine.subscribe`` delivers each recorded event at least once, after commit, in the
engine's dispatcher thread. The handler below makes redelivery harmless: the event's
``notification_id`` is the outbox's primary key, so a second delivery inserts nothing.
A mailer (not part of this example) would send the rows and mark them sent.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime

from pydantic import BaseModel

from engine import HookEvent

__all__ = ["Outbox", "OutboxMessage"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    notification_id INTEGER PRIMARY KEY,  -- the engine's idempotency key
    instance_id     TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    correlation_id  TEXT,
    queued_at       TEXT NOT NULL
)
"""


class OutboxMessage(BaseModel):
    """One queued message."""

    notification_id: int
    instance_id: str
    recipient: str
    subject: str
    correlation_id: str | None
    queued_at: datetime


class Outbox:
    """A SQLite outbox table (a file, or in memory when ``path`` is ``None``)."""

    def __init__(self, path: str | None = None) -> None:
        # Hook handlers run in the engine's dispatcher thread, requests in the server's:
        # share one connection between threads, one statement at a time.
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(_SCHEMA)

    def queue_approval_notice(self, event: HookEvent) -> None:
        """Hook handler for ``approve``: tell the EU Delegation, once per approval."""
        reference = event.payload.get("approval_reference", "")
        with self._lock, self._db:  # one transaction
            self._db.execute(
                "INSERT INTO outbox (notification_id, instance_id, recipient, subject, "
                "correlation_id, queued_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (notification_id) DO NOTHING",
                (
                    event.notification_id,
                    event.instance_id,
                    "EU Delegation",
                    f"Request {event.instance_id} approved ({reference})",
                    event.audit.get("correlation_id"),
                    event.at.isoformat(),
                ),
            )

    def messages(self) -> list[OutboxMessage]:
        """Every queued message, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM outbox ORDER BY notification_id").fetchall()
        return [OutboxMessage(**dict(row)) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
