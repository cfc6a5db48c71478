"""What hooks are made of: the event a handler gets, a subscription and the status types."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from engine.errors import EngineError, InvalidArgument
from engine.instance.aggregate import (
    ESCALATED_TOPIC,
    MIGRATED_TOPIC,
    STARTED_TOPIC,
    TRANSITIONED_TOPIC,
)
from engine.projection.protocol import ProjectedEvent

__all__ = [
    "TOPICS",
    "Failure",
    "Handler",
    "HookEvent",
    "HookLag",
    "HookStatus",
    "ParkedEvent",
    "Subscription",
    "make_subscription",
]

HookEvent = ProjectedEvent
"""What a handler receives: the event, its audit metadata and its ``notification_id``."""
Handler = Callable[[HookEvent], object]

TOPICS = {
    "started": STARTED_TOPIC,
    "transitioned": TRANSITIONED_TOPIC,
    "migrated": MIGRATED_TOPIC,
    "escalated": ESCALATED_TOPIC,
}
"""Hook topics by short name; ``escalated`` carries due escalations and reminders (its
``deadline`` names the role to act and, for an escalation, the level)."""


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


@dataclass(frozen=True)
class Failure:
    """An event a handler kept failing on: to be parked with the page's position."""

    event: HookEvent
    attempts: int
    error: str


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
