"""Keyset paging shared by the read models' ``list`` queries (see :class:`engine.Page`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from engine.commands.arguments import check_int
from engine.errors import InvalidArgument
from engine.projection.page import Key, Page, decode_cursor, encode_cursor
from projections._util import dumps

__all__ = ["Keyset", "query_name"]

T = TypeVar("T")


def query_name(kind: str, filters: Mapping[str, object]) -> str:
    """``kind`` plus a digest of ``filters``: a cursor only fits the query that made it."""
    text = dumps({k: v for k, v in filters.items() if v is not None})
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


class Keyset:
    """The ``WHERE`` part and the page for a sort on ``columns`` (``(name, descending)``),
    the last of which must be unique (the row's id or position). A name may be qualified
    (``x.updated_at``): the row's value is read under its last part (``updated_at``)."""

    def __init__(self, query: str, columns: Sequence[tuple[str, bool]]) -> None:
        self.query = query
        self.columns = list(columns)

    def after(self, where: str, cursor: object, offset: int) -> tuple[str, list[Any]]:
        """``where`` (``""`` or `` WHERE ...``) narrowed to the rows after ``cursor``, and
        the parameters that adds."""
        check_int("offset", offset)
        if cursor is None:
            return where, []
        if offset:
            raise InvalidArgument("give cursor or offset, not both", argument="cursor")
        key = decode_cursor(cursor, self.query, len(self.columns))
        test, params = _after(self.columns, key)
        return (f"{where} AND {test}" if where else f" WHERE {test}"), params

    @property
    def order_by(self) -> str:
        """The ``ORDER BY`` list."""
        return ", ".join(f"{c} DESC" if desc else c for c, desc in self.columns)

    def page(
        self,
        rows: Sequence[Any],
        limit: int,
        total: int,
        build: Callable[[Any], T],
    ) -> Page[T]:
        """The page of the first ``limit`` of ``rows`` (fetched with ``limit + 1``)."""
        shown = rows[:limit]
        cursor = None
        if len(rows) > limit and shown:
            last = shown[-1]
            key: list[Key] = [last[c.rpartition(".")[2]] for c, _ in self.columns]
            cursor = encode_cursor(self.query, key)
        return Page([build(r) for r in shown], total=total, next_cursor=cursor)


def _after(columns: Sequence[tuple[str, bool]], key: Sequence[Key]) -> tuple[str, list[Any]]:
    """Lexicographic "after" on ``columns``: ``a <= ? AND (a < ? OR id > ?)``, the same
    rows as ``a < ? OR (a = ? AND id > ?)``, with a range on ``a`` that an index seeks to
    (an OR at the top would make the database read every row before the cursor)."""
    (col, desc), rest = columns[0], columns[1:]
    op = "<" if desc else ">"
    if not rest:
        return f"{col} {op} ?", [key[0]]
    inner, params = _after(rest, key[1:])
    return f"({col} {op}= ? AND ({col} {op} ? OR {inner}))", [key[0], key[0], *params]
