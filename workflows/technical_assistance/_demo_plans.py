"""The phases of a demo request's story, with the people who act in it.

Each phase appends steps to a :class:`~workflows.technical_assistance._demo_script.Story`
and returns False when the request's story ends there (rejected, withdrawn, cancelled).
Some phases slip in a deliberate mistake that the engine must refuse.
"""

# long module: the phases of a request's story, for both versions of the workflow.

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from engine import Actor
from workflows.technical_assistance import _demo_payloads as pay
from workflows.technical_assistance import _demo_v2 as v2
from workflows.technical_assistance._demo_catalogue import INSTITUTIONS, Partner
from workflows.technical_assistance.reference import reference_data

if TYPE_CHECKING:
    from workflows.technical_assistance._demo_script import Story

__all__ = [
    "Cast",
    "Context",
    "approval_phase",
    "closing_phase",
    "delivery_phase",
    "fine_tune_phase",
    "ineligible_attempt",
    "mobilise_phase",
    "request_phase",
]

_REASONS = {
    "return_for_revision": (
        "Please narrow the request to one priority.",
        "The objectives need measurable results.",
        "Please confirm the ministry's co-ordination with the Delegation.",
    ),
    "reject": (
        "Outside the facility's mandate.",
        "Already covered by another EU programme.",
        "The request is for long-term support better suited to Twinning.",
    ),
    "withdraw": ("The ministry found funding elsewhere.", "Priorities changed after elections."),
    "cancel": (
        "The partner's priorities changed.",
        "Security situation: missions impossible.",
        "The partner could not release staff for the activities.",
    ),
}


@dataclass(frozen=True, slots=True)
class Cast:
    """The people acting on one request, each with the role they act in."""

    partner: Actor
    delegation: Actor
    officer: Actor
    lead: Actor
    commission: Actor
    evaluator: Actor

    @classmethod
    def for_request(cls, rng: random.Random, partner: Partner, day: date) -> Cast:
        """Pick the people; the approving DG depends on the region and the year."""
        cc = partner.country.lower()
        slug = "".join(c for c in partner.acronym.lower() if c.isalnum())
        region = reference_data().countries[partner.country].region
        dg = "near" if region == "eu_neighbourhood" else "devco" if day.year < 2021 else "intpa"
        officer, lead = rng.sample(range(1, 9), 2)
        return cls(
            partner=Actor(f"{cc}-{slug}-{rng.randint(1, 3)}", "partner_institution"),
            delegation=Actor(f"eud-{cc}-{rng.randint(1, 2)}", "eu_delegation"),
            officer=Actor(f"team-{officer}", "socieux_team"),
            lead=Actor(f"team-{lead}", "socieux_team"),
            commission=Actor(f"dg-{dg}-{rng.randint(1, 3)}", "commission"),
            evaluator=Actor(f"eval-{rng.randint(1, 3)}", "evaluator"),
        )


@dataclass(slots=True)
class Context:
    """What one request's phases share."""

    partner: Partner
    outcome: str
    cast: Cast
    roster: list[dict[str, Any]]
    submitter: Actor | None = None
    institution_id: str = ""
    objectives: int = 0
    activities: list[dict[str, Any]] = field(default_factory=list)
    experts: list[dict[str, Any]] = field(default_factory=list)


