"""Wake-ups on PostgreSQL: the notify channels of a store and one listener per engine.

The contract (other parts, e.g. read replicas, build on it):

* **Channels.** Each store (database and schema) has two channels, named by
  :func:`channel`: ``events`` (``socieux_events_<schema>``) and ``positions``
  (``socieux_positions_<schema>``); a name longer than PostgreSQL's 63 bytes ends in a
  hash of the schema instead. Channels are per database, so the schema is in the name:
  two schemas on one server never wake each other.
* **Senders.** Every transaction that inserts events sends ``pg_notify(events channel,
  last notification id)`` inside that transaction, so it is delivered at commit and never
  for a rolled-back insert (``engine.persistence.postgres``; with ``db_functions=off`` the
  payload is empty). A projection catch-up that moves positions sends the new position on
  ``positions`` the same way.
* **A notification is a hint, never the data.** A woken reader reads from its own last
  position, as it would after a poll. Notifications may be merged, and none arrive while
  the listening connection is down, so :class:`Wakeups` calls every callback once each
  time it (re)connects and once when it loses the connection; readers keep a slow
  fallback poll (:meth:`Wakeups.poll`) and a short one while the listener is down.
* **One listener per engine**: a daemon thread on one dedicated connection (not from
  the pool), started when the first callback is added and closed with the engine. It
  reconnects with a growing delay (up to 5 s) and pings an idle connection every 10 s.

URL settings (``engine.persistence.urls``): ``notify=off`` sends nothing and listens to
nothing (every reader polls as before, e.g. behind a transaction-mode pgbouncer);
``fallback_poll=SECONDS`` (default 5) is the poll used while the listener is up.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from engine.logs import get_logger

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

__all__ = ["DEFAULT_FALLBACK_POLL", "Topic", "Wakeups", "channel", "wakeups_of"]

Topic = Literal["events", "positions"]
_TOPICS: tuple[Topic, ...] = ("events", "positions")
DEFAULT_FALLBACK_POLL = 5.0
"""Seconds between polls while notifications arrive (the slow fallback)."""
_PING = 10.0
_MAX_DELAY = 5.0
_TICK = 0.2
_log = get_logger("socieux.notify")


def channel(schema: str, topic: Topic) -> str:
    """The notify channel of ``topic`` for the store in ``schema`` (at most 63 bytes)."""
    name = f"socieux_{topic}_{schema}"
    if len(name.encode()) <= 63:
        return name
    return f"socieux_{topic}_{hashlib.sha256(schema.encode()).hexdigest()[:16]}"


class Wakeups:
    """Calls registered callbacks when a channel of the store is notified.

    Without ``connect`` (SQLite, memory, ``notify=off``) nothing is ever called and
    :meth:`poll` always answers the caller's short poll.
    """

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[TupleRow]] | None,
        schema: str,
        *,
        fallback: float = DEFAULT_FALLBACK_POLL,
    ) -> None:
        self._connect = connect
        self.fallback = fallback
        self.channels: dict[Topic, str] = {t: channel(schema, t) for t in _TOPICS}
        self._callbacks: dict[Topic, list[Callable[[], None]]] = {t: [] for t in _TOPICS}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether commits notify and this engine may listen."""
        return self._connect is not None

    @property
    def listening(self) -> bool:
        """Whether the listening connection is up (and has run ``LISTEN``)."""
        return self._listening.is_set()

    def wait_listening(self, timeout: float) -> bool:
        """Block until the listener is up (``False`` after ``timeout`` seconds)."""
        return self._listening.wait(timeout)

    def poll(self, short: float) -> float:
        """How long a reader may sleep between reads: the slow fallback while the
        listener is up, else ``short`` (the caller's own poll)."""
        return max(short, self.fallback) if self._listening.is_set() else short

    def add(self, topic: Topic, callback: Callable[[], None]) -> None:
        """Call ``callback`` (quickly; e.g. ``Event.set``) on each notification of ``topic``."""
        with self._lock:
            self._callbacks[topic].append(callback)
            if self._connect is not None and self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="socieux-listen", daemon=True
                )
                self._thread.start()

    def discard(self, topic: Topic, callback: Callable[[], None]) -> None:
        """Stop calling ``callback`` (no error if it was not added)."""
        with self._lock:
            if callback in self._callbacks[topic]:
                self._callbacks[topic].remove(callback)

    @contextmanager
    def event(self, topic: Topic) -> Iterator[threading.Event]:
        """A ``threading.Event`` set on each notification of ``topic`` while in the block."""
        woken = threading.Event()
        self.add(topic, woken.set)
        try:
            yield woken
        finally:
            self.discard(topic, woken.set)

    def close(self, timeout: float = 2.0) -> None:
        """Stop listening (the thread ends within one tick) and close the connection."""
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ---------------------------------------------------------------- the thread
    def _fire(self, topics: set[str] | None = None) -> None:
        with self._lock:
            chosen = [
                cb
                for t in _TOPICS
                if topics is None or self.channels[t] in topics
                for cb in self._callbacks[t]
            ]
        for cb in chosen:
            cb()

    def _run(self) -> None:
        delay = 0.05
        while not self._stop.is_set():
            try:
                self._listen()
                delay = 0.05
            except Exception as exc:  # the connection was lost or refused: reconnect
                _log.warning("listen_lost", error=type(exc).__name__)
            if self._listening.is_set():
                self._listening.clear()
                self._fire()  # readers go back to their short poll at once
            self._stop.wait(delay)
            delay = min(delay * 2, _MAX_DELAY)

    def _listen(self) -> None:
        from psycopg import sql

        assert self._connect is not None
        with self._connect() as conn:
            for name in self.channels.values():
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(name)))
            self._listening.set()
            self._fire()  # commits made while nobody listened
            idle = time.monotonic()
            while not self._stop.is_set():
                got = {n.channel for n in conn.notifies(timeout=_TICK, stop_after=1)}
                if got:
                    self._fire(got)
                    idle = time.monotonic()
                elif time.monotonic() - idle > _PING:
                    conn.execute("SELECT 1")  # a dead connection raises here
                    idle = time.monotonic()


def wakeups_of(app: object) -> Wakeups:
    """The wake-ups of an eventsourcing application's store (a disabled one unless the
    store is PostgreSQL with notifications on)."""
    found = getattr(getattr(app, "factory", None), "wakeups", None)
    return found if isinstance(found, Wakeups) else Wakeups(None, "")
