"""``activity_reports_on_file`` on a test-only definition built from technical-assistance v2:
``implement`` needs a validated activity report on file per delivered activity."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from engine import Actor, AuditPolicy, Engine, GuardRejected, WorkflowDefinition
from workflows.technical_assistance.guards_evidence import ACTIVITY_REPORTS_GUARD
from workflows.technical_assistance.testing import KIT
from workflows.technical_assistance.walking import walk_to
from workflows.technical_assistance.workflow_v2 import definition_v2

TEAM = Actor("team-9", "socieux_team")


def with_evidence_guard(defn: WorkflowDefinition) -> WorkflowDefinition:
    """``defn`` with the guard on ``implement`` and a policy for validated evidence."""
    transitions = tuple(
        t.model_copy(update={"guards": (*t.guards, ACTIVITY_REPORTS_GUARD.name)})
        if t.trigger == "implement" else t
        for t in defn.transitions
    )  # fmt: skip
    policy = AuditPolicy(evidence_roles=("socieux_team",), validate_roles=("socieux_team",))
    return defn.model_copy(update={
        "transitions": transitions, "guards": (*defn.guards, ACTIVITY_REPORTS_GUARD),
        "audit": policy,
    })  # fmt: skip


@pytest.fixture
def engine() -> Engine:
    return Engine.open("memory://", workflows=[with_evidence_guard(definition_v2())])


def _delivered(engine: Engine) -> tuple[str, list[str]]:
    view = walk_to(engine, "mobilised")
    refs = []
    for record in KIT.records(version=2):
        engine.fire(view.id, "record_activity", record, actor=TEAM)
        if record.get("status", "delivered") == "delivered":
            refs.append(str(record["report_reference"]))
    return str(view.id), refs


def _attach(engine: Engine, iid: str, ref: str, *, validated: bool = True,
            kind: str = "activity_report") -> None:  # fmt: skip
    engine.attach_evidence(
        iid, type=kind, title=f"Activity report {ref}", sha256=hashlib.sha256(f"{kind}{ref}{validated}".encode()).hexdigest(),
        size=1000, media_type="application/pdf", effective_date=date(2025, 5, 2),
        reference=ref, validated=validated, actor=TEAM,
    )  # fmt: skip


def test_implement_is_refused_until_every_delivered_activity_has_its_validated_report(
    engine: Engine,
) -> None:
    iid, refs = _delivered(engine)
    assert refs
    with pytest.raises(GuardRejected, match="no validated activity report"):
        engine.fire(iid, "implement", actor=TEAM)
    for ref in refs[:-1]:
        _attach(engine, iid, ref)
    _attach(engine, iid, refs[-1], validated=False)  # on file, but not validated
    _attach(engine, iid, refs[-1], kind="mission_report")  # validated, but another kind
    with pytest.raises(GuardRejected, match=refs[-1]):
        engine.fire(iid, "implement", actor=TEAM)
    _attach(engine, iid, refs[-1])
    view = engine.fire(iid, "implement", actor=TEAM)
    assert view.state == "implemented"
    guard = next(g for g in engine.history(iid)[-1].guards if g.name == "activity_reports_on_file")
    assert len(guard.inputs["evidence"]) == len(refs)
    assert all(v is not None for v in guard.inputs["evidence"].values())
    assert engine.verify().ok
