"""Tampering with stored rows by SQL is detected, with its kind, instance and version.

Each test builds three interleaved instances of five events, closes the engine, changes
the event table directly (as someone with database access would), reopens and verifies.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from engine import Engine
from engine.audit.report import IntegrityReport
from engine.instance.aggregate import TRANSITIONED_TOPIC
from engine.instance.hashing import event_fields_hash, utc_iso
from tests.conftest import POSTGRES_URL, EngineFactory
from tests.helpers import REQUESTER, submit


class Tamper:
    """Direct SQL on the event table of one store."""

    table = ""
    mark = ""
    position_column = ""

    def query(self, sql: str, *params: Any) -> list[Any]:
        raise NotImplementedError

    def execute(self, sql: str, *params: Any) -> None:
        self.query(sql, *params)

    def key(self, iid: UUID) -> Any:
        return iid

    def _at(self, action: str, iid: UUID, version: int, *params: Any) -> list[Any]:
        """``action`` (with its own ``params``) on the row of ``iid`` at ``version``."""
        where = f"WHERE originator_id = {self.mark} AND originator_version = {self.mark}"
        return self.query(f"{action} {where}", *params, self.key(iid), version)

    def _get(self, column: str, iid: UUID, version: int) -> Any:
        rows = self._at(f"SELECT {column} FROM {self.table}", iid, version)
        assert rows, (iid, version)
        return rows[0][0]

    def state(self, iid: UUID, version: int) -> bytes:
        return bytes(self._get("state", iid, version))

    def topic(self, iid: UUID, version: int) -> str:
        return str(self._get("topic", iid, version))

    def position(self, iid: UUID, version: int) -> int:
        """The row's notification id (its log position)."""
        return int(self._get(self.position_column, iid, version))

    def set_row(self, iid: UUID, version: int, topic: str, state: bytes) -> None:
        m = self.mark
        self._at(f"UPDATE {self.table} SET topic = {m}, state = {m}", iid, version, topic, state)

    def set_state(self, iid: UUID, version: int, state: bytes) -> None:
        self._at(f"UPDATE {self.table} SET state = {self.mark}", iid, version, state)

    def delete(self, iid: UUID, version: int) -> None:
        self._at(f"DELETE FROM {self.table}", iid, version)

    def set_version(self, iid: UUID, old: int, new: int) -> None:
        self._at(f"UPDATE {self.table} SET originator_version = {self.mark}", iid, old, new)

    def insert(
        self, iid: UUID, version: int, state: bytes, topic: str = TRANSITIONED_TOPIC
    ) -> None:
        m = self.mark
        self.execute(
            f"INSERT INTO {self.table} (originator_id, originator_version, topic, "
            f"state) VALUES ({m}, {m}, {m}, {m})",
            self.key(iid),
            version,
            topic,
            state,
        )


class SQLiteTamper(Tamper):
    table, mark, position_column = "stored_events", "?", "rowid"

    def __init__(self, path: str) -> None:
        self.path = path

    def key(self, iid: UUID) -> Any:
        return iid.hex

    def query(self, sql: str, *params: Any) -> list[Any]:
        with sqlite3.connect(self.path) as conn:
            rows = conn.execute(sql, params).fetchall()
        conn.close()
        return rows


class PostgresTamper(Tamper):
    mark, position_column = "%s", "notification_id"

    def __init__(self, schema: str) -> None:
        self.table = f'"{schema}".socieux_events'

    def query(self, sql: str, *params: Any) -> list[Any]:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []


def forge(template: bytes, iid: UUID, version: int, prev_hash: str, text: str) -> bytes:
    """A well-formed note event with a correct hash of its own (as a forger would write)."""
    obj = json.loads(template)
    obj["payload"], obj["prev_hash"] = {"text": text}, prev_hash
    at = datetime.fromisoformat(obj["timestamp"]["_data_"])
    body = {k: v for k, v in obj.items() if k not in ("timestamp", "hash")}
    obj["hash"] = event_fields_hash(
        {
            **body,
            "topic": TRANSITIONED_TOPIC,
            "originator_id": str(iid),
            "originator_version": version,
            "timestamp": utc_iso(at),
        }
    )
    return json.dumps(obj).encode()


def found(report: IntegrityReport) -> set[tuple[str, UUID | None, int | None]]:
    return {(p.kind, p.instance_id, p.version) for p in report.problems if p.kind != "seal"}


