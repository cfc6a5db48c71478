"""The subscriber store: positions in ``socieux_subscriptions``, failures in
``socieux_parked_events``, all through the read models' :class:`SqlStore`.

The lease columns (``owner``, ``lease_until``) of the subscriptions table are written by
:mod:`engine.hooks.lease`; a position is only ever written by the lease's owner.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from engine.hooks.types import Failure, HookStatus, ParkedEvent
from engine.instance.hashing import storable_text
from engine.persistence.sql import Cursor, SqlStore

__all__ = [
    "ERROR_CHARS",
    "PARKED_TABLE",
    "SUBSCRIPTIONS_TABLE",
    "SubscriberStore",
    "describe_error",
    "storable_error",
]

SUBSCRIPTIONS_TABLE = "socieux_subscriptions"
PARKED_TABLE = "socieux_parked_events"
ERROR_CHARS = 2000
"""The longest error text stored for a parked event (after escaping)."""


def storable_error(text: str) -> str:
    """``text`` made storable on every backend, capped at :data:`ERROR_CHARS`.

    NUL (which PostgreSQL text cannot hold) becomes the four characters ``\\x00`` and a
    lone surrogate its backslash escape, so a hostile message cannot make the parked row
    unstorable (and the subscriber redeliver forever).
    """
    if not storable_text(text):
        escaped = text.replace("\x00", "\\x00")
        text = escaped.encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:ERROR_CHARS]


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of a handler's exception, storable: never its traceback or locals."""
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not stop the subscriber
        message = "<unprintable message>"
    return storable_error(f"{type(exc).__name__}: {message}")


