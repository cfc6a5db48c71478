"""The engine façade: :class:`Engine`, the one public class and the public contract.

``Engine.open(url)`` hands the wiring to the composition root (:mod:`engine.bootstrap`);
each method here delegates to one part: commands (:mod:`engine.commands`), the engine's own
queries (:mod:`engine.queries`), projections, hooks and audit. A refused command raises a
typed ``EngineError`` and writes nothing.
"""

# long module: the public contract. Every public method of the engine is here with its
# docstring; each body is one delegation to a part, so the length is the API, not logic.

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload
from uuid import UUID

from pydantic import BaseModel

from engine.bootstrap import EngineParts, ProjectionMode, build
from engine.commands import arguments as args
from engine.commands.batch import MAX_BATCH, CommandBatch
from engine.commands.clock import Clock
from engine.commands.compiled import MAX_REASON_LENGTH
from engine.commands.context import CommandContext, command_context, valid_actor
from engine.commands.idempotency import check_command_id
from engine.commands.registry import WorkflowRegistry
from engine.commands.service import CommandService
from engine.corrections.api import AmendmentMethods
from engine.definition.model import WorkflowDefinition
from engine.errors import InvalidArgument
from engine.hooks.types import TOPICS
from engine.instance.views import Actor, AllowedReport, HistoryEntry, InstanceView
from engine.persistence.store import EngineApplication, translate_errors
from engine.privacy.api import PrivacyMethods
from engine.projection.page import Page, as_page
from engine.projection.parking import ParkedProjectionEvent
from engine.projection.protocol import Projection
from engine.projection.runner import ProjectionStatus

if TYPE_CHECKING:
    from datetime import timedelta

    from engine.commands.migration import MigrationPlan, MigrationResult
    from engine.deadlines.types import DueDeadline, RunReport, WorkItem
    from engine.definition.compare import DefinitionDiff
    from engine.hooks.types import Handler, HookStatus, ParkedEvent, Subscription
    from engine.replicated import ReplicatedEngine

__all__ = ["Clock", "Engine"]

P = TypeVar("P", bound=Projection)
T = TypeVar("T")
MAX_WAIT = 86_400.0
"""The longest ``timeout`` a wait takes (a day)."""


