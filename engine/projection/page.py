"""One page of a list query: the rows, how many match in all, and the cursor to the next page.

A :class:`Page` is a ``list`` of its rows (``len``, iteration, indexing and ``==`` with a
list work as they always did) with two attributes: ``total`` (every row matching the
filters, not only this page's) and ``next_cursor`` (``None`` on the last page). Pass the
cursor back as ``cursor=`` with the same filters and order to get the next page.

A cursor is opaque text: a keyset (the last row's sort key and id, tied to the query that
made it), so a deep page costs one index seek, not a scan of every row before it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from engine.errors import InvalidArgument

__all__ = ["Page", "as_page", "decode_cursor", "encode_cursor"]

T = TypeVar("T")
Key = str | int
MAX_CURSOR = 2000
"""The longest cursor text accepted (a keyset is a few dozen characters)."""


class Page(list[T], Generic[T]):
    """The rows of one page (a ``list``), with ``total`` and ``next_cursor``."""

    total: int
    next_cursor: str | None

    def __init__(
        self, items: Iterable[T] = (), *, total: int | None = None, next_cursor: str | None = None
    ) -> None:
        super().__init__(items)
        self.total = len(self) if total is None else total
        self.next_cursor = next_cursor

    def __repr__(self) -> str:
        return f"Page({list.__repr__(self)}, total={self.total}, next_cursor={self.next_cursor!r})"


def encode_cursor(query: str, key: Sequence[Key]) -> str:
    """An opaque cursor for the row after ``key`` in the query named ``query``."""
    text = json.dumps([query, list(key)], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: object, query: str, size: int) -> list[Key]:
    """The keyset in ``cursor``; ``InvalidArgument`` unless it is one this ``query`` made."""
    bad = InvalidArgument(
        "cursor is not one this query returned (pass next_cursor back unchanged, with the "
        "same filters and order)",
        argument="cursor",
    )
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_by, key = json.loads(raw.decode())
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise bad from None
    if made_by != query or not isinstance(key, list) or len(key) != size:
        raise bad
    if not all(isinstance(k, str | int) and not isinstance(k, bool) for k in key):
        raise bad
    return key


def as_page(rows: Sequence[T]) -> Page[T]:
    """``rows`` as a :class:`Page`: itself if it is one; else all of it (a projection that
    returns a plain list gives no cursor, and its length is the total it knows)."""
    return rows if isinstance(rows, Page) else Page(rows)
