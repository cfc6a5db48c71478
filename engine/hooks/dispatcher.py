"""Hooks: host code that reacts to recorded events, at least once, after commit.

``engine.subscribe(handler, name="mailer", triggers=["approve"])`` registers a handler.
A dispatcher thread reads the log after each commit of this engine and, on PostgreSQL,
when another process's commit notifies the store's channel (:mod:`engine.persistence.notify`;
it also polls every ``fallback_poll`` seconds, and every ``poll`` seconds while the
listener is down or on SQLite), calls the handler with each matching event in log order,
and then stores the subscriber's position in ``socieux_subscriptions``. So:

* **After commit**: a handler only ever sees recorded events, and never runs inside (or
  delays) the command that recorded them.
* **At least once**: the position moves only after the handler returned (it is written
  once per page of up to 100 events). A host killed in between sees the event again,
  with the rest of its page, when it restarts. Make handlers idempotent with
  :attr:`HookEvent.notification_id` (unique in the store, increasing) as the key.
* **Retried, then parked**: a raising handler is retried with exponential backoff; after
  ``max_attempts`` the event is parked in ``socieux_parked_events`` with the error (its
  type and message only, made storable and capped), the subscriber moves on, and
  :meth:`Engine.subscriptions` / ``socieux hooks`` show it. :meth:`Engine.retry_parked`
  delivers parked events again.
* **One deliverer per name**: several processes may subscribe the same name (web workers
  on one PostgreSQL); a lease on the subscriber's row lets one deliver at a time. It is
  renewed before each handler call once a third of its term has passed, so a handler
  must return within two thirds of ``lease`` seconds; a deliverer that lost the lease
  stops before its next handler call and writes no position. A crashed holder's lease
  runs out after ``lease`` seconds and another process resumes (at once, when the holder
  was a process on the same host that no longer runs).

The parts: :mod:`~engine.hooks.types`, :mod:`~engine.hooks.store` (the tables),
:mod:`~engine.hooks.lease` and :mod:`~engine.hooks.delivery` (the loop);
:class:`HookDispatcher` composes them with the background thread.
"""

from __future__ import annotations

import threading
import time

from engine.errors import InvalidArgument
from engine.hooks.delivery import PAGE, Delivery
from engine.hooks.lease import Leases
from engine.hooks.store import SubscriberStore
from engine.hooks.types import HookEvent, HookLag, HookStatus, ParkedEvent, Subscription
from engine.logs import get_logger
from engine.persistence.notify import wakeups_of
from engine.persistence.sql import SqlStore
from engine.persistence.store import EngineApplication

# HookEvent is re-exported: it was imported from here before the split.
__all__ = ["HookDispatcher", "HookEvent"]

_log = get_logger("socieux.hooks")


class HookDispatcher:
    """Delivers events to the subscriptions of one engine (one background thread)."""

    def __init__(self, app: EngineApplication, sql: SqlStore, *, poll: float = 0.5) -> None:
        self._poll = poll
        self._wakeups = wakeups_of(app)
        self._subs: dict[str, Subscription] = {}
        self._store = SubscriberStore(sql)
        self._leases = Leases(sql, self._store.subscriptions)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._delivery = Delivery(app, self._store, self._leases, self._stop)
        self._thread: threading.Thread | None = None
        self._linger = 0.05
        self._delivering = threading.Lock()
        """Held while a page is delivered, so ``remove`` waits for it."""

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        """Create the two tables (once per engine)."""
        self._store.setup()

    def add(self, sub: Subscription, *, start: str, background: bool) -> None:
        """Register ``sub``; a new name starts at the log's head or its beginning."""
        if sub.name in self._subs:
            raise InvalidArgument(f"a handler is already subscribed as {sub.name!r}")
        if start not in {"head", "beginning"}:
            raise InvalidArgument("start must be 'head' or 'beginning'")
        self.setup()
        self._store.ensure(sub.name, self.head() if start == "head" else 0)
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
            self._leases.release(name)

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
        self._leases.clear()
        if self._subs:
            try:
                self._leases.release_all()
            except Exception:  # closing must not fail; the lease will expire
                _log.warning("hook_lease_not_released")

    # ------------------------------------------------------------------ delivery
    def head(self) -> int:
        """The highest notification id in the log."""
        return self._delivery.head()

    def _run(self) -> None:
        self._wakeups.add("events", self._wake.set)
        try:
            self._loop()
        finally:
            self._wakeups.discard("events", self._wake.set)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = sum(self._deliver_if_subscribed(sub) for sub in list(self._subs.values()))
            except Exception as exc:  # e.g. the database is down: retry on the next poll
                _log.warning("hook_dispatch_failed", error=type(exc).__name__)
                self._leases.clear()
                done = 0
            if done == 0:
                self._wake.wait(self._wakeups.poll(self._poll))
                self._wake.clear()
            if done < PAGE:
                # Not a backlog: let commits gather, so a busy writer costs one position
                # write per batch of events, not one per event.
                self._stop.wait(self._linger)

    def _deliver_if_subscribed(self, sub: Subscription) -> int:
        with self._delivering:
            return self.deliver_page(sub) if self._subs.get(sub.name) is sub else 0

    def deliver_page(self, sub: Subscription) -> int:
        """Deliver up to one page of events to ``sub``; returns how many were consumed."""
        return self._delivery.deliver_page(sub)

    # ------------------------------------------------------------------ control
    def drain(self, *, timeout: float) -> None:
        """Block until every registered subscriber has consumed the log's current head.

        Without a background thread the caller's thread delivers.
        """
        target = self.head()
        deadline = time.monotonic() + timeout
        while True:
            positions = self._store.positions()
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

    def status(self) -> list[HookStatus]:
        """Every subscriber recorded in the store."""
        if not self._store.exists():
            return []
        return self._store.status(self.head(), active=set(self._subs), now=time.time())

    def parked(self, name: str | None = None) -> list[ParkedEvent]:
        """Parked events (of one subscriber, or all), oldest first."""
        return self._store.parked(name)

    def retry_parked(self, name: str) -> tuple[int, int]:
        """Deliver ``name``'s parked events once more; returns (delivered, still parked)."""
        sub = self._subs.get(name)
        if sub is None:
            raise InvalidArgument(f"no handler is subscribed here as {name!r}")
        delivered = failed = 0
        for item in self._store.parked(name):
            error = self._delivery.redeliver(sub, item.notification_id)
            if error is None:
                delivered += 1
                self._store.unpark(name, item.notification_id)
            else:
                failed += 1
                self._store.failed_again(name, item.notification_id, error)
        return delivered, failed
