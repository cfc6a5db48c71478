"""The CLI's log lines from a real process, where structlog is configured only when the
first line is logged: the same lines, in both formats, and nothing when nothing is."""

from __future__ import annotations

import json
from pathlib import Path

from engine import Engine
from tests.e2e.cli_support import process
from workflows.technical_assistance import definition
from workflows.technical_assistance.builders import ACTORS, request_payload


def _submitted(tmp_path: Path) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'logs.db'}"
    with Engine.open(url, workflows=[definition()]) as engine:
        view = engine.start(definition().name, request_payload(), actor=ACTORS["partner"])
    return url, str(view.id)


def test_json_lines_are_logged_from_the_first_one_on(tmp_path: Path) -> None:
    url, iid = _submitted(tmp_path)
    fire = ("fire", iid, "withdraw", "--as", "partner_institution:kh-nspc-1", "--reason", "no")
    done = process("--db", url, "--log-format", "json", *fire)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines()]
    assert events, done.stderr
    last = events[-1]
    assert {"event": "command_recorded", "level": "info", "trigger": "withdraw"}.items() <= (
        last.items()
    )
    assert "timestamp" in last
    assert all({"event", "level", "timestamp"} <= e.keys() for e in events)


def test_text_shows_warnings_only(tmp_path: Path) -> None:
    url, iid = _submitted(tmp_path)
    done = process("--db", url, "--log-format", "text", "history", iid)
    assert done.returncode == 0
    assert done.stderr == ""
