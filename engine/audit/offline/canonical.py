"""Canonical JSON and sha256, as the engine hashes events: the auditor's own copy.

The engine's :mod:`engine.instance.hashing` is the writer's side; this module is the
reader's, kept apart on purpose so that the offline verifier stays a folder an auditor can
copy and read without the engine. A test proves the two agree on every kind of value.

An event names its canonical form in its (hashed) ``hash_format`` field: absent (format 1)
means ``json.dumps`` with sorted keys and no whitespace; 2 means RFC 8785 (JCS): keys in
UTF-16 code-unit order, numbers as ECMAScript prints them, strings with the JSON escapes
of ``JSON.stringify``. Both are sha256 over the UTF-8 text.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "GENESIS_HASH",
    "canonical_json",
    "es_number",
    "event_digest",
    "hash_fields",
    "jcs",
    "jcs_tree",
    "plain_text",
]

GENESIS_HASH = "0" * 64
"""``prev_hash`` of every instance's first event."""
MAX_SAFE_INTEGER = 2**53


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII kept as UTF-8 (exports hold only JSON values)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hash_fields(fields: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON (format 1) of ``fields``."""
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def es_number(x: float) -> str:
    """A finite double as ECMAScript prints it (RFC 8785 section 3.2.2.3)."""
    if not math.isfinite(x):
        msg = f"{x} is not a JSON number (RFC 8785 forbids NaN and Infinity)"
        raise ValueError(msg)
    if x == 0:
        return "0"
    mantissa, _, exp = repr(abs(x)).partition("e")  # Python's repr: the shortest digits
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    stripped = digits.rstrip("0")
    n = len(digits) + (int(exp) if exp else 0) - len(frac)  # value = 0.<stripped> * 10**n
    k = len(stripped)
    sign = "-" if x < 0 else ""
    if k <= n <= 21:
        return sign + stripped + "0" * (n - k)
    if 0 < n <= 21:
        return f"{sign}{stripped[:n]}.{stripped[n:]}"
    if -6 < n <= 0:
        return f"{sign}0.{'0' * -n}{stripped}"
    head = stripped if k == 1 else f"{stripped[0]}.{stripped[1:]}"
    return f"{sign}{head}e{'+' if n > 0 else '-'}{abs(n - 1)}"


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_PLAIN = re.compile(r"\d[.eE]|\d{16}|Infinity|NaN")


def plain_text(text: str) -> bool:
    """Whether ``json.dumps``'s compact, sorted text of a JSON value is already its RFC 8785
    form: no character at or above U+D800 (code-point and UTF-16 key orders then agree) and,
    outside strings, no number but integers of at most 15 digits."""
    if not text.isascii() and max(text) >= "\ud800":
        return False
    outside = text.split('"')[::2] if '\\"' not in text else _STRING.split(text)
    return _NOT_PLAIN.search("".join(outside)) is None


def jcs(obj: Any) -> str:
    """The RFC 8785 canonical JSON of a JSON value (``ValueError`` if it has none): the
    ``json.dumps`` text when :func:`plain_text` says it is canonical, else member by member."""
    try:
        text = canonical_json(obj)
    except (TypeError, ValueError):
        return jcs_tree(obj)
    return text if plain_text(text) else jcs_tree(obj)


def jcs_tree(obj: Any) -> str:
    """RFC 8785, member by member (``ValueError`` if the value has no canonical form)."""
    if obj is None or isinstance(obj, bool):
        return "null" if obj is None else "true" if obj else "false"
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, int):
        if abs(obj) > MAX_SAFE_INTEGER:
            msg = f"integer {obj} is beyond 2**53: not exact in RFC 8785 JSON"
            raise ValueError(msg)
        return str(obj)
    if isinstance(obj, float):
        return es_number(obj)
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            msg = "an object key is not a string"
            raise ValueError(msg)
        keys = sorted(obj, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(f"{jcs_tree(k)}:{jcs_tree(obj[k])}" for k in keys) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(jcs_tree(v) for v in obj) + "]"
    msg = f"not a JSON value: {type(obj).__name__}"
    raise ValueError(msg)


def event_digest(fields: Mapping[str, Any]) -> str:
    """The hash of an event's hashed fields in the format they name: RFC 8785 when
    ``hash_format`` is 2, format 1 otherwise (an unknown format then fails to match).
    ``ValueError`` when format 2 text cannot be canonicalised (NaN, huge integers, lone
    surrogates)."""
    fmt = fields.get("hash_format")
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt == 2:
        return hashlib.sha256(jcs(dict(fields)).encode("utf-8")).hexdigest()
    return hash_fields(fields)
