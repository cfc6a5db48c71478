"""Reading the lines of an export: JSON objects, events, seals, definitions (stdlib only).

Every line is parsed with a check for duplicate keys: ``{"dest":"rejected","dest":
"approved"}`` is valid JSON to Python (the last value wins) but says two things, and the
hash would be recomputed over only one of them. An event line with a duplicate key is an
unreadable event (reported as altered at its version); any other such line is altered.
"""

from __future__ import annotations

import json
from typing import Any

from .canonical import hash_fields
from .chain import Record, raw_digest
from .definition import DefinitionError, Rules
from .seal_record import Head, SealRecord

__all__ = ["Parsed", "definition_of", "event_record", "is_hex64", "is_int", "parse", "seal_of"]

_SEAL_INTS = ("seq", "position", "events", "heads_count")
_SEAL_STRS = ("running_hash", "sealed_at", "heads_hash", "previous", "seal_hash")
_SEAL_OPTIONAL = ("public_key", "signature")

Parsed = tuple[Any, list[str]]
"""A parsed line and the keys that appear more than once in one of its objects."""


def parse(text: str) -> Parsed:
    """Parse one line (``ValueError`` if it is not JSON), noting duplicate keys."""
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            seen: set[str] = set()
            for k, _ in items:
                if k in seen:
                    duplicates.append(k)
                seen.add(k)
        return obj

    try:
        return json.loads(text, object_pairs_hook=pairs), duplicates
    except RecursionError:
        msg = "nested too deeply"
        raise ValueError(msg) from None


def is_int(v: Any) -> bool:
    """An integer that is not a boolean."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_hex64(v: Any) -> bool:
    """64 lowercase hex digits (a sha256)."""
    return isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)


def event_record(obj: dict[str, Any], n: int, text: str, duplicates: list[str]) -> Record | None:
    """The record of event line ``n`` (``None`` when it does not say which event it is)."""
    event, position = obj.get("event"), obj.get("position")
    if not isinstance(event, dict) or not is_int(position):
        return None
    iid, version = event.get("originator_id"), event.get("originator_version")
    if not isinstance(iid, str) or not isinstance(version, int) or isinstance(version, bool):
        return None
    stored_id = obj.get("stored_id") if isinstance(obj.get("stored_id"), str) else None
    stored_hash = obj.get("hash")
    well_formed = all(isinstance(event.get(k), str) for k in ("topic", "timestamp"))
    if duplicates or not well_formed or not isinstance(stored_hash, str):
        why = str(obj.get("unreadable") or "the event line lacks its topic, time or hash")
        if duplicates:
            why = f"the line repeats the key(s) {', '.join(sorted(set(duplicates)))}"
        digest = obj.get("digest")
        raw = digest if is_hex64(digest) and not duplicates else raw_digest(text)
        return Record(
            iid, version, None, None, position=position, line=n, error=why, raw=raw,
            stored_id=stored_id,
        )  # fmt: skip
    fields = {k: v for k, v in event.items() if k != "originator_version"}
    return Record(iid, version, fields, stored_hash, position=position, line=n, stored_id=stored_id)


def seal_of(obj: dict[str, Any], n: int) -> tuple[SealRecord, list[Head]] | None:
    """The seal of seal line ``n`` and its heads (``None`` when malformed)."""
    typed = (
        all(is_int(obj.get(k)) for k in _SEAL_INTS)
        and all(isinstance(obj.get(k), str) for k in _SEAL_STRS)
        and all(obj.get(k) is None or isinstance(obj.get(k), str) for k in _SEAL_OPTIONAL)
    )
    heads = obj.get("heads")
    if not typed or not isinstance(heads, list):
        return None
    try:
        parsed = [(str(i), int(v), str(h)) for i, v, h in heads]
    except (TypeError, ValueError):
        return None
    fields = {k: obj[k] for k in (*_SEAL_INTS, *_SEAL_STRS)}
    return SealRecord(
        **fields, public_key=obj.get("public_key"), signature=obj.get("signature"), line=n
    ), parsed


def definition_of(obj: dict[str, Any]) -> tuple[str, dict[str, Any]] | str:
    """The hash and dict of a definition line, or why it cannot be trusted.

    Its hash must be the sha256 of the canonical JSON of its dict (the content hash), and
    the dict must be a definition the rules can read.
    """
    digest, definition = obj.get("hash"), obj.get("definition")
    if not isinstance(digest, str) or not is_hex64(digest) or not isinstance(definition, dict):
        return "not a well-formed definition line"
    if hash_fields(definition) != digest:
        return f"its definition no longer matches its hash {digest[:12]}…"
    try:
        Rules.from_dict(digest, definition)
    except DefinitionError as exc:
        return f"not a definition the rules can read: {exc}"
    return digest, definition
