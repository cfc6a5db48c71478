"""Corrections with four eyes: what they amend, who may approve, and what is refused."""

from __future__ import annotations

from datetime import date

import pytest

from engine import (
    Actor,
    Engine,
    GuardRejected,
    InvalidArgument,
    InvalidCorrection,
    InvalidPayload,
    PermissionDenied,
)
from tests.toy_audit import audit_definition

PARTNER, TEAM, TEAM2 = Actor("p-1", "partner"), Actor("t-1", "team"), Actor("t-2", "team")
APPROVER = Actor("a-1", "approver")


@pytest.fixture
def engine() -> Engine:
    return Engine.open("memory://", workflows=[audit_definition()], projections=[])


def _grant(engine: Engine) -> str:
    v = engine.start("grant", {"title": "Pensions", "amount": 500}, actor=PARTNER)
    engine.fire(v.id, "record", {"activity": "a1", "days": 40}, actor=TEAM)
    return str(v.id)


def _stored(engine: Engine, iid: str) -> list[tuple[int, str]]:
    return [(h.version, h.hash) for h in engine.history(iid)]


def test_a_correction_takes_effect_only_once_a_second_person_approves_it(engine: Engine) -> None:
    iid = _grant(engine)
    pending = engine.correct(iid, 1, {"amount": 600}, reason="typo in the form", actor=TEAM)
    assert pending.data["amount"] == 500
    assert pending.corrections[str(pending.version)]["status"] == "pending"
    approved = engine.approve_correction(iid, pending.version, actor=APPROVER)
    assert approved.data["amount"] == 600
    assert approved.state == "submitted"


def test_a_correction_of_a_collected_item_amends_that_item(engine: Engine) -> None:
    iid = _grant(engine)
    c = engine.correct(iid, 2, {"days": 50}, reason="two more days", actor=TEAM)
    view = engine.approve_correction(iid, c.version, actor=TEAM2)
    assert view.data["activities"] == [{"activity": "a1", "days": 50}]


def test_the_requester_may_not_approve_their_own_correction_and_nothing_is_written(
    engine: Engine,
) -> None:
    iid = _grant(engine)
    c = engine.correct(iid, 1, {"amount": 600}, reason="typo", actor=TEAM)
    before = _stored(engine, iid)
    with pytest.raises(PermissionDenied) as caught:
        engine.approve_correction(iid, c.version, actor=Actor("T-1", "approver"))
    assert caught.value.details["rule"] == "separation"
    assert _stored(engine, iid) == before


@pytest.mark.parametrize(
    ("version", "changes", "code"),
    [
        (9, {"amount": 1}, "invalid_correction"),
        (1, {"start": "2024-02-01"}, "invalid_correction"),
        (1, {"nope": 1}, "invalid_correction"),
        (1, {}, "invalid_correction"),
        (1, {"amount": 500}, "invalid_correction"),
        (1, {"amount": "many"}, "invalid_payload"),
        (1, {"amount": 5000}, "guard_rejected"),
    ],
)
def test_a_refused_correction_is_a_typed_error_and_writes_nothing(
    engine: Engine, version: int, changes: dict[str, object], code: str
) -> None:
    iid = _grant(engine)
    before = _stored(engine, iid)
    with pytest.raises((InvalidCorrection, InvalidPayload, GuardRejected)) as caught:
        engine.correct(iid, version, changes, reason="fix", actor=TEAM)
    assert caught.value.code == code
    assert _stored(engine, iid) == before


def test_a_correction_that_a_guard_would_now_refuse_gives_the_guards_reason(
    engine: Engine,
) -> None:
    iid = _grant(engine)
    with pytest.raises(GuardRejected, match="over the cap of 1000"):
        engine.correct(iid, 1, {"amount": 5000}, reason="fix", actor=TEAM)
    # the activity's guard read the amount as it was then: 40 days need at least 400
    with pytest.raises(GuardRejected, match="exceed a tenth of 500"):
        engine.correct(iid, 2, {"days": 60}, reason="fix", actor=TEAM)


def test_the_guards_of_a_later_step_read_the_amount_as_corrected(engine: Engine) -> None:
    iid = _grant(engine)
    c = engine.correct(iid, 1, {"amount": 900}, reason="fix", actor=TEAM)
    engine.approve_correction(iid, c.version, actor=APPROVER)
    c2 = engine.correct(iid, 2, {"days": 85}, reason="fix", actor=TEAM)  # 85 <= 90
    assert (
        engine.approve_correction(iid, c2.version, actor=APPROVER).data["activities"][0]["days"]
        == 85
    )


