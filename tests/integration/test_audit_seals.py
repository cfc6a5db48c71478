"""Seals on every backend: recorded, chained, signed, kept across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import InvalidArgument
from engine.audit.offline.chain import GENESIS_RUNNING
from engine.audit.offline.signing import generate_key
from engine.audit.seals import SealConflict, seal_store
from engine.instance.hashing import GENESIS_HASH
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, event_count, submit


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A signing key, its public key, and someone else's public key."""
    generate_key(tmp_path / "seal.key")
    generate_key(tmp_path / "other.key")
    return tmp_path / "seal.key", tmp_path / "seal.key.pub", tmp_path / "other.key.pub"


class SealContract:
    def test_an_empty_log_can_be_sealed(self, open_engine: EngineFactory) -> None:
        seal = open_engine().seal()
        assert (seal.seq, seal.position, seal.events) == (1, 0, 0)
        assert (seal.running_hash, seal.previous) == (GENESIS_RUNNING, GENESIS_HASH)

    def test_seals_are_numbered_and_chained(self, open_engine: EngineFactory) -> None:
        engine = open_engine()
        iid = submit(engine)
        first = engine.seal()
        engine.fire(iid, "note", {"text": "a"}, actor=REQUESTER)
        second = engine.seal()
        assert [s.seq for s in engine.seals()] == [1, 2]
        assert second.previous == first.seal_hash
        assert (first.events, second.events) == (1, 2)
        assert second.position > first.position
        assert (first.heads_count, second.heads_count) == (1, 1)
        report = engine.verify()
        assert (report.ok, report.seals_checked) == (True, 2)

    def test_a_signed_seal_verifies_only_with_its_public_key(
        self, open_engine: EngineFactory, keys: tuple[Path, Path, Path]
    ) -> None:
        private, public, other = keys
        engine = open_engine()
        submit(engine)
        seal = engine.seal(key=private)
        assert seal.signature is not None
        assert seal.public_key == public_hex(public)
        good = engine.verify(public_key=public)
        assert (good.ok, good.signatures_checked) == (True, 1)
        bad = engine.verify(public_key=other)
        assert [(p.kind, p.detail) for p in bad.problems] == [
            (
                "seal",
                f"seal #1: signed with another key ({seal.public_key[:16]}...), not the given one",
            ),
        ]

    def test_an_unsigned_seal_fails_when_a_key_is_required(
        self, open_engine: EngineFactory, keys: tuple[Path, Path, Path]
    ) -> None:
        engine = open_engine()
        engine.seal()
        report = engine.verify(public_key=keys[1])
        assert [p.detail for p in report.problems] == [
            "seal #1: is not signed, but a public key was given"
        ]

    def test_a_public_key_with_no_seal_to_check_fails(
        self, open_engine: EngineFactory, keys: tuple[Path, Path, Path], tmp_path: Path
    ) -> None:
        _, public, _ = keys
        engine = open_engine()
        submit(engine)
        report = engine.verify(public_key=public)
        assert [(p.kind, p.detail) for p in report.problems] == [
            ("seal", "a public key was given, but there is no seal to check")
        ]
        assert (report.ok, report.signatures_checked) == (False, 0)
        path = tmp_path / "x.jsonl"
        with path.open("w", encoding="utf-8") as out:
            engine.export(out)
        offline = engine.verify_file(path, public_key=public)
        assert (offline.ok, [p.kind for p in offline.problems]) == (False, ["seal"])
        assert engine.verify_file(path).ok  # without a key, no seal is needed

    def test_a_seal_number_is_recorded_once(self, open_engine: EngineFactory) -> None:
        engine = open_engine()
        first = engine.seal()
        store = seal_store(engine._parts.sql)
        (record,) = store.records()
        with pytest.raises(SealConflict):
            store.add(record, [])
        assert [s.seq for s in engine.seals()] == [first.seq]

    def test_a_bad_key_file_is_invalid_argument(
        self, open_engine: EngineFactory, tmp_path: Path
    ) -> None:
        engine = open_engine()
        (tmp_path / "junk").write_text("not a key", encoding="utf-8")
        with pytest.raises(InvalidArgument, match="signing key"):
            engine.seal(key=tmp_path / "junk")
        with pytest.raises(InvalidArgument, match="public key"):
            engine.verify(public_key=tmp_path / "missing.pub")
        assert engine.seals() == []


class DurableSealContract(SealContract):
    def test_seals_survive_a_restart(self, open_engine: EngineFactory) -> None:
        engine = open_engine()
        submit(engine)
        seal = engine.seal()
        engine.close()
        again = open_engine()
        assert again.seals() == [seal]
        assert again.verify().seals_checked == 1


def public_hex(path: Path) -> str:
    from engine.audit.offline.signing import load_public_key

    raw = load_public_key(path).public_bytes_raw()
    return bytes(raw).hex()


@pytest.mark.parametrize("store_url", ["memory"], indirect=True)
class TestMemory(SealContract):
    pass


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
class TestSQLite(DurableSealContract):
    def test_a_rewritten_seal_row_is_detected(
        self, open_engine: EngineFactory, store_url: str
    ) -> None:
        import sqlite3

        engine = open_engine()
        submit(engine)
        engine.seal()
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
            conn.execute("UPDATE socieux_seals SET events = 7")
        conn.close()
        details = [p.detail for p in engine.verify().problems]
        assert details == ["seal #1: its fields no longer match its hash"]


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
class TestPostgres(DurableSealContract):
    def test_gaps_in_notification_ids_do_not_break_seals(self, open_engine: EngineFactory) -> None:
        engine = open_engine()
        iid = submit(engine)
        with pytest.raises(InvalidArgument):  # a refused insert consumes a notification id
            engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER, instance_id=iid)
        engine.fire(iid, "note", {"text": "a"}, actor=REQUESTER)
        seal = engine.seal()
        assert (seal.events, event_count(engine)) == (2, 2)
        assert seal.position > seal.events
        assert engine.verify().ok
