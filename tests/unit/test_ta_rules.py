"""Each rule of the technical-assistance workflow up to approval, and its side paths.

Every refusal is checked for its error type, its code and its reason, and for having
written nothing: the history and the version are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from engine import (
    Actor,
    Engine,
    EngineError,
    GuardContext,
    GuardRejected,
    InstanceNotFound,
    InstanceView,
    InvalidPayload,
    PermissionDenied,
    TransitionNotAllowed,
)
from workflows.technical_assistance import NAME, definition
from workflows.technical_assistance.builders import (
    ACTORS,
    action_plan_payload,
    activity_payload,
    approval_payload,
    request_payload,
    walk_to,
)
from workflows.technical_assistance.guards import approval_complete
from workflows.technical_assistance.payloads import ApprovalPayload

P, DEL, TEAM, COM = ACTORS["partner"], ACTORS["delegation"], ACTORS["team"], ACTORS["commission"]


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open("memory://", workflows=[definition()]) as eng:
        yield eng


def refused(
    engine: Engine,
    iid: UUID,
    trigger: str,
    data: Any,
    actor: Actor,
    error: type[EngineError],
    *,
    reason: str | None = None,
) -> Any:
    """Fire a command that must be refused; check nothing was written; return the error."""
    version, steps = engine.get(iid).version, len(engine.history(iid))
    with pytest.raises(error) as info:
        engine.fire(iid, trigger, data, actor=actor, reason=reason)
    assert engine.get(iid).version == version
    assert len(engine.history(iid)) == steps
    return info.value


def refused_start(engine: Engine, data: Any, actor: Actor, error: type[EngineError]) -> Any:
    """Start a request that must be refused; check no instance was created."""
    iid, count = uuid4(), sum(1 for _ in engine.instance_ids())
    with pytest.raises(error) as info:
        engine.start(NAME, data, actor=actor, instance_id=iid)
    assert sum(1 for _ in engine.instance_ids()) == count
    with pytest.raises(InstanceNotFound):
        engine.get(iid)
    return info.value


# ------------------------------------------------------------------ submit and resubmit
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"country": "FR"}, "FR is an EU Member State, not a partner country"),
        ({"country": "US"}, "country US is not an eligible partner country"),
        (
            {"institution": {"name": "Acme Ltd", "type": "company", "level": "national"}},
            "institution type 'Company' is not eligible",
        ),
        (
            {"institution": {"name": "Helping Hands", "type": "ngo", "level": "local"}},
            "institution type 'Non-governmental organisation' is not eligible",
        ),
        (
            {"institution": {"name": "X", "type": "public_authority", "level": "galactic"}},
            "unknown institution level 'galactic'",
        ),
        ({"areas": ["sp.astrology"]}, "unknown area(s) sp.astrology"),
        ({"areas": ["x.gender", "x.environment"]}, "cross-cutting markers alone are not in scope"),
        ({"areas": []}, "no area given"),
    ],
)
def test_submit_refuses_an_ineligible_request(
    engine: Engine, changes: dict[str, Any], reason: str
) -> None:
    err = refused_start(engine, {**request_payload(), **changes}, P, GuardRejected)
    assert err.code == "guard_rejected"
    assert [f["name"] for f in err.failures] == ["request_eligible"]
    assert reason in err.reasons[0]


def test_submit_refuses_an_incomplete_request_naming_everything_missing(engine: Engine) -> None:
    data = {**request_payload(), "title": " ", "description": "", "objectives": [], "contact": None}
    err = refused_start(engine, data, P, GuardRejected)
    assert err.code == "guard_rejected"
    assert err.reasons == ["missing: title, description, objectives, contact person"]


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"country": "kh"}, ["country"]),
        ({"channel": "fax"}, ["channel"]),
        ({"title": "x" * 201}, ["title"]),
        ({"contact": {"name": "A", "email": "not-an-email"}}, ["contact", "email"]),
        ({"budget": 10}, ["budget"]),
    ],
)
def test_submit_refuses_a_malformed_payload_field_by_field(
    engine: Engine, changes: dict[str, Any], loc: list[str]
) -> None:
    err = refused_start(engine, {**request_payload(), **changes}, P, InvalidPayload)
    assert err.code == "invalid_payload"
    assert [e["loc"] for e in err.errors] == [loc]


@pytest.mark.parametrize("role", ["socieux_team", "commission", "expert", "auditor"])
def test_only_the_partner_or_the_delegation_may_submit(engine: Engine, role: str) -> None:
    err = refused_start(engine, request_payload(), Actor("someone", role), PermissionDenied)
    assert (err.code, err.rule) == ("permission_denied", "role")
    assert "allowed: partner_institution, eu_delegation" in err.reason


def test_the_eu_delegation_may_submit_on_the_partners_behalf(engine: Engine) -> None:
    view = engine.start(NAME, request_payload(channel="eu_delegation"), actor=DEL)
    assert view.state == "submitted"


def test_revision_loop_returns_and_resubmits_with_the_same_checks(engine: Engine) -> None:
    view = walk_to(engine, "revision_requested")
    assert engine.history(view.id)[-1].reason == "Please narrow the request to one priority."
    err = refused(engine, view.id, "resubmit", request_payload(country="DE"), P, GuardRejected)
    assert "DE is an EU Member State" in err.reasons[0]
    revised = request_payload(objectives=["One priority kept out of three"])
    view = engine.fire(view.id, "resubmit", revised, actor=P)
    assert (view.state, view.data["objectives"]) == ("submitted", revised["objectives"])
    view = engine.fire(view.id, "return_for_revision", actor=TEAM, reason="Once more.")
    assert view.state == "revision_requested"


def test_return_for_revision_needs_a_reason_and_the_team(engine: Engine) -> None:
    iid = walk_to(engine, "submitted").id
    err = refused(engine, iid, "return_for_revision", None, TEAM, InvalidPayload)
    assert (err.code, err.errors[0]["loc"]) == ("invalid_payload", ["reason"])
    err = refused(engine, iid, "return_for_revision", None, P, PermissionDenied, reason="x")
    assert err.rule == "role"


# ------------------------------------------------------------------ fine_tune
def _plan(**changes: Any) -> dict[str, Any]:
    return {**action_plan_payload(), **changes}


@pytest.mark.parametrize(
    ("data", "guard", "reason"),
    [
        (
            _plan(eu_delegation_opinion=None),
            "eu_delegation_opinion_recorded",
            "the EU Delegation's opinion is not recorded",
        ),
        (
            _plan(eu_delegation_opinion={"verdict": "unfavourable"}),
            "eu_delegation_opinion_recorded",
            "an unfavourable opinion needs a note",
        ),
        (
            _plan(eu_delegation_opinion={"verdict": "waived", "note": "n"}),
            "eu_delegation_opinion_recorded",
            "a waived opinion needs a reason",
        ),
        (_plan(activities=[]), "action_plan_within_caps", "the action plan has no activity"),
        (
            _plan(activities=[activity_payload(f"A{i}", expert_days=10) for i in range(7)]),
            "action_plan_within_caps",
            "7 activities exceed the cap of 6",
        ),
        (
            _plan(activities=[activity_payload("A1", expert_days=61)]),
            "action_plan_within_caps",
            "activity A1: 61 expert-days exceed the cap of 60",
        ),
        (
            _plan(activities=[activity_payload(f"A{i}", expert_days=55) for i in range(4)]),
            "action_plan_within_caps",
            "220 expert-days in total exceed the cap of 200",
        ),
        (
            _plan(activities=[activity_payload("A1", days=0)]),
            "action_plan_valid",
            "activity A1: window ends before it starts",
        ),
        (
            _plan(activities=[activity_payload("A1", days=400)]),
            "action_plan_valid",
            "activity A1: window longer than 366 days",
        ),
        (
            _plan(activities=[activity_payload("A1"), activity_payload("A1")]),
            "action_plan_valid",
            "activity id(s) used twice: A1",
        ),
        (
            _plan(activities=[activity_payload("A1", type="party")]),
            "action_plan_valid",
            "activity A1: unknown type 'party'",
        ),
    ],
)
def test_fine_tune_enforces_opinion_caps_and_windows(
    engine: Engine, data: dict[str, Any], guard: str, reason: str
) -> None:
    iid = walk_to(engine, "submitted").id
    err = refused(engine, iid, "fine_tune", data, TEAM, GuardRejected)
    assert err.code == "guard_rejected"
    assert [f["name"] for f in err.failures] == [guard]
    assert err.reasons == [reason]


def test_caps_come_from_the_settings() -> None:
    with Engine.open("memory://", workflows=[definition({"max_activities": 1})]) as eng:
        iid = walk_to(eng, "submitted").id
        err = refused(eng, iid, "fine_tune", action_plan_payload(), TEAM, GuardRejected)
        assert err.reasons == ["2 activities exceed the cap of 1"]
        assert err.failures[0]["inputs"]["max_activities"] == 1


def test_only_the_team_may_fine_tune(engine: Engine) -> None:
    iid = walk_to(engine, "submitted").id
    err = refused(engine, iid, "fine_tune", action_plan_payload(), COM, PermissionDenied)
    assert (err.code, err.rule) == ("permission_denied", "role")


# ------------------------------------------------------------------ approve
@pytest.mark.parametrize("who", [TEAM.id, P.id])
def test_approver_may_not_have_fine_tuned_or_submitted(engine: Engine, who: str) -> None:
    iid = walk_to(engine, "fine_tuned").id
    err = refused(
        engine, iid, "approve", approval_payload(), Actor(who, "commission"), PermissionDenied
    )
    assert (err.code, err.rule) == ("permission_denied", "separation")
    assert "separation of duties" in err.reason


def test_approver_may_not_have_resubmitted(engine: Engine) -> None:
    iid = walk_to(engine, "revision_requested").id
    engine.fire(iid, "resubmit", request_payload(), actor=Actor("kh-nspc-2", "partner_institution"))
    engine.fire(iid, "fine_tune", action_plan_payload(), actor=TEAM)
    err = refused(
        engine,
        iid,
        "approve",
        approval_payload(),
        Actor("kh-nspc-2", "commission"),
        PermissionDenied,
    )
    assert "fired 'resubmit'" in err.reason


def test_only_the_commission_may_approve(engine: Engine) -> None:
    iid = walk_to(engine, "fine_tuned").id
    err = refused(
        engine,
        iid,
        "approve",
        approval_payload(),
        Actor("team-9", "socieux_team"),
        PermissionDenied,
    )
    assert err.rule == "role"


def test_approval_needs_a_reference(engine: Engine) -> None:
    iid = walk_to(engine, "fine_tuned").id
    err = refused(engine, iid, "approve", approval_payload(reference=""), COM, GuardRejected)
    assert err.reasons == ["the approval reference is missing"]


def test_approval_guard_needs_the_plan_and_opinion_on_file() -> None:
    # Unreachable through the engine (fine_tune requires both): the pure guard decides it.
    now = datetime(2024, 5, 1, tzinfo=UTC)
    view = InstanceView(
        id=uuid4(),
        workflow=NAME,
        definition_version=1,
        definition_hash="h",
        state="fine_tuned",
        data={},
        version=2,
        created_at=now,
        updated_at=now,
        state_entered_at=now,
    )
    ctx = GuardContext(
        view=view,
        payload=ApprovalPayload(approval_reference="R-1"),
        actor=COM,
        trigger="approve",
        now=now,
        settings=definition().settings,
    )
    result = approval_complete(ctx)
    assert result.ok is False
    assert result.reason == "no action plan on file; no EU Delegation opinion on file"


# ------------------------------------------------------------------ reject, withdraw, cancel
def test_reject_from_submitted_is_the_teams(engine: Engine) -> None:
    iid = walk_to(engine, "submitted").id
    err = refused(engine, iid, "reject", None, COM, PermissionDenied, reason="no")
    assert "allowed: socieux_team" in err.reason
    err = refused(engine, iid, "reject", None, TEAM, InvalidPayload)
    assert err.errors[0]["msg"] == "a reason is required"
    assert engine.fire(iid, "reject", actor=TEAM, reason="Out of scope").state == "rejected"


def test_reject_from_fine_tuned_is_the_commissions(engine: Engine) -> None:
    iid = walk_to(engine, "fine_tuned").id
    err = refused(engine, iid, "reject", None, TEAM, PermissionDenied, reason="no")
    assert "allowed: commission" in err.reason
    assert engine.fire(iid, "reject", actor=COM, reason="Not a priority").state == "rejected"


@pytest.mark.parametrize("state", ["submitted", "revision_requested", "fine_tuned"])
def test_the_partner_may_withdraw_before_approval(engine: Engine, state: str) -> None:
    iid = walk_to(engine, state).id
    err = refused(engine, iid, "withdraw", None, DEL, PermissionDenied, reason="x")
    assert err.rule == "role"
    refused(engine, iid, "withdraw", None, P, InvalidPayload)
    view = engine.fire(iid, "withdraw", actor=P, reason="Funding found elsewhere")
    assert view.state == "withdrawn"


def test_withdrawal_is_too_late_once_approved(engine: Engine) -> None:
    iid = walk_to(engine, "approved").id
    err = refused(engine, iid, "withdraw", None, P, TransitionNotAllowed, reason="x")
    assert (err.code, err.state) == ("transition_not_allowed", "approved")
    assert set(err.allowed) == {"mobilise", "cancel"}


@pytest.mark.parametrize(("state", "actor"), [("approved", COM), ("mobilised", TEAM)])
def test_an_approved_action_may_be_cancelled_with_a_reason(
    engine: Engine, state: str, actor: Actor
) -> None:
    iid = walk_to(engine, state).id
    refused(engine, iid, "cancel", None, actor, InvalidPayload)
    err = refused(engine, iid, "cancel", None, P, PermissionDenied, reason="x")
    assert err.rule == "role"
    assert engine.fire(iid, "cancel", actor=actor, reason="Elections").state == "cancelled"


def test_nothing_can_be_cancelled_before_approval(engine: Engine) -> None:
    iid = walk_to(engine, "fine_tuned").id
    refused(engine, iid, "cancel", None, COM, TransitionNotAllowed, reason="x")


@pytest.mark.parametrize("state", ["disseminated", "rejected", "withdrawn", "cancelled"])
def test_final_states_accept_no_trigger(engine: Engine, state: str) -> None:
    iid = walk_to(engine, state).id
    for trigger in {t.trigger for t in definition().transitions} - {"submit"}:
        err = refused(engine, iid, trigger, None, TEAM, TransitionNotAllowed, reason="x")
        assert err.allowed == []


def test_the_auditor_may_fire_nothing(engine: Engine) -> None:
    iid = walk_to(engine, "submitted").id
    report = engine.allowed(iid, ACTORS["auditor"])
    assert (report.allowed, report.needs_payload) == ([], [])
    assert {r.code for r in report.refused} == {"permission_denied", "transition_not_allowed"}


def test_walk_to_applies_overrides_to_later_steps(engine: Engine) -> None:
    one = [activity_payload("X1", start=date(2023, 9, 4))]
    view = walk_to(
        engine,
        "implemented",
        data_overrides={"submit": {"country": "MX"}, "fine_tune": {"activities": one}},
    )
    assert view.data["country"] == "MX"
    assert [r["activity_id"] for r in view.data["activity_records"]] == ["X1"]
