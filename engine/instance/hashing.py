"""Canonical JSON and the hashes of the tamper-evident chain.

An event's hash is sha256 over the canonical JSON (sorted keys, no whitespace, UTF-8,
UTC ISO times) of all its fields except ``hash`` itself, including ``prev_hash``, the
instance id, the version, the time and the topic. Auditors can recompute it from an
export with nothing but the standard library.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

__all__ = [
    "GENESIS_HASH",
    "canonical_json",
    "event_hash",
    "hash_fields",
    "storable_text",
    "utc_iso",
]

GENESIS_HASH = "0" * 64
"""``prev_hash`` of every instance's first event."""


def storable_text(text: str) -> bool:
    """Whether every backend can hash and store ``text``: encodable as UTF-8 (no lone
    surrogates) and without NUL, which PostgreSQL text columns cannot hold."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utc_iso(at: datetime) -> str:
    """ISO 8601 in UTC with microseconds, e.g. ``2024-01-02T03:04:05.000006+00:00``."""
    if at.tzinfo is None:
        msg = "naive datetimes are not allowed in the audit chain"
        raise ValueError(msg)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _default(obj: object) -> Any:
    if isinstance(obj, datetime):
        return utc_iso(obj)
    if isinstance(obj, UUID):
        return str(obj)
    msg = f"not JSON-serialisable in canonical form: {type(obj).__name__}"
    raise TypeError(msg)


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII kept as UTF-8."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def hash_fields(fields: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of ``fields``."""
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def event_hash(
    *,
    topic: str,
    originator_id: UUID,
    originator_version: int,
    timestamp: datetime,
    body: Mapping[str, Any],
) -> str:
    """The hash of one event: its envelope plus its body (which holds ``prev_hash``)."""
    fields = dict(body)
    fields.pop("hash", None)
    fields.update(
        topic=topic,
        originator_id=str(originator_id),
        originator_version=originator_version,
        timestamp=utc_iso(timestamp),
    )
    return hash_fields(fields)
