"""Proofs: tree heads, inclusion-proof bundles and their cost, at 100k and 1M events.

One SQLite file is filled through the engine (the toy workflow, 10 events per instance;
``?synchronous=off`` and ``projections=[]`` for the fill). One *tracked* request gets a
step every ``events / 10`` events, so its events are spread over the whole log as a
long-running request's are. At each size:

* ``head_s``: ``head()`` (at the first size it builds the stored tree from the whole log;
  at the second it catches up over the events added); ``rebuild_s``: ``head(rebuild=True)``;
* ``bundle_bytes`` and ``prove_ms``: ``prove()`` of the tracked request against the head;
* ``verify_bundle_ms``: ``Engine.verify_bundle()`` of it (no database);
* ``proof_hashes``: the hashes in its inclusion proofs (about log2 n per event).

The head's cost per command is measured on a fresh file at full durability: ``steps``
note steps timed one by one, then the tree caught up over them by one ``head()``
(``catch_up_per_event_ms``), and a ``head()`` after every single step
(``head_per_command_ms``). Both are given as a ratio of a step's time.
"""

from __future__ import annotations

import io
import json
import sys
import time
from typing import Any

from bench.common import fresh_db, median, quiet_logs
from engine import Actor, Engine
from tests.toy import toy_definition

ACTOR = Actor("bench-1", "requester")
REVIEWER = Actor("bench-2", "reviewer")
EVENTS_PER_INSTANCE = 10


def _instance(engine: Engine) -> None:
    iid = engine.start("toy", {"title": "t", "amount": 1}, actor=ACTOR).id
    engine.fire(iid, "review", {"score": 4}, actor=REVIEWER)
    for n in range(EVENTS_PER_INSTANCE - 2):
        engine.fire(iid, "note", {"text": f"note {n}"}, actor=ACTOR)


def _fill(url: str, start: int, events: int) -> tuple[str, float]:
    """Fill on from ``start`` to ``events``, with a new tracked request that gets a note
    every tenth of the way (so its 11 events span the events added)."""
    t0 = time.perf_counter()
    with Engine.open(f"{url}?synchronous=off", workflows=[toy_definition()], projections=[]) as e:
        tracked = str(e.start("toy", {"title": "tracked", "amount": 1}, actor=ACTOR).id)
        start += 1
        every = max((events - start) // 10, EVENTS_PER_INSTANCE)
        done = start
        while done < events:
            _instance(e)
            done += EVENTS_PER_INSTANCE
            if (done - start) // every != (done - start - EVENTS_PER_INSTANCE) // every:
                e.fire(tracked, "note", {"text": f"at {done}"}, actor=ACTOR)
                done += 1
    return tracked, time.perf_counter() - t0


def _measure(url: str, tracked: str) -> dict[str, Any]:
    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        t0 = time.perf_counter()
        head = engine.head()
        head_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        engine.head(rebuild=True)
        rebuild_s = time.perf_counter() - t0
        prove_s = []
        for _ in range(3):
            out = io.StringIO()
            t0 = time.perf_counter()
            summary = engine.prove(tracked, out)
            prove_s.append(time.perf_counter() - t0)
    with fresh_db("bundle") as path:
        path.write_text(out.getvalue(), encoding="utf-8")
        verify_s = []
        for _ in range(3):
            t0 = time.perf_counter()
            report = Engine.verify_bundle(path)
            verify_s.append(time.perf_counter() - t0)
        if not report.ok:
            raise RuntimeError(f"the bundle does not verify: {report.problems[:3]}")
    bundle = json.loads(out.getvalue())
    return {
        "tree_size": head.size,
        "head_s": round(head_s, 2),
        "rebuild_s": round(rebuild_s, 2),
        "bundle_events": summary.events,
        "bundle_bytes": summary.bytes,
        "proof_hashes": sum(len(e["proof"]) for e in bundle["events"]),
        "prove_ms": round(median(prove_s) * 1000, 1),
        "verify_bundle_ms": round(median(verify_s) * 1000, 1),
    }


def head_cost(steps: int) -> dict[str, Any]:
    """A head's cost per command, as a ratio of one step (full durability)."""
    with fresh_db("heads") as path:
        url = f"sqlite:///{path}"
        with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
            iid = engine.start("toy", {"title": "t", "amount": 1}, actor=ACTOR).id
            engine.head()
            step = []
            for n in range(steps):
                t0 = time.perf_counter()
                engine.fire(iid, "note", {"text": f"n{n}"}, actor=ACTOR)
                step.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            engine.head()
            catch_up = (time.perf_counter() - t0) / steps
            each = []
            for n in range(min(steps, 200)):
                engine.fire(iid, "note", {"text": f"m{n}"}, actor=ACTOR)
                t0 = time.perf_counter()
                engine.head()
                each.append(time.perf_counter() - t0)
    per_step = median(step)
    return {
        "steps": steps,
        "step_ms": round(per_step * 1000, 3),
        "catch_up_per_event_ms": round(catch_up * 1000, 3),
        "catch_up_vs_step": round(catch_up / per_step, 3),
        "head_per_command_ms": round(median(each) * 1000, 3),
        "head_per_command_vs_step": round(median(each) / per_step, 3),
    }


def run(small: int, large: int, steps: int = 1000) -> dict[str, Any]:
    """Fill to ``small`` events and measure; on to ``large`` and measure again."""
    out: dict[str, Any] = {"events_per_instance": EVENTS_PER_INSTANCE}
    with fresh_db("proofs") as path:
        url = f"sqlite:///{path}"
        seconds, done = 0.0, 0
        for size in (small, large):
            tracked, took = _fill(url, done, size)
            seconds, done = seconds + took, size
            out[str(size)] = _measure(url, tracked)
        out["fill_commands_per_s"] = round(large / seconds)
    out["head_cost"] = head_cost(steps)
    return out


if __name__ == "__main__":
    quiet_logs()
    small, large = (int(a) for a in sys.argv[1:3])
    print(json.dumps(run(small, large), indent=2))
