"""An engine on a PostgreSQL primary with streaming replicas: commands on the primary,
reads on a replica (``Engine.open(primary, replicas=[...])``).

Each replica gets a read-only engine of its own (its own connection pool, its own copies of
the projections, reading the tables the primary's projections write and PostgreSQL
replicates). Reads take the replicas in turn. A read sees what its replica has replayed;
with read-your-writes (``read_your_writes=True`` at open, or inside
:meth:`ReplicatedEngine.read_your_writes`) a read first waits until the replica has
replayed the primary's WAL position taken after this engine's last command, or raises
``ReplicaLag`` after the timeout. The wait is skipped while this engine has written nothing
since the replica was last seen caught up.

Projections are written on the primary only: in ``catchup`` mode a projection read first
catches them up there; in ``worker`` mode ``socieux projections run`` does it.
See ``docs/deployment.md``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar, overload

from pydantic import BaseModel

from engine.bootstrap import EngineParts, build_from
from engine.commands.clock import Clock
from engine.definition.model import WorkflowDefinition
from engine.errors import InvalidArgument
from engine.facade import MAX_WAIT, Engine
from engine.persistence.replicas import (
    check_replica,
    identity,
    primary_lsn,
    replica_config,
    wait_replayed,
)
from engine.persistence.store import translate_errors
from engine.projection.page import Page
from engine.projection.protocol import Projection

__all__ = ["ReplicatedEngine", "open_replicated"]

Q = ParamSpec("Q")
T = TypeVar("T")
PR = TypeVar("PR", bound=Projection)
_FRESH: ContextVar[float | None] = ContextVar("socieux_read_your_writes", default=None)


def _read(projections: bool = False) -> Callable[
    [Callable[Concatenate[Engine, Q], T]], Callable[Concatenate[Engine, Q], T]
]:  # fmt: skip
    """Route an ``Engine`` read method to a replica's engine."""

    def route(method: Callable[Concatenate[Engine, Q], T]) -> Callable[Concatenate[Engine, Q], T]:
        @wraps(method)
        def on_replica(self: Engine, /, *args: Q.args, **kwargs: Q.kwargs) -> T:
            assert isinstance(self, ReplicatedEngine)
            return method(self.reader(projections=projections), *args, **kwargs)

        return on_replica

    return route


