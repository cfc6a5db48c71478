"""The per-name delivery lease: one deliverer per subscriber name at a time.

The lease lives in the subscriber's row (``owner``, ``lease_until`` in wall-clock seconds).
A deliverer takes it when it is free, its own, run out, or held by a process of this host
that no longer runs. While delivering it is renewed before each handler call once more
than a third of its term has passed, so a handler that returns within two thirds of the
term is always covered; a renewal that finds another owner means the lease was lost, and
the deliverer stops before calling the next handler (see :mod:`engine.hooks.delivery`).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from uuid import uuid4

from engine.persistence.sql import SqlStore

__all__ = ["RENEW_FRACTION", "Leases", "crashed_here", "new_owner"]

RENEW_FRACTION = 1 / 3
"""A held lease is renewed once this fraction of its term has passed since the last
renewal."""


def new_owner() -> str:
    """A fresh owner id: ``host:pid:random`` (``host:pid`` is shown to operators)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:6]}"


def crashed_here(owner: str) -> bool:
    """Whether ``owner`` was a process on this host that no longer runs (a restart need
    not wait for its lease to run out)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


@dataclass
class _Held:
    position: int
    renewed: float
    """``time.monotonic()`` just before ``lease_until`` was last written (so never late)."""


class Leases:
    """The leases one dispatcher holds, and the SQL on the lease columns."""

    def __init__(self, sql: SqlStore, table: str) -> None:
        self.owner = new_owner()
        self._sql = sql
        self._table = table
        self._held: dict[str, _Held] = {}

    def _fresh(self, name: str, lease: float) -> _Held | None:
        """Our hold on ``name`` if it was renewed less than a third of ``lease`` ago."""
        held = self._held.get(name)
        if held is not None and time.monotonic() - held.renewed < lease * RENEW_FRACTION:
            return held
        return None

    def acquire(self, name: str, lease: float) -> int | None:
        """Our position in ``name`` if we hold the lease or can take it (renewed if due);
        ``None`` while another deliverer holds it."""
        held = self._fresh(name, lease)
        if held is not None:
            return held.position
        started = time.monotonic()
        lock = " FOR UPDATE" if self._sql.dialect == "postgres" else ""
        with self._sql.write() as cur:
            cur.execute(
                f"SELECT position, owner, lease_until FROM {self._table} WHERE name = ?{lock}",
                (name,),
            )
            row = cur.fetchone()
            now = time.time()
            if row is None or not self._may_take(row["owner"], row["lease_until"], now):
                self._held.pop(name, None)
                return None
            cur.execute(
                f"UPDATE {self._table} SET owner = ?, lease_until = ? WHERE name = ?",
                (self.owner, now + lease, name),
            )
        self._held[name] = _Held(int(row["position"]), started)
        return int(row["position"])

    def _may_take(self, owner: str | None, until: float | None, now: float) -> bool:
        return owner is None or owner == self.owner or (until or 0) < now or crashed_here(owner)

    def keep(self, name: str, lease: float) -> bool:
        """Whether we still hold ``name``'s lease (renewed when a third of it has passed).

        Called before every handler call: ``False`` (the lease was taken over, or released)
        means stop delivering at once and write no position.
        """
        if self._fresh(name, lease) is not None:
            return True
        held = self._held.get(name)
        if held is None:
            return False
        started = time.monotonic()
        with self._sql.write() as cur:
            cur.execute(
                f"UPDATE {self._table} SET lease_until = ? WHERE name = ? AND owner = ?",
                (time.time() + lease, name, self.owner),
            )
            cur.execute(f"SELECT owner FROM {self._table} WHERE name = ?", (name,))
            row = cur.fetchone()
        if row is None or row["owner"] != self.owner:
            self._held.pop(name, None)
            return False
        held.renewed = started
        return True

    def moved(self, name: str, position: int, *, renewed: float) -> None:
        """We wrote ``position`` (and a new ``lease_until``) at ``renewed`` (monotonic)."""
        self._held[name] = _Held(position, renewed)

    def drop(self, name: str) -> None:
        """Forget our hold on ``name`` (the next delivery asks the store again)."""
        self._held.pop(name, None)

    def clear(self) -> None:
        """Forget every hold (the database failed, or the dispatcher closes)."""
        self._held.clear()

    def release(self, name: str) -> None:
        """Give ``name``'s lease up, if we hold it."""
        self._held.pop(name, None)
        with self._sql.write() as cur:
            cur.execute(
                f"UPDATE {self._table} SET owner = NULL, lease_until = NULL "
                "WHERE name = ? AND owner = ?",
                (name, self.owner),
            )

    def release_all(self) -> None:
        """Give every lease we hold up."""
        self._held.clear()
        with self._sql.write() as cur:
            cur.execute(
                f"UPDATE {self._table} SET owner = NULL, lease_until = NULL WHERE owner = ?",
                (self.owner,),
            )
