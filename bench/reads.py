"""The read side: ``requests()`` latency over many instances, ``get(as_of=...)`` on a
1,000-event instance with and without snapshots, and ``verify()`` throughput.

Every instance is created through the engine (``engine.start``, ``engine.fire``); no
read-model row is written directly. The fills run with ``?synchronous=off`` (the URL
option; durability does not matter for a fill) and ``projections=[]``; the built-in
projections then catch up when the measuring engine opens (the same code as a rebuild).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.common import fresh_db, latency_ms, timed
from bench.spine import START, WORKFLOW
from engine import Actor, Engine
from engine.persistence.store import SNAPSHOT_INTERVAL
from projections import builtin
from tests.toy import toy_definition
from workflows.technical_assistance import definition
from workflows.technical_assistance.builders import ACTORS, action_plan_payload, request_payload

COUNTRIES = ("KH", "PE", "SN", "UA", "MA", "CO", "PH", "ET", "GE", "JO")
AREAS = (
    ("sp.financing", "sp.insurance.pensions"),
    ("sp.assistance.cash_transfers",),
    ("sp.insurance.health", "sp.information"),
)
FINE_TUNED_EVERY = 10
AS_OF_TARGET_MS = 5
"""Issue 19: ``get(as_of=...)`` under 5 ms anywhere in a 1,000-event instance."""


# ---------------------------------------------------------------------- requests
def _fill_requests(path: Path, instances: int) -> dict[str, Any]:
    payloads = [request_payload(country=c, areas=a) for c in COUNTRIES for a in AREAS]
    plan = action_plan_payload()
    t0 = time.perf_counter()
    with Engine.open(
        f"sqlite:///{path}?synchronous=off", workflows=[definition()], projections=[]
    ) as engine:
        for n in range(instances):
            view = engine.start(WORKFLOW, payloads[n % len(payloads)], actor=START.actor)
            if n % FINE_TUNED_EVERY == 0:
                engine.fire(view.id, "fine_tune", plan, actor=ACTORS["team"])
    fill_s = time.perf_counter() - t0
    events = instances + -(-instances // FINE_TUNED_EVERY)
    t0 = time.perf_counter()
    with Engine.open(f"sqlite:///{path}", workflows=[definition()], projections=builtin()):
        pass  # opening catches the projections up
    catch_up_s = time.perf_counter() - t0
    return {
        "instances": instances,
        "events": events,
        "fill_commands_per_s": round(events / fill_s),
        "projection_catch_up_events_per_s": round(events / catch_up_s),
    }


def _queries(engine: Engine, instances: int, repeat: int) -> dict[str, Any]:
    deep = instances // 2 // 50 * 50
    queries: dict[str, dict[str, Any]] = {
        "latest_50": {},
        "state_fine_tuned_10pct": {"state": "fine_tuned"},
        "state_submitted_90pct": {"state": "submitted"},
        "country_KH_10pct": {"country": "KH"},
        "area_sp.financing_33pct": {"area": "sp.financing"},
        "state_and_country": {"state": "submitted", "country": "PE"},
        f"latest_at_offset_{deep}": {"offset": deep},
    }
    out: dict[str, Any] = {}
    for name, filters in queries.items():
        rows = engine.requests(**filters)
        if len(rows) != 50:
            raise RuntimeError(f"{name}: {len(rows)} rows")
        out[name] = latency_ms(lambda f=filters: engine.requests(**f), repeat)
    return out


# ---------------------------------------------------------------------- as_of
def _fill_long_instance(path: Path, events: int) -> None:
    requester, reviewer = Actor("bench-1", "requester"), Actor("bench-2", "reviewer")
    with Engine.open(
        f"sqlite:///{path}?synchronous=off", workflows=[toy_definition()], projections=[]
    ) as engine:
        iid = engine.start("toy", {"title": "long", "amount": 1}, actor=requester).id
        engine.fire(iid, "review", {"score": 4}, actor=reviewer)
        for n in range(events - 2):
            engine.fire(iid, "note", {"text": f"note {n}"}, actor=requester)


def _as_of(path: Path, events: int, repeat: int) -> dict[str, Any]:
    _fill_long_instance(path, events)
    url = f"sqlite:///{path}"
    with (
        Engine.open(url, workflows=[toy_definition()], projections=[]) as engine,
        Engine.open(url, workflows=[toy_definition()], projections=[]) as plain,
    ):
        # "Without snapshots": the same engine code with the application's snapshot store
        # detached, so get(as_of=...) replays the instance's events from version 1.
        plain.application.snapshots = None
        iid = next(engine.instance_ids())
        stamps = {e.originator_version: e.timestamp for e in engine.application.events.get(iid)}
        snapshots = len(list(engine.application.snapshots.get(iid)))  # type: ignore[union-attr]
        out: dict[str, Any] = {"events": len(stamps), "snapshots_stored": snapshots}
        for version in (events, events - 25, events // 2, 10):
            at = stamps[version]
            a, b = engine.get(iid, as_of=at), plain.get(iid, as_of=at)
            if (a.version, b.version) != (version, version) or a.data != b.data:
                raise RuntimeError(f"as_of v{version}: {a.version} / {b.version}")
            out[f"as_of_v{version}"] = {
                "with_snapshots": latency_ms(lambda t=at: engine.get(iid, as_of=t), repeat),
                "without_snapshots": latency_ms(lambda t=at: plain.get(iid, as_of=t), repeat),
            }
        out["sweep"] = _sweep(engine, iid, stamps, repeat)
    return out


def _sweep(engine: Engine, iid: Any, stamps: dict[int, Any], repeat: int) -> dict[str, Any]:
    """``get(as_of=)`` at every 10th version and at the last version before each snapshot
    (the most events to replay): the worst p50, with its p99 ("anywhere in the instance")."""
    last = len(stamps)
    versions = sorted(
        {*range(1, last + 1, 10), *range(SNAPSHOT_INTERVAL - 1, last + 1, SNAPSHOT_INTERVAL), last}
    )
    worst: dict[str, Any] = {"p50_ms": 0.0}
    for version in versions:
        figures = latency_ms(lambda t=stamps[version]: engine.get(iid, as_of=t), repeat, warmup=1)
        if figures["p50_ms"] > worst["p50_ms"]:
            worst = {**figures, "version": version}
    return {
        "versions_timed": len(versions),
        "worst": worst,
        "met": worst["p50_ms"] < AS_OF_TARGET_MS,
    }


# ---------------------------------------------------------------------- verify
def verify_available() -> str | None:
    """``None`` if ``Engine.verify`` exists, else why it is skipped."""
    if not hasattr(Engine, "verify"):
        return "Engine.verify() does not exist in this tree (engine/audit not merged yet)"
    return None


def _verify(engine: Engine) -> dict[str, Any]:
    why = verify_available()
    if why is not None:
        return {"skipped": why}
    seconds, report = timed(engine.verify)
    if not report.ok:
        raise RuntimeError(f"verify found problems: {report.problems[:3]}")
    return {
        "events": report.events_checked,
        "instances": report.instances_checked,
        "events_per_s": round(report.events_checked / seconds),
    }


def run(instances: int, repeat: int, long_events: int = 1000) -> dict[str, Any]:
    """``requests()`` over ``instances``, ``as_of`` on ``long_events``, ``verify``."""
    with fresh_db("reads") as path:
        fill = _fill_requests(path, instances)
        with Engine.open(
            f"sqlite:///{path}", workflows=[definition()], projections=builtin()
        ) as engine:
            queries = _queries(engine, instances, repeat)
            verify = _verify(engine)
    with fresh_db("as_of") as path:
        as_of = _as_of(path, long_events, max(5, repeat // 4))
    return {
        "requests_query": {**fill, "latency": queries, "target_p50_ms": 50},
        "as_of": {**as_of, "target_ms": AS_OF_TARGET_MS},
        "verify": verify,
    }
