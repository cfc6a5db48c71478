"""Personal data on every backend: encrypted at rest per subject, erased by destroying the
subject's key, with the chain and a fresh export still verifying and no plaintext left."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from structlog.testing import capture_logs

from engine import Actor, Engine, InstanceView
from engine.audit.offline.verifier import verify_file
from engine.privacy import ERASED_MARK
from engine.testing import StepClock
from tests.conftest import BACKENDS, POSTGRES_URL
from workflows.technical_assistance import definitions
from workflows.technical_assistance.testing import KIT

START = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)  # after the builders' activities
TEAM = Actor("t-privacy", "socieux_team")
DPO = Actor("dpo-1", "privacy_officer")
ERASED_EXPERT = "expert:exp-fr-1"
SECRETS = [b"Claire Martin"]  # the erased expert's name
OTHERS = [b"Javier Ruiz", b"Sokha Chan", b"sokha.chan@nspc.example", b"+855 23 000 000"]


def expert_names(view: InstanceView) -> dict[str, str]:
    return {str(e["id"]): str(e["name"]) for e in view.data["experts"]}


store_url_params = pytest.mark.parametrize("store_url", BACKENDS, indirect=True)


def database_bytes(engine: Engine, store_url: str) -> bytes:
    """Everything the database holds: the SQLite file (after a checkpoint) with its WAL, or
    every row of every table in the PostgreSQL schema, or the memory store's events."""
    if store_url.startswith("sqlite"):
        path = Path(store_url.removeprefix("sqlite:///"))
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(p.read_bytes() for p in files if p.exists())
    if store_url.startswith("postgresql"):
        import psycopg

        schema = store_url.rsplit("schema=", 1)[1]
        out = []
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            ).fetchall()
            for (table,) in tables:
                rows = conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
                out += [str(r[0]).encode() for r in rows]
                blobs = conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                    "AND table_name = %s AND data_type = 'bytea'",
                    (schema, table),
                ).fetchall()
                for (col,) in blobs:
                    out += [bytes(r[0]) for r in conn.execute(
                        f'SELECT "{col}" FROM "{schema}"."{table}" WHERE "{col}" IS NOT NULL'
                    ).fetchall()]  # fmt: skip
        assert out, "the schema holds rows"
        return b"\n".join(out)
    recorder = engine.application.recorder
    events = recorder.select_notifications(start=1, limit=100_000)
    return b"".join(n.state for n in events)


def export_lines(engine: Engine, path: Path, **kw: Any) -> bytes:
    with path.open("w", encoding="utf-8") as out:
        engine.export(out, **kw)
    return path.read_bytes()


