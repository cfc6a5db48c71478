"""eventsourcing's PostgreSQL factory: libpq parameters, the insert function, notifications.

* **libpq parameters.** eventsourcing builds its pool from a fixed set of settings; the
  URL's ``sslmode``, ``application_name``, ``target_session_attrs``... are added to the
  pool's connection arguments here (the pool is created closed, so every connection
  gets them).
* **The insert function** (``db_functions=on``, the default). A command's events are
  recorded by one statement, ``SELECT * FROM "schema".socieux_insert_events(...)``, in
  autocommit: one round trip, where eventsourcing's own path pipelines ``BEGIN``, ``SET
  LOCAL``, ``LOCK TABLE``, ``NOTIFY``, the insert and ``COMMIT``. The function keeps what
  that path guarantees and eventsourcing's own function (``es_insert_events_uuid``) drops:
  it takes ``LOCK TABLE ... IN EXCLUSIVE MODE`` first, so notification ids are committed
  in order and a reader tailing the log never passes over an id committed later. It
  then sends ``pg_notify`` on the store's events channel (its second argument; ``NULL``
  with ``notify=off``) with the last id (:mod:`engine.persistence.notify`). With an
  ``inline_projection`` hook the call runs in a transaction with the hook's writes. The
  function is created (or replaced, when its body differs: an older engine's database)
  each time the store opens, under the engine's DDL advisory lock
  (:mod:`engine.persistence.schema`), so concurrent opens take turns and an unchanged
  function is never rewritten.
* ``db_functions=off`` keeps eventsourcing's pipelined transaction (same lock, an
  empty notification); ``notify=off`` sends none (and nothing listens).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import (
    ApplicationRecorder,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment, EnvType, retry, strtobool
from psycopg import sql

from engine.persistence.notify import DEFAULT_FALLBACK_POLL, Wakeups, channel
from engine.persistence.urls import libpq_parameters, postgres_connect_kwargs

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import DictRow, TupleRow

__all__ = ["INSERT_FUNCTION", "EngineRecorder", "Factory"]

INSERT_FUNCTION = "socieux_insert_events"
"""The insert function's name (in the store's schema)."""
NOTIFY = "SOCIEUX_PG_NOTIFY"
FALLBACK_POLL = "SOCIEUX_PG_FALLBACK_POLL"


class _Placeholders:
    """An inline hook's cursor: its ``?`` placeholders become psycopg's ``%s``."""

    def __init__(self, cursor: psycopg.Cursor[DictRow]) -> None:
        self._cur = cursor

    def execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self._cur.execute(query.replace("?", "%s"), params)

    def executemany(self, query: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cur.executemany(query.replace("?", "%s"), params)

    def fetchall(self) -> Any:
        return self._cur.fetchall()

    def fetchone(self) -> Any:
        return self._cur.fetchone()


class EngineRecorder(PostgresApplicationRecorder):
    """eventsourcing's application recorder with the engine's insert function and channel."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        notify: bool = True,
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.notify = notify
        self.channel_name = channel(datastore.schema, "events")
        self.pg_function_name_insert_events = INSERT_FUNCTION
        self.sql_invoke_pg_function_insert_events = sql.SQL("SELECT * FROM {}.{}(%s, %s)").format(
            sql.Identifier(datastore.schema), sql.Identifier(INSERT_FUNCTION)
        )
        # eventsourcing's own function is not created: ours replaces its statement.
        del self.sql_create_statements[self.create_insert_function_statement_index]

    def _function_body(self, sequence: str) -> str:
        """The body: the same in every process (the channel is an argument, ``NULL`` with
        ``notify=off``), so processes with different settings never rewrite it."""
        table = sql.Identifier(self.datastore.schema, self.events_table_name).as_string(None)
        notify = (
            "    IF channel IS NOT NULL THEN\n"
            "        PERFORM pg_notify(channel, "
            f"currval({sql.Literal(sequence).as_string(None)}::regclass)::text);\n"
            "    END IF;\n"
        )
        return (
            "\nBEGIN\n"
            f"    SET LOCAL lock_timeout = '{int(self.datastore.lock_timeout)}s';\n"
            f"    LOCK TABLE {table} IN EXCLUSIVE MODE;\n"
            f"    RETURN QUERY INSERT INTO {table} AS t "
            "(originator_id, originator_version, topic, state)\n"
            "        SELECT originator_id, originator_version, topic, state FROM unnest(events)\n"
            "        RETURNING notification_id;\n"
            f"{notify}"
            "END;\n"
        )

    def _create_table(self, curs: psycopg.Cursor[DictRow]) -> None:
        """eventsourcing's tables, then the insert function unless it is already current."""
        super()._create_table(curs)
        schema = self.datastore.schema
        table = sql.Identifier(schema, self.events_table_name).as_string(None)
        curs.execute("SELECT pg_get_serial_sequence(%s, 'notification_id') AS s", (table,))
        row = curs.fetchone()
        if row is None or not row["s"]:
            msg = f"{table} has no notification id sequence"
            raise ProgrammingError(msg)
        body = self._function_body(str(row["s"]))
        curs.execute(
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proname = %s",
            (schema, INSERT_FUNCTION),
        )
        if [r["prosrc"] for r in curs.fetchall()] == [body]:
            return
        curs.execute(
            sql.SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{name}"
                "(events {schema}.{event}[], channel text) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS {body}"
            ).format(
                schema=sql.Identifier(schema),
                name=sql.Identifier(INSERT_FUNCTION),
                event=sql.Identifier(self.stored_event_type_name),
                body=sql.Literal(body),
            ),
            prepare=False,
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as eventsourcing
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Record ``stored_events``: by the insert function in autocommit, or in a
        transaction with an inline hook's writes (``db_functions=on``); by eventsourcing's
        pipelined transaction (``db_functions=off``)."""
        if not self.datastore.enable_db_functions or not stored_events:
            recorded: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return recorded
        hook = kwargs.get("inline_projection")
        params = (
            [
                self.construct_pg_stored_event(
                    e.originator_id, e.originator_version, e.topic, e.state
                )
                for e in stored_events
            ],
            self.channel_name if self.notify else None,
        )
        with (
            self.datastore.get_connection() as conn,
            conn.transaction() if hook is not None else nullcontext(),
            conn.cursor() as curs,
        ):
            curs.execute(self.sql_invoke_pg_function_insert_events, params, prepare=True)
            ids = [int(r[INSERT_FUNCTION]) for r in curs.fetchall()]
            if hook is not None:
                hook(_Placeholders(curs), ids)
        return ids

    def _notify_channel(self, curs: psycopg.Cursor[DictRow]) -> None:
        if self.notify:
            super()._notify_channel(curs)


class Factory(PostgresFactory):
    """``PERSISTENCE_MODULE`` for PostgreSQL URLs (see :mod:`engine.persistence.urls`)."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        settings = dict(self.env)
        extra = libpq_parameters(settings)
        kwargs = self.datastore.pool.kwargs
        if extra and isinstance(kwargs, dict):
            kwargs.update(extra)
        self.notify = strtobool(self.env.get(NOTIFY) or "yes")
        fallback = float(self.env.get(FALLBACK_POLL) or DEFAULT_FALLBACK_POLL)
        self.wakeups = Wakeups(
            self._listen_connection(settings) if self.notify else None,
            self.datastore.schema,
            fallback=fallback,
        )

    @staticmethod
    def _listen_connection(
        settings: dict[str, str],
    ) -> Callable[[], psycopg.Connection[TupleRow]]:
        """A function opening the listener's own autocommit connection."""
        connect_kwargs = postgres_connect_kwargs(settings)
        name = str(connect_kwargs.get("application_name") or "socieux")
        connect_kwargs["application_name"] = f"{name}:listen"

        def connect() -> psycopg.Connection[TupleRow]:
            import psycopg

            return psycopg.connect(**connect_kwargs, autocommit=True)  # type: ignore[arg-type]

        return connect

    def application_recorder(self) -> ApplicationRecorder:
        """The engine's recorder (insert function, per-schema channel)."""
        prefix = self.env.name.lower() or "stored"
        recorder = EngineRecorder(
            self.datastore, events_table_name=prefix + "_events", notify=self.notify
        )
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def close(self) -> None:
        """Stop the listener, then close the pool."""
        self.wakeups.close()
        super().close()
