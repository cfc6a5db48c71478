"""Each rule of the technical-assistance workflow from mobilisation to dissemination.

Every refusal is checked for its error type, its code and its reason, and for having
written nothing: the history and the version are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from engine import Actor, Engine, EngineError, GuardRejected, InvalidPayload, PermissionDenied
from workflows.technical_assistance import definition
from workflows.technical_assistance.builders import (
    ACTORS,
    activity_payload,
    activity_record_payload,
    evaluation_payload,
    expert_payload,
    mobilisation_payload,
    walk_to,
)

TEAM, EXPERT = ACTORS["team"], ACTORS["expert"]


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
    error: type[EngineError] = GuardRejected,
) -> Any:
    """Fire a command that must be refused; check nothing was written; return the error."""
    version, steps = engine.get(iid).version, len(engine.history(iid))
    with pytest.raises(error) as info:
        engine.fire(iid, trigger, data, actor=actor)
    assert info.value.code == error.code
    assert engine.get(iid).version == version
    assert len(engine.history(iid)) == steps
    return info.value


def _experts(*experts: dict[str, Any]) -> dict[str, Any]:
    return {"experts": list(experts)}


A1, A2 = "A1", "A2"


# ------------------------------------------------------------------ mobilise
@pytest.mark.parametrize(
    ("data", "guard", "reason"),
    [
        (_experts(expert_payload("e1", A1)), "experts_cover_plan", "activity A2 has no expert"),
        (
            _experts(expert_payload("e1", A1), expert_payload("e2", A1), expert_payload("e3", A2)),
            "experts_cover_plan",
            "activity A1 has 2 principal experts, needs 1",
        ),
        (
            _experts(expert_payload("e1", A1, principal=False), expert_payload("e3", A2)),
            "experts_cover_plan",
            "activity A1 has 0 principal experts, needs 1",
        ),
        (
            _experts(
                expert_payload("e1", A1), expert_payload("e3", A2), expert_payload("e4", "Z9")
            ),
            "experts_cover_plan",
            "expert e4 is assigned to unplanned activity Z9",
        ),
        (
            _experts(expert_payload("e1", A1, days=37), expert_payload("e3", A2)),
            "expert_days_within_plan",
            "activity A1: 37 expert-days mobilised, 36 planned",
        ),
        (
            _experts(expert_payload("e1", A1, nationality="US"), expert_payload("e3", A2)),
            "experts_eligible",
            "expert e1: US is not an EU Member State",
        ),
        (
            _experts(
                expert_payload(
                    "e1", A1, nationality="FR", employer_type="partner_country_institution"
                ),
                expert_payload("e3", A2),
            ),
            "experts_eligible",
            "expert e1: FR is not a partner country",
        ),
        (
            _experts(expert_payload("e1", A1, expertise="sp.magic"), expert_payload("e3", A2)),
            "experts_eligible",
            "expert e1: unknown expertise 'sp.magic'",
        ),
    ],
)
def test_mobilise_enforces_coverage_days_and_eligibility(
    engine: Engine, data: dict[str, Any], guard: str, reason: str
) -> None:
    iid = walk_to(engine, "approved").id
    err = refused(engine, iid, "mobilise", data, TEAM)
    assert [f["name"] for f in err.failures] == [guard]
    assert err.reasons == [reason]


def test_mobilise_refuses_an_expert_employed_by_the_requesting_institution(
    engine: Engine,
) -> None:
    iid = walk_to(engine, "approved").id
    data = _experts(
        expert_payload("e1", A1, employer="  national SOCIAL protection   council"),
        expert_payload("e3", A2),
    )
    err = refused(engine, iid, "mobilise", data, TEAM)
    assert [f["name"] for f in err.failures] == ["no_conflict_of_interest"]
    assert err.reasons == [
        "expert(s) e1 employed by the requesting institution "
        "'National Social Protection Council' (conflict of interest)"
    ]


def test_partner_country_practitioners_may_be_mobilised(engine: Engine) -> None:
    iid = walk_to(engine, "approved").id
    data = _experts(
        expert_payload(
            "cl-1",
            A1,
            nationality="CL",
            employer="SP Chile",
            employer_type="partner_country_institution",
        ),
        expert_payload("e3", A2),
    )
    assert engine.fire(iid, "mobilise", data, actor=TEAM).state == "mobilised"


def test_only_the_team_may_mobilise(engine: Engine) -> None:
    iid = walk_to(engine, "approved").id
    err = refused(engine, iid, "mobilise", mobilisation_payload(), EXPERT, PermissionDenied)
    assert err.rule == "role"


# ------------------------------------------------------------------ record_activity
def _activity(engine: Engine, iid: UUID, index: int = 0) -> dict[str, Any]:
    activity: dict[str, Any] = engine.get(iid).data["activities"][index]
    return activity


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"activity_id": "Z9"}, "activity Z9 is not in the action plan"),
        (
            {"actual_start": "2024-03-20"},
            "actual dates 2024-03-20..2024-04-12 are outside the window 2024-04-01..2024-04-19",
        ),
        (
            {"actual_end": "2024-04-25"},
            "actual dates 2024-04-01..2024-04-25 are outside the window 2024-04-01..2024-04-19",
        ),
        ({"actual_end": "2024-03-30"}, "actual end is before actual start"),
        ({"actual_end": None}, "actual start and end dates are required"),
        (
            {"participants": None, "days_worked": None, "report_reference": ""},
            "participants by sex are required; days worked are required; "
            "the report reference is required",
        ),
        ({"status": "cancelled"}, "a cancelled activity needs a reason"),
    ],
)
def test_record_activity_checks_the_plan_window_and_the_facts(
    engine: Engine, changes: dict[str, Any], reason: str
) -> None:
    iid = walk_to(engine, "mobilised").id
    data = {**activity_record_payload(_activity(engine, iid)), **changes}
    err = refused(engine, iid, "record_activity", data, EXPERT)
    assert err.reasons == [reason]


def test_an_activity_cannot_be_recorded_as_delivered_before_it_ends(engine: Engine) -> None:
    start = (datetime.now(UTC) + timedelta(days=30)).date()
    iid = walk_to(
        engine,
        "mobilised",
        data_overrides={"fine_tune": {"activities": [activity_payload("A1", start=start)]}},
    ).id
    err = refused(
        engine, iid, "record_activity", activity_record_payload(_activity(engine, iid)), EXPERT
    )
    assert "is in the future" in err.reasons[0]


@pytest.mark.parametrize("role", ["partner_institution", "commission", "evaluator"])
def test_only_the_team_or_an_expert_may_record_an_activity(engine: Engine, role: str) -> None:
    iid = walk_to(engine, "mobilised").id
    data = activity_record_payload(_activity(engine, iid))
    err = refused(engine, iid, "record_activity", data, Actor("x-1", role), PermissionDenied)
    assert "allowed: socieux_team, expert" in err.reason


# ------------------------------------------------------------------ implement
def test_implement_needs_every_activity_settled(engine: Engine) -> None:
    iid = walk_to(engine, "mobilised").id
    err = refused(engine, iid, "implement", None, TEAM)
    assert err.reasons == ["not delivered with a validated report nor cancelled: A1, A2"]
    engine.fire(
        iid, "record_activity", activity_record_payload(_activity(engine, iid)), actor=EXPERT
    )
    unvalidated = activity_record_payload(_activity(engine, iid, 1), validated=False)
    engine.fire(iid, "record_activity", unvalidated, actor=EXPERT)
    err = refused(engine, iid, "implement", None, TEAM)
    assert err.reasons == ["not delivered with a validated report nor cancelled: A2"]
    engine.fire(iid, "record_activity", {**unvalidated, "report_validated": True}, actor=TEAM)
    assert engine.fire(iid, "implement", actor=TEAM).state == "implemented"


def test_implement_accepts_cancelled_activities_but_not_only_cancelled_ones(
    engine: Engine,
) -> None:
    iid = walk_to(engine, "mobilised").id
    for index in (0, 1):
        cancelled = activity_record_payload(_activity(engine, iid, index), cancelled=True)
        engine.fire(iid, "record_activity", cancelled, actor=TEAM)
    err = refused(engine, iid, "implement", None, TEAM)
    assert err.reasons == ["no activity was delivered: cancel the action instead"]
    engine.fire(iid, "record_activity", activity_record_payload(_activity(engine, iid)), actor=TEAM)
    view = engine.fire(iid, "implement", actor=TEAM)
    outcome = engine.history(iid)[-1].guards[0].inputs["outcome"]
    assert (view.state, outcome) == ("implemented", {"A1": "delivered", "A2": "cancelled"})


# ------------------------------------------------------------------ evaluate, disseminate
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            {
                "evaluation": {
                    "achievements": [
                        {"objective": 1, "rating": "achieved"},
                        {"objective": 2, "rating": "achieved"},
                    ]
                }
            },
            "the partner institution's feedback is missing",
        ),
        (evaluation_payload(1), "objective(s) not assessed: 2"),
        (evaluation_payload(3), "no such objective(s): 3"),
    ],
)
def test_evaluate_needs_partner_feedback_and_every_objective(
    engine: Engine, data: dict[str, Any], reason: str
) -> None:
    iid = walk_to(engine, "implemented").id
    err = refused(engine, iid, "evaluate", data, ACTORS["evaluator"])
    assert err.reasons == [reason]


def test_evaluators_and_the_team_evaluate_experts_do_not(engine: Engine) -> None:
    iid = walk_to(engine, "implemented").id
    err = refused(engine, iid, "evaluate", evaluation_payload(), EXPERT, PermissionDenied)
    assert "allowed: socieux_team, evaluator" in err.reason
    assert engine.fire(iid, "evaluate", evaluation_payload(), actor=TEAM).state == "evaluated"


def test_disseminate_needs_a_knowledge_product(engine: Engine) -> None:
    iid = walk_to(engine, "evaluated").id
    err = refused(engine, iid, "disseminate", {"products": []}, TEAM)
    assert err.reasons == ["no knowledge product given"]
    tweet = {"type": "tweet", "title": "t", "audience": "a"}
    err = refused(engine, iid, "disseminate", {"products": [tweet]}, TEAM, InvalidPayload)
    assert [e["loc"] for e in err.errors] == [["products", 0, "type"]]
