"""Definitions are kept in the store, so audit checks rules where they are not installed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine import Engine
from tests.helpers import REQUESTER, submit
from tests.toy import toy_definition


def _store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'defs.db'}"
    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        iid = submit(engine)
        engine.fire(iid, "note", {"text": "a"}, actor=REQUESTER)
    return url


def test_an_engine_without_the_workflow_checks_rules_with_the_stored_definition(
    tmp_path: Path,
) -> None:
    url = _store(tmp_path)
    with Engine.open(url, workflows=[], projections=[]) as auditor:
        report = auditor.verify()
    assert report.ok, report.problems
    assert "hash checks only" not in report.source


def test_an_altered_stored_definition_is_not_trusted(tmp_path: Path) -> None:
    url = _store(tmp_path)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE socieux_definitions SET body = replace(body, 'requester', 'anyone')")
    conn.close()
    with Engine.open(url, workflows=[], projections=[]) as auditor:
        report = auditor.verify()
    assert not report.ok
    assert {p.kind for p in report.problems} == {"rule"}
    assert all("definition" in p.detail for p in report.problems)
