"""A realistic SOCIEUX+ portfolio, loaded by sending real commands to an engine.

The demo never writes events itself: every step is an ``engine.start`` or ``engine.fire``,
so every guard, role and rule applies, and the deliberate mistakes it makes are refused
and counted. Older requests follow version 1 of the workflow, the newest version 2 (the
fourth phase); at the end the team migrates the version 1 requests still waiting in
``submitted`` or ``fine_tuned`` to version 2 (``engine.plan_migration``, then
``engine.migrate`` by a Commission officer), and the plan blocks one it cannot convert.
Dates spread over 2014-2025 through a simulated clock that the engine must be opened with::

    clock = DemoClock()
    with Engine.open("sqlite:///demo.db", workflows=definitions(), clock=clock) as engine:
        summary = run_demo(engine, clock=clock)
    print(summary.text())

or simply ``engine, clock = open_demo_engine("sqlite:///demo.db")``. ``socieux demo``
finds :data:`DEMO` through the ``socieux.demos`` entry point. The default size
mirrors the facility's published figures for 2014-2018: 64 requests, about 131 planned
activities, 34 countries. The same seed gives the same portfolio; running it again on a
database that already holds instances appends a new batch with new ids.
"""

# long module: the demo's runner, its summary and its entry point (``socieux demo``) together.

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from engine import Engine, EngineError, InstanceView, WorkflowDefinition
from workflows.technical_assistance._demo_migration import MigrationOutcome, migrate_pending
from workflows.technical_assistance._demo_privacy import PrivacyOutcome, erase_experts
from workflows.technical_assistance._demo_script import (
    PERIOD_END,
    PERIOD_START,
    Step,
    build_scripts,
)
from workflows.technical_assistance._demo_v2 import DUE
from workflows.technical_assistance.workflow import NAME, definition
from workflows.technical_assistance.workflow_v2 import definition_v2

if TYPE_CHECKING:
    from engine.cli.demos import Demo

__all__ = [
    "DEMO",
    "DemoClock",
    "DemoError",
    "DemoSession",
    "DemoSummary",
    "open_demo_engine",
    "run_demo",
]

Progress = Callable[[int, int], None]
"""Called after each command with (commands done, commands in total)."""


class DemoError(RuntimeError):
    """The demo's script went wrong: a command was refused (or accepted) unexpectedly."""


class DemoClock:
    """A settable clock for a simulated timeline: pass it to ``Engine.open(clock=...)``.

    Calling it returns the simulated time (timezone-aware, UTC); :func:`run_demo` moves
    it to each command's date.
    """

    def __init__(self, start: datetime = PERIOD_START) -> None:
        self._now = _utc(start)

    def __call__(self) -> datetime:
        """The simulated now."""
        return self._now

    def set(self, when: datetime) -> None:
        """Move the clock to ``when`` (timezone-aware)."""
        self._now = _utc(when)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        msg = "the demo clock needs timezone-aware datetimes"
        raise ValueError(msg)
    return when.astimezone(UTC)


