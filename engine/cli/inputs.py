"""Parsing CLI inputs: ``--as ROLE:ACTOR``, ``--data FILE|-`` and times."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import InvalidArgument

if TYPE_CHECKING:
    from engine.instance.views import Actor

__all__ = ["parse_actor", "parse_time", "read_data"]

MAX_INPUT_BYTES = 5_000_000


def parse_actor(text: str) -> Actor:
    """``ROLE:ACTOR`` to an :class:`Actor` (``InvalidArgument`` if malformed)."""
    from engine.instance.views import Actor

    try:
        return Actor.parse(text)
    except ValueError as exc:
        raise InvalidArgument(f"--as: {exc}") from None


def read_data(source: str | None) -> dict[str, Any]:
    """Read a JSON object from a file path or ``-`` (stdin); nothing gives ``{}``."""
    if source is None:
        return {}
    try:
        raw = (
            sys.stdin.read(MAX_INPUT_BYTES + 1)
            if source == "-"
            else Path(source).read_text(encoding="utf-8")
        )
    except OSError as exc:
        raise InvalidArgument(f"cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:  # a binary file, or another encoding than UTF-8
        where = "stdin" if source == "-" else source
        raise InvalidArgument(
            f"{where} is not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None
    if len(raw) > MAX_INPUT_BYTES:
        raise InvalidArgument(f"input is larger than {MAX_INPUT_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidArgument(f"invalid JSON in {source}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"{source} must hold a JSON object, not {type(data).__name__}")
    return data


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; a naive time is taken as UTC."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"not an ISO 8601 time: {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
