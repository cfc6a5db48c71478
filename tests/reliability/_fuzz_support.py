"""Hostile inputs for the reliability fuzzers: values, payloads, ids and a command tally.

The strategies here aim at the edges a parser or a store trips on: wrong types, missing
fields, huge strings, unicode (lone surrogates, NUL, right-to-left marks), ``None``,
deeply nested JSON, integers beyond 64 bits, ``nan`` and ``inf``. Valid payloads come from
the technical-assistance builders (through ``tests/property/test_ta_fuzz.py``), so a good
share of aimed commands is accepted and the fuzzers exercise the write path too.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.property.test_ta_fuzz import BY_ROLE, TABLE, TRIGGERS, valid_payload
from workflows.technical_assistance import ROLES

__all__ = [
    "BY_ROLE",
    "DOCUMENTED_EXIT",
    "HUGE",
    "TABLE",
    "TRIGGERS",
    "Tally",
    "aimed",
    "deep_json",
    "hostile",
    "hostile_text",
    "mangle",
    "sqlite_event_count",
    "valid_payload",
]

HUGE = 200_000
"""Length of the huge strings (well past every field's limit)."""

DOCUMENTED_EXIT = {
    "invalid_argument": 2,
    "invalid_payload": 2,
    "storage_unavailable": 2,
    "definition_invalid": 2,
    "transition_not_allowed": 3,
    "unknown_trigger": 3,
    "guard_rejected": 3,
    "permission_denied": 3,
    "concurrency_conflict": 4,
    "instance_not_found": 5,
    "unknown_workflow": 5,
    "integrity_violation": 6,
}
"""docs/cli.md's exit-code table: error code -> exit code (``internal`` is a bug)."""

_SPECIAL_TEXT = [
    "",
    " ",
    "\x00",
    "nul\x00inside",
    "\ud800",
    "a\udfffb",
    "\u202eevil",
    "\ufeff",
    "é" * 3,
    "👩‍👩‍👧",
    "' OR 1=1 --",
    '"; DROP TABLE stored_events; --',
    "%",
    "_",
    "\\",
    "\n\r\t",
    "null",
    "NaN",
    "-1",
    "0x10",
    "../../etc/passwd",
]

hostile_text = st.one_of(
    st.sampled_from(_SPECIAL_TEXT),
    st.text(max_size=30),
    st.text(st.characters(codec=None, categories=["Cs", "Cc", "Co", "Zs"]), min_size=1, max_size=5),
    st.sampled_from(["x", "é", "\x00", "\ud800"]).map(lambda c: c * HUGE),
)

_big_ints = st.sampled_from([2**31, 2**63, 2**64 + 1, -(2**63) - 1, 10**100, -(10**30)])
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    _big_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    hostile_text,
    st.dates().map(str),
)
hostile = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=10,
)
"""Any JSON-like value (and some that JSON cannot hold: nan, inf, surrogates)."""


def deep_json(depth: int) -> dict[str, Any]:
    """``{"a": {"a": ... 1}}`` nested ``depth`` levels."""
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value  # type: ignore[no-any-return]


def mangle(payload: dict[str, Any], how: str, pick: int, value: Any) -> Any:
    """``payload`` with one field (possibly nested) replaced, removed or made huge."""
    paths = list(_paths(payload))
    if not paths:
        return {"unexpected": value}
    path = paths[pick % len(paths)]
    copy = _copy(payload)
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if how == "missing":
        del parent[last]
    elif how == "huge":
        parent[last] = "x" * HUGE
    else:
        parent[last] = value
    return copy


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def aimed(state: str | None, choice: int) -> tuple[str, str] | None:
    """A trigger possible from ``state`` and a role allowed to fire it (or ``None``)."""
    options = sorted(k for k in TABLE if k[0] == state)
    if not options:
        return None
    key = options[choice % len(options)]
    roles = sorted(TABLE[key])
    return key[1], roles[choice // len(options) % len(roles)]


ROLE_CHOICES = [*ROLES, "stranger", "admin", "Commission", "commission ", "' OR 1=1 --"]
"""Declared roles, and look-alikes and junk."""


class Tally:
    """Counts commands across every Hypothesis example of one test."""

    def __init__(self) -> None:
        self.fuzzed = 0
        self.accepted = 0
        self.refused: Counter[str] = Counter()
        self.lost = 0

    def figures(self) -> dict[str, Any]:
        return {
            "fuzzed": self.fuzzed,
            "accepted": self.accepted,
            "refused_by_code": dict(sorted(self.refused.items())),
            "events_lost": self.lost,
        }


def sqlite_event_count(path: Path) -> int:
    """Rows in the SQLite store's event table, read with a plain sqlite3 connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
    finally:
        conn.close()
