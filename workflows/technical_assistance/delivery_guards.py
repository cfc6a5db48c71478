"""Guards of the technical-assistance workflow, from mobilisation to dissemination.

Pure functions ``(ctx: GuardContext) -> GuardResult``, like those in
:mod:`workflows.technical_assistance.guards` (which re-exports them).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from engine import GuardContext, GuardResult
from workflows.technical_assistance._support import (
    as_date,
    blank,
    payload_as,
    planned_activities,
    reference,
    verdict,
)
from workflows.technical_assistance.payloads import (
    ActivityRecordPayload,
    DisseminationPayload,
    EvaluationPayload,
    MobilisationPayload,
)

__all__ = [
    "activities_delivered",
    "activity_record_valid",
    "expert_days_within_plan",
    "experts_cover_plan",
    "experts_eligible",
    "knowledge_product_present",
    "no_conflict_of_interest",
    "partner_feedback_present",
]


def _normalised(name: str) -> str:
    return " ".join(name.casefold().split())


# ------------------------------------------------------------------ mobilise
def experts_cover_plan(ctx: GuardContext) -> GuardResult:
    """Every planned activity has at least one expert and exactly one principal expert."""
    experts = payload_as(ctx, MobilisationPayload).experts
    planned = planned_activities(ctx)
    problems = [
        f"expert {e.id} is assigned to unplanned activity {e.activity_id}"
        for e in experts
        if e.activity_id not in planned
    ]
    twice = Counter((e.id, e.activity_id) for e in experts)
    problems += [
        f"expert {i} is listed twice for activity {a}"
        for (i, a), n in sorted(twice.items())
        if n > 1
    ]
    counts: dict[str, list[int]] = {}
    for activity_id in planned:
        on_it = [e for e in experts if e.activity_id == activity_id]
        principals = sum(e.principal for e in on_it)
        counts[activity_id] = [len(on_it), principals]
        if not on_it:
            problems.append(f"activity {activity_id} has no expert")
        elif principals != 1:
            problems.append(f"activity {activity_id} has {principals} principal experts, needs 1")
    return verdict(
        problems, "every activity has experts and one principal", experts_and_principals=counts
    )


def no_conflict_of_interest(ctx: GuardContext) -> GuardResult:
    """No expert is employed by the requesting institution (names compared case-insensitively)."""
    experts = payload_as(ctx, MobilisationPayload).experts
    institution = ctx.view.data.get("institution") or {}
    name = str(institution.get("name", ""))
    conflicted = sorted(
        {e.id for e in experts if name and _normalised(e.employer) == _normalised(name)}
    )
    problems = (
        [
            f"expert(s) {', '.join(conflicted)} employed by the requesting institution "
            f"{name!r} (conflict of interest)"
        ]
        if conflicted
        else []
    )
    return verdict(
        problems,
        "no expert is employed by the requesting institution",
        institution=name,
        employers=sorted({e.employer for e in experts}),
    )


def expert_days_within_plan(ctx: GuardContext) -> GuardResult:
    """For each activity, the experts' days add up to no more than its planned expert-days."""
    experts = payload_as(ctx, MobilisationPayload).experts
    planned = planned_activities(ctx)
    used: Counter[str] = Counter()
    for e in experts:
        used[e.activity_id] += e.days
    problems = []
    for activity_id, activity in planned.items():
        plan_days = int(activity.get("expert_days", 0))
        if used[activity_id] > plan_days:
            problems.append(
                f"activity {activity_id}: {used[activity_id]} expert-days "
                f"mobilised, {plan_days} planned"
            )
    return verdict(
        problems,
        "expert-days within the plan",
        mobilised={k: used[k] for k in planned},
        planned={k: a.get("expert_days") for k, a in planned.items()},
    )


def experts_eligible(ctx: GuardContext) -> GuardResult:
    """Experts are EU nationals (or partner-country practitioners); expertise codes known."""
    experts = payload_as(ctx, MobilisationPayload).experts
    ref, problems = reference(ctx)
    for e in experts:
        triangular = e.employer_type == "partner_country_institution"
        if triangular and e.nationality not in ref.countries:
            problems.append(f"expert {e.id}: {e.nationality} is not a partner country")
        elif not triangular and e.nationality not in ref.eu_member_states:
            problems.append(f"expert {e.id}: {e.nationality} is not an EU Member State")
        if e.expertise not in ref.areas:
            problems.append(f"expert {e.id}: unknown expertise {e.expertise!r}")
    return verdict(
        problems,
        "experts' nationalities and expertise eligible",
        nationalities=sorted({e.nationality for e in experts}),
        reference_data=ref.version,
    )


