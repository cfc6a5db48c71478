"""Version 2's rules, each accepted and refused: channel, institution id, consultation,
opinion or waiver, modality, conflict of interest by id, experts recording their own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine import (
    Actor,
    Engine,
    GuardContext,
    GuardRejected,
    InstanceView,
    InvalidPayload,
    PermissionDenied,
)
from workflows.technical_assistance import NAME, definitions
from workflows.technical_assistance.builders import (
    ACTORS,
    action_plan_payload,
    activity_record_payload,
    approval_payload,
    expert_payload,
    mobilisation_payload,
    opinion_payload,
    request_payload,
    walk_to,
)
from workflows.technical_assistance.payloads_v2 import OpinionPayload
from workflows.technical_assistance.walking import attach_reports

PARTNER, DELEGATION, TEAM = ACTORS["partner"], ACTORS["delegation"], ACTORS["team"]
SYSTEM = Actor("system", "system")


class Clock:
    """A settable clock (a Monday morning to start)."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(clock: Clock) -> Iterator[Engine]:
    with Engine.open("memory://", workflows=definitions(), projections=[], clock=clock) as e:
        yield e


def submitted(engine: Engine, **changes: Any) -> InstanceView:
    body = {**request_payload(version=2), **changes}
    who = DELEGATION if body["channel"] == "eu_delegation" else PARTNER
    return engine.start(NAME, body, actor=who)


def refused(call: Any) -> str:
    with pytest.raises(GuardRejected) as caught:
        call()
    return caught.value.message


# ------------------------------------------------------------------ submit
def test_the_channel_must_match_who_submits(engine: Engine) -> None:
    by_delegation = request_payload(version=2, channel="eu_delegation")
    assert engine.start(NAME, by_delegation, actor=DELEGATION).state == "submitted"
    assert "does not match" in refused(lambda: engine.start(NAME, by_delegation, actor=PARTNER))
    direct = request_payload(version=2)
    assert engine.start(NAME, direct, actor=PARTNER).state == "submitted"
    assert "submission_channel_matches" in refused(
        lambda: engine.start(NAME, direct, actor=DELEGATION)
    )


def test_the_institution_needs_an_id_of_the_requests_country(engine: Engine) -> None:
    with pytest.raises(InvalidPayload, match=r"institution\.id"):
        engine.start(NAME, request_payload(), actor=PARTNER)  # version 1's shape
    wrong = request_payload(version=2, institution_ref="PE-MTPE")
    assert "not an id of KH" in refused(lambda: engine.start(NAME, wrong, actor=PARTNER))
    unregistered = request_payload(version=2, institution_ref="KH-NEW-AGENCY")
    assert engine.start(NAME, unregistered, actor=PARTNER).state == "submitted"


def test_a_country_of_the_2025_list_may_ask(engine: Engine) -> None:
    assert submitted(engine, country="XK", institution={
        **request_payload(version=2)["institution"], "id": "XK-MLSW"
    }).state == "submitted"  # fmt: skip
    assert "EU Member State" in refused(lambda: submitted(engine, country="FR"))


# ------------------------------------------------------------------ consultation
def test_the_consultation_path_leads_to_fine_tuning(engine: Engine) -> None:
    view = submitted(engine)
    plan = action_plan_payload(version=2)
    assert "not on file" in refused(lambda: engine.fire(view.id, "fine_tune", plan, actor=TEAM))
    view = engine.fire(view.id, "request_opinion", actor=TEAM)
    assert view.state == "consulting_delegation"
    with pytest.raises(PermissionDenied):
        engine.fire(view.id, "give_opinion", opinion_payload(), actor=PARTNER)
    view = engine.fire(view.id, "give_opinion", opinion_payload(), actor=DELEGATION)
    assert view.state == "submitted"
    assert view.data["eu_delegation_opinion"] == {"verdict": "favourable", "note": ""}
    view = engine.fire(view.id, "fine_tune", plan, actor=TEAM)
    approved = engine.fire(view.id, "approve", approval_payload(), actor=ACTORS["commission"])
    assert approved.state == "approved"


