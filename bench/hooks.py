"""Hooks on a SQLite file (WAL, synchronous FULL): what a subscriber costs and delivers.

* ``commands_without_hooks`` / ``commands_with_a_hook``: the 7-step command path
  (projections off) with no subscriber, and with one no-op subscriber delivering in the
  background while the commands run (its deliveries compete for the one writer lock).
* ``delivery``: a new subscriber with ``start="beginning"`` drains a backlog of every
  recorded event (one durable position update per event: at least once, re-delivering at
  most the event in flight after a crash), side by side with ``raw_scan``, the floor:
  reading and decoding the same notifications without calling anything.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import fresh_db, median, ratio, side_by_side
from bench.spine import fire_steps, start_requests
from engine import Engine
from engine.projection.protocol import ProjectedEvent
from workflows.technical_assistance import definition


def _commands(requests: int, *, hook: bool) -> tuple[float, int]:
    with (
        fresh_db("hooks") as path,
        Engine.open(f"sqlite:///{path}", workflows=[definition()], projections=[]) as engine,
    ):
        ids = start_requests(engine, requests)
        if hook:
            engine.subscribe(lambda _e: None, name="noop")
        seconds, events = fire_steps(engine, ids)
        if hook:
            engine.drain_hooks(timeout=600)
        return seconds, events


def _backlog(requests: int, *, deliver: bool) -> tuple[float, int]:
    with (
        fresh_db("backlog") as path,
        Engine.open(f"sqlite:///{path}", workflows=[definition()], projections=[]) as engine,
    ):
        fire_steps(engine, start_requests(engine, requests))
        seen = [0]

        def count(_event: ProjectedEvent) -> None:
            seen[0] += 1

        t0 = time.perf_counter()
        if deliver:
            engine.subscribe(count, name="backlog", start="beginning", background=False)
            engine.drain_hooks(timeout=600)
        else:
            app, start = engine.application, 0
            while page := app.recorder.select_notifications(start, 100, inclusive_of_start=False):
                for n in page:
                    ProjectedEvent.from_domain(n.id, app.mapper.to_domain_event(n))
                    seen[0] += 1
                start = page[-1].id
        return time.perf_counter() - t0, seen[0]


def run(requests: int, rounds: int) -> dict[str, Any]:
    """``requests`` requests x 7 steps (8 events each with the start) per round."""
    rates = side_by_side(
        {
            "commands_without_hooks": lambda: _commands(requests, hook=False),
            "commands_with_a_hook": lambda: _commands(requests, hook=True),
            "delivery": lambda: _backlog(requests, deliver=True),
            "raw_scan": lambda: _backlog(requests, deliver=False),
        },
        rounds,
    )
    return {
        "requests": requests,
        "rounds": rounds,
        "events_per_second": {k: round(median(v)) for k, v in rates.items()},
        "ratios": {
            "commands_with_a_hook_vs_without": ratio(
                rates, "commands_with_a_hook", "commands_without_hooks"
            ),
            "delivery_vs_raw_scan": ratio(rates, "delivery", "raw_scan"),
            "delivery_vs_commands": ratio(rates, "delivery", "commands_without_hooks"),
        },
    }
