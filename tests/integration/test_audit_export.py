"""Exports on every backend verify offline; damage to an export is found by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from engine import Engine
from engine.audit.offline.signing import generate_key, load_public_key, signature_check
from engine.audit.offline.verifier import OfflineReport, verify_file
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, REVIEWER, StepClock, submit
from tests.toy import toy_definition


def export(engine: Engine, path: Path, **kw: object) -> list[dict[str, Any]]:
    with path.open("w", encoding="utf-8") as out:
        engine.export(out, **kw)  # type: ignore[arg-type]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def kinds_and_lines(report: OfflineReport) -> set[tuple[str, int | None]]:
    return {(p.kind, p.line) for p in report.problems}


class ExportContract:
    @pytest.fixture
    def engine(self, open_engine: EngineFactory) -> Engine:
        engine = open_engine(clock=StepClock())
        first, second = submit(engine), submit(engine)
        engine.fire(first, "note", {"text": "a"}, actor=REQUESTER)
        engine.seal()
        engine.fire(second, "review", {"score": 4}, actor=REVIEWER)
        engine.fire(first, "note", {"text": "b"}, actor=REQUESTER)
        engine.seal()
        return engine

    def test_a_full_export_verifies_offline(self, engine: Engine, tmp_path: Path) -> None:
        lines = export(engine, tmp_path / "x.jsonl")
        assert [line["type"] for line in lines] == [
            "header",
            "definition",
            "event",
            "event",
            "event",
            "seal",
            "event",
            "event",
            "seal",
            "end",
        ]
        report = verify_file(tmp_path / "x.jsonl")
        online = engine.verify()
        assert report.ok
        assert (report.events, report.instances, report.seals) == (
            online.events_checked,
            online.instances_checked,
            online.seals_checked,
        )

    def test_each_event_line_holds_exactly_what_was_hashed(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        from engine.audit.offline.canonical import event_digest

        for line in export(engine, tmp_path / "x.jsonl"):
            if line["type"] == "event":
                assert event_digest(line["event"]) == line["hash"]

    def test_an_instance_export_holds_only_that_instance(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        first = next(iter(engine.instance_ids()))
        lines = export(engine, tmp_path / "x.jsonl", instance=first)
        events = [line for line in lines if line["type"] == "event"]
        assert {e["event"]["originator_id"] for e in events} == {str(first)}
        assert [e["event"]["originator_version"] for e in events] == [1, 2, 3]
        report = verify_file(tmp_path / "x.jsonl")
        assert (report.ok, report.events, report.seals) == (True, 3, 2)

    def test_an_export_since_a_time_verifies_against_later_seals(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        first = next(iter(engine.instance_ids()))
        since = engine.history(first)[1].at  # the first note
        lines = export(engine, tmp_path / "x.jsonl", since=since)
        assert [line["type"] for line in lines] == [
            "header",
            "anchor",
            "definition",
            "event",
            "seal",
            "event",
            "event",
            "seal",
            "end",
        ]
        report = verify_file(tmp_path / "x.jsonl")
        assert (report.ok, report.events) == (True, 3)

    def test_a_tampered_line_fails_with_its_line_number(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        path = tmp_path / "x.jsonl"
        export(engine, path)
        text = path.read_text(encoding="utf-8").splitlines()
        assert '"text":"a"' in text[4]
        text[4] = text[4].replace('"text":"a"', '"text":"z"')
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
        report = verify_file(path)
        assert ("altered", 5) in kinds_and_lines(report)
        assert {p.kind for p in report.problems} == {"altered", "seal"}

    def test_a_removed_event_line_is_found(self, engine: Engine, tmp_path: Path) -> None:
        path = tmp_path / "x.jsonl"
        export(engine, path)
        text = path.read_text(encoding="utf-8").splitlines()
        del text[7]  # the first instance's last note
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
        report = verify_file(path)
        first = str(next(iter(engine.instance_ids())))
        assert ("missing", first, 3) in {
            (p.kind, p.instance_id, p.version) for p in report.problems
        }

    def test_signed_seals_fail_offline_with_the_wrong_public_key(
        self, engine: Engine, tmp_path: Path
    ) -> None:
        generate_key(tmp_path / "k")
        generate_key(tmp_path / "other")
        engine.seal(key=tmp_path / "k")
        path = tmp_path / "x.jsonl"
        export(engine, path)
        right = signature_check(load_public_key(tmp_path / "k.pub"))
        wrong = signature_check(load_public_key(tmp_path / "other.pub"))
        good = verify_file(path, signature_check=right)
        assert [p.detail for p in good.problems] == [
            "seal #1: is not signed, but a public key was given",
            "seal #2: is not signed, but a public key was given",
        ]
        assert good.signatures == 1
        bad = verify_file(path, signature_check=wrong)
        assert [p.detail.split(":")[0] for p in bad.problems] == ["seal #1", "seal #2", "seal #3"]


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
class TestMemory(ExportContract):
    pass


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
class TestSQLite(ExportContract):
    def test_an_export_of_a_tampered_store_shows_the_same_problem_offline(
        self, engine: Engine, store_url: str, tmp_path: Path
    ) -> None:
        import sqlite3

        first: UUID = next(iter(engine.instance_ids()))
        engine.close()
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            conn.execute(
                "UPDATE stored_events SET state = replace(state, '\"a\"', '\"q\"') "
                "WHERE originator_id = ? AND originator_version = 2",
                (first.hex,),
            )
        conn.close()
        with Engine.open(store_url, workflows=[toy_definition()], projections=[]) as again:
            online = {(p.kind, p.instance_id, p.version) for p in again.verify().problems}
            export(again, tmp_path / "x.jsonl")
        offline = verify_file(tmp_path / "x.jsonl")
        assert online == {("altered", first, 2), ("seal", None, None)}
        assert {(p.kind, p.instance_id, p.version) for p in offline.problems} == {
            ("altered", str(first), 2),
            ("seal", None, None),
        }


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
class TestPostgres(ExportContract):
    pass
