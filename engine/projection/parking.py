"""Events a projection could not apply: parked, reported, never allowed to stop the others.

A projection's ``apply`` runs inside a savepoint. When a batch fails, its events are
applied one by one; each event that still fails is recorded in
``socieux_projection_parked`` (projection, position, instance, version, the error's type
and message as storable text) and skipped *for that projection only*: the other
projections, the engine's opening and every later event go on. A lost connection or a
locked database is not a bad event: it propagates (``StorageUnavailable``) and nothing is
parked. ``socieux projections rebuild NAME`` replays the log into fresh tables and clears
the projection's parked events, which repairs it once its code is fixed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from engine.errors import StorageUnavailable
from engine.instance.hashing import storable_text
from engine.logs import get_logger
from engine.persistence.sql import Cursor, SqlStore
from engine.projection.protocol import ProjectedEvent, Projection

__all__ = ["PARKED_TABLE", "ParkedProjectionEvent", "Parking"]

PARKED_TABLE = "socieux_projection_parked"
_MAX_ERROR = 2000
_COLUMNS = ("projection", "position", "instance_id", "version", "error", "parked_at")
_log = get_logger("socieux.projections")


class ParkedProjectionEvent(BaseModel):
    """An event one projection could not apply."""

    model_config = ConfigDict(frozen=True)

    projection: str
    position: int
    instance_id: str
    version: int
    error: str
    parked_at: str


def _is_storage_failure(exc: BaseException) -> bool:
    """A failure of the database, not of the event: retry later, never park."""
    if isinstance(exc, StorageUnavailable):
        return True
    return any(k.__name__ in ("OperationalError", "InterfaceError") for k in type(exc).__mro__)


def _error_text(exc: BaseException) -> str:
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # an exception whose message cannot be printed
        text = f"{type(exc).__name__}: <unprintable message>"
    if not storable_text(text):
        text = text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()
    return text[:_MAX_ERROR]


class Parking:
    """The parked-events table of one engine's read-model store."""

    def __init__(self, sql: SqlStore) -> None:
        self._sql = sql
        self._table = sql.table(PARKED_TABLE)

    def create(self, cur: Cursor) -> None:
        """Create the table (``IF NOT EXISTS``)."""
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {self._table} (projection TEXT NOT NULL, "
            "position BIGINT NOT NULL, instance_id TEXT NOT NULL, version BIGINT NOT NULL, "
            "error TEXT NOT NULL, parked_at TEXT NOT NULL, PRIMARY KEY (projection, position))"
        )

    def apply(
        self,
        cur: Cursor,
        projection: Projection,
        events: Sequence[ProjectedEvent],
        *,
        replay: bool = False,
    ) -> None:
        """Apply ``events`` (with :meth:`Projection.replay` if ``replay``: a rebuild); park
        (and skip) each one that this projection cannot apply."""
        apply = projection.replay if replay else projection.apply
        try:
            with _savepoint(cur):
                apply(cur, events)
            return
        except Exception as exc:
            if _is_storage_failure(exc):
                raise
            if len(events) == 1:
                self._park(cur, projection, events[0], exc)
                return
        for event in events:  # find the bad ones; the good ones are applied
            try:
                with _savepoint(cur):
                    apply(cur, [event])
            except Exception as exc:
                if _is_storage_failure(exc):
                    raise
                self._park(cur, projection, event, exc)

    def _park(
        self, cur: Cursor, projection: Projection, event: ProjectedEvent, exc: Exception
    ) -> None:
        _log.warning(
            "projection_event_parked", projection=projection.name, position=event.position,
            error=type(exc).__name__,
        )  # fmt: skip
        cur.execute(f"DELETE FROM {self._table} WHERE projection = ? AND position = ?",
                    (projection.name, event.position))  # fmt: skip
        cur.execute(
            f"INSERT INTO {self._table} (projection, position, instance_id, version, error, "
            "parked_at) VALUES (?, ?, ?, ?, ?, ?)",
            (projection.name, event.position, event.instance_id, event.version,
             _error_text(exc), datetime.now(UTC).isoformat()),
        )  # fmt: skip

    def counts(self, cur: Cursor) -> dict[str, int]:
        """Parked events per projection."""
        if not self._sql.has_table(cur, PARKED_TABLE):  # a read-only store made before it
            return {}
        cur.execute(f"SELECT projection, COUNT(*) AS n FROM {self._table} GROUP BY projection")
        return {str(row["projection"]): int(row["n"]) for row in cur.fetchall()}

    def list(self, name: str | None = None) -> list[ParkedProjectionEvent]:
        """Parked events (of projection ``name``, or all), in log order."""
        where, params = ("WHERE projection = ?", (name,)) if name else ("", ())
        with self._sql.read() as cur:
            if not self._sql.has_table(cur, PARKED_TABLE):
                return []
            cur.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM {self._table} {where} "
                "ORDER BY position, projection",
                params,
            )
            rows = cur.fetchall()
        return [ParkedProjectionEvent(**{k: row[k] for k in _COLUMNS}) for row in rows]

    def clear(self, cur: Cursor, names: Sequence[str]) -> None:
        """Forget the parked events of ``names`` (they are rebuilt from zero)."""
        for name in names:
            cur.execute(f"DELETE FROM {self._table} WHERE projection = ?", (name,))


_SAVEPOINTS = iter(range(1, 1 << 62))


@contextmanager
def _savepoint(cur: Cursor) -> Iterator[None]:
    name = f"socieux_sp_{next(_SAVEPOINTS)}"
    cur.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        cur.execute(f"ROLLBACK TO SAVEPOINT {name}")
        cur.execute(f"RELEASE SAVEPOINT {name}")
        raise
    cur.execute(f"RELEASE SAVEPOINT {name}")