# ------------------------------------------------------------------ record_activity
def _delivery_problems(
    rec: ActivityRecordPayload, window: tuple[date | None, date | None], today: date
) -> list[str]:
    problems = []
    start, end = rec.actual_start, rec.actual_end
    if start is None or end is None:
        problems.append("actual start and end dates are required")
    elif start > end:
        problems.append("actual end is before actual start")
    elif window[0] is None or window[1] is None:
        problems.append("the activity's planned window is unreadable")
    elif not (window[0] <= start and end <= window[1]):
        problems.append(
            f"actual dates {start}..{end} are outside the window {window[0]}..{window[1]}"
        )
    elif end > today:
        problems.append(f"actual end {end} is in the future")
    if rec.participants is None:
        problems.append("participants by sex are required")
    if rec.days_worked is None:
        problems.append("days worked are required")
    if blank(rec.report_reference):
        problems.append("the report reference is required")
    return problems


def activity_record_valid(ctx: GuardContext) -> GuardResult:
    """A planned activity; delivered: dates in its window, participants, days, report.

    A cancelled activity needs a cancellation reason.
    """
    rec = payload_as(ctx, ActivityRecordPayload)
    activity = planned_activities(ctx).get(rec.activity_id)
    window: tuple[date | None, date | None] = (None, None)
    if activity is None:
        problems = [f"activity {rec.activity_id} is not in the action plan"]
    elif rec.status == "cancelled":
        problems = ["a cancelled activity needs a reason"] if blank(rec.cancellation_reason) else []
    else:
        window = (as_date(activity.get("start")), as_date(activity.get("end")))
        problems = _delivery_problems(rec, window, ctx.now.date())
    return verdict(
        problems,
        f"activity {rec.activity_id} {rec.status}: record complete",
        activity_id=rec.activity_id,
        status=rec.status,
        window=[d.isoformat() if d else None for d in window],
        actual=[rec.actual_start, rec.actual_end],
        today=ctx.now.date(),
    )


# ------------------------------------------------------------------ implement, evaluate, ...
def _latest_records(ctx: GuardContext) -> dict[str, dict[str, Any]]:
    records = ctx.view.data.get("activity_records") or []
    return {str(r.get("activity_id")): r for r in records if isinstance(r, dict)}


def _closed(record: dict[str, Any] | None) -> str | None:
    if record is None:
        return None
    if record.get("status") == "cancelled":
        return "cancelled" if not blank(record.get("cancellation_reason")) else None
    return "delivered" if record.get("report_validated") is True else None


def activities_delivered(ctx: GuardContext) -> GuardResult:
    """Every planned activity delivered with a validated report, or cancelled with a reason.

    At least one activity must have been delivered (otherwise cancel the action).
    """
    latest = _latest_records(ctx)
    outcome = {a: _closed(latest.get(a)) for a in planned_activities(ctx)}
    open_ones = [a for a, o in outcome.items() if o is None]
    problems = []
    if open_ones:
        problems.append(
            "not delivered with a validated report nor cancelled: " + ", ".join(open_ones)
        )
    elif "delivered" not in outcome.values():
        problems.append("no activity was delivered: cancel the action instead")
    return verdict(problems, "every activity delivered or cancelled", outcome=outcome)


def partner_feedback_present(ctx: GuardContext) -> GuardResult:
    """The partner's feedback is given and every objective of the request is assessed."""
    evaluation = payload_as(ctx, EvaluationPayload).evaluation
    objectives = len(ctx.view.data.get("objectives") or [])
    assessed = {a.objective for a in evaluation.achievements}
    problems = []
    if evaluation.partner is None:
        problems.append("the partner institution's feedback is missing")
    missing = sorted(set(range(1, objectives + 1)) - assessed)
    if missing:
        problems.append(f"objective(s) not assessed: {', '.join(map(str, missing))}")
    extra = sorted(assessed - set(range(1, objectives + 1)))
    if extra:
        problems.append(f"no such objective(s): {', '.join(map(str, extra))}")
    return verdict(
        problems,
        "partner feedback and every objective assessed",
        partner_score=evaluation.partner.score if evaluation.partner else None,
        objectives=objectives,
        assessed=sorted(assessed),
    )


def knowledge_product_present(ctx: GuardContext) -> GuardResult:
    """At least one knowledge product (news, case study, policy brief, knowledge product)."""
    products = payload_as(ctx, DisseminationPayload).products
    problems = [] if products else ["no knowledge product given"]
    return verdict(problems, f"{len(products)} product(s)", products=[p.type for p in products])
