"""Four processes fire at the same instances: nothing lost, nothing duplicated, no gaps."""

from __future__ import annotations

import itertools
import multiprocessing as mp
from typing import Any

import pytest

from engine import Actor, ConcurrencyConflict, Engine, EngineError, TransitionNotAllowed
from tests.helpers import REQUESTER, event_count
from tests.toy import toy_definition

PROCESSES = 4
COMMANDS_PER_PROCESS = 60
INSTANCES = 5


def _worker(url: str, ids: list[str], worker: int, out: Any) -> None:
    accepted = 0
    outcomes: dict[str, int] = {}
    actor = Actor(f"worker-{worker}", "reviewer")
    with Engine.open(url, workflows=[toy_definition()]) as engine:
        for n in range(COMMANDS_PER_PROCESS):
            iid = ids[(n + worker) % len(ids)]
            # Mostly internal notes (always allowed); every 15th a review, which only one
            # racer can win: the losers must re-decide and be refused, not written twice.
            try:
                if n % 15 == 14:
                    engine.fire(iid, "review", {"score": 4}, actor=actor)
                else:
                    engine.fire(iid, "note", {"text": f"w{worker}-{n}"}, actor=actor)
                accepted += 1
                outcomes["ok"] = outcomes.get("ok", 0) + 1
            except (ConcurrencyConflict, TransitionNotAllowed) as exc:
                outcomes[exc.code] = outcomes.get(exc.code, 0) + 1
            except EngineError as exc:  # anything else is a failure of the contract
                outcomes[f"unexpected:{exc.code}"] = outcomes.get(f"unexpected:{exc.code}", 0) + 1
    out.put((worker, accepted, outcomes))


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_concurrent_processes_lose_and_duplicate_nothing(store_url: str) -> None:
    with Engine.open(store_url, workflows=[toy_definition()]) as engine:
        ids = [
            str(engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id)
            for _ in range(INSTANCES)
        ]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(store_url, ids, w, out)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    accepted = sum(r[1] for r in results)
    outcomes: dict[str, int] = {}
    for _, _, o in results:
        for k, v in o.items():
            outcomes[k] = outcomes.get(k, 0) + v
    print(f"\n{store_url.split(':', maxsplit=1)[0]}: outcomes {outcomes}")
    assert not [k for k in outcomes if k.startswith("unexpected")], outcomes
    with Engine.open(store_url, workflows=[toy_definition()]) as engine:
        assert event_count(engine) == INSTANCES + accepted
        notes_seen: list[str] = []
        for iid in ids:
            history = engine.history(iid)
            assert [h.version for h in history] == list(range(1, len(history) + 1))
            assert sum(1 for h in history if h.trigger == "review") <= 1
            for prev, nxt in itertools.pairwise(history):
                assert nxt.prev_hash == prev.hash
            notes_seen += [h.payload["text"] for h in history if h.trigger == "note"]
        assert len(notes_seen) == len(set(notes_seen)), "a note was written twice"
    assert outcomes.get("ok", 0) == accepted
