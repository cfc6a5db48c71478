"""Guards of the technical-assistance workflow: every rule the table names.

Every guard is a pure function ``(ctx: GuardContext) -> GuardResult``: it reads the
instance view, the payload, the actor, ``ctx.now`` and ``ctx.settings``, never the clock or
any file except the cached reference data. A failing guard names every problem it found in
one reason; passing or failing, it records the inputs it read.

The guards up to approval are defined here; those from mobilisation to dissemination live
in :mod:`workflows.technical_assistance.delivery_guards` and are re-exported here.
:func:`guards` lists them all for the definition.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import Guard, GuardContext, GuardResult
from workflows.technical_assistance._support import (
    blank,
    payload_as,
    planned_activities,
    reference,
    verdict,
)
from workflows.technical_assistance.delivery_guards import (
    activities_delivered,
    activity_record_valid,
    expert_days_within_plan,
    experts_cover_plan,
    experts_eligible,
    knowledge_product_present,
    no_conflict_of_interest,
    partner_feedback_present,
)
from workflows.technical_assistance.payloads import (
    ActionPlanPayload,
    ApprovalPayload,
    PlannedActivity,
    RequestPayload,
)
from workflows.technical_assistance.payloads_v2 import ActionPlanPayloadV2, PlannedActivityV2

__all__ = [
    "action_plan_valid",
    "action_plan_within_caps",
    "activities_delivered",
    "activity_record_valid",
    "approval_complete",
    "eu_delegation_opinion_recorded",
    "expert_days_within_plan",
    "experts_cover_plan",
    "experts_eligible",
    "guards",
    "knowledge_product_present",
    "no_conflict_of_interest",
    "partner_feedback_present",
    "request_complete",
    "request_eligible",
]


# ------------------------------------------------------------------ submit, resubmit
def request_eligible(ctx: GuardContext) -> GuardResult:
    """Eligible partner country, institution type and level; areas known and in scope."""
    req = payload_as(ctx, RequestPayload)
    ref, problems = reference(ctx)
    if req.country in ref.eu_member_states:
        problems.append(f"{req.country} is an EU Member State, not a partner country")
    elif req.country not in ref.countries:
        problems.append(f"country {req.country} is not an eligible partner country")
    for what, code, table in (
        ("institution type", req.institution.type, ref.institution_types),
        ("institution level", req.institution.level, ref.institution_levels),
    ):
        found = table.get(code)
        if found is None:
            problems.append(f"unknown {what} {code!r}")
        elif not found.eligible:
            problems.append(f"{what} {found.label!r} is not eligible")
    unknown = [a for a in req.areas if a not in ref.areas]
    if not req.areas:
        problems.append("no area given")
    elif unknown:
        problems.append(f"unknown area(s) {', '.join(unknown)}")
    elif not any(ref.is_thematic(a) for a in req.areas):
        problems.append("cross-cutting markers alone are not in scope: add a thematic area")
    return verdict(
        problems,
        f"{req.country} and a {req.institution.type} ({req.institution.level}) "
        "may ask; areas in scope",
        country=req.country,
        institution_type=req.institution.type,
        institution_level=req.institution.level,
        areas=list(req.areas),
        reference_data=ref.version,
    )


def request_complete(ctx: GuardContext) -> GuardResult:
    """Title, description, at least one objective and a contact person are present."""
    req = payload_as(ctx, RequestPayload)
    missing = [
        name
        for name, text in (("title", req.title), ("description", req.description))
        if blank(text)
    ]
    if not req.objectives:
        missing.append("objectives")
    elif any(blank(o) for o in req.objectives):
        missing.append("text of every objective")
    if req.contact is None:
        missing.append("contact person")
    problems = [f"missing: {', '.join(missing)}"] if missing else []
    return verdict(
        problems,
        "title, description, objectives and contact person present",
        title_present=not blank(req.title),
        description_present=not blank(req.description),
        objectives=len(req.objectives),
        contact_present=req.contact is not None,
    )


# ------------------------------------------------------------------ fine_tune
def _plan(ctx: GuardContext) -> Sequence[PlannedActivity | PlannedActivityV2]:
    """The planned activities of a ``fine_tune`` payload, of either version."""
    if isinstance(ctx.payload, ActionPlanPayloadV2):
        return ctx.payload.activities
    return payload_as(ctx, ActionPlanPayload).activities


def eu_delegation_opinion_recorded(ctx: GuardContext) -> GuardResult:
    """The Delegation's opinion is recorded; unfavourable has a note, waived a reason."""
    opinion = payload_as(ctx, ActionPlanPayload).eu_delegation_opinion
    if opinion is None:
        return GuardResult.failed("the EU Delegation's opinion is not recorded", verdict=None)
    problems = []
    if opinion.verdict == "unfavourable" and blank(opinion.note):
        problems.append("an unfavourable opinion needs a note")
    if opinion.verdict == "waived" and blank(opinion.reason):
        problems.append("a waived opinion needs a reason")
    return verdict(problems, f"opinion recorded: {opinion.verdict}", verdict=opinion.verdict)


