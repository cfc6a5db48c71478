"""engine.testing: the fixtures, walks and builders host apps use in their own tests."""

from __future__ import annotations

import pytest

from engine import Engine, UnknownWorkflow
from engine.testing import (
    StepClock,
    actor,
    kit,
    memory_engine,
    payload,
    raises_engine_error,
    walk_to,
)


@pytest.mark.parametrize("state", kit().states)
def test_walk_to_reaches_every_walkable_state_with_the_right_roles(
    socieux_engine: Engine,
    state: str,
) -> None:
    view = walk_to(socieux_engine, state)
    assert view.state == state
    history = socieux_engine.history(view.id)
    assert all(h.role != "auditor" for h in history)
    assert socieux_engine.requests(state=state)[0].id == view.id  # projections are there


def test_payload_and_actor_let_a_test_fire_the_next_step(socieux_engine: Engine) -> None:
    view = walk_to(socieux_engine, "fine_tuned")
    approved = socieux_engine.fire(
        view.id, "approve", payload("approve"), actor=actor("commission")
    )
    assert approved.state == "approved"
    assert payload("approve", action_code=None)["action_code"] is None  # type: ignore[index]
    assert payload("reject") is None
    assert actor("team").role == "socieux_team"


def test_raises_engine_error_checks_the_stable_code(socieux_engine: Engine) -> None:
    view = walk_to(socieux_engine, "submitted")
    with raises_engine_error("permission_denied") as caught:
        socieux_engine.fire(view.id, "fine_tune", payload("fine_tune"), actor=actor("partner"))
    assert caught[0].code == "permission_denied"
    with (
        pytest.raises(AssertionError, match="expected engine error 'permission_denied'"),
        raises_engine_error("permission_denied"),
    ):
        socieux_engine.fire(view.id, "approval?", actor=actor("commission"))
    with (
        pytest.raises(AssertionError, match="nothing was raised"),
        raises_engine_error("invalid_payload"),
    ):
        pass


def test_the_sqlite_fixture_and_the_factory(socieux_sqlite_engine: Engine) -> None:
    assert socieux_sqlite_engine.url.startswith("sqlite:///")
    with memory_engine(clock=StepClock()) as engine:
        first = walk_to(engine, "submitted")
        second = walk_to(engine, "submitted")
        assert second.created_at > first.created_at


def test_unknown_kits_and_states_are_clear_errors(socieux_engine: Engine) -> None:
    with pytest.raises(UnknownWorkflow):
        kit("no-such-workflow")
    with pytest.raises(KeyError, match="cannot walk to 'limbo'"):
        walk_to(socieux_engine, "limbo")
