"""The key-encryption key and the data keys on a real SQLite file: a development key file
beside the database, a wrong or missing KEK refused at open, a swapped data key detected,
and KEK rotation re-wrapping every live key."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from engine import Engine
from engine.errors import EnvelopeInvalid, StorageUnavailable
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
