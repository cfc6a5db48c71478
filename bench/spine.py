"""The benchmarked workflow: a technical-assistance request's spine, as 7 steps.

Every system in the command-path suites does the same thing per request: the request
already exists (``submit`` was recorded in the setup), then 7 steps are fired on it:
``fine_tune, approve, mobilise, record_activity, implement, evaluate, disseminate``.
The action plan has one activity, so ``record_activity`` is fired once.

Payloads come from :mod:`workflows.technical_assistance.builders`; actors are the
builders' ``ACTORS`` (one per role, as :func:`~workflows.technical_assistance.builders.walk_to`
uses them). Steps are fired round-robin (step 1 on every request, then step 2 ...), so
each step lands on an existing instance that is not the one just written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from engine import Actor, Engine
from projections import builtin
from workflows.technical_assistance import definition
from workflows.technical_assistance.builders import (
    ACTORS,
    action_plan_payload,
    activity_payload,
    activity_record_payload,
    approval_payload,
    dissemination_payload,
    evaluation_payload,
    mobilisation_payload,
    request_payload,
)

__all__ = [
    "START",
    "STEPS",
    "WORKFLOW",
    "EngineRun",
    "Step",
    "fire_steps",
    "run_engine",
    "start_requests",
]

WORKFLOW = "technical-assistance"


@dataclass(frozen=True)
class Step:
    """One command: trigger, who fires it, the payload (a plain dict, or None)."""

    trigger: str
    actor: Actor
    payload: dict[str, Any] | None
    source: str
    dest: str


def _steps() -> tuple[Step, tuple[Step, ...]]:
    activity = activity_payload("A1", start=date(2024, 4, 1), days=19)
    plan = action_plan_payload([activity])
    submit = Step("submit", ACTORS["partner"], request_payload(), "initial", "submitted")
    steps = (
        Step("fine_tune", ACTORS["team"], plan, "submitted", "fine_tuned"),
        Step("approve", ACTORS["commission"], approval_payload(), "fine_tuned", "approved"),
        Step(
            "mobilise",
            ACTORS["team"],
            mobilisation_payload(plan["activities"]),
            "approved",
            "mobilised",
        ),
        Step(
            "record_activity",
            ACTORS["expert"],
            activity_record_payload(activity),
            "mobilised",
            "mobilised",
        ),
        Step("implement", ACTORS["team"], {}, "mobilised", "implemented"),
        Step("evaluate", ACTORS["evaluator"], evaluation_payload(2), "implemented", "evaluated"),
        Step("disseminate", ACTORS["team"], dissemination_payload(), "evaluated", "disseminated"),
    )
    return submit, steps


START, STEPS = _steps()
"""``START`` is the ``submit`` done in setup; ``STEPS`` are the 7 timed steps."""


def start_requests(engine: Engine, requests: int) -> list[UUID]:
    """Record ``requests`` submitted requests (the untimed setup)."""
    return [engine.start(WORKFLOW, START.payload, actor=START.actor).id for _ in range(requests)]


def fire_steps(engine: Engine, ids: list[UUID]) -> tuple[float, int]:
    """Fire the 7 steps on every request, round-robin; (seconds, events recorded)."""
    t0 = time.perf_counter()
    for step in STEPS:
        for iid in ids:
            engine.fire(iid, step.trigger, step.payload, actor=step.actor)
    seconds = time.perf_counter() - t0
    last = engine.get(ids[-1])
    if (last.state, last.version) != ("disseminated", 1 + len(STEPS)):
        raise RuntimeError(f"the walk ended at {last.state} v{last.version}")
    return seconds, len(ids) * len(STEPS)


@dataclass(frozen=True)
class EngineRun:
    """One engine run: the 7 steps' time, then the time to catch the projections up."""

    seconds: float
    catch_up_seconds: float
    events: int
    mode: str

    @property
    def with_catch_up(self) -> tuple[float, int]:
        """(seconds including the catch-up, events): the cost with read models current."""
        return self.seconds + self.catch_up_seconds, self.events


def run_engine(
    url: str, requests: int, *, projections: list[Any] | None, mode: str | None
) -> EngineRun:
    """Open an engine at ``url`` (``projections=None``: the built-in ones; ``mode``: the
    projection mode, ``None`` for the engine's default), start the requests and bring
    the projections up to date (untimed), then time the 7 steps on each request, then
    time catching the projections up (nothing to do in ``inline`` mode)."""
    chosen = builtin() if projections is None else projections
    with Engine.open(
        url, workflows=[definition()], projections=chosen, projection_mode=mode
    ) as engine:
        ids = start_requests(engine, requests)
        engine.catch_up_projections()
        seconds, events = fire_steps(engine, ids)
        t0 = time.perf_counter()
        engine.catch_up_projections()
        catch_up = time.perf_counter() - t0
        return EngineRun(seconds, catch_up, events, engine.projection_mode)
