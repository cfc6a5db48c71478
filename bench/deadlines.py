"""Deadlines on a SQLite file (WAL): what scheduling costs a command, and run_due's speed.

* ``command_path``: the technical-assistance spine (7 steps per request, projections off,
  synchronous FULL) on its definition as it is, and on the same definition with two
  deadlines on every non-final state (a reminder after 5 days and an escalation after
  10 working days on a Belgian calendar): each step then cancels two deadlines and
  schedules two in its hashed event. Side by side, rounds interleaved; the ratio is
  ``with / without`` (1.0: free; the target is at least 0.9).
* ``run_due``: ``scheduled`` deadlines on ``scheduled / 2`` instances (a reminder after a
  day and a fire after 30 days each), ``due`` of them due: the time to build the due
  table from the log (``due_table_events_per_s``), then one ``run_due`` recording the due
  ones (``events_per_s``), and an idle ``run_due`` with nothing due (``idle_ms``).
  Synchronous NORMAL for the setup's sake (the figures are for firing, not fsync).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.common import fresh_db, median, ratio, side_by_side
from bench.spine import fire_steps, start_requests
from engine import (
    Actor,
    DeadlineDef,
    Engine,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
    WorkingCalendar,
)
from workflows.technical_assistance import definition

START = datetime(2024, 1, 8, 9, tzinfo=UTC)
BELGIUM = WorkingCalendar(holidays=(date(2024, 4, 1), date(2024, 5, 1), date(2024, 7, 21)))


def with_deadlines(defn: WorkflowDefinition) -> WorkflowDefinition:
    """``defn`` with a reminder and an escalation on every non-final state."""
    role = next(r for t in defn.transitions for r in t.roles if r != "system")
    marks = (
        DeadlineDef(name="nudge", days=5, action="remind", role=role),
        DeadlineDef(
            name="escalate",
            days=10,
            working_days=True,
            calendar="BE",
            action="escalate",
            role=role,
            level=1,
        ),
    )
    states = tuple(s if s.final else s.model_copy(update={"deadlines": marks}) for s in defn.states)
    return defn.model_copy(update={"states": states, "calendars": {"BE": BELGIUM}})


def _commands(requests: int, *, deadlines: bool) -> tuple[float, int]:
    defn = with_deadlines(definition()) if deadlines else definition()
    with (
        fresh_db("deadlines") as path,
        Engine.open(f"sqlite:///{path}", workflows=[defn], projections=[]) as engine,
    ):
        ids = start_requests(engine, requests)
        return fire_steps(engine, ids)


def timer_definition() -> WorkflowDefinition:
    """One waiting state with a reminder after a day and a fire after 30 days."""
    return WorkflowDefinition(
        name="timer",
        version=1,
        roles=("clerk",),
        states=(
            StateDef(
                name="waiting",
                deadlines=(
                    DeadlineDef(name="soon", days=1, action="remind", role="clerk"),
                    DeadlineDef(name="late", days=30, action="fire", trigger="expire"),
                ),
            ),
            StateDef(name="expired", final=True),
        ),
        transitions=(
            TransitionDef(trigger="open", dest="waiting", roles=("clerk",)),
            TransitionDef(
                trigger="expire", source=("waiting",), dest="expired", roles=("system", "clerk")
            ),
        ),
    )


def run_due(scheduled: int, due: int) -> dict[str, Any]:
    """``scheduled`` deadlines, ``due`` of them due: build the due table, fire them."""
    clock = {"now": START}
    clerk = Actor("c-1", "clerk")
    with (
        fresh_db("due") as path,
        Engine.open(
            f"sqlite:///{path}?synchronous=normal",
            workflows=[timer_definition()],
            projections=[],
            clock=lambda: clock["now"],
        ) as engine,
    ):
        for i in range(scheduled // 2):
            clock["now"] = START + timedelta(seconds=i)
            engine.start("timer", None, actor=clerk)
        t0 = time.perf_counter()
        assert len(engine.deadlines(limit=1)) == 1  # builds the due table
        build = time.perf_counter() - t0
        now = START + timedelta(days=1, seconds=due - 0.5)
        clock["now"] = now
        t0 = time.perf_counter()
        report = engine.run_due(now, limit=due * 2, batch=100)
        fire = time.perf_counter() - t0
        t0 = time.perf_counter()
        idle = engine.run_due(now)
        idle_ms = (time.perf_counter() - t0) * 1000
    if len(report.fired) != due or idle.claimed:
        raise RuntimeError(f"fired {len(report.fired)} of {due}")
    return {
        "scheduled": scheduled,
        "due": due,
        "due_table_seconds": round(build, 3),
        "due_table_events_per_s": round(scheduled // 2 / build),
        "run_due_seconds": round(fire, 3),
        "events_per_s": round(due / fire),
        "idle_ms": round(idle_ms, 2),
        "max_lag_seconds": report.max_lag_seconds,
    }


def run(requests: int, rounds: int, scheduled: int = 100_000, due: int = 1000) -> dict[str, Any]:
    """The command path with and without deadlines, side by side; then ``run_due``."""
    rates = side_by_side(
        {
            "without_deadlines": lambda: _commands(requests, deadlines=False),
            "with_deadlines": lambda: _commands(requests, deadlines=True),
        },
        rounds,
    )
    return {
        "requests": requests,
        "rounds": rounds,
        "steps_per_second": {k: round(median(v)) for k, v in rates.items()},
        "ratios": {
            "with_vs_without_deadlines": ratio(rates, "with_deadlines", "without_deadlines")
        },
        "run_due": run_due(scheduled, due),
    }
