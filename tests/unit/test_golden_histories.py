"""Committed histories replay to the state they had when written, and verify.

``tests/golden/technical-assistance-v1.jsonl`` was exported from the demo by the engine
before definition versions and hash format 2 existed (events of shape 1, hash format 1).
A change to version 1 of the workflow, to the hashing or to the upcasters that altered its
replay fails here. ``technical-assistance-v2.jsonl`` is the demo of versions 1 and 2 with
its two migrations; ``technical-assistance-v3.jsonl`` the demo of all three versions (seed
1, 64 requests, ``today`` 2026-12-01 13:00 UTC, exported with ``engine.export``): version 2
requests migrated to version 3 the day it came out and at the end, version 1 ones through
version 2 to version 3, every migration rescheduling deadlines; escalations to the team
and to the Commission, by the runner passing every other week and at the end; silences deemed favourable;
version 3's audit trail: validated activity reports attached before each ``implement``,
corrections approved by a second person (one after a refused self-approval), notes, an
activity recorded late; and the privacy stream of the expert the demo erased. Personal data
is exported as envelopes (no key is committed): the recorded states are those of the export
loaded into a fresh store, which cannot open them (``[erased]``). A store installs its
privacy workflow at open because it recorded the definition; :func:`load_export` writes
events only, so the tests install it for the version 3 history.
"""

from __future__ import annotations

import hashlib

import pytest

from engine import Actor, Engine, IntegrityViolation, UnknownWorkflow
from engine.audit.offline.canonical import canonical_json
from engine.privacy.stream import privacy_definition
from tests.golden import HERE, expected_states, load_export
from workflows.technical_assistance import definition, definitions

V1 = "technical-assistance-v1"
V1_HASH = "c9979d7f33ee3594726804834c0944aba984dad29137faf0d36d41a565e40416"


@pytest.fixture(scope="module")
def golden_v1() -> Engine:
    engine = Engine.open("memory://")
    assert load_export(engine, HERE / f"{V1}.jsonl") == 532
    return engine


def test_version_1_keeps_the_hash_its_golden_history_pins() -> None:
    engine = Engine.open("memory://", workflows=[definition()])
    assert [c.hash for c in engine.registry.all()] == [V1_HASH]


def test_a_golden_v1_history_replays_to_its_recorded_states(golden_v1: Engine) -> None:
    expected = expected_states(V1)
    assert len(expected) == 64
    for iid, want in expected.items():
        view = golden_v1.get(iid)
        data = hashlib.sha256(canonical_json(view.data).encode()).hexdigest()
        got = {"state": view.state, "version": view.version,
               "definition_hash": view.definition_hash, "data_sha256": data}  # fmt: skip
        assert got == want, iid


def test_a_golden_v1_history_verifies_hashes_and_meaning(golden_v1: Engine) -> None:
    report = golden_v1.verify()
    assert report.ok, report.problems[:5]
    assert report.events_checked == 532


def test_its_events_are_upcast_on_read_but_hash_as_stored(golden_v1: Engine) -> None:
    iid = next(iter(expected_states(V1)))
    history = golden_v1.history(iid)
    assert history
    assert all(entry.verified for entry in history)
    events = list(golden_v1.application.instance_events(golden_v1.resolve(iid)))
    assert {(e.hash_format, e.event_version) for e in events} == {(1, 2)}


def test_new_steps_on_a_golden_instance_use_the_current_format() -> None:
    from engine.testing import actor

    golden_v1 = Engine.open("memory://")
    load_export(golden_v1, HERE / f"{V1}.jsonl")
    iid = next(i for i, s in expected_states(V1).items() if s["state"] == "submitted")
    view = golden_v1.fire(
        iid, "return_for_revision", None, actor=actor("socieux_team"), reason="golden check"
    )
    last = list(golden_v1.application.instance_events(view.id))[-1]
    assert (last.hash_format, last.event_version) == (2, 2)
    assert golden_v1.history(iid)[-1].verified
    assert golden_v1.verify().ok