class ReplicatedEngine(Engine):
    """An :class:`~engine.Engine` whose reads go to streaming replicas of its primary."""

    def __init__(
        self,
        parts: EngineParts,
        readers: Sequence[Engine],
        *,
        read_your_writes: bool,
        timeout: float,
    ) -> None:
        super().__init__(parts)
        self._readers = list(readers)
        self._default_wait = timeout if read_your_writes else None
        self._turn = 0
        self._lock = threading.Lock()
        self._seen: dict[int, int] = {}  # reader index -> our last position it has replayed

    # ------------------------------------------------------------ routing
    @property
    def replicas(self) -> list[str]:
        """The replicas' URLs, without passwords."""
        return [r.url for r in self._readers]

    @contextmanager
    def read_your_writes(self, *, timeout: float = 5.0) -> Iterator[None]:
        """Inside the block, every read waits until its replica has replayed this engine's
        commands (at most ``timeout`` seconds, then ``ReplicaLag``)."""
        token = _FRESH.set(self._check_timeout(timeout))
        try:
            yield
        finally:
            _FRESH.reset(token)

    def wait_for_replicas(self, *, timeout: float = 5.0) -> None:
        """Block until every replica has replayed everything committed on the primary so
        far (``ReplicaLag`` after ``timeout`` seconds)."""
        timeout = self._check_timeout(timeout)
        position = self._commands.last_position
        with translate_errors("reading the primary's WAL position", self.url):
            lsn = primary_lsn(self._parts.sql.read)
        for index, reader in enumerate(self._readers):
            self._wait(reader, lsn, timeout)
            self._seen[index] = position

    def reader(self, *, projections: bool = False) -> Engine:
        """The replica engine the next read goes to (waiting for it to replay this
        engine's writes when read-your-writes is on). ``projections``: the read uses read
        models, so in ``catchup`` mode they are first caught up on the primary."""
        with self._lock:
            index = self._turn % len(self._readers)
            self._turn += 1
        reader = self._readers[index]
        if projections and self.projection_mode == "catchup":
            with translate_errors("updating projections", self.url):
                self._projections.runner.catch_up()
        timeout = _FRESH.get()
        if timeout is None:
            timeout = self._default_wait
        position = self._commands.last_position
        if timeout is not None and (projections or self._seen.get(index, 0) < position):
            with translate_errors("reading the primary's WAL position", self.url):
                lsn = primary_lsn(self._parts.sql.read)
            self._wait(reader, lsn, timeout)
            self._seen[index] = position
        return reader

    @staticmethod
    def _wait(reader: Engine, lsn: str, timeout: float) -> None:
        with translate_errors("waiting for a replica", reader.url):
            wait_replayed(reader._parts.sql.read, lsn, timeout=timeout, label=reader.url)

    @staticmethod
    def _check_timeout(timeout: float) -> float:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise InvalidArgument("timeout must be a number of seconds >= 0", argument="timeout")
        return min(float(timeout), MAX_WAIT)

    def close(self) -> None:
        """Close the primary's and every replica's connections. Safe to call twice."""
        try:
            super().close()
        finally:
            for reader in self._readers:
                reader.close()

    # ------------------------------------------------------------ reads on a replica
    get = _read()(Engine.get)
    history = _read()(Engine.history)
    allowed = _read()(Engine.allowed)
    instance_ids = _read()(Engine.instance_ids)
    projection_status = _read()(Engine.projection_status)
    deadlines = _read()(Engine.deadlines)
    worklist = _read()(Engine.worklist)
    verify = _read()(Engine.verify)
    verify_runs = _read()(Engine.verify_runs)
    export = _read()(Engine.export)
    explain = _read()(Engine.explain)
    diff = _read()(Engine.diff)
    replay_check = _read()(Engine.replay_check)
    heads = _read()(Engine.heads)
    seals = _read()(Engine.seals)
    subject = _read()(Engine.subject)

    def requests(self, **filters: object) -> Page[BaseModel]:
        """:meth:`Engine.requests` on a replica."""
        return self.reader(projections=True).requests(**filters)

    def audit_trail(self, **filters: object) -> Page[BaseModel]:
        """:meth:`Engine.audit_trail` on a replica."""
        return self.reader(projections=True).audit_trail(**filters)

    def portfolio(self, **options: object) -> BaseModel:
        """:meth:`Engine.portfolio` on a replica."""
        return self.reader(projections=True).portfolio(**options)

    def experts(self, **filters: object) -> Page[BaseModel]:
        """:meth:`Engine.experts` on a replica."""
        return self.reader(projections=True).experts(**filters)

    @overload
    def projection(self, kind: type[PR]) -> PR: ...
    @overload
    def projection(self, kind: str) -> Projection: ...
    def projection(self, kind: type[PR] | str) -> PR | Projection:
        """The projection ``kind`` as a replica serves it (its queries read the replica)."""
        return self.reader(projections=True).projection(kind)


def open_replicated(
    parts: EngineParts,
    replicas: Sequence[str],
    *,
    workflows: Sequence[WorkflowDefinition] | None,
    projections: Sequence[Projection] | None,
    clock: Clock | None,
    read_your_writes: bool,
    timeout: float,
) -> ReplicatedEngine:
    """The replicated engine over the open primary ``parts`` (closed again on any error)."""
    readers: list[Engine] = []
    try:
        if parts.config.kind != "postgresql":
            raise InvalidArgument(
                f"replicas need a PostgreSQL primary, not {parts.config.kind}",
                argument="replicas",
            )
        if isinstance(replicas, str) or not replicas:
            raise InvalidArgument("replicas must be a non-empty list of URLs", argument="replicas")
        primary = identity(parts.config)
        for url in replicas:
            config = replica_config(url, parts.config)
            check_replica(primary, config)
            chosen = None if projections is None else [copy.copy(p) for p in projections]
            readers.append(Engine(build_from(
                config, workflows=workflows, projections=chosen, clock=clock,
                projection_mode="worker",
            )))  # fmt: skip
        return ReplicatedEngine(parts, readers, read_your_writes=read_your_writes, timeout=timeout)
    except BaseException:
        for reader in readers:
            reader.close()
        Engine(parts).close()
        raise
