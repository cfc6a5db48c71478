"""Technical-assistance walks across versions 2 and 3 with a moving clock: requests walked
on version 2, escalations and silences fired as time passes, a migration to version 3 at a
random moment, more walks on version 3. The store verifies online and offline, a replay
from zero equals the live state, and every migrated request's open escalations fall due
from when it entered its state (as version 3 declares), never from the migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import Actor, Engine
from workflows.technical_assistance import NAME, definition_v3, definitions
from workflows.technical_assistance.walking import PATHS_V2, walk_to

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
STATES = sorted(PATHS_V2)
PLANNER, APPLIER = Actor("team-1", "socieux_team"), Actor("dg-1", "commission")
walks = st.lists(st.tuples(st.sampled_from(STATES), st.integers(0, 50)), min_size=1, max_size=6)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _walk(engine: Engine, clock: Clock, plan: list[tuple[str, int]], version: int) -> None:
    for state, days in plan:
        clock.now += timedelta(days=days, minutes=1)
        engine.run_due()
        walk_to(engine, state, version=version)


def _check_migrated_schedules(engine: Engine, migrated: list[str]) -> int:
    """Every open escalation of a migrated request is due its days after entering."""
    days = {s.name: {d.name: d.days for d in s.deadlines} for s in definition_v3().states}
    checked = 0
    for iid in migrated:
        view = engine.get(iid)
        for d in engine.deadlines(instance=iid):
            if d.name in days[view.state] and d.name.startswith("sla_"):
                assert d.due_at == view.state_entered_at + timedelta(days=days[view.state][d.name])
                checked += 1
    return checked


@given(before=walks, gap=st.integers(0, 90), after=walks)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
def test_walk_v2_migrate_walk_v3_verifies_and_replays(
    tmp_path: Path, before: list[tuple[str, int]], gap: int, after: list[tuple[str, int]]
) -> None:
    url = f"sqlite:///{tmp_path / f'ta-{len(before)}-{gap}-{len(after)}.db'}"
    clock = Clock()
    engine = Engine.open(url, workflows=definitions(), clock=clock)
    try:
        _walk(engine, clock, before, 2)
        clock.now += timedelta(days=gap)
        plan = engine.plan_migration(NAME, to=3, actor=PLANNER)
        result = engine.migrate(plan, actor=APPLIER, reason="SLAs escalate") if plan.ready else None
        migrated = [str(i.instance_id) for i in plan.ready]
        assert result is None or len(result.migrated) == len(migrated)
        fired = len(engine.run_due().fired)
        event(f"migrated: {bool(migrated)}, fired after migration: {bool(fired)}")
        event(f"escalations checked: {bool(_check_migrated_schedules(engine, migrated))}")
        _walk(engine, clock, after, 3)
        clock.now += timedelta(days=120)
        engine.run_due()
        report = engine.verify()
        assert report.ok, report.problems[:3]
        ids = [str(i) for i in engine.instance_ids()]
        live = {i: engine.get(i) for i in ids}
        export = tmp_path / "walk.jsonl"
        with export.open("w", encoding="utf-8") as out:
            engine.export(out)
    finally:
        engine.close()
    fresh = Engine.open(url, workflows=definitions(), clock=clock)
    try:
        assert {i: fresh.get(i) for i in ids} == live
        assert fresh.replay_check().ok
    finally:
        fresh.close()
    offline = Engine.verify_file(export)
    assert offline.ok, offline.problems[:3]