def test_negative_control_without_its_definition_a_v1_history_is_refused() -> None:
    from workflows.technical_assistance import definition_v2

    engine = Engine.open("memory://", workflows=[definition_v2()])
    load_export(engine, HERE / f"{V1}.jsonl")
    iid = next(iter(expected_states(V1)))
    with pytest.raises(UnknownWorkflow) as caught:
        engine.fire(iid, "withdraw", None, actor=Actor("x", "partner_institution"), reason="x")
    assert V1_HASH[:12] in str(caught.value)
    report = engine.verify()
    assert not report.ok
    assert any(V1_HASH[:12] in p.detail for p in report.problems)


def test_a_stored_event_of_an_unknown_future_shape_is_a_typed_error() -> None:
    engine = Engine.open("memory://")
    load_export(engine, HERE / f"{V1}.jsonl")
    upcasters = engine.application.upcasters
    iid = engine.resolve(next(iter(expected_states(V1))))
    upcasters.current = {**upcasters.current, "socieux.instance:Started": 3}
    with pytest.raises(IntegrityViolation, match="no upcaster"):
        engine.get(iid)


V2 = "technical-assistance-v2"


@pytest.fixture(scope="module")
def golden_v2() -> Engine:
    engine = Engine.open("memory://")
    assert load_export(engine, HERE / f"{V2}.jsonl") == 506
    return engine


V3 = "technical-assistance-v3"
V3_HASH = "eb1cb932ad07376d13b6ff2366bea651a76b3d4424accbfe2c19d17d0a943586"
V3_EVENTS = 517


def _engine_for(name: str) -> Engine:
    """An empty store for the golden history ``name`` (version 3's holds a privacy stream)."""
    if name == V3:
        return Engine.open("memory://", workflows=[*definitions(), privacy_definition()])
    return Engine.open("memory://")


@pytest.fixture(scope="module")
def golden_v3() -> Engine:
    engine = _engine_for(V3)
    assert load_export(engine, HERE / f"{V3}.jsonl") == V3_EVENTS
    return engine


@pytest.mark.parametrize("name", [V1, V2, V3])
def test_every_definition_a_golden_history_pins_is_installed_unchanged(name: str) -> None:
    """Changing an installed definition's content changes its hash: the committed histories
    would then no longer replay with their own rules, so ship a new version instead."""
    engine = _engine_for(name)
    load_export(engine, HERE / f"{name}.jsonl")
    pinned = {s["definition_hash"] for s in expected_states(name).values()}
    for digest in pinned:
        assert engine.registry.by_hash(digest).hash == digest
    report = engine.replay_check()
    assert report.ok, report.failures[:3]


def test_the_golden_v2_history_replays_verifies_and_holds_migrations(golden_v2: Engine) -> None:
    for iid, want in expected_states(V2).items():
        view = golden_v2.get(iid)
        data = hashlib.sha256(canonical_json(view.data).encode()).hexdigest()
        got = {"state": view.state, "version": view.version,
               "definition_hash": view.definition_hash, "data_sha256": data}  # fmt: skip
        assert got == want, iid
    report = golden_v2.verify()
    assert report.ok, report.problems[:5]
    migrated = [
        iid for iid in expected_states(V2)
        if any(h.trigger == "__migrate__" for h in golden_v2.history(iid))
    ]  # fmt: skip
    assert len(migrated) == 2
    assert all(golden_v2.get(i).definition_version == 2 for i in migrated)
    offline = Engine.verify_file(HERE / f"{V2}.jsonl")
    assert offline.ok, offline.problems[:5]


def test_negative_control_without_version_2_its_requests_are_refused() -> None:
    engine = Engine.open("memory://", workflows=[definition()])
    load_export(engine, HERE / f"{V2}.jsonl")
    on_v2 = next(i for i, s in expected_states(V2).items() if s["definition_hash"] != V1_HASH)
    with pytest.raises(UnknownWorkflow) as caught:
        engine.allowed(on_v2, Actor("x", "socieux_team"))
    assert expected_states(V2)[on_v2]["definition_hash"][:12] in str(caught.value)
    assert not engine.replay_check().ok


