"""``socieux audit report`` on the demo's database: version 3's audit policy makes the
window, evidence and days reports (and late, corrections) answer on real portfolio data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_support import as_json, ok
from tests.e2e.test_cli_docs import _runs_as_documented

TODAY = "2026-12-01T13:00:00Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ta-audit') / 'demo.db'}"
    summary = as_json(url, "demo", "--today", TODAY)
    return url, summary


def test_days_compares_planned_and_worked_expert_days_per_action(
    demo: tuple[str, dict[str, Any]],
) -> None:
    url, summary = demo
    report = as_json(url, "audit", "report", "days")
    rows = report["rows"]
    assert rows, report
    on_v3 = summary["versions"]["3"]
    assert len(rows) <= on_v3  # only version 3 declares where the activities are
    for row in rows:
        assert row["planned_days"] > 0
        assert row["difference"] == row["worked_days"] - row["planned_days"]
    assert any(row["worked_days"] > 0 for row in rows)  # some actions delivered
    table = ok(url, "audit", "report", "days")
    assert "planned_days" in table
    assert rows[0]["instance"] in table


def test_evidence_names_delivered_activities_whose_reports_are_not_on_file(
    demo: tuple[str, dict[str, Any]],
) -> None:
    url, _ = demo
    rows = as_json(url, "audit", "report", "evidence")["rows"]
    assert rows
    assert {r["problem"] for r in rows} == {"no validated activity_report on file"}
    for row in rows:  # still mobilised (the team attaches the reports to implement), or
        # implemented on version 2, before reports were evidence, and migrated since
        history = as_json(url, "history", row["instance"])
        implemented = [h for h in history if h["trigger"] == "implement"]
        if implemented:
            assert all(h["definition_hash"] != history[-1]["definition_hash"] for h in implemented)
        else:
            assert as_json(url, "show", row["instance"])["state"] == "mobilised"
    assert "AR-" in ok(url, "audit", "report", "evidence")


def test_window_finds_no_activity_outside_its_approved_window(
    demo: tuple[str, dict[str, Any]],
) -> None:
    url, _ = demo
    report = as_json(url, "audit", "report", "window")
    assert report["rows"] == []  # the record guard keeps actual dates inside the window
    assert ok(url, "audit", "report", "window").strip() == "window: instances 64, rows 0"


def test_late_and_corrections_show_the_demo_audit_trail(demo: tuple[str, dict[str, Any]]) -> None:
    url, summary = demo
    assert summary["amendments"]["corrections"] == 3
    late = as_json(url, "audit", "report", "late")["rows"]
    assert [(r["trigger"], r["role"]) for r in late] == [("record_activity", "socieux_team")]
    assert late[0]["days_late"] > 14
    corrections = as_json(url, "audit", "report", "corrections")["rows"]
    assert {r["field"] for r in corrections} == {"participants", "days_worked", "title"}
    assert all(r["approved_by"] not in {None, r["requested_by"]} for r in corrections)


AUDIT_DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def test_the_version_3_session_of_the_audit_guide_runs_as_documented(tmp_path: Path) -> None:
    text = AUDIT_DOC.read_text(encoding="utf-8")
    block = text.split("<!-- ta-v3-session", 1)[1].split("```console\n", 1)[1]
    steps: list[tuple[str, int, list[str]]] = []
    for line in block.split("\n```", 1)[0].splitlines():
        if line.startswith("$ "):
            code = re.search(r"#\s*exit (\d+)\s*$", line)
            steps.append((line[2:], int(code.group(1)) if code else 0, []))
        else:
            steps[-1][2].append(line)
    assert [s[0].split()[1:3] for s in steps if s[0].startswith("socieux audit report")] == [
        ["audit", "report"]
    ] * 6
    _runs_as_documented(steps, tmp_path)
