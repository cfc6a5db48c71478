"""The Request page (header, lifecycle, timeline, as-of) and one event's explanation.

The figures are the CLI's ``show`` (:func:`engine.cli.describe.describe_instance`), so the
console and the terminal agree on the SLA standing and the stages; key facts are labelled by
the instance's own definition (its ``display`` spec), as the CLI labels them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from engine.cli.describe import describe_instance
from engine.cli.render import key_facts
from engine.errors import InvalidArgument
from engine.facade import Engine
from engine.web.lifecycle import Diagram, layout
from engine.web.params import AsOf

if TYPE_CHECKING:
    from engine.audit.explain import Explanation
    from engine.instance.views import HistoryEntry, InstanceView

__all__ = ["EventPage", "RequestPage", "event_page", "inputs_text", "request_page", "resolve"]

MAX_ID = 64
"""Longer than any id or prefix: refused before it reaches the store."""
_ID = re.compile(rf"[0-9A-Fa-f-]{{1,{MAX_ID}}}")
"""A full id or a short one (hex digits, dashes)."""


def resolve(engine: Engine, text: str) -> UUID:
    """The instance a full or short id names (``InvalidArgument`` for one that cannot be)."""
    if not _ID.fullmatch(text):
        raise InvalidArgument(f"not a request id: {text[:MAX_ID]!r}", argument="id")
    return engine.resolve(text)


@dataclass(frozen=True)
class Stage:
    """One stay in a state, as the CLI's stage timeline shows it."""

    state: str
    entered_at: str
    left_at: str | None
    days: float
    sla_days: int | None
    late: bool


@dataclass(frozen=True)
class RequestPage:
    """One request at one moment: header, facts, stages, lifecycle and timeline."""

    view: InstanceView
    title: str
    final: bool
    overdue: bool
    days_in_state: float
    sla_days: int | None
    warnings: tuple[str, ...]
    facts: tuple[tuple[str, str], ...]
    stages: tuple[Stage, ...]
    diagram: Diagram
    timeline: tuple[HistoryEntry, ...]
    later: int
    """Events recorded after the moment shown."""
    latest: int
    as_of: AsOf


def request_page(engine: Engine, text: str, as_of: AsOf) -> RequestPage:
    """The request ``text`` names, now or at ``as_of``."""
    iid = resolve(engine, text)
    desc = describe_instance(engine, str(iid), version=as_of.version, as_of=as_of.at)
    view = engine.get(iid, version=as_of.version, as_of=as_of.at)
    defn = engine.registry.by_hash(view.definition_hash).definition
    entries = engine.history(iid)
    past = tuple(e for e in entries if e.version <= view.version)
    stages = tuple(Stage(**s) for s in desc["stages"])
    late = [s.state for s in stages if s.late]
    diagram = layout(
        defn, path=[(e.source, e.dest, e.trigger) for e in past], current=view.state, late=late
    )
    return RequestPage(
        view=view,
        title=defn.title or defn.name,
        final=bool(desc["final"]),
        overdue=bool(desc["overdue"]),
        days_in_state=float(desc["days_in_state"]),
        sla_days=desc["sla_days"],
        warnings=tuple(desc["warnings"]),
        facts=tuple(key_facts(view.data, defn.display)),
        stages=stages,
        diagram=diagram,
        timeline=past,
        later=len(entries) - len(past),
        latest=len(entries),
        as_of=as_of,
    )


@dataclass(frozen=True)
class EventPage:
    """One recorded step explained: who, why, which guards read what, and its hash."""

    explanation: Explanation
    previous: int | None
    following: int | None


def event_page(engine: Engine, text: str, version: int) -> EventPage:
    """The explanation of version ``version`` of the request ``text`` names."""
    iid = resolve(engine, text)
    explanation = engine.explain(iid, version)
    last = len(engine.history(iid))
    return EventPage(
        explanation=explanation,
        previous=version - 1 if version > 1 else None,
        following=version + 1 if version < last else None,
    )


def inputs_text(inputs: dict[str, object]) -> str:
    """A guard's recorded inputs as indented JSON (escaped by the template)."""
    return json.dumps(inputs, indent=2, ensure_ascii=False, default=str, sort_keys=True)
