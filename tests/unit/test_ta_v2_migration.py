"""Version 1 requests in ``submitted`` or ``fine_tuned`` migrate to version 2 (upcaster
``ta_v1_to_v2``); the others, and those that cannot be converted, keep version 1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine import Actor, Engine, InstanceView, MigrationRefused
from workflows.technical_assistance import NAME, definitions
from workflows.technical_assistance.builders import (
    ACTORS,
    action_plan_payload,
    approval_payload,
    mobilisation_payload,
    opinion_payload,
    request_payload,
    walk_to,
)
from workflows.technical_assistance.upcast import upcast_v1_to_v2

PLANNER = Actor("team-7", "socieux_team")
APPLIER = Actor("dg-intpa-9", "commission")


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open("memory://", workflows=definitions(), projections=[]) as e:
        yield e


def v1(engine: Engine, state: str, **overrides: dict[str, Any]) -> InstanceView:
    return walk_to(engine, state, version=1, data_overrides=overrides)


def plan_items(engine: Engine) -> dict[str, Any]:
    plan = engine.plan_migration(NAME, to=2, states=["submitted", "fine_tuned"], actor=PLANNER)
    return {str(i.instance_id): i for i in plan.items}


# ------------------------------------------------------------------ the upcaster
def test_the_upcaster_rewrites_a_fine_tuned_request_into_version_2s_shape(
    engine: Engine,
) -> None:
    view = v1(engine, "fine_tuned")
    data = upcast_v1_to_v2(view)
    assert data["institution"]["id"] == "KH-NSPC"
    assert all("mode" not in a and a["modality"] == "on_site" for a in data["activities"])
    assert data["eu_delegation_opinion"] == {"verdict": "favourable", "note": ""}
    assert "opinion_waiver" not in data
    assert data["contact"] == view.data["contact"]


def test_a_waived_opinion_becomes_a_waiver(engine: Engine) -> None:
    view = v1(
        engine,
        "fine_tuned",
        fine_tune={
            "eu_delegation_opinion": {"verdict": "waived", "note": "", "reason": "No reply."}
        },
    )
    data = upcast_v1_to_v2(view)
    assert data["opinion_waiver"] == {"reason": "No reply."}
    assert "eu_delegation_opinion" not in data


def test_an_unregistered_institution_is_refused_without_personal_data(engine: Engine) -> None:
    view = v1(
        engine,
        "submitted",
        submit={"institution": {"name": "Unknown Office", "type": "public_authority",
                                "acronym": "UO", "level": "local"}},
    )  # fmt: skip
    with pytest.raises(MigrationRefused) as caught:
        upcast_v1_to_v2(view)
    message = str(caught.value)
    assert "2025.1 registry" in message
    contact = view.data["contact"]
    assert contact["name"] not in message
    assert contact["email"] not in message


# ------------------------------------------------------------------ through the engine
def test_submitted_and_fine_tuned_requests_migrate_and_continue_under_version_2(
    engine: Engine,
) -> None:
    waiting, tuned = v1(engine, "submitted"), v1(engine, "fine_tuned")
    later = v1(engine, "approved")
    items = plan_items(engine)
    assert set(items) == {str(waiting.id), str(tuned.id)}
    assert all(i.ok for i in items.values()), [i.problems for i in items.values()]
    plan = engine.plan_migration(NAME, to=2, states=["submitted", "fine_tuned"], actor=PLANNER)
    result = engine.migrate(plan, actor=APPLIER, reason="The fourth phase's rules apply.")
    assert set(result.migrated) == {waiting.id, tuned.id}
    moved = engine.get(tuned.id)
    assert (moved.definition_version, moved.state) == (2, "fine_tuned")
    assert engine.get(later.id).definition_version == 1
    approved = engine.fire(tuned.id, "approve", approval_payload(), actor=ACTORS["commission"])
    experts = mobilisation_payload(approved.data["activities"], version=2)
    assert engine.fire(tuned.id, "mobilise", experts, actor=ACTORS["team"]).state == "mobilised"
    view = engine.fire(waiting.id, "request_opinion", actor=ACTORS["team"])
    view = engine.fire(view.id, "give_opinion", opinion_payload(), actor=ACTORS["delegation"])
    assert (view.definition_version, view.state) == (2, "submitted")


def test_the_plan_blocks_what_version_2s_rules_refuse(engine: Engine) -> None:
    unregistered = v1(
        engine,
        "submitted",
        submit={"institution": {"name": "Unknown Office", "type": "public_authority",
                                "acronym": "UO", "level": "local"}},
    )  # fmt: skip
    waived_direct = v1(
        engine,
        "fine_tuned",
        fine_tune={
            "eu_delegation_opinion": {"verdict": "waived", "note": "", "reason": "No reply."}
        },
    )
    mislabelled = v1(engine, "submitted", submit={"channel": "eu_delegation"})  # by the partner
    items = plan_items(engine)
    assert not any(i.ok for i in items.values())
    assert "not in the 2025.1 registry" in items[str(unregistered.id)].problems[0]
    assert "only on a request the EU Delegation submitted" in " ".join(
        items[str(waived_direct.id)].problems
    )
    assert "submission_channel_matches" in " ".join(items[str(mislabelled.id)].problems)


def test_a_request_the_delegation_submitted_keeps_its_waiver(engine: Engine) -> None:
    request = request_payload(channel="eu_delegation")
    theirs = engine.start(NAME, request, actor=ACTORS["delegation"], version=1)
    waived = action_plan_payload(opinion="waived")
    view = engine.fire(theirs.id, "fine_tune", waived, actor=ACTORS["team"])
    item = plan_items(engine)[str(view.id)]
    assert item.ok, item.problems
    assert item.entering == "fine_tune"
