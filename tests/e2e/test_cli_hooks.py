"""``socieux hooks``: operators see subscribers' positions and parked events."""

from __future__ import annotations

from pathlib import Path

from engine import Engine
from engine.cli.console import EXIT_CODES
from engine.hooks.types import HookEvent
from tests.e2e.cli_support import as_json, ok, run
from tests.helpers import submit
from tests.toy import toy_definition


def _store_with_subscribers(path: Path) -> str:
    url = f"sqlite:///{path}"

    def smtp_down(event: HookEvent) -> None:
        raise ConnectionError(f"smtp refused event {event.notification_id}")

    with Engine.open(url, workflows=[toy_definition()]) as engine:
        engine.subscribe(smtp_down, name="mailer", max_attempts=2, backoff=0)
        engine.subscribe(lambda e: None, name="audit-copy")
        submit(engine)
        submit(engine)
        engine.drain_hooks()
    return url


def test_status_and_parked_show_what_failed_and_why(tmp_path: Path) -> None:
    url = _store_with_subscribers(tmp_path / "store.db")
    status = {row["name"]: row for row in as_json(url, "hooks", "status")}
    assert status["mailer"]["parked"] == 2
    assert status["mailer"]["position"] == status["mailer"]["head"] == 2
    assert status["mailer"]["last_error"] == "ConnectionError: smtp refused event 2"
    assert status["audit-copy"]["parked"] == 0
    assert status["mailer"]["owner"] is None  # the host closed and released its lease

    parked = as_json(url, "hooks", "parked", "mailer")
    assert [(p["notification_id"], p["attempts"]) for p in parked] == [(1, 2), (2, 2)]
    assert as_json(url, "hooks", "parked", "audit-copy") == []

    text = ok(url, "hooks", "status")
    assert "mailer" in text
    assert "behind" not in text


def test_a_store_without_subscribers_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert "no subscribers" in ok(url, "hooks", "status")
    assert as_json(url, "hooks", "parked") == []


def test_a_broken_url_is_one_line_and_exit_code(tmp_path: Path) -> None:
    result = run("postgresql://nobody@127.0.0.1:1/none", "hooks", "status")
    assert result.exit_code == EXIT_CODES["usage"]
    assert "storage_unavailable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
