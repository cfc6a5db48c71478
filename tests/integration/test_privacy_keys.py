"""The key-encryption key and the data keys on a real SQLite file: a development key file
beside the database, a wrong or missing KEK refused at open, a swapped data key detected,
KEK rotation re-wrapping every live key, and a new subject's key written by its event's own
transaction (never without the event)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import BaseModel, ConfigDict
from structlog.testing import capture_logs

from engine import Actor, Engine, PersonalStr, StateDef, TransitionDef, WorkflowDefinition
from engine.errors import EnvelopeInvalid, InvalidArgument, StorageUnavailable
from workflows.technical_assistance import definitions
from workflows.technical_assistance.testing import KIT


@pytest.fixture
def no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCIEUX_KEY_FILE", raising=False)
    monkeypatch.delenv("SOCIEUX_KEK", raising=False)


def key_file(path: Path) -> Path:
    path.write_text(os.urandom(32).hex() + "\n")
    return path


def test_sqlite_without_a_key_creates_one_beside_the_database_with_a_warning(
    tmp_path: Path, no_key_env: None
) -> None:
    db = tmp_path / "x.db"
    with capture_logs() as logs, Engine.open(f"sqlite:///{db}", workflows=definitions()) as e:
        view = KIT.walk_to(e, "submitted")
    beside = tmp_path / "x.db.key"
    assert stat.S_IMODE(beside.stat().st_mode) == 0o600
    assert any(entry["event"] == "development_key_file_created" for entry in logs)
    with Engine.open(f"sqlite:///{db}", workflows=definitions()) as again:
        assert again.get(view.id).data["contact"]["name"] == "Sokha Chan"
    beside.unlink()
    with pytest.raises(StorageUnavailable, match="missing"):
        Engine.open(f"sqlite:///{db}", workflows=definitions())


def test_a_wrong_kek_fails_at_open(tmp_path: Path, no_key_env: None) -> None:
    db, right, wrong = tmp_path / "x.db", key_file(tmp_path / "a.key"), key_file(tmp_path / "b.key")
    with Engine.open(f"sqlite:///{db}?key_file={right}", workflows=definitions()) as e:
        KIT.walk_to(e, "submitted")
    with pytest.raises(StorageUnavailable, match="not the one"):
        Engine.open(f"sqlite:///{db}?key_file={wrong}", workflows=definitions())
    os.environ["SOCIEUX_KEY_FILE"] = str(wrong)  # monkeypatch undoes the deletion only
    try:
        with pytest.raises(StorageUnavailable, match="not the one"):
            Engine.open(f"sqlite:///{db}", workflows=definitions())
    finally:
        del os.environ["SOCIEUX_KEY_FILE"]


def test_a_data_key_swapped_between_subjects_is_detected(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    with Engine.open(f"sqlite:///{db}", workflows=definitions()) as e:
        view = KIT.walk_to(e, "mobilised")
    with sqlite3.connect(db) as conn:
        rows = dict(
            conn.execute(
                "SELECT subject, wrapped FROM socieux_privacy_keys WHERE subject LIKE 'expert:%'"
            ).fetchall()
        )
        first, second = sorted(rows)
        for subject, other in ((first, second), (second, first)):
            conn.execute(
                "UPDATE socieux_privacy_keys SET wrapped = ? WHERE subject = ?",
                (rows[other], subject),
            )
    with Engine.open(f"sqlite:///{db}", workflows=definitions()) as again:
        with pytest.raises(EnvelopeInvalid):
            again.get(view.id)
        assert again.get(view.id, version=1).data["contact"]["name"] == "Sokha Chan"


def test_rotating_the_kek_rewraps_every_live_key(tmp_path: Path, no_key_env: None) -> None:
    db, old, new = tmp_path / "x.db", key_file(tmp_path / "old.key"), key_file(tmp_path / "new.key")
    with Engine.open(f"sqlite:///{db}?key_file={old}", workflows=definitions()) as e:
        view = KIT.walk_to(e, "mobilised")
        assert e.rotate_kek(new) == 3  # the contact and two experts
    with pytest.raises(StorageUnavailable):
        Engine.open(f"sqlite:///{db}?key_file={old}", workflows=definitions())
    with Engine.open(f"sqlite:///{db}?key_file={new}", workflows=definitions()) as again:
        assert again.get(view.id).data["contact"]["email"] == "sokha.chan@nspc.example"


class Named(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    who: PersonalStr = ""  # subject person:<instance id>:- (the instance's own)


def named_definition() -> WorkflowDefinition:
    return WorkflowDefinition(
        name="named",
        version=1,
        title="A request naming its own person",
        roles=("clerk",),
        states=(StateDef(name="open"), StateDef(name="closed", final=True)),
        transitions=(
            TransitionDef(trigger="open", dest="open", roles=("clerk",), payload=Named),
            TransitionDef(
                trigger="name", source=("open",), internal=True, roles=("clerk",), payload=Named
            ),
            TransitionDef(trigger="close", source=("open",), dest="closed", roles=("clerk",)),
        ),
    )


def key_rows(db: Path, subject: str) -> list[tuple[int, str | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT version, status FROM socieux_privacy_keys WHERE subject = ?", (subject,)
        ).fetchall()


def test_a_new_subjects_key_is_written_with_its_event_and_not_without_it(tmp_path: Path) -> None:
    db, key = tmp_path / "x.db", key_file(tmp_path / "k.key")
    url, clerk, iid = f"sqlite:///{db}?key_file={key}", Actor("c-1", "clerk"), uuid4()
    subject = f"person:{iid}:-"
    with Engine.open(url, workflows=[named_definition()]) as e:
        e.start("named", {"who": ""}, actor=clerk, instance_id=iid)
        assert key_rows(db, subject) == []  # nothing personal recorded: no key
        with pytest.raises(InvalidArgument):  # the event is refused: its new key is not kept
            e.start("named", {"who": "Ann Example"}, actor=clerk, instance_id=iid)
        assert key_rows(db, subject) == []
        assert e.fire(iid, "name", {"who": "Ann Example"}, actor=clerk).data["who"] == "Ann Example"
        assert key_rows(db, subject) == [(1, "live")]
        assert e.fire(iid, "name", {"who": "Bo Example"}, actor=clerk).version == 3
        assert key_rows(db, subject) == [(1, "live")]  # the key in this process's cache reused
    with Engine.open(url, workflows=[named_definition()]) as again:
        assert [h.payload["who"] for h in again.history(iid)] == ["", "Ann Example", "Bo Example"]
        stored = again.application.instance(iid).data["who"]
        assert (stored["kid"], stored["kv"]) == (subject, 1)


def test_on_postgresql_a_new_subjects_key_is_written_by_its_events_transaction(
    tmp_path: Path,
) -> None:
    import psycopg

    from tests.conftest import postgres_or_skip

    base = postgres_or_skip()
    schema = f"k_{uuid4().hex[:10]}"
    url = f"{base}?schema={schema}&key_file={key_file(tmp_path / 'k.key')}"
    clerk, iid = Actor("c-1", "clerk"), uuid4()
    subject = f"person:{iid}:-"

    def rows() -> list[tuple[int, str | None]]:
        with psycopg.connect(base, autocommit=True) as conn:
            found = conn.execute(
                f'SELECT version, status FROM "{schema}".socieux_privacy_keys WHERE subject = %s',
                (subject,),
            ).fetchall()
        return [(int(v), s) for v, s in found]

    try:
        with Engine.open(url, workflows=[named_definition()]) as e:
            assert e._parts.commands.inline is not None  # the key rides on the event's commit
            e.start("named", {"who": ""}, actor=clerk, instance_id=iid)
            with pytest.raises(InvalidArgument):  # refused: its new key is not kept
                e.start("named", {"who": "Ann Example"}, actor=clerk, instance_id=iid)
            assert rows() == []
            assert e.fire(iid, "name", {"who": "Ann Example"}, actor=clerk).data["who"] == (
                "Ann Example"
            )
            assert rows() == [(1, "live")]
        with Engine.open(url, workflows=[named_definition()]) as again:
            assert again.get(iid).data["who"] == "Ann Example"
            assert again.verify().ok
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
