"""The guards version 2 of the technical-assistance workflow adds or changes.

New rules: the submission channel matches who submits; the institution carries an id of
its country; the EU Delegation's opinion (its consultation step, where ``system`` may
record silence as no objection); an expert records only their own activities. Changed
rules (a new guard ``version``): the opinion on file at fine-tuning and approval, conflict
of interest by employer id, and activity records stating their modality.
:func:`guards_v2` lists every guard of version 2, version 1's unchanged ones included.
"""

from __future__ import annotations

from datetime import date, timedelta

from engine import Guard, GuardContext, GuardResult
from workflows.technical_assistance import guards as v1
from workflows.technical_assistance._support import (
    blank,
    id_key,
    payload_as,
    planned_activities,
    reference,
    verdict,
)
from workflows.technical_assistance.payloads import ActivityRecordPayload, ApprovalPayload
from workflows.technical_assistance.payloads_v2 import (
    ActionPlanPayloadV2,
    ActivityRecordPayloadV2,
    MobilisationPayloadV2,
    OpinionPayload,
    RequestPayloadV2,
)

__all__ = [
    "CHANNEL_OF",
    "activity_record_valid_v2",
    "activity_recorded_by_own_expert",
    "approval_complete_v2",
    "delegation_opinion_on_file",
    "guards_v2",
    "institution_identified",
    "no_conflict_of_interest_v2",
    "opinion_valid",
    "submission_channel_matches",
    "working_days_between",
]

CHANNEL_OF = {"partner_institution": "direct", "eu_delegation": "eu_delegation"}
"""The submission channel each requester role submits through."""
_VERDICTS = ("favourable", "unfavourable", "no_objection")


# ------------------------------------------------------------------ submit, resubmit
def _submitter_roles(ctx: GuardContext) -> list[str]:
    """The requester role submitting now; for anyone else (a migration re-checking the
    rules), the requester roles in which the instance's submitters acted."""
    if ctx.actor.role in CHANNEL_OF:
        return [ctx.actor.role]
    fired = {*ctx.view.fired_by.get("submit", ()), *ctx.view.fired_by.get("resubmit", ())}
    return [r for r in CHANNEL_OF if fired & set(ctx.view.acted_as.get(r, ()))]


def submission_channel_matches(ctx: GuardContext) -> GuardResult:
    """The submission channel matches who submits (the Delegation: ``eu_delegation``)."""
    req = payload_as(ctx, RequestPayloadV2)
    roles = _submitter_roles(ctx)
    allowed = sorted({CHANNEL_OF[r] for r in roles})
    problems = []
    if not roles:
        problems.append("no submitter is known to check the submission channel against")
    elif req.channel not in allowed:
        problems.append(
            f"channel {req.channel!r} does not match a request submitted by the "
            f"{' or '.join(roles)} (channel {' or '.join(repr(a) for a in allowed)})"
        )
    return verdict(
        problems,
        f"channel {req.channel!r} matches the submitter",
        channel=req.channel,
        submitter_roles=roles,
    )


def institution_identified(ctx: GuardContext) -> GuardResult:
    """The requesting institution's id is an id of the request's country."""
    req = payload_as(ctx, RequestPayloadV2)
    ref, problems = reference(ctx)
    ident = req.institution.id
    if not ident.startswith(f"{req.country}-"):
        problems.append(f"institution id {ident} is not an id of {req.country}")
    return verdict(
        problems,
        f"institution {ident} of {req.country}",
        institution_id=ident,
        registered=ident in ref.institutions,
        reference_data=ref.version,
    )


# ------------------------------------------------------------------ give_opinion
def working_days_between(start: date, end: date) -> int:
    """Working days (Monday to Friday) after ``start`` up to and including ``end``."""
    days, day = 0, start + timedelta(days=1)
    while day <= end:
        days += day.weekday() < 5
        day += timedelta(days=1)
    return days


def opinion_valid(ctx: GuardContext) -> GuardResult:
    """An unfavourable opinion has a note; ``system`` records only silence as no objection."""
    opinion = payload_as(ctx, OpinionPayload).eu_delegation_opinion
    period = int(ctx.settings["consultation_silence_working_days"])
    silent = working_days_between(ctx.view.state_entered_at.date(), ctx.now.date())
    problems = []
    if opinion.verdict == "unfavourable" and blank(opinion.note):
        problems.append("an unfavourable opinion needs a note")
    if ctx.actor.role == "system":
        if opinion.verdict != "no_objection":
            problems.append("silence counts only as no objection")
        elif silent < period:
            problems.append(f"consulted {silent} working day(s) ago: silence counts after {period}")
    return verdict(
        problems,
        f"opinion recorded: {opinion.verdict}",
        verdict=opinion.verdict,
        by=ctx.actor.role,
        working_days_consulting_delegation=silent,
        silence_working_days=period,
    )


# ------------------------------------------------------------------ fine_tune, approve
def _opinion_on_file(ctx: GuardContext) -> tuple[str | None, str]:
    """The verdict of the opinion in ``data`` (if it is a version 2 one) and its note."""
    opinion = ctx.view.data.get("eu_delegation_opinion")
    if not isinstance(opinion, dict) or opinion.get("verdict") not in _VERDICTS:
        return None, ""
    return str(opinion["verdict"]), str(opinion.get("note") or "")


