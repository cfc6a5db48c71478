"""Schema creation: taking turns between processes that open one database at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine.persistence.urls import StoreConfig, postgres_connect_kwargs

__all__ = ["ddl_lock"]


@contextmanager
def ddl_lock(config: StoreConfig) -> Iterator[None]:
    """Serialise table creation between processes opening one PostgreSQL database at once.

    Concurrent ``CREATE ... IF NOT EXISTS`` statements race in PostgreSQL's catalog
    ("tuple concurrently updated"); a session advisory lock held while the engine creates
    its schema and tables makes them take turns. Also creates the schema named in the URL.
    """
    if config.kind != "postgresql" or config.read_only:  # a replica: nothing is created
        yield
        return
    import psycopg
    from psycopg import sql

    env = config.env
    with psycopg.connect(**postgres_connect_kwargs(env), autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute("SELECT pg_advisory_lock(hashtext('socieux: create tables'))")
        try:
            schema = env.get("POSTGRES_SCHEMA")
            if schema:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('socieux: create tables'))")
