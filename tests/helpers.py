"""Small helpers shared by tests."""

from __future__ import annotations

from uuid import UUID

from engine import Actor, Engine
from engine.testing import StepClock

__all__ = ["APPROVER", "REQUESTER", "REVIEWER", "StepClock", "event_count", "submit"]

REQUESTER = Actor("req-1", "requester")
REVIEWER = Actor("rev-1", "reviewer")
APPROVER = Actor("app-1", "approver")


def event_count(engine: Engine) -> int:
    """Total number of events in the store, counted row by row through the recorder.

    (PostgreSQL notification ids can have gaps after refused inserts, so the max id is not
    a count.)
    """
    recorder = engine.application.recorder
    total, start = 0, None
    while True:
        page = recorder.select_notifications(start, 500, inclusive_of_start=False)
        total += len(page)
        if len(page) < 500:
            return total
        start = page[-1].id


def submit(engine: Engine, amount: int = 10) -> UUID:
    return engine.start("toy", {"title": "t", "amount": amount}, actor=REQUESTER).id
