"""Effective time: when a fact happened, beside the recorded (hash-chained) time.

A command may carry ``effective_at`` (a mission's dates, a signature's date). It is stored
as an extra key of the event (``effective_at``, UTC ISO text) only when given and different
from the recorded time, so that every other event keeps its exact stored body and hash.
Guards still decide on the recorded time. An effective time further in the future than the
definition's ``audit.future_tolerance_seconds`` (a day when no policy is declared), or
before the instance's own effective start, is refused (``InvalidEffectiveTime``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from engine.commands import arguments as args
from engine.commands.compiled import CompiledWorkflow
from engine.errors import InvalidEffectiveTime
from engine.instance.effective import effective_at as effective_time
from engine.instance.hashing import utc_iso
from engine.persistence.store import EngineApplication, translate_errors

__all__ = ["DEFAULT_TOLERANCE", "effective_key", "effective_start", "with_effective"]

DEFAULT_TOLERANCE = timedelta(days=1)
"""How far past the recorded time ``effective_at`` may lie without a declared policy."""


def effective_key(
    effective_at: datetime | None,
    *,
    now: datetime,
    compiled: CompiledWorkflow,
    since: datetime | None,
) -> str | None:
    """The ``effective_at`` to store (``None``: nothing to store), or ``InvalidEffectiveTime``.

    ``since`` is the instance's effective start (``None`` for a start)."""
    if effective_at is None:
        return None
    args.check_datetime("effective_at", effective_at)
    policy = compiled.definition.audit
    tolerance = (
        DEFAULT_TOLERANCE if policy is None else timedelta(seconds=policy.future_tolerance_seconds)
    )
    if effective_at > now + tolerance:
        msg = (f"effective_at {utc_iso(effective_at)} is more than {tolerance} after the "
               f"recorded time {utc_iso(now)}")  # fmt: skip
        raise InvalidEffectiveTime(msg, argument="effective_at")
    if since is not None and effective_at < since:
        when = utc_iso(effective_at)
        msg = f"effective_at {when} is before the instance existed ({utc_iso(since)})"
        raise InvalidEffectiveTime(msg, argument="effective_at")
    if effective_at == now:
        return None
    return utc_iso(effective_at)


def with_effective(body: dict[str, Any], stored: str | None) -> None:
    """Add the ``effective_at`` to store to an event's ``body`` (nothing when ``None``)."""
    if stored is not None:
        body["effective_at"] = stored


def effective_start(app: EngineApplication, iid: UUID, label: str) -> datetime:
    """When instance ``iid`` began, in effective time (its start's ``effective_at``)."""
    with translate_errors("reading events", label):
        first = next(iter(app.instance_events(iid, lte=1)))
    return effective_time(first)
