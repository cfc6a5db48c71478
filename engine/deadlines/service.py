"""The deadline service the façade delegates to: run due deadlines, list them, worklists.

``run_due`` catches the engine's own read model up, claims due rows in bounded batches
(earliest first), records each one as the ``system`` actor (:mod:`.firing`) and catches up
again before the next batch, until nothing is due or ``limit`` rows were claimed. After
downtime, overdue deadlines therefore fire once each, in due order, each event recording
its due time (the lag is its time minus that).
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from engine.commands.clock import command_time
from engine.commands.context import current_context
from engine.commands.service import CommandService
from engine.deadlines import claims
from engine.deadlines.firing import Outcome, record_due
from engine.deadlines.listing import list_deadlines, worklist
from engine.deadlines.readmodel import DeadlineRunner
from engine.deadlines.types import BlockedDeadline, DueDeadline, FiredDeadline, RunReport, WorkItem
from engine.errors import InvalidArgument
from engine.instance.views import Actor
from engine.logs import get_logger
from engine.persistence.sql import SqlStore

__all__ = ["DeadlineService"]

_log = get_logger("socieux.deadlines")
MAX_BATCH = 10_000


@dataclass
class DeadlineService:
    """Deadlines of one engine (shared by threads)."""

    commands: CommandService
    sql: SqlStore
    runner: DeadlineRunner
    read_only: bool
    lease: float = 60.0
    """Seconds a claim keeps other workers off a row (wall clock)."""
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def refresh(self) -> None:
        """Bring the due table and the worklist up to date (nothing on a read-only store)."""
        if not self.read_only:
            self.runner.catch_up()

    def now(self, now: datetime | None) -> datetime:
        """``now``, checked, or the engine's clock."""
        if now is None:
            return command_time(self.commands.clock)
        if not isinstance(now, datetime) or now.tzinfo is None:
            raise InvalidArgument("now must be a timezone-aware datetime")
        return now

    def run_due(
        self, *, now: datetime | None, limit: int, batch: int, lease: float | None = None
    ) -> RunReport:
        """Record every deadline due at ``now`` (at most ``limit``, ``batch`` per claim,
        each claim held for ``lease`` seconds)."""
        if self.read_only:
            raise InvalidArgument("this engine is read-only: it cannot record deadlines")
        held = self.lease if lease is None else lease
        if isinstance(held, bool) or not isinstance(held, int | float) or not 0 < held <= 3600:
            raise InvalidArgument("lease must be a number of seconds above 0, at most 3600")
        for name, value in (("limit", limit), ("batch", batch)):
            if type(value) is not int or not 1 <= value <= MAX_BATCH:
                raise InvalidArgument(f"{name} must be an integer from 1 to {MAX_BATCH}")
        at = self.now(now)
        correlation = current_context().correlation_id or uuid4().hex
        fired: list[FiredDeadline] = []
        blocked: list[BlockedDeadline] = []
        counts = {"claimed": 0, "closed": 0, "conflicts": 0}
        self.refresh()
        while counts["claimed"] < limit:
            size = min(batch, limit - counts["claimed"])
            taken = claims.claim_due(
                self.sql, now=at, limit=size, owner=self.owner, lease=float(held)
            )
            if not taken:
                break
            counts["claimed"] += len(taken)
            self._batch(taken, at, correlation, fired, blocked, counts)
            self.refresh()
        return RunReport(
            now=at,
            claimed=counts["claimed"],
            fired=fired,
            closed=counts["closed"],
            blocked=blocked,
            conflicts=counts["conflicts"],
        )

    def _batch(  # noqa: PLR0917 - one private call site; the run's accumulators
        self,
        taken: list[claims.Claim],
        at: datetime,
        correlation: str,
        fired: list[FiredDeadline],
        blocked: list[BlockedDeadline],
        counts: dict[str, int],
    ) -> None:
        left: list[claims.Claim] = []
        for c in taken:
            outcomes = record_due(
                self.commands, UUID(c.instance_id), c.deadline_id, at, correlation
            )
            for did, out in outcomes:
                row = claims.Claim(c.instance_id, did, out.due_at or c.due_at)
                if out.kind == "fired":
                    fired.append(_fired(row, out))
                elif out.kind == "blocked":
                    claims.block(self.sql, row, out.code)
                    blocked.append(
                        BlockedDeadline(
                            instance_id=c.instance_id,
                            deadline_id=did,
                            code=out.code,
                            reason=out.reason,
                        )
                    )
                elif out.kind == "conflict":
                    counts["conflicts"] += 1
                    left.append(row)
                elif did == c.deadline_id:
                    counts["closed"] += 1
        claims.release(self.sql, left, self.owner)

    def deadlines(
        self,
        *,
        status: str | None,
        overdue: bool,
        within: timedelta | None,
        instance: str | None,
        limit: int,
        now: datetime | None,
    ) -> list[DueDeadline]:
        """Rows of the due table, by due time (see :func:`.listing.list_deadlines`)."""
        self.refresh()
        return list_deadlines(
            self.sql,
            status=status,
            overdue=overdue,
            within=within,
            instance=instance,
            limit=limit,
            now=self.now(now),
        )

    def worklist(self, actor: Actor, *, now: datetime | None, limit: int) -> list[WorkItem]:
        """Every instance where ``actor`` may fire something now, by urgency."""
        self.refresh()
        registry = self.commands.registry
        return worklist(self.sql, registry, actor, now=self.now(now), limit=limit)

    def start_thread(self, *, interval: float, batch: int) -> None:
        """Run due deadlines every ``interval`` seconds in a daemon thread (until ``stop``)."""
        if self._thread is not None:
            raise InvalidArgument("the deadline thread is already running")
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise InvalidArgument("interval must be a number of seconds")
        if not 0 < interval <= 86_400:
            raise InvalidArgument("interval must be between 0 and 86400 seconds")
        if type(batch) is not int or not 1 <= batch <= MAX_BATCH:
            raise InvalidArgument(f"batch must be an integer from 1 to {MAX_BATCH}")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval, batch), name="socieux-deadlines", daemon=True
        )
        self._thread.start()

    def _loop(self, interval: float, batch: int) -> None:
        while not self._stop.is_set():
            try:
                self.run_due(now=None, limit=MAX_BATCH, batch=batch)
            except Exception as exc:  # a background loop logs and goes on
                _log.warning("deadline_run_failed", error=type(exc).__name__)
            self._stop.wait(interval)

    def stop(self) -> None:
        """Stop the background thread, if it runs (waits for its current run)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()


def _fired(c: claims.Claim, out: Outcome) -> FiredDeadline:
    due = datetime.fromisoformat(c.due_at)
    at = out.at or due
    return FiredDeadline(
        instance_id=c.instance_id,
        deadline_id=c.deadline_id,
        action=out.action,
        version=out.version,
        due_at=due,
        fired_at=at,
        lag_seconds=(at - due).total_seconds(),
    )
