"""Builders of valid payloads for every trigger, and :func:`walk_to` a given state.

Used by the tests, the demo and host apps that need a realistic request quickly::

    view = walk_to(engine, "mobilised")
    view = walk_to(engine, "approved", data_overrides={"submit": {"country": "PE"}})

Every builder returns a plain ``dict`` (JSON-ready), valid against its payload model and
passing the workflow's guards with the default settings. Keyword arguments change one
aspect; anything else can be changed on the returned dict.
"""

# long module: one valid payload builder per trigger of the workflow, side by side.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from engine import Actor
from workflows.technical_assistance.workflow import NAME

if TYPE_CHECKING:
    from engine import Engine, InstanceView

__all__ = [
    "ACTORS",
    "PATHS",
    "action_plan_payload",
    "activity_payload",
    "activity_record_payload",
    "approval_payload",
    "dissemination_payload",
    "evaluation_payload",
    "expert_payload",
    "mobilisation_payload",
    "request_payload",
    "walk_to",
]

ACTORS: Mapping[str, Actor] = {
    "partner": Actor("kh-nspc-1", "partner_institution"),
    "delegation": Actor("eud-kh-1", "eu_delegation"),
    "team": Actor("team-1", "socieux_team"),
    "commission": Actor("dg-intpa-1", "commission"),
    "expert": Actor("exp-fr-1", "expert"),
    "evaluator": Actor("eval-1", "evaluator"),
    "auditor": Actor("audit-1", "auditor"),
}
"""Distinct actors, one per role, that :func:`walk_to` uses."""


def request_payload(
    *,
    country: str = "KH",
    institution: str = "National Social Protection Council",
    acronym: str = "NSPC",
    institution_type: str = "public_authority",
    level: str = "national",
    channel: str = "direct",
    areas: Sequence[str] = ("sp.financing", "sp.insurance.pensions"),
    support_type: str = "analytical",
    objectives: Sequence[str] = (
        "Outline options for a financial regulatory authority for social security",
        "Draft policy options for introducing financial regulations",
    ),
    desired_start: date = date(2024, 3, 1),
) -> dict[str, Any]:
    """A complete, eligible request (``submit``/``resubmit``)."""
    return {
        "institution": {
            "name": institution,
            "acronym": acronym,
            "type": institution_type,
            "level": level,
        },
        "country": country,
        "channel": channel,
        "title": f"Technical assistance to the {institution}",
        "areas": list(areas),
        "support_type": support_type,
        "description": "International and EU case studies, then concrete policy options.",
        "objectives": list(objectives),
        "desired_start": desired_start.isoformat(),
        "contact": {
            "name": "Sokha Chan",
            "email": "sokha.chan@nspc.example",
            "phone": "+855 23 000 000",
            "position": "Deputy Secretary General",
        },
    }


def activity_payload(
    activity_id: str = "A1",
    *,
    type: str = "diagnostic",  # noqa: A002 - the payload's field name
    expert_days: int = 36,
    start: date = date(2024, 4, 1),
    days: int = 19,
    mode: str = "on_site",
) -> dict[str, Any]:
    """One planned activity whose window runs ``days`` days from ``start``."""
    return {
        "id": activity_id,
        "type": type,
        "title": f"Activity {activity_id}: {type}",
        "mode": mode,
        "expert_days": expert_days,
        "start": start.isoformat(),
        "end": (start + timedelta(days=days - 1)).isoformat(),
    }


def action_plan_payload(
    activities: Sequence[Mapping[str, Any]] | None = None,
    *,
    opinion: str = "favourable",
) -> dict[str, Any]:
    """An action plan (two activities by default) with the EU Delegation's opinion."""
    if activities is None:
        activities = [
            activity_payload("A1"),
            activity_payload("A2", type="seminar", start=date(2024, 6, 3), days=12),
        ]
    texts = {
        "unfavourable": ("Priorities overlap with another donor.", ""),
        "waived": ("", "The Delegation had no capacity to review in time."),
    }
    note, reason = texts.get(opinion, ("", ""))
    return {
        "activities": [dict(a) for a in activities],
        "eu_delegation_opinion": {"verdict": opinion, "note": note, "reason": reason},
    }


def approval_payload(
    reference: str = "INTPA/2024/0042", action_code: str | None = "2024-07"
) -> dict[str, Any]:
    """The Commission's approval reference and the action code."""
    return {"approval_reference": reference, "action_code": action_code}


def expert_payload(
    expert_id: str,
    activity_id: str,
    *,
    days: int = 18,
    principal: bool = True,
    nationality: str = "FR",
    employer: str = "Caisse nationale d'assurance vieillesse",
    employer_type: str = "mandated_body",
    expertise: str = "sp.financing",
    name: str = "Claire Martin",
) -> dict[str, Any]:
    """One expert position for one activity."""
    return {
        "id": expert_id,
        "name": name,
        "nationality": nationality,
        "employer": employer,
        "employer_type": employer_type,
        "expertise": expertise,
        "principal": principal,
        "days": days,
        "activity_id": activity_id,
    }


