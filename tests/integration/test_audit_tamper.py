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
from engine.instance.hashing import hash_fields, utc_iso
from tests.conftest import POSTGRES_URL, EngineFactory
from tests.helpers import REQUESTER, submit


class Tamper:
    """Direct SQL on the event table of one store."""

    def state(self, iid: UUID, version: int) -> bytes:
        raise NotImplementedError

    def execute(self, sql: str, *params: Any) -> None:
        raise NotImplementedError

    table = ""
    mark = ""

    def key(self, iid: UUID) -> Any:
        return iid

    def set_state(self, iid: UUID, version: int, state: bytes) -> None:
        m = self.mark
        self.execute(
            f"UPDATE {self.table} SET state = {m} WHERE originator_id = {m} AND "
            f"originator_version = {m}",
            state,
            self.key(iid),
            version,
        )

    def delete(self, iid: UUID, version: int) -> None:
        m = self.mark
        self.execute(
            f"DELETE FROM {self.table} WHERE originator_id = {m} AND originator_version = {m}",
            self.key(iid),
            version,
        )

    def set_version(self, iid: UUID, old: int, new: int) -> None:
        m = self.mark
        self.execute(
            f"UPDATE {self.table} SET originator_version = {m} WHERE "
            f"originator_id = {m} AND originator_version = {m}",
            new,
            self.key(iid),
            old,
        )

    def insert(self, iid: UUID, version: int, state: bytes) -> None:
        m = self.mark
        self.execute(
            f"INSERT INTO {self.table} (originator_id, originator_version, topic, "
            f"state) VALUES ({m}, {m}, {m}, {m})",
            self.key(iid),
            version,
            TRANSITIONED_TOPIC,
            state,
        )


class SQLiteTamper(Tamper):
    table, mark = "stored_events", "?"

    def __init__(self, path: str) -> None:
        self.path = path

    def key(self, iid: UUID) -> Any:
        return iid.hex

    def state(self, iid: UUID, version: int) -> bytes:
        with sqlite3.connect(self.path) as conn:
            row = conn.execute(
                "SELECT state FROM stored_events WHERE originator_id = ? AND "
                "originator_version = ?",
                (iid.hex, version),
            ).fetchone()
        conn.close()
        return bytes(row[0])

    def execute(self, sql: str, *params: Any) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.execute(sql, params)
        conn.close()


class PostgresTamper(Tamper):
    mark = "%s"

    def __init__(self, schema: str) -> None:
        self.table = f'"{schema}".socieux_events'

    def state(self, iid: UUID, version: int) -> bytes:
        import psycopg

        with psycopg.connect(POSTGRES_URL) as conn:
            row = conn.execute(
                f"SELECT state FROM {self.table} WHERE originator_id = %s AND "
                "originator_version = %s",
                (iid, version),
            ).fetchone()
        assert row is not None
        return bytes(row[0])

    def execute(self, sql: str, *params: Any) -> None:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql, params)  # type: ignore[arg-type]


def forge(template: bytes, iid: UUID, version: int, prev_hash: str, text: str) -> bytes:
    """A well-formed note event with a correct hash of its own (as a forger would write)."""
    obj = json.loads(template)
    obj["payload"], obj["prev_hash"] = {"text": text}, prev_hash
    at = datetime.fromisoformat(obj["timestamp"]["_data_"])
    body = {k: v for k, v in obj.items() if k not in ("timestamp", "hash")}
    obj["hash"] = hash_fields(
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


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
class TestSQLite(TamperContract):
    @pytest.fixture
    def tamper(self, store_url: str) -> Tamper:
        return SQLiteTamper(store_url.removeprefix("sqlite:///"))


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
class TestPostgres(TamperContract):
    @pytest.fixture
    def tamper(self, store_url: str) -> Tamper:
        return PostgresTamper(store_url.rsplit("schema=", 1)[1])
