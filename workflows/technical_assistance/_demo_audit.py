"""The demo's corrections, evidence, notes and late entry (version 3's audit policy).

* :func:`with_reports`: before ``implement``, the team attaches each delivered activity's
  report by fingerprint, as validated (``engine.attach_evidence``, type ``activity_report``,
  ``reference`` the record's ``report_reference``), as version 3's ``implement`` requires;
  the step does nothing for a request still on an earlier version.
* :func:`late_entry`: the first activity record the team made once version 3 was out,
  two weeks or more after the activity ended, carries the activity's last day as its
  effective time (recorded late).
* :func:`show_amendments` (a step of the demo's epilogue): the team corrects a mistyped
  participants count, expert-days worked and a request's title; a second team
  member or the Commission approves each; one requester tries to approve their own
  correction first and is refused; the team and an auditor add notes.

Everything is derived from the seed's stories and the recorded views, never from a random
draw of the stories' own generators, so it shifts no other part of the portfolio.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from engine import Actor, Engine, EngineError, HistoryEntry, InstanceView, PermissionDenied

if TYPE_CHECKING:
    from workflows.technical_assistance._demo_epilogue import Epilogue
    from workflows.technical_assistance._demo_script import Step

__all__ = [
    "REPORTS",
    "AmendmentOutcome",
    "attach_reports",
    "late_entry",
    "show_amendments",
    "with_reports",
]

REPORTS = "__reports__"
"""A demo step that is no command of the workflow: the team attaches the activity reports."""
_LATE_AFTER = timedelta(days=14)
_AUDITOR = Actor("audit-1", "auditor")
_APPROVERS = (Actor("team-9", "socieux_team"), Actor("dg-intpa-1", "commission"))
_CLERK = Actor("team-1", "socieux_team")


class AmendmentOutcome(BaseModel):
    """What the demo's corrections and notes did (counts of the batch)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    corrections: int = 0
    approved: int = 0
    refused: int = 0
    """Approvals refused because their requester tried to approve their own correction."""
    evidence: int = 0
    notes: int = 0
    late: int = 0

    def text(self) -> str:
        """One line of the demo's summary."""
        return (
            f"Audit trail: {self.corrections} corrections ({self.approved} approved by a "
            f"second person, {self.refused} self-approval refused), {self.evidence} validated "
            f"activity reports on file, {self.notes} notes, {self.late} late "
            + ("entry." if self.late == 1 else "entries.")
        )


def with_reports(steps: list[Step]) -> list[Step]:
    """``steps`` of one request with, just before each ``implement`` of a version 2 or 3
    request, the team attaching the activity reports (a no-op unless the request is on
    version 3 by then: a version 2 request may be migrated before it implements)."""
    out: list[Step] = []
    lead = Actor("team-1", "socieux_team")
    for step in steps:
        if step.trigger == "record_activity" and step.actor.role == "socieux_team":
            lead = step.actor
        if step.trigger == "implement" and step.expect is None and step.version >= 2:
            out.append(replace(step, at=step.at - timedelta(minutes=3), trigger=REPORTS,
                               actor=lead, payload=None, reason=None))  # fmt: skip
        out.append(step)
    return out


def attach_reports(engine: Engine, step: Step) -> InstanceView | None:
    """Attach, as validated, every delivered activity's report not yet on file (only on
    version 3 and later); the view, or ``None`` if there was nothing to do."""
    view = engine.get(step.instance_id)
    if engine.registry.by_hash(view.definition_hash).definition.audit is None:
        return None
    on_file = {e.get("reference") for e in view.evidence}
    latest = {r["activity_id"]: r for r in view.data.get("activity_records", [])}
    titles = {a["id"]: a.get("title", "") for a in view.data.get("activities", [])}
    for aid, record in sorted(latest.items()):
        ref = str(record.get("report_reference") or "")
        if record.get("status", "delivered") != "delivered" or not ref or ref in on_file:
            continue
        digest = hashlib.sha256(f"socieux-demo:{view.id}:{aid}:{ref}".encode()).hexdigest()
        view = engine.attach_evidence(
            view.id,
            type="activity_report",
            title=f"Activity report {aid}: {titles.get(aid) or aid}"[:200],
            sha256=digest,
            size=40_000 + int(digest[:4], 16),
            media_type="application/pdf",
            effective_date=date.fromisoformat(str(record.get("actual_end") or step.at.date())),
            reference=ref,
            validated=True,
            actor=step.actor,
            reason="Activity report received and validated",
        )
        on_file.add(ref)
    return view


def late_entry(stories: Iterable[list[Step]], since: datetime) -> int:
    """Give the first activity record the team made from ``since`` on (version 3 is out) at
    least two weeks after the activity ended its last day as effective time (it was
    recorded late); how many records it changed (0 or 1)."""
    for steps in stories:
        for step in steps:
            payload: dict[str, Any] = step.payload or {}
            if (
                step.at < since
                or step.trigger != "record_activity"
                or step.expect is not None
                or step.actor.role != "socieux_team"
                or payload.get("status", "delivered") != "delivered"
                or not payload.get("actual_end")
            ):
                continue
            ended = datetime.combine(
                date.fromisoformat(payload["actual_end"]), time(16, tzinfo=UTC)
            )
            if step.at - ended >= _LATE_AFTER:
                step.effective_at = ended
                return 1
    return 0


