"""The console's query parameters: read from the URL, checked, and written back into links.

Every check raises :class:`~engine.errors.InvalidArgument` with a message naming the field
and what is valid; the app turns it into a 400 page. Nothing here touches storage except
through the public façade (the known states, areas and definitions).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from engine.errors import InvalidArgument
from engine.facade import Engine

__all__ = [
    "SORTS",
    "AsOf",
    "RequestFilters",
    "parse_as_of",
    "parse_filters",
    "parse_version",
    "text_param",
]

SORTS = ("updated", "created", "id")
"""The list's orders: most recent activity, most recently submitted, or by id."""
PAGE_SIZES = (10, 25, 50, 100, 200)
"""Page sizes the form offers; any size from 1 to :data:`MAX_LIMIT` is accepted."""
MAX_LIMIT = 200
"""The largest page the console shows."""
MAX_TEXT = 200
"""The longest text a field takes."""
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def text_param(query: Mapping[str, str], name: str) -> str | None:
    """The trimmed text of ``name`` (``None`` when absent or blank); refuses control
    characters, unpaired surrogates and anything over :data:`MAX_TEXT` characters."""
    raw = query.get(name)
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise InvalidArgument(f"{name}: at most {MAX_TEXT} characters", argument=name)
    if any(unicodedata.category(c) in {"Cc", "Cs"} for c in text):
        raise InvalidArgument(f"{name}: control characters are not allowed", argument=name)
    return text


@dataclass(frozen=True)
class RequestFilters:
    """The request list's filters, order and page, as the URL holds them."""

    state: str | None = None
    country: str | None = None
    area: str | None = None
    definition: str | None = None
    q: str | None = None
    overdue: bool = False
    sort: str = "updated"
    limit: int = 50
    cursor: str | None = None

    def query(self, **changes: object) -> str:
        """The URL query string of these filters (defaults left out), with ``changes``."""
        values = {**asdict(self), **changes}
        defaults = asdict(RequestFilters())
        kept = {
            k: ("1" if v is True else v)
            for k, v in values.items()
            if v not in (None, False, "") and v != defaults[k]
        }
        return urlencode(kept)

    @property
    def active(self) -> bool:
        """Whether any filter narrows the list."""
        return any((self.state, self.country, self.area, self.definition, self.q, self.overdue))


def _choice(query: Mapping[str, str], name: str, known: list[str]) -> str | None:
    value = text_param(query, name)
    if value is not None and value not in known:
        listed = ", ".join(known) or "none yet"
        raise InvalidArgument(f"{name}: unknown {name} {value!r} (valid: {listed})", argument=name)
    return value


def _limit(query: Mapping[str, str]) -> int:
    raw = text_param(query, "limit")
    if raw is None:
        return 50
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidArgument(f"limit: a whole number from 1 to {MAX_LIMIT}", argument="limit")
    return int(raw)


def parse_filters(
    query: Mapping[str, str], *, states: list[str], areas: list[str], definitions: list[str]
) -> RequestFilters:
    """The filters of ``query``, each checked against what the store knows."""
    country = text_param(query, "country")
    if country is not None:
        country = country.upper()
        if not _COUNTRY.match(country):
            raise InvalidArgument("country: a two-letter ISO code such as KH", argument="country")
    overdue = text_param(query, "overdue")
    if overdue not in (None, "1", "on", "true", "0", "false"):
        raise InvalidArgument("overdue: 1 or 0", argument="overdue")
    sort = text_param(query, "sort") or "updated"
    if sort not in SORTS:
        raise InvalidArgument(f"sort: one of {', '.join(SORTS)}", argument="sort")
    return RequestFilters(
        state=_choice(query, "state", states),
        country=country,
        area=_choice(query, "area", areas),
        definition=_choice(query, "definition", definitions),
        q=text_param(query, "q"),
        overdue=overdue in ("1", "on", "true"),
        sort=sort,
        limit=_limit(query),
        cursor=text_param(query, "cursor"),
    )


def engine_filters(f: RequestFilters, engine: Engine) -> dict[str, object]:
    """The keyword arguments of ``engine.requests`` for ``f``."""
    chosen: dict[str, object] = {
        "state": f.state,
        "country": f.country,
        "area": f.area,
        "q": f.q,
        "overdue": True if f.overdue else None,
        "order": f.sort,
        "limit": f.limit,
        "cursor": f.cursor,
    }
    if f.definition is not None:
        name, _, version = f.definition.rpartition("@")
        chosen["definition_hash"] = engine.registry.get(name, int(version)).hash
    return {k: v for k, v in chosen.items() if v is not None}


@dataclass(frozen=True)
class AsOf:
    """Which moment of an instance to show: ``at`` a time, at ``version``, or now."""

    at: datetime | None = None
    version: int | None = None
    text: str = ""
    """The ``as_of`` field as typed (shown back in the form)."""


def parse_as_of(query: Mapping[str, str]) -> AsOf:
    """``as_of`` (a date: the end of that day, UTC; or an ISO 8601 time, naive is UTC)
    and ``version`` (a positive whole number); not both."""
    text = text_param(query, "as_of")
    version = parse_version(text_param(query, "version"))
    if text is not None and version is not None:
        raise InvalidArgument("give as_of or version, not both", argument="as_of")
    if text is None:
        return AsOf(version=version)
    try:
        if _DATE.match(text):
            at = datetime.combine(datetime.fromisoformat(text).date(), time.max, tzinfo=UTC)
        else:
            at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(
            f"as_of: not a date (YYYY-MM-DD) or an ISO 8601 time: {text!r}", argument="as_of"
        ) from None
    return AsOf(at=at if at.tzinfo else at.replace(tzinfo=UTC), text=text)


def parse_version(text: str | None) -> int | None:
    """A version number from the URL (``None`` when absent)."""
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 10**9:
        raise InvalidArgument("version: a whole number from 1", argument="version")
    return int(text)
