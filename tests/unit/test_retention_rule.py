"""Retention rules declared by workflows: 5 years, 3 where the amount is at most EUR 60,000
(Financial Regulation Art. 133), the longer period when the amount is unknown, and malformed
rules refused when the definition is registered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict

from engine import (
    Actor,
    EmptyPayload,
    Engine,
    Personal,
    RetentionRule,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
    WorkflowDefinitionError,
)
from engine.definition.content import content_hash
from engine.privacy.retention import add_years
from engine.testing import StepClock
from workflows.technical_assistance import definitions
from workflows.technical_assistance.workflow import definition

START = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
CLERK = Actor("c-1", "clerk")
TEAM = Actor("t-1", "socieux_team")
DPO = Actor("dpo-1", "privacy_officer")
RULE = {"years": 5, "reduced_years": 3, "reduced_max_eur": 60000, "amount_path": "grant.eur"}


class Grant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    eur: int | None = None


class Award(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    beneficiary: Annotated[str, Personal(subject="beneficiary", id_field="ref")]
    ref: str
    grant: Grant


def grants(settings: dict[str, Any]) -> WorkflowDefinition:
    return WorkflowDefinition(
        name="grant",
        version=1,
        roles=("clerk",),
        states=(StateDef(name="awarded"), StateDef(name="paid", final=True)),
        transitions=(
            TransitionDef(trigger="award", dest="awarded", roles=("clerk",), payload=Award),
            TransitionDef(
                trigger="pay_balance",
                source=("awarded",),
                dest="paid",
                roles=("clerk",),
                payload=EmptyPayload,
            ),
        ),
        settings=settings,
    )


@pytest.fixture
def clock() -> StepClock:
    return StepClock(START)


@pytest.fixture
def engine(clock: StepClock) -> Iterator[Engine]:
    with Engine.open("memory://", workflows=[grants({"retention": RULE})], clock=clock) as e:
        yield e


def paid(engine: Engine, ref: str, eur: int | None) -> datetime:
    view = engine.start(
        "grant", {"beneficiary": "Ana Lima", "ref": ref, "grant": {"eur": eur}}, actor=CLERK
    )
    return engine.fire(view.id, "pay_balance", actor=CLERK).state_entered_at


@pytest.mark.parametrize(
    ("eur", "years"), [(42_000, 3), (60_000, 3), (60_001, 5), (None, 5)], ids=str
)
def test_the_period_follows_the_amount_and_the_longer_one_holds_when_unknown(
    engine: Engine, eur: int | None, years: int
) -> None:
    closed = paid(engine, "b-1", eur)
    status = engine.subject("beneficiary:b-1")
    assert status.due_at == add_years(closed, years)


def test_a_small_grant_is_erasable_after_three_years_and_not_before(
    engine: Engine, clock: StepClock
) -> None:
    paid(engine, "b-2", 25_000)
    (iid,) = list(engine.instance_ids())
    clock.now += timedelta(days=3 * 365 - 10)
    state = engine.forget(
        "beneficiary:b-2", actor=TEAM, approver=DPO, reason="asked", legal_basis="Art. 17"
    )
    assert state.state == "deferred"
    clock.now += timedelta(days=12)
    assert [s.subject for s in engine.run_due_erasures(actor=DPO)] == ["beneficiary:b-2"]
    view = engine.get(iid)
    assert view.data["beneficiary"] == "[erased]"


def test_a_malformed_rule_is_refused_at_registration() -> None:
    for bad in (
        {"retention": {"years": -1}},
        {"retention": {"years": 5, "reduced_years": "three"}},
        {"retention": {"years": 5, "colour": "blue"}},
        {"retention": "five years"},
        {"retention": {"years": 5}, "retention_years": 7},
        {"retention_years": "ten"},
    ):
        with pytest.raises(WorkflowDefinitionError, match="retention"):
            Engine.open("memory://", workflows=[grants(bad)])


def test_technical_assistance_keeps_its_hashes_and_accepts_a_configured_rule() -> None:
    plain = definition()
    assert "retention" not in plain.settings
    configured = definition({"retention": RetentionRule(years=7)})
    assert configured.settings["retention"]["years"] == 7
    assert content_hash(configured) != content_hash(plain)
    assert content_hash(definitions()[0]) == content_hash(plain)
