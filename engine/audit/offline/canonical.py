"""Canonical JSON and sha256, as the engine hashes events: the auditor's own copy.

The engine's :mod:`engine.instance.hashing` is the writer's side; this module is the
reader's, kept apart on purpose so that the offline verifier stays a folder an auditor can
copy and read without the engine. A test proves the two agree on every kind of value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["GENESIS_HASH", "canonical_json", "hash_fields"]

GENESIS_HASH = "0" * 64
"""``prev_hash`` of every instance's first event."""


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII kept as UTF-8 (exports hold only JSON values)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hash_fields(fields: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of ``fields``."""
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()
