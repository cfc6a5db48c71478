"""Legal holds in the register: placed before any erasure request, on subjects or on
requests, each a recorded event with actor, role and reason; bad input writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from engine import Actor, Engine
from engine.errors import (
    ErasureConflict,
    InstanceNotFound,
    InvalidArgument,
    InvalidPayload,
    PermissionDenied,
    SubjectNotFound,
)
from engine.privacy.holds import REGISTER_ID
from engine.testing import StepClock
from workflows.technical_assistance import definitions
from workflows.technical_assistance.testing import KIT

START = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
TEAM = Actor("t-privacy", "socieux_team")
DPO = Actor("dpo-1", "privacy_officer")
DPO2 = Actor("dpo-2", "privacy_officer")
AUDITOR = Actor("aud-1", "auditor")
EXPERT = "expert:exp-fr-1"
OTHER = "expert:exp-es-1"
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


def forget(engine: Engine, subject: str = EXPERT) -> str:
    return (
        engine.forget(
            subject, actor=TEAM, approver=DPO, reason="asked", legal_basis="Art. 17"
        ).state
        or ""
    )


def test_a_hold_placed_before_any_request_defers_the_erasure_until_released(
    engine: Engine, clock: StepClock
) -> None:
    KIT.walk_to(engine, "disseminated")
    held = engine.place_hold(EXPERT, actor=AUDITOR, reason="OLAF inquiry", hold="OLAF-2026-3")
    assert (held.holds, held.erasure, held.status) == (["OLAF-2026-3"], None, "live")
    assert [h.hold for h in engine.legal_holds()] == ["OLAF-2026-3"]
    clock.now += 6 * YEAR  # retention is over: only the hold keeps the data
    assert forget(engine) == "deferred"
    status = engine.subject(EXPERT)
    assert (status.status, status.holds) == ("restricted", ["OLAF-2026-3"])
    erasure = engine.history(UUID(str(status.erasure)))
    assert erasure[-1].trigger == "defer_erasure"
    assert "legal hold OLAF-2026-3" in str(erasure[-1].reason)
    assert engine.erasures_due() == []
    assert engine.run_due_erasures(actor=DPO2) == []
    engine.release_hold(EXPERT, actor=AUDITOR, reason="inquiry closed", hold="OLAF-2026-3")
    assert engine.legal_holds() == []
    assert [s.subject for s in engine.run_due_erasures(actor=DPO2)] == [EXPERT]
    assert engine.subject(EXPERT).status == "erased"
    steps = [(e.trigger, e.role, e.reason) for e in engine.history(REGISTER_ID)]
    assert steps == [
        ("open_register", "auditor", "OLAF inquiry"),
        ("place_legal_hold", "auditor", "OLAF inquiry"),
        ("release_legal_hold", "auditor", "inquiry closed"),
    ]
    assert engine.verify().ok


def test_a_hold_on_a_request_covers_every_subject_of_that_request_only(
    engine: Engine, clock: StepClock
) -> None:
    held_request = KIT.walk_to(engine, "disseminated")
    placed = engine.place_legal_hold(
        "AUDIT-2026-9", requests=[held_request.id], actor=DPO, reason="ECA audit of the action"
    )
    assert (placed.subjects, placed.requests) == ((), (str(held_request.id),))
    clock.now += 6 * YEAR
    assert engine.subject(EXPERT).holds == ["AUDIT-2026-9"]
    assert engine.subject(OTHER).holds == ["AUDIT-2026-9"]
    assert forget(engine) == "deferred"
    before = written(engine)
    with pytest.raises(ErasureConflict, match="covers more than"):
        engine.release_hold(EXPERT, actor=DPO, reason="not mine to lift", hold="AUDIT-2026-9")
    assert written(engine) == before
    engine.release_legal_hold("AUDIT-2026-9", actor=DPO2, reason="audit closed")
    assert [s.subject for s in engine.run_due_erasures(actor=DPO2)] == [EXPERT]


def test_bad_holds_are_refused_with_typed_errors_and_nothing_written(
    engine: Engine, clock: StepClock
) -> None:
    view = KIT.walk_to(engine, "disseminated")
    before = written(engine)
    with pytest.raises(InvalidPayload):
        engine.place_legal_hold("EMPTY-1", actor=DPO, reason="no scope")
    with pytest.raises(SubjectNotFound):
        engine.place_legal_hold("X-1", subjects=["expert:nobody"], actor=DPO, reason="r")
    with pytest.raises(InstanceNotFound):
        engine.place_legal_hold("X-2", requests=[uuid4()], actor=DPO, reason="r")
    with pytest.raises(InstanceNotFound):
        engine.place_legal_hold("X-3", requests=["not-an-id"], actor=DPO, reason="r")
    with pytest.raises(InvalidArgument):
        engine.place_legal_hold("X-4", subjects=EXPERT, actor=DPO, reason="r")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        engine.place_legal_hold("X-5", subjects=[EXPERT], actor=TEAM, reason="not my role")
    with pytest.raises(ErasureConflict):
        engine.release_legal_hold("NEVER-1", actor=DPO, reason="r")
    with pytest.raises(ErasureConflict):
        engine.release_hold(EXPERT, actor=DPO, reason="r", hold="NEVER-1")
    assert written(engine) == before
    engine.place_legal_hold("OLAF-1", subjects=[EXPERT], requests=[view.id], actor=DPO, reason="r")
    before = written(engine)
    with pytest.raises(ErasureConflict, match="already open"):
        engine.place_legal_hold("OLAF-1", subjects=[OTHER], actor=DPO, reason="again")
    assert written(engine) == before
    clock.now += 6 * YEAR
    engine.release_legal_hold("OLAF-1", actor=DPO, reason="closed")
    forget(engine)
    before = written(engine)
    with pytest.raises(ErasureConflict, match="already erased"):
        engine.place_legal_hold("LATE-1", subjects=[EXPERT], actor=DPO, reason="too late")
    assert written(engine) == before


def test_the_register_survives_a_reopen_of_a_sqlite_file(
    tmp_path: object, clock: StepClock
) -> None:
    url = f"sqlite:///{tmp_path}/holds.db"
    with Engine.open(url, workflows=definitions(), clock=clock) as e:
        KIT.walk_to(e, "disseminated")
        e.place_hold(EXPERT, actor=AUDITOR, reason="appeal", hold="APPEAL-7")
    clock.now += 6 * YEAR
    with Engine.open(url, workflows=definitions(), clock=clock) as e:
        assert [h.hold for h in e.legal_holds()] == ["APPEAL-7"]
        assert forget(e) == "deferred"
        assert e.verify().ok