def request_phase(story: Story, ctx: Context) -> bool:
    """Submit, maybe go through a revision; the team may reject, the partner withdraw."""
    rng, cast = story.rng, ctx.cast
    req = pay.request(rng, ctx.partner, story.now.date())
    ctx.objectives = len(req["objectives"])
    ctx.submitter = cast.delegation if req["channel"] == "eu_delegation" else cast.partner
    if story.version >= 2:
        req = v2.request_v2(req, ctx.partner)
        ctx.institution_id = req["institution"]["id"]
        v2.misrouted_attempt(story, ctx, req)
    story.add("submit", ctx.submitter, req, dest="submitted")
    revise = rng.random() < 0.2 or story.stop_at == "revision_requested"
    if revise and not story.stopped:
        story.wait(10, 25)
        story.add(
            "return_for_revision",
            cast.officer,
            reason=rng.choice(_REASONS["return_for_revision"]),
            dest="revision_requested",
        )
        if story.stopped:
            return False
        story.wait(15, 45)
        revised = {**req, "description": req["description"] + " Revised with the team."}
        story.add("resubmit", ctx.submitter, revised, dest="submitted")
    if ctx.outcome == "reject_submitted":
        story.wait(10, 30)
        if rng.random() < 0.5:  # forgot the reason
            story.add("reject", cast.officer, expect="invalid_payload")
        story.add("reject", cast.officer, reason=rng.choice(_REASONS["reject"]), dest="rejected")
        if rng.random() < 0.5:
            story.wait(10, 60)
            story.add("resubmit", ctx.submitter, req, expect="transition_not_allowed")
        return False
    if ctx.outcome == "withdraw" and rng.random() < 0.6:
        story.wait(5, 30)
        story.add(
            "withdraw", cast.partner, reason=rng.choice(_REASONS["withdraw"]), dest="withdrawn"
        )
        return False
    return True


def fine_tune_phase(story: Story, ctx: Context) -> bool:
    """The team records the action plan; a first draft may break the caps."""
    rng, cast = story.rng, ctx.cast
    story.wait(14, 30)
    ctx.activities, ctx.experts = pay.activities_and_experts(
        rng, ctx.partner, story.now.date(), ctx.roster
    )
    if story.version >= 2:
        extras = v2.consultation(story, ctx)
        if extras is None:
            return False
        ctx.activities, ctx.experts = v2.plan_v2(ctx.activities), v2.experts_v2(ctx.experts)
        plan = {"activities": ctx.activities, **extras}
    else:
        plan = {"activities": ctx.activities, "eu_delegation_opinion": pay.opinion(rng)}
    if rng.random() < 0.12:
        draft = [{**a, "expert_days": 75} for a in ctx.activities]
        story.add("fine_tune", cast.officer, {**plan, "activities": draft}, expect="guard_rejected")
        story.wait(1, 4)
    story.add("fine_tune", cast.officer, plan, dest="fine_tuned")
    if story.stopped:
        return False
    if ctx.outcome == "withdraw":
        story.wait(3, 12)
        story.add(
            "withdraw", cast.partner, reason=rng.choice(_REASONS["withdraw"]), dest="withdrawn"
        )
        return False
    if ctx.outcome == "reject_fine_tuned":
        story.wait(5, 15)
        story.add("reject", cast.commission, reason=rng.choice(_REASONS["reject"]), dest="rejected")
        return False
    return True


def approval_phase(story: Story, ctx: Context) -> bool:
    """The Commission approves; someone without the right may try first."""
    rng, cast = story.rng, ctx.cast
    story.wait(5, 14)
    dg = cast.commission.id.split("-")[1].upper()
    approval = {
        "approval_reference": f"{dg}/{story.now.year}/{rng.randint(1, 9999):04d}",
        "action_code": None,
    }
    draw = rng.random()
    if draw < 0.08:  # the team cannot approve
        story.add("approve", cast.officer, dict(approval), expect="permission_denied")
    elif draw < 0.14 and ctx.submitter is cast.delegation:  # submitted it, may not approve it
        story.add(
            "approve",
            Actor(cast.delegation.id, "commission"),
            dict(approval),
            expect="permission_denied",
        )
    story.add("approve", cast.commission, approval, dest="approved")
    if story.stopped:
        return False
    if ctx.outcome == "cancel_approved":
        story.wait(20, 60)
        story.add(
            "cancel", cast.commission, reason=rng.choice(_REASONS["cancel"]), dest="cancelled"
        )
        return False
    return True


