"""Walking a request to a given state of either version, with the builders' payloads
(see :mod:`workflows.technical_assistance.builders`, which re-exports it)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from engine import Actor
from workflows.technical_assistance.payload_builders import (
    ACTORS,
    action_plan_payload,
    activity_record_payload,
    approval_payload,
    dissemination_payload,
    evaluation_payload,
    mobilisation_payload,
    opinion_payload,
    request_payload,
)
from workflows.technical_assistance.workflow import NAME

if TYPE_CHECKING:
    from engine import Engine, InstanceView

__all__ = ["PATHS", "PATHS_V2", "attach_reports", "paths", "walk_to"]

PATHS: Mapping[str, tuple[str, ...]] = {
    "submitted": ("submit",),
    "revision_requested": ("submit", "return_for_revision"),
    "fine_tuned": ("submit", "fine_tune"),
    "approved": ("submit", "fine_tune", "approve"),
    "mobilised": ("submit", "fine_tune", "approve", "mobilise"),
    "implemented": ("submit", "fine_tune", "approve", "mobilise", "record_activity", "implement"),
    "evaluated": (
        "submit",
        "fine_tune",
        "approve",
        "mobilise",
        "record_activity",
        "implement",
        "evaluate",
    ),
    "disseminated": (
        "submit",
        "fine_tune",
        "approve",
        "mobilise",
        "record_activity",
        "implement",
        "evaluate",
        "disseminate",
    ),
    "rejected": ("submit", "reject"),
    "withdrawn": ("submit", "withdraw"),
    "cancelled": ("submit", "fine_tune", "approve", "cancel"),
}
"""The triggers :func:`walk_to` fires to reach each state of version 1
(``record_activity`` once per planned activity)."""

_CONSULT = ("request_opinion", "give_opinion")
PATHS_V2: Mapping[str, tuple[str, ...]] = {
    "submitted": ("submit",),
    "consulting_delegation": ("submit", "request_opinion"),
    **{
        state: (path[0], *_CONSULT, *path[1:]) if "fine_tune" in path else path
        for state, path in PATHS.items()
        if state != "submitted"
    },
}
"""The same for version 2: the Delegation is consulted before ``fine_tune``."""


def paths(version: int) -> Mapping[str, tuple[str, ...]]:
    """:data:`PATHS` for version 1, :data:`PATHS_V2` for version 2 (and later)."""
    return PATHS if version < 2 else PATHS_V2


_WHO = {
    "submit": "partner",
    "return_for_revision": "team",
    "request_opinion": "team",
    "give_opinion": "delegation",
    "fine_tune": "team",
    "approve": "commission",
    "reject": "team",
    "withdraw": "partner",
    "cancel": "commission",
    "mobilise": "team",
    "record_activity": "expert",
    "implement": "team",
    "evaluate": "evaluator",
    "disseminate": "team",
}
_REASONS = {
    "return_for_revision": "Please narrow the request to one priority.",
    "reject": "Outside the facility's mandate.",
    "withdraw": "The ministry found funding elsewhere.",
    "cancel": "The partner's priorities changed after the elections.",
}


def _payloads(
    trigger: str, data: Mapping[str, Any], version: int, country: str
) -> list[dict[str, Any] | None]:
    activities = list(data.get("activities") or [])
    builders: dict[str, Any] = {
        "submit": lambda: request_payload(country=country, version=version),
        "give_opinion": opinion_payload,
        "fine_tune": lambda: action_plan_payload(version=version),
        "approve": approval_payload,
        "mobilise": lambda: mobilisation_payload(activities, version=version),
        "implement": dict,
        "evaluate": lambda: evaluation_payload(len(data.get("objectives") or [])),
        "disseminate": dissemination_payload,
    }
    if trigger == "record_activity":
        return [activity_record_payload(a, version=version) for a in activities]
    build = builders.get(trigger)
    return [build() if build is not None else None]


def _actor(trigger: str, body: Mapping[str, Any] | None, version: int) -> Actor:
    """Who fires ``trigger``; in version 2 the Delegation submits what it channels."""
    if version >= 2 and trigger == "submit" and (body or {}).get("channel") == "eu_delegation":
        return ACTORS["delegation"]
    return ACTORS[_WHO[trigger]]


def attach_reports(engine: Engine, view: InstanceView) -> InstanceView:
    """Where the instance's definition takes evidence (version 3), the team attaches each
    delivered activity's report as validated, as ``implement`` then requires."""
    audit = engine.registry.by_hash(view.definition_hash).definition.audit
    if audit is None or ACTORS["team"].role not in audit.validate_roles:
        return view
    on_file = {e.get("reference") for e in view.evidence}
    for record in view.data.get("activity_records") or []:
        ref = str(record.get("report_reference") or "")
        if record.get("status", "delivered") != "delivered" or not ref or ref in on_file:
            continue
        on_file.add(ref)
        digest = hashlib.sha256(f"{view.id}:{ref}".encode()).hexdigest()
        view = engine.attach_evidence(
            view.id, type="activity_report", title=f"Activity report {ref}", sha256=digest,
            size=1024, media_type="application/pdf",
            effective_date=date.fromisoformat(str(record.get("actual_end"))),
            reference=ref, validated=True, actor=ACTORS["team"],
        )  # fmt: skip
    return view


def walk_to(
    engine: Engine,
    state: str,
    *,
    data_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    version: int | None = None,
) -> InstanceView:
    """Start a new request and drive it to ``state`` with the builders' payloads.

    ``version`` is the workflow version to start (default: the latest the engine
    registers). ``data_overrides`` maps a trigger to keys merged over its built payload
    (for ``record_activity``, over every record); an overridden ``country`` of ``submit``
    is built in (so version 2's institution id is one of that country). Later payloads
    follow the instance's data, so an overridden action plan is mobilised and recorded as
    overridden. Before ``implement`` on a version that takes evidence (3), the team
    attaches each delivered activity's report as validated.
    Raises ``KeyError`` for a state not in :func:`paths` of that version.
    """
    if version is None:
        version = engine.registry.get(NAME).definition.version
    overrides = data_overrides or {}
    view: InstanceView | None = None
    for trigger in paths(version)[state]:
        data = view.data if view is not None else {}
        extra = overrides.get(trigger, {})
        for payload in _payloads(trigger, data, version, str(extra.get("country", "KH"))):
            body = {**(payload or {}), **extra} if payload is not None or extra else None
            actor = _actor(trigger, body, version)
            reason = _REASONS.get(trigger)
            if trigger == "implement" and view is not None:
                view = attach_reports(engine, view)
            if view is None:
                view = engine.start(NAME, body, actor=actor, reason=reason, version=version)
            else:
                view = engine.fire(view.id, trigger, body, actor=actor, reason=reason)
    if view is None:  # pragma: no cover - every path starts with submit
        raise KeyError(state)
    return view
