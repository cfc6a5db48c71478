"""``socieux privacy``: erasure through the CLI on a real SQLite file, exit codes for bad
input, JSON output that names subjects by pseudonym only, and the decrypted export."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import Engine
from engine.testing import StepClock
from tests.e2e.cli_support import as_json, ok, run
from workflows.technical_assistance import definitions
from workflows.technical_assistance.testing import KIT

EXPERT = "expert:exp-fr-1"
FORGET = ["--as", "socieux_team:t-1", "--approved-by", "privacy_officer:dpo-1"]
WHY = ["--reason", "the expert asked", "--legal-basis", "GDPR Art. 17(1)(a)"]


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, str]:
    """A store with one request closed in 2025 (retention runs to 2030)."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    clock = StepClock(datetime(2025, 6, 1, 9, tzinfo=UTC))
    with Engine.open(url, workflows=definitions(), clock=clock) as engine:
        view = KIT.walk_to(engine, "disseminated")
    return url, str(view.id)


def test_forget_inside_retention_is_deferred_and_shown_by_pseudonym(
    store: tuple[str, str],
) -> None:
    db, iid = store
    shown = as_json(db, "privacy", "forget", EXPERT, *FORGET, *WHY)
    assert [(s["subject"], s["status"], s["state"]) for s in shown] == [
        (EXPERT, "restricted", "deferred")
    ]
    assert "Claire" not in json.dumps(shown)
    request = as_json(db, "show", iid)
    assert {e["name"] for e in request["data"]["experts"]} == {"[restricted]", "Javier Ruiz"}
    assert "no erasure is due" in ok(db, "privacy", "due")
    held = as_json(db, "privacy", "hold", EXPERT, "--as", "auditor:a-1", "--reason", "audit",
                   "--hold", "ECA-2026-3")  # fmt: skip
    assert held[0]["holds"] == ["ECA-2026-3"]
    assert "audit" in ok(db, "history", shown[0]["erasure"][:8])
    assert ok(db, "audit", "verify").strip().endswith(f"OK ({db})")


def test_bad_input_is_one_line_and_its_exit_code(store: tuple[str, str]) -> None:
    db, _ = store
    unknown = run(db, "privacy", "forget", "expert:nobody", *FORGET, *WHY)
    assert (unknown.exit_code, unknown.stderr.count("\n")) == (5, 1)
    assert "subject_not_found" in unknown.stderr
    same = run(db, "privacy", "forget", EXPERT, "--as", "privacy_officer:dpo-1",
               "--approved-by", "privacy_officer:dpo-1", *WHY)  # fmt: skip
    assert (same.exit_code, "permission_denied" in same.stderr) == (3, True)
    ok(db, "privacy", "forget", EXPERT, *FORGET, *WHY)
    again = run(db, "privacy", "forget", EXPERT, *FORGET, *WHY)
    assert (again.exit_code, "erasure_conflict" in again.stderr) == (4, True)
    no_actor = run(db, "privacy", "due", "--run")
    assert no_actor.exit_code == 2


def test_a_decrypted_export_is_recorded_first_and_refused_to_other_roles(
    store: tuple[str, str], tmp_path: Path
) -> None:
    db, iid = store
    out = tmp_path / "personal.jsonl"
    refused = run(db, "privacy", "export", "-o", str(out), "--as", "socieux_team:t-1",
                  "--reason", "curious")  # fmt: skip
    assert (refused.exit_code, out.exists()) == (3, False)
    ok(db, "privacy", "export", "-o", str(out), "--as", "auditor:a-1", "--reason", "DSAR 7")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {(x["path"], x["value"]) for x in lines} >= {
        ("contact.name", "Sokha Chan"), ("experts.0.name", "Claire Martin"),
    }  # fmt: skip
    assert {x["instance_id"] for x in lines} == {iid}
    log = tmp_path / "log.jsonl"
    ok(db, "audit", "export", "-o", str(log))
    recorded = [json.loads(x) for x in log.read_text().splitlines()]
    events = [x["event"] for x in recorded if x["type"] == "event"]
    disclosed = [e["audit"] for e in events if e["trigger"] == "disclose"]
    assert [(a["role"], a["reason"]) for a in disclosed] == [("auditor", "DSAR 7")]
    assert "Sokha" not in log.read_text()
    listed = as_json(db, "list")  # requests only: the accesses and erasures are not listed
    assert [r["id"] for r in listed] == [iid]


def test_a_legal_hold_on_a_request_before_any_erasure_request(store: tuple[str, str]) -> None:
    db, iid = store
    placed = as_json(db, "privacy", "legal-hold", "OLAF-2026-17", "--request", iid[:8],
                     "--as", "auditor:a-1", "--reason", "OLAF investigation opened")  # fmt: skip
    assert placed == [{"hold": "OLAF-2026-17", "subjects": [], "requests": [iid]}]
    assert as_json(db, "privacy", "subject", EXPERT)[0]["holds"] == ["OLAF-2026-17"]
    again = run(db, "privacy", "legal-hold", "OLAF-2026-17", "--subject", EXPERT,
                "--as", "auditor:a-1", "--reason", "twice")  # fmt: skip
    assert (again.exit_code, again.stderr.count("\n")) == (4, 1)
    assert "erasure_conflict" in again.stderr
    empty = run(db, "privacy", "legal-hold", "X-1", "--as", "auditor:a-1", "--reason", "r")
    assert (empty.exit_code, empty.stderr.count("\n")) == (2, 1)
    assert "OLAF-2026-17" in ok(db, "privacy", "holds")
    ok(db, "privacy", "lift-hold", "OLAF-2026-17", "--as", "auditor:a-1", "--reason", "closed")
    assert "no legal hold is open" in ok(db, "privacy", "holds")
    assert ok(db, "audit", "verify").strip().endswith(f"OK ({db})")