class TestErasureOnEveryBackend:
    """After ``forget``: verify and the offline verifier pass; the subject's bytes are
    nowhere; reads show the marker; other subjects of the same event still decrypt."""

    @store_url_params
    def test_forget_erases_one_subject_and_leaves_the_chain_verifying(
        self, store_url: str, tmp_path: Path
    ) -> None:
        clock = StepClock(START)
        with capture_logs() as logs:
            engine = Engine.open(store_url, workflows=definitions(), clock=clock)
            try:
                view = KIT.walk_to(engine, "disseminated")
                assert expert_names(view)["exp-fr-1"] == "Claire Martin"
                assert view.data["contact"]["name"] == "Sokha Chan"
                before = database_bytes(engine, store_url)
                for secret in SECRETS + OTHERS:  # encrypted at rest from the start
                    assert secret not in before, secret
                clock.now += timedelta(days=6 * 366)  # retention (5 years) is over
                status = engine.forget(
                    ERASED_EXPERT, actor=TEAM, approver=DPO, reason="the expert asked",
                    legal_basis="GDPR Art. 17(1)(a)",
                )  # fmt: skip
                assert (status.status, status.state) == ("erased", "erased")
                report = engine.verify()
                assert report.ok, report.problems
                export = export_lines(engine, tmp_path / "after.jsonl")
                offline = verify_file(tmp_path / "after.jsonl")
                assert offline.ok, offline.problems
                after = engine.get(view.id)
                history = engine.history(view.id)
                projected = json.dumps(
                    [
                        r.model_dump(mode="json")
                        for page in (engine.requests(), engine.experts(), engine.audit_trail())
                        for r in page
                    ]
                    + [engine.portfolio().model_dump(mode="json")]
                ).encode()
                stored = database_bytes(engine, store_url)
            finally:
                engine.close()
        names = expert_names(after)
        assert names["exp-fr-1"] == ERASED_MARK
        assert names["exp-es-1"] == "Javier Ruiz"  # another subject of the same event
        assert after.data["contact"]["email"] == "sokha.chan@nspc.example"
        mobilised = next(h for h in history if h.trigger == "mobilise")
        assert {e["name"] for e in mobilised.payload["experts"]} == {ERASED_MARK, "Javier Ruiz"}
        logged = json.dumps(logs, default=str).encode()
        for secret in SECRETS:
            for where, blob in (("db", stored), ("export", export), ("logs", logged),
                                ("projections", projected)):  # fmt: skip
                assert secret not in blob, (where, secret)
        for secret in OTHERS:  # encrypted, never exported or logged in clear
            assert secret not in export + logged + stored, secret

    @pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
    def test_other_engines_see_the_erasure_after_reopening(self, store_url: str) -> None:
        clock = StepClock(START)
        with Engine.open(store_url, workflows=definitions(), clock=clock) as engine:
            view = KIT.walk_to(engine, "disseminated")
            clock.now += timedelta(days=6 * 366)
            engine.forget(ERASED_EXPERT, actor=TEAM, approver=DPO, reason="asked",
                          legal_basis="GDPR Art. 17")  # fmt: skip
        with Engine.open(store_url, workflows=definitions(), clock=clock) as again:
            names = expert_names(again.get(view.id))
            assert names == {"exp-fr-1": ERASED_MARK, "exp-es-1": "Javier Ruiz"}
            assert again.subject(ERASED_EXPERT).status == "erased"
            assert again.verify().ok


def test_the_privacy_stream_records_each_step_with_actor_role_and_reason() -> None:
    clock = StepClock(START)
    with Engine.open("memory://", workflows=definitions(), clock=clock) as engine:
        KIT.walk_to(engine, "disseminated")
        clock.now += timedelta(days=6 * 366)
        status = engine.forget(ERASED_EXPERT, actor=TEAM, approver=DPO, reason="asked",
                               legal_basis="GDPR Art. 17(1)(a)")  # fmt: skip
        assert status.erasure is not None
        steps = engine.history(UUID(status.erasure))
    assert [(s.trigger, s.actor, s.role) for s in steps] == [
        ("request_erasure", TEAM.id, TEAM.role),
        ("approve_erasure", DPO.id, DPO.role),
        ("erase_subject", DPO.id, DPO.role),
    ]
    assert all(s.reason for s in steps)
    assert steps[0].payload == {"subject": ERASED_EXPERT, "legal_basis": "GDPR Art. 17(1)(a)"}
    assert b"Claire" not in json.dumps([s.model_dump(mode="json") for s in steps]).encode()


@store_url_params
def test_a_legal_hold_placed_before_any_request_blocks_then_releases_on_every_backend(
    store_url: str, tmp_path: Path
) -> None:
    clock = StepClock(START)
    auditor = Actor("aud-1", "auditor")
    with Engine.open(store_url, workflows=definitions(), clock=clock) as engine:
        view = KIT.walk_to(engine, "disseminated")
        engine.place_legal_hold("OLAF-2026-17", requests=[view.id], actor=auditor,
                                reason="OLAF investigation opened")  # fmt: skip
        clock.now += timedelta(days=6 * 366)  # retention over: the hold alone keeps the data
        status = engine.forget(ERASED_EXPERT, actor=TEAM, approver=DPO, reason="asked",
                               legal_basis="GDPR Art. 17(1)(a)")  # fmt: skip
        assert (status.status, status.holds) == ("restricted", ["OLAF-2026-17"])
        assert engine.run_due_erasures(actor=DPO) == []
        engine.release_legal_hold("OLAF-2026-17", actor=auditor, reason="case closed")
        assert [s.status for s in engine.run_due_erasures(actor=DPO)] == ["erased"]
        assert expert_names(engine.get(view.id))["exp-fr-1"] == ERASED_MARK
        assert engine.verify().ok
        export_lines(engine, tmp_path / "held.jsonl")
    offline = verify_file(tmp_path / "held.jsonl")
    assert offline.ok, offline.problems