def test_an_unfavourable_opinion_needs_a_note(engine: Engine) -> None:
    view = engine.fire(submitted(engine).id, "request_opinion", actor=TEAM)
    bare = opinion_payload("unfavourable", note="")
    assert "needs a note" in refused(
        lambda: engine.fire(view.id, "give_opinion", bare, actor=DELEGATION)
    )
    noted = opinion_payload("unfavourable")
    assert engine.fire(view.id, "give_opinion", noted, actor=DELEGATION).state == "submitted"


def test_silence_counts_as_no_objection_after_5_working_days(engine: Engine, clock: Clock) -> None:
    view = engine.fire(submitted(engine).id, "request_opinion", actor=TEAM)  # a Monday
    with pytest.raises(PermissionDenied):  # only the engine's deadlines act as ``system``
        engine.fire(view.id, "deem_favourable", opinion_payload("no_objection"), actor=SYSTEM)
    clock.now += timedelta(days=4)  # Friday: 4 working days
    assert engine.run_due().fired == []
    assert engine.get(view.id).state == "consulting_delegation"
    clock.now += timedelta(days=3)  # the Monday after: 5 working days
    assert len(engine.run_due().fired) == 1
    done = engine.get(view.id)
    assert done.state == "submitted"
    assert done.data["eu_delegation_opinion"]["verdict"] == "no_objection"
    last = engine.history(view.id)[-1]
    assert (last.trigger, last.role) == ("deem_favourable", "system")
    assert [g.name for g in last.guards if g.ok] == ["opinion_valid"]
    assert engine.fire(view.id, "fine_tune", action_plan_payload(version=2), actor=TEAM)


def test_the_silence_rule_holds_for_the_system_actor(engine: Engine, clock: Clock) -> None:
    view = engine.fire(submitted(engine).id, "request_opinion", actor=TEAM)
    clock.now += timedelta(days=2)
    v2 = engine.registry.get(NAME).definition
    guard = v2.guard_functions()["opinion_valid"].func
    early = guard(context(view, opinion_payload("no_objection"), SYSTEM, clock.now, v2.settings))
    assert not early.ok
    assert "silence counts after 5" in early.reason
    clock.now += timedelta(days=5)
    favourable = guard(context(view, opinion_payload(), SYSTEM, clock.now, v2.settings))
    assert "only as no objection" in favourable.reason
    assert guard(context(view, opinion_payload(), DELEGATION, clock.now, v2.settings)).ok


def context(
    view: InstanceView, body: dict[str, Any], actor: Actor, now: datetime, settings: Any
) -> GuardContext:
    return GuardContext(
        view=view,
        payload=OpinionPayload.model_validate(body),
        actor=actor,
        trigger="deem_favourable",
        now=now,
        settings=settings,
    )


def test_the_opinion_may_be_waived_only_on_a_request_the_delegation_submitted(
    engine: Engine,
) -> None:
    waived = action_plan_payload(version=2, opinion="waived")
    direct = submitted(engine)
    assert "only on a request the EU Delegation submitted" in refused(
        lambda: engine.fire(direct.id, "fine_tune", waived, actor=TEAM)
    )
    theirs = submitted(engine, channel="eu_delegation")
    no_reason = {**waived, "opinion_waiver": {"reason": " "}}
    assert "needs a reason" in refused(
        lambda: engine.fire(theirs.id, "fine_tune", no_reason, actor=TEAM)
    )
    view = engine.fire(theirs.id, "fine_tune", waived, actor=TEAM)
    approved = engine.fire(view.id, "approve", approval_payload(), actor=ACTORS["commission"])
    assert approved.state == "approved"


def test_planned_activities_state_their_modality(engine: Engine) -> None:
    view = walk_to(engine, "submitted")
    view = engine.fire(view.id, "request_opinion", actor=TEAM)
    view = engine.fire(view.id, "give_opinion", opinion_payload(), actor=DELEGATION)
    plan = action_plan_payload(version=2)
    missing = {
        "activities": [{k: v for k, v in a.items() if k != "modality"} for a in plan["activities"]]
    }
    with pytest.raises(InvalidPayload, match="modality"):
        engine.fire(view.id, "fine_tune", missing, actor=TEAM)
    with pytest.raises(InvalidPayload, match="mode"):
        engine.fire(view.id, "fine_tune", action_plan_payload(), actor=TEAM)  # version 1's
    remote = {"activities": [{**a, "modality": "remote"} for a in plan["activities"]]}
    view = engine.fire(view.id, "fine_tune", remote, actor=TEAM)
    assert {a["modality"] for a in view.data["activities"]} == {"remote"}