class SubscriberStore:
    """The two tables of hook subscribers in the engine's database."""

    def __init__(self, sql: SqlStore) -> None:
        self.sql = sql
        self.subscriptions = sql.table(SUBSCRIPTIONS_TABLE)
        self._parked = sql.table(PARKED_TABLE)
        self._ready = False

    def setup(self) -> None:
        """Create the two tables (once per engine)."""
        if self._ready:
            return
        with self.sql.write() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.subscriptions} (name TEXT PRIMARY KEY, "
                "position BIGINT NOT NULL, owner TEXT, lease_until DOUBLE PRECISION, "
                "last_error TEXT)"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self._parked} (name TEXT NOT NULL, "
                "notification_id BIGINT NOT NULL, instance_id TEXT NOT NULL, "
                "version INTEGER NOT NULL, trigger_name TEXT NOT NULL, "
                "attempts INTEGER NOT NULL, error TEXT NOT NULL, parked_at TEXT NOT NULL, "
                "PRIMARY KEY (name, notification_id))"
            )
        self._ready = True

    def exists(self) -> bool:
        """Whether the tables exist (set up here, or by any engine on this store before)."""
        if self._ready:
            return True
        try:
            with self.sql.read() as cur:
                cur.execute(f"SELECT count(*) AS n FROM {self.subscriptions}")
                cur.fetchall()
        except Exception:  # no subscriber ever registered in this store
            return False
        return True

    def ensure(self, name: str, first: int) -> None:
        """Record subscriber ``name`` at position ``first``, unless it is recorded."""
        with self.sql.write() as cur:
            cur.execute(f"SELECT position FROM {self.subscriptions} WHERE name = ?", (name,))
            if cur.fetchone() is None:
                cur.execute(
                    f"INSERT INTO {self.subscriptions} (name, position) VALUES (?, ?)",
                    (name, first),
                )

    def positions(self) -> dict[str, int]:
        """Every subscriber's position."""
        with self.sql.read() as cur:
            cur.execute(f"SELECT name, position FROM {self.subscriptions}")
            return {row["name"]: int(row["position"]) for row in cur.fetchall()}

    def commit(
        self,
        name: str,
        *,
        owner: str,
        moved: tuple[int, int],
        failures: Sequence[Failure],
        lease_until: float,
    ) -> bool:
        """Move ``name`` from ``moved[0]`` to ``moved[1]`` and park ``failures``, in one
        transaction, only if ``owner`` still holds the lease; whether it did."""
        old, new = moved
        last_error = storable_error(failures[-1].error) if failures else None
        with self.sql.write() as cur:
            cur.execute(
                f"UPDATE {self.subscriptions} SET position = ?, lease_until = ?, "
                "last_error = ? WHERE name = ? AND owner = ? AND position = ?",
                (new, lease_until, last_error, name, owner, old),
            )
            cur.execute(f"SELECT position, owner FROM {self.subscriptions} WHERE name = ?", (name,))
            row = cur.fetchone()
            if row is None or row["owner"] != owner or int(row["position"]) != new:
                return False
            self._park(cur, name, failures)
        return True

    def _park(self, cur: Cursor, name: str, failures: Sequence[Failure]) -> None:
        parked_at = datetime.now(UTC).isoformat()
        for failure in failures:
            event = failure.event
            cur.execute(
                f"INSERT INTO {self._parked} (name, notification_id, instance_id, version, "
                "trigger_name, attempts, error, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    event.notification_id,
                    event.instance_id,
                    event.version,
                    event.trigger,
                    failure.attempts,
                    storable_error(failure.error),
                    parked_at,
                ),
            )

    def status(self, head: int, *, active: Collection[str], now: float) -> list[HookStatus]:
        """Every subscriber recorded in the store (``now``: to tell live leases); the
        tables must exist (see :meth:`exists`)."""
        with self.sql.read() as cur:
            cur.execute(f"SELECT name, count(*) AS n FROM {self._parked} GROUP BY name")
            parked = {row["name"]: int(row["n"]) for row in cur.fetchall()}
            cur.execute(
                f"SELECT name, position, owner, lease_until, last_error "
                f"FROM {self.subscriptions} ORDER BY name"
            )
            rows = cur.fetchall()
        return [_status(r, head, parked.get(r["name"], 0), r["name"] in active, now) for r in rows]

    def parked(self, name: str | None = None) -> list[ParkedEvent]:
        """Parked events (of one subscriber, or all), oldest first."""
        if not self.exists():
            return []
        where, params = ("WHERE name = ?", (name,)) if name is not None else ("", ())
        with self.sql.read() as cur:
            cur.execute(
                f"SELECT name, notification_id, instance_id, version, trigger_name, attempts, "
                f"error, parked_at FROM {self._parked} {where} ORDER BY notification_id",
                params,
            )
            rows = cur.fetchall()
        return [
            ParkedEvent(
                name=r["name"],
                notification_id=int(r["notification_id"]),
                instance_id=r["instance_id"],
                version=int(r["version"]),
                trigger=r["trigger_name"],
                attempts=int(r["attempts"]),
                error=r["error"],
                parked_at=datetime.fromisoformat(r["parked_at"]),
            )
            for r in rows
        ]

    def failed_again(self, name: str, notification_id: int, error: str) -> None:
        """A retried parked event failed once more: count it, keep the new error."""
        with self.sql.write() as cur:
            cur.execute(
                f"UPDATE {self._parked} SET attempts = attempts + 1, error = ? "
                "WHERE name = ? AND notification_id = ?",
                (storable_error(error), name, notification_id),
            )

    def unpark(self, name: str, notification_id: int) -> None:
        """A retried parked event was delivered: forget it."""
        with self.sql.write() as cur:
            cur.execute(
                f"DELETE FROM {self._parked} WHERE name = ? AND notification_id = ?",
                (name, notification_id),
            )


def _status(row: Any, head: int, parked: int, active_here: bool, now: float) -> HookStatus:
    """One subscriber's status from its row (a driver's mapping: ``Any``, as in SqlStore)."""
    position, owner = int(row["position"]), row["owner"]
    live = bool(owner) and (row["lease_until"] or 0) > now
    return HookStatus(
        name=row["name"],
        position=position,
        head=head,
        behind=position < head,
        parked=parked,
        last_error=row["last_error"],
        owner=owner.rsplit(":", 1)[0] if live else None,
        active_here=active_here,
    )
