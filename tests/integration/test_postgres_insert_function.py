"""The PostgreSQL insert function: used by default, created or upgraded on open (also by
processes opening at once), ordered by the table lock, and atomic with an inline hook."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from engine import Engine, StorageUnavailable
from engine.persistence.postgres import INSERT_FUNCTION
from tests.conftest import drop_schema, postgres_or_skip
from tests.helpers import REQUESTER, event_count, submit
from tests.toy import toy_definition

ROOT = __file__.rsplit("/tests/", 1)[0]


@pytest.fixture
def schema() -> Iterator[str]:
    postgres_or_skip()
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    drop_schema(name)


def _url(schema: str, extra: str = "") -> str:
    base = postgres_or_skip()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}schema={schema}{extra}"


def _open(schema: str, extra: str = "") -> Engine:
    return Engine.open(_url(schema, extra), workflows=[toy_definition()], projections=[])


def _sql(query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(postgres_or_skip(), autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _functions(schema: str) -> list[str]:
    rows = _sql(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s ORDER BY 1",
        (schema,),
    )
    return [r[0] for r in rows]


def _body(schema: str) -> str:
    rows = _sql(
        "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.proname = %s",
        (schema, INSERT_FUNCTION),
    )
    return str(rows[0][0])


def _row_version(schema: str) -> list[tuple[Any, ...]]:
    return _sql(
        "SELECT p.oid, p.xmin::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s AND p.proname = %s",
        (schema, INSERT_FUNCTION),
    )


def test_commands_are_recorded_by_the_engines_insert_function(schema: str) -> None:
    with _open(schema) as engine:
        submit(engine)
        assert _functions(schema) == [INSERT_FUNCTION]  # not eventsourcing's, which has no lock
        assert "LOCK TABLE" in _body(schema)
        _sql(f'DROP FUNCTION "{schema}".{INSERT_FUNCTION}')
        with pytest.raises(StorageUnavailable):  # so the command went through the function
            submit(engine)
        assert event_count(engine) == 1  # and the failed one wrote nothing


def test_db_functions_off_records_without_the_function(schema: str) -> None:
    with _open(schema) as engine:
        submit(engine)
    _sql(f'DROP FUNCTION "{schema}".{INSERT_FUNCTION}')
    with _open(schema, "&db_functions=off&notify=off") as engine:
        _sql(f'DROP FUNCTION "{schema}".{INSERT_FUNCTION}')  # created on open, dropped again
        submit(engine)
        assert event_count(engine) == 2


def test_an_older_store_gets_the_function_on_open(schema: str) -> None:
    with _open(schema) as engine:
        submit(engine)
    _sql(f'DROP FUNCTION "{schema}".{INSERT_FUNCTION}')  # a store from before the function
    with _open(schema) as engine:
        submit(engine)
        assert event_count(engine) == 2
    assert _functions(schema) == [INSERT_FUNCTION]


def test_a_different_function_body_is_replaced_and_a_current_one_left_alone(
    schema: str,
) -> None:
    with _open(schema):
        pass
    version = _row_version(schema)
    with _open(schema):
        pass
    assert _row_version(schema) == version  # an unchanged function is not rewritten
    old = _body(schema).replace("LOCK TABLE", "-- LOCK TABLE")  # e.g. an older engine's
    _sql(
        f'CREATE OR REPLACE FUNCTION "{schema}".{INSERT_FUNCTION}(events '
        f'"{schema}".stored_event_uuid[], channel text) RETURNS SETOF bigint '
        f"LANGUAGE plpgsql AS $old${old}$old$"
    )
    with _open(schema) as engine:
        submit(engine)
    assert "-- LOCK TABLE" not in _body(schema)
    assert "LOCK TABLE" in _body(schema)


def test_processes_opening_an_older_store_at_once_all_succeed(schema: str) -> None:
    with _open(schema) as engine:
        submit(engine)
    _sql(f'DROP FUNCTION "{schema}".{INSERT_FUNCTION}')
    code = (
        "import sys\nfrom engine import Engine\nfrom tests.helpers import submit\n"
        "from tests.toy import toy_definition\n"
        "with Engine.open(sys.argv[1], workflows=[toy_definition()], projections=[]) as e:\n"
        "    submit(e)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, _url(schema)], cwd=ROOT) for _ in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    with _open(schema) as engine:
        assert event_count(engine) == 5
    assert _functions(schema) == [INSERT_FUNCTION]


def test_a_second_insert_waits_for_the_first_to_commit(schema: str) -> None:
    """The function takes the table lock: ids are committed in the order they are taken."""
    with _open(schema) as engine:
        submit(engine)
        blocker = psycopg.connect(postgres_or_skip())  # a transaction holding the lock
        blocker.execute(
            f'LOCK TABLE "{schema}".socieux_events IN ROW EXCLUSIVE MODE'
        )  # as an INSERT
        pid = blocker.info.backend_pid
        done: list[int] = []
        writer = threading.Thread(target=lambda: done.append(submit(engine).int))
        writer.start()
        try:
            deadline = time.monotonic() + 30
            waiting: list[tuple[Any, ...]] = []
            while not waiting and time.monotonic() < deadline:
                waiting = _sql(
                    "SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE NOT l.granted AND l.relation = %s::regclass AND %s = ANY("
                    "pg_blocking_pids(l.pid))",
                    (f'"{schema}".socieux_events', pid),
                )
                time.sleep(0.01)
            assert waiting, "the engine's insert never waited for the table lock"
            assert done == []
        finally:
            blocker.rollback()
            blocker.close()
            writer.join(30)
        assert len(done) == 1
        assert event_count(engine) == 2


def _stored(engine: Engine) -> StoredEvent:
    """A copy of the first event under a new id (a valid row for the recorder)."""
    app = engine.application
    first = app.recorder.select_notifications(None, 1)[0]
    return StoredEvent(uuid.uuid4(), 1, first.topic, first.state)


def test_an_inline_hook_writes_in_the_inserts_transaction(schema: str) -> None:
    with _open(schema) as engine:
        submit(engine, amount=1)
        _sql(f'CREATE TABLE "{schema}".side (id BIGINT PRIMARY KEY)')
        recorder = engine.application.recorder
        table = f'"{schema}".side'

        def hook(cur: Any, ids: Any) -> None:
            cur.executemany(f"INSERT INTO {table} (id) VALUES (?)", [(i,) for i in ids])

        ids = recorder.insert_events([_stored(engine)], inline_projection=hook)
        assert [r[0] for r in _sql(f"SELECT id FROM {table}")] == list(ids)

        def failing(cur: Any, ids: Any) -> None:
            hook(cur, ids)
            raise RuntimeError("the hook failed")

        with pytest.raises(RuntimeError):
            recorder.insert_events([_stored(engine)], inline_projection=failing)
        assert event_count(engine) == 2  # the failed hook took its events with it
        assert len(_sql(f"SELECT id FROM {table}")) == 1
        assert engine.start("toy", {"title": "t", "amount": 2}, actor=REQUESTER).version == 1
