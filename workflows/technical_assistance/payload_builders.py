"""Builders of valid payloads for every trigger of both versions (see
:mod:`workflows.technical_assistance.builders`, which re-exports them)."""

# long module: one valid payload builder per trigger of both versions, side by side.

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from engine import Actor

__all__ = [
    "ACTORS",
    "action_plan_payload",
    "activity_payload",
    "activity_record_payload",
    "approval_payload",
    "dissemination_payload",
    "employer_id",
    "evaluation_payload",
    "expert_payload",
    "institution_id",
    "mobilisation_payload",
    "opinion_payload",
    "request_payload",
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
    institution_ref: str | None = None,
    version: int = 1,
) -> dict[str, Any]:
    """A complete, eligible request (``submit``/``resubmit``).

    Version 2 gives the institution an id: ``institution_ref``, or one made of the
    country and the acronym (``KH-NSPC``, the registry's id of the default institution).
    """
    inst = {"name": institution, "acronym": acronym, "type": institution_type, "level": level}
    if version >= 2:
        inst["id"] = institution_ref or institution_id(country, acronym or institution)
    return {
        "institution": inst,
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
    version: int = 1,
) -> dict[str, Any]:
    """One planned activity whose window runs ``days`` days from ``start``; ``mode`` is
    its ``mode`` (version 1) or its ``modality`` (version 2)."""
    return {
        "id": activity_id,
        "type": type,
        "title": f"Activity {activity_id}: {type}",
        ("modality" if version >= 2 else "mode"): mode,
        "expert_days": expert_days,
        "start": start.isoformat(),
        "end": (start + timedelta(days=days - 1)).isoformat(),
    }


def action_plan_payload(
    activities: Sequence[Mapping[str, Any]] | None = None,
    *,
    opinion: str = "favourable",
    version: int = 1,
) -> dict[str, Any]:
    """An action plan (two activities by default) with the EU Delegation's opinion.

    Version 2's plan carries no opinion (the Delegation records it: :func:`opinion_payload`)
    but, with ``opinion="waived"``, an opinion waiver and its reason.
    """
    if activities is None:
        activities = [
            activity_payload("A1", version=version),
            activity_payload(
                "A2", type="seminar", start=date(2024, 6, 3), days=12, version=version
            ),
        ]
    if version >= 2:
        waiver = {"reason": "The Delegation submitted the request itself."}
        return {
            "activities": [dict(a) for a in activities],
            "opinion_waiver": waiver if opinion == "waived" else None,
        }
    texts = {
        "unfavourable": ("Priorities overlap with another donor.", ""),
        "waived": ("", "The Delegation had no capacity to review in time."),
    }
    note, reason = texts.get(opinion, ("", ""))
    return {
        "activities": [dict(a) for a in activities],
        "eu_delegation_opinion": {"verdict": opinion, "note": note, "reason": reason},
    }


def opinion_payload(verdict: str = "favourable", note: str | None = None) -> dict[str, Any]:
    """The EU Delegation's opinion (``give_opinion``, version 2); an unfavourable one
    gets a note unless ``note`` is given."""
    if note is None:
        note = "Priorities overlap with another donor." if verdict == "unfavourable" else ""
    return {"eu_delegation_opinion": {"verdict": verdict, "note": note}}


def institution_id(country: str, acronym: str) -> str:
    """The id the 2025.1 registry gives an institution: its country, then its acronym in
    capitals with dashes (``institution_id("ME", "PIO Fund") == "ME-PIO-FUND"``)."""
    ascii_text = unicodedata.normalize("NFKD", acronym).encode("ascii", "ignore").decode()
    code = re.sub(r"[^A-Z0-9]+", "-", ascii_text.upper()).strip("-")
    return f"{country}-{code[:30].strip('-') or 'X'}"


def employer_id(nationality: str, employer: str) -> str:
    """An id for an expert's employer: the nationality, then the initials of the
    employer's longer words (``employer_id("ES", "Servicio Público de Empleo Estatal")``
    is ``ES-SPEE``)."""
    ascii_text = unicodedata.normalize("NFKD", employer).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_text)
    code = "".join(w[0] for w in words if len(w) > 2 or w.isupper()).upper()
    return f"{nationality}-{code[:30] or 'X'}"


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
    employer_ref: str | None = None,
    version: int = 1,
) -> dict[str, Any]:
    """One expert position for one activity; version 2 adds the employer's id
    (``employer_ref``, or one made of the nationality and the employer's initials)."""
    extra = {"employer_id": employer_ref or employer_id(nationality, employer)}
    return {
        **(extra if version >= 2 else {}),
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


def mobilisation_payload(
    activities: Sequence[Mapping[str, Any]] | None = None, *, version: int = 1
) -> dict[str, Any]:
    """Experts for every activity: a principal, and a second expert where days allow."""
    plan = activities
    if plan is None:
        plan = action_plan_payload(version=version)["activities"]
    experts: list[dict[str, Any]] = []
    for activity in plan:
        aid = str(activity["id"])
        budget = int(activity["expert_days"])
        first = min(18, budget)
        experts.append(expert_payload("exp-fr-1", aid, days=first, version=version))
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
                    version=version,
                )
            )
    return {"experts": experts}


def activity_record_payload(
    activity: Mapping[str, Any],
    *,
    validated: bool = True,
    cancelled: bool = False,
    version: int = 1,
) -> dict[str, Any]:
    """A record for ``activity``: delivered inside its window, or cancelled with a reason;
    version 2's delivered record states the modality used (the planned one)."""
    aid = str(activity["id"])
    if cancelled:
        return {
            "activity_id": aid,
            "status": "cancelled",
            "cancellation_reason": "The partner postponed it indefinitely.",
        }
    start = date.fromisoformat(str(activity["start"]))
    end = date.fromisoformat(str(activity["end"]))
    modality = {"modality": str(activity.get("modality") or activity.get("mode") or "on_site")}
    return {
        **(modality if version >= 2 else {}),
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
