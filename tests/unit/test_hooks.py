"""Hooks: after-commit delivery, filters, retries then parking, resume by name, leases."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine import Engine, InvalidArgument
from engine.hooks.types import HookEvent
from tests.helpers import REQUESTER, REVIEWER, event_count, submit
from tests.toy import toy_definition


def _open(url: str = "memory://") -> Engine:
    return Engine.open(url, workflows=[toy_definition()])


def test_handlers_see_each_recorded_event_in_order_with_its_audit_metadata() -> None:
    seen: list[HookEvent] = []
    with _open() as engine:
        engine.subscribe(seen.append, name="all")
        iid = submit(engine)
        engine.fire(iid, "note", {"text": "hello"}, actor=REQUESTER, correlation_id="c-1")
        engine.drain_hooks()
    assert [(e.notification_id, e.version, e.trigger) for e in seen] == [
        (1, 1, "submit"),
        (2, 2, "note"),
    ]
    assert seen[1].audit["actor_id"] == REQUESTER.id
    assert seen[1].audit["correlation_id"] == "c-1"
    assert seen[1].payload == {"text": "hello"}
    assert seen[1].instance_id == str(iid)


def test_triggers_and_topics_narrow_what_a_handler_sees() -> None:
    notes: list[str] = []
    starts: list[str] = []
    with _open() as engine:
        engine.subscribe(lambda e: notes.append(e.trigger), name="notes", triggers=["note"])
        engine.subscribe(lambda e: starts.append(e.trigger), name="starts", topics=["started"])
        iid = submit(engine)
        engine.fire(iid, "note", {"text": "a"}, actor=REQUESTER)
        engine.fire(iid, "review", {"score": 3}, actor=REVIEWER)
        engine.drain_hooks()
        status = {s.name: s for s in engine.subscriptions()}
    assert notes == ["note"]
    assert starts == ["submit"]
    assert status["notes"].position == status["notes"].head == 3  # skipped events count too
    assert not status["starts"].behind


def test_a_new_subscriber_starts_at_the_head_unless_asked_for_the_beginning() -> None:
    late: list[int] = []
    replay: list[int] = []
    with _open() as engine:
        submit(engine)
        submit(engine)
        engine.subscribe(lambda e: late.append(e.notification_id), name="late")
        engine.subscribe(
            lambda e: replay.append(e.notification_id), name="replay", start="beginning"
        )
        submit(engine)
        engine.drain_hooks()
    assert late == [3]
    assert replay == [1, 2, 3]


def test_a_failing_handler_never_blocks_or_fails_the_command() -> None:
    release = threading.Event()

    def stuck(event: HookEvent) -> None:
        release.wait(5)
        raise RuntimeError("mail server down")

    with _open() as engine:
        engine.subscribe(stuck, name="stuck", max_attempts=1)
        iid = submit(engine)  # returns although the handler is still waiting
        view = engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER)
        assert view.version == 2
        assert event_count(engine) == 2
        release.set()
        engine.drain_hooks()


def test_a_handler_that_keeps_failing_is_retried_with_backoff_then_parked() -> None:
    calls: list[int] = []
    ok: list[int] = []
    healthy = threading.Event()

    def flaky(event: HookEvent) -> None:
        calls.append(event.notification_id)
        if event.trigger == "note" and not healthy.is_set():
            raise ConnectionError(f"smtp refused {event.notification_id}")
        ok.append(event.notification_id)

    with _open() as engine:
        engine.subscribe(flaky, name="mailer", max_attempts=3, backoff=0.01)
        iid = submit(engine)
        engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER)
        engine.fire(iid, "review", {"score": 3}, actor=REVIEWER)
        engine.drain_hooks()
        assert calls == [1, 2, 2, 2, 3]  # three attempts, then the subscriber moved on
        assert ok == [1, 3]
        [parked] = engine.parked("mailer")
        assert (parked.notification_id, parked.trigger, parked.attempts) == (2, "note", 3)
        assert parked.error == "ConnectionError: smtp refused 2"
        [status] = engine.subscriptions()
        assert (status.parked, status.position, status.behind) == (1, 3, False)
        assert status.last_error == "ConnectionError: smtp refused 2"
        engine.fire(iid, "note", {"text": "y"}, actor=REQUESTER)
        healthy.set()
        engine.drain_hooks()
        assert engine.subscriptions()[0].last_error is None  # a clean batch clears it
        healthy.clear()

        assert engine.retry_parked("mailer") == (0, 1)  # still failing: stays parked
        assert engine.parked("mailer")[0].attempts == 4
        healthy.set()
        assert engine.retry_parked("mailer") == (1, 0)
        assert engine.parked() == []
        assert ok == [1, 3, 4, 2]


def test_a_restarted_host_resumes_after_the_last_handled_event(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first: list[int] = []
    second: list[int] = []
    with _open(url) as engine:
        engine.subscribe(lambda e: first.append(e.notification_id), name="mailer")
        submit(engine)
        engine.drain_hooks()
    with _open(url) as engine:
        submit(engine)  # recorded while no handler runs
    with _open(url) as engine:
        engine.subscribe(lambda e: second.append(e.notification_id), name="mailer")
        submit(engine)
        engine.drain_hooks()
    assert first == [1]
    assert second == [2, 3]


def test_two_processes_subscribed_under_one_name_deliver_each_event_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    seen: list[int] = []
    lock = threading.Lock()

    def handle(event: HookEvent) -> None:
        with lock:
            seen.append(event.notification_id)

    with _open(url) as a, _open(url) as b:
        a.subscribe(handle, name="mailer", lease=30)
        b.subscribe(handle, name="mailer", lease=30)
        for _ in range(20):
            submit(a)
            submit(b)
        a.drain_hooks()
        owners = {s.owner for s in a.subscriptions()}
    assert sorted(seen) == list(range(1, 41))
    assert len(owners) == 1


def test_without_a_background_thread_events_wait_for_drain_hooks() -> None:
    seen: list[int] = []
    with _open() as engine:
        engine.subscribe(lambda e: seen.append(e.notification_id), name="sync", background=False)
        submit(engine)
        assert seen == []
        engine.drain_hooks()
        assert seen == [1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "topics": ["deleted"]}, "topics"),
        ({"name": "ok", "topics": []}, "topics"),
        ({"name": "ok", "max_attempts": 0}, "max_attempts"),
        ({"name": "ok", "start": "yesterday"}, "start"),
    ],
)
def test_bad_subscriptions_are_refused(kwargs: dict[str, object], message: str) -> None:
    with _open() as engine:
        with pytest.raises(InvalidArgument, match=message):
            engine.subscribe(print, **kwargs)  # type: ignore[arg-type]
        assert engine.subscriptions() == []


def test_a_name_is_subscribed_once_per_engine() -> None:
    with _open() as engine:
        engine.subscribe(print, name="one")
        with pytest.raises(InvalidArgument, match="already subscribed"):
            engine.subscribe(print, name="one")


def test_unsubscribe_stops_delivery_and_a_new_subscription_resumes(tmp_path: Path) -> None:
    seen: list[int] = []
    with _open(f"sqlite:///{tmp_path / 'store.db'}") as engine:
        engine.subscribe(lambda e: seen.append(e.notification_id), name="mailer")
        submit(engine)
        engine.drain_hooks()
        engine.unsubscribe("mailer")
        submit(engine)
        [status] = engine.subscriptions()
        assert (status.position, status.owner, status.active_here) == (1, None, False)
        with pytest.raises(InvalidArgument, match="no handler"):
            engine.unsubscribe("mailer")
        engine.subscribe(lambda e: seen.append(e.notification_id), name="mailer")
        engine.drain_hooks()
    assert seen == [1, 2]
