"""Due deadlines fire exactly once, on every backend: as the system actor, in due order,
in bounded batches, with their lag; escalations reach hooks; histories verify online and
offline, and a forged system step is a rule breach."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from engine import Actor, Engine, HookEvent, InvalidArgument
from engine.audit.offline.verifier import verify_file
from engine.instance.hashing import utc_iso
from tests.conftest import EngineFactory
from tests.toy_deadlines import leave_definition

ANN = Actor("ann", "requester")
RITA = Actor("rita", "reviewer")
MO = Actor("mo", "manager")
FRIDAY = datetime(2024, 1, 5, 9, 0, tzinfo=UTC)
ALL = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SHARED = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Clock:
    """A frozen clock the test moves by hand."""

    def __init__(self, now: datetime = FRIDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _leave(open_engine: EngineFactory, clock: Clock, **kw: Any) -> Engine:
    return open_engine(workflows=[leave_definition()], clock=clock, **kw)


@pytest.mark.parametrize("store_url", ALL, indirect=True)
def test_each_deadline_fires_once_as_the_system_actor(open_engine: EngineFactory) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    view = engine.start("leave", {"days": 3}, actor=ANN)
    assert engine.run_due().claimed == 0  # nothing due yet
    clock.now += timedelta(days=2, hours=1)
    first = engine.run_due()
    assert [(f.deadline_id, f.action, f.lag_seconds) for f in first.fired] == [
        ("1:nudge", "remind", 3600.0)
    ]
    assert engine.run_due().fired == []  # the same deadline never again
    clock.now += timedelta(days=10)
    late = engine.run_due()
    assert [f.deadline_id for f in late.fired] == ["1:escalate", "1:consent"]  # due order
    history = engine.history(view.id)
    assert [(h.trigger, h.actor, h.role) for h in history] == [
        ("submit", "ann", "requester"),
        ("__remind__", "system", "system"),
        ("__escalate__", "system", "system"),
        ("deem_approved", "system", "system"),
    ]
    assert history[2].reason == "no review after 3 working days"
    assert history[3].reason == "silence as consent"
    assert engine.get(view.id).state == "approved"
    assert engine.deadlines() == []
    fired = engine.deadlines(status="fired")
    assert [(d.name, d.lag_seconds) for d in fired] == [
        ("nudge", 3600.0),
        ("escalate", (clock.now - datetime(2024, 1, 10, 9, tzinfo=UTC)).total_seconds()),
        ("consent", (clock.now - datetime(2024, 1, 15, 9, tzinfo=UTC)).total_seconds()),
    ]
    assert engine.verify().ok


@pytest.mark.parametrize("store_url", ALL, indirect=True)
def test_cancelled_deadlines_never_fire(open_engine: EngineFactory) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    view = engine.start("leave", {"days": 3}, actor=ANN)
    clock.now += timedelta(hours=1)
    engine.fire(view.id, "review", actor=RITA)
    assert [d.status for d in engine.deadlines(status="cancelled")] == ["cancelled"] * 3
    clock.now += timedelta(days=30)
    report = engine.run_due()
    assert [f.deadline_id for f in report.fired] == ["2:lapse"]
    assert engine.get(view.id).state == "rejected"
    assert engine.verify().ok


@pytest.mark.parametrize("store_url", ALL, indirect=True)
def test_after_downtime_overdue_deadlines_fire_in_due_order_in_bounded_batches(
    open_engine: EngineFactory,
) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    ids = []
    for i in range(12):
        clock.now = FRIDAY + timedelta(minutes=i)
        ids.append(engine.start("leave", {"days": 1}, actor=Actor(f"a{i}", "requester")).id)
    clock.now = FRIDAY + timedelta(days=40)  # downtime: 36 deadlines are overdue
    first = engine.run_due(limit=10, batch=4)
    assert first.claimed == 10
    assert len(first.fired) == 10
    dues = [f.due_at for f in first.fired]
    assert dues == sorted(dues)
    rest = engine.run_due(limit=1000, batch=7)
    fired = first.fired + rest.fired
    assert len(fired) == 36
    assert len({(f.instance_id, f.deadline_id) for f in fired}) == 36
    assert all(f.lag_seconds > 0 for f in fired)
    assert {engine.get(i).state for i in ids} == {"approved"}
    assert engine.run_due().claimed == 0


@pytest.mark.parametrize("store_url", SHARED, indirect=True)
def test_two_engines_and_threads_on_one_store_fire_each_deadline_once(
    open_engine: EngineFactory,
) -> None:
    clock = Clock()
    engines = [_leave(open_engine, clock) for _ in range(2)]
    for i in range(20):
        engines[0].start("leave", {"days": 1}, actor=Actor(f"a{i}", "requester"))
    clock.now += timedelta(days=11)
    reports: list[Any] = []

    def run(engine: Engine) -> None:
        reports.append(engine.run_due(batch=3))

    threads = [threading.Thread(target=run, args=(e,)) for e in engines * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fired = [(f.instance_id, f.deadline_id) for r in reports for f in r.fired]
    assert len(fired) == 60
    assert len(set(fired)) == 60
    assert engines[1].verify().ok


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
def test_escalations_are_delivered_to_hooks(open_engine: EngineFactory) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    seen: list[HookEvent] = []
    engine.subscribe(seen.append, name="desk", topics=["escalated"], background=False)
    engine.start("leave", {"days": 3}, actor=ANN)
    clock.now += timedelta(days=6)
    engine.run_due()
    engine.drain_hooks()
    assert [(e.trigger, (e.deadline or {}).get("role")) for e in seen] == [
        ("__remind__", "reviewer"),
        ("__escalate__", "manager"),
    ]
    assert seen[1].deadline is not None
    assert seen[1].deadline["level"] == 1
    assert seen[0].deadline is not None
    assert "level" not in seen[0].deadline


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_refused_fire_is_reported_blocked_and_recorded_nowhere(
    open_engine: EngineFactory,
) -> None:
    from engine import DeadlineDef

    base = leave_definition()
    reviewed = base.states[1].model_copy(
        update={"deadlines": (DeadlineDef(name="auto", days=1, action="fire", trigger="lapse"),)}
    )
    transitions = tuple(
        t.model_copy(update={"guards": ("short_enough",)}) if t.trigger == "lapse" else t
        for t in base.transitions
    )
    defn = base.model_copy(
        update={"states": (base.states[0], reviewed, *base.states[2:]), "transitions": transitions}
    )
    clock = Clock()
    engine = open_engine(workflows=[defn], clock=clock)
    view = engine.start("leave", {"days": 45}, actor=ANN)  # too long: the guard refuses
    engine.fire(view.id, "review", actor=RITA)
    clock.now += timedelta(days=2)
    report = engine.run_due()
    assert [(b.deadline_id, b.code) for b in report.blocked] == [("2:auto", "guard_rejected")]
    assert engine.get(view.id).version == 2
    assert [d.note for d in engine.deadlines(status="blocked")] == ["guard_rejected"]
    assert engine.run_due().claimed == 0  # not retried until the instance moves
    [item] = engine.worklist(MO)
    assert item.overdue  # a blocked deadline still shows as due


@pytest.mark.parametrize("store_url", ["memory", "sqlite"], indirect=True)
def test_a_history_with_fired_deadlines_verifies_offline(
    open_engine: EngineFactory, tmp_path: Path
) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    a = engine.start("leave", {"days": 3}, actor=ANN)
    engine.start("leave", {"days": 4}, actor=Actor("bo", "requester"))
    clock.now += timedelta(hours=2)
    engine.fire(a.id, "review", actor=RITA)
    clock.now += timedelta(days=12)
    engine.run_due()
    path = tmp_path / "export.jsonl"
    with path.open("w", encoding="utf-8") as out:
        engine.export(out)
    report = verify_file(path)
    assert report.ok, report.problems
    assert engine.verify().ok


@pytest.mark.parametrize("store_url", ["memory", "sqlite"], indirect=True)
def test_as_of_just_before_and_after_a_fire_shows_the_change(open_engine: EngineFactory) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    view = engine.start("leave", {"days": 3}, actor=ANN)
    clock.now += timedelta(days=11)
    engine.run_due()
    fired_at = engine.history(view.id)[-1].at
    before = engine.get(view.id, as_of=fired_at - timedelta(microseconds=1))
    after = engine.get(view.id, as_of=fired_at)
    assert (before.state, after.state) == ("submitted", "approved")
    assert before.open_deadlines
    assert not after.open_deadlines


def _forge(engine: Engine, iid: UUID, body: dict[str, Any], at: datetime) -> None:
    """Record an event the engine would refuse, with correct hashes (write access)."""
    agg = engine._commands.load(iid, fresh=True)
    agg.step(at=at, body=body)
    engine.application.events.put(agg.collect_events())


def _system_body(view: Any, **extra: Any) -> dict[str, Any]:
    return {
        "trigger": "deem_approved",
        "source": "submitted",
        "dest": "approved",
        "payload": {},
        "definition_hash": view.definition_hash,
        "collect_as": None,
        "audit": {
            "actor_id": "system",
            "role": "system",
            "reason": None,
            "correlation_id": None,
            "causation_id": None,
            "guards": [],
        },
        "deadlines": {"cancel": sorted(view.open_deadlines)},
        **extra,
    }


@pytest.mark.parametrize("store_url", ["memory", "sqlite"], indirect=True)
def test_a_forged_system_step_is_a_rule_breach(open_engine: EngineFactory, tmp_path: Path) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    early = engine.start("leave", {"days": 3}, actor=ANN)
    none = engine.start("leave", {"days": 3}, actor=Actor("bo", "requester"))
    clock.now += timedelta(days=1)
    # Without any deadline; and naming a deadline that is not due yet.
    _forge(engine, none.id, _system_body(none), clock.now)
    consent = early.open_deadlines["1:consent"]
    cancel = {"cancel": ["1:escalate", "1:nudge"]}
    fired = {"id": "1:consent", "due_at": consent["due_at"]}
    _forge(engine, early.id, _system_body(early, deadline=fired, deadlines=cancel), clock.now)
    problems = engine.verify().problems
    found = {(str(p.instance_id), p.version, p.rule) for p in problems}
    assert (str(none.id), 2, "system") in found
    assert (str(early.id), 2, "deadline") in found
    assert any("before it was due" in p.detail for p in problems)
    path = tmp_path / "export.jsonl"
    with path.open("w", encoding="utf-8") as out:
        engine.export(out)
    offline = {(str(p.instance_id), p.version, p.rule) for p in verify_file(path).problems}
    assert found <= offline


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
def test_a_forged_schedule_is_a_rule_breach(open_engine: EngineFactory) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    view = engine.start("leave", {"days": 3}, actor=ANN)
    body = {
        "trigger": "review",
        "source": "submitted",
        "dest": "reviewed",
        "payload": {},
        "definition_hash": view.definition_hash,
        "collect_as": None,
        "audit": {
            "actor_id": "rita",
            "role": "reviewer",
            "reason": None,
            "correlation_id": None,
            "causation_id": None,
            "guards": [],
        },
        "deadlines": {
            "schedule": [
                {
                    "id": "2:lapse",
                    "name": "lapse",
                    "action": "fire",
                    "due_at": utc_iso(clock.now + timedelta(days=99)),
                    "trigger": "lapse",
                }
            ]
        },
    }
    _forge(engine, view.id, body, clock.now)
    rules = [(p.version, p.rule) for p in engine.verify().problems]
    assert rules.count((2, "deadline")) == 2  # kept the old deadlines open; a later lapse


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
def test_bad_arguments_are_typed_errors(open_engine: EngineFactory) -> None:
    engine = _leave(open_engine, Clock())
    with pytest.raises(InvalidArgument):
        engine.run_due(limit=0)
    with pytest.raises(InvalidArgument):
        engine.run_due(now=datetime(2024, 1, 1))
    with pytest.raises(InvalidArgument):
        engine.deadlines(status="lost")
    with pytest.raises(InvalidArgument):
        engine.deadlines(within=timedelta(days=-1))
    with pytest.raises(InvalidArgument):
        engine.worklist(Actor("x", "nobody"))
    with pytest.raises(InvalidArgument):
        engine.worklist()  # no actor bound


@pytest.mark.parametrize("store_url", ALL, indirect=True)
def test_the_worklist_orders_by_urgency_and_honours_separation(open_engine: EngineFactory) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    pat_request = engine.start("leave", {"days": 3}, actor=Actor("pat", "requester"))
    clock.now += timedelta(days=1)
    later = engine.start("leave", {"days": 3}, actor=ANN)
    clock.now += timedelta(days=1, hours=12)  # the first one's reminder is overdue
    items = engine.worklist(RITA)
    assert [(i.instance_id, i.overdue) for i in items] == [
        (str(pat_request.id), True),
        (str(later.id), False),
    ]
    assert items[0].due_at == datetime(2024, 1, 7, 9, tzinfo=UTC)
    # pat may review ann's request, not their own (separation of duties: submit / review)
    pats = engine.worklist(Actor("pat", "reviewer"))
    assert {i.instance_id: i.triggers for i in pats} == {
        str(pat_request.id): ["note", "reject"],
        str(later.id): ["note", "review", "reject"],
    }
    engine.fire(later.id, "review", actor=Actor("pat", "reviewer"))
    managers = {i.instance_id: i.triggers for i in engine.worklist(Actor("pat", "manager"))}
    assert managers == {str(pat_request.id): ["reject"], str(later.id): ["reject"]}
    with engine.context(actor=MO):
        assert {i.instance_id: i.triggers for i in engine.worklist()}[str(later.id)] == [
            "approve",
            "reject",
        ]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_background_thread_runs_due_deadlines(open_engine: EngineFactory) -> None:
    clock = Clock()
    engine = _leave(open_engine, clock)
    engine.start("leave", {"days": 3}, actor=ANN)
    clock.now += timedelta(days=11)
    engine.run_deadlines_in_background(interval=0.05)
    with pytest.raises(InvalidArgument):
        engine.run_deadlines_in_background()  # one thread per engine
    give_up = time.monotonic() + 30
    while len(engine.deadlines(status="fired")) < 3 and time.monotonic() < give_up:
        time.sleep(0.02)
    assert [d.name for d in engine.deadlines(status="fired")] == ["nudge", "escalate", "consent"]
    engine.close()  # stops the thread
