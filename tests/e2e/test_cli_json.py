"""Every ``--json`` output parses and has the shape docs/cli.md documents."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_support import as_json, copy_db
from workflows.technical_assistance.builders import request_payload

VIEW = {
    "id",
    "workflow",
    "definition_version",
    "definition_hash",
    "state",
    "data",
    "version",
    "created_at",
    "updated_at",
    "state_entered_at",
    "fired_by",
    "acted_as",
    "last_hash",
}
ROW = {
    "id",
    "workflow",
    "state",
    "final",
    "country",
    "region",
    "institution",
    "institution_type",
    "title",
    "areas",
    "action_code",
    "created_at",
    "updated_at",
    "state_entered_at",
    "due_at",
    "overdue",
    "stage_dates",
    "version",
}
SHOW = (VIEW - {"fired_by", "acted_as"}) | {
    "state_description",
    "final",
    "measured_at",
    "sla_days",
    "days_in_state",
    "overdue",
    "warnings",
    "stages",
    "next",
    "timeline",
}
STAGE = {"state", "entered_at", "left_at", "days", "sla_days", "late"}
STEP = {"version", "at", "trigger", "source", "dest", "actor", "role", "reason"}
ENTRY = {
    "version",
    "at",
    "trigger",
    "source",
    "dest",
    "actor",
    "role",
    "reason",
    "payload",
    "correlation_id",
    "causation_id",
    "guards",
    "definition_hash",
    "hash",
    "prev_hash",
    "verified",
    "amends",
    "amendment",
    "corrected_by",
    "effective_at",
}
GUARD = {"name", "version", "ok", "reason", "inputs"}
REPORT = {"instance_id", "state", "actor", "allowed", "needs_payload", "refused"}
PORTFOLIO = {
    "total",
    "by_state",
    "by_country",
    "by_region",
    "by_area",
    "by_year",
    "overdue",
    "stage_times",
    "funnel",
}
DEMO = {
    "database",
    "seed",
    "requests",
    "existing_before",
    "instances",
    "events",
    "states",
    "refusals",
    "countries",
    "activities",
    "experts",
    "expert_days",
    "in_progress",
    "overdue",
    "period_start",
    "period_end",
    "simulated_clock",
    "sample_id",
    "versions",
    "migration",
    "migration_v3",
    "escalated",
    "deemed_favourable",
    "privacy",
    "amendments",
}


def is_time(text: Any) -> bool:
    return isinstance(text, str) and datetime.fromisoformat(text).tzinfo is not None


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("json") / "demo.db"
    summary = as_json(f"sqlite:///{path}", "demo", "--requests", "8")
    return path, summary


@pytest.fixture
def db(store: tuple[Path, dict[str, Any]], tmp_path: Path) -> str:
    return copy_db(store[0], tmp_path / "store.db")


def test_demo_summary(store: tuple[Path, dict[str, Any]]) -> None:
    summary = store[1]
    assert set(summary) == DEMO
    assert (summary["requests"], summary["instances"], summary["simulated_clock"]) == (8, 8, True)
    assert sum(summary["states"].values()) == 8
    assert summary["events"] > 8
    assert sum(summary["versions"].values()) == 8
    assert summary["migration"]["planned"] >= summary["migration"]["blocked"] >= 1


def test_workflows(db: str) -> None:
    v1, v2, v3 = as_json(db, "workflows", "list")
    assert set(v1) == set(v2) == set(v3)
    assert set(v1) == {"name", "version", "title", "hash", "states", "transitions"}
    assert (v3["version"], v3["states"], v3["transitions"]) == (3, 12, v2["transitions"])
    assert (v1["name"], v1["version"], v1["states"], len(v1["hash"])) == (
        "technical-assistance",
        1,
        11,
        64,
    )
    assert (v2["name"], v2["version"], v2["states"]) == ("technical-assistance", 2, 12)
    doc = as_json(db, "workflows", "show", "technical-assistance")
    assert {"name", "version", "states", "transitions"} <= set(doc)


def test_submit_fire_and_list(db: str) -> None:
    view = as_json(
        db,
        "submit",
        "technical-assistance",
        "--as",
        "partner_institution:p-1",
        "--data",
        "-",
        input=json.dumps(request_payload(version=2)),
    )
    assert set(view) == VIEW
    assert view["state"] == "submitted"
    assert all(is_time(view[k]) for k in ("created_at", "updated_at", "state_entered_at"))
    fired = as_json(
        db,
        "fire",
        view["id"],
        "withdraw",
        "--as",
        "partner_institution:p-1",
        "--reason",
        "changed plans",
    )
    assert set(fired) == VIEW
    assert (fired["state"], fired["version"]) == ("withdrawn", 2)
    rows = as_json(db, "list", "--state", "withdrawn")
    assert [set(r) for r in rows] == [ROW]
    assert rows[0]["id"] == view["id"]
    assert rows[0]["final"] is True
    assert rows[0]["overdue"] is False
    assert set(rows[0]["stage_dates"]) == {"submitted", "withdrawn"}


def test_show(db: str) -> None:
    submitted = as_json(db, "list", "--state", "submitted")[0]["id"]
    doc = as_json(db, "show", submitted)
    assert set(doc) == SHOW
    assert (doc["state"], doc["final"], doc["sla_days"], doc["overdue"]) == (
        "submitted",
        False,
        30,
        True,
    )
    assert doc["warnings"][0].startswith("overdue: ")
    assert doc["days_in_state"] > 30
    assert [set(s) for s in doc["stages"]] == [STAGE]
    assert doc["stages"][0]["left_at"] is None
    assert [set(s) for s in doc["timeline"]] == [STEP]
    consult = {"request_opinion"} if "consulting_delegation" in str(doc["next"]) else set()
    assert {n["trigger"] for n in doc["next"]} == {
        "return_for_revision",
        "fine_tune",
        "reject",
        "withdraw",
        *consult,
    }
    assert all(set(n) == {"trigger", "to", "roles"} for n in doc["next"])
    assert is_time(doc["measured_at"])


def test_history_and_next(db: str) -> None:
    done = as_json(db, "list", "--state", "disseminated")[0]["id"]
    entries = as_json(db, "history", done)
    assert all(set(e) == ENTRY for e in entries)
    assert [e["version"] for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0]["source"] is None
    assert entries[-1]["dest"] == "disseminated"
    assert all(set(g) == GUARD for e in entries for g in e["guards"])
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(entries))
    reports = as_json(db, "next", done)
    assert all(set(r) == REPORT for r in reports)
    assert len(reports) in {7, 8}  # one per role of its version (version 2 on: and system)
    assert all(r["allowed"] == [] and r["state"] == "disseminated" for r in reports)
    [mine] = as_json(db, "next", done, "--as", "auditor:a-1")
    assert mine["actor"] == {"id": "a-1", "role": "auditor"}


def test_stats_and_projections(db: str, store: tuple[Path, dict[str, Any]]) -> None:
    figures = as_json(db, "stats")
    assert set(figures) == PORTFOLIO
    assert figures["total"] == 8
    assert figures["by_state"] == store[1]["states"]
    assert set(figures["funnel"]) == {
        "submitted",
        "approved",
        "disseminated",
        "approval_rate",
        "dissemination_rate",
    }
    assert all(
        set(s) == {"state", "stays", "median_days", "p90_days"} for s in figures["stage_times"]
    )
    status = as_json(db, "projections", "status")
    assert [s["name"] for s in status] == ["requests", "audit_trail", "portfolio", "experts"]
    assert all(
        set(s) == {"name", "version", "position", "head", "behind", "parked"} for s in status
    )
    logged = store[1]["events"] + store[1]["privacy"]["events"]  # requests and erasures
    assert all(s["position"] == s["head"] == logged for s in status)
    rebuilt = as_json(db, "projections", "rebuild", "requests")
    assert rebuilt == {"rebuilt": ["requests"], "events": logged}
