"""The read side on a realistic portfolio: rebuild and ``requests()`` at 100k requests.

The portfolio is made by the technical-assistance demo generator (``run_demo``: real
commands, both workflow versions, full lifecycles, refusals and migrations), in batches
of 10k requests, into a SQLite file with ``?synchronous=off`` and ``projections=[]``
(durability does not matter for a fill). That takes minutes at 100k, so a file can be
kept and measured again: ``python -m bench.portfolio --db FILE`` fills FILE only if it
holds no events yet.

Measured on it, each against its target (issue 19):

* ``rebuild``: ``engine.rebuild_projections()`` of the built-in read models, events/s
  (target at least 20k), and the process's CPU seconds beside the wall time;
* ``requests``: every filter alone, every sort, a deep page through a cursor (and the
  same depth through ``offset``, for comparison), each p50/p99 in ms (target under 10);
* ``portfolio``: ``engine.portfolio()`` (the console's first page, uncached).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.common import fresh_db, latency_ms, quiet_logs
from engine import Engine
from projections import builtin

BATCH = 10_000
REBUILD_TARGET = 20_000
"""Issue 19: a rebuild of at least 20k events/s on the realistic portfolio."""
QUERY_TARGET_MS = 10.0
"""Issue 19: every ``requests()`` query under 10 ms at 100k requests."""


def _workflows() -> list[Any]:
    from workflows.technical_assistance import definitions

    return list(definitions())  # every version the demo uses


def fill(path: Path, requests: int) -> dict[str, Any]:
    """Load ``requests`` demo requests into ``path`` (if it holds no events yet)."""
    from workflows.technical_assistance.demo import DemoClock, run_demo

    with Engine.open(f"sqlite:///{path}", workflows=_workflows(), projections=[]) as engine:
        if next(iter(engine.instance_ids()), None) is not None:
            return {"reused": str(path)}
    t0 = time.perf_counter()
    events, done = 0, 0
    while done < requests:
        size = min(BATCH, requests - done)
        clock = DemoClock()  # each batch spans the demo's whole period again
        url = f"sqlite:///{path}?synchronous=off"
        with Engine.open(url, workflows=_workflows(), clock=clock, projections=[]) as engine:
            summary = run_demo(engine, seed=1 + done, requests=size, clock=clock)
        events += summary.events
        done += size
    seconds = time.perf_counter() - t0
    return {"filled_requests": done, "fill_events_per_s": round(events / seconds)}


def _rebuild(engine: Engine) -> dict[str, Any]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    events = engine.rebuild_projections()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    rate = round(events / wall)
    return {
        "events": events,
        "events_per_s": rate,
        "cpu_events_per_s": round(events / cpu),
        "seconds": round(wall, 1),
        "target_events_per_s": REBUILD_TARGET,
        "met": rate >= REBUILD_TARGET,
    }


def _queries(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every filter alone, every sort, combined filters: name -> filters."""
    sample = list(engine.requests(limit=200, order="created"))
    first = sample[len(sample) // 2]
    areas = engine.projection("requests").areas()
    since = sorted(r.updated_at for r in sample)[len(sample) // 2]
    queries: dict[str, dict[str, Any]] = {
        "latest": {},
        "order_created": {"order": "created"},
        "order_id": {"order": "id"},
        "state": {"state": "disseminated"},
        "state_order_created": {"state": "disseminated", "order": "created"},
        "country": {"country": first.country},
        "region": {"region": first.region},
        "area": {"area": areas[len(areas) // 2]},
        "area_order_created": {"area": areas[len(areas) // 2], "order": "created"},
        "institution": {"institution": first.institution},
        "institution_type": {"institution_type": first.institution_type},
        "workflow": {"workflow": first.workflow},
        "definition_version": {"definition_hash": engine.registry.all()[-1].hash},
        "overdue": {"overdue": True},
        "since": {"since": since},
        "until": {"until": since},
        "q_common_word": {"q": "ministry"},
        "q_institution_name": {"q": first.institution or "ministry"},
        "q_no_match": {"q": "zqxw"},
        "q_two_letters": {"q": "zq"},
        "state_and_country": {"state": "submitted", "country": first.country},
        "state_and_area": {"state": "disseminated", "area": areas[len(areas) // 2]},
    }
    return queries


def _deep_cursor(engine: Engine, depth: int) -> str | None:
    """The cursor after ``depth`` rows of the default order (pages of 10,000)."""
    cursor, seen = None, 0
    while seen < depth:
        page = engine.requests(limit=min(10_000, depth - seen), cursor=cursor)
        seen += len(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    return cursor


def _reads(engine: Engine, repeat: int) -> dict[str, Any]:
    total = engine.requests(limit=1).total
    out: dict[str, Any] = {}
    for name, filters in _queries(engine).items():
        matches = engine.requests(limit=1, **filters).total
        out[name] = {
            "matches": matches,
            **latency_ms(lambda f=filters: engine.requests(**f), repeat),
        }
    depth = total // 2
    cursor = _deep_cursor(engine, depth)
    if cursor is not None:
        out[f"page_after_{depth}_by_cursor"] = {
            "matches": total,
            **latency_ms(lambda: engine.requests(cursor=cursor), repeat),
        }
        out[f"page_at_offset_{depth}"] = {
            "matches": total,
            **latency_ms(lambda: engine.requests(offset=depth), max(3, repeat // 4)),
        }
    for name, figures in out.items():
        figures["met"] = figures["p50_ms"] < QUERY_TARGET_MS or name.startswith("page_at_offset")
    return out


def measure(path: Path, repeat: int) -> dict[str, Any]:
    """Rebuild, then every query, on the portfolio in ``path``."""
    url = f"sqlite:///{path}"
    mode = "worker"  # no catch-up on opening: the rebuild below is the one replay
    with Engine.open(url, workflows=_workflows(), projections=builtin(), projection_mode=mode) as e:
        rebuild = _rebuild(e)
        requests = e.requests(limit=1).total
        reads = _reads(e, repeat)
        t0 = time.perf_counter()
        e.portfolio()
        portfolio_ms = round((time.perf_counter() - t0) * 1000, 1)
    return {
        "requests": requests,
        "rebuild": rebuild,
        "requests_query": reads,
        "query_target_ms": QUERY_TARGET_MS,
        "portfolio_figures_ms": portfolio_ms,
    }


def run(requests: int, repeat: int, db: Path | None = None) -> dict[str, Any]:
    """Fill (or reuse ``db``), then :func:`measure`."""
    if db is not None:
        return {**fill(db, requests), **measure(db, repeat)}
    with fresh_db("portfolio") as path:
        return {**fill(path, requests), **measure(path, repeat)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.portfolio")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", type=Path, help="fill this file once and reuse it")
    args = parser.parse_args()
    quiet_logs()
    print(json.dumps(run(args.requests, args.repeat, args.db), indent=2))
