"""Definition versions side by side, migration plans and Migrated events, on every backend."""

from __future__ import annotations

import pytest

from engine import (
    Actor,
    ConcurrencyConflict,
    DataUpcaster,
    Engine,
    InvalidArgument,
    MigrationBlocked,
    PermissionDenied,
    UnknownWorkflow,
)
from tests.toy import toy_definition
from tests.toy_versions import toy_v2

pytestmark = pytest.mark.parametrize(
    "store_url", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)  # fmt: skip

REQUESTER = Actor("rita", "requester")
REVIEWER = Actor("rob", "reviewer")
PLANNER = Actor("rob", "reviewer")
APPROVER = Actor("ann", "approver")


def _portfolio(engine: Engine) -> dict[str, object]:
    """Four v1 requests: submitted, reviewed (800: over v2's cap), reviewed (300), approved;
    one frozen; one v2 request."""

    def start(title, amount):
        return engine.start(
            "toy", {"title": title, "amount": amount}, actor=REQUESTER, version=1
        ).id

    ids = {
        "submitted": start("a", 100),
        "big": start("b", 800),
        "small": start("c", 300),
        "approved": start("d", 50),
        "frozen": start("frozen e", 10),
    }
    for key in ("big", "small", "approved"):
        engine.fire(ids[key], "review", {"score": 4}, actor=REVIEWER)
    engine.fire(ids["approved"], "approve", None, actor=APPROVER)
    ids["v2"] = engine.start("toy", {"title": "f", "amount_cents": 500}, actor=REQUESTER).id
    return ids


def test_versions_live_side_by_side_and_new_instances_take_the_latest(open_engine) -> None:
    engine = open_engine(workflows=[toy_definition(), toy_v2()])
    ids = _portfolio(engine)
    assert engine.get(ids["v2"]).definition_version == 2
    assert engine.get(ids["small"]).definition_version == 1
    # an instance keeps deciding with its own version: v1's payload shape, v1's cap
    view = engine.fire(ids["small"], "approve", None, actor=APPROVER)
    assert (view.state, view.definition_version) == ("approved", 1)
    assert [c.definition.version for c in engine.registry.versions("toy")] == [1, 2]


def test_a_plan_reports_every_blocking_instance_at_once(open_engine) -> None:
    engine = open_engine(workflows=[toy_definition(), toy_v2()])
    ids = _portfolio(engine)
    plan = engine.plan_migration("toy", to=2, actor=PLANNER)
    by_id = {i.instance_id: i for i in plan.items}
    assert set(by_id) == {ids[k] for k in ("submitted", "big", "small", "approved", "frozen")}
    assert {i.instance_id for i in plan.ready} == {ids["submitted"], ids["small"]}
    assert by_id[ids["approved"]].problems == [
        "state 'approved' is not mapped (only reviewed, submitted may migrate)"
    ]
    assert by_id[ids["frozen"]].problems == [
        "upcaster toy_v1_to_v2 v1 refused: the request is frozen"
    ]
    big = by_id[ids["big"]].problems
    assert len(big) == 1
    assert big[0].startswith("guard cents_within_cap of 'review' refuses: 80000 cents exceeds")
    assert len(plan.hash) == 64
    # a plan writes nothing
    assert engine.get(ids["small"]).definition_version == 1


def test_migrate_records_one_event_per_instance_and_the_chain_verifies(open_engine) -> None:
    engine = open_engine(workflows=[toy_definition(), toy_v2()])
    ids = _portfolio(engine)
    plan = engine.plan_migration("toy", to=2, states=["submitted", "reviewed"], actor=PLANNER)
    result = engine.migrate(plan, actor=APPROVER, reason="phase 2 rules")
    assert set(result.migrated) == {ids["submitted"], ids["small"]}
    assert set(result.skipped) == {ids["big"], ids["frozen"]}
    view = engine.get(ids["small"])
    assert (view.state, view.definition_version) == ("reviewed", 2)
    assert view.data["amount_cents"] == 30000
    assert "amount" not in view.data
    last = engine.history(ids["small"])[-1]
    assert last.trigger == "__migrate__"
    assert last.verified
    # it now decides with version 2's rules (cents, cap 500) and version 2's payloads
    assert engine.fire(ids["small"], "approve", None, actor=APPROVER).state == "approved"
    assert engine.fire(ids["submitted"], "review", {"score": 5}, actor=REVIEWER).state == "reviewed"
    report = engine.verify()
    assert report.ok, report.problems[:3]
    # replay (a fresh engine on the same store, no cache) gives the same state
    if engine.url != "memory://":
        again = Engine.open(engine.url, workflows=[toy_definition(), toy_v2()])
        assert again.get(ids["small"]) == engine.get(ids["small"])
        again.close()


def test_a_stale_plan_writes_nothing(open_engine) -> None:
    engine = open_engine(workflows=[toy_definition(), toy_v2()])
    ids = _portfolio(engine)
    plan = engine.plan_migration("toy", to=2, actor=PLANNER)
    engine.fire(ids["small"], "reject", None, actor=REVIEWER, reason="moved on")
    with pytest.raises(ConcurrencyConflict):
        engine.migrate(plan, actor=APPROVER, reason="late")
    assert engine.get(ids["submitted"]).definition_version == 1
    assert engine.history(ids["submitted"])[-1].trigger == "submit"


