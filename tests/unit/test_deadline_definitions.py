"""Deadlines in definitions: validation lists every problem, hashes of older definitions
stay, working days skip weekends and holidays, and the ``system`` role is the engine's."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine import (
    Actor,
    DeadlineDef,
    Engine,
    PermissionDenied,
    StateDef,
    WorkflowDefinition,
    WorkflowDefinitionError,
    WorkingCalendar,
)
from engine.commands.compiled import CompiledWorkflow
from engine.definition.content import content_hash, to_dict
from tests.toy import toy_definition
from tests.toy_deadlines import leave_definition


def _with_deadlines(*deadlines: DeadlineDef, **calendars: WorkingCalendar) -> WorkflowDefinition:
    base = leave_definition()
    states = (base.states[0].model_copy(update={"deadlines": deadlines}), *base.states[1:])
    return base.model_copy(update={"states": states, "calendars": calendars})


def test_every_deadline_problem_is_reported_at_once() -> None:
    bad = _with_deadlines(
        DeadlineDef(name="a", days=0, action="remind", role="reviewer"),
        DeadlineDef(name="b", days=-3, action="escalate", role="nobody"),
        DeadlineDef(name="c", days=2, action="fire", trigger="no_such_trigger"),
        DeadlineDef(name="d", days=2, action="fire", trigger="lapse"),  # from reviewed only
        DeadlineDef(name="e", days=2, action="fire", trigger="reject"),  # no system role
        DeadlineDef(
            name="f", days=2, working_days=True, calendar="XX", action="remind", role="reviewer"
        ),
        DeadlineDef(name="g", days=1, action="remind", role="system"),
        belgium=WorkingCalendar(weekend=(0, 6)),
    )
    with pytest.raises(WorkflowDefinitionError) as caught:
        CompiledWorkflow(bad)
    problems = "\n".join(caught.value.problems)
    expected = [
        "deadline 'a' of state 'submitted': its duration must be a positive number of days, not 0",
        "deadline 'b' of state 'submitted': its duration must be a positive number of days, not -3",
        "deadline 'b' of state 'submitted': escalate needs a declared role to act, not 'nobody'",
        "fires 'no_such_trigger', which is no transition from 'submitted'",
        "fires 'lapse', which is no transition from 'submitted'",
        "transition 'reject' must list role 'system'",
        "deadline 'f' of state 'submitted': unknown calendar 'XX' (declared: belgium)",
        "deadline 'g' of state 'submitted': remind needs a declared role to act, not 'system'",
        "calendar 'belgium' is not a country code",
        "calendar 'belgium': weekend days [0] are not ISO weekdays 1 to 7",
    ]
    for line in expected:
        assert line in problems
    assert caught.value.code == "definition_invalid"


def test_a_deadline_on_a_final_state_and_a_bad_payload_are_refused() -> None:
    base = leave_definition()
    final = base.states[2].model_copy(
        update={"deadlines": (DeadlineDef(name="late", days=1, action="remind", role="manager"),)}
    )
    waiting = base.states[0].model_copy(
        update={
            "deadlines": (
                DeadlineDef(
                    name="x", days=1, action="fire", trigger="deem_approved", payload={"bogus": 1}
                ),
            )
        }
    )
    bad = base.model_copy(update={"states": (waiting, base.states[1], final, base.states[3])})
    with pytest.raises(WorkflowDefinitionError) as caught:
        Engine.open("memory://", workflows=[bad])
    problems = caught.value.problems
    assert any("a final state cannot have deadlines" in p for p in problems)
    assert any("its payload is not valid for 'deem_approved'" in p for p in problems)


def test_definitions_without_deadlines_keep_their_dict_and_hash() -> None:
    toy = toy_definition()
    d = to_dict(toy)
    assert "calendars" not in d
    assert all("deadlines" not in s for s in d["states"])
    # The toy's hash as it was before deadlines existed (states dumped as they were).
    assert content_hash(toy) == "deb1e9867d139e440190f49d6bc6037780f4c234ab6ec557d3fea8f040783d76"


def test_declared_deadlines_and_calendars_are_hashed() -> None:
    d = to_dict(leave_definition())
    assert d["calendars"]["BE"]["holidays"] == ["2024-01-01", "2024-04-01", "2024-05-01"]
    assert [x["name"] for x in d["states"][0]["deadlines"]] == ["nudge", "escalate", "consent"]
    other = _with_deadlines(DeadlineDef(name="nudge", days=3, action="remind", role="reviewer"))
    assert content_hash(other) != content_hash(leave_definition())


def test_working_days_skip_weekends_and_public_holidays() -> None:
    be = WorkingCalendar(holidays=(date(2024, 1, 1),))
    friday = datetime(2023, 12, 29, 15, 30, tzinfo=UTC)
    # Mon 1 Jan is a holiday: Tue 2, Wed 3, Thu 4.
    assert be.add_working_days(friday, 3) == datetime(2024, 1, 4, 15, 30, tzinfo=UTC)
    sat_sun_off = WorkingCalendar()
    assert sat_sun_off.add_working_days(friday, 1) == datetime(2024, 1, 1, 15, 30, tzinfo=UTC)
    fridays_off = WorkingCalendar(weekend=(5, 6, 7))
    thursday = datetime(2024, 1, 4, tzinfo=UTC)
    assert fridays_off.add_working_days(thursday, 1) == datetime(2024, 1, 8, tzinfo=UTC)


def test_calendar_days_count_every_day() -> None:
    d = DeadlineDef(name="n", days=10, action="remind", role="reviewer")
    start = datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert d.due(start, {}) == datetime(2024, 3, 11, 12, tzinfo=UTC)


@pytest.mark.parametrize("workflow", ["leave", "toy"])
def test_a_host_acting_as_system_is_refused_and_nothing_is_written(workflow: str) -> None:
    with Engine.open("memory://", workflows=[leave_definition(), toy_definition()]) as engine:
        data = {"days": 3} if workflow == "leave" else {"title": "t", "amount": 1}
        with pytest.raises(PermissionDenied) as caught:
            engine.start(workflow, data, actor=Actor("me", "system"))
        assert caught.value.rule == "system"
        view = engine.start("leave", {"days": 3}, actor=Actor("ann", "requester"))
        with pytest.raises(PermissionDenied) as caught:
            engine.fire(view.id, "deem_approved", actor=Actor("system", "system"))
        assert caught.value.rule == "system"
        assert engine.get(view.id).version == 1
        report = engine.allowed(view.id, Actor("system", "system"))
        assert report.allowed == []
        assert {r.code for r in report.refused} == {"permission_denied", "transition_not_allowed"}


def test_a_transition_may_list_the_system_role_without_declaring_it() -> None:
    compiled = CompiledWorkflow(leave_definition())
    assert "system" in compiled.roles
    assert "system" not in leave_definition().roles


def test_a_deadline_state_name_is_plain() -> None:
    with pytest.raises(ValueError, match="pattern"):
        StateDef(name="s", deadlines=(DeadlineDef(name="Bad Name", days=1, action="remind"),))
    with pytest.raises(ValueError, match="action"):
        DeadlineDef.model_validate({"name": "n", "days": 1, "action": "explode"})
