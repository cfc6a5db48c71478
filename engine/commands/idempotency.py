"""Idempotency keys: a command sent again with the same ``command_id`` is recorded once.

The key is stored in the event it produced, under the reserved body key ``command_id``
(hashed with the event, so it is part of the tamper-evident chain; an event written without
one keeps its exact body and hash). It needs no table of its own: the check reads the
instance's events, and the write is the event store's usual optimistic append.

* ``fire``: after loading the instance to decide on, and before deciding, its stored events
  are searched for the key (the search starts after the load, so it covers every event up
  to the loaded version). Found, the command is a retry: the instance as that event left it
  is returned and nothing is written. Two retries racing both miss it, both decide on the
  same version, one wins the append; the loser's re-load finds the key and returns the
  same answer.
* ``start``: without an explicit ``instance_id``, the instance id is derived from the key
  (a UUID5), so a retried start aims at the same instance and its append collides; the
  stored start is then compared with the retry and returned.

The same key on a different command of the same instance (another trigger, actor or
workflow) raises :class:`~engine.errors.CommandIdReused`. The comparison covers the trigger,
the actor and the workflow, not the payload (which may hold sealed personal data); a retry
is expected to repeat the command it retries. Keys are scoped to their instance: the same
key on a command of another instance is not looked for there (a host's keys are unique).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast
from uuid import UUID, uuid5

from engine.errors import CommandIdReused, InvalidArgument
from engine.instance.aggregate import WorkflowInstance
from engine.instance.hashing import storable_text
from engine.instance.views import Actor
from engine.persistence.store import EngineApplication, translate_errors

__all__ = ["COMMAND_ID", "MAX_COMMAND_ID", "check_command_id", "recorded", "start_instance_id"]

COMMAND_ID = "command_id"
"""The reserved event body key holding a command's idempotency key."""
MAX_COMMAND_ID = 200
"""The longest idempotency key, in characters."""
_NAMESPACE = UUID("4b0d6f0c-9a5e-4d8e-8f5c-3a8f1f8e2c11")


def check_command_id(command_id: object) -> str | None:
    """``command_id`` as stored: a UUID's text, or a non-empty storable string."""
    if command_id is None:
        return None
    if isinstance(command_id, UUID):
        return str(command_id)
    if not isinstance(command_id, str) or not command_id.strip():
        raise InvalidArgument(
            "command_id must be a UUID or a non-empty string", argument="command_id"
        )
    if len(command_id) > MAX_COMMAND_ID or not storable_text(command_id):
        raise InvalidArgument(
            f"command_id must be text of at most {MAX_COMMAND_ID} characters without NUL",
            argument="command_id",
        )
    return command_id


_MARK = f'"{COMMAND_ID}"'.encode()


def _keyed_events(
    app: EngineApplication, iid: UUID, command_id: str
) -> Iterator[WorkflowInstance.Event]:
    """The instance's events that may carry ``command_id``, decoded. With the plain JSON
    transcoder (no cipher, no compressor) an event whose stored bytes do not hold the key's
    name (or the key itself) is skipped without decoding it."""
    mapper = app.mapper
    if mapper.cipher is not None or mapper.compressor is not None:
        yield from app.instance_events(iid)
        return
    needle = _needle(command_id)
    for stored in app.recorder.select_events(iid):
        if _MARK in stored.state and (needle is None or needle in stored.state):
            yield cast("WorkflowInstance.Event", mapper.to_domain_event(stored))


def _needle(command_id: str) -> bytes | None:
    """The key as JSON writes it, when that cannot vary (ASCII letters, digits and
    ``-_.:``, as a UUID): an event without those bytes cannot hold the key."""
    if command_id.isascii() and all(c.isalnum() or c in "-_.:" for c in command_id):
        return b'"' + command_id.encode() + b'"'
    return None


def start_instance_id(command_id: str) -> UUID:
    """The instance id a start with this key (and no explicit id) creates."""
    return uuid5(_NAMESPACE, command_id)


def recorded(
    app: EngineApplication,
    iid: UUID,
    command_id: str,
    *,
    trigger: str | None,
    actor: Actor,
    workflow: str | None = None,
    label: str,
) -> WorkflowInstance | None:
    """The instance as the command with key ``command_id`` left it, if it was recorded on
    ``iid``; ``None`` if not. ``CommandIdReused`` if the key belongs to another command.
    ``trigger`` ``None``: any start trigger (a start without an explicit trigger)."""
    with translate_errors("reading events", label):
        for event in _keyed_events(app, iid, command_id):
            if getattr(event, COMMAND_ID, None) != command_id:
                continue
            audit = event.audit
            same = (
                (trigger is None or event.trigger == trigger)
                and audit.get("actor_id") == actor.id
                and audit.get("role") == actor.role
                and (workflow is None or getattr(event, "workflow", workflow) == workflow)
            )
            if not same:
                raise CommandIdReused(
                    f"command_id {command_id!r} was recorded for {event.trigger!r} by "
                    f"{audit.get('actor_id')} ({audit.get('role')}) on {iid} "
                    f"v{event.originator_version}",
                    command_id=command_id,
                    instance_id=str(iid),
                    version=event.originator_version,
                )
            return app.instance(iid, version=event.originator_version)
    return None
