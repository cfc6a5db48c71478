"""``engine.batch()``: many commands of one host (an import) recorded together, all or none.

Inside the block, ``start`` and ``fire`` decide as usual, but against the batch's own view:
a second command on an instance sees the first one's event. Nothing is written until the
block ends; then every staged event is recorded in one write transaction (one fsync, the
inline projections included), or none is:

* the block raises (a refused command the host lets through, or any other exception):
  nothing is written, the exception goes on;
* another writer took one of the versions meanwhile: nothing is written,
  ``ConcurrencyConflict``; the host may run the batch again;
* a command past the batch's ``limit`` raises ``BatchTooLarge`` and is not staged.

A refused command that the host catches inside the block stages nothing, and the batch
goes on (the host chose to skip it). Reads (``get``, ``history``, projections) inside the
block see the store, not the batch; the views ``start`` and ``fire`` return show what the
batch will record. See docs/group-commit.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from uuid import UUID

from engine.commands.cache import InstanceCache
from engine.commands.service import CommandService
from engine.errors import BatchTooLarge, ConcurrencyConflict, InvalidArgument
from engine.instance.aggregate import WorkflowInstance

__all__ = ["MAX_BATCH", "CommandBatch"]

MAX_BATCH = 10_000
"""The most commands one batch may hold (its ``limit`` may be lower)."""


class _Overlay(InstanceCache):
    """The batch's view: its own staged copies first, then the engine's (durable) cache."""

    def __init__(self, under: InstanceCache) -> None:
        super().__init__(size=MAX_BATCH + 1)
        self._under = under

    def get(self, iid: UUID) -> WorkflowInstance | None:
        """The batch's copy of ``iid``, else the engine's cached one."""
        return super().get(iid) or self._under.get(iid)


@dataclass
class _StagingCommands(CommandService):
    """The engine's command service, except that saving stages the event in the batch."""

    batch: CommandBatch | None = None

    def _save(self, agg: WorkflowInstance) -> bool:
        assert self.batch is not None
        self.batch.stage(agg)
        return True


class CommandBatch:
    """One open batch: its staging command service and the events it staged."""

    def __init__(self, service: CommandService, limit: int) -> None:
        self._service = service
        self.limit = limit
        self.staged: list[WorkflowInstance] = []
        self._started: set[UUID] = set()
        shared = {f.name: getattr(service, f.name) for f in fields(service) if f.init}
        shared.update(cache=_Overlay(service.cache), after_commit=[])
        self.commands = _StagingCommands(**shared, batch=self)
        self.closed = False

    def stage(self, agg: WorkflowInstance) -> None:
        """Keep ``agg``'s pending event for the commit (``BatchTooLarge`` past the limit)."""
        if self.closed:
            raise InvalidArgument("this batch has ended; open a new one")
        if len(self.staged) >= self.limit:
            raise BatchTooLarge(f"a batch holds at most {self.limit} commands", limit=self.limit)
        if agg.version == 1:
            if agg.id in self._started:
                raise InvalidArgument(f"instance id {agg.id} already exists")
            self._started.add(agg.id)
        self.staged.append(agg)

    def commit(self) -> int:
        """Record every staged event in one transaction; how many commands it recorded.

        ``ConcurrencyConflict`` (nothing written) when another writer took a version."""
        self.closed = True
        staged, self.staged = self.staged, []
        if not staged:
            return 0
        if not self._service.save_all(staged):
            raise self._conflict(staged)
        for agg in staged:
            self._service.cache.put(agg)
        return len(staged)

    def _conflict(self, staged: list[WorkflowInstance]) -> ConcurrencyConflict:
        """The first instance of the batch that another writer moved (nothing written)."""
        first: dict[UUID, int] = {}
        for agg in staged:
            first.setdefault(agg.id, agg.version)
        app = self._service.app
        for iid, version in first.items():
            latest = list(app.events.get(iid, desc=True, limit=1))
            actual = latest[0].originator_version if latest else 0
            if actual >= version:
                return ConcurrencyConflict(
                    str(iid), expected=version - 1, actual=actual, attempts=1
                )
        return ConcurrencyConflict(str(staged[0].id), expected=None, actual=None, attempts=1)

    def abort(self) -> None:
        """Forget every staged event: nothing is written."""
        self.closed = True
        self.staged = []