def action_plan_within_caps(ctx: GuardContext) -> GuardResult:
    """1 to ``max_activities`` activities; expert-days within the per-activity and total caps."""
    activities = _plan(ctx)
    max_n = int(ctx.settings["max_activities"])
    per_cap = int(ctx.settings["max_expert_days_per_activity"])
    total_cap = int(ctx.settings["max_expert_days_total"])
    total = sum(a.expert_days for a in activities)
    problems = []
    if not activities:
        problems.append("the action plan has no activity")
    elif len(activities) > max_n:
        problems.append(f"{len(activities)} activities exceed the cap of {max_n}")
    problems += [
        f"activity {a.id}: {a.expert_days} expert-days exceed the cap of {per_cap}"
        for a in activities
        if a.expert_days > per_cap
    ]
    if total > total_cap:
        problems.append(f"{total} expert-days in total exceed the cap of {total_cap}")
    return verdict(
        problems,
        f"{len(activities)} activities, {total} expert-days: within caps",
        activities=len(activities),
        expert_days_total=total,
        max_activities=max_n,
        max_expert_days_per_activity=per_cap,
        max_expert_days_total=total_cap,
    )


def action_plan_valid(ctx: GuardContext) -> GuardResult:
    """Activity ids unique, types known, and every time window valid and not too long."""
    activities = _plan(ctx)
    ref, problems = reference(ctx)
    max_window = int(ctx.settings["max_activity_window_days"])
    ids = [a.id for a in activities]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        problems.append(f"activity id(s) used twice: {', '.join(dupes)}")
    for a in activities:
        if a.type not in ref.activity_types:
            problems.append(f"activity {a.id}: unknown type {a.type!r}")
        if a.end < a.start:
            problems.append(f"activity {a.id}: window ends before it starts")
        elif (a.end - a.start).days + 1 > max_window:
            problems.append(f"activity {a.id}: window longer than {max_window} days")
    return verdict(
        problems,
        "activity ids, types and windows valid",
        activity_ids=ids,
        types=[a.type for a in activities],
        windows=[[a.start.isoformat(), a.end.isoformat()] for a in activities],
        max_activity_window_days=max_window,
        reference_data=ref.version,
    )


# ------------------------------------------------------------------ approve
def approval_complete(ctx: GuardContext) -> GuardResult:
    """The action plan and the Delegation's opinion are on file; the approval has a reference."""
    approval = payload_as(ctx, ApprovalPayload)
    activities = planned_activities(ctx)
    opinion = ctx.view.data.get("eu_delegation_opinion")
    opinion_verdict = opinion.get("verdict") if isinstance(opinion, dict) else None
    problems = []
    if not activities:
        problems.append("no action plan on file")
    if opinion_verdict is None:
        problems.append("no EU Delegation opinion on file")
    if blank(approval.approval_reference):
        problems.append("the approval reference is missing")
    return verdict(
        problems,
        "action plan, opinion and approval reference present",
        activities=len(activities),
        opinion=opinion_verdict,
        approval_reference=approval.approval_reference,
    )


def guards() -> tuple[Guard, ...]:
    """Every guard of the workflow, named and versioned, for the definition."""
    funcs = (
        request_eligible,
        request_complete,
        eu_delegation_opinion_recorded,
        action_plan_within_caps,
        action_plan_valid,
        approval_complete,
        experts_cover_plan,
        no_conflict_of_interest,
        expert_days_within_plan,
        experts_eligible,
        activity_record_valid,
        activities_delivered,
        partner_feedback_present,
        knowledge_product_present,
    )
    return tuple(
        Guard(f.__name__, f, description=(f.__doc__ or "").strip().splitlines()[0]) for f in funcs
    )
