"""Hooks: host code that reacts to recorded events, at least once, after commit.

``engine.subscribe(handler, name="mailer", triggers=["approve"])`` registers a handler.
A dispatcher thread reads the log after each commit (and polls, for other processes'
commits), calls the handler with each matching event in log order, and then stores the
subscriber's position in ``socieux_subscriptions``. So:

* **After commit**: a handler only ever sees recorded events, and never runs inside (or
  delays) the command that recorded them.
* **At least once**: the position moves only after the handler returned (it is written
  once per page of up to 100 events). A host killed in between sees the event again,
  with the rest of its page, when it restarts. Make handlers idempotent with
  :attr:`HookEvent.notification_id` (unique in the store, increasing) as the key.
* **Retried, then parked**: a raising handler is retried with exponential backoff; after
  ``max_attempts`` the event is parked in ``socieux_parked_events`` with the error, the
  subscriber moves on, and :meth:`Engine.subscriptions` / ``socieux hooks`` show it.
  :meth:`Engine.retry_parked` delivers parked events again.
* **One deliverer per name**: several processes may subscribe the same name (web workers
  on one PostgreSQL); a lease on the subscriber's row lets one deliver at a time. A
  crashed holder's lease runs out after ``lease`` seconds and another process resumes
  (at once, when the holder was a process on the same host that no longer runs).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import structlog
from pydantic import BaseModel, ConfigDict

from engine.commands.context import command_context
from engine.errors import EngineError, InvalidArgument
from engine.instance.aggregate import STARTED_TOPIC, TRANSITIONED_TOPIC
from engine.persistence.sql import SqlStore
from engine.projection.protocol import ProjectedEvent

__all__ = [
    "HookEvent",
    "HookLag",
    "HookStatus",
    "ParkedEvent",
    "Subscription",
]

HookEvent = ProjectedEvent
"""What a handler receives: the event, its audit metadata and its ``notification_id``."""
Handler = Callable[[HookEvent], object]

SUBSCRIPTIONS_TABLE = "socieux_subscriptions"
PARKED_TABLE = "socieux_parked_events"
TOPICS = {"started": STARTED_TOPIC, "transitioned": TRANSITIONED_TOPIC}
_PAGE = 100
_MAX_DELAY = 60.0
_log = structlog.get_logger("socieux.hooks")


class HookLag(EngineError, TimeoutError):
    """Subscribers did not reach the wanted position in time."""

    code = "hook_lag"


class HookStatus(BaseModel):
    """Where one subscriber stands (from the store: other processes' subscribers too)."""

    model_config = ConfigDict(frozen=True)

    name: str
    position: int
    head: int
    behind: bool
    parked: int
    last_error: str | None
    owner: str | None
    """The process holding the delivery lease (``host:pid``), if any."""
    active_here: bool
    """Whether this engine has a handler registered under the name."""


class ParkedEvent(BaseModel):
    """An event a handler failed on ``attempts`` times."""

    model_config = ConfigDict(frozen=True)

    name: str
    notification_id: int
    instance_id: str
    version: int
    trigger: str
    attempts: int
    error: str
    parked_at: datetime


@dataclass
class Subscription:
    """A registered handler and its delivery settings."""

    name: str
    handler: Handler
    topics: frozenset[str]
    triggers: frozenset[str] | None
    max_attempts: int
    backoff: float
    lease: float
    sleep: Callable[[float], bool] = field(repr=False, default=lambda _delay: False)
    """Waits between retries; returns True when the engine is closing."""

    def wants(self, event: HookEvent) -> bool:
        """Whether the handler should see ``event``."""
        return self.triggers is None or event.trigger in self.triggers


def make_subscription(
    name: str,
    handler: Handler,
    *,
    topics: Iterable[str] | None,
    triggers: Iterable[str] | None,
    max_attempts: int,
    backoff: float,
    lease: float,
) -> Subscription:
    """Validate the arguments of ``Engine.subscribe``."""
    if not isinstance(name, str) or not 0 < len(name) <= 100 or not name.isprintable():
        raise InvalidArgument("a subscription name is 1 to 100 printable characters")
    if not callable(handler):
        raise InvalidArgument("handler must be callable with one event")
    chosen = set(TOPICS) if topics is None else set(topics)
    unknown = sorted(chosen - set(TOPICS) - set(TOPICS.values()))
    if unknown or not chosen:
        raise InvalidArgument(f"topics must be among {sorted(TOPICS)}; got {unknown or 'none'}")
    if max_attempts < 1 or backoff < 0 or lease <= 0:
        raise InvalidArgument("max_attempts >= 1, backoff >= 0 and lease > 0 are required")
    return Subscription(
        name=name,
        handler=handler,
        topics=frozenset(TOPICS.get(t, t) for t in chosen),
        triggers=None if triggers is None else frozenset(triggers),
        max_attempts=max_attempts,
        backoff=backoff,
        lease=lease,
    )


class HookDispatcher:
    """Delivers events to the subscriptions of one engine (one background thread)."""

    def __init__(self, app: Any, sql: SqlStore, *, poll: float = 0.5) -> None:
        self._app = app
        self._sql = sql
        self._poll = poll
        self._subs: dict[str, Subscription] = {}
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:6]}"
        self._t_subs = sql.table(SUBSCRIPTIONS_TABLE)
        self._t_parked = sql.table(PARKED_TABLE)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = False
        self._linger = 0.05
        self._delivering = threading.Lock()
        """Held while a page is delivered, so ``remove`` waits for it."""
        self._held: dict[str, tuple[int, float]] = {}
        """name -> (position, lease until) while this dispatcher holds the lease."""

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        """Create the two tables (once per engine)."""
        if self._ready:
            return
        with self._sql.write() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self._t_subs} (name TEXT PRIMARY KEY, "
                "position BIGINT NOT NULL, owner TEXT, lease_until DOUBLE PRECISION, "
                "last_error TEXT)"
            )
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self._t_parked} (name TEXT NOT NULL, "
                "notification_id BIGINT NOT NULL, instance_id TEXT NOT NULL, "
                "version INTEGER NOT NULL, trigger_name TEXT NOT NULL, "
                "attempts INTEGER NOT NULL, error TEXT NOT NULL, parked_at TEXT NOT NULL, "
                "PRIMARY KEY (name, notification_id))"
            )
        self._ready = True

    def _tables_exist(self) -> bool:
        try:
            with self._sql.read() as cur:
                cur.execute(f"SELECT count(*) AS n FROM {self._t_subs}")
                cur.fetchall()
        except Exception:  # no subscriber ever registered in this store
            return False
        return True

    def add(self, sub: Subscription, *, start: str, background: bool) -> None:
        """Register ``sub``; a new name starts at the log's head or its beginning."""
        if sub.name in self._subs:
            raise InvalidArgument(f"a handler is already subscribed as {sub.name!r}")
        if start not in {"head", "beginning"}:
            raise InvalidArgument("start must be 'head' or 'beginning'")
        self.setup()
        first = self.head() if start == "head" else 0
        with self._sql.write() as cur:
            cur.execute(f"SELECT position FROM {self._t_subs} WHERE name = ?", (sub.name,))
            if cur.fetchone() is None:
                cur.execute(
                    f"INSERT INTO {self._t_subs} (name, position) VALUES (?, ?)",
                    (sub.name, first),
                )
        sub.sleep = self._stop.wait
        self._subs[sub.name] = sub
        if background and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="socieux-hooks", daemon=True)
            self._thread.start()
        self._wake.set()

    def remove(self, name: str) -> None:
        """Unregister ``name`` (a page in delivery finishes first) and release its lease."""
        if self._subs.pop(name, None) is None:
            raise InvalidArgument(f"no handler is subscribed here as {name!r}")
        with self._delivering:
            self._held.pop(name, None)
            with self._sql.write() as cur:
                cur.execute(
                    f"UPDATE {self._t_subs} SET owner = NULL, lease_until = NULL "
                    "WHERE name = ? AND owner = ?",
                    (name, self._owner),
                )

    @property
    def active(self) -> bool:
        """Whether any handler is registered."""
        return bool(self._subs)

    def notify(self) -> None:
        """A command committed: wake the dispatcher."""
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread (a running handler gets ``timeout`` seconds) and release leases."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._held.clear()
        if self._subs:
            try:
                with self._sql.write() as cur:
                    cur.execute(
                        f"UPDATE {self._t_subs} SET owner = NULL, lease_until = NULL "
                        "WHERE owner = ?",
                        (self._owner,),
                    )
            except Exception:  # closing must not fail; the lease will expire
                _log.warning("hook_lease_not_released")

    # ------------------------------------------------------------------ delivery
    def head(self) -> int:
        """The highest notification id in the log."""
        return int(self._app.recorder.max_notification_id() or 0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = sum(self._deliver_if_subscribed(sub) for sub in list(self._subs.values()))
            except Exception as exc:  # e.g. the database is down: retry on the next poll
                _log.warning("hook_dispatch_failed", error=type(exc).__name__)
                self._held.clear()
                done = 0
            if done == 0:
                self._wake.wait(self._poll)
                self._wake.clear()
            if done < _PAGE:
                # Not a backlog: let commits gather, so a busy writer costs one position
                # write per batch of events, not one per event.
                self._stop.wait(self._linger)

    def _deliver_if_subscribed(self, sub: Subscription) -> int:
        with self._delivering:
            return self.deliver_page(sub) if self._subs.get(sub.name) is sub else 0

    def _position(self, sub: Subscription) -> int | None:
        """Our position, if we hold (or can take) the lease; renewed past half its term."""
        held = self._held.get(sub.name)
        if held is not None and held[1] - time.time() > sub.lease / 2:
            return held[0]
        with self._sql.write() as cur:
            lock = " FOR UPDATE" if self._sql.dialect == "postgres" else ""
            cur.execute(
                f"SELECT position, owner, lease_until FROM {self._t_subs} WHERE name = ?{lock}",
                (sub.name,),
            )
            row = cur.fetchone()
            now = time.time()
            owner = None if row is None else row["owner"]
            if row is None or not (
                owner is None
                or owner == self._owner
                or (row["lease_until"] or 0) < now
                or _crashed_here(owner)
            ):
                self._held.pop(sub.name, None)
                return None
            cur.execute(
                f"UPDATE {self._t_subs} SET owner = ?, lease_until = ? WHERE name = ?",
                (self._owner, now + sub.lease, sub.name),
            )
        self._held[sub.name] = (int(row["position"]), now + sub.lease)
        return int(row["position"])

    def deliver_page(self, sub: Subscription) -> int:
        """Deliver up to one page of events to ``sub``; returns how many were consumed.

        The handler is called per event; the position (with any parked events) is written
        once per page, so a crash re-delivers at most the page in flight.
        """
        head = self.head()
        position = self._position(sub)
        if position is None or position >= head:
            return 0
        page = self._app.recorder.select_notifications(
            position, _PAGE, topics=sorted(sub.topics), inclusive_of_start=False
        )
        done, parked = position, []
        for n in page:
            event = ProjectedEvent.from_notification(n, self._app.mapper)
            failure = self._deliver(sub, event) if sub.wants(event) else None
            if self._stop.is_set() and failure is not None:
                break  # interrupted between retries: not parked, delivered again later
            if failure is not None:
                parked.append((event, *failure))
            done = n.id
            if self._stop.is_set():
                break
        else:
            if len(page) < _PAGE:
                done = max(done, head)  # nothing else of our topics up to the head
        if done > position and not self._flush(sub, position, done, parked):
            return 0
        return len(page) if done > position else 0

    def _flush(
        self,
        sub: Subscription,
        old: int,
        new: int,
        parked: list[tuple[HookEvent, int, str]],
    ) -> bool:
        """Store the position and park failures in one transaction, if we still hold the
        lease (another process may have taken it over while a handler ran too long)."""
        until = time.time() + sub.lease
        with self._sql.write() as cur:
            cur.execute(
                f"UPDATE {self._t_subs} SET position = ?, lease_until = ?, last_error = ? "
                "WHERE name = ? AND owner = ? AND position = ?",
                (new, until, parked[-1][2] if parked else None, sub.name, self._owner, old),
            )
            cur.execute(f"SELECT position, owner FROM {self._t_subs} WHERE name = ?", (sub.name,))
            row = cur.fetchone()
            if row is None or row["owner"] != self._owner or int(row["position"]) != new:
                self._held.pop(sub.name, None)
                _log.warning("hook_lease_lost", subscription=sub.name)
                return False
            for event, attempts, error in parked:
                cur.execute(
                    f"INSERT INTO {self._t_parked} (name, notification_id, instance_id, version, "
                    "trigger_name, attempts, error, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        sub.name,
                        event.notification_id,
                        event.instance_id,
                        event.version,
                        event.trigger,
                        attempts,
                        error,
                        datetime.now(UTC).isoformat(),
                    ),
                )
                _log.error(
                    "hook_parked",
                    subscription=sub.name,
                    notification_id=event.notification_id,
                    attempts=attempts,
                )
        self._held[sub.name] = (new, until)
        return True

    def _deliver(self, sub: Subscription, event: HookEvent) -> tuple[int, str] | None:
        """Call the handler with retries; the attempts and error if it never succeeded."""
        for attempt in range(1, sub.max_attempts + 1):
            try:
                _call(sub, event)
            except Exception as exc:  # a handler's failure is reported, not raised
                error = f"{type(exc).__name__}: {exc}"[:1000]
                _log.warning(
                    "hook_failed",
                    subscription=sub.name,
                    attempt=attempt,
                    notification_id=event.notification_id,
                    error=type(exc).__name__,
                )
                if attempt < sub.max_attempts:
                    delay = min(sub.backoff * 2 ** (attempt - 1), _MAX_DELAY)
                    if sub.sleep(delay):
                        return attempt, error  # closing: the caller will not park it
                    continue
                return attempt, error
            else:
                return None
        return None  # pragma: no cover - the loop always returns

    # ------------------------------------------------------------------ control
    def drain(self, *, timeout: float) -> None:
        """Block until every registered subscriber has consumed the log's current head.

        Without a background thread the caller's thread delivers.
        """
        target = self.head()
        deadline = time.monotonic() + timeout
        while True:
            positions = self._positions()
            behind = [n for n in self._subs if positions.get(n, 0) < target]
            if not behind:
                return
            if time.monotonic() >= deadline:
                lowest = min(positions.get(n, 0) for n in behind)
                raise HookLag(
                    f"subscribers {behind} are at {lowest}, not {target}, after {timeout}s",
                    position=target,
                    reached=lowest,
                )
            if self._thread is None:
                if sum(self.deliver_page(self._subs[n]) for n in behind):
                    continue
            else:
                self._wake.set()
            time.sleep(0.01)

    def _positions(self) -> dict[str, int]:
        with self._sql.read() as cur:
            cur.execute(f"SELECT name, position FROM {self._t_subs}")
            return {row["name"]: int(row["position"]) for row in cur.fetchall()}

    def status(self) -> list[HookStatus]:
        """Every subscriber recorded in the store."""
        if not self._ready and not self._tables_exist():
            return []
        head = self.head()
        with self._sql.read() as cur:
            cur.execute(f"SELECT name, count(*) AS n FROM {self._t_parked} GROUP BY name")
            parked = {row["name"]: int(row["n"]) for row in cur.fetchall()}
            cur.execute(
                f"SELECT name, position, owner, lease_until, last_error FROM {self._t_subs} "
                "ORDER BY name"
            )
            rows = cur.fetchall()
        now = time.time()
        return [
            HookStatus(
                name=r["name"],
                position=int(r["position"]),
                head=head,
                behind=int(r["position"]) < head,
                parked=parked.get(r["name"], 0),
                last_error=r["last_error"],
                owner=(
                    r["owner"].rsplit(":", 1)[0]
                    if r["owner"] and (r["lease_until"] or 0) > now
                    else None
                ),
                active_here=r["name"] in self._subs,
            )
            for r in rows
        ]

    def parked(self, name: str | None = None) -> list[ParkedEvent]:
        """Parked events (of one subscriber, or all), oldest first."""
        if not self._ready and not self._tables_exist():
            return []
        where, params = ("WHERE name = ?", (name,)) if name is not None else ("", ())
        with self._sql.read() as cur:
            cur.execute(
                f"SELECT name, notification_id, instance_id, version, trigger_name, attempts, "
                f"error, parked_at FROM {self._t_parked} {where} ORDER BY notification_id",
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

    def retry_parked(self, name: str) -> tuple[int, int]:
        """Deliver ``name``'s parked events once more; returns (delivered, still parked)."""
        sub = self._subs.get(name)
        if sub is None:
            raise InvalidArgument(f"no handler is subscribed here as {name!r}")
        delivered = failed = 0
        for item in self.parked(name):
            page: Sequence[Any] = self._app.recorder.select_notifications(
                item.notification_id, 1, inclusive_of_start=True
            )
            event = ProjectedEvent.from_notification(page[0], self._app.mapper)
            try:
                _call(sub, event)
            except Exception as exc:  # stays parked with the new error
                failed += 1
                with self._sql.write() as cur:
                    cur.execute(
                        f"UPDATE {self._t_parked} SET attempts = attempts + 1, error = ? "
                        "WHERE name = ? AND notification_id = ?",
                        (f"{type(exc).__name__}: {exc}"[:1000], name, item.notification_id),
                    )
                continue
            delivered += 1
            with self._sql.write() as cur:
                cur.execute(
                    f"DELETE FROM {self._t_parked} WHERE name = ? AND notification_id = ?",
                    (name, item.notification_id),
                )
        return delivered, failed


def _crashed_here(owner: str) -> bool:
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


def _call(sub: Subscription, event: HookEvent) -> None:
    """Run the handler in the event's correlation, caused by the event itself."""
    with command_context(
        correlation_id=event.audit.get("correlation_id"),
        causation_id=f"{event.instance_id}@{event.version}",
    ):
        sub.handler(event)
