"""The delivery loop: pages of the log, handlers called with retries, failures parked.

Per page: take (or keep) the lease, read up to :data:`PAGE` notifications after the
subscriber's position, call the handler per wanted event (retried with exponential
backoff, then parked), and write the position with the page's parked events in one
transaction, only if this deliverer still holds the lease. Before every handler call the
lease is checked (and renewed when due): a deliverer that lost it stops at once and writes
nothing, so two deliverers never run a subscriber's handler at the same time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from eventsourcing.persistence import Notification

from engine.commands.context import command_context
from engine.hooks.lease import Leases
from engine.hooks.store import SubscriberStore, describe_error
from engine.hooks.types import Failure, HookEvent, Subscription
from engine.logs import get_logger
from engine.persistence.store import EngineApplication
from engine.projection.protocol import ProjectedEvent

__all__ = ["MAX_DELAY", "PAGE", "Delivery", "call_handler"]

PAGE = 100
MAX_DELAY = 60.0
_log = get_logger("socieux.hooks")


class _LeaseLost(Exception):
    """Another deliverer holds the subscriber's lease now."""


class Delivery:
    """Delivers pages of the log to subscriptions (no thread of its own)."""

    def __init__(
        self,
        app: EngineApplication,
        store: SubscriberStore,
        leases: Leases,
        stop: threading.Event,
    ) -> None:
        self._app = app
        self._store = store
        self._leases = leases
        self._stop = stop

    def head(self) -> int:
        """The highest notification id in the log."""
        return int(self._app.recorder.max_notification_id() or 0)

    def deliver_page(self, sub: Subscription) -> int:
        """Deliver up to one page of events to ``sub``; returns how many were consumed.

        The handler is called per event; the position (with any parked events) is written
        once per page, so a crash re-delivers at most the page in flight.
        """
        head = self.head()
        position = self._leases.acquire(sub.name, sub.lease)
        if position is None or position >= head:
            return 0
        page = self._app.recorder.select_notifications(
            position, PAGE, topics=sorted(sub.topics), inclusive_of_start=False
        )
        try:
            done, failures = self._walk(sub, page, position, head)
        except _LeaseLost:
            return self._lost(sub)
        if done <= position:
            return 0
        if not self._commit(sub, (position, done), failures):
            return self._lost(sub)
        return len(page)

    def _walk(
        self, sub: Subscription, page: Sequence[Notification], position: int, head: int
    ) -> tuple[int, list[Failure]]:
        """Call the handler along ``page``: how far it got, and what it failed on."""
        done, failures = position, []
        for n in page:
            event = ProjectedEvent.from_notification(n, self._app.mapper)
            failure = self._attempts(sub, event) if sub.wants(event) else None
            if self._stop.is_set() and failure is not None:
                break  # interrupted between retries: not parked, delivered again later
            if failure is not None:
                failures.append(failure)
            done = n.id
            if self._stop.is_set():
                break
        else:
            if len(page) < PAGE:
                done = max(done, head)  # nothing else of our topics up to the head
        return done, failures

    def _attempts(self, sub: Subscription, event: HookEvent) -> Failure | None:
        """Call the handler with retries; the failure if it never succeeded.

        Raises ``_LeaseLost`` (before the call) when another deliverer took the lease.
        """
        for attempt in range(1, sub.max_attempts + 1):
            if not self._leases.keep(sub.name, sub.lease):
                raise _LeaseLost
            try:
                call_handler(sub, event)
            except Exception as exc:  # a handler's failure is reported, not raised
                _log.warning(
                    "hook_failed",
                    subscription=sub.name,
                    attempt=attempt,
                    notification_id=event.notification_id,
                    error=type(exc).__name__,
                )
                delay = min(sub.backoff * 2 ** (attempt - 1), MAX_DELAY)
                if attempt < sub.max_attempts and not sub.sleep(delay):
                    continue
                # The last attempt, or closing (then the caller does not park it).
                return Failure(event, attempt, describe_error(exc))
            else:
                return None
        return None  # pragma: no cover - the loop always returns

    def _commit(self, sub: Subscription, moved: tuple[int, int], failures: list[Failure]) -> bool:
        """Write the position and park ``failures``, if we still hold the lease (another
        process may have taken it over while a handler ran too long)."""
        started = time.monotonic()
        written = self._store.commit(
            sub.name,
            owner=self._leases.owner,
            moved=moved,
            failures=failures,
            lease_until=time.time() + sub.lease,
        )
        if not written:
            return False
        self._leases.moved(sub.name, moved[1], renewed=started)
        for failure in failures:
            _log.error(
                "hook_parked",
                subscription=sub.name,
                notification_id=failure.event.notification_id,
                attempts=failure.attempts,
            )
        return True

    def _lost(self, sub: Subscription) -> int:
        self._leases.drop(sub.name)
        _log.warning("hook_lease_lost", subscription=sub.name)
        return 0

    def redeliver(self, sub: Subscription, notification_id: int) -> str | None:
        """Call ``sub``'s handler once with the event at ``notification_id``: the error
        text if it failed."""
        page = self._app.recorder.select_notifications(notification_id, 1, inclusive_of_start=True)
        event = ProjectedEvent.from_notification(page[0], self._app.mapper)
        try:
            call_handler(sub, event)
        except Exception as exc:  # stays parked with the new error
            return describe_error(exc)
        return None


def call_handler(sub: Subscription, event: HookEvent) -> None:
    """Run the handler in the event's correlation, caused by the event itself."""
    with command_context(
        correlation_id=event.audit.get("correlation_id"),
        causation_id=f"{event.instance_id}@{event.version}",
    ):
        sub.handler(event)