def test_a_role_outside_the_policy_may_not_correct_approve_or_annotate(engine: Engine) -> None:
    iid = _grant(engine)
    with pytest.raises(PermissionDenied):
        engine.correct(iid, 1, {"amount": 600}, reason="fix", actor=PARTNER)
    c = engine.correct(iid, 1, {"amount": 600}, reason="fix", actor=TEAM)
    with pytest.raises(PermissionDenied):
        engine.approve_correction(iid, c.version, actor=Actor("p-2", "partner"))


def test_a_second_approval_or_a_clashing_correction_is_refused(engine: Engine) -> None:
    iid = _grant(engine)
    c = engine.correct(iid, 1, {"amount": 600}, reason="fix", actor=TEAM)
    with pytest.raises(InvalidCorrection, match="awaits approval"):
        engine.correct(iid, 1, {"amount": 700}, reason="fix", actor=TEAM2)
    engine.approve_correction(iid, c.version, actor=APPROVER)
    with pytest.raises(InvalidCorrection, match="already in effect"):
        engine.approve_correction(iid, c.version, actor=TEAM2)
    with pytest.raises(InvalidCorrection, match="not a correction"):
        engine.approve_correction(iid, 2, actor=TEAM2)


def test_a_correction_needs_a_reason(engine: Engine) -> None:
    iid = _grant(engine)
    with pytest.raises(InvalidArgument, match="reason"):
        engine.correct(iid, 1, {"amount": 600}, reason="  ", actor=TEAM)


def test_without_four_eyes_a_correction_takes_effect_at_once() -> None:
    with Engine.open("memory://", workflows=[audit_definition(four_eyes=False)]) as engine:
        iid = _grant(engine)
        view = engine.correct(iid, 1, {"title": "Old-age pensions"}, reason="fix", actor=TEAM)
        assert view.data["title"] == "Old-age pensions"
        assert engine.verify().ok


def test_history_links_each_correction_to_the_event_it_amends(engine: Engine) -> None:
    iid = _grant(engine)
    c = engine.correct(iid, 1, {"amount": 600}, reason="typo", actor=TEAM)
    a = engine.approve_correction(iid, c.version, actor=APPROVER)
    history = engine.history(iid)
    assert history[0].corrected_by == [c.version]
    assert (history[2].amends, history[3].amends) == (1, c.version)
    assert history[2].amendment is not None
    assert history[2].amendment["changes"] == [{"field": "amount", "old": 500, "new": 600}]
    explained = engine.explain(iid, 1)
    assert explained.corrected_by == [c.version]
    assert engine.explain(iid, a.version).amends == c.version
    assert [g.name for g in history[2].guards] == ["amount_capped"]


def test_a_note_and_evidence_are_recorded_without_moving_the_instance(engine: Engine) -> None:
    iid = _grant(engine)
    engine.note(iid, "Called the partner about the budget", actor=APPROVER)
    view = engine.attach_evidence(
        iid, type="invoice", title="Flight invoice", sha256="ab" * 32, size=10,
        media_type="application/pdf", effective_date=date(2024, 3, 1), actor=PARTNER,
    )  # fmt: skip
    assert view.state == "submitted"
    assert [e["title"] for e in view.evidence] == ["Flight invoice"]
    notes = [h for h in engine.history(iid) if h.trigger == "__note__"]
    assert notes[0].amendment == {"text": "Called the partner about the budget",
                                  "visibility": "internal"}  # fmt: skip
    with pytest.raises(PermissionDenied):  # only the team validates evidence
        engine.attach_evidence(
            iid, type="invoice", title="x", sha256="cd" * 32, size=1, media_type="text/plain",
            effective_date=date(2024, 3, 1), validated=True, actor=PARTNER,
        )  # fmt: skip


def test_amendments_do_not_count_as_acting_for_separation_of_duties(engine: Engine) -> None:
    iid = _grant(engine)
    engine.note(iid, "looked at it", actor=Actor("a-1", "partner"))
    assert engine.fire(iid, "approve", actor=APPROVER).state == "approved"
