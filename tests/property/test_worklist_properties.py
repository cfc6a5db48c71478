"""On random portfolios, every actor's worklist (a read model) equals what ``allowed``
(a replay of each instance) says that actor may fire.

Precisely: an instance is in ``engine.worklist(actor)`` with the triggers ``T`` exactly
when ``T`` is non-empty, where ``T`` is, from ``engine.allowed(instance, actor)``, the
``allowed`` triggers, the ``needs_payload`` triggers and the triggers refused only by a
guard (``guard_rejected``): the triggers the actor's role may fire from the state that
separation of duties does not keep from this actor. A worklist does not run guards (they
read the payload the actor will bring, or the instance's data, which the read model does
not copy); everything else ``allowed`` checks, it checks too.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Actor, Engine, EngineError
from tests.toy_deadlines import leave_definition

PEOPLE = [
    Actor("ann", "requester"),
    Actor("pat", "requester"),
    Actor("rita", "reviewer"),
    Actor("pat", "reviewer"),  # the same person in another role: separation of duties
    Actor("mo", "manager"),
    Actor("pat", "manager"),
    Actor("rita", "manager"),
]
TRIGGERS = ["note", "review", "approve", "reject"]
PAYLOADS = {"note": {"text": "n"}, "review": {}, "approve": {}, "reject": {}}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 5, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


step = st.one_of(
    st.tuples(st.just("start"), st.integers(0, 1), st.integers(1, 45)),
    st.tuples(
        st.just("fire"),
        st.integers(0, 7),
        st.sampled_from(TRIGGERS),
        st.integers(0, len(PEOPLE) - 1),
    ),
    st.tuples(st.just("wait"), st.integers(1, 72)),
    st.tuples(
        st.just("run_due"),
    ),
)


def _play(engine: Engine, clock: Clock, steps: list[tuple[object, ...]]) -> list[str]:
    ids: list[str] = []
    for s in steps:
        if s[0] == "start":
            who = PEOPLE[int(str(s[1]))]
            ids.append(str(engine.start("leave", {"days": s[2]}, actor=who).id))
        elif s[0] == "fire" and ids:
            iid, trigger = ids[int(str(s[1])) % len(ids)], str(s[2])
            with suppress(EngineError):  # refused: nothing written
                engine.fire(
                    iid, trigger, PAYLOADS[trigger], actor=PEOPLE[int(str(s[3]))], reason="because"
                )
        elif s[0] == "wait":
            clock.now += timedelta(hours=int(str(s[1])))
        elif s[0] == "run_due":
            engine.run_due()
    return ids


def _expected(engine: Engine, ids: list[str], actor: Actor) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for iid in ids:
        report = engine.allowed(iid, actor)
        guarded = [r.trigger for r in report.refused if r.code == "guard_rejected"]
        may = sorted({*report.allowed, *report.needs_payload, *guarded})
        if may:
            out[iid] = may
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=40))
def test_each_actors_worklist_equals_what_allowed_reports(steps: list[tuple[object, ...]]) -> None:
    clock = Clock()
    with Engine.open("memory://", workflows=[leave_definition()], clock=clock) as engine:
        ids = _play(engine, clock, steps)
        for actor in PEOPLE:
            items = engine.worklist(actor)
            got = {i.instance_id: sorted(i.triggers) for i in items}
            assert got == _expected(engine, ids, actor), actor
            keys = [(i.due_at is None, i.due_at or clock.now, i.entered_at) for i in items]
            assert keys == sorted(keys)  # by urgency
            for item in items:
                view = engine.get(item.instance_id)
                assert item.state == view.state
                dues = sorted(d["due_at"] for d in view.open_deadlines.values())
                assert (item.due_at.isoformat() if item.due_at else None) == (
                    datetime.fromisoformat(dues[0]).isoformat() if dues else None
                )
                assert item.overdue == (item.due_at is not None and item.due_at <= clock.now)
