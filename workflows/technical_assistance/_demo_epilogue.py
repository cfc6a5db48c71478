"""The demo's epilogue: its closing steps, run in order at the run's "today", after every
request's story (see :mod:`workflows.technical_assistance.demo`).

Each step is a function of one :class:`Epilogue` (the engine, today, the batch's ids, and
what earlier steps reported). :data:`EPILOGUE` migrates the waiting version 1 requests to
version 2, every open version 2 request to version 3, fires the deadlines due by today,
then two experts ask to be forgotten (one erased, one deferred by retention), and the team
corrects a few records with four eyes and adds notes (:mod:`._demo_audit`). A feature
that wants the demo to show it adds its own step at the end of :data:`EPILOGUE` (or a
caller passes ``epilogue=(*EPILOGUE, step)`` to ``run_demo``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from engine import Engine
from workflows.technical_assistance._demo_audit import AmendmentOutcome, show_amendments
from workflows.technical_assistance._demo_migration import (
    MigrationOutcome,
    migrate_open,
    migrate_pending,
)
from workflows.technical_assistance._demo_privacy import PrivacyOutcome, erase_experts
from workflows.technical_assistance.workflow import NAME

__all__ = [
    "EPILOGUE",
    "Epilogue",
    "EpilogueStep",
    "fire_due_deadlines",
    "forget_experts",
    "migrate_open_v2",
    "migrate_waiting_v1",
]


@dataclass
class Epilogue:
    """What the demo's closing steps share: the engine, the run's today (the clock is
    there already), the ids of the batch, and what the steps report."""

    engine: Engine
    today: datetime
    batch: list[UUID]
    migrations: list[MigrationOutcome] = field(default_factory=list)
    privacy: PrivacyOutcome | None = None
    amendments: AmendmentOutcome | None = None
    refusals: list[str] = field(default_factory=list)
    """Error codes of the commands the steps expected to be refused."""


EpilogueStep = Callable[[Epilogue], None]
"""One closing step of the demo, run at "today" after every request's story."""


def migrate_waiting_v1(epilogue: Epilogue) -> None:
    """The team moves the version 1 requests waiting in ``submitted`` or ``fine_tuned`` to
    version 2 (one is blocked: its institution is not in the 2025.1 registry)."""
    engine = epilogue.engine
    on_v1 = [i for i in epilogue.batch if engine.get(i).definition_version == 1]
    outcome = migrate_pending(engine, on_v1) if on_v1 else None
    if outcome is not None:
        epilogue.migrations.append(outcome)


def migrate_open_v2(epilogue: Epilogue) -> None:
    """The team moves every open version 2 request of the batch to version 3; the
    migration schedules their escalations, from when each entered its state."""
    engine = epilogue.engine
    final = engine.registry.get(NAME).final_states
    views = (engine.get(i) for i in epilogue.batch)
    chosen = [v.id for v in views if v.definition_version == 2 and v.state not in final]
    outcome = migrate_open(engine, chosen)
    if outcome is not None:
        epilogue.migrations.append(outcome)


def fire_due_deadlines(epilogue: Epilogue) -> None:
    """The deadline runner passes at "today": every deadline due by then fires once."""
    for _ in range(1000):  # bounded: each pass fires up to 1,000
        if not epilogue.engine.run_due(now=epilogue.today).fired:
            return


def forget_experts(epilogue: Epilogue) -> None:
    """Two experts ask to be forgotten: one of long-closed requests only is erased (the
    team requests it, the privacy officer approves it), one within retention is deferred."""
    engine = epilogue.engine
    views = {str(i): engine.get(i) for i in epilogue.batch}
    epilogue.privacy = erase_experts(engine, views, epilogue.today)


EPILOGUE: tuple[EpilogueStep, ...] = (
    migrate_waiting_v1,
    migrate_open_v2,
    fire_due_deadlines,
    forget_experts,
    show_amendments,
)
"""The demo's closing steps, in order (a host or another feature may add its own: pass
``epilogue=(*EPILOGUE, my_step)`` to :func:`run_demo`)."""
