"""engine.context: bind the actor and a correlation id once per unit of work."""

from __future__ import annotations

import threading

import pytest
import structlog
from structlog.testing import capture_logs

from engine import Actor, Engine, InvalidArgument, TransitionNotAllowed
from engine.hooks.dispatcher import HookEvent
from tests.helpers import REQUESTER, REVIEWER, event_count, submit
from tests.toy import toy_definition


@pytest.fixture
def engine() -> Engine:
    with Engine.open("memory://", workflows=[toy_definition()]) as opened:
        yield opened


def test_commands_take_actor_and_correlation_from_the_context(engine: Engine) -> None:
    with engine.context(actor=REQUESTER, correlation_id="web-7"):
        iid = engine.start("toy", {"title": "t", "amount": 1}).id
        engine.fire(iid, "note", {"text": "n"})
        engine.fire(iid, "review", {"score": 4}, actor=REVIEWER, correlation_id="explicit")
    history = engine.history(iid)
    assert [(h.actor, h.role, h.correlation_id) for h in history] == [
        ("req-1", "requester", "web-7"),
        ("req-1", "requester", "web-7"),
        ("rev-1", "reviewer", "explicit"),  # explicit arguments win
    ]


def test_a_context_without_an_id_gets_a_fresh_one_and_nested_contexts_inherit(
    engine: Engine,
) -> None:
    with engine.context(actor=REQUESTER) as outer:
        assert outer.correlation_id
        assert len(outer.correlation_id) == 32
        with engine.context(actor=REVIEWER) as inner:
            assert inner.correlation_id == outer.correlation_id
            assert inner.actor == REVIEWER
        with engine.context(correlation_id="other") as third:
            assert third.actor == REQUESTER
    with engine.context() as again:
        assert again.correlation_id != outer.correlation_id


def test_without_an_actor_a_command_is_refused_and_writes_nothing(engine: Engine) -> None:
    with pytest.raises(InvalidArgument, match="no actor"):
        engine.start("toy", {"title": "t", "amount": 1})
    with engine.context(correlation_id="c"), pytest.raises(InvalidArgument, match="no actor"):
        engine.start("toy", {"title": "t", "amount": 1})
    assert event_count(engine) == 0


@pytest.mark.parametrize("bad", ["", "x" * 201, 42])
def test_bad_correlation_ids_are_refused_and_write_nothing(engine: Engine, bad: object) -> None:
    with pytest.raises(InvalidArgument, match="correlation_id"):
        engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER, correlation_id=bad)  # type: ignore[arg-type]
    with (
        pytest.raises(InvalidArgument, match="correlation_id"),
        engine.context(
            correlation_id=bad  # type: ignore[arg-type]
        ),
    ):
        pass
    assert event_count(engine) == 0


def test_a_non_actor_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidArgument, match="Actor"):
        engine.start("toy", {"title": "t", "amount": 1}, actor={"id": "x", "role": "requester"})  # type: ignore[arg-type]
    assert event_count(engine) == 0


def test_every_engine_log_line_carries_the_bound_correlation_id(engine: Engine) -> None:
    with capture_logs() as logs, engine.context(actor=REQUESTER, correlation_id="web-9"):
        iid = engine.start("toy", {"title": "t", "amount": 1}).id
        with pytest.raises(TransitionNotAllowed):
            engine.fire(iid, "nonsense")
    assert logs
    assert {line.get("correlation_id") for line in logs} == {"web-9"}


def test_the_context_is_bound_for_the_host_s_structlog_lines_too(engine: Engine) -> None:
    with engine.context(actor=REQUESTER, correlation_id="web-3"):
        bound = structlog.contextvars.get_contextvars()
    assert bound == {"correlation_id": "web-3", "actor_id": "req-1"}
    assert structlog.contextvars.get_contextvars() == {}


def test_contexts_are_per_thread(engine: Engine) -> None:
    seen: dict[str, str | None] = {}

    def other() -> None:
        from engine.commands.context import current_context

        seen["other"] = current_context().correlation_id

    with engine.context(correlation_id="main"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen == {"other": None}


def test_commands_fired_by_a_hook_are_correlated_and_caused_by_the_event(engine: Engine) -> None:
    system = Actor("notifier", "reviewer")

    def auto_review(event: HookEvent) -> None:
        if event.trigger == "submit":
            engine.fire(event.instance_id, "review", {"score": 5}, actor=system)

    engine.subscribe(auto_review, name="auto-review")
    with engine.context(actor=REQUESTER, correlation_id="web-11"):
        iid = submit(engine)
    engine.drain_hooks()
    history = engine.history(iid)
    assert [h.trigger for h in history] == ["submit", "review"]
    assert history[1].correlation_id == "web-11"
    assert history[1].causation_id == f"{iid}@1"


def test_allowed_takes_the_actor_from_the_context(engine: Engine) -> None:
    iid = submit(engine)
    with engine.context(actor=REVIEWER):
        report = engine.allowed(iid)
    assert report.actor == REVIEWER
    with pytest.raises(InvalidArgument, match="no actor"):
        engine.allowed(iid)
