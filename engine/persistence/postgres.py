"""eventsourcing's PostgreSQL factory, with every libpq parameter of the URL passed through.

eventsourcing builds its connection pool from a fixed set of settings (host, port, user,
password, timeouts); ``sslmode``, ``sslrootcert``, ``application_name``,
``target_session_attrs`` and the rest of libpq's parameters would be dropped silently. The
pool is created closed, so adding them to its connection arguments here takes effect on
every connection it opens.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType

from engine.persistence.urls import libpq_parameters

__all__ = ["Factory"]


class Factory(PostgresFactory):
    """``PERSISTENCE_MODULE`` for PostgreSQL URLs (see :mod:`engine.persistence.urls`)."""

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        extra = libpq_parameters(dict(self.env))
        kwargs = self.datastore.pool.kwargs
        if extra and isinstance(kwargs, dict):
            kwargs.update(extra)
