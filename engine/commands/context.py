"""Command context: bind the actor and a correlation id once per unit of work.

A web request, a queue message or a CLI invocation is one unit of work. Bind it once::

    with engine.context(actor=current_user, correlation_id=request_id):
        engine.fire(iid, "approve", data)       # actor and correlation_id come from here
        engine.fire(other, "note", data)        # the same correlation_id

Everything inside sees the binding: every command records ``correlation_id`` (and
``causation_id``) in its event's audit metadata, and every log line the engine writes
carries ``correlation_id``. The binding lives in a :class:`contextvars.ContextVar`, so it
is per thread and per asyncio task, and nested contexts override only what they set.

The same keys are bound in ``structlog.contextvars`` for the duration (when the host
uses structlog), so a host that adds ``structlog.contextvars.merge_contextvars`` to its
processors gets them on its own log lines too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from uuid import uuid4

from engine.errors import InvalidArgument
from engine.instance.hashing import storable_text
from engine.instance.identity import is_canonical_actor_id
from engine.instance.views import Actor
from engine.logs import bound_fields

__all__ = [
    "CommandContext",
    "bound_call",
    "check_ids",
    "command_context",
    "current_context",
    "valid_actor",
]


@dataclass(frozen=True, slots=True)
class CommandContext:
    """What is bound for the current unit of work."""

    actor: Actor | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


_EMPTY = CommandContext()
_CURRENT: ContextVar[CommandContext] = ContextVar("socieux_command_context", default=_EMPTY)
_MAX_ID = 200


def check_ids(**ids: str | None) -> None:
    """Refuse correlation or causation ids that are not short, storable text (no NUL, no
    lone surrogates: they could not be hashed or stored in PostgreSQL)."""
    for name, value in ids.items():
        if value is None:
            continue
        if not isinstance(value, str) or not 0 < len(value) <= _MAX_ID:
            raise InvalidArgument(f"{name} must be a string of 1 to {_MAX_ID} characters")
        if not storable_text(value):
            raise InvalidArgument(f"{name} must be valid Unicode text without NUL")


def valid_actor(actor: object) -> Actor:
    """``actor`` as a command may use it, else ``InvalidArgument``.

    ``Actor(...)`` validates its id; one built around validation (``model_construct``,
    ``model_copy(update=...)``) is validated again here, at the command boundary, and
    comes back with its id in canonical form.
    """
    if not isinstance(actor, Actor):
        raise InvalidArgument("actor must be an engine.Actor")
    if is_canonical_actor_id(actor.id):
        return actor
    return Actor(actor.id, actor.role)


def current_context() -> CommandContext:
    """The binding in force (empty outside any :func:`command_context`)."""
    return _CURRENT.get()


@contextmanager
def command_context(
    *,
    actor: Actor | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Iterator[CommandContext]:
    """Bind ``actor``, ``correlation_id`` and ``causation_id`` for the block.

    Outside any enclosing context a missing ``correlation_id`` gets a fresh random one,
    so every unit of work is correlated; inside one, unset values are inherited.
    """
    check_ids(correlation_id=correlation_id, causation_id=causation_id)
    if actor is not None:
        actor = valid_actor(actor)
    outer = _CURRENT.get()
    changes: dict[str, object] = {}
    if actor is not None:
        changes["actor"] = actor
    if correlation_id is not None:
        changes["correlation_id"] = correlation_id
    elif outer.correlation_id is None:
        changes["correlation_id"] = uuid4().hex
    if causation_id is not None:
        changes["causation_id"] = causation_id
    bound = replace(outer, **changes)  # type: ignore[arg-type]
    token = _CURRENT.set(bound)
    log_keys: dict[str, object] = {"correlation_id": bound.correlation_id}
    if bound.actor is not None:
        log_keys["actor_id"] = bound.actor.id
    try:
        with bound_fields(**log_keys):
            yield bound
    finally:
        _CURRENT.reset(token)


def bound_call(
    actor: Actor | None, correlation_id: str | None, causation_id: str | None
) -> tuple[Actor, str | None, str | None]:
    """A command's actor and ids: explicit arguments win, else what the context bound."""
    check_ids(correlation_id=correlation_id, causation_id=causation_id)
    ctx = current_context()
    who = actor if actor is not None else ctx.actor
    if who is None:
        raise InvalidArgument("no actor: pass actor= or bind one with engine.context(actor=...)")
    return (
        valid_actor(who),
        correlation_id if correlation_id is not None else ctx.correlation_id,
        causation_id if causation_id is not None else ctx.causation_id,
    )
