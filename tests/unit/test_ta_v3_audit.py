"""Technical-assistance version 3's audit policy on real requests (memory backend):
``implement`` wants a validated activity report per delivered activity, and corrections,
including of the contact's personal data, take effect once a second person approves."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from engine import Actor, Engine, GuardRejected, PermissionDenied
from engine.definition.audit_policy import audit_problems
from workflows.technical_assistance import definition_v3, definitions
from workflows.technical_assistance.testing import KIT
from workflows.technical_assistance.walking import walk_to

LEAD = Actor("team-2", "socieux_team")
CLERK = Actor("team-3", "socieux_team")
COMMISSION = Actor("dg-intpa-4", "commission")
PARTNER = Actor("kh-nspc-1", "partner_institution")
OLD_NAME, NEW_NAME = "Sokha Chan", "Sokha Chan Dara"


@pytest.fixture
def engine() -> Engine:
    return Engine.open("memory://", workflows=definitions())


def _delivered(engine: Engine) -> tuple[str, list[str]]:
    view = walk_to(engine, "mobilised", version=3)
    refs = []
    for record in KIT.records(version=3):
        engine.fire(view.id, "record_activity", record, actor=LEAD)
        if record.get("status", "delivered") == "delivered":
            refs.append(str(record["report_reference"]))
    return str(view.id), refs


def _report(engine: Engine, iid: str, ref: str, *, actor: Actor, validated: bool) -> None:
    engine.attach_evidence(
        iid, type="activity_report", title=f"Activity report {ref}",
        sha256=hashlib.sha256(f"{iid}{ref}{validated}".encode()).hexdigest(), size=2048,
        media_type="application/pdf", effective_date=date(2024, 5, 2), reference=ref,
        validated=validated, actor=actor,
    )  # fmt: skip


def test_version_3_declares_a_consistent_audit_policy() -> None:
    v3 = definition_v3()
    assert audit_problems(v3) == []
    assert v3.audit is not None
    assert v3.audit.four_eyes
    assert "submit" in v3.audit.correctable
    assert "contact" in v3.audit.fields_of("submit")
    assert {"participants", "days_worked"} <= set(v3.audit.fields_of("record_activity"))
    assert v3.audit.fields_of("mobilise") == ()  # who worked on what is never corrected
    assert "system" not in v3.audit.annotate_roles  # the deadline runner writes no notes


def test_implement_is_refused_without_a_validated_report_and_passes_once_it_is_on_file(
    engine: Engine,
) -> None:
    iid, refs = _delivered(engine)
    assert refs
    with pytest.raises(GuardRejected) as refused:
        engine.fire(iid, "implement", actor=LEAD)
    (failure,) = refused.value.failures
    assert failure["name"] == "activity_reports_on_file"
    assert f"no validated activity report {refs[0]!r} on file" in failure["reason"]
    with pytest.raises(PermissionDenied):  # the partner attaches, but does not validate
        _report(engine, iid, refs[0], actor=PARTNER, validated=True)
    for ref in refs:
        _report(engine, iid, ref, actor=PARTNER, validated=False)
    with pytest.raises(GuardRejected, match="activity_reports_on_file"):
        engine.fire(iid, "implement", actor=LEAD)  # on file, not validated
    for ref in refs:
        _report(engine, iid, ref, actor=LEAD, validated=True)
    view = engine.fire(iid, "implement", actor=LEAD)
    assert view.state == "implemented"
    (guard,) = [g for g in engine.history(iid)[-1].guards if g.name == "activity_reports_on_file"]
    assert guard.ok
    assert set(guard.inputs["evidence"]) == {r["activity_id"] for r in KIT.records(version=3)}
    assert engine.verify().ok


def test_a_correction_of_the_contacts_name_is_approved_by_a_second_person(
    engine: Engine,
) -> None:
    view = walk_to(engine, "submitted", version=3)
    contact = view.data["contact"]
    assert contact["name"] == OLD_NAME
    asked = engine.correct(view.id, 1, {"contact": {**contact, "name": NEW_NAME}},
                           reason="Her full name, as on the partner's letter", actor=CLERK)  # fmt: skip
    assert engine.get(view.id).data["contact"]["name"] == OLD_NAME  # pending: four eyes
    with pytest.raises(PermissionDenied):
        engine.approve_correction(view.id, asked.version, actor=CLERK)
    engine.approve_correction(view.id, asked.version, actor=COMMISSION, reason="Checked")
    now = engine.get(view.id)
    assert now.data["contact"] == {**contact, "name": NEW_NAME}  # read back in clear
    change = engine.history(view.id)[1].amendment["changes"][0]  # type: ignore[index]
    assert (change["old"]["name"], change["new"]["name"]) == (OLD_NAME, NEW_NAME)
    notes = engine.application.recorder.select_notifications(start=1, limit=100_000)
    stored = b"".join(n.state for n in notes)
    for secret in (OLD_NAME, NEW_NAME, contact["email"]):
        assert secret.encode() not in stored, secret  # sealed for the contact, never in clear
    assert b"Technical assistance to the" in stored  # negative control: the rest is readable
    rows = engine.audit_report("corrections").rows
    assert [(r["field"], r["status"], r["approved_by"]) for r in rows] == [
        ("contact", "approved", COMMISSION.id)
    ]
    assert engine.verify().ok


def test_the_partner_the_expert_and_the_auditor_may_add_notes(engine: Engine) -> None:
    view = walk_to(engine, "submitted", version=3)
    for who in (PARTNER, Actor("exp-fr-1", "expert"), Actor("audit-1", "auditor")):
        engine.note(view.id, f"Note by {who.role}", actor=who)
    assert [h.role for h in engine.history(view.id)[-3:]] == ["partner_institution", "expert",
                                                              "auditor"]  # fmt: skip
    with pytest.raises(PermissionDenied):
        engine.note(view.id, "The runner has no say", actor=Actor("runner", "system"))
