"""Transparency-log proofs on SQLite and PostgreSQL: tree heads, bundles, consistency,
witnessed heads, and tampering by SQL (detected, with a clear message)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from engine import Engine, IntegrityViolation, InvalidArgument
from engine.audit.heads import HEADS_TABLE
from engine.audit.offline.merkle import Frontier, leaf_hash
from engine.audit.offline.signing import generate_key
from engine.audit.tree import LEAVES_TABLE, NODES_TABLE
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, submit
from tests.integration.test_audit_tamper import PostgresTamper, SQLiteTamper, Tamper, forge

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A signing key, its public key, and someone else's public key."""
    generate_key(tmp_path / "head.key")
    generate_key(tmp_path / "other.key")
    return tmp_path / "head.key", tmp_path / "head.key.pub", tmp_path / "other.key.pub"


def bundle_of(engine: Engine, iid: UUID, path: Path, **kw: Any) -> dict[str, Any]:
    with path.open("w", encoding="utf-8") as out:
        engine.prove(iid, out, **kw)
    return dict(json.loads(path.read_text(encoding="utf-8")))


def write(path: Path, bundle: dict[str, Any]) -> Path:
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def offline(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.audit.offline", str(path), *extra],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip


def kinds(report: Any) -> set[tuple[str, Any, Any]]:
    return {(p.kind, p.instance_id, p.version) for p in report.problems}


def log_root(engine: Engine, size: int | None = None) -> str:
    """The RFC 9162 root over the events' hashes in log order, from an export."""
    out = io.StringIO()
    engine.export(out)
    f = Frontier()
    for line in out.getvalue().splitlines():
        obj = json.loads(line)
        if obj["type"] == "event" and (size is None or f.size < size):
            f.append(leaf_hash(bytes.fromhex(obj["hash"])))
    return f.root().hex()


def test_hostile_bundle_files_are_invalid_arguments(tmp_path: Path) -> None:
    cases = {
        "empty.json": "",
        "list.json": "[]",
        "schema.json": json.dumps({"schema": "socieux.proof-bundle/9"}),
        "head.json": json.dumps({"schema": "socieux.proof-bundle/1", "head": {"size": -1}}),
        "dup.json": '{"schema":"socieux.proof-bundle/1","schema":"socieux.proof-bundle/1"}',
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(InvalidArgument, match="not a proof bundle"):
            Engine.verify_bundle(tmp_path / name)
        assert offline(tmp_path / name, "--bundle").returncode == 2


class ProofContract:
    """Heads, bundles and consistency on one durable backend."""

    @pytest.fixture
    def tamper(self, store_url: str) -> Tamper:
        raise NotImplementedError

    @pytest.fixture
    def ids(self, open_engine: EngineFactory) -> list[UUID]:
        engine = open_engine(projections=[])
        ids = [submit(engine) for _ in range(3)]
        for n in range(4):
            for iid in ids:
                engine.fire(iid, "note", {"text": f"n{n}"}, actor=REQUESTER)
        engine.close()
        return ids

    @pytest.fixture
    def reopen(self, open_engine: EngineFactory) -> Callable[[], Engine]:
        return lambda: open_engine(projections=[])

    def test_heads_are_numbered_and_their_roots_are_rfc9162_roots_of_the_log(
        self, ids: list[UUID], reopen: Any
    ) -> None:
        engine = reopen()
        first = engine.head()
        engine.fire(ids[0], "note", {"text": "more"}, actor=REQUESTER)
        second = engine.head()
        assert [(h.seq, h.size) for h in engine.heads()] == [(1, 15), (2, 16)]
        assert first.root == log_root(engine, 15)
        assert second.root == log_root(engine)
        report = engine.verify()
        assert (report.ok, report.heads_checked) == (True, 2)

    def test_the_stored_tree_rebuilds_from_the_log_to_the_same_root(
        self, ids: list[UUID], reopen: Any
    ) -> None:
        engine = reopen()
        made = engine.head()
        again = engine.head(rebuild=True)
        assert (again.size, again.root) == (made.size, made.root)
        assert engine.consistency(1, 2).ok

    def test_a_signed_head_verifies_only_with_its_key(
        self, ids: list[UUID], reopen: Any, keys: tuple[Path, Path, Path]
    ) -> None:
        private, public, other = keys
        engine = reopen()
        made = engine.head(key=private)
        assert made.signature
        assert made.public_key
        good = engine.verify(public_key=public)
        assert (good.ok, good.signatures_checked) == (True, 1)
        bad = engine.verify(public_key=other)
        assert [p.detail for p in bad.problems] == [
            f"tree head #1: signed with another key ({made.public_key[:16]}...), not the given one"
        ]

    def test_a_bundle_verifies_with_no_database(
        self, ids: list[UUID], reopen: Any, keys: tuple[Path, Path, Path], tmp_path: Path
    ) -> None:
        engine = reopen()
        engine.head(key=keys[0])
        bundle = bundle_of(engine, ids[1], tmp_path / "b.json")
        assert [e["event"]["originator_version"] for e in bundle["events"]] == [1, 2, 3, 4, 5]
        assert len(bundle["definitions"]) == 1
        report = Engine.verify_bundle(tmp_path / "b.json", public_key=keys[1])
        assert (report.ok, report.events_checked, report.signatures_checked) == (True, 5, 1)
        run = offline(tmp_path / "b.json", "--public-key", str(keys[1]))
        assert (run.returncode, run.stdout.splitlines()[-1].endswith(": OK")) == (0, True)
        assert offline(tmp_path / "b.json", "--public-key", str(keys[2])).returncode == 6

    def test_tampered_bundles_are_detected(
        self, ids: list[UUID], reopen: Any, tmp_path: Path
    ) -> None:
        engine = reopen()
        engine.head()
        good = bundle_of(engine, ids[1], tmp_path / "b.json")
        other = bundle_of(engine, ids[2], tmp_path / "o.json")
        dropped = {
            **good,
            "events": [e for e in good["events"] if e["event"]["originator_version"] != 3],
        }
        report = Engine.verify_bundle(write(tmp_path / "d.json", dropped))
        assert ("missing", ids[1], 3) in kinds(report)
        altered = json.loads(json.dumps(good))
        altered["events"][2]["event"]["payload"]["text"] = "changed"
        assert ("altered", ids[1], 3) in kinds(
            Engine.verify_bundle(write(tmp_path / "a.json", altered))
        )
        borrowed = json.loads(json.dumps(good))
        borrowed["events"][1]["proof"] = other["events"][1]["proof"]
        borrowed["events"][1]["index"] = other["events"][1]["index"]
        report = Engine.verify_bundle(write(tmp_path / "p.json", borrowed))
        assert [(p.kind, p.version) for p in report.problems] == [("altered", 2)]
        assert "inclusion proof" in report.problems[0].detail
        relabelled = {**good, "instance": str(ids[2])}
        assert {
            p.kind for p in Engine.verify_bundle(write(tmp_path / "r.json", relabelled)).problems
        } == {"inserted"}
        rerooted = json.loads(json.dumps(good))
        rerooted["head"]["root"] = other["head"]["root"][::-1]
        assert len(Engine.verify_bundle(write(tmp_path / "h.json", rerooted)).problems) == 5
        assert offline(tmp_path / "d.json").returncode == 6  # fmt: skip

    def test_prove_needs_a_head_that_covers_the_request(self, ids: list[UUID], reopen: Any) -> None:
        engine = reopen()
        with pytest.raises(InvalidArgument, match="no tree head yet"):
            engine.prove(ids[0], io.StringIO())
        engine.head()
        later = submit(engine)
        with pytest.raises(InvalidArgument, match="no event under tree head #1"):
            engine.prove(later, io.StringIO())
        with pytest.raises(InvalidArgument, match="no tree head #7"):
            engine.prove(ids[0], io.StringIO(), head=7)

    def test_an_altered_event_before_a_head_is_detected(
        self, ids: list[UUID], reopen: Any, tamper: Tamper
    ) -> None:
        reopen().head()
        state = tamper.state(ids[1], 3)
        tamper.set_state(ids[1], 3, state.replace(b'"text":"n1"', b'"text":"m1"'))
        assert kinds(reopen().verify()) == {("altered", ids[1], 3)}  # its hash: the chain's

    def test_an_event_rewritten_with_a_new_hash_before_a_head_is_detected_by_the_head(
        self, ids: list[UUID], reopen: Any, tamper: Tamper
    ) -> None:
        engine = reopen()
        engine.head()
        history = engine.history(ids[1])
        engine.close()
        tamper.set_state(ids[1], 3, forge(tamper.state(ids[1], 3), ids[1], 3, history[1].hash, "x"))
        report = reopen().verify()
        assert ("head", None, None) in kinds(report)
        assert {k for k, i, _ in kinds(report) if i == ids[1]} == {"altered"}
        head = next(p for p in report.problems if p.kind == "head")
        assert head.detail.startswith("tree head #1: the log's first 15 events no longer hash")

    def test_a_removed_event_before_a_head_is_detected(
        self, ids: list[UUID], reopen: Any, tamper: Tamper
    ) -> None:
        reopen().head()
        tamper.delete(ids[2], 5)  # the last event of the log: no chain can see it
        report = reopen().verify()
        assert [p.detail for p in report.problems] == [
            "tree head #1: covers 15 events, but the log has only 14: events were removed"
        ]

    def test_an_event_inserted_before_a_head_is_detected(
        self, ids: list[UUID], reopen: Any, tamper: Tamper
    ) -> None:
        engine = reopen()
        engine.head()
        history = engine.history(ids[1])
        engine.close()
        at = tamper.position(ids[0], 3)
        forged = forge(tamper.state(ids[1], 5), ids[1], 6, history[4].hash, "forged")
        col, m = tamper.position_column, tamper.mark
        tamper.execute(f"UPDATE {tamper.table} SET {col} = {col} + 1000 WHERE {col} > {m}", at)
        tamper.execute(
            f"INSERT INTO {tamper.table} ({col}, originator_id, originator_version, topic, state) "
            f"VALUES ({m}, {m}, 6, {m}, {m})",
            at + 1, tamper.key(ids[1]), tamper.topic(ids[1], 5), forged,
        )  # fmt: skip
        found = kinds(reopen().verify())
        assert ("head", None, None) in found
        assert any(i == ids[1] for _, i, _ in found)

    def test_a_rewritten_and_resigned_history_fails_against_a_witnessed_head(
        self,
        ids: list[UUID],
        reopen: Any,
        tamper: Tamper,
        keys: tuple[Path, Path, Path],
        tmp_path: Path,
    ) -> None:
        engine = reopen()
        kept = engine.head(key=keys[0])
        witness = tmp_path / "heads.txt"
        witness.write_text(f"# kept by the auditor\n{kept.witness_line()}\n", encoding="utf-8")
        history = engine.history(ids[2])
        engine.close()
        rewritten = forge(tamper.state(ids[2], 5), ids[2], 5, history[3].hash, "rewritten")
        tamper.set_state(ids[2], 5, rewritten)
        for table in (HEADS_TABLE, LEAVES_TABLE, NODES_TABLE):
            tamper.execute(
                f"DELETE FROM {tamper.table.replace(tamper.table.split('.')[-1], table)}"
            )
        engine = reopen()
        resigned = engine.head(key=keys[0])
        assert (resigned.seq, resigned.size) == (1, 15)
        assert engine.verify(public_key=keys[1]).ok  # the store agrees with itself
        report = engine.verify(against=witness, public_key=keys[1])
        (problem,) = report.problems
        assert problem.detail.startswith("witnessed head (line 2): the log's first 15 events")
        assert not engine.consistency(kept.witness_line(), 1).ok

    def test_every_verify_is_recorded_as_a_run(self, ids: list[UUID], reopen: Any) -> None:
        engine = reopen()
        engine.head()
        engine.verify()
        engine.verify(command="socieux audit verify")
        runs = engine.verify_runs()
        assert [r.command for r in runs] == ["socieux audit verify", "Engine.verify"]
        assert (runs[0].ok, runs[0].events, runs[0].instances, runs[0].heads) == (True, 15, 3, 1)
        assert len(engine.verify_runs(limit=1)) == 1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
class TestSQLite(ProofContract):
    @pytest.fixture
    def tamper(self, store_url: str) -> Tamper:
        return SQLiteTamper(store_url.removeprefix("sqlite:///"))

    def test_a_read_only_store_verifies_and_records_no_run(
        self, ids: list[UUID], reopen: Any, store_url: str
    ) -> None:
        reopen().head()
        engine = Engine.open(f"{store_url}?mode=ro", projections=[])
        try:
            report = engine.verify()
            assert (report.ok, report.heads_checked) == (True, 1)
            assert engine.verify_runs() == []
        finally:
            engine.close()

    def test_malformed_tree_rows_are_problems_not_crashes(
        self, ids: list[UUID], reopen: Any, tamper: Tamper, tmp_path: Path
    ) -> None:
        engine = reopen()
        engine.head()
        engine.fire(ids[0], "note", {"text": "more"}, actor=REQUESTER)
        engine.head()
        engine.close()
        tamper.execute(f"UPDATE {NODES_TABLE} SET hash = 'not hex'")
        tamper.execute(f"UPDATE {HEADS_TABLE} SET made_at = 'yesterday' WHERE seq = 1")
        engine = reopen()
        details = [p.detail for p in engine.verify().problems]
        assert details == [
            "tree head #1: its stored row is malformed: its time 'yesterday' is not an ISO 8601 time"
        ]
        assert [h.seq for h in engine.heads()] == [2]
        with pytest.raises(IntegrityViolation, match="does not prove leaf"):
            bundle_of(engine, ids[0], tmp_path / "b.json")


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
class TestPostgres(ProofContract):
    @pytest.fixture
    def tamper(self, store_url: str) -> Tamper:
        return PostgresTamper(store_url.rsplit("schema=", 1)[1])