def test_roles_and_separation_of_duties(open_engine) -> None:
    engine = open_engine(workflows=[toy_definition(), toy_v2()])
    ids = _portfolio(engine)
    with pytest.raises(PermissionDenied, match="may not plan"):
        engine.plan_migration("toy", to=2, actor=APPROVER)
    plan = engine.plan_migration("toy", to=2, actor=PLANNER)
    with pytest.raises(PermissionDenied, match="may not apply"):
        engine.migrate(plan, actor=REVIEWER, reason="x")
    with pytest.raises(PermissionDenied, match="separation of duties"):
        engine.migrate(plan, actor=Actor("ROB", "approver"), reason="x")
    assert engine.get(ids["submitted"]).definition_version == 1


def test_bad_input_is_a_typed_error_and_writes_nothing(open_engine) -> None:
    engine = open_engine(workflows=[toy_definition(), toy_v2()])
    ids = _portfolio(engine)
    with pytest.raises(UnknownWorkflow):
        engine.plan_migration("toy", to=7, actor=PLANNER)
    with pytest.raises(InvalidArgument, match="states"):
        engine.plan_migration("toy", to=2, states=["nowhere"], actor=PLANNER)
    plan = engine.plan_migration("toy", to=2, actor=PLANNER)
    with pytest.raises(InvalidArgument, match="reason"):
        engine.migrate(plan, actor=APPROVER, reason=" ")
    altered = plan.model_copy(update={"to_version": 1})
    with pytest.raises(InvalidArgument, match="altered"):
        engine.migrate(altered, actor=APPROVER, reason="x")
    assert engine.get(ids["submitted"]).definition_version == 1


def test_an_upcaster_that_raises_blocks_with_its_type_only(open_engine) -> None:
    def broken(view):
        raise KeyError("secret personal data")

    v2 = toy_v2(upcaster=DataUpcaster("broken", broken))
    engine = open_engine(workflows=[toy_definition(), v2])
    _portfolio(engine)
    plan = engine.plan_migration("toy", to=2, states=["submitted"], actor=PLANNER)
    assert [i.problems for i in plan.items] == [["upcaster broken v1 raised KeyError"]] * 2
    assert "secret" not in plan.model_dump_json()
    result = engine.migrate(plan, actor=APPROVER, reason="nothing ready")
    assert result.migrated == []


def test_a_check_that_fails_at_apply_time_blocks_everything(open_engine) -> None:
    calls = {"n": 0}

    def flaky(view):
        calls["n"] += 1
        if calls["n"] > 2:  # passes while planning (two instances), refuses when applying
            from engine import MigrationRefused

            raise MigrationRefused("changed its mind")
        return dict(view.data) | {"amount_cents": 0}

    v2 = toy_v2(upcaster=DataUpcaster("flaky", flaky))
    engine = open_engine(workflows=[toy_definition(), v2])
    ids = _portfolio(engine)
    plan = engine.plan_migration("toy", to=2, instances=[ids["submitted"], ids["small"]],
                                 actor=PLANNER)  # fmt: skip
    assert len(plan.ready) == 2
    with pytest.raises(MigrationBlocked) as caught:
        engine.migrate(plan, actor=APPROVER, reason="x")
    assert caught.value.problems
    assert engine.get(ids["submitted"]).definition_version == 1
    assert engine.get(ids["small"]).definition_version == 1


def test_a_migration_schedules_the_targets_deadlines_from_when_the_state_was_entered(
    open_engine,
) -> None:
    from datetime import UTC, datetime, timedelta

    from engine import DeadlineDef
    from engine.testing import StepClock

    base = toy_v2()
    states = tuple(
        s.model_copy(update={"deadlines": (
            DeadlineDef(name="nudge", days=3, action="remind", role="approver"),)})
        if s.name == "reviewed" else s
        for s in base.states
    )  # fmt: skip
    v2 = base.model_copy(update={"states": states})
    clock = StepClock(datetime(2026, 1, 5, 9, tzinfo=UTC), timedelta(minutes=1))
    engine = open_engine(workflows=[toy_definition(), v2], clock=clock)
    iid = engine.start("toy", {"title": "a", "amount": 300}, actor=REQUESTER, version=1).id
    entered = engine.fire(iid, "review", {"score": 4}, actor=REVIEWER).state_entered_at
    plan = engine.plan_migration("toy", to=2, actor=PLANNER)
    engine.migrate(plan, actor=APPROVER, reason="phase 2")
    view = engine.get(iid)
    assert [d["due_at"] for d in view.open_deadlines.values()] == [
        (entered + timedelta(days=3)).isoformat(timespec="microseconds")
    ]
    report = engine.run_due(now=entered + timedelta(days=4))
    assert len(report.fired) == 1
    assert engine.history(iid)[-1].trigger == "__remind__"
    assert engine.verify().ok
