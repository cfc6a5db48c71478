"""The façade's hooks: :meth:`subscribe` and friends, over one :class:`HookDispatcher`.

See :mod:`engine.hooks` for the delivery guarantees; the public docs of each method are on
:class:`engine.Engine`, which checks the arguments and delegates here.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.hooks.dispatcher import HookDispatcher
from engine.hooks.types import (
    Handler,
    HookStatus,
    ParkedEvent,
    Subscription,
    make_subscription,
)
from engine.persistence.store import translate_errors

__all__ = ["HookService"]


class HookService:
    """Subscribers of one engine (the façade delegates here)."""

    def __init__(self, dispatcher: HookDispatcher, label: str) -> None:
        self.dispatcher = dispatcher
        self._label = label

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
        """Register a subscriber (see :meth:`engine.Engine.subscribe`)."""
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
        """Stop delivering to ``name`` here (see :meth:`engine.Engine.unsubscribe`)."""
        with translate_errors("unsubscribing", self._label):
            self.dispatcher.remove(name)

    def drain_hooks(self, *, timeout: float = 10.0) -> None:
        """Wait for this engine's subscribers (see :meth:`engine.Engine.drain_hooks`)."""
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
