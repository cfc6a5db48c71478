"""No input can poison the store: every text the engine would store is checked first.

On PostgreSQL a single NUL once got recorded in an actor id, and from then on every
projection query and every ``Engine.open`` failed. Here each text a caller controls takes
NUL and lone surrogates; every attempt must be refused with a typed error, and afterwards
the store must still open, project and verify, in this process and a fresh one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from engine import Actor, Engine, EngineError
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, event_count, submit
from tests.reliability.conftest import Figures
from tests.toy import toy_definition

BAD = ["a\x00b", "\x00", "x\ud800y", "\udfff"]


def _attempts(engine: Engine, bad: str) -> list[Callable[[], object]]:
    iid = submit(engine)
    return [
        lambda: Actor(bad, "requester"),
        lambda: Actor("req-1", bad),
        lambda: engine.fire(iid, bad, {"text": "x"}, actor=REQUESTER),
        lambda: engine.fire(iid, "note", {"text": bad}, actor=REQUESTER),
        lambda: engine.fire(iid, "note", {bad: "x"}, actor=REQUESTER),
        lambda: engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER, reason=bad),
        lambda: engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER, correlation_id=bad),
        lambda: engine.fire(iid, "note", {"text": "x"}, actor=REQUESTER, causation_id=bad),
        lambda: engine.start("toy", {"title": bad, "amount": 1}, actor=REQUESTER),
        lambda: engine.start(bad, {"title": "t", "amount": 1}, actor=REQUESTER),
        lambda: engine.subscribe(lambda e: None, name=bad, background=False),
        lambda: engine.requests(state=bad),
        lambda: engine.audit_trail(actor=bad),
        lambda: engine.get(bad),
    ]


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_no_text_can_poison_the_store(
    open_engine: EngineFactory, store_url: str, figures: Figures
) -> None:
    engine = open_engine()
    tally: Counter[str] = Counter()
    for bad in BAD:
        for attempt in _attempts(engine, bad):
            before = event_count(engine)
            with pytest.raises(EngineError) as refused:
                attempt()
            tally[refused.value.code] += 1
            assert event_count(engine) == before
    failing = engine.subscribe(
        _raise_nul, name="poisoned-handler", background=False, max_attempts=1, backoff=0
    )
    engine.fire(submit(engine), "note", {"text": "x"}, actor=REQUESTER)
    engine.drain_hooks(timeout=30)
    parked = engine.parked("poisoned-handler")
    assert parked  # the handler's NUL message was stored (escaped), the subscriber moved on
    assert all("\x00" not in p.error for p in parked)
    engine.unsubscribe(failing.name)
    assert engine.verify().ok
    with Engine.open(store_url, workflows=[toy_definition()]) as fresh:
        assert len(fresh.audit_trail()) == event_count(fresh)  # every projection query works
        assert fresh.verify().ok
    figures.record(attempts=sum(tally.values()), refused=dict(tally), written=0,
                   parked_handler_errors=len(parked))  # fmt: skip


def _raise_nul(event: object) -> None:
    raise RuntimeError("bad \x00 byte from a handler")