class DemoSummary(BaseModel):
    """What a demo run produced (counts of the batch it added)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: str
    seed: int
    requests: int
    existing_before: int
    instances: int
    events: int
    states: dict[str, int]
    refusals: dict[str, int]
    countries: int
    activities: int
    experts: int
    expert_days: int
    in_progress: int
    overdue: int
    period_start: date
    period_end: date
    simulated_clock: bool
    sample_id: str | None
    versions: dict[int, int] = {}
    """Requests of the batch by workflow version, after the migration."""
    migration: MigrationOutcome | None = None
    privacy: PrivacyOutcome | None = None

    def text(self) -> str:
        """A short human summary, ending with the next commands to try."""
        states = ", ".join(f"{s} {n}" for s, n in sorted(self.states.items(), key=_by_count))
        refused = ", ".join(f"{c} {n}" for c, n in sorted(self.refusals.items(), key=_by_count))
        lines = [
            f"Loaded a demo portfolio into {self.database} (seed {self.seed}): "
            f"{self.instances} requests, {self.events} events, "
            f"{self.period_start:%b %Y} to {self.period_end:%b %Y}"
            + ("." if self.simulated_clock else " (dates stamped with the real clock)."),
        ]
        if self.existing_before:
            lines.append(
                f"Appended as a new batch: {self.existing_before} instances were already there."
            )
        lines += [
            f"By state: {states}.",
            f"{self.countries} countries, {self.activities} planned activities, "
            f"{self.experts} experts mobilised for {self.expert_days} expert-days; "
            f"{self.in_progress} in progress, {self.overdue} overdue at the end of the period.",
            f"Refused as they should be: {refused or 'none'}.",
        ]
        if self.versions:
            lines.append(
                "By workflow version: "
                + ", ".join(f"version {v} {n}" for v, n in sorted(self.versions.items()))
                + "."
            )
        if self.migration is not None:
            lines.append(self.migration.text())
        if self.privacy is not None:
            lines.append(self.privacy.text())
        lines += [
            "Next, try:",
            "  socieux list",
        ]
        if self.sample_id:
            short = self.sample_id[:8]
            lines += [f"  socieux show {short}", f"  socieux history {short}"]
        lines.append("  socieux stats")
        return "\n".join(lines)


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def open_demo_engine(
    url: str | None = None, *, workflows: Iterable[WorkflowDefinition] | None = None
) -> tuple[Engine, DemoClock]:
    """Open an engine on ``url`` with a fresh :class:`DemoClock` (and both versions of
    this workflow)."""
    clock = DemoClock()
    chosen = list(workflows or [definition(), definition_v2()])
    engine = Engine.open(url, workflows=chosen, clock=clock)
    return engine, clock


@dataclass(frozen=True)
class DemoSession:
    """An engine opened for the demo, with its clock: what ``socieux demo`` runs."""

    engine: Engine
    clock: DemoClock

    def run(
        self, *, seed: int = 1, requests: int = 64, progress: Progress | None = None
    ) -> DemoSummary:
        """:func:`run_demo` on this engine and clock."""
        return run_demo(
            self.engine, seed=seed, requests=requests, progress=progress, clock=self.clock
        )

    def close(self) -> None:
        """Close the engine."""
        self.engine.close()


class TechnicalAssistanceDemo:
    """The ``socieux.demos`` entry: the portfolio of this workflow."""

    def open(self, url: str | None) -> DemoSession:
        """:func:`open_demo_engine` on ``url``, as a session."""
        return DemoSession(*open_demo_engine(url))


DEMO: Demo = TechnicalAssistanceDemo()
"""What the ``socieux.demos`` entry point names."""


def run_demo(
    engine: Engine,
    *,
    seed: int = 1,
    requests: int = 64,
    progress: Progress | None = None,
    clock: DemoClock | None = None,
) -> DemoSummary:
    """Load ``requests`` requests (plus a few ineligible attempts) through real commands.

    ``clock`` must be the clock ``engine`` was opened with; without it, events carry the
    engine's own clock while the requests' content still follows 2014-2025.
    Raises :class:`DemoError` if the engine answers a command unexpectedly.
    """
    existing = sum(1 for _ in engine.instance_ids())
    stories = build_scripts(seed=seed, salt=existing, requests=requests)
    steps = sorted((s for story in stories for s in story), key=lambda s: (s.at, s.seq))
    views: dict[str, InstanceView] = {}
    refusals: Counter[str] = Counter()
    for done, step in enumerate(steps, 1):
        if clock is not None:
            clock.set(step.at)
        result = _send(engine, step)
        if isinstance(result, str):
            refusals[result] += 1
        else:
            views[str(result.id)] = result
        if progress is not None:
            progress(done, len(steps))
    migration, views = _migrate(engine, views, clock)
    events = sum(v.version for v in views.values())
    summary = _summary(
        engine,
        views,
        refusals,
        events,
        seed=seed,
        requests=requests,
        existing=existing,
        simulated=clock is not None,
    )
    versions = Counter(v.definition_version for v in views.values())
    privacy = erase_experts(engine, views, clock() if clock is not None else datetime.now(UTC))
    return summary.model_copy(
        update={"versions": dict(sorted(versions.items())), "migration": migration,
                "privacy": privacy}
    )  # fmt: skip


def _migrate(
    engine: Engine, views: dict[str, InstanceView], clock: DemoClock | None
) -> tuple[MigrationOutcome | None, dict[str, InstanceView]]:
    """At the end of the period, migrate the waiting version 1 requests; the views now."""
    if clock is not None:
        clock.set(PERIOD_END)
    migration = migrate_pending(engine)
    return migration, {k: engine.get(v.id) for k, v in views.items()}


def _send(engine: Engine, step: Step) -> InstanceView | str:
    """Send one command: the new view, or the error code of an expected refusal."""
    try:
        if step.trigger == DUE:
            engine.run_due(now=step.at)
            return engine.get(step.instance_id)
        if step.trigger == "submit":
            view = engine.start(
                NAME,
                step.payload,
                actor=step.actor,
                reason=step.reason,
                instance_id=step.instance_id,
                version=step.version,
            )
        else:
            view = engine.fire(
                step.instance_id, step.trigger, step.payload, actor=step.actor, reason=step.reason
            )
    except EngineError as exc:
        if exc.code == step.expect:
            return exc.code
        msg = f"demo command {step.trigger!r} on {step.instance_id} failed: {exc.message}"
        raise DemoError(msg) from exc
    if step.expect is not None:
        msg = f"demo command {step.trigger!r} on {step.instance_id} should have been refused"
        raise DemoError(msg)
    return view


def _summary(
    engine: Engine,
    views: dict[str, InstanceView],
    refusals: Counter[str],
    events: int,
    *,
    seed: int,
    requests: int,
    existing: int,
    simulated: bool,
) -> DemoSummary:
    compiled = engine.registry.get(NAME)
    end = PERIOD_END if simulated else datetime.now(UTC)
    ongoing = [v for v in views.values() if v.state not in compiled.final_states]
    overdue = [
        v
        for v in ongoing
        if v.state in compiled.sla_days
        and v.state_entered_at + timedelta(days=compiled.sla_days[v.state]) < end
    ]
    experts = {(e["id"]) for v in views.values() for e in v.data.get("experts", [])}
    done = [v for v in views.values() if v.state == "disseminated"]
    sample = next(iter(done or list(views.values())), None)
    return DemoSummary(
        database=engine.url,
        seed=seed,
        requests=requests,
        existing_before=existing,
        instances=len(views),
        events=events,
        states=dict(Counter(v.state for v in views.values())),
        refusals=dict(refusals),
        countries=len({v.data.get("country") for v in views.values()}),
        activities=sum(len(v.data.get("activities", [])) for v in views.values()),
        experts=len(experts),
        expert_days=sum(e["days"] for v in views.values() for e in v.data.get("experts", [])),
        in_progress=len(ongoing),
        overdue=len(overdue),
        period_start=PERIOD_START.date(),
        period_end=PERIOD_END.date(),
        simulated_clock=simulated,
        sample_id=str(sample.id) if sample is not None else None,
    )
