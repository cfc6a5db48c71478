"""Seals: the running hash of the whole log up to a notification, kept with the events.

Seals live in the events' own database, in a table of their own (``socieux_seals``,
created on the first seal; in the PostgreSQL schema of the events), written through the
engine's one SQL adapter (:mod:`engine.persistence.sql`) like read models and hooks. A new
seal continues from the previous one, so sealing costs time in proportion to the events
since the last seal.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any, Protocol

from engine.audit.offline.chain import GENESIS_RUNNING, step_running
from engine.audit.offline.seal_record import Head, SealRecord, heads_digest, seal_digest
from engine.audit.offline.signing import SigningKey
from engine.audit.records import iter_records
from engine.audit.report import Seal
from engine.errors import ConcurrencyConflict, InvalidArgument
from engine.instance.hashing import GENESIS_HASH, utc_iso
from engine.persistence.sql import SqlStore, is_unique_violation
from engine.persistence.store import EngineApplication, translate_errors

__all__ = [
    "SEALS_TABLE",
    "SealConflict",
    "SealStore",
    "list_seals",
    "make_seal",
    "seal_log",
    "seal_store",
]

SEALS_TABLE = "socieux_seals"
_COLUMNS = (
    "seq",
    "position",
    "events",
    "running_hash",
    "sealed_at",
    "heads_count",
    "heads_hash",
    "previous",
    "seal_hash",
    "public_key",
    "signature",
)
_ATTEMPTS = 3


class SealConflict(Exception):
    """Another process recorded a seal with the same number first."""


class SealStore(Protocol):
    """Where seals are kept."""

    def records(self) -> list[SealRecord]:
        """Every seal, in order, without its heads."""

    def heads(self, seq: int) -> list[Head]:
        """The heads recorded by seal ``seq``."""

    def add(self, seal: SealRecord, heads: list[Head]) -> None:
        """Record a seal; ``SealConflict`` if its number is taken."""


class _SqlSeals:
    """Seals in a table of the events' database (SQLite, PostgreSQL, or in-memory SQLite)."""

    def __init__(self, sql: SqlStore) -> None:
        self._sql = sql
        self._table = sql.table(SEALS_TABLE)
        self._create = (
            f"CREATE TABLE IF NOT EXISTS {self._table} (seq BIGINT PRIMARY KEY, "
            "position BIGINT NOT NULL, events BIGINT NOT NULL, running_hash TEXT NOT NULL, "
            "sealed_at TEXT NOT NULL, heads_count BIGINT NOT NULL, heads_hash TEXT NOT NULL, "
            "heads TEXT NOT NULL, previous TEXT NOT NULL, seal_hash TEXT NOT NULL, "
            "public_key TEXT, signature TEXT)"
        )

    def _select(self, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._sql.read() as cur:
            if not self._sql.has_table(cur, SEALS_TABLE):
                return []
            cur.execute(statement, params)
            return list(cur.fetchall())

    def records(self) -> list[SealRecord]:
        rows = self._select(f"SELECT {', '.join(_COLUMNS)} FROM {self._table} ORDER BY seq")
        return [SealRecord(**{c: row[c] for c in _COLUMNS}) for row in rows]

    def heads(self, seq: int) -> list[Head]:
        rows = self._select(f"SELECT heads FROM {self._table} WHERE seq = ?", (seq,))
        return (
            [(str(i), int(v), str(h)) for i, v, h in json.loads(rows[0]["heads"])] if rows else []
        )

    def add(self, seal: SealRecord, heads: list[Head]) -> None:
        values = [getattr(seal, c) for c in _COLUMNS]
        cols = ", ".join([*_COLUMNS, "heads"])
        marks = ", ".join(["?"] * (len(_COLUMNS) + 1))
        try:
            with self._sql.write() as cur:
                cur.execute(self._create)
                cur.execute(
                    f"INSERT INTO {self._table} ({cols}) VALUES ({marks})",
                    (*values, json.dumps([list(h) for h in heads])),
                )
        except Exception as exc:
            if is_unique_violation(exc):
                raise SealConflict from None
            raise


def seal_store(sql: SqlStore) -> SealStore:
    """The seal store in the events' database."""
    return _SqlSeals(sql)


def _interval(app: EngineApplication, last: SealRecord | None) -> tuple[int, int, str, list[Head]]:
    """Position, event count, running hash and heads at the log's end, from ``last`` on."""
    position, events = (last.position, last.events) if last else (0, 0)
    running = last.running_hash if last else GENESIS_RUNNING
    heads: dict[str, tuple[int, str]] = {}
    for page in iter_records(app.recorder, app.mapper, start=position):
        for rec in page:
            running = step_running(running, rec.digest)
            heads[rec.instance_id] = (rec.version, rec.digest)
        events += len(page)
        position = page.last
    return position, events, running, sorted((i, v, h) for i, (v, h) in heads.items())


def _build(
    last: SealRecord | None, app: EngineApplication, now: datetime, key: SigningKey | None
) -> tuple[SealRecord, list[Head]]:
    position, events, running, heads = _interval(app, last)
    fields: dict[str, Any] = {
        "seq": last.seq + 1 if last else 1,
        "position": position,
        "events": events,
        "running_hash": running,
        "sealed_at": utc_iso(now),
        "heads_hash": heads_digest(heads),
        "previous": last.seal_hash if last else GENESIS_HASH,
        "public_key": key.public_hex if key else None,
    }
    digest = seal_digest(**fields)
    signature = key.sign(digest.encode("ascii")).hex() if key else None
    return SealRecord(
        **fields, heads_count=len(heads), seal_hash=digest, signature=signature
    ), heads


def make_seal(
    app: EngineApplication, sql: SqlStore, *, now: datetime, key: SigningKey | None = None
) -> SealRecord:
    """Seal the log as it is now (signed with ``key`` if given) and record the seal."""
    store = seal_store(sql)
    for _ in range(_ATTEMPTS):
        existing = store.records()
        seal, heads = _build(existing[-1] if existing else None, app, now, key)
        try:
            store.add(seal, heads)
        except SealConflict:
            continue
        return seal
    raise ConcurrencyConflict("seals", expected=None, actual=None, attempts=_ATTEMPTS)


def seal_log(
    app: EngineApplication,
    sql: SqlStore,
    *,
    label: str,
    now: datetime,
    key: str | os.PathLike[str] | None = None,
) -> Seal:
    """Seal the log, signing with the Ed25519 private key file ``key`` if given."""
    signing = None
    if key is not None:
        from engine.audit.offline.signing import load_signing_key

        try:
            signing = load_signing_key(key)
        except ValueError as exc:
            raise InvalidArgument(f"signing key: {exc}") from None
    with translate_errors("sealing the log", label):
        return Seal.of(make_seal(app, sql, now=now, key=signing))


def list_seals(sql: SqlStore, *, label: str) -> list[Seal]:
    """Every recorded seal, oldest first."""
    with translate_errors("reading seals", label):
        return [Seal.of(r) for r in seal_store(sql).records()]
