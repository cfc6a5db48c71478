"""Checking the façade's arguments in one way: a wrong type or value is ``InvalidArgument``.

Python does not check annotations at run time, so ``get(id, version=2**63)``,
``fire(..., reason=42)`` or ``subscribe(triggers="approve")`` would otherwise fail deep
inside (``OverflowError``, ``TypeError``, a set of letters) or, worse, be accepted. Every
public method of :class:`engine.Engine` passes its arguments through these checks first;
they cost a few ``isinstance`` calls, so the command path stays fast.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from engine.errors import InvalidArgument
from engine.instance.hashing import storable_text

__all__ = [
    "INT64_MAX",
    "check_callable",
    "check_datetime",
    "check_id",
    "check_int",
    "check_keys",
    "check_mapping",
    "check_number",
    "check_path",
    "check_str",
    "check_strings",
]

INT64_MAX = 2**63 - 1
T = TypeVar("T")


def _bad(name: str, expected: str, value: object) -> InvalidArgument:
    return InvalidArgument(f"{name} must be {expected}, not {type(value).__name__}", argument=name)


def check_int(name: str, value: object, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """An ``int`` (not a ``bool``) between ``minimum`` and ``maximum`` (64-bit by default)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(name, "a whole number", value)
    if not minimum <= value <= maximum:
        raise InvalidArgument(f"{name} must be between {minimum} and {maximum}", argument=name)
    return value


def check_number(
    name: str,
    value: object,
    *,
    minimum: float = 0.0,
    maximum: float = math.inf,
    positive: bool = False,
) -> float:
    """A finite ``int`` or ``float`` at least ``minimum`` (above it with ``positive``) and at
    most ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(name, "a number", value)
    number = float(value)
    if not math.isfinite(number) or number < minimum or (positive and number <= minimum):
        relation = "greater than" if positive else "at least"
        raise InvalidArgument(f"{name} must be a finite number {relation} {minimum}", argument=name)
    if number > maximum:
        raise InvalidArgument(f"{name} must be at most {maximum}", argument=name)
    return number


def check_str(name: str, value: object, *, max_length: int = 200, empty: bool = False) -> str:
    """Storable text (no NUL, no lone surrogate) of at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise _bad(name, "a string", value)
    if not empty and not value.strip():
        raise InvalidArgument(f"{name} must not be empty", argument=name)
    if len(value) > max_length:
        raise InvalidArgument(f"{name} must be at most {max_length} characters", argument=name)
    if not storable_text(value):
        raise InvalidArgument(f"{name} must be valid Unicode text without NUL", argument=name)
    return value


def check_strings(name: str, value: object, *, known: Iterable[str] | None = None) -> list[str]:
    """An iterable of strings (a lone string is refused: it would be a set of letters),
    each one of ``known`` when given."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise _bad(name, "a list of strings", value)
    items = [check_str(name, v) for v in value]
    if known is not None:
        allowed = set(known)
        unknown = sorted(set(items) - allowed)
        if unknown:
            listed = ", ".join(sorted(allowed)) or "none"
            raise InvalidArgument(
                f"{name}: unknown {', '.join(map(repr, unknown))} (known: {listed})",
                argument=name,
            )
    return items


def check_id(name: str, value: object) -> UUID | str:
    """An instance id: a ``UUID`` or a (short) id string."""
    if isinstance(value, UUID):
        return value
    return check_str(name, value, max_length=64)


def check_datetime(name: str, value: object) -> datetime:
    """A timezone-aware ``datetime``."""
    if not isinstance(value, datetime):
        raise _bad(name, "a datetime", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgument(f"{name} must be timezone-aware", argument=name)
    return value


def check_mapping(name: str, value: object) -> Mapping[str, Any] | None:
    """``None`` or a mapping (JSON object) with string keys."""
    if value is None:
        return None
    if type(value) is dict and _STR.issuperset(map(type, value)):  # the common case, in C
        return value
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _bad(name, "a mapping with string keys", value)
    return value


_STR = frozenset({str})


def check_path(name: str, value: object, *, raw: bool = False) -> str | os.PathLike[str] | bytes:
    """A filesystem path (``str`` or ``os.PathLike``), or raw ``bytes`` where ``raw``."""
    if raw and isinstance(value, bytes):
        return value
    if isinstance(value, os.PathLike):
        return value
    return check_str(name, value, max_length=4096)


def check_callable(name: str, value: T) -> T:
    """Anything callable."""
    if not callable(value):
        raise _bad(name, "callable", value)
    return value


def check_keys(name: str, given: Mapping[str, object], call: Callable[..., object]) -> None:
    """Refuse keyword arguments that ``call`` does not take (``InvalidArgument``)."""
    import inspect

    try:
        inspect.signature(call).bind(**given)
    except TypeError as exc:
        raise InvalidArgument(f"{name}: {exc}", argument=name) from None
