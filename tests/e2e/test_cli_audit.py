"""``socieux audit ...`` and ``socieux replay --check`` through typer's CliRunner."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
import structlog
from typer.testing import CliRunner

from engine import Engine
from engine.cli.app import build_app
from tests.helpers import REQUESTER, REVIEWER, submit
from tests.toy import toy_definition

runner = CliRunner()


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    """The CLI configures structlog globally; put the defaults back for later tests."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, UUID]:
    """A SQLite file with one toy instance of three events. Toy is not installed for the
    CLI: audit reads its definition from the store (recorded when the engine opened)."""
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        iid = submit(engine)
        engine.fire(iid, "note", {"text": "a"}, actor=REQUESTER)
        engine.fire(iid, "review", {"score": 4}, actor=REVIEWER, reason="solid")
    return url, iid


def cli(url: str, *args: str) -> object:
    return runner.invoke(build_app(), ["--db", url, *args])


def alter(url: str, iid: UUID, version: int) -> None:
    """Rewrite the actor of one of ``req-1``'s events."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute(
            "UPDATE stored_events SET state = CAST(replace(state, 'req-1', 'req-2') "
            "AS BLOB) WHERE originator_id = ? AND originator_version = ?",
            (iid.hex, version),
        )
    conn.close()


def test_verify_a_clean_store_exits_0(db: tuple[str, UUID]) -> None:
    result = cli(db[0], "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "checked 3 events in 1 instance and 0 seals: OK" in result.stdout


def test_verify_a_tampered_store_exits_6_naming_instance_and_version(
    db: tuple[str, UUID],
) -> None:
    url, iid = db
    alter(url, iid, 2)
    result = cli(url, "--json", "audit", "verify")
    assert result.exit_code == 6
    error = json.loads(result.stderr)["error"]  # under --json the error is JSON too
    assert error["code"] == "integrity_violation"
    assert error["message"].startswith("1 problem(s) in 3 events")  # the engine's summary
    report = json.loads(result.stdout)
    assert [(p["kind"], p["instance_id"], p["version"]) for p in report["problems"]] == [
        ("altered", str(iid), 2)
    ]
    human = cli(url, "audit", "verify")
    assert "altered" in human.stdout
    assert ": 1 problem (" in human.stdout


def test_seal_then_seals_lists_it_and_a_tampered_log_is_not_sealed(
    db: tuple[str, UUID],
) -> None:
    url, iid = db
    assert cli(url, "audit", "seal").exit_code == 0
    listed = json.loads(cli(url, "--json", "audit", "seals").stdout)
    assert [(s["seq"], s["events"], s["signature"]) for s in listed] == [(1, 3, None)]
    alter(url, iid, 2)
    refused = cli(url, "audit", "seal")
    assert refused.exit_code == 6
    assert refused.stderr.startswith("error[integrity_violation]: not sealed:")
    assert len(json.loads(cli(url, "--json", "audit", "seals").stdout)) == 1


def test_export_verifies_offline_and_a_tampered_line_fails_with_its_number(
    db: tuple[str, UUID], tmp_path: Path
) -> None:
    url, _ = db
    out = tmp_path / "export.jsonl"
    assert cli(url, "audit", "seal").exit_code == 0
    assert cli(url, "audit", "export", "-o", str(out)).exit_code == 0
    ok = runner.invoke(build_app(), ["audit", "verify", "--file", str(out)])
    assert ok.exit_code == 0, ok.output
    lines = out.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace('"text":"a"', '"text":"b"')  # header, definition, event...
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = runner.invoke(build_app(), ["--json", "audit", "verify", "--file", str(out)])
    assert bad.exit_code == 6
    problems = json.loads(bad.stdout)["problems"]
    assert ("altered", 4) in {(p["kind"], p["line"]) for p in problems}


def test_export_to_stdout_writes_json_lines(db: tuple[str, UUID]) -> None:
    url, iid = db
    result = cli(url, "audit", "export", "--instance", str(iid)[:8])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds == ["header", "definition", "event", "event", "event", "end"]
    assert lines[0]["scope"] == {"instance": str(iid), "since": None}


def test_explain_shows_actor_role_reason_and_guards(db: tuple[str, UUID]) -> None:
    url, iid = db
    result = cli(url, "audit", "explain", str(iid)[:8], "3")
    assert result.exit_code == 0, result.output
    assert "by rev-1 as reviewer" in result.stdout
    assert "reason: solid" in result.stdout
    assert "good_score" in result.stdout
    assert "score=4" in result.stdout
    as_json = json.loads(cli(url, "--json", "audit", "explain", str(iid), "3").stdout)
    assert as_json["guards"][0]["inputs"] == {"score": 4}
    missing = cli(url, "audit", "explain", str(iid), "9")
    assert missing.exit_code == 5
    assert missing.stderr.startswith("error[instance_not_found]:")


def test_diff_between_two_times(db: tuple[str, UUID]) -> None:
    url, iid = db
    with Engine.open(url, workflows=[toy_definition()], projections=[]) as engine:
        history = engine.history(iid)
    result = cli(
        url,
        "--json",
        "audit",
        "diff",
        str(iid),
        "--from",
        history[1].at.isoformat(),
        "--to",
        history[2].at.isoformat(),
    )
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert (d["from_state"], d["to_state"]) == ("submitted", "reviewed")
    assert [(c["path"], c["after"]) for c in d["changes"]] == [("score", 4)]


def test_replay_check_exits_6_when_a_definition_is_not_installed(
    db: tuple[str, UUID], tmp_path: Path
) -> None:
    url, iid = db
    result = cli(url, "replay", "--check")
    assert result.exit_code == 6
    assert result.stderr.startswith(
        f"error[replay_failed]: 1 instance can no longer be replayed; first: {iid} v1: "
        "unknown_definition"
    )
    empty = cli(f"sqlite:///{tmp_path / 'empty.db'}", "replay", "--check")
    assert empty.exit_code == 0
    assert "replayed 0 instances (0 events): OK" in empty.stdout
    assert cli(url, "replay").exit_code == 2


def test_a_signed_seal_fails_with_the_wrong_public_key(
    db: tuple[str, UUID], tmp_path: Path
) -> None:
    url, _ = db
    for name in ("mine", "theirs"):
        assert cli(url, "audit", "keygen", str(tmp_path / name)).exit_code == 0
    assert cli(url, "audit", "seal", "--key", str(tmp_path / "mine")).exit_code == 0
    good = cli(url, "audit", "verify", "--public-key", str(tmp_path / "mine.pub"))
    assert good.exit_code == 0, good.output
    bad = cli(url, "audit", "verify", "--public-key", str(tmp_path / "theirs.pub"))
    assert bad.exit_code == 6
    assert "signed with another key" in bad.stderr


def test_verify_a_missing_file_is_bad_usage(tmp_path: Path) -> None:
    result = runner.invoke(build_app(), ["audit", "verify", "--file", str(tmp_path / "no")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error[invalid_argument]: cannot read")


def test_the_console_script_verifies_an_export_as_a_subprocess(
    db: tuple[str, UUID], tmp_path: Path
) -> None:
    url, _ = db
    out = tmp_path / "export.jsonl"
    assert cli(url, "audit", "export", "-o", str(out)).exit_code == 0
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "audit", "verify", "--file", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "checked 3 events in 1 instance and 0 seals: OK" in done.stdout
