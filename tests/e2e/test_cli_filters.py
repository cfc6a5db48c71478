"""``socieux list``: text, institution and time filters, areas checked, cursor paging."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.e2e.cli_support import as_json, ok, run


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("filters") / "demo.db"
    db = f"sqlite:///{path}"
    as_json(db, "demo", "--requests", "12")
    return db


def everything(db: str, *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = as_json(db, "list", "--limit", "1000", *args)
    return rows


def test_institution_and_q(demo: str) -> None:
    rows = everything(demo)
    name = next(r["institution"] for r in rows if r["institution"])
    exact = everything(demo, "--institution", name)
    assert exact
    assert all(r["institution"] == name for r in exact)
    word = name.split()[-1]
    found = everything(demo, "--q", word.upper())
    assert {r["id"] for r in exact} <= {r["id"] for r in found}
    low = word.lower()
    assert all(
        low in (r["title"] or "").lower() or low in (r["institution"] or "").lower() for r in found
    )
    assert everything(demo, "--q", "%") == []


def test_since_and_until(demo: str) -> None:
    rows = everything(demo)
    times = sorted(datetime.fromisoformat(r["updated_at"]) for r in rows)
    middle = times[len(times) // 2]
    after = everything(demo, "--since", middle.isoformat())
    before = everything(demo, "--until", middle.isoformat())
    assert len(after) + len(before) == len(rows)
    assert all(datetime.fromisoformat(r["updated_at"]) >= middle for r in after)
    naive = middle.replace(tzinfo=None).isoformat()  # taken as UTC
    assert len(everything(demo, "--since", naive)) == len(after)


def test_a_bad_time_exits_2(demo: str) -> None:
    result = run(demo, "list", "--since", "yesterday")
    assert result.exit_code == 2
    assert "--since" in result.stderr


def test_an_unknown_area_exits_2_and_lists_the_known_ones(demo: str) -> None:
    known = sorted({a for r in everything(demo) for a in r["areas"]})
    result = run(demo, "list", "--area", "no.such.area")
    assert result.exit_code == 2
    assert "no.such.area" in result.stderr
    assert known[0] in result.stderr
    assert all(known[0] in r["areas"] for r in everything(demo, "--area", known[0]))


def test_cursor_paging_in_json(demo: str) -> None:
    total = len(everything(demo))
    seen: list[str] = []
    cursor: str | None = None
    while True:
        args = ["list", "--format", "json", "--page", "--limit", "5"]
        page = json.loads(ok(demo, *args, *(["--cursor", cursor] if cursor else [])))
        assert set(page) == {"items", "total", "next_cursor"}
        assert page["total"] == total
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == total


def test_plain_json_stays_a_list(demo: str) -> None:
    assert isinstance(as_json(demo, "list", "--limit", "2"), list)


def test_the_table_ends_with_the_next_cursor(demo: str) -> None:
    out = ok(demo, "list", "--limit", "3")
    last = out.strip().splitlines()[-1]
    assert last.startswith("next page: --cursor ")
    cursor = last.split()[-1]
    rest = ok(demo, "list", "--limit", "3", "--cursor", cursor)
    first_ids = {r["id"][:8] for r in as_json(demo, "list", "--limit", "3")}
    assert not any(i in rest for i in first_ids)
    assert "next page" not in ok(demo, "list", "--limit", "1000")


def test_a_foreign_cursor_exits_2(demo: str) -> None:
    page = json.loads(ok(demo, "list", "--format", "json", "--page", "--limit", "2"))
    result = run(demo, "list", "--limit", "2", "--q", "x", "--cursor", page["next_cursor"])
    assert result.exit_code == 2


def test_completion_is_offered() -> None:
    out = ok(None, "--help")
    assert "--install-completion" in out
    assert "--show-completion" in out