def delegation_opinion_on_file(ctx: GuardContext) -> GuardResult:
    """The Delegation's opinion is on file, or waived with a reason if it submitted itself."""
    waiver = payload_as(ctx, ActionPlanPayloadV2).opinion_waiver
    on_file, note = _opinion_on_file(ctx)
    channel = ctx.view.data.get("channel")
    problems = []
    if on_file is not None:
        if on_file == "unfavourable" and blank(note):
            problems.append("the unfavourable opinion on file has no note")
        if waiver is not None:
            problems.append("the Delegation's opinion is on file: it cannot be waived")
    elif waiver is None:
        problems.append(
            "the EU Delegation's opinion is not on file: consult the Delegation "
            "(or waive its opinion on a request it submitted itself)"
        )
    elif channel != "eu_delegation":
        problems.append("the opinion may be waived only on a request the EU Delegation submitted")
    elif blank(waiver.reason):
        problems.append("a waived opinion needs a reason")
    return verdict(
        problems,
        f"opinion {on_file or 'waived'}",
        opinion=on_file,
        waived=waiver is not None,
        channel=channel,
    )


def approval_complete_v2(ctx: GuardContext) -> GuardResult:
    """The action plan and the Delegation's opinion (or waiver) are on file; a reference."""
    approval = payload_as(ctx, ApprovalPayload)
    activities = planned_activities(ctx)
    waived = "waived" if ctx.view.data.get("opinion_waiver") else None
    opinion = _opinion_on_file(ctx)[0] or waived
    problems = []
    if not activities:
        problems.append("no action plan on file")
    if opinion is None:
        problems.append("no EU Delegation opinion (nor waiver) on file")
    if blank(approval.approval_reference):
        problems.append("the approval reference is missing")
    return verdict(
        problems,
        "action plan, opinion and approval reference present",
        activities=len(activities),
        opinion=opinion,
        approval_reference=approval.approval_reference,
    )


# ------------------------------------------------------------------ mobilise, record_activity
def no_conflict_of_interest_v2(ctx: GuardContext) -> GuardResult:
    """No expert is employed by the requesting institution (ids compared canonically)."""
    experts = payload_as(ctx, MobilisationPayloadV2).experts
    institution = ctx.view.data.get("institution") or {}
    ident = str(institution.get("id") or "") if isinstance(institution, dict) else ""
    problems = [] if ident.strip() else ["the requesting institution has no id on file"]
    conflicted = sorted({e.id for e in experts if ident and id_key(e.employer_id) == id_key(ident)})
    if conflicted:
        problems.append(
            f"expert(s) {', '.join(conflicted)} employed by the requesting institution "
            f"{ident} (conflict of interest)"
        )
    return verdict(
        problems,
        "no expert is employed by the requesting institution",
        institution_id=ident,
        employer_ids=sorted({e.employer_id for e in experts}),
    )


def activity_record_valid_v2(ctx: GuardContext) -> GuardResult:
    """As version 1's rule, and a delivered activity states the modality actually used."""
    rec = payload_as(ctx, ActivityRecordPayloadV2)
    base = v1.activity_record_valid(ctx)
    problems = [] if base.ok else [base.reason]
    if rec.status == "delivered" and rec.modality is None:
        problems.append("the modality actually used is required")
    return verdict(problems, base.reason, **base.inputs, modality=rec.modality)


def activity_recorded_by_own_expert(ctx: GuardContext) -> GuardResult:
    """An expert records only an activity they were mobilised on; the team records any."""
    rec = payload_as(ctx, ActivityRecordPayload)
    if ctx.actor.role != "expert":
        return GuardResult.passed(
            f"recorded by the {ctx.actor.role}", role=ctx.actor.role, activity_id=rec.activity_id
        )
    on_it = sorted(
        str(e.get("id"))
        for e in ctx.view.data.get("experts") or []
        if isinstance(e, dict) and str(e.get("activity_id")) == rec.activity_id
    )
    mine = any(id_key(e) == id_key(ctx.actor.id) for e in on_it)
    problems = [] if mine else [f"the expert was not mobilised on activity {rec.activity_id}"]
    return verdict(
        problems,
        f"recorded by an expert of activity {rec.activity_id}",
        role=ctx.actor.role,
        activity_id=rec.activity_id,
        experts_of_activity=on_it,
    )


def guards_v2() -> tuple[Guard, ...]:
    """Every guard of version 2, named and versioned (changed rules carry version 2)."""
    same = {g.name: g for g in v1.guards()}
    changed = {
        "approval_complete": approval_complete_v2,
        "no_conflict_of_interest": no_conflict_of_interest_v2,
        "activity_record_valid": activity_record_valid_v2,
    }
    added = (
        submission_channel_matches,
        institution_identified,
        opinion_valid,
        delegation_opinion_on_file,
        activity_recorded_by_own_expert,
    )
    kept = [g for name, g in same.items() if name not in changed]
    kept.remove(same["eu_delegation_opinion_recorded"])  # replaced by the consultation step
    return (
        *kept,
        *(Guard(name, f, version=2, description=_doc(f)) for name, f in changed.items()),
        *(Guard(f.__name__, f, description=_doc(f)) for f in added),
    )


def _doc(func: object) -> str:
    return (getattr(func, "__doc__", None) or "").strip().splitlines()[0]
