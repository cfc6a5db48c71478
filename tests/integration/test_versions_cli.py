"""``socieux workflows versions | diff``, ``socieux migrate`` and ``replay --check`` per
definition, on a SQLite file holding technical-assistance requests of versions 1 and 2
(version 3 is installed too, and the latest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine import Engine
from engine.cli.app import build_app
from engine.testing import walk_to

runner = CliRunner()
NAME = "technical-assistance"


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    url = f"sqlite:///{tmp_path / 'versions.db'}"
    with Engine.open(url) as engine:
        ids = {
            "v1_submitted": walk_to(engine, "submitted", version=1).id,
            "v1_fine_tuned": walk_to(engine, "fine_tuned", version=1).id,
            "v1_approved": walk_to(engine, "approved", version=1).id,
            "v2_submitted": walk_to(engine, "submitted", version=2).id,
        }
    return url, ids


def cli(url: str, *args: str) -> Any:
    return runner.invoke(build_app(), ["--db", url, *args])


def test_versions_lists_every_one_and_marks_the_latest(db: tuple[str, dict[str, Any]]) -> None:
    url, _ = db
    result = cli(url, "--json", "workflows", "versions", NAME)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["version"], r["latest"], r["migrates_from"]) for r in rows] == [
        (1, False, []),
        (2, False, [1]),
        (3, True, [2]),
    ]
    unknown = cli(url, "workflows", "versions", "nope")
    assert unknown.exit_code == 5
    assert "unknown workflow 'nope'" in unknown.stderr


def test_diff_names_what_changed(db: tuple[str, dict[str, Any]]) -> None:
    url, _ = db
    result = cli(url, "--json", "workflows", "diff", NAME, "1", "2")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    parts = {(c["part"], c["kind"]) for c in diff["changes"]}
    assert ("state", "added") in parts
    assert ("transition", "added") in parts
    assert ("migration", "added") in parts
    assert diff["old_hash"] != diff["new_hash"]
    text = cli(url, "workflows", "diff", NAME, "1", "2")
    assert text.exit_code == 0
    assert "migration" in text.stdout
    same = cli(url, "--json", "workflows", "diff", NAME, "1", "1")
    assert json.loads(same.stdout)["changes"] == []
    assert cli(url, "workflows", "diff", NAME, "1", "9").exit_code == 5


def test_plan_then_apply_a_saved_plan(db: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    url, ids = db
    plan_path = tmp_path / "plan.json"
    planned = cli(url, "--json", "migrate", NAME, "--to", "2", "--plan",
                  "--as", "socieux_team:team-lead", "-o", str(plan_path))  # fmt: skip
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    by_id = {i["instance_id"]: i for i in plan["items"]}
    assert str(ids["v2_submitted"]) not in by_id
    assert by_id[str(ids["v1_approved"])]["ok"] is False
    assert "is not mapped" in by_id[str(ids["v1_approved"])]["problems"][0]
    ready = {i for i, item in by_id.items() if item["ok"]}
    assert ready <= {str(ids["v1_submitted"]), str(ids["v1_fine_tuned"])}
    assert ready, plan["items"]
    # the planner may not apply their own plan (the workflow separates duties)
    own = cli(url, "migrate", NAME, "--apply", "--plan-file", str(plan_path),
              "--as", "socieux_team:team-lead", "--reason", "phase 4")  # fmt: skip
    assert own.exit_code == 3
    assert "separation of duties" in own.stderr
    applied = cli(url, "--json", "migrate", NAME, "--apply", "--plan-file", str(plan_path),
                  "--as", "commission:desk-officer", "--reason", "phase 4")  # fmt: skip
    assert applied.exit_code == 0, applied.output
    assert set(json.loads(applied.stdout)["migrated"]) == ready
    again = cli(url, "migrate", NAME, "--apply", "--plan-file", str(plan_path),
                "--as", "commission:desk-officer", "--reason", "phase 4")  # fmt: skip
    assert again.exit_code == 4  # stale: the instances moved (they migrated)
    assert cli(url, "audit", "verify").exit_code == 0
    replay = cli(url, "--json", "replay", "--check")
    assert replay.exit_code == 0, replay.output
    per = {(d["version"], d["failures"]) for d in json.loads(replay.stdout)["definitions"]}
    assert per == {(1, 0), (2, 0)}


def test_bad_input_is_one_line_and_an_exit_code(
    db: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    url, _ = db
    cases = [
        (["migrate", NAME, "--to", "2", "--as", "socieux_team:t"], "exactly one of"),
        (["migrate", NAME, "--plan", "--as", "socieux_team:t"], "--to"),
        (["migrate", NAME, "--to", "2", "--plan"], "--as"),
        (["migrate", NAME, "--to", "2", "--plan", "--as", "expert:e"], "may not plan"),
        (
            ["migrate", NAME, "--to", "2", "--plan", "--as", "socieux_team:t", "--state", "x"],
            "states",
        ),
        (["migrate", NAME, "--to", "2", "--apply", "--as", "commission:c"], "--reason"),
    ]
    for args, message in cases:
        result = cli(url, *args)
        assert result.exit_code in {2, 3}, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    hostile = tmp_path / "plan.json"
    hostile.write_text('{"id": "not a plan"}', encoding="utf-8")
    result = cli(url, "migrate", NAME, "--apply", "--plan-file", str(hostile),
                 "--as", "commission:c", "--reason", "x")  # fmt: skip
    assert result.exit_code == 2
    assert "not a migration plan" in result.stderr
