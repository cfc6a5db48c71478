"""``correct``, ``approve-correction``, ``evidence attach``, ``note`` and ``audit evidence
check`` through the CLI, on a SQLite file (the grant workflow installed for the test)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import engine.commands.registry as registry
from engine import Actor, Engine
from tests.e2e.cli_support import as_json, ok, run
from tests.toy_audit import audit_definition


class _EntryPoint:
    name = "grant"

    def load(self) -> object:
        return audit_definition


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file with one grant (submitted, one activity), grant installed for the CLI."""
    real = registry.entry_points

    def fake(**kwargs: Any) -> Any:
        return [_EntryPoint()] if kwargs.get("group") == "socieux.workflows" else real(**kwargs)

    monkeypatch.setattr(registry, "entry_points", fake)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with Engine.open(url, workflows=[audit_definition()], projections=[]) as engine:
        v = engine.start("grant", {"title": "T", "amount": 500}, actor=Actor("p-1", "partner"))
        engine.fire(v.id, "record", {"activity": "a1", "days": 40}, actor=Actor("t-1", "team"))
    return url


def _iid(db: str) -> str:
    with Engine.open(db, workflows=[audit_definition()], projections=[]) as engine:
        return str(next(iter(engine.instance_ids())))


def test_a_correction_is_approved_by_a_second_person_and_shows_in_history(db: str) -> None:
    iid = _iid(db)
    out = ok(db, "correct", iid[:8], "1", "--set", "amount=600", "--reason", "typo",
             "--as", "team:t-1")  # fmt: skip
    assert "correction of v1 recorded, pending (version 3)" in out
    refused = run(db, "approve-correction", iid[:8], "3", "--as", "approver:t-1")
    assert refused.exit_code == 3
    assert "separation of duties" in refused.stderr
    ok(db, "approve-correction", iid[:8], "3", "--as", "approver:a-1")
    assert as_json(db, "show", iid[:8])["data"]["amount"] == 600
    history = ok(db, "history", iid[:8])
    assert "corrects v1 (submit): amount 500 -> 600" in history
    assert "corrected by v3" in history
    assert "approves the correction at v3" in history
    bad = run(db, "correct", iid[:8], "9", "--set", "amount=1", "--reason", "x", "--as", "team:t")
    assert (bad.exit_code, bad.stderr.split(":")[0]) == (2, "error[invalid_correction]")


def test_evidence_check_tells_which_file_matches_and_a_modified_one_matches_nothing(
    db: str, tmp_path: Path
) -> None:
    iid = _iid(db)
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4 the mission report")
    ok(db, "evidence", "attach", iid[:8], str(report), "--type", "mission_report",
       "--title", "Mission report", "--effective-date", "2024-05-02", "--as", "team:t-1")  # fmt: skip
    ok(db, "note", iid[:8], "Report received", "--as", "partner:p-1")
    assert "Mission report" in ok(db, "audit", "evidence", "check", iid[:8], str(report))
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(report.read_bytes() + b" ")
    result = run(db, "audit", "evidence", "check", iid[:8], str(report), str(changed))
    assert result.exit_code == 6
    assert "no recorded evidence" in result.stdout
    rows = as_json(db, "audit", "evidence", "check", iid[:8], str(report))
    assert rows[0]["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
    assert rows[0]["matches"] == [3]
    export = tmp_path / "audit.jsonl"
    ok(db, "audit", "export", "-o", str(export))
    from engine.audit.offline.command import main

    assert main([str(export), "--evidence", iid[:8], str(report)]) == 0
    assert main([str(export), "--evidence", iid[:8], str(changed)]) == 6


def test_fire_with_an_effective_time_and_history_and_show_print_both_times(db: str) -> None:
    iid = _iid(db)
    created = datetime.fromisoformat(as_json(db, "show", iid[:8])["created_at"])
    happened = (created + timedelta(seconds=1)).isoformat()
    ok(db, "fire", iid[:8], "record", "--as", "team:t-1", "--data", "-",
       "--effective-at", happened, input='{"activity": "a2", "days": 1}')  # fmt: skip
    history = ok(db, "history", iid[:8])
    assert f"effective {happened[:19]}" in history
    assert "(recorded " in history
    assert "v3 record: effective " in ok(db, "show", iid[:8])
    for when, why in (("2999-01-01T00:00:00+00:00", "after the recorded time"),
                      ("2000-01-01T00:00:00+00:00", "before the instance existed")):  # fmt: skip
        refused = run(db, "fire", iid[:8], "record", "--as", "team:t-1", "--data", "-",
                      "--effective-at", when, input='{"activity": "a3", "days": 1}')  # fmt: skip
        assert refused.exit_code == 2
        assert refused.stderr.startswith("error[invalid_effective_time]")
        assert why in refused.stderr


def test_the_corrections_report_as_json_and_csv(db: str) -> None:
    iid = _iid(db)
    ok(db, "correct", iid[:8], "2", "--set", "days=45", "--reason", "timesheet",
       "--as", "team:t-1")  # fmt: skip
    ok(db, "approve-correction", iid[:8], "3", "--as", "team:t-2")
    report = as_json(db, "audit", "report", "corrections")
    assert report["totals"] == {"instances": 1, "rows": 1}
    assert report["rows"][0]["approved_by"] == "t-2"
    csv = ok(db, "audit", "report", "corrections", "--format", "csv").splitlines()
    assert csv[0].startswith("instance,version,amends,trigger,field,old,new,requested_by")
    assert ",days,40,45,t-1," in csv[1]
    table = ok(db, "audit", "report", "corrections")
    assert "corrections: instances 1, rows 1" in table
    bad = run(db, "audit", "report", "nonsense")
    assert bad.exit_code == 2
