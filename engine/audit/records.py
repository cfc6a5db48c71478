"""Stored rows to :class:`~engine.audit.offline.chain.Record`: the hashed fields, as stored.

The hash is recomputed from the row's stored form (decoded, never upcast and without
resolving its topic), so a later upcaster or a renamed class can never make an intact
event look altered. A row that cannot be decoded becomes an unreadable record, which
the checks report as altered: it never stops a verification.

Every record carries its log position (notification id). On SQLite the rows are read
with the instance id exactly as stored: the recorder would turn any spelling of a UUID
into the same UUID, hiding a row whose id was re-spelt (upper case, hyphens), which reads
by id no longer find. Such a row keeps its spelling in ``Record.stored_id``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

from engine.audit.offline.chain import Record, raw_digest
from engine.instance.hashing import utc_iso

__all__ = [
    "ENVELOPE",
    "UNREADABLE",
    "Page",
    "iter_notifications",
    "iter_records",
    "record_of",
    "stored_fields",
    "stored_hash",
]

ENVELOPE = frozenset({"originator_id", "originator_version", "hash", "timestamp", "class_version"})
UNREADABLE = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    RecursionError,
    UnicodeDecodeError,
    OverflowError,
)
_HEX = frozenset("0123456789abcdef")


def _decode(mapper: Mapper[Any], state: bytes) -> dict[str, Any]:
    if mapper.cipher:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor:
        state = mapper.compressor.decompress(state)
    decoded = mapper.transcoder.decode(state)
    if not isinstance(decoded, dict):
        msg = f"the state is a {type(decoded).__name__}, not an object"
        raise TypeError(msg)
    return decoded


def stored_fields(mapper: Mapper[Any], stored: StoredEvent) -> tuple[dict[str, Any], str]:
    """The hashed fields (without ``originator_version``) and the stored ``hash``."""
    state = _decode(mapper, _state_bytes(stored))
    stored_hash = state.get("hash")
    if not isinstance(stored_hash, str):
        msg = "it has no hash"
        raise TypeError(msg)
    at = state.get("timestamp")
    if not isinstance(at, datetime):
        msg = "it has no timestamp"
        raise TypeError(msg)
    fields = {k: v for k, v in state.items() if k not in ENVELOPE}
    fields.update(
        topic=stored.topic, originator_id=str(stored.originator_id), timestamp=utc_iso(at)
    )
    return fields, stored_hash


def stored_hash(mapper: Mapper[Any], stored: StoredEvent) -> str | None:
    """The ``hash`` a stored row holds (decoded, not recomputed), when it is 64 lowercase
    hex digits; ``None`` otherwise. Raises like :func:`stored_fields` on an unreadable row."""
    value = _decode(mapper, _state_bytes(stored)).get("hash")
    return value if isinstance(value, str) and len(value) == 64 and _HEX.issuperset(value) else None


def _state_bytes(stored: StoredEvent) -> bytes:
    """The state as bytes (an SQL edit can leave TEXT where a BLOB was)."""
    state: Any = stored.state
    if state is None:
        return b""
    return state.encode("utf-8") if isinstance(state, str) else bytes(state)


def record_of(
    mapper: Mapper[Any],
    stored: StoredEvent,
    position: int | None = None,
    stored_id: str | None = None,
) -> Record:
    """The record of one stored row (unreadable rows included)."""
    iid = str(stored.originator_id)
    try:
        version = int(stored.originator_version)
    except (TypeError, ValueError):
        return Record(iid, 0, None, None, position=position, error="its version is not a number")
    try:
        fields, stored_hash = stored_fields(mapper, stored)
    except UNREADABLE as exc:
        error = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raw = raw_digest(str(stored.topic), iid, str(version), _state_bytes(stored))
        return Record(
            iid, version, None, None, position=position, error=error, raw=raw, stored_id=stored_id
        )
    return Record(iid, version, fields, stored_hash, position=position, stored_id=stored_id)


def iter_notifications(
    recorder: ApplicationRecorder, *, start: int = 0, page: int = 1000
) -> Iterator[list[Notification]]:
    """Pages of the log after notification ``start``, in order (gaps allowed)."""
    cursor: int | None = start or None
    while True:
        batch = list(recorder.select_notifications(cursor, page, inclusive_of_start=False))
        if batch:
            yield batch
        if len(batch) < page:
            return
        cursor = batch[-1].id


def _sqlite_id(value: object) -> tuple[UUID | str, str | None]:
    """The instance id of a SQLite row, and its spelling when it is not 32 lowercase hex."""
    if isinstance(value, str) and len(value) == 32 and _HEX.issuperset(value):
        return UUID(value), None
    spelt = value if isinstance(value, str) else repr(value)
    try:
        return UUID(str(value)), spelt
    except ValueError:
        return spelt, spelt


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the log: its rows, decoded into records one at a time as it is iterated
    (so memory holds a page of stored rows, never a page of decoded events)."""

    mapper: Mapper[Any]
    rows: list[tuple[StoredEvent, int, str | None]]  # (row, position, id as spelt)

    def __iter__(self) -> Iterator[Record]:
        for stored, position, spelt in self.rows:
            yield record_of(self.mapper, stored, position, spelt)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def last(self) -> int:
        """The position of its last row."""
        return self.rows[-1][1]


def _sqlite_rows(
    recorder: SQLiteApplicationRecorder, start: int, page: int
) -> Iterator[list[tuple[StoredEvent, int, str | None]]]:
    statement = (
        "SELECT rowid, originator_id, originator_version, topic, state "
        f"FROM {recorder.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?"
    )
    cursor = start
    while True:
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(statement, (cursor, page))
            rows = list(c.fetchall())
        batch = []
        for row in rows:
            iid, spelt = _sqlite_id(row[1])
            batch.append((StoredEvent(iid, row[2], str(row[3]), row[4]), int(row[0]), spelt))
        if batch:
            yield batch
        if len(rows) < page:
            return
        cursor = int(rows[-1][0])


def iter_records(
    recorder: ApplicationRecorder, mapper: Mapper[Any], *, start: int = 0, page: int = 1000
) -> Iterator[Page]:
    """Pages of the log after notification ``start``, in order: records with positions."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        for rows in _sqlite_rows(recorder, start, page):
            yield Page(mapper, rows)
        return
    for batch in iter_notifications(recorder, start=start, page=page):
        yield Page(mapper, [(n, n.id, None) for n in batch])
