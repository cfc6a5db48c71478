"""Erasure rules on the memory backend: retention defers, holds block, due erasures run,
separation of duties, and bad input refused with typed errors and nothing written."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from engine import Actor, Engine
from engine.errors import (
    EnvelopeInvalid,
    ErasureConflict,
    InvalidArgument,
    PermissionDenied,
    SubjectNotFound,
)
from engine.privacy import ERASED_MARK, RESTRICTED_MARK
from engine.privacy.reveal import Revealer
from engine.testing import StepClock
from workflows.technical_assistance import definitions
from workflows.technical_assistance.testing import KIT

START = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
TEAM = Actor("t-privacy", "socieux_team")
DPO = Actor("dpo-1", "privacy_officer")
DPO2 = Actor("dpo-2", "privacy_officer")
AUDITOR = Actor("aud-1", "auditor")
EXPERT = "expert:exp-fr-1"
YEAR = timedelta(days=366)


@pytest.fixture
def clock() -> StepClock:
    return StepClock(START)


@pytest.fixture
def engine(clock: StepClock) -> Iterator[Engine]:
    with Engine.open("memory://", workflows=definitions(), clock=clock) as e:
        yield e


def written(engine: Engine) -> int:
    return int(engine.application.recorder.max_notification_id() or 0)


def names(engine: Engine, iid: UUID) -> dict[str, str]:
    return {str(e["id"]): str(e["name"]) for e in engine.get(iid).data["experts"]}


def test_an_erasure_inside_retention_is_deferred_and_the_data_restricted(
    engine: Engine, clock: StepClock
) -> None:
    view = KIT.walk_to(engine, "disseminated")
    clock.now += YEAR
    status = engine.forget(EXPERT, actor=TEAM, approver=DPO, reason="asked", legal_basis="Art. 17")
    assert (status.status, status.state) == ("restricted", "deferred")
    assert status.due_at is not None
    assert status.due_at > clock.now
    assert names(engine, view.id)["exp-fr-1"] == RESTRICTED_MARK
    assert names(engine, view.id)["exp-es-1"] == "Javier Ruiz"
    with engine.context(actor=AUDITOR):
        assert names(engine, view.id)["exp-fr-1"] == "Claire Martin"
    assert engine.erasures_due() == []
    assert engine.run_due_erasures(actor=DPO2) == []
    steps = [s.trigger for s in engine.history(UUID(str(status.erasure)))]
    assert steps == ["request_erasure", "approve_erasure", "defer_erasure"]


def test_a_deferred_erasure_runs_once_due(engine: Engine, clock: StepClock) -> None:
    view = KIT.walk_to(engine, "disseminated")
    engine.forget(EXPERT, actor=TEAM, approver=DPO, reason="asked", legal_basis="Art. 17")
    later = clock.now + 6 * YEAR
    assert [s.subject for s in engine.erasures_due(now=later)] == [EXPERT]
    clock.now = later
    done = engine.run_due_erasures(actor=DPO2)
    assert [(s.subject, s.status) for s in done] == [(EXPERT, "erased")]
    assert names(engine, view.id)["exp-fr-1"] == ERASED_MARK
    with engine.context(actor=AUDITOR):  # erased is erased, for every role
        assert names(engine, view.id)["exp-fr-1"] == ERASED_MARK
    assert engine.erasures_due() == []
    assert engine.verify().ok


def test_an_open_request_keeps_the_erasure_deferred_without_a_date(
    engine: Engine, clock: StepClock
) -> None:
    KIT.walk_to(engine, "mobilised")
    clock.now += 10 * YEAR
    status = engine.forget(EXPERT, actor=TEAM, approver=DPO, reason="asked", legal_basis="Art. 17")
    assert (status.state, status.due_at, status.open_requests) == ("deferred", None, 1)
    assert engine.erasures_due(now=clock.now + 20 * YEAR) == []


def test_a_legal_hold_blocks_the_erasure_until_released(engine: Engine, clock: StepClock) -> None:
    KIT.walk_to(engine, "disseminated")
    engine.forget(EXPERT, actor=TEAM, approver=DPO, reason="asked", legal_basis="Art. 17")
    held = engine.place_hold(EXPERT, actor=AUDITOR, reason="OLAF inquiry", hold="OLAF-2025-17")
    assert held.holds == ["OLAF-2025-17"]
    clock.now += 6 * YEAR
    assert engine.erasures_due() == []
    assert engine.run_due_erasures(actor=DPO2) == []
    assert engine.subject(EXPERT).status == "restricted"
    with pytest.raises(Exception, match="no such open hold"):
        engine.release_hold(EXPERT, actor=AUDITOR, reason="closed", hold="OTHER-1")
    engine.release_hold(EXPERT, actor=AUDITOR, reason="inquiry closed", hold="OLAF-2025-17")
    assert [s.subject for s in engine.run_due_erasures(actor=DPO2)] == [EXPERT]
    stream = engine.history(UUID(str(engine.subject(EXPERT).erasure)))
    steps = [(s.trigger, s.role, s.reason) for s in stream]
    assert ("place_hold", "auditor", "OLAF inquiry") in steps
    assert ("release_hold", "auditor", "inquiry closed") in steps
    assert steps[-1][0] == "erase_subject"


def test_the_requester_may_not_approve_and_nothing_is_written(
    engine: Engine, clock: StepClock
) -> None:
    KIT.walk_to(engine, "disseminated")
    clock.now += 6 * YEAR
    before = written(engine)
    with pytest.raises(PermissionDenied):
        engine.forget(EXPERT, actor=DPO, approver=DPO, reason="asked", legal_basis="Art. 17")
    assert written(engine) == before
    engine.request_erasure(EXPERT, actor=DPO, reason="asked", legal_basis="Art. 17")
    before = written(engine)
    with pytest.raises(PermissionDenied):
        engine.approve_erasure(EXPERT, actor=DPO, reason="self-approved")
    assert written(engine) == before
    assert engine.approve_erasure(EXPERT, actor=DPO2, reason="ok").status == "erased"


def test_unknown_subjects_and_second_erasures_are_refused_with_nothing_written(
    engine: Engine, clock: StepClock
) -> None:
    KIT.walk_to(engine, "disseminated")
    clock.now += 6 * YEAR
    before = written(engine)
    with pytest.raises(SubjectNotFound):
        engine.forget("expert:nobody", actor=TEAM, approver=DPO, reason="x", legal_basis="y")
    with pytest.raises(ErasureConflict):
        engine.approve_erasure(EXPERT, actor=DPO, reason="nothing requested")
    with pytest.raises(InvalidArgument):
        engine.forget("", actor=TEAM, approver=DPO, reason="x", legal_basis="y")
    assert written(engine) == before
    engine.forget(EXPERT, actor=TEAM, approver=DPO, reason="asked", legal_basis="Art. 17")
    before = written(engine)
    with pytest.raises(ErasureConflict):
        engine.forget(EXPERT, actor=TEAM, approver=DPO, reason="again", legal_basis="Art. 17")
    with pytest.raises(ErasureConflict):
        engine.request_erasure(EXPERT, actor=TEAM, reason="again", legal_basis="Art. 17")
    assert written(engine) == before


def test_a_ciphertext_moved_to_another_field_event_or_instance_does_not_open(
    engine: Engine,
) -> None:
    view = KIT.walk_to(engine, "submitted")
    stored = engine.application.instance(view.id).data["contact"]
    revealer = Revealer(engine._privacy.vault, role=None)
    iid = str(view.id)
    name = stored["name"]
    opened = revealer.reveal({"contact": {"name": name}}, instance_id=iid, event_version=1,
                             exact=True)  # fmt: skip
    assert opened == {"contact": {"name": "Sokha Chan"}}
    moved_field = {"contact": {"name": stored["email"], "email": name}}
    with pytest.raises(EnvelopeInvalid):
        revealer.reveal(moved_field, instance_id=iid, event_version=1, exact=True)
    relabelled = {"contact": {"email": {**name, "path": "contact.email"}}}
    with pytest.raises(EnvelopeInvalid, match="does not open"):
        revealer.reveal(relabelled, instance_id=iid, event_version=1, exact=True)
    with pytest.raises(EnvelopeInvalid):  # moved to event 2 of the same instance
        revealer.reveal({"contact": {"name": name}}, instance_id=iid, event_version=2, exact=True)
    other = str(KIT.walk_to(engine, "submitted").id)
    with pytest.raises(EnvelopeInvalid, match="does not open"):
        revealer.reveal({"contact": {"name": name}}, instance_id=other, event_version=1, exact=True)


def test_a_decrypted_export_after_erasure_holds_the_marker_and_records_the_access(
    engine: Engine, clock: StepClock
) -> None:
    view = KIT.walk_to(engine, "disseminated")
    clock.now += 6 * YEAR
    engine.forget(EXPERT, actor=TEAM, approver=DPO, reason="asked", legal_basis="Art. 17")
    out = io.StringIO()
    before = written(engine)
    count = engine.export_personal_data(out, actor=AUDITOR, reason="DSAR", instances=[view.id])
    assert written(engine) == before + 1  # the access, recorded before anything is written
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert count == len(lines)
    values = {(x["subject"], x["value"]) for x in lines if x["path"].endswith("name")}
    assert (EXPERT, ERASED_MARK) in values
    assert ("expert:exp-es-1", "Javier Ruiz") in values
    with pytest.raises(PermissionDenied):
        engine.export_personal_data(io.StringIO(), actor=TEAM, reason="curious")
    assert written(engine) == before + 1


def test_explain_and_diff_show_personal_fields_as_reads_do(
    engine: Engine, clock: StepClock
) -> None:
    view = KIT.walk_to(engine, "mobilised")
    mobilised = next(h for h in engine.history(view.id) if h.trigger == "mobilise")
    explained = engine.explain(view.id, mobilised.version)
    assert {e["name"] for e in explained.payload["experts"]} == {"Claire Martin", "Javier Ruiz"}
    changed = engine.diff(view.id, START, clock.now)
    contact = next(c.after for c in changed.changes if c.path == "contact")
    assert contact["name"] == "Sokha Chan"
    assert "Claire Martin" in json.dumps([c.model_dump(mode="json") for c in changed.changes])
    clock.now += 20 * YEAR
    engine.forget(EXPERT, actor=TEAM, approver=DPO, reason="asked", legal_basis="Art. 17")
    assert engine.subject(EXPERT).status == "restricted"  # the request is still open
    explained = engine.explain(view.id, mobilised.version)
    assert {e["name"] for e in explained.payload["experts"]} == {RESTRICTED_MARK, "Javier Ruiz"}


def test_a_request_by_a_role_without_the_right_writes_nothing(engine: Engine) -> None:
    KIT.walk_to(engine, "disseminated")
    before = written(engine)
    with pytest.raises(PermissionDenied):  # a role of the privacy workflow, not a requester
        engine.request_erasure(EXPERT, actor=AUDITOR, reason="me", legal_basis="Art. 17")
    with pytest.raises(InvalidArgument):  # not a role of the privacy workflow at all
        engine.request_erasure(
            EXPERT, actor=Actor("e-1", "expert"), reason="me", legal_basis="Art. 17"
        )
    assert written(engine) == before
    assert (engine.subject(EXPERT).erasure, engine.subject(EXPERT).state) == (None, None)
