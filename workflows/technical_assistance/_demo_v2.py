"""The demo's version 2 requests: their payloads and the EU Delegation's consultation.

Version 2 requests are the demo's newest ones (the fourth phase). Their payloads are the
version 1 ones of :mod:`workflows.technical_assistance._demo_payloads`, converted: the
institution's registry id, activity modalities, employer ids, the modality used. Their
story consults the Delegation before fine-tuning, with the mistakes version 2 refuses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine import Actor
from workflows.technical_assistance._demo_catalogue import Partner
from workflows.technical_assistance.builders import employer_id, institution_id
from workflows.technical_assistance.reference import reference_data

if TYPE_CHECKING:
    from workflows.technical_assistance._demo_plans import Context
    from workflows.technical_assistance._demo_script import Story

__all__ = [
    "DUE",
    "SYSTEM",
    "consultation",
    "experts_v2",
    "misrouted_attempt",
    "outsider_attempt",
    "plan_v2",
    "record_v2",
    "registered_id",
    "request_v2",
    "with_institution_id",
]

REFERENCE = "2025.1"
SYSTEM = Actor("system", "system")
"""The engine's own actor: its deadline records the Delegation's silence as no objection."""
DUE = "__due__"
"""A demo step that is no command: the engine's deadline runner (``engine.run_due``)."""
_NOTES = (
    "Aligned with the Delegation's social protection programme; keep the Ministry of "
    "Finance involved.",
    "Overlaps with a programme funded by another donor; keep it narrow.",
)


def registered_id(partner: Partner) -> str | None:
    """The partner's id in the 2025.1 registry, if it is registered."""
    found = reference_data(REFERENCE).institution_named(partner.name, partner.country)
    return found.id if found is not None else None


def request_v2(req: dict[str, Any], partner: Partner) -> dict[str, Any]:
    """A version 1 request as version 2 asks it: with the institution's id."""
    ident = registered_id(partner) or institution_id(partner.country, partner.acronym)
    return {**req, "institution": {**req["institution"], "id": ident}}


def with_institution_id(req: dict[str, Any]) -> dict[str, Any]:
    """A request with an institution id made of its country and acronym."""
    inst = req.get("institution") or {}
    ident = institution_id(str(req.get("country")), str(inst.get("acronym") or "X"))
    return {**req, "institution": {**inst, "id": ident}}


def misrouted_attempt(story: Story, ctx: Context, req: dict[str, Any]) -> None:
    """Sometimes the institution first says it submits through the Delegation (refused)."""
    if req["channel"] == "direct" and story.rng.random() < 0.3:
        wrong = {**req, "channel": "eu_delegation"}
        story.add("submit", ctx.cast.partner, wrong, expect="guard_rejected")


def plan_v2(activities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Planned activities with their ``modality`` (version 1's ``mode``)."""
    return [
        {**{k: v for k, v in a.items() if k != "mode"}, "modality": a["mode"]} for a in activities
    ]


def experts_v2(experts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Experts with the id of their employer."""
    return [{**e, "employer_id": employer_id(e["nationality"], e["employer"])} for e in experts]


def record_v2(record: dict[str, Any], activity: dict[str, Any], draw: float) -> dict[str, Any]:
    """A delivered record with the modality used: one on-site activity in ten went hybrid."""
    used = activity["modality"]
    if used == "on_site" and draw < 0.1:
        used = "hybrid"
    return {**record, "modality": used}


def _opinion(story: Story) -> dict[str, Any]:
    draw = story.rng.random()
    verdict = "favourable" if draw < 0.8 else "no_objection" if draw < 0.9 else "unfavourable"
    note = story.rng.choice(_NOTES) if verdict != "no_objection" and draw > 0.5 else ""
    if verdict == "unfavourable":
        note = _NOTES[1]
    return {"eu_delegation_opinion": {"verdict": verdict, "note": note}}


def consultation(story: Story, ctx: Context) -> dict[str, Any] | None:
    """Consult the Delegation (or waive it on a request it submitted): what the plan adds,
    or ``None`` if the story stops in consultation."""
    rng, cast = story.rng, ctx.cast
    early = {"activities": plan_v2(ctx.activities)}
    if ctx.submitter is cast.delegation and rng.random() < 0.5:
        return {"opinion_waiver": {"reason": "The EU Delegation submitted the request itself."}}
    if rng.random() < 0.3:  # the team forgets to consult
        story.add("fine_tune", cast.officer, early, expect="guard_rejected")
        story.wait(1, 3)
    story.add("request_opinion", cast.officer, dest="consulting_delegation")
    if story.stopped:
        return None
    if rng.random() < 0.2:  # the Delegation stays silent: after 5 working days, no objection
        story.wait(8, 12)
        story.add(DUE, SYSTEM, dest="submitted")  # the engine's deadline runner passes by
        return {"opinion_waiver": None}
    story.wait(1, 4)  # less than 5 working days: before the deadline
    if rng.random() < 0.2:  # the partner may not give the Delegation's opinion
        story.add("give_opinion", cast.partner, _opinion(story), expect="permission_denied")
    story.add("give_opinion", cast.delegation, _opinion(story), dest="submitted")
    return {"opinion_waiver": None}


def outsider_attempt(
    story: Story, ctx: Context, record: dict[str, Any], on_it: list[dict[str, Any]]
) -> None:
    """Sometimes an expert of another activity tries to record this one (refused)."""
    mine = {e["id"] for e in on_it}
    others = sorted({e["id"] for e in ctx.experts} - mine)
    if others and story.rng.random() < 0.25:
        outsider = Actor(story.rng.choice(others), "expert")
        story.add("record_activity", outsider, dict(record), expect="guard_rejected")
