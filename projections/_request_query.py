"""The SQL of a ``requests`` query: its tables, filters, sort and keyset, on either dialect.

A query with an ``area`` filter reads the area links first: each link row carries its
request's sort keys (``updated_at``, ``created_at``), so "this area, newest first" walks
one index and joins only the rows of the page. Free text ``q`` of at least three
characters is looked up in a trigram index (an FTS5 table on SQLite, pg_trgm GIN indexes
on PostgreSQL) instead of scanning every title.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.commands.arguments import check_datetime, check_str
from engine.errors import InvalidArgument
from projections._util import iso

__all__ = [
    "EQUAL_FILTERS",
    "ORDERS",
    "PROBE_ABOVE",
    "TEXT_COLUMNS",
    "TRIGRAMS",
    "RequestQuery",
    "fts_phrase",
]

ORDERS: dict[str, tuple[tuple[str, bool], ...]] = {
    "updated": (("updated_at", True), ("id", False)),
    "created": (("created_at", True), ("id", False)),
    "id": (("id", False),),
}
"""Each order's sort columns (``(name, descending)``); the last is unique (keyset paging).
The area links carry the same columns, so an ``area`` query sorts on the link table."""
TEXT_COLUMNS = ("title", "institution")
"""The columns the free-text filter ``q`` searches (case-insensitive substring)."""
EQUAL_FILTERS = (
    "state",
    "country",
    "region",
    "workflow",
    "definition_hash",
    "institution",
    "institution_type",
)
"""The filters that match one column exactly."""
PROBE_ABOVE = 1000
"""With more text matches than this, a page is read in sort order (:meth:`probe_text`)."""
TRIGRAMS = 3
"""Text of at least this many characters is looked up in the trigram index; shorter text
is matched by scanning (a trigram index cannot answer it)."""


def fts_phrase(text: str) -> str:
    """``text`` as one FTS5 phrase (double quotes doubled): matched literally."""
    return '"' + text.replace('"', '""') + '"'


def _escape_like(text: str) -> str:
    """``text`` matched literally by ``LIKE ... ESCAPE '\\'`` (``%``, ``_``, ``\\`` escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class RequestQuery:
    """The parts of one query, built from the filters of ``RequestsProjection.list``."""

    requests: str
    """The requests table (qualified)."""
    areas: str
    """The area links table (qualified)."""
    text: str | None
    """The SQLite FTS5 table of titles and institutions; ``None`` on PostgreSQL."""
    now: Callable[[], datetime]
    clauses: list[str] = field(default_factory=list)
    """Conditions on the requests table (alias ``r``)."""
    params: list[Any] = field(default_factory=list)
    area: str | None = None
    counts: str | None = None
    """The table of matches per (filter, value), kept by the projection."""
    equal: list[tuple[str, str]] = field(default_factory=list)
    """The equality filters among ``clauses`` (column, value)."""
    text_clause: int | None = None
    """Where the text-table lookup is in ``clauses`` (``None``: no lookup)."""
    text_match: tuple[str, list[Any]] = ("", [])
    """The text table's condition and its parameters."""

    @classmethod
    def build(
        cls,
        filters: dict[str, Any],
        *,
        requests: str,
        areas: str,
        text: str | None,
        now: Callable[[], datetime],
        counts: str | None = None,
    ) -> RequestQuery:
        """Check and translate ``filters`` (a copy: it is emptied); unknown ones refused."""
        q = cls(requests, areas, text, now, counts=counts)
        for col in EQUAL_FILTERS:
            value = filters.pop(col, None)
            if value is not None:
                check_str(col, value)
                q.add(f"r.{col} = ?", value)
                q.equal.append((col, value))
        area = filters.pop("area", None)
        if area is not None:
            q.area = check_str("area", area)
        for name, op in (("since", ">="), ("until", "<")):
            at = filters.pop(name, None)
            if at is not None:
                q.add(f"r.updated_at {op} ?", iso(check_datetime(name, at)))
        search = filters.pop("q", None)
        if search is not None:
            q.search(check_str("q", search))
        overdue = filters.pop("overdue", None)
        if overdue is not None:
            if not isinstance(overdue, bool):
                raise InvalidArgument("overdue must be True or False")
            at = iso(filters.pop("now", None) or now())
            test = "r.final = 0 AND r.due_at IS NOT NULL AND r.due_at < ?"
            q.add(test if overdue else f"NOT ({test})", at)
        filters.pop("now", None)
        if filters:
            raise InvalidArgument(f"unknown filter(s): {', '.join(sorted(filters))}")
        return q

    def add(self, clause: str, *params: Any) -> None:
        """One more condition (combined with AND)."""
        self.clauses.append(clause)
        self.params.extend(params)

    def search(self, text: str) -> None:
        """``q``: a case-insensitive substring of the title or the institution."""
        pattern = "%" + _escape_like(text) + "%"
        if self.text is None:
            tests = [f"lower(r.{c}) LIKE lower(?) ESCAPE '\\'" for c in TEXT_COLUMNS]
            self.add("(" + " OR ".join(tests) + ")", *([pattern] * len(TEXT_COLUMNS)))
            return
        self.text_clause = len(self.clauses)
        if len(text) >= TRIGRAMS:
            # FTS5's trigram tokenizer folds case as PostgreSQL's lower() does (not only
            # ASCII, as SQLite's lower() and LIKE do): the same rows on both dialects.
            self.text_match = (f"{self.text} MATCH ?", [fts_phrase(text)])
        else:  # too short for trigrams: scan the text table (narrow), not the requests
            tests = [f"{c} LIKE ? ESCAPE '\\'" for c in TEXT_COLUMNS]
            self.text_match = (" OR ".join(tests), [pattern] * len(TEXT_COLUMNS))
        match, params = self.text_match
        self.add(f"r.rowid IN (SELECT rowid FROM {self.text} WHERE {match})", *params)

    def probe_text(self) -> None:
        """Read the page in sort order, testing each row against the text matches (once
        many rows match, that finds a page sooner than sorting every match)."""
        if self.text_clause is not None:
            self.clauses[self.text_clause] = "+" + self.clauses[self.text_clause]

    # ------------------------------------------------------------------ SQL parts
    @property
    def sort_alias(self) -> str:
        """The table the sort keys are read from: the area links for an ``area`` query."""
        return "x" if self.area is not None else "r"

    def order(self, name: str) -> list[tuple[str, bool]]:
        """The qualified sort columns of order ``name``."""
        return [(f"{self.sort_alias}.{c}", desc) for c, desc in ORDERS[name]]

    def tables(self) -> str:
        """The ``FROM`` list of the matching rows."""
        if self.area is None:
            return f"{self.requests} AS r"
        return f"{self.areas} AS x JOIN {self.requests} AS r ON r.id = x.id"

    def _counted(self) -> tuple[str, str | None] | None:
        """(dimension, value) when the count is one row of the counts table: no filter
        (every request has a state: ``("state", None)``), one equality filter, or the
        area alone; ``None`` otherwise."""
        if not self.clauses:
            return ("state", None) if self.area is None else ("area", self.area)
        if self.area is None and len(self.clauses) == 1 and len(self.equal) == 1:
            return self.equal[0]
        return None

    def where(self) -> tuple[str, list[Any]]:
        """``""`` or `` WHERE ...`` of the matching rows, and its parameters."""
        clauses, params = list(self.clauses), list(self.params)
        if self.area is not None:
            clauses.insert(0, "x.area = ?")
            params.insert(0, self.area)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def count(self) -> tuple[str, list[Any]]:
        """``SELECT COUNT(*) AS n ...`` of the matching rows (without the join when the
        area is the only filter, from the counts table when one filter or none is
        given), and its parameters."""
        counted = self._counted()
        if counted is not None and self.counts is not None:
            dim, value = counted
            sql = f"SELECT COALESCE(SUM(n), 0) AS n FROM {self.counts} WHERE dim = ?"
            return (sql, [dim]) if value is None else (f"{sql} AND value = ?", [dim, value])
        if self.area is not None and not self.clauses:
            return f"SELECT COUNT(*) AS n FROM {self.areas} AS x WHERE x.area = ?", [self.area]
        if self.text is not None and self.text_clause is not None:
            if self.area is None and len(self.clauses) == 1:
                match, params = self.text_match
                return f"SELECT COUNT(*) AS n FROM {self.text} WHERE {match}", list(params)
            # With other filters: their index finds the rows, each tested against the
            # matches (no row of the table is read to count).
            probing = RequestQuery(self.requests, self.areas, self.text, self.now)
            probing.clauses, probing.params = list(self.clauses), list(self.params)
            probing.area, probing.text_clause = self.area, self.text_clause
            probing.text_match = self.text_match
            probing.probe_text()
            where, params = probing.where()
            return f"SELECT COUNT(*) AS n FROM {probing.tables()}{where}", params
        where, params = self.where()
        return f"SELECT COUNT(*) AS n FROM {self.tables()}{where}", params
