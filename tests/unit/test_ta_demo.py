"""The demo portfolio: deterministic, realistic, appended in batches, on a simulated clock
that ends at the run's today, with a live portfolio open at every stage of the spine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from engine import Engine
from workflows.technical_assistance.demo import (
    EPILOGUE,
    DemoClock,
    DemoSummary,
    Epilogue,
    open_demo_engine,
    run_demo,
)

TODAY = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
run_demo = partial(run_demo, today=TODAY)  # every run of these tests: one fixed today
SPINE = ("submitted", "revision_requested", "fine_tuned", "approved", "mobilised",
         "implemented", "evaluated")  # fmt: skip


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
    new = set(engine.instance_ids()) - ids
    assert len(new) == 8
    assert "Appended as a new batch: 8 instances were already there." in second.text()
    assert first.period_start.year == 2014
    assert second.period_start == (TODAY - timedelta(days=3 * 365)).date()  # not 2014 again
    times = [h.at for i in new for h in engine.history(i)]
    assert TODAY - timedelta(days=3 * 365) <= min(times) <= max(times) <= TODAY


def test_the_default_demo_mirrors_the_published_scale(demo: tuple[Engine, DemoClock]) -> None:
    engine, clock = demo
    summary = run_demo(engine, clock=clock)
    assert summary.instances == 64
    assert summary.countries == 34
    assert 110 <= summary.activities <= 150
    assert summary.events == sum(len(engine.history(i)) for i in engine.instance_ids())
    assert {"disseminated", "rejected", "withdrawn", "cancelled"} <= set(summary.states)
    assert summary.in_progress >= 16  # a live portfolio, not a finished one
    assert summary.overdue > 0
    assert {
        "guard_rejected",
        "permission_denied",
        "invalid_payload",
        "transition_not_allowed",
    } <= set(summary.refusals)
    privacy = summary.privacy
    assert privacy is not None
    assert privacy.erased is not None
    assert engine.subject(privacy.erased).status == "erased"
    assert privacy.held is not None  # the auditors' hold on one closed request
    (hold,) = engine.legal_holds()
    assert hold.requests == (privacy.held,)
    assert f"legal hold {hold.hold} on request {privacy.held[:8]}" in summary.text()


def test_demo_dates_spread_from_2014_to_today_and_never_go_back(
    demo: tuple[Engine, DemoClock],
) -> None:
    engine, clock = demo
    summary = run_demo(engine, requests=16, clock=clock)
    times = [h.at for i in engine.instance_ids() for h in engine.history(i)]
    assert min(times).year == 2014
    assert TODAY - timedelta(days=30) <= max(times) <= TODAY  # nothing after today
    assert (summary.period_start.year, summary.period_end) == (2014, TODAY.date())
    for i in engine.instance_ids():
        steps = [h.at for h in engine.history(i)]
        assert steps == sorted(steps)


def test_the_summary_ends_with_the_next_commands(demo: tuple[Engine, DemoClock]) -> None:
    engine, clock = demo
    summary = run_demo(engine, requests=4, clock=clock)
    assert summary.sample_id is not None
    short = summary.sample_id[:8]
    assert summary.text().splitlines()[-5:] == [
        "  socieux list",
        "  socieux inbox --as socieux_team:team-1",
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


def test_the_demo_runs_every_version_and_migrates_the_open_requests(
    demo: tuple[Engine, DemoClock],
) -> None:
    engine, clock = demo
    summary = run_demo(engine, clock=clock)
    assert set(summary.versions) == {1, 2, 3}
    assert summary.migration is not None
    assert (summary.migration.planned, summary.migration.migrated) == (3, 2)
    assert summary.migration.blocked == 1
    (reason,) = summary.migration.reasons
    assert "not in the 2025.1 registry" in reason
    assert "Migrated 2 of 3 version 1 requests" in summary.text()
    assert summary.migration_v3 is not None
    assert summary.migration_v3.migrated > 2
    # Only requests already implemented stay on version 2: version 3's implement wants
    # each delivered activity's report on file as validated evidence, which version 2
    # cannot record.
    assert summary.migration_v3.reasons
    assert all(
        r.startswith("guard activity_reports_on_file of 'implement' refuses: no validated")
        for r in summary.migration_v3.reasons
    )
    views = [engine.get(i) for i in engine.instance_ids()]
    newest = max(views, key=lambda v: v.created_at)
    oldest = min(views, key=lambda v: v.created_at)
    assert (oldest.definition_version, newest.definition_version) == (1, 3)
    final = engine.registry.get("technical-assistance").final_states
    still_v2 = {v.state for v in views if v.definition_version == 2 and v.state not in final}
    assert still_v2 == {"implemented"}  # the other open ones moved
    moves = {v.id: [h for h in engine.history(v.id) if h.trigger == "__migrate__"] for v in views}
    twice = [i for i, m in moves.items() if len(m) == 2]  # version 1 -> 2 -> 3
    assert len(twice) == 2
    assert all(engine.get(i).definition_version == 3 for i in twice)
    assert all("id" in engine.get(i).data["institution"] for i in twice)
    triggers = {h.trigger for v in views if v.definition_version == 3 for h in engine.history(v.id)}
    assert {"request_opinion", "deem_favourable", "__escalate__"} <= triggers
    assert engine.verify().ok


def test_the_end_state_is_a_live_portfolio(demo: tuple[Engine, DemoClock]) -> None:
    engine, clock = demo
    summary = run_demo(engine, clock=clock)
    assert set(SPINE) <= set(summary.states)  # open at every stage of the spine
    finished = sum(summary.states.get(s, 0) for s in ("disseminated", "rejected", "withdrawn",
                                                      "cancelled"))  # fmt: skip
    assert 0.25 <= summary.in_progress / summary.instances <= 0.6
    assert finished + summary.in_progress == summary.instances
    assert summary.escalated >= 3
    assert summary.deemed_favourable >= 2
    assert "escalated past their SLA" in summary.text()
    levels = {
        f.deadline_id.split(":")[1]
        for f in engine.deadlines(status="fired", limit=1000)
        if f.name.startswith("sla_")
    }
    assert levels == {"sla_team", "sla_commission"}  # the team, then the Commission
    overdue_open = engine.deadlines(overdue=True, now=TODAY)
    assert overdue_open == []  # the epilogue fired everything due by today


def test_the_epilogue_is_a_list_of_steps_run_at_today(demo: tuple[Engine, DemoClock]) -> None:
    engine, clock = demo
    seen: list[tuple[datetime, datetime, int, list[int]]] = []

    def closing(epilogue: Epilogue) -> None:
        versions = [m.to_version for m in epilogue.migrations]
        seen.append((epilogue.today, clock(), len(epilogue.batch), versions))

    run_demo(engine, requests=8, clock=clock, epilogue=(*EPILOGUE, closing))
    assert seen == [(TODAY, TODAY, 8, [3, 2])]  # version 3's launch, then version 1 -> 2
    bare = run_demo(engine, requests=8, clock=clock, epilogue=())
    assert bare.migration is None  # no epilogue: no migration at today
    assert bare.migration_v3 is not None  # version 3's launch is part of the story itself


def test_version_3_requests_implement_with_reports_on_file_and_show_amendments(
    demo: tuple[Engine, DemoClock],
) -> None:
    engine, clock = demo
    summary = run_demo(engine, clock=clock)
    done = summary.amendments
    assert done is not None
    assert (done.corrections, done.approved, done.refused, done.late) == (3, 3, 1, 1)
    assert done.notes >= 2
    assert done.evidence > 0
    assert summary.refusals["permission_denied"] >= 1  # the self-approval among the refusals
    assert "Audit trail: 3 corrections (3 approved by a second person" in summary.text()
    implemented_on_v3 = 0
    for iid in engine.instance_ids():
        history = engine.history(iid)
        for k, h in enumerate(history):
            view = engine.get(iid, version=h.version)
            if h.trigger != "implement" or view.definition_version != 3:
                continue
            implemented_on_v3 += 1
            before = engine.get(iid, version=h.version - 1)
            reports = {e["reference"] for e in before.evidence if e["validated"]}
            cited = {r["report_reference"] for r in before.data["activity_records"]
                     if r.get("status") == "delivered"}  # fmt: skip
            assert cited <= reports, (iid, k)
            (guard,) = [g for g in h.guards if g.name == "activity_reports_on_file"]
            assert guard.ok
    assert implemented_on_v3 > 0
    late = engine.audit_report("late").rows
    assert [r["trigger"] for r in late] == ["record_activity"]
    corrections = engine.audit_report("corrections").rows
    assert {r["field"] for r in corrections} == {"participants", "days_worked", "title"}
    assert all(r["status"] == "approved" and r["approved_by"] != r["requested_by"]
               for r in corrections)  # fmt: skip
    assert engine.verify().ok
