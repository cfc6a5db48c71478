# long module: the demo's runner, its summary and its entry point (``socieux demo``) together.
"""A realistic SOCIEUX+ portfolio, loaded by sending real commands to an engine.

The demo never writes events itself: every step is an ``engine.start`` or ``engine.fire``
(or the engine's deadline runner, ``engine.run_due``), so every guard, role and rule
applies, and the deliberate mistakes it makes are refused and counted. Its timeline ends
at the run's "today" (the real date, or ``today=``), and its end state is what a live
portfolio looks like that day: the latest requests open at every stage of the spine,
some escalated past their SLA, some deemed favourable by the EU Delegation's silence.
Older requests follow version 1 of the workflow, those of the last 18 months version 2,
the newest version 3. Then the demo's *epilogue* (:data:`EPILOGUE`, steps run in order
at "today") migrates the version 1 requests still waiting in ``submitted`` or
``fine_tuned`` to version 2 (``engine.plan_migration``, then ``engine.migrate`` by a
Commission officer; the plan blocks one it cannot convert), every open version 2 request
to version 3, and fires the deadlines due by then. Dates follow a simulated clock that the
engine must be opened with::

    clock = DemoClock()
    with Engine.open("sqlite:///demo.db", workflows=definitions(), clock=clock) as engine:
        summary = run_demo(engine, clock=clock)
    print(summary.text())

or simply ``engine, clock = open_demo_engine("sqlite:///demo.db")``. ``socieux demo``
finds :data:`DEMO` through the ``socieux.demos`` entry point. The default size
mirrors the facility's published figures for 2014-2018: 64 requests, about 131 planned
activities, 34 countries. The same seed and today give the same portfolio; running it
again on a database that already holds instances appends a new batch with new ids, which
continues the portfolio up to today: from the store's latest event, or from three years
before today if that is later (never from 2014 again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from engine import Engine, EngineError, InstanceView, WorkflowDefinition
from workflows.technical_assistance._demo_audit import (
    REPORTS,
    AmendmentOutcome,
    attach_reports,
    late_entry,
    with_reports,
)
from workflows.technical_assistance._demo_epilogue import EPILOGUE, Epilogue, EpilogueStep
from workflows.technical_assistance._demo_migration import MigrationOutcome, migrate_open
from workflows.technical_assistance._demo_privacy import PrivacyOutcome
from workflows.technical_assistance._demo_script import (
    LAUNCH_V3,
    PERIOD_START,
    TICK,
    Step,
    Timeline,
    build_scripts,
    launch_v3,
    ticks,
)
from workflows.technical_assistance._demo_v2 import DUE
from workflows.technical_assistance.workflow import NAME, definition
from workflows.technical_assistance.workflow_v2 import definition_v2
from workflows.technical_assistance.workflow_v3 import definition_v3

if TYPE_CHECKING:
    from engine.cli.demos import Demo

__all__ = [
    "DEMO",
    "EPILOGUE",
    "DemoClock",
    "DemoError",
    "DemoSession",
    "DemoSummary",
    "Epilogue",
    "EpilogueStep",
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
    """Requests of the batch by workflow version, after the migrations."""
    migration: MigrationOutcome | None = None
    """The migration of the waiting version 1 requests to version 2."""
    migration_v3: MigrationOutcome | None = None
    """The migration of the open version 2 requests to version 3."""
    escalated: int = 0
    """Requests of the batch with an escalation past an SLA."""
    deemed_favourable: int = 0
    """Requests of the batch whose Delegation's silence counted as consent."""
    privacy: PrivacyOutcome | None = None
    """The experts the demo forgot (one erased, one deferred by retention), as pseudonyms."""
    amendments: AmendmentOutcome | None = None
    """Corrections (and their approvals), validated reports on file, notes, late entries."""

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
            f"{self.in_progress} in progress, {self.overdue} overdue on {self.period_end}; "
            f"{self.escalated} escalated past their SLA, {self.deemed_favourable} deemed "
            "favourable by the EU Delegation's silence.",
            f"Refused as they should be: {refused or 'none'}.",
        ]
        if self.versions:
            lines.append(
                "By workflow version: "
                + ", ".join(f"version {v} {n}" for v, n in sorted(self.versions.items()))
                + "."
            )
        lines += [m.text() for m in (self.migration, self.migration_v3) if m is not None]
        if self.privacy is not None:
            lines.append(self.privacy.text())
        if self.amendments is not None:
            lines.append(self.amendments.text())
        lines += [
            "Next, try:",
            "  socieux list",
            "  socieux inbox --as socieux_team:team-1",
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
    """Open an engine on ``url`` with a fresh :class:`DemoClock` (and every version of
    this workflow)."""
    clock = DemoClock()
    chosen = list(workflows or [definition(), definition_v2(), definition_v3()])
    engine = Engine.open(url, workflows=chosen, clock=clock)
    return engine, clock


@dataclass(frozen=True)
class DemoSession:
    """An engine opened for the demo, with its clock: what ``socieux demo`` runs."""

    engine: Engine
    clock: DemoClock
    today: datetime | None = None
    """The run's today (default: the real date and time when it runs)."""

    def run(
        self,
        *,
        seed: int = 1,
        requests: int = 64,
        progress: Progress | None = None,
        today: datetime | None = None,
    ) -> DemoSummary:
        """:func:`run_demo` on this engine and clock (``today``: this run's, else the
        session's)."""
        return run_demo(
            self.engine,
            seed=seed,
            requests=requests,
            progress=progress,
            clock=self.clock,
            today=today or self.today,
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
    today: datetime | None = None,
    epilogue: Sequence[EpilogueStep] = EPILOGUE,
) -> DemoSummary:
    """Load ``requests`` requests (plus a few ineligible attempts) through real commands,
    then run the ``epilogue`` steps at ``today`` (default: now, by the real clock).

    ``clock`` must be the clock ``engine`` was opened with; without it, events carry the
    engine's own clock while the requests' content still follows the timeline.
    Raises :class:`DemoError` if the engine answers a command unexpectedly.
    """
    now = _utc_now() if today is None else _utc(today)
    existing, last = _existing(engine)
    timeline = Timeline.for_batch(now, last)
    stories = build_scripts(seed=seed, salt=existing, requests=requests, timeline=timeline)
    late_entry(stories, timeline.v3_from)
    stories = [with_reports(story) for story in stories]
    every = [*(s for story in stories for s in story), *ticks(timeline), *launch_v3(timeline)]
    steps = sorted(every, key=lambda s: (s.at, s.seq))
    views: dict[str, InstanceView] = {}
    refusals: Counter[str] = Counter()
    migrations: list[MigrationOutcome] = []
    for done, step in enumerate(steps, 1):
        if clock is not None:
            clock.set(step.at)
        if step.trigger == LAUNCH_V3:
            migrations += _launch_v3(engine, views)
            continue
        result = _send(engine, step)
        if isinstance(result, str):
            refusals[result] += 1
        elif result is not None:
            views[str(result.id)] = result
        if progress is not None:
            progress(done, len(steps))
    if clock is not None:
        clock.set(now)
    closing = Epilogue(engine, now, [v.id for v in views.values()], migrations)
    for closing_step in epilogue:
        closing_step(closing)
    views = {k: engine.get(v.id) for k, v in views.items()}
    return _summary(engine, views, refusals, closing, seed=seed, requests=requests,
                    existing=existing, timeline=timeline, simulated=clock is not None)  # fmt: skip


def _launch_v3(engine: Engine, views: dict[str, InstanceView]) -> list[MigrationOutcome]:
    """Version 3 comes out: the team migrates the batch's open version 2 requests to it."""
    final = engine.registry.get(NAME).final_states
    chosen = [v.id for v in views.values() if v.definition_version == 2 and v.state not in final]
    outcome = migrate_open(engine, chosen)
    if outcome is None:
        return []
    views.update({str(i): engine.get(i) for i in chosen})
    return [outcome]


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _existing(engine: Engine) -> tuple[int, datetime | None]:
    """How many instances the store holds, and its latest event's time."""
    count, last = 0, None
    for iid in engine.instance_ids():
        count += 1
        updated = engine.get(iid).updated_at
        last = updated if last is None else max(last, updated)
    return count, last


def _send(engine: Engine, step: Step) -> InstanceView | str | None:
    """Send one command: the new view, or the error code of an expected refusal (``None``
    for a pass of the deadline runner)."""
    try:
        if step.trigger == TICK:
            engine.run_due(now=step.at)
            return None
        if step.trigger == DUE:
            engine.run_due(now=step.at)
            return engine.get(step.instance_id)
        if step.trigger == REPORTS:
            return attach_reports(engine, step)
        if step.trigger == "submit":
            view = engine.start(
                NAME,
                step.payload,
                actor=step.actor,
                reason=step.reason,
                instance_id=step.instance_id,
                version=step.version,
                effective_at=step.effective_at,
            )
        else:
            view = engine.fire(step.instance_id, step.trigger, step.payload, actor=step.actor,
                               reason=step.reason, effective_at=step.effective_at)  # fmt: skip
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
    closing: Epilogue,
    *,
    seed: int,
    requests: int,
    existing: int,
    timeline: Timeline,
    simulated: bool,
) -> DemoSummary:
    compiled = engine.registry.get(NAME)
    end = timeline.today
    ongoing = [v for v in views.values() if v.state not in compiled.final_states]
    overdue = [
        v
        for v in ongoing
        if v.state in compiled.sla_days
        and v.state_entered_at + timedelta(days=compiled.sla_days[v.state]) < end
    ]
    fired = engine.deadlines(status="fired", limit=100_000)  # the due table, not histories
    escalated = {d.instance_id for d in fired if d.action == "escalate"} & set(views)
    deemed = {d.instance_id for d in fired if d.trigger == "deem_favourable"} & set(views)
    experts = {(e["id"]) for v in views.values() for e in v.data.get("experts", [])}
    done = [v for v in views.values() if v.state == "disseminated"]
    sample = next(iter(done or list(views.values())), None)
    by_target: dict[int, MigrationOutcome] = {}
    for m in closing.migrations:  # a migration to one version may happen more than once
        was = by_target.get(m.to_version)
        by_target[m.to_version] = m if was is None else was.plus(m)
    return DemoSummary(
        database=engine.url,
        seed=seed,
        requests=requests,
        existing_before=existing,
        instances=len(views),
        events=sum(v.version for v in views.values()),
        states=dict(Counter(v.state for v in views.values())),
        refusals=dict(refusals + Counter(closing.refusals)),
        countries=len({v.data.get("country") for v in views.values()}),
        activities=sum(len(v.data.get("activities", [])) for v in views.values()),
        experts=len(experts),
        expert_days=sum(e["days"] for v in views.values() for e in v.data.get("experts", [])),
        in_progress=len(ongoing),
        overdue=len(overdue),
        period_start=timeline.start.date(),
        period_end=end.date(),
        simulated_clock=simulated,
        sample_id=str(sample.id) if sample is not None else None,
        versions=dict(sorted(Counter(v.definition_version for v in views.values()).items())),
        migration=by_target.get(2),
        migration_v3=by_target.get(3),
        escalated=len(escalated),
        deemed_favourable=len(deemed),
        privacy=closing.privacy,
        amendments=closing.amendments,
    )