def show_amendments(epilogue: Epilogue) -> None:
    """Corrections with four eyes (one self-approval refused) and notes, on the batch's
    version 3 requests; counts what the batch holds on file."""
    engine = epilogue.engine
    views = [engine.get(i) for i in epilogue.batch]
    audited = [v for v in views if _policy(engine, v)]
    histories = {v.id: engine.history(v.id) for v in audited}
    late = sum(1 for hs in histories.values() for h in hs if h.effective_at is not None
               and h.at - h.effective_at >= _LATE_AFTER)  # fmt: skip
    own = {v.id: _own(v, histories[v.id]) for v in audited}
    records = {  # one delivered activity record per request, the first
        v.id: (v, next(h for h in own[v.id] if _delivered(h)))
        for v in audited
        if any(_delivered(h) for h in own[v.id])
    }
    corrections = approved = refused = 0
    corrected: list[InstanceView] = []
    for k, ((view, entry), (name, change, why)) in enumerate(
        zip(records.values(), _RECORD_FIXES, strict=False)
    ):
        requester = Actor(entry.actor, "socieux_team") if entry.role == "socieux_team" else _CLERK
        asked = _correct(engine, view, entry, {name: change(entry.payload[name])}, reason=why,
                         actor=requester)  # fmt: skip
        if asked is None:
            continue
        approver = _APPROVERS[k % len(_APPROVERS)]  # never a requester (team-1..8)
        engine.approve_correction(view.id, asked, actor=approver, reason="Checked")
        corrections, approved = corrections + 1, approved + 1
        corrected.append(view)
    submitted = [(v, h) for v in audited for h in own[v.id] if h.trigger == "submit"]
    for view, entry in submitted[:1]:  # a request started on version 3
        title = str(entry.payload.get("title") or "")
        if not title:
            continue
        why = "The partner's letter names the second phase"
        fixed = {"title": f"{title} (phase 2)"[:200]}
        asked = _correct(engine, view, entry, fixed, reason=why, actor=_CLERK)
        if asked is None:
            continue
        try:  # the requester may not approve their own correction
            engine.approve_correction(view.id, asked, actor=_CLERK, reason="Done")
        except PermissionDenied as exc:
            epilogue.refusals.append(exc.code)
            refused += 1
        engine.approve_correction(view.id, asked, actor=_APPROVERS[0], reason="Checked")
        corrections, approved = corrections + 1, approved + 1
        corrected.append(view)
    notes = sum(_notes(engine, view) for view in (corrected or audited)[:3])  # the same few
    evidence = sum(1 for v in views for e in v.evidence if e.get("validated") is True)
    epilogue.amendments = AmendmentOutcome(corrections=corrections, approved=approved,
        refused=refused, evidence=evidence, notes=notes, late=late)  # fmt: skip


def _delivered(entry: HistoryEntry) -> bool:
    return entry.trigger == "record_activity" and entry.payload.get("status") == "delivered"


def _correct(
    engine: Engine,
    view: InstanceView,
    entry: HistoryEntry,
    changes: dict[str, Any],
    *,
    reason: str,
    actor: Actor,
) -> int | None:
    """The version of the correction recorded, or ``None`` if it was refused."""
    try:
        after = engine.correct(view.id, entry.version, changes, reason=reason, actor=actor)
    except EngineError:  # e.g. a guard that the corrected value would now fail: skip it
        return None
    return after.version


def _policy(engine: Engine, view: InstanceView) -> bool:
    return engine.registry.by_hash(view.definition_hash).definition.audit is not None


def _own(view: InstanceView, history: list[HistoryEntry]) -> list[HistoryEntry]:
    """The instance's steps recorded under its current definition (not amendments)."""
    return [
        h
        for h in history
        if h.definition_hash == view.definition_hash and h.amends is None
        and not h.trigger.startswith("__")
    ]  # fmt: skip


def _fewer_men(participants: dict[str, int]) -> dict[str, int]:
    return {**participants, "male": max(0, int(participants.get("male", 0)) - 1)}


def _one_day_more(days: int) -> int:
    return int(days) + 1


_RECORD_FIXES: tuple[tuple[str, Callable[[Any], Any], str], ...] = (
    ("participants", _fewer_men, "Attendance list: the count was mistyped"),
    ("days_worked", _one_day_more, "Timesheet: one expert-day was not entered"),
)


def _notes(engine: Engine, view: InstanceView) -> int:
    """A note of the team, then an auditor's, on ``view``."""
    engine.note(view.id, "Partner called: the action's focal point changes next month.",
                actor=_CLERK)  # fmt: skip
    engine.note(view.id, "Sampled for the annual audit: contracts and reports checked.",
                actor=_AUDITOR)  # fmt: skip
    return 2