class TamperContract:
    """Every tampering a database user can do by SQL, on one backend."""

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
        assert engine.verify().ok
        engine.close()
        return ids

    @pytest.fixture
    def reopen(self, open_engine: EngineFactory) -> Callable[[], Engine]:
        """Open the (tampered) store again, without projections."""
        return lambda: open_engine(projections=[])

    def test_a_clean_log_verifies_with_its_counts(self, ids: list[UUID], reopen: Any) -> None:
        report = reopen().verify()
        assert (report.ok, report.events_checked, report.instances_checked) == (True, 15, 3)

    def test_one_changed_byte_is_altered(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        state = tamper.state(ids[1], 3)
        assert state.count(b'"text":"n1"') == 1
        tamper.set_state(ids[1], 3, state.replace(b'"text":"n1"', b'"text":"m1"'))
        report = reopen().verify()
        assert found(report) == {("altered", ids[1], 3)}
        assert not report.ok

    def test_a_byte_that_breaks_the_json_is_altered_not_a_crash(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        tamper.set_state(ids[0], 2, b"X" + tamper.state(ids[0], 2)[1:])
        report = reopen().verify()
        assert found(report) == {("altered", ids[0], 2)}
        assert "cannot be read" in report.problems[0].detail

    def test_a_deleted_middle_event_is_missing(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        tamper.delete(ids[2], 3)
        assert found(reopen().verify()) == {("missing", ids[2], 3)}

    def test_a_deleted_last_event_goes_unseen_without_a_seal(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        tamper.delete(ids[1], 5)
        assert reopen().verify().ok  # why seals exist: a chain cannot know its own end

    def test_a_seal_catches_a_deleted_last_event_of_an_instance(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        reopen().seal()
        tamper.delete(ids[1], 5)
        report = reopen().verify()
        assert found(report) == {("missing", ids[1], 5)}
        assert [p.kind for p in report.problems].count("seal") == 1

    def test_a_seal_catches_the_last_event_of_the_log_deleted(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        reopen().seal()
        tamper.delete(ids[2], 5)
        report = reopen().verify()
        assert found(report) == {("missing", ids[2], 5)}
        assert report.seals_checked == 1

    def test_swapped_versions_are_reordered(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        tamper.set_version(ids[0], 2, -2)
        tamper.set_version(ids[0], 3, 2)
        tamper.set_version(ids[0], -2, 3)
        assert found(reopen().verify()) == {("reordered", ids[0], 2), ("reordered", ids[0], 3)}

    def test_a_forged_event_is_inserted(self, ids: list[UUID], tamper: Tamper, reopen: Any) -> None:
        history = reopen().history(ids[1])
        forged = forge(tamper.state(ids[1], 5), ids[1], 6, history[3].hash, "forged")
        tamper.insert(ids[1], 6, forged)
        assert found(reopen().verify()) == {("inserted", ids[1], 6)}

    def test_a_forged_event_spliced_into_the_middle_is_inserted(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        history = reopen().history(ids[1])
        forged = forge(tamper.state(ids[1], 3), ids[1], 3, history[1].hash, "forged")
        for v in (5, 4, 3):
            tamper.set_version(ids[1], v, v + 1)
        tamper.insert(ids[1], 3, forged)
        assert found(reopen().verify()) == {
            ("inserted", ids[1], 3),
            ("reordered", ids[1], 4),
            ("reordered", ids[1], 5),
            ("reordered", ids[1], 6),
        }

    def test_each_problem_at_a_stored_row_names_its_log_position(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        state = tamper.state(ids[1], 3)
        tamper.set_state(ids[1], 3, state.replace(b'"text":"n1"', b'"text":"m1"'))
        tamper.set_version(ids[0], 4, 6)  # a suspect: judged from a second pass over the log
        problems = reopen().verify().problems
        assert {(p.kind, p.instance_id, p.version, p.position) for p in problems} == {
            ("altered", ids[1], 3, tamper.position(ids[1], 3)),
            ("reordered", ids[0], 6, tamper.position(ids[0], 6)),
        }


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
class TestSQLite(TamperContract):
    @pytest.fixture
    def tamper(self, store_url: str) -> Tamper:
        return SQLiteTamper(store_url.removeprefix("sqlite:///"))

    @pytest.mark.parametrize(
        "spell",
        [str.upper, lambda h: str(UUID(h)), lambda h: f"{{{h}}}"],
        ids=["upper", "hyphens", "braces"],
    )
    def test_an_id_spelt_another_way_is_reported_with_its_position(
        self, ids: list[UUID], tamper: Tamper, reopen: Any, spell: Callable[[str], str]
    ) -> None:
        at = tamper.position(ids[1], 3)
        tamper.execute(
            "UPDATE stored_events SET originator_id = ? WHERE rowid = ?", spell(ids[1].hex), at
        )
        engine = reopen()
        assert 3 not in [h.version for h in engine.history(ids[1])]  # what the id hides
        report = engine.verify()
        assert [(p.kind, p.instance_id, p.version, p.position) for p in report.problems] == [
            ("id_form", ids[1], 3, at)
        ]
        assert repr(spell(ids[1].hex)) in report.problems[0].detail

    def test_an_id_that_is_no_uuid_is_reported_not_a_crash(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        at = tamper.position(ids[2], 5)
        tamper.execute("UPDATE stored_events SET originator_id = 'nope' WHERE rowid = ?", at)
        found = {(p.kind, p.version, p.position) for p in reopen().verify().problems}
        assert {("id_form", 5, at), ("altered", 5, at)} <= found


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
class TestPostgres(TamperContract):
    @pytest.fixture
    def tamper(self, store_url: str) -> Tamper:
        return PostgresTamper(store_url.rsplit("schema=", 1)[1])

    def test_postgres_holds_ids_only_in_canonical_form(
        self, ids: list[UUID], tamper: Tamper, reopen: Any
    ) -> None:
        import psycopg

        where = "WHERE originator_id = %s AND originator_version = 3"
        tamper.execute(
            f"UPDATE {tamper.table} SET originator_id = %s {where}", ids[1].hex.upper(), ids[1]
        )
        assert tamper.query(f"SELECT originator_id::text FROM {tamper.table} {where}", ids[1]) == [
            (str(ids[1]),)
        ]
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            tamper.execute(f"UPDATE {tamper.table} SET originator_id = 'nope' {where}", ids[1])
        assert reopen().verify().ok
