"""Keyset paging on every backend: pages add up to the whole list, ties on the sort key are
broken by id, and a page fetched after new writes neither repeats nor skips a row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from projections import builtin
from tests.conftest import EngineFactory
from tests.helpers import REVIEWER, submit


def _ids(fetch: object, **query: object) -> tuple[list[object], list[int]]:
    seen: list[object] = []
    totals: list[int] = []
    cursor = None
    while True:
        page = fetch(cursor=cursor, **query)  # type: ignore[operator]
        seen += [r.id for r in page]
        totals.append(page.total)
        cursor = page.next_cursor
        if cursor is None:
            return seen, totals


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("order", ["updated", "created", "id"])
def test_pages_break_ties_by_id_and_add_up(open_engine: EngineFactory, order: str) -> None:
    same = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    engine = open_engine(projections=builtin(), clock=lambda: same)  # every row ties
    ids = [submit(engine, amount=i) for i in range(11)]
    whole = engine.requests(order=order, limit=100)
    seen, totals = _ids(engine.requests, order=order, limit=4)
    assert seen == [r.id for r in whole]
    assert sorted(map(str, seen)) == sorted(map(str, ids))
    assert set(totals) == {11}


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_keyset_page_survives_writes_between_pages(open_engine: EngineFactory) -> None:
    engine = open_engine(projections=builtin())
    ids = [submit(engine, amount=i) for i in range(6)]
    first = engine.requests(order="created", limit=3, state="submitted")
    submit(engine)  # newer than every row: it sorts before the first page
    engine.fire(ids[0], "note", {"text": "x"}, actor=REVIEWER)
    rest = engine.requests(order="created", limit=3, state="submitted", cursor=first.next_cursor)
    assert [r.id for r in first] + [r.id for r in rest] == ids[::-1]
    assert (rest.total, rest.next_cursor) == (7, None)
    trail = engine.audit_trail(limit=5)
    more = engine.audit_trail(limit=5, cursor=trail.next_cursor)
    positions = [r.position for r in trail] + [r.position for r in more]
    assert positions == sorted(positions)
    assert len(positions) == trail.total == 8
