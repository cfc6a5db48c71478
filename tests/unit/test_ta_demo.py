"""The demo portfolio: deterministic, realistic, appended in batches, on a simulated clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engine import Engine
from workflows.technical_assistance.demo import (
    DemoClock,
    DemoSummary,
    open_demo_engine,
    run_demo,
)


@pytest.fixture
def demo() -> Iterator[tuple[Engine, DemoClock]]:
    engine, clock = open_demo_engine("memory://")
    with engine:
        yield engine, clock


def _timeline(engine: Engine) -> list[tuple[str, list[tuple[str, str, str]]]]:
    return [
        (str(i), [(h.trigger, h.dest, h.at.isoformat()) for h in engine.history(i)])
        for i in engine.instance_ids()
    ]


def test_the_same_seed_gives_the_same_portfolio() -> None:
    runs = []
    for _ in range(2):
        engine, clock = open_demo_engine("memory://")
        with engine:
            summary = run_demo(engine, seed=7, requests=12, clock=clock)
            runs.append((summary, _timeline(engine)))
    assert runs[0] == runs[1]
    assert runs[0][0].instances == 12


def test_another_seed_gives_another_portfolio() -> None:
    ids = []
    for seed in (1, 2):
        engine, clock = open_demo_engine("memory://")
        with engine:
            run_demo(engine, seed=seed, requests=6, clock=clock)
            ids.append(set(engine.instance_ids()))
    assert not ids[0] & ids[1]


def test_a_second_run_appends_a_new_batch(demo: tuple[Engine, DemoClock]) -> None:
    engine, clock = demo
    first = run_demo(engine, seed=1, requests=8, clock=clock)
    ids = set(engine.instance_ids())
    second = run_demo(engine, seed=1, requests=8, clock=clock)
    assert (first.existing_before, second.existing_before) == (0, 8)
    assert len(set(engine.instance_ids()) - ids) == 8
    assert "Appended as a new batch: 8 instances were already there." in second.text()


def test_the_default_demo_mirrors_the_published_scale(demo: tuple[Engine, DemoClock]) -> None:
    engine, clock = demo
    summary = run_demo(engine, clock=clock)
    assert summary.instances == 64
    assert summary.countries == 34
    assert 110 <= summary.activities <= 150
    assert summary.events == sum(len(engine.history(i)) for i in engine.instance_ids())
    assert {"disseminated", "rejected", "withdrawn", "cancelled"} <= set(summary.states)
    assert summary.in_progress > 0
    assert summary.overdue > 0
    assert {
        "guard_rejected",
        "permission_denied",
        "invalid_payload",
        "transition_not_allowed",
    } <= set(summary.refusals)


def test_demo_dates_spread_over_2014_to_2025_and_never_go_back(
    demo: tuple[Engine, DemoClock],
) -> None:
    engine, clock = demo
    run_demo(engine, requests=16, clock=clock)
    times = [h.at for i in engine.instance_ids() for h in engine.history(i)]
    assert min(times).year == 2014
    assert max(times).year == 2025
    for i in engine.instance_ids():
        steps = [h.at for h in engine.history(i)]
        assert steps == sorted(steps)


def test_the_summary_ends_with_the_next_commands(demo: tuple[Engine, DemoClock]) -> None:
    engine, clock = demo
    summary = run_demo(engine, requests=4, clock=clock)
    assert summary.sample_id is not None
    short = summary.sample_id[:8]
    assert summary.text().splitlines()[-4:] == [
        "  socieux list",
        f"  socieux show {short}",
        f"  socieux history {short}",
        "  socieux stats",
    ]
    assert DemoSummary.model_validate(summary.model_dump(mode="json")) == summary


def test_the_demo_clock_only_takes_aware_times() -> None:
    clock = DemoClock()
    moment = datetime(2020, 5, 4, 10, tzinfo=UTC)
    clock.set(moment)
    assert clock() == moment
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2020, 5, 4, 10))  # naive: the point of the test


def test_the_demo_runs_both_versions_and_migrates_the_waiting_requests(
    demo: tuple[Engine, DemoClock],
) -> None:
    engine, clock = demo
    summary = run_demo(engine, clock=clock)
    assert set(summary.versions) == {1, 2}
    assert summary.migration is not None
    assert (summary.migration.planned, summary.migration.migrated) == (3, 2)
    assert summary.migration.blocked == 1
    (reason,) = summary.migration.reasons
    assert "not in the 2025.1 registry" in reason
    assert "Migrated 2 of 3 version 1 requests" in summary.text()
    views = [engine.get(i) for i in engine.instance_ids()]
    newest = max(views, key=lambda v: v.created_at)
    oldest = min(views, key=lambda v: v.created_at)
    assert (oldest.definition_version, newest.definition_version) == (1, 2)
    migrated = [v for v in views if any(h.trigger == "__migrate__" for h in engine.history(v.id))]
    assert len(migrated) == 2
    assert all(v.definition_version == 2 and "id" in v.data["institution"] for v in migrated)
    v2_triggers = {
        h.trigger for v in views if v.definition_version == 2 for h in engine.history(v.id)
    }
    assert "request_opinion" in v2_triggers
