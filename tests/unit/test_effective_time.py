"""Effective time beside recorded time: stored only when it differs, bounded, and read back
bitemporally (``get(id, as_of=..., effective=...)``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import Actor, Engine, InvalidArgument, InvalidEffectiveTime
from engine.testing import StepClock
from tests.helpers import event_count
from tests.toy_audit import audit_definition

PARTNER, TEAM = Actor("p-1", "partner"), Actor("t-1", "team")
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine() -> Engine:
    clock = StepClock(T0, timedelta(days=1))
    return Engine.open("memory://", workflows=[audit_definition()], projections=[], clock=clock)


def test_an_event_without_effective_at_keeps_its_shape_and_one_with_it_shows_both_times(
    engine: Engine,
) -> None:
    v = engine.start(
        "grant", {"title": "T", "amount": 500}, actor=PARTNER, effective_at=T0 - timedelta(days=20)
    )
    engine.fire(v.id, "record", {"activity": "a1", "days": 10}, actor=TEAM)
    first, second = engine.history(v.id)
    assert first.effective_at == T0 - timedelta(days=20)
    assert first.at > first.effective_at
    assert second.effective_at is None


def test_an_effective_time_too_far_ahead_or_before_the_instance_is_refused_and_writes_nothing(
    engine: Engine,
) -> None:
    v = engine.start(
        "grant", {"title": "T", "amount": 500}, actor=PARTNER, effective_at=T0 - timedelta(days=5)
    )
    before = event_count(engine)
    with pytest.raises(InvalidEffectiveTime, match="before the instance existed"):
        engine.fire(
            v.id,
            "record",
            {"activity": "a", "days": 1},
            actor=TEAM,
            effective_at=T0 - timedelta(days=6),
        )
    with pytest.raises(InvalidEffectiveTime, match="after the recorded time"):
        engine.fire(
            v.id,
            "record",
            {"activity": "a", "days": 1},
            actor=TEAM,
            effective_at=T0 + timedelta(days=30),
        )
    with pytest.raises(InvalidArgument):
        engine.fire(
            v.id,
            "record",
            {"activity": "a", "days": 1},
            actor=TEAM,
            effective_at=datetime(2024, 1, 1),
        )  # a naive time
    assert event_count(engine) == before
    assert InvalidEffectiveTime.code == "invalid_effective_time"


def test_the_state_known_at_one_time_about_another(engine: Engine) -> None:
    v = engine.start("grant", {"title": "T", "amount": 500}, actor=PARTNER)  # T0+1d
    engine.fire(
        v.id,
        "record",
        {"activity": "late", "days": 10},
        actor=TEAM,
        effective_at=T0 + timedelta(days=1, hours=1),
    )  # recorded at T0+2d
    engine.fire(v.id, "record", {"activity": "now", "days": 5}, actor=TEAM)  # T0+3d
    now = engine.get(v.id, effective=T0 + timedelta(days=1, hours=2))
    assert [a["activity"] for a in now.data["activities"]] == ["late"]
    known_then = engine.get(
        v.id, as_of=T0 + timedelta(days=1, hours=12), effective=T0 + timedelta(days=1, hours=2)
    )
    assert "activities" not in known_then.data  # not yet recorded at that time
    with pytest.raises(InvalidArgument):
        engine.get(v.id, version=1, effective=T0)


def test_effective_times_verify_online_and_offline(engine: Engine, tmp_path: Path) -> None:
    from engine.audit.offline import verify_file

    v = engine.start(
        "grant", {"title": "T", "amount": 500}, actor=PARTNER, effective_at=T0 - timedelta(days=3)
    )
    engine.fire(
        v.id,
        "record",
        {"activity": "a", "days": 1},
        actor=TEAM,
        effective_at=T0 - timedelta(days=2),
    )
    assert engine.verify().ok
    with (tmp_path / "x.jsonl").open("w", encoding="utf-8") as out:
        engine.export(out)
    assert verify_file(tmp_path / "x.jsonl").ok
    text = (tmp_path / "x.jsonl").read_text(encoding="utf-8")
    assert text.count('"effective_at"') == 2


@pytest.mark.parametrize(
    ("shift", "why"),
    [(timedelta(days=3), "after it was recorded"), (timedelta(days=-30), "before the instance")],
)
def test_a_forged_effective_time_is_reported_online_and_offline(
    engine: Engine, tmp_path: Path, shift: timedelta, why: str
) -> None:
    from engine.audit.offline import verify_file
    from engine.instance.hashing import utc_iso

    v = engine.start("grant", {"title": "T", "amount": 500}, actor=PARTNER)
    commands = engine._commands  # the forger writes straight to the store
    agg = commands.load(v.id, fresh=True)
    at = agg.modified_on + timedelta(hours=1)
    guard = {"name": "days_within_budget", "version": 1, "ok": True, "reason": "", "inputs": {}}
    agg.step(at=at, body={
        "trigger": "record", "source": "submitted", "dest": "submitted",
        "payload": {"activity": "a", "days": 1}, "definition_hash": agg.definition_hash,
        "collect_as": "activities", "effective_at": utc_iso(at + shift),
        "audit": {"actor_id": "t-1", "role": "team", "reason": None, "correlation_id": None,
                  "causation_id": None, "guards": [guard]},
    })  # fmt: skip
    assert commands.save_all([agg])
    online = engine.verify()
    assert [p.rule for p in online.problems] == ["effective"]
    assert why in online.problems[0].detail
    with (tmp_path / "x.jsonl").open("w", encoding="utf-8") as out:
        engine.export(out)
    offline = verify_file(tmp_path / "x.jsonl")
    assert [p.rule for p in offline.problems] == ["effective"]


def test_the_sla_clock_counts_in_effective_time_where_the_workflow_says_so() -> None:
    from engine.cli.describe import describe_instance
    from engine.definition.model import StateDef

    base = audit_definition()
    states = tuple(
        s.model_copy(update={"sla_days": 10}) if s.name == "submitted" else s for s in base.states
    )
    assert isinstance(states[0], StateDef)
    policy = base.audit.model_copy(update={"effective_clocks": ("sla",)})  # type: ignore[union-attr]
    for defn, overdue in ((base.model_copy(update={"states": states}), False),
                          (base.model_copy(update={"states": states, "audit": policy}), True)):  # fmt: skip
        with Engine.open("memory://", workflows=[defn], projections=[]) as engine:
            now = datetime.now(UTC)
            v = engine.start("grant", {"title": "T", "amount": 5}, actor=PARTNER,
                             effective_at=now - timedelta(days=12))  # fmt: skip
            shown = describe_instance(engine, str(v.id))
            assert shown["overdue"] is overdue
            assert (shown["stages"][0]["days"] >= 12) is overdue
