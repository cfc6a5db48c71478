"""The façade's hooks: :meth:`subscribe` and friends, over one :class:`HookDispatcher`.

See :mod:`engine.hooks` for the delivery guarantees and :mod:`engine.context` for what a
context binds.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager

from engine.commands.context import CommandContext, command_context
from engine.hooks.dispatcher import HookDispatcher
from engine.hooks.types import (
    Handler,
    HookStatus,
    ParkedEvent,
    Subscription,
    make_subscription,
)
from engine.instance.views import Actor
from engine.persistence.store import translate_errors

__all__ = ["HookService"]


class HookService:
    """Subscribers of one engine (the façade delegates here)."""

    def __init__(self, dispatcher: HookDispatcher, label: str) -> None:
        self.dispatcher = dispatcher
        self._label = label

    @staticmethod
    def context(
        *,
        actor: Actor | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> AbstractContextManager[CommandContext]:
        """Bind the actor and a correlation id once for a unit of work (a web request).

        Inside the block, ``start`` and ``fire`` default their ``actor``,
        ``correlation_id`` and ``causation_id`` to these, and every engine log line
        carries ``correlation_id``. A missing ``correlation_id`` gets a random one.
        """
        return command_context(
            actor=actor, correlation_id=correlation_id, causation_id=causation_id
        )

    def subscribe(
        self,
        handler: Handler,
        *,
        name: str,
        topics: Iterable[str] | None = None,
        triggers: Iterable[str] | None = None,
        start: str = "head",
        max_attempts: int = 5,
        backoff: float = 0.5,
        lease: float = 15.0,
        background: bool = True,
    ) -> Subscription:
        """Call ``handler(event)`` for every event recorded from now on, at least once.

        ``name`` identifies the subscriber in the store: a host restarted under the same
        name resumes after the last event its handler returned from. A new name starts at
        the log's head (``start="head"``) or replays it all (``start="beginning"``).
        ``topics`` (``"started"``, ``"transitioned"``) and ``triggers`` narrow the events.
        A raising handler is retried ``max_attempts`` times, waiting ``backoff`` seconds,
        doubled each time, then the event is parked (see :meth:`subscriptions`).
        With ``background=False`` nothing is delivered until :meth:`drain_hooks`.
        """
        sub = make_subscription(
            name,
            handler,
            topics=topics,
            triggers=triggers,
            max_attempts=max_attempts,
            backoff=backoff,
            lease=lease,
        )
        with translate_errors("registering a subscriber", self._label):
            self.dispatcher.add(sub, start=start, background=background)
        return sub

    def unsubscribe(self, name: str) -> None:
        """Stop delivering to ``name`` in this engine and release its lease.

        The stored position stays: subscribing the name again resumes after it.
        """
        with translate_errors("unsubscribing", self._label):
            self.dispatcher.remove(name)

    def drain_hooks(self, *, timeout: float = 10.0) -> None:
        """Block until this engine's subscribers have handled everything recorded so far.

        Raises ``HookLag`` after ``timeout`` seconds.
        """
        with translate_errors("delivering to subscribers", self._label):
            self.dispatcher.drain(timeout=timeout)

    def subscriptions(self) -> list[HookStatus]:
        """Every subscriber recorded in the store: position, parked events, last error."""
        with translate_errors("reading subscribers", self._label):
            return self.dispatcher.status()

    def parked(self, name: str | None = None) -> list[ParkedEvent]:
        """Events whose handler kept failing (of subscriber ``name``, or all)."""
        with translate_errors("reading parked events", self._label):
            return self.dispatcher.parked(name)

    def retry_parked(self, name: str) -> tuple[int, int]:
        """Deliver ``name``'s parked events once more: ``(delivered, still parked)``."""
        with translate_errors("retrying parked events", self._label):
            return self.dispatcher.retry_parked(name)
