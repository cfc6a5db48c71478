"""A ``Migrated`` event's deadline schedule is recomputed from the history alone, online and
by the stdlib offline verifier: a migration that schedules the target's deadlines from the
wrong time, or leaves the old definition's deadlines open, is a rule breach (``deadline``)
at the migration's version. The wrong schedules are written by the engine's own write path
with its schedule computation replaced, so every hash is right and only the rule is broken.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import Actor, Engine
from engine.audit.offline.verifier import verify_file
from engine.commands import migration
from workflows.technical_assistance import NAME, definitions
from workflows.technical_assistance.builders import ACTORS, request_payload

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
PLANNER, APPLIER = Actor("team-1", "socieux_team"), Actor("dg-1", "commission")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _from_now(agg: Any, target: Any, dest: str, now: datetime) -> dict[str, Any] | None:
    """The target's deadlines counted from the migration, not from entering the state."""
    return target.deadline_changes(migration.open_deadlines(agg), None, dest, now, agg.version + 1)


def _keeps_old_open(agg: Any, target: Any, dest: str, now: datetime) -> dict[str, Any] | None:
    """The target's deadlines scheduled right, the old ones never cancelled."""
    since = agg.state_entered_at
    return target.deadline_changes((), None, dest, since, agg.version + 1)


def _migrated(tmp_path: Path, wrong: Callable[..., Any] | None, monkeypatch: Any) -> Engine:
    clock = Clock()
    engine = Engine.open(f"sqlite:///{tmp_path / 'm.db'}", workflows=definitions(), clock=clock)
    view = engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"], version=2)
    engine.fire(view.id, "request_opinion", None, actor=ACTORS["team"])  # silence is open
    clock.now = T0 + timedelta(days=2)
    if wrong is not None:
        monkeypatch.setattr(migration, "_deadline_changes", wrong)
    engine.migrate(engine.plan_migration(NAME, to=3, actor=PLANNER), actor=APPLIER, reason="v3")
    return engine


def _findings(engine: Engine, tmp_path: Path) -> tuple[set[Any], set[Any]]:
    online = {(p.version, p.rule) for p in engine.verify().problems}
    path = tmp_path / "export.jsonl"
    with path.open("w", encoding="utf-8") as out:
        engine.export(out)
    offline = {(p.version, p.rule) for p in verify_file(path).problems}
    return online, offline


def test_a_right_migration_schedule_verifies(tmp_path: Path, monkeypatch: Any) -> None:
    engine = _migrated(tmp_path, None, monkeypatch)
    with engine:
        iid = next(iter(engine.instance_ids()))
        due = [d.due_at for d in engine.deadlines(instance=iid)]
        online, offline = _findings(engine, tmp_path)
    assert due == [T0 + timedelta(days=7)]  # 5 working days from entering consultation
    assert (online, offline) == (set(), set())


@pytest.mark.parametrize("wrong", [_from_now, _keeps_old_open], ids=["from_now", "old_open"])
def test_a_wrong_schedule_after_migration_is_found_online_and_offline(
    tmp_path: Path, monkeypatch: Any, wrong: Callable[..., Any]
) -> None:
    engine = _migrated(tmp_path, wrong, monkeypatch)
    with engine:
        online, offline = _findings(engine, tmp_path)
    assert (3, "deadline") in offline  # the Migrated event is version 3
    assert {rule for _, rule in offline} == {"deadline"}  # every hash is right
    assert (3, "deadline") in online
