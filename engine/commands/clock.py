"""Command times: the host's clock, checked, and never going backwards per instance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from engine.errors import InvalidArgument

__all__ = ["Clock", "command_time", "utcnow"]

Clock = Callable[[], datetime]
"""Supplies command times (timezone-aware)."""


def utcnow() -> datetime:
    """The default clock: UTC now."""
    return datetime.now(UTC)


def command_time(clock: Clock, floor: datetime | None = None) -> datetime:
    """``clock()``, refused if naive, and never before ``floor`` (the instance's last
    event: per instance, recorded times never go backwards, which ``as_of`` relies on)."""
    now = clock()
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise InvalidArgument("the engine's clock returned a naive datetime")
    return max(now, floor) if floor is not None else now
