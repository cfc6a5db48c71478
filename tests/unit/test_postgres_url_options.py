"""PostgreSQL URL options of the fast path: db_functions, notify, fallback_poll."""

from __future__ import annotations

import pytest

from engine import StorageUnavailable
from engine.persistence.notify import channel
from engine.persistence.urls import parse_url

BASE = "postgresql://u@h:5432/db"


def test_the_fast_path_is_on_by_default() -> None:
    env = parse_url(BASE).env
    assert env["POSTGRES_ENABLE_DB_FUNCTIONS"] == "y"
    assert env["SOCIEUX_PG_NOTIFY"] == "y"
    assert float(env["SOCIEUX_PG_FALLBACK_POLL"]) == 5.0


def test_each_switch_turns_off_alone() -> None:
    env = parse_url(f"{BASE}?db_functions=off&fallback_poll=60").env
    assert (env["POSTGRES_ENABLE_DB_FUNCTIONS"], env["SOCIEUX_PG_NOTIFY"]) == ("n", "y")
    assert float(env["SOCIEUX_PG_FALLBACK_POLL"]) == 60.0
    env = parse_url(f"{BASE}?notify=OFF").env
    assert (env["POSTGRES_ENABLE_DB_FUNCTIONS"], env["SOCIEUX_PG_NOTIFY"]) == ("y", "n")


@pytest.mark.parametrize(
    "query",
    [
        "db_functions=maybe",
        "notify=1",
        "fallback_poll=0",
        "fallback_poll=-1",
        "fallback_poll=nan",
        "fallback_poll=inf",
        "fallback_poll=3601",
        "fallback_poll=soon",
    ],
)
def test_a_bad_value_is_refused_when_the_url_is_parsed(query: str) -> None:
    with pytest.raises(StorageUnavailable, match="invalid database URL"):
        parse_url(f"{BASE}?{query}")


def test_channels_are_per_schema_and_fit_postgres_identifiers() -> None:
    assert channel("public", "events") == "socieux_events_public"
    assert channel("a", "events") != channel("b", "events")
    assert channel("a", "events") != channel("a", "positions")
    long_a, long_b = "a" * 63, "a" * 62 + "b"
    assert len(channel(long_a, "positions").encode()) <= 63
    assert channel(long_a, "positions") != channel(long_b, "positions")
