"""Event upcasting: stored events of an older shape are rewritten to the current one on read.

Each event class has a shape version, ``event_version``; from shape 2 on it is a field of
the hashed body, so an event says which shape it was written in. Older stored events are
left exactly as they are (verification hashes the stored form, see
:mod:`engine.audit.records`); only the decoded copy is upcast, one version at a time, by
the upcasters registered for its topic. Replay, views and projections therefore see one
shape only.

Shape 2 of ``Started`` and ``Transitioned`` adds ``hash_format`` (how the hash was
computed: 1, the original canonical JSON; 2, RFC 8785) and ``event_version`` itself. A
shape-1 event upcast to shape 2 reads ``hash_format == 1``, and its hash is recomputed
without the two added fields (:func:`engine.instance.aggregate.recompute_hash`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ADDED_BY_UPCAST",
    "CURRENT_VERSIONS",
    "EventUpcaster",
    "EventUpcasters",
    "UpcastError",
    "default_upcasters",
]

STARTED = "socieux.instance:Started"
TRANSITIONED = "socieux.instance:Transitioned"
MIGRATED = "socieux.instance:Migrated"
ESCALATED = "socieux.instance:Escalated"
CORRECTED = "socieux.instance:Corrected"
CORRECTION_APPROVED = "socieux.instance:CorrectionApproved"
EVIDENCE_ATTACHED = "socieux.instance:EvidenceAttached"
NOTED = "socieux.instance:Noted"

CURRENT_VERSIONS: Mapping[str, int] = {
    STARTED: 2, TRANSITIONED: 2, MIGRATED: 1, ESCALATED: 1,
    CORRECTED: 1, CORRECTION_APPROVED: 1, EVIDENCE_ATTACHED: 1, NOTED: 1,
}  # fmt: skip
"""The shape each event topic is written in today."""

ADDED_BY_UPCAST = frozenset({"hash_format", "event_version"})
"""Fields the shape-1 -> 2 upcaster adds; a format-1 hash never covered them."""

EventState = dict[str, Any]


class UpcastError(Exception):
    """An upcaster failed, or no upcaster leads from a stored shape to the current one."""


@dataclass(frozen=True, slots=True)
class EventUpcaster:
    """Rewrites the decoded state of a ``topic`` event from ``from_version`` to the next."""

    topic: str
    from_version: int
    name: str
    func: Callable[[EventState], EventState]


@dataclass
class EventUpcasters:
    """The upcasters of every event topic, by ``(topic, from_version)``."""

    current: Mapping[str, int] = field(default_factory=lambda: dict(CURRENT_VERSIONS))
    _by_key: dict[tuple[str, int], EventUpcaster] = field(default_factory=dict)

    def register(self, upcaster: EventUpcaster) -> None:
        """Add ``upcaster``; a second one for the same topic and version is refused."""
        key = (upcaster.topic, upcaster.from_version)
        if key in self._by_key:
            msg = f"an upcaster of {upcaster.topic} from version {upcaster.from_version} exists"
            raise ValueError(msg)
        self._by_key[key] = upcaster

    def upcast(self, topic: str, state: EventState) -> EventState:
        """``state`` in its topic's current shape (``state`` itself when it already is)."""
        target = self.current.get(topic)
        version = state.get("event_version", 1)
        if target is None or version == target:
            return state
        if type(version) is not int or version > target:
            msg = f"a {topic} event of shape {version!r}: this engine reads up to {target}"
            raise UpcastError(msg)
        while version < target:
            step = self._by_key.get((topic, version))
            if step is None:
                msg = f"no upcaster of {topic} from shape {version}"
                raise UpcastError(msg)
            try:
                state = step.func(state)
            except Exception as exc:
                msg = f"upcaster {step.name} failed: {type(exc).__name__}"
                raise UpcastError(msg) from exc
            version += 1
            state["event_version"] = version
        return state


def _shape_1_to_2(state: EventState) -> EventState:
    """Shape 2 names its hash format and its shape; a shape-1 event used format 1."""
    return {**state, "hash_format": 1, "event_version": 2}


def default_upcasters() -> EventUpcasters:
    """The engine's own upcasters (every shape change of its events since shape 1)."""
    registry = EventUpcasters()
    for topic in (STARTED, TRANSITIONED):
        registry.register(EventUpcaster(topic, 1, "hash_format_and_shape", _shape_1_to_2))
    return registry
