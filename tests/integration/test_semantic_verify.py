"""Histories whose hashes are intact but whose meaning breaks the workflow are found.

Someone who can write to the database can rewrite events and recompute every hash (the
hash is not keyed). :class:`Forger` does exactly that, on each backend: it decodes the
stored rows with the application's mapper, edits them, re-links ``prev_hash`` and
re-hashes the chain, and writes the rows back. ``verify`` (and the offline verifier, on
an export) must then report the broken rule at the right instance, version and position.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from engine import Actor, Engine
from engine.audit.report import IntegrityReport
from engine.definition.content import content_hash
from engine.instance.aggregate import STARTED_TOPIC, TRANSITIONED_TOPIC, WorkflowInstance
from engine.instance.hashing import event_hash
from tests.conftest import EngineFactory
from tests.helpers import APPROVER, REQUESTER, REVIEWER
from tests.integration.test_audit_tamper import PostgresTamper, SQLiteTamper, Tamper
from tests.toy import toy_definition

Edit = Callable[[dict[str, Any]], str | None]
"""Changes a decoded event state in place; returns a new topic, or ``None`` to keep it."""


class MemoryTamper(Tamper):
    """The in-memory recorder's rows, changed in place (the POPO recorder's own lists)."""

    def __init__(self, engine: Engine) -> None:
        self.rec: Any = engine.application.recorder

    def _at(self, iid: UUID, version: int) -> int:
        return int(self.rec._stored_events_index[str(iid)][version])

    def state(self, iid: UUID, version: int) -> bytes:
        return bytes(self.rec._stored_events[self._at(iid, version)].state)

    def topic(self, iid: UUID, version: int) -> str:
        return str(self.rec._stored_events[self._at(iid, version)].topic)

    def set_row(self, iid: UUID, version: int, topic: str, state: bytes) -> None:
        self.rec._stored_events[self._at(iid, version)] = StoredEvent(iid, version, topic, state)

    def insert(
        self, iid: UUID, version: int, state: bytes, topic: str = TRANSITIONED_TOPIC
    ) -> None:
        self.rec.insert_events([StoredEvent(iid, version, topic, state)])

    def position(self, iid: UUID, version: int) -> int:
        return self._at(iid, version) + 1


def tamper_for(store_url: str, engine: Engine) -> Tamper:
    if store_url.startswith("sqlite"):
        return SQLiteTamper(store_url.removeprefix("sqlite:///"))
    if store_url.startswith("postgresql"):
        return PostgresTamper(store_url.rsplit("schema=", 1)[1])
    return MemoryTamper(engine)


def rehash(topic: str, iid: UUID, version: int, state: dict[str, Any]) -> str:
    """The hash a forger computes for an edited state (the engine's own function)."""
    body = {k: v for k, v in state.items() if k not in ("timestamp", "hash")}
    at = state["timestamp"]
    return event_hash(topic=topic, originator_id=iid, originator_version=version, timestamp=at, body=body)  # fmt: skip


class Forger:
    """Rewrites an instance's events and re-hashes its whole chain (hashes stay intact)."""

    def __init__(self, engine: Engine, rows: Tamper) -> None:
        self.mapper: Any = engine.application.mapper
        self.rows = rows

    def decode(self, iid: UUID, version: int) -> dict[str, Any]:
        return dict(self.mapper.transcoder.decode(self.rows.state(iid, version)))

    def forge(self, iid: UUID, top: int, edits: dict[int, Edit]) -> None:
        prev = None
        for v in range(1, top + 1):
            state = self.decode(iid, v)
            topic = (edits[v](state) if v in edits else None) or self.rows.topic(iid, v)
            if prev is not None:
                state["prev_hash"] = prev
            state["hash"] = prev = rehash(topic, iid, v, state)
            self.rows.set_row(iid, v, topic, self.mapper.transcoder.encode(state))

    def append(self, iid: UUID, version: int, state: dict[str, Any]) -> None:
        """Add an event after ``version - 1``, linked and hashed as the engine would."""
        state["prev_hash"] = self.decode(iid, version - 1)["hash"]
        state["hash"] = rehash(TRANSITIONED_TOPIC, iid, version, state)
        self.rows.insert(iid, version, self.mapper.transcoder.encode(state))


def rules(report: IntegrityReport) -> set[tuple[str | None, UUID | None, int | None]]:
    return {(p.rule, p.instance_id, p.version) for p in report.problems}


# The forged histories.
def fields(**values: Any) -> Edit:
    return lambda s: s.update(values)


def audit(**values: Any) -> Edit:
    return lambda s: s["audit"].update(values)


def as_approval(source: str) -> Edit:
    """Turn a review into an approval (the guard result approve records), from ``source``."""

    def edit(s: dict[str, Any]) -> None:
        guard = {"name": "amount_within_cap", "version": 1, "ok": True, "reason": "", "inputs": {}}
        s.update(trigger="approve", source=source, dest="approved", payload={})
        s["audit"].update(actor_id=APPROVER.id, role=APPROVER.role, guards=[guard])

    return edit


def as_start(s: dict[str, Any]) -> str:
    s.update(trigger="submit", source=None, dest="submitted", collect_as=None)
    s.update(workflow="toy", definition_version=1, originator_topic=WorkflowInstance.TOPIC)
    return STARTED_TOPIC


def failed_guard(s: dict[str, Any]) -> None:
    s["audit"]["guards"][0]["ok"] = False


FOREIGN = toy_definition(version=2)
FOREIGN_HASH = content_hash(FOREIGN)
UNKNOWN = fields(definition_hash="ab" * 32)
# name -> (instance, its last version, edits by version, the rules and versions reported)
SCENARIOS: dict[str, tuple[str, int, dict[int, Edit], set[tuple[str, int]]]] = {
    "self_approval": ("approved", 4, {4: audit(actor_id=REQUESTER.id)}, {("separation", 4)}),
    "skipped_step_source": ("reviewed", 3, {3: as_approval("reviewed")}, {("source", 3), ("trigger", 3)}),
    "skipped_step_trigger": ("reviewed", 3, {3: as_approval("submitted")}, {("trigger", 3)}),
    "wrong_role": ("reviewed", 3, {3: audit(role="requester")}, {("role", 3)}),
    "start_not_first": ("reviewed", 3, {2: as_start}, {("first_event", 2)}),
    "first_not_a_start": ("reviewed", 3, {1: lambda s: TRANSITIONED_TOPIC}, {("first_event", 1)}),
    "foreign_definition": ("reviewed", 3, {2: fields(definition_hash=FOREIGN_HASH)}, {("definition", 2)}),
    "unknown_definition": ("reviewed", 3, dict.fromkeys((1, 2, 3), UNKNOWN), {("definition", 1)}),
    "failed_guard": ("reviewed", 3, {3: failed_guard}, {("guards", 3)}),
    "guard_left_out": ("reviewed", 3, {3: audit(guards=[])}, {("guards", 3)}),
    "wrong_dest": ("reviewed", 3, {3: fields(dest="approved")}, {("dest", 3)}),
    "collect_as": ("reviewed", 3, {2: fields(collect_as=None)}, {("collect_as", 2)}),
    "no_reason": ("rejected", 2, {2: audit(reason=" ")}, {("reason", 2)}),
}  # fmt: skip


@pytest.fixture
def world(open_engine: EngineFactory, store_url: str) -> tuple[Engine, Forger, dict[str, UUID]]:
    """Three toy instances: approved (4 events), reviewed (3) and rejected (2)."""
    engine = open_engine(workflows=[toy_definition(), FOREIGN], projections=[])
    start = {"title": "t", "amount": 10}
    ids = {
        kind: engine.start("toy", start, actor=REQUESTER, version=1).id
        for kind in ("approved", "reviewed", "rejected")
    }
    for kind in ("approved", "reviewed"):
        engine.fire(ids[kind], "note", {"text": "n"}, actor=REQUESTER)
        engine.fire(ids[kind], "review", {"score": 4}, actor=REVIEWER)
    engine.fire(ids["approved"], "approve", None, actor=APPROVER)
    engine.fire(ids["rejected"], "reject", None, actor=REVIEWER, reason="out of scope")
    assert engine.verify().ok
    return engine, Forger(engine, tamper_for(store_url, engine)), ids


World = tuple[Engine, Forger, dict[str, UUID]]


def export(engine: Engine, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        engine.export(out)
    return path


class SemanticContract:
    """Each forged history is reported online and offline, with instance, version, position."""

    @pytest.mark.parametrize("name", sorted(SCENARIOS))
    def test_a_forged_history_breaks_its_rule(
        self, world: World, name: str, tmp_path: Path
    ) -> None:
        engine, forger, ids = world
        kind, top, edits, expected = SCENARIOS[name]
        iid = ids[kind]
        forger.forge(iid, top, edits)
        report = engine.verify()
        assert not report.ok
        assert {p.kind for p in report.problems} == {"rule"}  # the hashes are intact
        assert rules(report) == {(rule, iid, v) for rule, v in expected}
        for p in report.problems:
            assert p.position == forger.rows.position(iid, p.version or 0)
            assert p.detail.startswith(f"{p.rule}: ")
        offline = Engine.verify_file(export(engine, tmp_path / "x.jsonl"))
        assert rules(offline) == rules(report)
        assert {(p.version, p.position) for p in offline.problems} == {
            (p.version, p.position) for p in report.problems
        }
        assert all(p.line for p in offline.problems)

    def test_a_clean_history_of_every_state_verifies(
        self, open_engine: EngineFactory, tmp_path: Path
    ) -> None:
        from engine.testing import kit, walk_to
        from workflows.technical_assistance.workflow import definition

        engine = open_engine(workflows=[definition()], projections=[])
        for state in kit().states:
            walk_to(engine, state)
        for _ in range(3):
            walk_to(engine, "disseminated")
        report = engine.verify()
        assert report.ok, report.problems[:3]
        assert report.instances_checked == len(kit().states) + 3
        offline = Engine.verify_file(export(engine, tmp_path / "x.jsonl"))
        assert offline.ok, offline.problems[:3]

    def test_an_instance_pinned_to_an_uninstalled_definition_is_reported(
        self, world: World, store_url: str
    ) -> None:
        engine, _, ids = world
        if store_url == "memory://":
            pytest.skip("a second engine on memory:// is another store")
        with Engine.open(store_url, workflows=[FOREIGN], projections=[]) as other:
            assert other.verify().ok  # not installed, but recorded in the store
        with engine._parts.sql.write() as cur:  # now neither installed nor recorded
            cur.execute(f"DELETE FROM {engine._parts.sql.table('socieux_definitions')}")
        with Engine.open(store_url, workflows=[FOREIGN], projections=[]) as other:
            report = other.verify()
        assert rules(report) == {("definition", iid, 1) for iid in ids.values()}
        assert "no definition with this hash is installed" in report.problems[0].detail

    def test_a_mobilisation_without_approval_is_reported(
        self, open_engine: EngineFactory, store_url: str
    ) -> None:
        from engine.testing import walk_to
        from workflows.technical_assistance.workflow import definition

        engine = open_engine(workflows=[definition()], projections=[])
        done, target = walk_to(engine, "mobilised"), walk_to(engine, "fine_tuned")
        forger = Forger(engine, tamper_for(store_url, engine))
        mobilise = next(h.version for h in engine.history(done.id) if h.trigger == "mobilise")
        forged = forger.decode(done.id, mobilise)  # a genuine mobilisation, moved over
        forged["source"] = "fine_tuned"
        at = target.version + 1
        forger.append(target.id, at, forged)
        report = engine.verify()
        assert rules(report) == {("trigger", target.id, at)}
        assert report.problems[0].position == forger.rows.position(target.id, at)
        assert "no 'mobilise' from 'fine_tuned'" in report.problems[0].detail


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
class TestMemory(SemanticContract):
    pass


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
class TestSQLite(SemanticContract):
    def test_a_rewritten_snapshot_cannot_hide_a_self_approval(
        self, open_engine: EngineFactory, store_url: str
    ) -> None:
        engine = open_engine(projections=[])
        iid = engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
        for n in range(49):
            engine.fire(iid, "note", {"text": f"n{n}"}, actor=REQUESTER)
        engine.close()
        db = SQLiteTamper(store_url.removeprefix("sqlite:///"))
        # The snapshot at version 50 is rewritten to forget who submitted the request.
        ((raw,),) = db.query("SELECT state FROM stored_snapshots WHERE originator_version = 50")
        mapper: Any = engine.application.mapper
        snapshot = mapper.transcoder.decode(raw)
        snapshot["state"].update(fired_by={"note": [REQUESTER.id]}, acted_as={})
        db.execute("UPDATE stored_snapshots SET state = ?", mapper.transcoder.encode(snapshot))
        fooled = open_engine(projections=[])
        fooled.fire(iid, "review", {"score": 4}, actor=REVIEWER)
        fooled.fire(iid, "approve", None, actor=Actor(REQUESTER.id, "approver"))
        assert [f.kind for f in fooled.replay_check().failures] == ["snapshot_mismatch"]
        db.execute("DELETE FROM stored_snapshots")  # and the evidence is removed
        report = fooled.verify()
        assert rules(report) == {("separation", iid, 52)}
        assert report.problems[0].position == db.position(iid, 52)


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
class TestPostgres(SemanticContract):
    pass