def mobilisation_payload(activities: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Experts for every activity: a principal, and a second expert where days allow."""
    plan = activities if activities is not None else action_plan_payload()["activities"]
    experts: list[dict[str, Any]] = []
    for activity in plan:
        aid = str(activity["id"])
        budget = int(activity["expert_days"])
        first = min(18, budget)
        experts.append(expert_payload("exp-fr-1", aid, days=first))
        if budget - first >= 1:
            experts.append(
                expert_payload(
                    "exp-es-1",
                    aid,
                    days=min(18, budget - first),
                    principal=False,
                    nationality="ES",
                    name="Javier Ruiz",
                    employer="Instituto Nacional de la Seguridad Social",
                )
            )
    return {"experts": experts}


def activity_record_payload(
    activity: Mapping[str, Any], *, validated: bool = True, cancelled: bool = False
) -> dict[str, Any]:
    """A record for ``activity``: delivered inside its window, or cancelled with a reason."""
    aid = str(activity["id"])
    if cancelled:
        return {
            "activity_id": aid,
            "status": "cancelled",
            "cancellation_reason": "The partner postponed it indefinitely.",
        }
    start = date.fromisoformat(str(activity["start"]))
    end = date.fromisoformat(str(activity["end"]))
    return {
        "activity_id": aid,
        "status": "delivered",
        "actual_start": start.isoformat(),
        "actual_end": min(end, start + timedelta(days=11)).isoformat(),
        "participants": {"female": 14, "male": 11, "other": 0},
        "days_worked": min(int(activity.get("expert_days", 1)), 30),
        "report_reference": f"REP-{aid}",
        "report_validated": validated,
    }


def evaluation_payload(
    objectives: int = 2, *, score: int = 5, would_recommend: bool = True
) -> dict[str, Any]:
    """Partner feedback and an achievement for each of ``objectives`` objectives."""
    return {
        "evaluation": {
            "partner": {"score": score, "would_recommend": would_recommend},
            "experts_score": 4,
            "participants_score": 4.4,
            "achievements": [
                {"objective": i, "rating": "achieved"} for i in range(1, objectives + 1)
            ],
        }
    }


def dissemination_payload() -> dict[str, Any]:
    """One case study and one news item."""
    return {
        "products": [
            {
                "type": "case_study",
                "title": "Regulating social security finances",
                "audience": "Partner institutions",
            },
            {"type": "news", "title": "Action completed", "audience": "General public"},
        ]
    }


# ------------------------------------------------------------------ walking
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
"""The triggers :func:`walk_to` fires to reach each state (``record_activity`` once per
planned activity)."""

_WHO = {
    "submit": "partner",
    "return_for_revision": "team",
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


def _payloads(trigger: str, data: Mapping[str, Any]) -> list[dict[str, Any] | None]:
    activities = list(data.get("activities") or [])
    builders: dict[str, Any] = {
        "submit": request_payload,
        "fine_tune": action_plan_payload,
        "approve": approval_payload,
        "mobilise": lambda: mobilisation_payload(activities),
        "implement": dict,
        "evaluate": lambda: evaluation_payload(len(data.get("objectives") or [])),
        "disseminate": dissemination_payload,
    }
    if trigger == "record_activity":
        return [activity_record_payload(a) for a in activities]
    build = builders.get(trigger)
    return [build() if build is not None else None]


def walk_to(
    engine: Engine,
    state: str,
    *,
    data_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> InstanceView:
    """Start a new request and drive it to ``state`` with the builders' payloads.

    ``data_overrides`` maps a trigger to keys merged over its built payload (for
    ``record_activity``, over every record). Later payloads follow the instance's data,
    so an overridden action plan is mobilised and recorded as overridden.
    Raises ``KeyError`` for a state not in :data:`PATHS`.
    """
    overrides = data_overrides or {}
    view: InstanceView | None = None
    for trigger in PATHS[state]:
        data = view.data if view is not None else {}
        for payload in _payloads(trigger, data):
            extra = overrides.get(trigger, {})
            body = {**(payload or {}), **extra} if payload is not None or extra else None
            actor = ACTORS[_WHO[trigger]]
            reason = _REASONS.get(trigger)
            if view is None:
                view = engine.start(NAME, body, actor=actor, reason=reason)
            else:
                view = engine.fire(view.id, trigger, body, actor=actor, reason=reason)
    if view is None:  # pragma: no cover - every path starts with submit
        raise KeyError(state)
    return view