class Engine(PrivacyMethods, AmendmentMethods):
    """An open engine. Use :meth:`open`; close it (or use it as a context manager)."""

    def __init__(self, parts: EngineParts) -> None:
        self._parts = parts
        self._commands = parts.commands
        self._reader = parts.reader
        self._projections = parts.projections
        self._hooks = parts.hooks
        self._audit = parts.audit
        self._privacy = parts.privacy
        self._closed = False
        self._batch: ContextVar[CommandBatch | None] = ContextVar("socieux_batch", default=None)

    # ---------------------------------------------------------------- lifecycle
    @overload
    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        workflows: Iterable[WorkflowDefinition] | None = None,
        projections: Iterable[Projection] | None = None,
        clock: Clock | None = None,
        projection_mode: ProjectionMode | None = None,
        replicas: None = None,
        read_your_writes: bool = False,
        replica_timeout: float = 5.0,
    ) -> Engine: ...

    @overload
    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        workflows: Iterable[WorkflowDefinition] | None = None,
        projections: Iterable[Projection] | None = None,
        clock: Clock | None = None,
        projection_mode: ProjectionMode | None = None,
        replicas: Sequence[str],
        read_your_writes: bool = False,
        replica_timeout: float = 5.0,
    ) -> ReplicatedEngine: ...

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        workflows: Iterable[WorkflowDefinition] | None = None,
        projections: Iterable[Projection] | None = None,
        clock: Clock | None = None,
        projection_mode: ProjectionMode | None = None,
        replicas: Sequence[str] | None = None,
        read_your_writes: bool = False,
        replica_timeout: float = 5.0,
    ) -> Engine:
        """Open the store at ``url`` (default ``$SOCIEUX_DB`` or ``sqlite:///socieux.db``).

        ``workflows`` replaces the installed ``socieux.workflows`` entry points.
        ``projections`` replaces the installed ``socieux.projections`` entry points.
        ``clock`` supplies command times (timezone-aware); it defaults to UTC now.
        ``projection_mode`` is ``catchup`` (the default: projections are caught up in
        large batches before each query, so reads see every write), ``inline`` (SQLite:
        projected in each command's own transaction; about half the write throughput,
        measured in docs/benchmarks.md) or ``worker`` (SQLite or PostgreSQL, with a
        separate ``socieux projections run`` process and :meth:`wait_for`).
        ``replicas``: URLs of PostgreSQL streaming replicas of ``url``; commands go to
        ``url``, reads to the replicas (a :class:`~engine.replicated.ReplicatedEngine`),
        with ``read_your_writes`` waiting up to ``replica_timeout`` seconds for a replica
        to replay this engine's commands (``ReplicaLag``); a replica that is a primary,
        unreachable, or of another database raises ``ReplicaInvalid``. See
        ``docs/deployment.md``.
        Raises ``StorageUnavailable`` for a bad URL or an unreachable database.
        """
        chosen_workflows = None if workflows is None else list(workflows)
        chosen = None if projections is None else list(projections)
        if replicas is not None:  # checked before anything is opened
            if isinstance(replicas, str) or not replicas:
                raise InvalidArgument(
                    "replicas must be a non-empty list of URLs", argument="replicas"
                )
            args.check_number("replica_timeout", replica_timeout, maximum=MAX_WAIT)
        parts = build(
            url,
            workflows=chosen_workflows,
            projections=chosen,
            clock=clock,
            projection_mode=projection_mode,
        )
        if replicas is None:
            return cls(parts)
        from engine.replicated import open_replicated

        return open_replicated(
            parts, replicas, workflows=chosen_workflows, projections=chosen, clock=clock,
            read_your_writes=bool(read_your_writes), timeout=replica_timeout,
        )  # fmt: skip

    def close(self) -> None:
        """Release connections. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._parts.stop_deadlines()
            self._hooks.dispatcher.close()
            with translate_errors("closing the store", self.url):
                self._parts.sql.close()
                self._parts.app.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The store's URL, without any password."""
        return self._parts.config.label

    @property
    def registry(self) -> WorkflowRegistry:
        """The registered workflow definitions."""
        return self._parts.registry

    @property
    def application(self) -> EngineApplication:
        """The underlying eventsourcing application (for projections and audit tools)."""
        return self._parts.app

    @property
    def last_position(self) -> int:
        """Notification id of the last event this engine recorded (for :meth:`wait_for`)."""
        return self._commands.last_position

    # ---------------------------------------------------------------- commands
    def start(
        self,
        workflow: str,
        data: Mapping[str, Any] | None = None,
        *,
        actor: Actor | None = None,
        reason: str | None = None,
        trigger: str | None = None,
        version: int | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        instance_id: UUID | None = None,
        effective_at: datetime | None = None,
        command_id: UUID | str | None = None,
    ) -> InstanceView:
        """Create an instance of ``workflow`` by firing its start trigger.

        ``actor``, ``correlation_id`` and ``causation_id`` default to what
        :meth:`context` bound; an actor is required one way or the other.
        ``effective_at``: when the fact happened, if not now (see ``docs/audit.md``).
        ``command_id``: an idempotency key; sent again, the command returns the instance
        it created and writes nothing (see ``docs/deployment.md``).
        """
        args.check_str("workflow", workflow)
        data = args.check_mapping("data", data)
        _check_reason(reason)
        if trigger is not None:
            args.check_str("trigger", trigger)
        if version is not None:
            args.check_int("version", version, minimum=1)
        if instance_id is not None and not isinstance(instance_id, UUID):
            raise InvalidArgument("instance_id must be a UUID", argument="instance_id")
        return self._writer().start(  # its view is revealed by the privacy hook `present`
            workflow, data, actor=actor, reason=reason, trigger=trigger, version=version,
            correlation_id=correlation_id, causation_id=causation_id, instance_id=instance_id,
            effective_at=_effective(effective_at), command_id=check_command_id(command_id),
        )  # fmt: skip

    def fire(
        self,
        instance_id: UUID | str,
        trigger: str,
        data: Mapping[str, Any] | None = None,
        *,
        actor: Actor | None = None,
        reason: str | None = None,
        expected_version: int | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        effective_at: datetime | None = None,
        command_id: UUID | str | None = None,
    ) -> InstanceView:
        """Fire ``trigger`` on an instance; returns the new view.

        With ``expected_version``, a stale version raises ``ConcurrencyConflict`` at once.
        Otherwise a lost race is re-decided on fresh state up to a bounded number of times.
        ``actor``, ``correlation_id`` and ``causation_id`` default to :meth:`context`'s.
        ``effective_at``: when the fact happened (a mission's date), beside the recorded
        time; guards still decide on the recorded time. Beyond the workflow's tolerance in
        the future, or before the instance existed: ``InvalidEffectiveTime``.
        ``command_id``: an idempotency key; a command sent again with it returns the view
        it recorded and writes nothing; on another command, ``CommandIdReused``.
        """
        args.check_str("trigger", trigger)
        data = args.check_mapping("data", data)
        _check_reason(reason)
        if expected_version is not None:
            args.check_int("expected_version", expected_version)
        return self._writer().fire(  # its view is revealed by the privacy hook `present`
            self._reader.id(instance_id), trigger, data, actor=actor, reason=reason,
            expected_version=expected_version, correlation_id=correlation_id,
            causation_id=causation_id, effective_at=_effective(effective_at),
            command_id=check_command_id(command_id),
        )  # fmt: skip

    @contextmanager
    def batch(self, *, limit: int = MAX_BATCH) -> Iterator[None]:
        """Record the ``start`` and ``fire`` calls of this block together, all or none.

        Commands inside decide against the batch's own view (a second command on an
        instance sees the first) and are recorded in one transaction when the block ends.
        An exception leaving the block writes nothing; a refused command the host catches
        inside stages nothing and the batch goes on. ``ConcurrencyConflict`` at the end
        (nothing written) if another writer moved one of the instances meanwhile; the
        command past ``limit`` (at most 10,000) raises ``BatchTooLarge``. The batch
        belongs to the calling thread (or task); reads inside it see the store, not the
        batch; batches do not nest. See docs/group-commit.md.
        """
        args.check_int("limit", limit, minimum=1, maximum=MAX_BATCH)
        if self._batch.get() is not None:
            raise InvalidArgument("batches do not nest", argument="batch")
        batch = CommandBatch(self._commands, limit)
        token = self._batch.set(batch)
        try:
            yield
        except BaseException:
            batch.abort()
            raise
        finally:
            self._batch.reset(token)
        batch.commit()

    def _writer(self) -> CommandService:
        batch = self._batch.get()
        return self._commands if batch is None else batch.commands

    @staticmethod
    def context(
        *,
        actor: Actor | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> AbstractContextManager[CommandContext]:
        """Bind the actor and a correlation id once for a unit of work (a web request).

        Inside the block, ``start`` and ``fire`` default their ``actor``,
        ``correlation_id`` and ``causation_id`` to these, and every engine log line
        carries ``correlation_id``. A missing ``correlation_id`` gets a random one.
        """
        return command_context(
            actor=actor, correlation_id=correlation_id, causation_id=causation_id
        )

    # ---------------------------------------------------------------- queries
    def get(
        self,
        instance_id: UUID | str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
        effective: datetime | None = None,
    ) -> InstanceView:
        """The instance now, at ``version``, or as recorded up to time ``as_of``; with
        ``effective``, as known at ``as_of`` (default: now) about effective time
        ``effective`` (only the events effective by then)."""
        if version is not None:
            args.check_int("version", version, minimum=1)
        if as_of is not None:
            args.check_datetime("as_of", as_of)
        if effective is not None:
            args.check_datetime("effective", effective)
            if version is not None:
                raise InvalidArgument("give version or effective, not both", argument="version")
            view = self._reader.effective(instance_id, as_of=as_of, effective=effective)
            return self._privacy.reveal_view(view)
        return self._privacy.reveal_view(
            self._reader.get(instance_id, version=version, as_of=as_of)
        )

    def history(self, instance_id: UUID | str) -> list[HistoryEntry]:
        """Every recorded step of the instance, oldest first."""
        iid = self._reader.id(instance_id)
        return self._privacy.reveal_history(iid, self._reader.history(iid))

    def allowed(self, instance_id: UUID | str, actor: Actor | None = None) -> AllowedReport:
        """What ``actor`` (default: :meth:`context`'s) may fire now, and why every other
        trigger is refused."""
        return self._reader.allowed(instance_id, actor)

    def instance_ids(self, *, batch: int = 1000) -> Iterator[UUID]:
        """Every instance id, in creation order (a scan of the log; lists use projections)."""
        args.check_int("batch", batch, minimum=1, maximum=10_000)
        return self._reader.instance_ids(batch=batch)

    def resolve(self, prefix: str) -> UUID:
        """The instance whose id starts with ``prefix`` (git-style short ids), found in the
        event store: it works in every projection mode."""
        return self._reader.id(prefix)

    # ---------------------------------------------------------------- projections
    @property
    def projection_mode(self) -> ProjectionMode:
        """``catchup`` (default), ``inline`` (SQLite only) or ``worker``."""
        return self._projections.mode  # type: ignore[return-value]

    @overload
    def projection(self, kind: type[P]) -> P: ...
    @overload
    def projection(self, kind: str) -> Projection: ...
    def projection(self, kind: type[P] | str) -> P | Projection:
        """The registered projection of class ``kind`` (typed: its own query methods), or
        the one registered under the name ``kind``."""
        if not isinstance(kind, str) and not (
            isinstance(kind, type) and issubclass(kind, Projection)
        ):
            raise InvalidArgument("kind must be a projection name or class", argument="kind")
        return self._projections.get(kind)

    @property
    def projections(self) -> list[Projection]:
        """Every registered projection."""
        return list(self._projections.runner.projections)

    def requests(self, **filters: object) -> Page[BaseModel]:
        """``projection("requests").list(**filters)``: requests by state, country, area...

        A :class:`Page` (a list of ``RequestRow``) of ``limit`` rows (default 50), with
        ``total`` and ``next_cursor``: pass ``cursor=page.next_cursor`` for the next page.
        """
        return as_page(self._query(self._projections.listing("requests").list, filters))

    def audit_trail(self, **filters: object) -> Page[BaseModel]:
        """``projection("audit_trail").list(**filters)``: one row per recorded event.

        A :class:`Page` of ``AuditRow`` (``limit`` default 1000), with ``total`` and
        ``next_cursor`` (pass it back as ``cursor``).
        """
        return as_page(self._query(self._projections.listing("audit_trail").list, filters))

    def portfolio(self, **options: object) -> BaseModel:
        """``projection("portfolio").figures(**options)``: counts, stage times, funnel."""
        return self._query(self._projections.figures("portfolio").figures, options)

    def experts(self, **filters: object) -> Page[BaseModel]:
        """``projection("experts").list(**filters)``: assignments, days, overlaps.

        A :class:`Page` of ``ExpertSummary`` (``limit`` default 1000), with ``total`` and
        ``next_cursor`` (pass it back as ``cursor``).
        """
        return as_page(self._query(self._projections.listing("experts").list, filters))

    def projection_status(self) -> list[ProjectionStatus]:
        """Each projection's position against the head of the log."""
        with translate_errors("reading projection positions", self.url):
            return self._projections.status()

    def parked_projection_events(self, name: str | None = None) -> list[ParkedProjectionEvent]:
        """Events a projection could not apply: parked and skipped by that projection only
        (the others, and every later event, go on). ``rebuild_projections`` repairs it."""
        if name is not None:
            args.check_str("name", name)
        return self._projections.parked(name)

    def catch_up_projections(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Apply any events the projections have not seen yet; returns how many."""
        return self._projections.runner.catch_up(progress=_progress(progress))

    def rebuild_projections(
        self,
        names: Sequence[str] | None = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Drop and rebuild projections (default: all) from the whole log."""
        chosen = None if names is None else args.check_strings("names", names)
        return self._projections.rebuild(chosen, progress=_progress(progress))

    def wait_for(self, position: int, *, timeout: float = 10.0) -> None:
        """Block until projections have applied notification ``position`` (worker mode)."""
        args.check_int("position", position)
        args.check_number("timeout", timeout, maximum=MAX_WAIT)
        if self.projection_mode != "worker":  # nobody else will catch up
            self._projections.runner.catch_up()
        self._projections.runner.wait_for(position, timeout=timeout)

    def run_projections(
        self, *, poll: float = 0.2, stop: Callable[[], bool] = lambda: False
    ) -> None:
        """The projection worker loop (``socieux projections run``)."""
        self._projections.runner.run_forever(poll=poll, stop=stop)

    # ---------------------------------------------------------------- hooks
    def subscribe(
        self,
        handler: Handler,
        *,
        name: str,
        topics: Iterable[str] | None = None,
        triggers: Iterable[str] | None = None,
        start: str = "head",
        max_attempts: int = 5,
        backoff: float = 0.5,
        lease: float = 15.0,
        background: bool = True,
    ) -> Subscription:
        """Call ``handler(event)`` for every event recorded from now on, at least once.

        ``name`` identifies the subscriber in the store: a host restarted under the same
        name resumes after the last event its handler returned from. A new name starts at
        the log's head (``start="head"``) or replays it all (``start="beginning"``).
        ``topics`` (``"started"``, ``"transitioned"``, ``"migrated"``, ``"escalated"``) and
        ``triggers`` narrow the events.
        A raising handler is retried ``max_attempts`` times, waiting ``backoff`` seconds,
        doubled each time, then the event is parked (see :meth:`subscriptions`).
        With ``background=False`` nothing is delivered until :meth:`drain_hooks`.
        """
        args.check_callable("handler", handler)
        args.check_str("name", name)
        topics = None if topics is None else args.check_strings("topics", topics, known=TOPICS)
        if triggers is not None:
            known = {t.trigger for c in self.registry.all() for t in c.definition.transitions}
            triggers = args.check_strings("triggers", triggers, known=known)
        if start not in ("head", "beginning"):
            raise InvalidArgument("start must be 'head' or 'beginning'", argument="start")
        args.check_int("max_attempts", max_attempts, minimum=1, maximum=1000)
        args.check_number("backoff", backoff)
        args.check_number("lease", lease, positive=True)
        if not isinstance(background, bool):
            raise InvalidArgument("background must be True or False", argument="background")
        return self._hooks.subscribe(
            handler, name=name, topics=topics, triggers=triggers, start=start,
            max_attempts=max_attempts, backoff=backoff, lease=lease, background=background,
        )  # fmt: skip

    def unsubscribe(self, name: str) -> None:
        """Stop delivering to ``name`` in this engine and release its lease (the stored
        position stays: subscribing the name again resumes after it)."""
        self._hooks.unsubscribe(args.check_str("name", name))

    def drain_hooks(self, *, timeout: float = 10.0) -> None:
        """Block until this engine's subscribers have handled everything recorded so far.

        Raises ``HookLag`` after ``timeout`` seconds.
        """
        self._hooks.drain_hooks(timeout=args.check_number("timeout", timeout, maximum=MAX_WAIT))

    def subscriptions(self) -> list[HookStatus]:
        """Every subscriber recorded in the store: position, parked events, last error."""
        return self._hooks.subscriptions()

    def parked(self, name: str | None = None) -> list[ParkedEvent]:
        """Events whose handler kept failing (of subscriber ``name``, or all)."""
        return self._hooks.parked(None if name is None else args.check_str("name", name))

    def retry_parked(self, name: str) -> tuple[int, int]:
        """Deliver ``name``'s parked events once more: ``(delivered, still parked)``."""
        return self._hooks.retry_parked(args.check_str("name", name))

    # ---------------------------------------------------------------- versions
    def plan_migration(
        self,
        workflow: str,
        *,
        to: int,
        actor: Actor,
        instances: Iterable[UUID | str] | None = None,
        states: Iterable[str] | None = None,
    ) -> MigrationPlan:
        """A dry run of moving instances of ``workflow`` to version ``to``: every instance
        selected (all not on ``to``, or ``instances``, in ``states``) with what it would
        become or every reason it cannot move. Writes nothing. See ``docs/versions.md``."""
        from engine.commands.migration import MigrationService

        args.check_str("workflow", workflow)
        args.check_int("to", to, minimum=1)
        who = valid_actor(actor)
        wanted = None if states is None else args.check_strings("states", states)
        if wanted is not None:
            known = {s.name for c in self.registry.versions(workflow) for s in c.definition.states}
            args.check_strings("states", wanted, known=known)
        if instances is None:
            ids: Iterable[UUID] = self._reader.instance_ids()
        else:
            if isinstance(instances, str | bytes) or not isinstance(instances, Iterable):
                raise InvalidArgument("instances must be a list of ids", argument="instances")
            ids = [self._reader.id(args.check_id("instances", i)) for i in instances]
        with translate_errors("planning a migration", self.url):
            return MigrationService(self._commands).plan(
                workflow, to=to, candidates=ids, explicit=instances is not None,
                states=wanted, actor=who,
            )  # fmt: skip

    def compare_versions(self, workflow: str, old: int, new: int) -> DefinitionDiff:
        """What changed from version ``old`` of ``workflow`` to ``new``."""
        from engine.definition.compare import compare

        args.check_str("workflow", workflow)
        a = self.registry.get(workflow, args.check_int("old", old, minimum=1))
        b = self.registry.get(workflow, args.check_int("new", new, minimum=1))
        return compare(a.definition, b.definition)

    def migrate(self, plan: MigrationPlan, *, actor: Actor, reason: str) -> MigrationResult:
        """Apply ``plan``: one ``Migrated`` event per ready instance, in one transaction.

        Every check is re-run first; an instance that moved since the plan raises
        ``ConcurrencyConflict``, a check that fails now ``MigrationBlocked``, a wrong role
        or (where the workflow separates duties) the planner applying ``PermissionDenied``.
        In each case nothing is written."""
        from engine.commands.migration import MigrationService

        who = valid_actor(actor)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidArgument("a migration needs a reason", argument="reason")
        args.check_str("reason", reason, max_length=MAX_REASON_LENGTH)
        with translate_errors("applying a migration", self.url):
            return MigrationService(self._commands).apply(plan, actor=who, reason=reason)

    # ---------------------------------------------------------------- deadlines
    def run_due(
        self,
        now: datetime | None = None,
        *,
        limit: int = 1000,
        batch: int = 100,
        lease: float = 60.0,
    ) -> RunReport:
        """Record every deadline due at ``now`` (default: the engine's clock), earliest
        first, at most ``limit`` in claims of ``batch``: a ``fire`` deadline fires its
        transition as ``Actor("system", "system")``, ``escalate``/``remind`` record an
        ``Escalated`` event. Each is recorded exactly once, across threads and processes;
        the report lists each one with its due time and lag. A claim keeps other workers
        off its rows for ``lease`` wall-clock seconds (a killed worker's rows are claimed
        again after that)."""
        with translate_errors("running due deadlines", self.url):
            return self._parts.deadlines.run_due(now=now, limit=limit, batch=batch, lease=lease)

    def deadlines(
        self,
        *,
        status: str | None = None,
        overdue: bool = False,
        within: timedelta | None = None,
        instance: UUID | str | None = None,
        limit: int = 100,
        now: datetime | None = None,
    ) -> list[DueDeadline]:
        """Deadlines from the due table, by due time: ``status`` ``open`` (default),
        ``fired``, ``cancelled`` or ``blocked``; ``overdue`` (due at ``now``); due ``within``
        a time from ``now``; of one ``instance``."""
        iid = None if instance is None else str(self._reader.id(instance))
        with translate_errors("listing deadlines", self.url):
            return self._parts.deadlines.deadlines(
                status=status, overdue=bool(overdue), within=within, instance=iid,
                limit=limit, now=now,
            )  # fmt: skip

    def worklist(
        self, actor: Actor | None = None, *, now: datetime | None = None, limit: int = 100
    ) -> list[WorkItem]:
        """Every instance where ``actor`` (default: the context's) may fire something now:
        the triggers its role may fire from the state, separation of duties allowing, the
        earliest open deadline and whether it is overdue; by urgency. From a read model."""
        who = self._actor(actor)
        with translate_errors("reading the worklist", self.url):
            return self._parts.deadlines.worklist(who, now=now, limit=limit)

    def run_deadlines_in_background(self, *, interval: float = 60.0, batch: int = 100) -> None:
        """Run :meth:`run_due` every ``interval`` seconds in a daemon thread until
        :meth:`close` (off unless called; one worker process is the usual way)."""
        self._parts.deadlines.start_thread(interval=interval, batch=batch)

    # ---------------------------------------------------------------- internals
    @staticmethod
    def _actor(actor: Actor | None) -> Actor:
        from engine.commands.context import bound_call

        return bound_call(actor, None, None)[0]

    def _query(self, call: Callable[..., T], filters: Mapping[str, object]) -> T:
        """Call a projection's query with ``filters``, refusing names it does not take."""
        args.check_keys("filters", filters, call)
        with translate_errors("querying projections", self.url):
            return call(**filters)


def _progress(progress: T) -> T:
    if progress is not None:
        args.check_callable("progress", progress)
    return progress


def _effective(at: datetime | None) -> datetime | None:
    return None if at is None else args.check_datetime("effective_at", at)


def _check_reason(reason: object) -> None:
    """Only the type: the reason's content rules are the workflow's (``invalid_payload``)."""
    if reason is not None and not isinstance(reason, str):
        raise InvalidArgument("reason must be a string", argument="reason")
