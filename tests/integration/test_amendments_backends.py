"""Corrections, evidence, notes and effective times on every backend: recorded in one write,
read back by a fresh engine (another process's view of the store), and verified."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine import Actor, Engine, PermissionDenied
from tests.conftest import BACKENDS
from tests.toy_audit import audit_definition

PARTNER, TEAM, APPROVER = Actor("p-1", "partner"), Actor("t-1", "team"), Actor("a-1", "approver")


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_amendments_survive_a_fresh_engine_and_verify(store_url: str) -> None:
    with Engine.open(store_url, workflows=[audit_definition()], projections=[]) as engine:
        v = engine.start("grant", {"title": "T", "amount": 500}, actor=PARTNER)
        engine.fire(v.id, "record", {"activity": "a1", "days": 40}, actor=TEAM,
                    effective_at=v.created_at + timedelta(seconds=1))  # fmt: skip
        c = engine.correct(v.id, 2, {"days": 45}, reason="timesheet", actor=TEAM)
        engine.attach_evidence(
            v.id, type="attendance_list", title="Attendance", sha256="e" * 64, size=9,
            media_type="text/csv", effective_date=date(2024, 5, 2), actor=TEAM,
        )  # fmt: skip
        if store_url == "memory://":
            engine.approve_correction(v.id, c.version, actor=APPROVER)
            assert engine.get(v.id).data["activities"][0]["days"] == 45
            return
    with Engine.open(store_url, workflows=[audit_definition()], projections=[]) as fresh:
        with pytest.raises(PermissionDenied):
            fresh.approve_correction(v.id, c.version, actor=Actor("t-1", "approver"))
        view = fresh.approve_correction(v.id, c.version, actor=APPROVER)
        fresh.note(v.id, "done", actor=APPROVER)
        assert view.data["activities"][0]["days"] == 45
        assert [e["title"] for e in fresh.get(v.id).evidence] == ["Attendance"]
        assert fresh.history(v.id)[1].effective_at == v.created_at + timedelta(seconds=1)
        assert fresh.verify().ok


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_pending_correction_and_evidence_survive_a_snapshot(store_url: str) -> None:
    with Engine.open(store_url, workflows=[audit_definition()], projections=[]) as engine:
        v = engine.start("grant", {"title": "T", "amount": 500}, actor=PARTNER)
        c = engine.correct(v.id, 1, {"amount": 600}, reason="typo", actor=TEAM)
        engine.attach_evidence(
            v.id, type="invoice", title="Invoice", sha256="f" * 64, size=3,
            media_type="application/pdf", effective_date=date(2024, 5, 2), actor=TEAM,
        )  # fmt: skip
        for n in range(60):  # past the snapshot interval
            engine.note(v.id, f"note {n}", actor=APPROVER)
    with Engine.open(store_url, workflows=[audit_definition()], projections=[]) as fresh:
        assert fresh.application.snapshots is not None
        assert list(fresh.application.snapshots.get(v.id))  # a snapshot was taken
        view = fresh.get(v.id)
        assert view.corrections[str(c.version)]["status"] == "pending"
        assert [e["title"] for e in view.evidence] == ["Invoice"]
        assert fresh.approve_correction(v.id, c.version, actor=APPROVER).data["amount"] == 600