def test_version_3_keeps_the_hash_its_golden_history_pins() -> None:
    from workflows.technical_assistance import definition_v3

    engine = Engine.open("memory://", workflows=[definition_v3()], projections=[])
    assert [c.hash for c in engine.registry.all()] == [V3_HASH]
    assert V3_HASH in {s["definition_hash"] for s in expected_states(V3).values()}


def test_the_golden_v3_history_replays_verifies_and_holds_its_deadlines(
    golden_v3: Engine,
) -> None:
    for iid, want in expected_states(V3).items():
        view = golden_v3.get(iid)
        data = hashlib.sha256(canonical_json(view.data).encode()).hexdigest()
        got = {"state": view.state, "version": view.version,
               "definition_hash": view.definition_hash, "data_sha256": data}  # fmt: skip
        assert got == want, iid
    report = golden_v3.verify()
    assert report.ok, report.problems[:5]
    assert report.events_checked == V3_EVENTS
    offline = Engine.verify_file(HERE / f"{V3}.jsonl")
    assert offline.ok, offline.problems[:5]
    histories = {iid: golden_v3.history(iid) for iid in expected_states(V3)}
    moves = {i: sum(h.trigger == "__migrate__" for h in hs) for i, hs in histories.items()}
    assert sorted(n for n in moves.values() if n) == [1] * 18 + [2] * 2  # v1 -> v2 -> v3
    roles = [h.payload for hs in histories.values() for h in hs if h.trigger == "__escalate__"]
    assert len(roles) == 17
    deemed = [i for i, hs in histories.items() if any(h.trigger == "deem_favourable" for h in hs)]
    assert len(deemed) == 6


def test_an_escalation_of_the_golden_v3_history_shows_in_as_of(golden_v3: Engine) -> None:
    from datetime import timedelta

    histories = {i: golden_v3.history(i) for i in expected_states(V3)}
    alone = [  # an escalation the fortnightly runner recorded, not at "today" with the migrations
        (i, h)
        for i, hs in histories.items()
        for h in hs
        if h.trigger == "__escalate__" and [e.at for e in hs].count(h.at) == 1
    ]
    assert alone
    iid, entry = alone[0]
    before = golden_v3.get(iid, as_of=entry.at - timedelta(microseconds=1))
    after = golden_v3.get(iid, as_of=entry.at)
    assert after.version == before.version + 1 == entry.version
    assert (before.state, before.data) == (after.state, after.data)  # it moves nothing
    assert len(after.open_deadlines) == len(before.open_deadlines) - 1  # it closed one


def test_negative_control_without_version_3_its_requests_are_refused() -> None:
    from workflows.technical_assistance import definition_v2

    engine = Engine.open("memory://", workflows=[definition(), definition_v2()])
    load_export(engine, HERE / f"{V3}.jsonl")
    on_v3 = next(i for i, s in expected_states(V3).items() if s["definition_hash"] == V3_HASH)
    with pytest.raises(UnknownWorkflow) as caught:
        engine.allowed(on_v3, Actor("x", "socieux_team"))
    assert V3_HASH[:12] in str(caught.value)
    assert not engine.replay_check().ok


def test_the_golden_v3_history_holds_version_3_audit_trail(golden_v3: Engine) -> None:
    histories = {iid: golden_v3.history(iid) for iid in expected_states(V3)}
    every = [h for hs in histories.values() for h in hs]
    count = {t: sum(h.trigger == t for h in every) for t in
             ("__attach_evidence__", "__note__", "__correct__", "__approve_correction__")}  # fmt: skip
    assert count == {"__attach_evidence__": 8, "__note__": 6, "__correct__": 3,
                     "__approve_correction__": 3}  # fmt: skip
    for iid, hs in histories.items():
        for h in hs:
            if h.trigger == "implement" and h.definition_hash == V3_HASH:
                (guard,) = [g for g in h.guards if g.name == "activity_reports_on_file"]
                assert guard.ok, iid
    rows = golden_v3.audit_report("corrections").rows
    assert sorted(r["field"] for r in rows) == ["days_worked", "participants", "title"]
    assert all(r["status"] == "approved" and r["approved_by"] != r["requested_by"] for r in rows)
    assert [r["trigger"] for r in golden_v3.audit_report("late").rows] == ["record_activity"]
