"""Canonical JSON and the hashes of the tamper-evident chain.

An event's hash is sha256 over the canonical JSON of all its fields except ``hash`` itself,
including ``prev_hash``, the instance id, the version, the time and the topic. Two
canonical forms exist, chosen by the event's own ``hash_format`` field (itself hashed):

* **format 1** (no ``hash_format``): ``json.dumps`` with sorted keys, no whitespace, UTF-8,
  UTC ISO times (:func:`canonical_json`). Every event written before format 2 uses it.
* **format 2**: RFC 8785, the JSON Canonicalization Scheme (:func:`jcs`): keys sorted by
  UTF-16 code units, numbers as ECMAScript prints them, so any language can recompute it.

Auditors can recompute either from an export with nothing but the standard library
(:mod:`engine.audit.offline.canonical` is the reader's copy).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any
from uuid import UUID

__all__ = [
    "GENESIS_HASH",
    "HASH_FORMATS",
    "MAX_SAFE_INTEGER",
    "canonical_json",
    "es_number",
    "event_fields_hash",
    "event_hash",
    "hash_fields",
    "jcs",
    "jcs_hash",
    "jcs_tree",
    "plain_text",
    "storable_text",
    "utc_iso",
]

GENESIS_HASH = "0" * 64
"""``prev_hash`` of every instance's first event."""
HASH_FORMATS = (1, 2)
"""The hash formats an event may name (``hash_format``; absent means 1)."""
MAX_SAFE_INTEGER = 2**53
"""The largest magnitude of an integer format 2 accepts (exact as an IEEE double)."""


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


_SORTED = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
)
"""What ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
default=_default)`` builds on every call, built once (an encoder keeps no state)."""


_C_SORTED = (
    None
    if c_make_encoder is None
    else c_make_encoder(None, _default, encode_basestring, None, ":", ",", True, False, True)
)
"""``_SORTED``'s C encoder built once, without its check for circular references (the
check's bookkeeping and the per-call set-up are most of a small event's encoding): a
cycle then ends in ``RecursionError``, on which :func:`_sorted_text` asks ``_SORTED``
itself, so the errors are ``json.dumps``'s."""


def _sorted_text(obj: Any) -> str:
    """``_SORTED.encode(obj)``, faster: the same text, the same errors."""
    if _C_SORTED is None or isinstance(obj, str):  # pragma: no cover - CPython has _json
        return _SORTED.encode(obj)
    try:
        return "".join(_C_SORTED(obj, 0))
    except RecursionError:  # a cycle (or a value nested too deep): json.dumps's own error
        return _SORTED.encode(obj)


def canonical_json(obj: Any) -> str:
    """Hash format 1: sorted keys, no whitespace, non-ASCII kept as UTF-8."""
    return _sorted_text(obj)