# ------------------------------------------------------------------ mobilise
def test_conflict_of_interest_compares_ids_not_names(engine: Engine) -> None:
    view = walk_to(engine, "approved")
    activities = view.data["activities"]
    experts = mobilisation_payload(activities, version=2)["experts"]
    same_name = [{**experts[0], "employer": "National Social Protection Council"}, *experts[1:]]
    same_id = [{**experts[0], "employer": "Another name", "employer_id": "KH-NSPC"}, *experts[1:]]
    assert "conflict of interest" in refused(
        lambda: engine.fire(view.id, "mobilise", {"experts": same_id}, actor=TEAM)
    )
    done = engine.fire(view.id, "mobilise", {"experts": same_name}, actor=TEAM)
    assert done.state == "mobilised"


def test_experts_need_an_employer_id(engine: Engine) -> None:
    view = walk_to(engine, "approved")
    with pytest.raises(InvalidPayload, match="employer_id"):
        engine.fire(view.id, "mobilise", mobilisation_payload(view.data["activities"]), actor=TEAM)


# ------------------------------------------------------------------ record_activity
def _mobilised_with_two_experts(engine: Engine) -> InstanceView:
    view = walk_to(engine, "approved")
    a1, a2 = view.data["activities"]
    experts = [
        expert_payload("exp-fr-1", a1["id"], version=2),
        expert_payload("exp-es-1", a2["id"], nationality="ES", version=2),
    ]
    return engine.fire(view.id, "mobilise", {"experts": experts}, actor=TEAM)


def test_an_expert_records_only_their_own_activities(engine: Engine) -> None:
    view = _mobilised_with_two_experts(engine)
    a1, a2 = view.data["activities"]
    record = activity_record_payload(a2, version=2)
    assert "not mobilised on activity A2" in refused(
        lambda: engine.fire(view.id, "record_activity", record, actor=Actor("exp-fr-1", "expert"))
    )
    mine = activity_record_payload(a1, version=2)
    view = engine.fire(view.id, "record_activity", mine, actor=Actor("EXP-FR-1", "expert"))
    view = engine.fire(view.id, "record_activity", record, actor=TEAM)
    assert [r["activity_id"] for r in view.data["activity_records"]] == ["A1", "A2"]
    view = attach_reports(engine, view)  # the latest version (3) wants them on file
    assert engine.fire(view.id, "implement", {}, actor=TEAM).state == "implemented"


def test_a_delivered_record_states_the_modality_used(engine: Engine) -> None:
    view = _mobilised_with_two_experts(engine)
    a1 = view.data["activities"][0]
    record = activity_record_payload(a1, version=2)
    bare = {k: v for k, v in record.items() if k != "modality"}
    assert "modality actually used" in refused(
        lambda: engine.fire(view.id, "record_activity", bare, actor=TEAM)
    )
    cancelled = activity_record_payload(a1, cancelled=True, version=2)
    assert engine.fire(view.id, "record_activity", cancelled, actor=TEAM).state == "mobilised"
    hybrid = {**record, "modality": "hybrid"}
    view = engine.fire(view.id, "record_activity", hybrid, actor=TEAM)
    assert view.data["activity_records"][-1]["modality"] == "hybrid"


def test_walk_to_goes_through_the_consultation_on_version_2(engine: Engine) -> None:
    view = walk_to(engine, "disseminated", version=2)
    triggers = [h.trigger for h in engine.history(view.id)]
    assert triggers[:4] == ["submit", "request_opinion", "give_opinion", "fine_tune"]
    assert view.definition_version == 2
    assert walk_to(engine, "disseminated").definition_version == 3  # the latest, same path
    assert walk_to(engine, "consulting_delegation").state == "consulting_delegation"
    assert walk_to(engine, "fine_tuned", version=1).definition_version == 1