def mobilise_phase(story: Story, ctx: Context) -> bool:
    """The team contracts the experts; a conflict of interest may be caught first."""
    rng, cast = story.rng, ctx.cast
    story.wait(15, 35)
    if rng.random() < 0.1:
        employer = {"employer_id": ctx.institution_id} if story.version >= 2 else {}
        conflicted = [
            {**ctx.experts[0], "employer": ctx.partner.name.upper(), **employer},
            *ctx.experts[1:],
        ]
        story.add("mobilise", cast.officer, {"experts": conflicted}, expect="guard_rejected")
        story.wait(2, 7)
    story.add("mobilise", cast.officer, {"experts": ctx.experts}, dest="mobilised")
    if story.stopped:
        return False
    if ctx.outcome == "cancel_mobilised":
        story.wait(10, 40)
        story.add(
            "cancel",
            rng.choice((cast.commission, cast.lead)),
            reason=rng.choice(_REASONS["cancel"]),
            dest="cancelled",
        )
        return False
    return True


def delivery_phase(story: Story, ctx: Context) -> bool:
    """Each activity is recorded: delivered (report validated, maybe later) or cancelled."""
    rng, cast = story.rng, ctx.cast
    delivered = False
    for k, activity in enumerate(ctx.activities):
        last = k == len(ctx.activities) - 1
        if rng.random() < 0.06 and (delivered or not last):
            story.until(date.fromisoformat(activity["start"]) - timedelta(days=10))
            story.add(
                "record_activity",
                cast.officer,
                {
                    "activity_id": activity["id"],
                    "status": "cancelled",
                    "cancellation_reason": rng.choice(_REASONS["cancel"]),
                },
            )
            continue
        on_it = [e for e in ctx.experts if e["activity_id"] == activity["id"]]
        record, day = pay.delivered_record(rng, activity, sum(e["days"] for e in on_it))
        story.until(day)
        delivered = True
        if story.version >= 2:
            record = v2.record_v2(record, activity, rng.random())
            v2.outsider_attempt(story, ctx, record, on_it)
        if rng.random() < 0.3:  # the principal expert reports; the team validates later
            principal = Actor(next(e["id"] for e in on_it if e["principal"]), "expert")
            story.add("record_activity", principal, {**record, "report_validated": False})
            if last and rng.random() < 0.5:
                story.add("implement", cast.officer, expect="guard_rejected")
            story.wait(7, 20)
        story.add("record_activity", cast.lead, record)
    return True


def closing_phase(story: Story, ctx: Context) -> bool:
    """Implementation closes, the action is evaluated, then its results disseminated."""
    rng, cast = story.rng, ctx.cast
    story.wait(5, 20)
    story.add("implement", cast.officer, dest="implemented")
    if story.stopped:
        return False
    story.wait(20, 45)
    evaluator = cast.evaluator if rng.random() < 0.6 else cast.officer
    story.add("evaluate", evaluator, pay.evaluation(rng, ctx.objectives), dest="evaluated")
    if story.stopped:
        return False
    story.wait(15, 60)
    story.add("disseminate", cast.officer, pay.products(rng, ctx.partner), dest="disseminated")
    if rng.random() < 0.08:
        story.wait(30, 200)
        story.add(
            "withdraw",
            cast.partner,
            reason="Too late to change our minds?",
            expect="transition_not_allowed",
        )
    return True


def ineligible_attempt(story: Story) -> None:
    """A request the workflow must refuse at the door (no instance is created)."""
    rng = story.rng
    base = pay.request(rng, rng.choice(INSTITUTIONS), story.now.date())
    kind = rng.choice(("company", "ngo", "member_state", "markers_only", "incomplete"))
    inst = base["institution"]
    changes: dict[str, Any] = {
        "company": {
            "institution": {**inst, "name": "Mekong Payroll Solutions Ltd", "type": "company"}
        },
        "ngo": {"institution": {**inst, "name": "Friends of Social Justice", "type": "ngo"}},
        "member_state": {
            "country": "ES",
            "institution": {
                **inst,
                "name": "Consejería de Empleo de Andalucía",
                "level": "regional",
            },
        },
        "markers_only": {"areas": ["x.gender", "x.governance"]},
        "incomplete": {"objectives": [], "contact": None},
    }
    story.add(
        "submit",
        Actor("someone-1", "partner_institution"),
        {**base, **changes[kind]},
        expect="guard_rejected",
    )
