"""Version 3 of technical-assistance: version 2 whose SLAs escalate to the team, then to
the Commission; version 2 requests migrate to it and get their escalations scheduled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import Actor, Engine
from engine.definition.content import content_hash
from workflows.technical_assistance import NAME, definition_v2, definition_v3, definitions
from workflows.technical_assistance.builders import ACTORS, request_payload
from workflows.technical_assistance.workflow_v3 import ESCALATED_STATES

V2_HASH = "1276292232fc5cf3ddfca2fa95f4b93229ac38b5f105791be6834975ec2050b1"
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_version_2_keeps_its_hash_and_version_3_reuses_its_rules() -> None:
    v2, v3 = definition_v2(), definition_v3()
    assert content_hash(v2) == content_hash(definitions()[1]) == V2_HASH
    assert content_hash(v3) != V2_HASH
    implement = "activity_reports_on_file"  # and implement wants the reports on file
    assert [t for t in v3.transitions if t.trigger != "implement"] == [
        t for t in v2.transitions if t.trigger != "implement"
    ]
    assert [t.guards for t in v3.transitions if t.trigger == "implement"] == [
        (*t.guards, implement) for t in v2.transitions if t.trigger == "implement"
    ]
    assert [g.name for g in v3.guards] == [*(g.name for g in v2.guards), implement]
    assert v2.audit is None
    assert v3.audit is not None
    assert {k: v for k, v in v3.settings.items() if k != "commission_escalation_days"} == dict(
        v2.settings
    )


def test_every_spine_state_with_an_sla_escalates_to_the_team_then_the_commission() -> None:
    v3 = definition_v3()
    sla = v3.settings["sla_days"]
    for state in v3.states:
        names = {d.name: d for d in state.deadlines}
        if state.name in ESCALATED_STATES:
            team, commission = names["sla_team"], names["sla_commission"]
            assert (team.days, team.role, team.level) == (sla[state.name], "socieux_team", 1)
            assert (commission.days, commission.role, commission.level) == (
                sla[state.name] + 15, "commission", 2)  # fmt: skip
        else:
            assert not {"sla_team", "sla_commission"} & set(names), state.name
    assert [d.name for d in v3.state("consulting_delegation").deadlines] == [
        "silence_counts_as_consent"
    ]
    assert v3.settings["commission_escalation_days"] == 15


def test_the_slas_and_the_further_period_are_settings() -> None:
    v3 = definition_v3({"sla_days": {"fine_tuned": 10}, "commission_escalation_days": 5})
    days = {d.name: d.days for d in v3.state("fine_tuned").deadlines}
    assert days == {"sla_team": 10, "sla_commission": 15}
    _, v2, v3b = definitions({"commission_escalation_days": 20})
    assert content_hash(v2) == V2_HASH
    assert {d.days for d in v3b.state("submitted").deadlines} == {30, 50}
    with pytest.raises(ValueError, match="commission_escalation_days"):
        definition_v3({"commission_escalation_days": 0})


def test_version_3_registers_and_version_2_migrates_to_it() -> None:
    with Engine.open("memory://", workflows=[definition_v3()], projections=[]) as alone:
        assert alone.registry.get(NAME).definition.version == 3  # registers on its own
    migration = definition_v3().migration_from(2)
    assert migration is not None
    assert set(migration.state_map) == set(migration.state_map.values())
    assert "disseminated" not in migration.state_map


def test_a_request_past_its_sla_escalates_to_the_team_then_the_commission() -> None:
    clock = Clock()
    with Engine.open("memory://", workflows=definitions(), clock=clock) as engine:
        view = engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"])
        assert view.definition_version == 3
        clock.now = T0 + timedelta(days=29)
        assert list(engine.run_due().fired) == []
        clock.now = T0 + timedelta(days=31)
        first = engine.run_due().fired
        clock.now = T0 + timedelta(days=46)
        second = engine.run_due().fired
        history = engine.history(view.id)
        team = engine.worklist(Actor("t-9", "socieux_team"))
    assert [f.deadline_id for f in first] == ["1:sla_team"]
    assert [f.deadline_id for f in second] == ["1:sla_commission"]
    assert [h.trigger for h in history] == ["submit", "__escalate__", "__escalate__"]
    assert [i.escalated for i in team if i.instance_id == str(view.id)] == [True]


def test_a_migrated_version_2_request_escalates_from_when_it_entered_its_state() -> None:
    clock = Clock()
    with Engine.open("memory://", workflows=definitions(), clock=clock) as engine:
        view = engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"], version=2)
        clock.now = T0 + timedelta(days=40)
        plan = engine.plan_migration(NAME, to=3, actor=Actor("team-1", "socieux_team"))
        engine.migrate(plan, actor=Actor("dg-1", "commission"), reason="SLAs escalate")
        migrated = engine.get(view.id)
        due = {d.deadline_id: d.due_at for d in engine.deadlines(instance=str(view.id))}
        fired = [f.deadline_id for f in engine.run_due().fired]
        report = engine.verify()
    assert migrated.definition_version == 3
    assert due == {
        "2:sla_team": T0 + timedelta(days=30),
        "2:sla_commission": T0 + timedelta(days=45),
    }
    assert fired == ["2:sla_team"]
    assert report.ok, report.problems[:3]


def test_docs_deadlines_table_says_what_version_3_declares() -> None:
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "deadlines.md"
    section = doc.read_text(encoding="utf-8").split("## 9. Technical assistance", 1)[1]
    sla = definition_v3().settings["sla_days"]
    rows = [r for r in section.splitlines() if r.startswith("| 3 |")]
    documented = {
        state: int(re.match(r"(\d+) days", when.strip()).group(1))  # type: ignore[union-attr]
        for _, _, states, _, when, _ in (r.split("|")[:6] for r in rows)
        for state in re.findall(r"`([a-z_]+)`", states)
    }
    assert documented == {s: sla[s] for s in ESCALATED_STATES}
