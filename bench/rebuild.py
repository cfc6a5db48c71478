"""Projection rebuild on SQLite: events/s next to a raw scan of the same notification log.

``python -m bench.rebuild --db FILE`` times one ``engine.rebuild_projections()`` of the
built-in read models on a kept file (the demo portfolio of :mod:`bench.portfolio`, say):
wall and CPU seconds. For a before/after on the same file, run this file by its path from
outside the tree with ``PYTHONPATH`` set to the other tree (its engine and read models are
then the ones timed).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.common import fresh_db, timed
from engine import Actor, Engine
from projections import builtin
from tests.toy import toy_definition

BATCH = 5000
DESIGN_TARGET = 20_000
"""DESIGN section 7: a projection rebuild of at least 20k events/s on SQLite."""


def _fill(url: str, events: int) -> None:
    actor = Actor("bench-1", "requester")
    reviewer = Actor("bench-2", "reviewer")
    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        for _ in range(events // 10):
            iid = engine.start("toy", {"title": "t", "amount": 1}, actor=actor).id
            engine.fire(iid, "review", {"score": 4}, actor=reviewer)
            for n in range(8):
                engine.fire(iid, "note", {"text": f"note {n}"}, actor=actor)


def scan(engine: Engine, *, decode: bool) -> int:
    """Read every notification in pages (and decode each into a domain event)."""
    recorder, mapper = engine.application.recorder, engine.application.mapper
    start, seen = None, 0
    while True:
        page = recorder.select_notifications(start, BATCH, inclusive_of_start=False)
        if decode:
            for n in page:
                mapper.to_domain_event(n)
        seen += len(page)
        if len(page) < BATCH:
            return seen
        start = page[-1].id


def run(events: int) -> dict[str, Any]:
    """Fill a SQLite file with ``events`` events, then time scans and a full rebuild."""
    with fresh_db("rebuild") as path:
        url = f"sqlite:///{path}"
        _fill(f"{url}?synchronous=off", events)
        with Engine.open(
            url, workflows=[toy_definition()], projections=builtin(), projection_mode="worker"
        ) as engine:
            raw_s, n = timed(lambda: scan(engine, decode=False))
            decode_s, _ = timed(lambda: scan(engine, decode=True))
            rebuild_s, rebuilt = timed(engine.rebuild_projections)
        if not rebuilt == n == events:
            raise RuntimeError(f"rebuilt {rebuilt}, scanned {n}, filled {events}")
    return {
        "events": events,
        "raw_scan_events_per_s": round(n / raw_s),
        "scan_and_decode_events_per_s": round(n / decode_s),
        "rebuild_events_per_s": round(n / rebuild_s),
        "rebuild_vs_raw_scan": round(raw_s / rebuild_s, 3),
        "rebuild_vs_scan_and_decode": round(decode_s / rebuild_s, 3),
        "target_rebuild_events_per_s": DESIGN_TARGET,
        "projections": [p.name for p in builtin()],
    }


def on_file(path: Path) -> dict[str, Any]:
    """One rebuild of the built-in read models in ``path``: events/s, wall and per CPU-second."""
    from bench.portfolio import _workflows

    url = f"sqlite:///{path}"
    with Engine.open(
        url, workflows=_workflows(), projections=builtin(), projection_mode="worker"
    ) as e:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        events = e.rebuild_projections()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "events": events,
        "events_per_s": round(events / wall),
        "cpu_events_per_s": round(events / cpu),
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
    }


if __name__ == "__main__":
    from bench.common import quiet_logs

    parser = argparse.ArgumentParser(prog="python -m bench.rebuild")
    parser.add_argument("--db", type=Path, required=True, help="a filled SQLite file")
    quiet_logs()
    print(json.dumps(on_file(parser.parse_args().db)))
