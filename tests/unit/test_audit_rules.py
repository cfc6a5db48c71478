"""The stdlib rule checks agree with the engine's own rules, and never crash on garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.audit.offline.chain import Record
from engine.audit.offline.definition import START_STATE, DefinitionError, Rules
from engine.audit.offline.rules import STARTED_TOPIC, TRANSITIONED_TOPIC, Event, Track, check_step
from engine.audit.offline.semantic import RuleChecker
from engine.commands.compiled import CompiledWorkflow
from engine.definition import model
from engine.definition.content import content_hash, to_dict
from engine.instance import aggregate
from engine.instance.hashing import canonical_json
from tests.toy import toy_definition
from workflows.technical_assistance.workflow import definition as ta_definition

IID = "00000000-0000-4000-8000-000000000001"


def plain(defn: model.WorkflowDefinition) -> dict[str, Any]:
    return dict(json.loads(canonical_json(to_dict(defn))))


def test_the_offline_copies_of_the_engine_constants_agree() -> None:
    assert (STARTED_TOPIC, TRANSITIONED_TOPIC) == (
        aggregate.STARTED_TOPIC,
        aggregate.TRANSITIONED_TOPIC,
    )
    assert START_STATE == model.START_STATE


@pytest.mark.parametrize("defn", [toy_definition(), ta_definition()], ids=["toy", "ta"])
def test_the_rules_read_from_the_dict_are_the_compiled_machine(
    defn: model.WorkflowDefinition,
) -> None:
    compiled = CompiledWorkflow(defn)
    rules = Rules.from_dict(content_hash(defn), plain(defn))
    states = [START_STATE, *(s.name for s in defn.states)]
    for state in states:
        assert list(rules.table.get(state, {})) == compiled.triggers_from(state)
        for trigger in compiled.triggers_from(state):
            t, step = compiled.transition(state, trigger), rules.step(state, trigger)
            assert step is not None
            assert step.dest_from(state) == (t.dest if t.is_start else t.dest_from(state))
            assert (step.roles, step.separation, step.collect_as) == (
                t.roles,
                t.separation,
                t.collect_as,
            )
            assert [name for name, _ in step.guards] == list(t.guards)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("transitions"),
        lambda d: d.update(version="1"),
        lambda d: d["transitions"][0].update(roles="requester"),
        lambda d: d["transitions"][0].update(internal="yes"),
        lambda d: d["transitions"][0].pop("trigger"),
        lambda d: d["guards"][0].update(version=None),
        lambda d: d.update(guards={}),
    ],
)
def test_a_malformed_definition_is_refused(damage: Any) -> None:
    d = plain(toy_definition())
    damage(d)
    with pytest.raises(DefinitionError):
        Rules.from_dict("0" * 64, d)


def _record(version: int, **fields: Any) -> Record:
    base = {"topic": TRANSITIONED_TOPIC, "originator_id": IID, "definition_hash": HASH}
    return Record(IID, version, {**base, **fields}, "x" * 64, position=version)


HASH = content_hash(toy_definition())
START: dict[str, Any] = {"topic": STARTED_TOPIC, "trigger": "submit", "source": None}
START |= {"dest": "submitted", "workflow": "toy", "definition_version": 1, "collect_as": None}
START |= {"audit": {"actor_id": "a", "role": "requester", "guards": []}}
NOTE: dict[str, Any] = {"trigger": "note", "source": "submitted", "dest": "submitted"}
NOTE |= {"collect_as": "notes", "audit": {"actor_id": "a", "role": "requester", "guards": []}}
REVIEW: dict[str, Any] = {"trigger": "review", "source": "submitted", "dest": "reviewed"}
REVIEW |= {"collect_as": None, "audit": {"actor_id": "b", "role": "reviewer"}}
REVIEW["audit"]["guards"] = [{"name": "good_score", "version": 1, "ok": True}]


def checker() -> RuleChecker:
    return RuleChecker({HASH: plain(toy_definition())}.get)


def test_a_gap_leaves_the_state_unknown_instead_of_reporting_every_later_step() -> None:
    records = [_record(1, **START), _record(3, **REVIEW), _record(4, **NOTE)]
    found = checker().judge(records)
    # v4 notes from 'submitted' (and stays there) while the review led to 'reviewed': real
    # breaches; but v3, after the missing v2, is not blamed for where v2 might have led.
    assert [(p.rule, p.version) for p in found] == [("source", 4), ("dest", 4)]


def test_the_stream_leaves_an_instance_out_of_order_for_judgement() -> None:
    rc = checker()
    for rec in (_record(1, **START), _record(3, **REVIEW)):
        rc.add(rec)
    assert rc.finish() == ([], [IID])


def test_an_unreadable_record_is_skipped_and_the_state_is_unknown_after_it() -> None:
    unreadable = Record(IID, 2, None, None, error="broken")
    found = checker().judge([_record(1, **START), unreadable, _record(3, **REVIEW)])
    assert found == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYS = ["topic", "trigger", "source", "dest", "definition_hash", "collect_as", "audit"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(KEYS), JSON, max_size=7), max_size=4))
def test_any_json_in_the_fields_is_judged_never_raised(events: list[dict[str, Any]]) -> None:
    rules = Rules.from_dict(HASH, plain(toy_definition()))
    track = Track(rules=rules, definition=HASH)
    for version, fields in enumerate(events, 1):
        ev = Event.of(fields)
        found = check_step(track, ev, version)
        assert all(isinstance(rule, str) and isinstance(d, str) for rule, d in found)
        track.advance(ev, version)
    assert checker().judge([_record(v, **f) for v, f in enumerate(events, 1)]) is not None
