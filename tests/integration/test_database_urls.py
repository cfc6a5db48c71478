"""Database URLs: every libpq parameter reaches PostgreSQL; unknown ones are refused."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from engine import Engine, StorageUnavailable
from tests.conftest import drop_schema, postgres_or_skip
from tests.toy import toy_definition


def _url(extra: str) -> str:
    base = postgres_or_skip()
    return f"{base}{'&' if '?' in base else '?'}{extra}"


@pytest.mark.postgres
def test_sslmode_require_is_passed_to_libpq_not_dropped() -> None:
    # The test server has no SSL: libpq must refuse, where the old code connected in clear.
    with pytest.raises(StorageUnavailable, match="SSL"):
        Engine.open(_url("sslmode=require"), workflows=[toy_definition()], projections=[])


@pytest.mark.postgres
def test_application_name_reaches_every_connection() -> None:
    name = f"socieux-test-{uuid.uuid4().hex[:8]}"
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = _url(f"application_name={name}&schema={schema}")
    try:
        with Engine.open(url, workflows=[toy_definition()]) as engine:
            engine.requests()  # the read-model connection
            engine.verify()  # the event store's pool
            with psycopg.connect(postgres_or_skip()) as conn:
                rows = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
                ).fetchone()
            assert rows is not None
            assert rows[0] >= 2
            assert engine.url.endswith(f"?schema={schema}")  # shown in audit verify's source
    finally:
        drop_schema(schema)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("bogus=1", "unknown parameter"),
        ("schema=Bad-Name", "schema must be an identifier"),
        ("schema=1abc", "schema must be an identifier"),
        ('schema=x";drop', "schema must be an identifier"),
        ("pool_size=many", "whole numbers"),
    ],
)
def test_bad_postgresql_parameters_are_refused_with_one_clear_error(
    extra: str, message: str
) -> None:
    url = f"postgresql://postgres@127.0.0.1:5432/test?{extra}"
    with pytest.raises(StorageUnavailable, match=message):
        Engine.open(url, workflows=[toy_definition()], projections=[])


def test_unknown_sqlite_parameters_are_refused(tmp_path: object) -> None:
    with pytest.raises(StorageUnavailable, match="unknown parameter"):
        Engine.open(f"sqlite:///{tmp_path}/x.db?journal=off", workflows=[toy_definition()])
