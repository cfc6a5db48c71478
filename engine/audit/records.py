"""Stored rows to :class:`~engine.audit.chain.Record`: the hashed fields, as stored.

The hash is recomputed from the row's stored form (decoded, never upcast and without
resolving its topic), so a later upcaster or a renamed class can never make an intact
event look altered. A row that cannot be decoded becomes an unreadable record, which
the checks report as altered: it never stops a verification.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification, StoredEvent

from engine.audit.offline.chain import Record, raw_digest
from engine.instance.hashing import utc_iso

__all__ = ["ENVELOPE", "iter_notifications", "record_of", "stored_fields"]

ENVELOPE = frozenset({"originator_id", "originator_version", "hash", "timestamp", "class_version"})
_UNREADABLE = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    RecursionError,
    UnicodeDecodeError,
    OverflowError,
)


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


def _state_bytes(stored: StoredEvent) -> bytes:
    """The state as bytes (an SQL edit can leave TEXT where a BLOB was)."""
    state: Any = stored.state
    if state is None:
        return b""
    return state.encode("utf-8") if isinstance(state, str) else bytes(state)


def record_of(mapper: Mapper[Any], stored: StoredEvent, position: int | None = None) -> Record:
    """The record of one stored row (unreadable rows included)."""
    iid, version = str(stored.originator_id), int(stored.originator_version)
    try:
        fields, stored_hash = stored_fields(mapper, stored)
    except _UNREADABLE as exc:
        error = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raw = raw_digest(str(stored.topic), iid, str(version), _state_bytes(stored))
        return Record(iid, version, None, None, position=position, error=error, raw=raw)
    return Record(iid, version, fields, stored_hash, position=position)


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
