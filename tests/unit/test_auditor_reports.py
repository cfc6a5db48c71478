"""Auditor reports on a test-only definition built from technical-assistance v2: late entries,
activities outside their window, corrections and their approvers, missing evidence, days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine import Actor, AuditPolicy, Engine, InvalidArgument
from engine.definition.audit_policy import ActivityFields
from tests.unit.test_ta_evidence_guard import with_evidence_guard
from workflows.technical_assistance.testing import KIT
from workflows.technical_assistance.walking import walk_to
from workflows.technical_assistance.workflow_v2 import definition_v2

TEAM, TEAM2 = Actor("team-9", "socieux_team"), Actor("team-8", "socieux_team")


def reporting_definition() -> object:
    """v2 with the evidence guard, an audit policy for the reports and corrections of
    activity records, and no date check on records (so a window breach can be recorded)."""
    defn = with_evidence_guard(definition_v2())
    transitions = tuple(
        t.model_copy(update={"guards": ()}) if t.trigger == "record_activity" else t
        for t in defn.transitions
    )
    policy = AuditPolicy(
        correctable={"record_activity": ("days_worked", "actual_end")},
        correct_roles=("socieux_team",), approve_roles=("socieux_team",),
        evidence_roles=("socieux_team",), validate_roles=("socieux_team",),
        late_after_days=30, activities=ActivityFields(),
    )  # fmt: skip
    return defn.model_copy(update={"transitions": transitions, "audit": policy})


@pytest.fixture
def engine() -> Engine:
    return Engine.open("memory://", workflows=[reporting_definition()])  # type: ignore[list-item]


def _delivered(engine: Engine) -> str:
    view = walk_to(engine, "mobilised")
    a1, a2 = KIT.records(version=2)
    engine.fire(view.id, "record_activity", a1, actor=TEAM)
    late = {**a2, "actual_end": "2024-06-30"}  # past the planned end, 2024-06-14
    engine.fire(view.id, "record_activity", late, actor=TEAM)
    return str(view.id)


def test_window_evidence_and_days_reports(engine: Engine) -> None:
    iid = _delivered(engine)
    window = engine.audit_report("window")
    assert [(r["activity"], r["actual_end"], r["planned_end"]) for r in window.rows] == [
        ("A2", "2024-06-30", "2024-06-14")
    ]
    missing = engine.audit_report("evidence")
    assert [r["activity"] for r in missing.rows] == ["A1", "A2"]
    engine.attach_evidence(
        iid, type="activity_report", title="A1 report", sha256="1" * 64, size=5,
        media_type="application/pdf", effective_date=date(2024, 4, 15), reference="REP-A1",
        validated=True, actor=TEAM,
    )  # fmt: skip
    assert [r["activity"] for r in engine.audit_report("evidence").rows] == ["A2"]
    days = engine.audit_report("days")
    assert days.rows == [{"instance": iid, "state": "mobilised", "planned_days": 72,
                          "worked_days": 60, "difference": -12}]  # fmt: skip
    assert (days.totals["planned_days"], days.totals["worked_days"]) == (72, 60)


def test_the_corrections_report_names_requester_and_approver_and_days_follow_it(
    engine: Engine,
) -> None:
    iid = _delivered(engine)
    records = [h for h in engine.history(iid) if h.trigger == "record_activity"]
    c = engine.correct(iid, records[0].version, {"days_worked": 34}, reason="timesheet",
                       actor=TEAM)  # fmt: skip
    pending = engine.audit_report("corrections").rows
    assert [(r["field"], r["old"], r["new"], r["status"]) for r in pending] == [
        ("days_worked", 30, 34, "pending")
    ]
    engine.approve_correction(iid, c.version, actor=TEAM2)
    (row,) = engine.audit_report("corrections", instance=iid[:8]).rows
    assert (row["requested_by"], row["approved_by"], row["status"]) == (
        "team-9", "team-8", "approved")  # fmt: skip
    assert engine.audit_report("days").totals["worked_days"] == 64


def test_late_entries_compare_effective_and_recorded_time(engine: Engine) -> None:
    now = datetime.now(UTC)
    view = engine.start("technical-assistance", KIT.payload("submit", version=2),
                        actor=KIT.actor("partner_institution"),
                        effective_at=now - timedelta(days=45))  # fmt: skip
    rows = engine.audit_report("late").rows
    assert [(r["instance"], r["trigger"]) for r in rows] == [(str(view.id), "submit")]
    assert rows[0]["days_late"] >= 45  # type: ignore[operator]
    assert engine.audit_report("late", late_after_days=60).rows == []
    with pytest.raises(InvalidArgument):
        engine.audit_report("everything")