def hash_fields(fields: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON (format 1) of ``fields``."""
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def es_number(x: float) -> str:
    """A finite double as ECMAScript's ``Number.prototype.toString`` prints it (RFC 8785
    section 3.2.2.3); ``ValueError`` for NaN and the infinities."""
    if not math.isfinite(x):
        msg = f"{x} is not a JSON number (RFC 8785 forbids NaN and Infinity)"
        raise ValueError(msg)
    if x == 0:
        return "0"
    mantissa, _, exp = repr(abs(x)).partition("e")  # repr: the shortest round-trip digits
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    point = (int(exp) if exp else 0) - len(frac)  # value = int(digits) * 10**point
    stripped = digits.rstrip("0")
    point += len(digits) - len(stripped)
    k, n = len(stripped), len(stripped) + point  # value = 0.<stripped> * 10**n
    sign = "-" if x < 0 else ""
    if k <= n <= 21:
        return sign + stripped + "0" * (n - k)
    if 0 < n <= 21:
        return f"{sign}{stripped[:n]}.{stripped[n:]}"
    if -6 < n <= 0:
        return f"{sign}0.{'0' * -n}{stripped}"
    e = f"{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    head = stripped if k == 1 else f"{stripped[0]}.{stripped[1:]}"
    return f"{sign}{head}e{e}"


def _jcs_key(item: tuple[str, Any]) -> bytes:
    return item[0].encode("utf-16-be", "surrogatepass")  # UTF-16 code-unit order


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
"""A JSON string literal, escapes included."""
_NOT_PLAIN = re.compile(r"\d[.eE]|\d{16}|Infinity|NaN")
"""Outside strings: a number that is not an integer of at most 15 digits."""
_MAYBE_NOT_PLAIN = str.maketrans(dict.fromkeys("0123456789", "0") | dict.fromkeys(".EIN", "!"))
"""Digits to ``0``; the point, ``E`` and the first letters of ``Infinity`` and ``NaN`` to
``!``: what :func:`_surely_plain` looks for with ``in`` instead of a regular expression."""


def _surely_plain(outside: str) -> bool:
    """True only if ``_NOT_PLAIN`` finds nothing in ``outside`` (JSON text outside its
    strings), by string searches, several times cheaper than the expression's scan: no
    point, ``E``, ``I`` or ``N``, no run of 16 digits, and no ``e`` but in ``true`` and
    ``false`` (``False`` means "ask the expression")."""
    marked = outside.translate(_MAYBE_NOT_PLAIN)
    if "!" in marked or "0000000000000000" in marked:
        return False
    return "e" not in marked.replace("true", "").replace("false", "")


def plain_text(text: str) -> bool:
    """Whether ``json.dumps``'s compact, sorted text of JSON data is already its RFC 8785
    form: no character at or above U+D800 (so code-point and UTF-16 key orders agree) and
    no number but integers of at most 15 digits (floats are where the two forms differ).
    Strings are escaped alike by both."""
    if not text.isascii() and max(text) >= "\ud800":
        return False
    outside = "".join(text.split('"')[::2] if '\\"' not in text else _STRING.split(text))
    return _surely_plain(outside) or _NOT_PLAIN.search(outside) is None


_OUTSIDE_STRINGS = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")')
"""Splits JSON text into the parts outside string literals (even) and the literals (odd)."""
_NOT_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+|(?=[eE]))(?:[eE][+-]?\d+)?|-?\d{16,}|-?Infinity|NaN")
"""Outside strings: a float (or NaN, an infinity) or an integer of 16 digits or more."""


def _es_token(match: re.Match[str]) -> str:
    token = match.group()
    if token[-1].isdigit() and not any(c in token for c in ".eE"):  # a long integer
        if abs(int(token)) > MAX_SAFE_INTEGER:
            msg = f"integer {token} is beyond 2**53: not exact in RFC 8785 JSON"
            raise ValueError(msg)
        return token
    return es_number(float(token))  # repr round-trips: float(token) is the value itself


def _numbers_rewritten(text: str) -> str:
    """``json.dumps``'s sorted text with every number outside strings as RFC 8785 prints
    it (keys must already sort alike in code points and UTF-16: no character >= U+D800)."""
    parts = _OUTSIDE_STRINGS.split(text)
    for i in range(0, len(parts), 2):
        if _NOT_PLAIN.search(parts[i]):
            parts[i] = _NOT_PLAIN_NUMBER.sub(_es_token, parts[i])
    return "".join(parts)


def jcs(obj: Any) -> str:
    """Hash format 2: the RFC 8785 canonical JSON of ``obj`` (times and UUIDs as strings).

    ``ValueError`` for NaN, Infinity and integers beyond 2**53 in magnitude; ``TypeError``
    for a value JSON cannot hold (or an object key that is not a string). Object keys are
    strings in every event (payloads and guard inputs are dumped as JSON data), and then
    ``json.dumps`` (C speed) gives the canonical text whenever :func:`plain_text` says so.
    When only its numbers differ (floats, long integers), they are rewritten in place;
    with characters at or above U+D800 (where key orders differ) the value is
    canonicalised member by member.
    """
    text = _sorted_text(obj)
    if plain_text(text):
        return text
    if text.isascii() or max(text) < "\ud800":
        return _numbers_rewritten(text)
    return jcs_tree(obj)


def jcs_tree(obj: Any) -> str:
    """RFC 8785, member by member: what :func:`jcs` falls back to (and is tested against)."""
    if isinstance(obj, datetime | UUID):
        obj = _default(obj)
    if obj is None or isinstance(obj, bool | str):
        return json.dumps(obj, ensure_ascii=False)  # the escapes RFC 8785 prescribes
    if isinstance(obj, int):
        if abs(obj) > MAX_SAFE_INTEGER:
            msg = f"integer {obj} is beyond 2**53: not exact in RFC 8785 JSON"
            raise ValueError(msg)
        return str(obj)
    if isinstance(obj, float):
        return es_number(obj)
    if isinstance(obj, Mapping):
        for key in obj:
            if not isinstance(key, str):
                msg = f"object key {key!r} is not a string"
                raise TypeError(msg)
        members = sorted(obj.items(), key=_jcs_key)
        return "{" + ",".join(f"{jcs_tree(k)}:{jcs_tree(v)}" for k, v in members) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(jcs_tree(v) for v in obj) + "]"
    msg = f"not JSON-serialisable in canonical form: {type(obj).__name__}"
    raise TypeError(msg)


def jcs_hash(fields: Mapping[str, Any]) -> str:
    """sha256 hex of the RFC 8785 canonical JSON of ``fields`` (UTF-8; ``ValueError`` for
    text with a lone surrogate)."""
    return hashlib.sha256(jcs(fields).encode("utf-8")).hexdigest()


def event_fields_hash(fields: Mapping[str, Any]) -> str:
    """The hash of an event's hashed fields, in the format they name (``hash_format``)."""
    fmt = fields.get("hash_format", 1)
    if isinstance(fmt, bool) or fmt not in HASH_FORMATS:
        msg = f"unknown hash_format {fmt!r} (known: {', '.join(map(str, HASH_FORMATS))})"
        raise ValueError(msg)
    return jcs_hash(fields) if fmt == 2 else hash_fields(fields)


def event_hash(
    *,
    topic: str,
    originator_id: UUID,
    originator_version: int,
    timestamp: datetime,
    body: Mapping[str, Any],
) -> str:
    """The hash of one event: its envelope plus its body (which holds ``prev_hash``), in
    the format ``body["hash_format"]`` names (1 when absent)."""
    fields = dict(body)
    fields.pop("hash", None)
    fields.update(
        topic=topic,
        originator_id=str(originator_id),
        originator_version=originator_version,
        timestamp=utc_iso(timestamp),
    )
    return event_fields_hash(fields)
