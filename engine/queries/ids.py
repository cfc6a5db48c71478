"""Short ids, git-style: the instance whose id starts with a prefix, found in the event store.

No read model is involved, so a prefix resolves in every projection mode (a ``worker``
engine resolves an instance it has just started, before any projection saw it). The
lookup is one range scan of the event table's primary key ``(originator_id,
originator_version)``: a prefix ``3f2a`` is the id range ``3f2a0000-...`` to
``3f2affff-...``, taken at version 1 and the start topic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresApplicationRecorder

from engine.errors import InstanceNotFound, InvalidArgument
from engine.instance.aggregate import STARTED_TOPIC

__all__ = ["MIN_PREFIX", "id_range", "instance_ids", "matching_ids", "resolve_prefix"]

MIN_PREFIX = 4
_HEX = frozenset("0123456789abcdef")
_SHOWN = 10


def id_range(prefix: str) -> tuple[UUID, UUID] | None:
    """The lowest and highest id starting with ``prefix`` (hyphens where ids have them),
    or ``None`` when no id could start so."""
    digits = prefix.replace("-", "")
    if not digits or len(digits) > 32 or not set(digits) <= _HEX:
        return None
    low, high = UUID(digits.ljust(32, "0")), UUID(digits.ljust(32, "f"))
    if not str(low).startswith(prefix):  # a hyphen where ids have none
        return None
    return low, high


def instance_ids(
    recorder: ApplicationRecorder, *, batch: int = 1000, skip: frozenset[bytes] = frozenset()
) -> Iterator[UUID]:
    """Every instance id in creation order: a scan of the log's start events (those whose
    stored state names one of the ``skip`` definition hashes left out)."""
    start: int | None = None
    while True:
        page = recorder.select_notifications(
            start, batch, topics=[STARTED_TOPIC], inclusive_of_start=False
        )
        for n in page:
            if skip and any(h in n.state for h in skip):
                continue
            yield UUID(str(n.originator_id))
        if len(page) < batch:
            return
        start = page[-1].id


def matching_ids(recorder: ApplicationRecorder, low: UUID, high: UUID, limit: int) -> list[UUID]:
    """Instance ids between ``low`` and ``high`` (inclusive), at most ``limit`` of them."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite_ids(recorder, low, high, limit)
    if isinstance(recorder, POPOApplicationRecorder):  # in memory: a scan is the index
        return [i for i in instance_ids(recorder) if low <= i <= high][:limit]
    from eventsourcing.postgres import PostgresApplicationRecorder  # psycopg: only if used

    if isinstance(recorder, PostgresApplicationRecorder):
        return _postgres_ids(recorder, low, high, limit)
    msg = f"no id lookup for {type(recorder).__name__}"
    raise TypeError(msg)


def _sqlite_ids(
    recorder: SQLiteApplicationRecorder, low: UUID, high: UUID, limit: int
) -> list[UUID]:
    # eventsourcing stores SQLite ids as 32 hex digits (UUID.hex); the table name is ours.
    statement = (
        f"SELECT originator_id FROM {recorder.events_table_name} "
        "WHERE originator_id BETWEEN ? AND ? AND originator_version = 1 AND topic = ? "
        "ORDER BY originator_id LIMIT ?"
    )
    with recorder.datastore.transaction(commit=False) as cur:
        cur.execute(statement, (low.hex, high.hex, STARTED_TOPIC, limit))
        return [UUID(str(row[0])) for row in cur.fetchall()]


def _postgres_ids(
    recorder: PostgresApplicationRecorder, low: UUID, high: UUID, limit: int
) -> list[UUID]:
    from psycopg import sql

    statement = sql.SQL(
        "SELECT originator_id FROM {schema}.{table} "
        "WHERE originator_id BETWEEN %s AND %s AND originator_version = 1 AND topic = %s "
        "ORDER BY originator_id LIMIT %s"
    ).format(
        schema=sql.Identifier(recorder.datastore.schema),
        table=sql.Identifier(recorder.events_table_name),
    )
    with recorder.datastore.transaction(commit=False) as cur:
        cur.execute(statement, (low, high, STARTED_TOPIC, limit))
        return [UUID(str(row["originator_id"])) for row in cur.fetchall()]


def resolve_prefix(recorder: ApplicationRecorder, prefix: str) -> UUID:
    """The one instance whose id starts with ``prefix`` (a whole id is taken as it is).

    ``InstanceNotFound`` when none does (or the prefix is too short or not hex);
    ``InvalidArgument`` listing the candidates when several do.
    """
    if not isinstance(prefix, str):
        raise InvalidArgument(
            f"an instance id must be a UUID or a string, not {type(prefix).__name__}"
        )
    text = prefix.strip().lower()
    try:
        return UUID(text)
    except ValueError:
        pass
    bounds = id_range(text)
    if len(text.replace("-", "")) < MIN_PREFIX or bounds is None:
        raise InstanceNotFound(prefix, f"give at least {MIN_PREFIX} hex characters of the id")
    matches = matching_ids(recorder, *bounds, limit=_SHOWN + 1)
    if not matches:
        raise InstanceNotFound(prefix)
    if len(matches) > 1:
        listed = ", ".join(str(m) for m in matches[:_SHOWN])
        more = " and more" if len(matches) > _SHOWN else ""
        raise InvalidArgument(
            f"id prefix {prefix!r} is ambiguous: {listed}{more}",
            candidates=[str(m) for m in matches],
        )
    return matches[0]
