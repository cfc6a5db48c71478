"""A request's page in the console shows its notes and corrections, escaped, linked to the
timeline, and both times of a step recorded late."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from engine import Actor, Engine
from engine.web import create_app
from projections import builtin
from tests.toy_audit import audit_definition

PARTNER, TEAM, APPROVER = Actor("p-1", "partner"), Actor("t-1", "team"), Actor("a-1", "approver")


def test_the_request_page_lists_notes_and_corrections(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'grant.db'}"
    with Engine.open(url, workflows=[audit_definition()], projections=builtin()) as engine:
        v = engine.start("grant", {"title": "T", "amount": 500}, actor=PARTNER)
        engine.fire(v.id, "record", {"activity": "a1", "days": 40}, actor=TEAM,
                    effective_at=v.created_at + timedelta(microseconds=1))  # fmt: skip
        c = engine.correct(v.id, 1, {"amount": 600}, reason="typo", actor=TEAM)
        engine.approve_correction(v.id, c.version, actor=APPROVER)
        engine.note(v.id, "Checked <script>alert(1)</script>", actor=APPROVER)
        with TestClient(create_app(engine)) as client:
            page = client.get(f"/requests/{v.id}").text
    assert '<h2 id="amendments">Notes and corrections</h2>' in page
    assert "corrects v1 (submit): amount 500 → 600" in page
    assert '<a href="#v3">v3</a>' in page
    assert "approves the correction at v3" in page
    assert "note (internal): Checked &lt;script&gt;" in page  # escaped, never markup
    assert "<script>alert" not in page
    assert "corrected by v3" in page
    assert "effective <time" in page
