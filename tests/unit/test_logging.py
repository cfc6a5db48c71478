"""The engine logs through structlog with bound context, and never logs payloads."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from engine import Engine, PermissionDenied
from tests.helpers import APPROVER, REQUESTER
from tests.toy import toy_definition


def test_commands_log_instance_trigger_and_correlation_but_no_payload() -> None:
    with (
        Engine.open("memory://", workflows=[toy_definition()], projections=[]) as engine,
        capture_logs() as logs,
    ):
        view = engine.start(
            "toy",
            {"title": "t", "amount": 1, "contact": "maria@example.org"},
            actor=REQUESTER,
            correlation_id="req-42",
        )
        with pytest.raises(PermissionDenied):
            engine.fire(
                view.id, "note", {"text": "secret"}, actor=APPROVER, correlation_id="req-43"
            )
    recorded, refused = logs
    assert recorded["event"] == "command_recorded"
    assert (recorded["instance_id"], recorded["trigger"], recorded["correlation_id"]) == (
        str(view.id),
        "submit",
        "req-42",
    )
    assert (refused["event"], refused["code"], refused["correlation_id"]) == (
        "command_refused",
        "permission_denied",
        "req-43",
    )
    text = repr(logs)
    assert "maria@example.org" not in text
    assert "secret" not in text


def test_the_library_never_configures_structlog() -> None:
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "engine"
    offenders = [
        str(p)
        for p in root.rglob("*.py")
        if "cli" not in p.parts
        and "structlog.configure" in p.read_text(encoding="utf-8")
        and any(
            isinstance(n, ast.Attribute) and n.attr == "configure"
            for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        )
    ]
    assert offenders == []
