"""The engine façade: the one composition root and the public contract.

``Engine.open(url)`` wires the store and the workflow registry. Commands (``start``,
``fire``) decide against the instance's current state and record exactly one event in
one write transaction; a refused command raises a typed error and writes nothing.

Commands run on a cached copy of the instance (no read transaction on the hot path).
A stale copy cannot do harm: the store refuses a second event at the same version, and
the engine then re-loads, re-decides and tries again, a bounded number of times.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO
from uuid import UUID, uuid4

import structlog
from eventsourcing.application import AggregateNotFoundError

from engine.commands.compiled import CompiledWorkflow
from engine.commands.context import check_ids, current_context
from engine.commands.registry import WorkflowRegistry, load_entry_points
from engine.definition.export import START_STATE
from engine.definition.model import WorkflowDefinition
from engine.errors import (
    ConcurrencyConflict,
    EngineError,
    InstanceNotFound,
    InvalidArgument,
    StorageUnavailable,
)
from engine.hooks.access import HookAccess
from engine.hooks.dispatcher import HookDispatcher
from engine.instance.aggregate import STARTED_TOPIC, WorkflowInstance
from engine.instance.hashing import GENESIS_HASH
from engine.instance.views import Actor, AllowedReport, HistoryEntry, InstanceView
from engine.persistence.sql import SqlStore
from engine.persistence.store import (
    DEFAULT_URL,
    SNAPSHOT_INTERVAL,
    EngineApplication,
    StoreConfig,
    ddl_lock,
    is_write_conflict,
    parse_url,
    sql_store,
    translate_errors,
)
from engine.projection.access import ProjectionAccess
from engine.projection.protocol import Projection, ProjectionContext, load_projection_entry_points
from engine.projection.runner import ProjectionRunner
from engine.queries.introspect import allowed_report, history_entry

if TYPE_CHECKING:
    from engine.audit.report import ExportSummary, IntegrityReport, Seal
    from engine.audit.verify import Progress, PublicKey

__all__ = ["Clock", "Engine"]

Clock = Callable[[], datetime]
_log = structlog.get_logger("socieux.engine")
MAX_ATTEMPTS = 5
CACHE_SIZE = 10_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Engine(ProjectionAccess, HookAccess):
    """An open engine. Use :meth:`open`; close it (or use it as a context manager)."""

    def __init__(
        self,
        app: EngineApplication,
        registry: WorkflowRegistry,
        config: StoreConfig,
        *,
        clock: Clock,
        runner: ProjectionRunner,
        sql: SqlStore,
        mode: str,
    ) -> None:
        self._app = app
        self._registry = registry
        self._config = config
        self._clock = clock
        self._runner = runner
        self._sql = sql
        self._projection_mode = mode
        self.last_position = 0
        """Notification id of the last event this engine recorded (for ``wait_for``)."""
        self._cache: OrderedDict[UUID, WorkflowInstance] = OrderedDict()
        self._lock = threading.Lock()
        self._closed = False
        self._hooks = HookDispatcher(app, sql)

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        workflows: Iterable[WorkflowDefinition] | None = None,
        projections: Iterable[Projection] | None = None,
        clock: Clock | None = None,
        projection_mode: str | None = None,
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
        Raises ``StorageUnavailable`` for a bad URL or an unreachable database.
        """
        resolved = url or os.environ.get("SOCIEUX_DB") or DEFAULT_URL
        config = parse_url(resolved)
        mode = _projection_mode(config, projection_mode)
        registry = WorkflowRegistry(load_entry_points() if workflows is None else workflows)
        chosen = load_projection_entry_points() if projections is None else list(projections)
        with translate_errors("opening the store", config.label), ddl_lock(config):
            app = EngineApplication(env=config.env)
            sql = sql_store(config)
            runner = ProjectionRunner(app, sql, chosen)
            engine = cls(
                app, registry, config, clock=clock or _utcnow, runner=runner, sql=sql, mode=mode
            )
            context = ProjectionContext(
                sla_days=engine._sla_days,
                settings=engine._settings,
                final_states=engine._final_states,
                now=engine._clock,
                refresh=engine._refresh_projections,
            )
            for p in chosen:
                p.attach(sql, context)
            runner.setup()
        with translate_errors("preparing projections", config.label):
            if mode != "worker":
                runner.catch_up()
        return engine

    def close(self) -> None:
        """Release connections. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._hooks.close()
            with translate_errors("closing the store", self._config.label):
                self._sql.close()
                self._app.close()

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
        return self._config.label

    @property
    def registry(self) -> WorkflowRegistry:
        """The registered workflow definitions."""
        return self._registry

    @property
    def application(self) -> EngineApplication:
        """The underlying eventsourcing application (for projections and audit tools)."""
        return self._app

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
    ) -> InstanceView:
        """Create an instance of ``workflow`` by firing its start trigger.

        ``actor``, ``correlation_id`` and ``causation_id`` default to what
        :meth:`context` bound; an actor is required one way or the other.
        """
        actor, correlation_id, causation_id = _bound(actor, correlation_id, causation_id)
        compiled = self._registry.get(workflow, version)
        starts = compiled.start_triggers()
        trig = trigger or (starts[0] if len(starts) == 1 else "")
        iid = instance_id or uuid4()
        log = _log.bind(instance_id=str(iid), trigger=trig, correlation_id=correlation_id)
        now = self._now(None)
        probe_view = _start_view(iid, compiled, now)
        try:
            decision = compiled.decide(probe_view, trig, actor, data, reason=reason, now=now)
        except EngineError as exc:
            log.info("command_refused", code=exc.code, role=actor.role)
            raise
        body = _body(
            decision,
            compiled.hash,
            actor,
            reason,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        body["prev_hash"] = GENESIS_HASH
        agg = WorkflowInstance.start(
            instance_id=iid,
            at=now,
            workflow=compiled.name,
            definition_version=compiled.definition.version,
            body=body,
        )
        if not self._save(agg):
            raise InvalidArgument(f"instance id {iid} already exists")
        self._cache_put(agg)
        log.info("command_recorded", version=agg.version, state=agg.state, role=actor.role)
        return _view(agg, copy_data=True)

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
    ) -> InstanceView:
        """Fire ``trigger`` on an instance; returns the new view.

        With ``expected_version``, a stale version raises ``ConcurrencyConflict`` at once.
        Otherwise a lost race is re-decided on fresh state up to a bounded number of times.
        ``actor``, ``correlation_id`` and ``causation_id`` default to :meth:`context`'s.
        """
        actor, correlation_id, causation_id = _bound(actor, correlation_id, causation_id)
        iid = self._id(instance_id)
        log = _log.bind(instance_id=str(iid), trigger=trigger, correlation_id=correlation_id)
        fresh = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            agg = self._load(iid, fresh=fresh)
            if expected_version is not None and agg.version != expected_version:
                if not fresh:
                    fresh = True
                    agg = self._load(iid, fresh=True)
                if agg.version != expected_version:
                    log.info("command_refused", code=ConcurrencyConflict.code)
                    raise ConcurrencyConflict(
                        str(iid), expected=expected_version, actual=agg.version, attempts=attempt
                    )
            compiled = self._registry.by_hash(agg.definition_hash)
            now = self._now(agg.modified_on)
            try:
                decision = compiled.decide(
                    _view(agg, copy_data=False), trigger, actor, data, reason=reason, now=now
                )
            except EngineError as exc:
                log.info("command_refused", code=exc.code, role=actor.role, attempt=attempt)
                raise
            body = _body(
                decision,
                compiled.hash,
                actor,
                reason,
                correlation_id=correlation_id,
                causation_id=causation_id,
            )
            agg.step(at=now, body=body)
            if self._save(agg):
                self._cache_put(agg)
                log.info("command_recorded", version=agg.version, state=agg.state, role=actor.role)
                return _view(agg, copy_data=True)
            log.info("write_conflict", attempt=attempt)
            self._cache_evict(iid)
            if expected_version is not None:
                current = self._load(iid, fresh=True).version
                raise ConcurrencyConflict(
                    str(iid), expected=expected_version, actual=current, attempts=attempt
                )
            fresh = True
        raise ConcurrencyConflict(str(iid), expected=None, actual=None, attempts=MAX_ATTEMPTS)

    # ---------------------------------------------------------------- queries
    def get(
        self,
        instance_id: UUID | str,
        *,
        version: int | None = None,
        as_of: datetime | None = None,
    ) -> InstanceView:
        """The instance now, at ``version``, or as recorded up to time ``as_of``."""
        iid = self._id(instance_id)
        if version is not None and as_of is not None:
            raise InvalidArgument("give version or as_of, not both")
        if as_of is not None:
            return _view(self._as_of(iid, as_of), copy_data=False)
        if version is not None:
            if version < 1:
                raise InvalidArgument("version must be >= 1")
            with translate_errors("reading an instance", self._config.label):
                try:
                    agg: WorkflowInstance = self._app.repository.get(iid, version=version)
                except AggregateNotFoundError:
                    raise InstanceNotFound(str(iid)) from None
            if agg.version != version:
                raise InstanceNotFound(str(iid), f"it has no version {version}")
            return _view(agg, copy_data=False)
        return _view(self._load(iid, fresh=False, fastforward=True), copy_data=True)

    def history(self, instance_id: UUID | str) -> list[HistoryEntry]:
        """Every recorded step of the instance, oldest first."""
        iid = self._id(instance_id)
        events = self._events(iid)
        if not events:
            raise InstanceNotFound(str(iid))
        return [history_entry(e) for e in events]

    def allowed(self, instance_id: UUID | str, actor: Actor | None = None) -> AllowedReport:
        """What ``actor`` (default: :meth:`context`'s) may fire now, and why every other
        trigger is refused."""
        actor, _, _ = _bound(actor, None, None)
        agg = self._load(self._id(instance_id), fresh=False, fastforward=True)
        compiled = self._registry.by_hash(agg.definition_hash)
        return allowed_report(compiled, _view(agg, copy_data=False), actor, self._now(None))

    def instance_ids(self, *, batch: int = 1000) -> Iterator[UUID]:
        """Every instance id, in creation order (a scan of the log; lists use projections)."""
        start: int | None = None
        while True:
            with translate_errors("scanning the log", self._config.label):
                page = self._app.recorder.select_notifications(
                    start, batch, topics=[STARTED_TOPIC], inclusive_of_start=False
                )
            for n in page:
                yield UUID(str(n.originator_id))
            if len(page) < batch:
                return
            start = page[-1].id

    def resolve(self, prefix: str) -> UUID:
        """The instance whose id starts with ``prefix`` (git-style short ids)."""
        text = prefix.strip().lower()
        try:
            return UUID(text)
        except ValueError:
            pass
        if len(text) < 4 or any(c not in "0123456789abcdef-" for c in text):
            raise InstanceNotFound(prefix, "give at least 4 hex characters of the id")
        finder = getattr(self._finder(), "find_ids", None)
        if finder is not None:  # an indexed lookup, when a projection offers one
            matches = [UUID(i) for i in finder(text)]
        else:
            matches = [i for i in self.instance_ids() if str(i).startswith(text)]
        if not matches:
            raise InstanceNotFound(prefix)
        if len(matches) > 1:
            listed = ", ".join(str(m) for m in matches[:10])
            raise InvalidArgument(
                f"id prefix {prefix!r} is ambiguous: {listed}", candidates=[str(m) for m in matches]
            )
        return matches[0]

    # ---------------------------------------------------------------- audit
    def verify(
        self, *, public_key: PublicKey | None = None, progress: Progress | None = None
    ) -> IntegrityReport:
        """Recompute every event's hash; check every instance's chain and every seal.

        With ``public_key`` (a key file's path, or raw bytes) every seal must carry a valid
        Ed25519 signature by that key. See ``docs/audit.md``.
        """
        from engine.audit.verify import verify_store

        return verify_store(self._app, label=self.url, public_key=public_key, progress=progress)

    def seal(self, *, key: str | os.PathLike[str] | None = None) -> Seal:
        """Record a seal of the whole log as it is now, signed with the Ed25519 key file ``key``."""
        from engine.audit.seals import seal_log

        return seal_log(self._app, label=self.url, now=self._now(None), key=key)

    def seals(self) -> list[Seal]:
        """Every recorded seal, oldest first."""
        from engine.audit.seals import list_seals

        return list_seals(self._app, label=self.url)

    def export(
        self,
        out: TextIO,
        *,
        instance: UUID | str | None = None,
        since: datetime | None = None,
        progress: Progress | None = None,
    ) -> ExportSummary:
        """Write the log (or one instance, or the log from ``since`` on) and its seals to
        ``out`` as JSON Lines that ``socieux audit verify --file`` checks offline."""
        from engine.audit.export import write_export

        iid = self._id(instance) if instance is not None else None
        return write_export(
            self._app,
            out,
            label=self.url,
            instance=iid,
            since=since,
            now=self._now(None),
            progress=progress,
        )

    # ---------------------------------------------------------------- internals
    def _finder(self) -> Projection | None:
        return next((p for p in self._runner.projections if p.name == "requests"), None)

    def _id(self, instance_id: UUID | str) -> UUID:
        if isinstance(instance_id, UUID):
            return instance_id
        return self.resolve(str(instance_id))

    def _now(self, floor: datetime | None) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidArgument("the engine's clock returned a naive datetime")
        # Per instance, recorded times never go backwards (as_of relies on it).
        return max(now, floor) if floor is not None else now

    def _save(self, agg: WorkflowInstance) -> bool:
        kwargs: dict[str, Any] = {}
        if self._projection_mode == "inline" and self._runner.projections:
            kwargs["inline_projection"] = self._runner.inline_hook(list(agg.pending_events))
        with translate_errors("recording the event", self._config.label):
            events = agg.collect_events()
            try:
                # The event store directly: Application.save adds protocol checks (~30 µs)
                # and re-reads the store to snapshot; we snapshot from memory below.
                recordings = self._app.events.put(events, **kwargs)
            except Exception as exc:
                if is_write_conflict(exc):
                    return False
                raise
            if recordings:
                self.last_position = recordings[-1].notification.id
            if self._hooks.active:
                self._hooks.notify()
            if self._app.snapshots is not None and agg.version % SNAPSHOT_INTERVAL == 0:
                self._app.snapshots.put([WorkflowInstance.Snapshot.take(agg)])
        return True

    def _refresh_projections(self) -> None:
        if self._projection_mode != "worker":
            with translate_errors("updating projections", self._config.label):
                self._runner.catch_up()

    def _sla_days(self, definition_hash: str, state: str) -> int | None:
        try:
            return self._registry.by_hash(definition_hash).sla_days.get(state)
        except EngineError:
            return None

    def _final_states(self, definition_hash: str) -> frozenset[str]:
        try:
            return self._registry.by_hash(definition_hash).final_states
        except EngineError:
            return frozenset()

    def _settings(self, definition_hash: str) -> dict[str, Any]:
        try:
            return dict(self._registry.by_hash(definition_hash).definition.settings)
        except EngineError:
            return {}

    def _events(self, iid: UUID, gt: int | None = None) -> list[WorkflowInstance.Event]:
        with translate_errors("reading events", self._config.label):
            return list(self._app.events.get(iid, gt=gt))  # type: ignore[arg-type]

    def _load(self, iid: UUID, *, fresh: bool, fastforward: bool = False) -> WorkflowInstance:
        cached = None if fresh else self._cache_get(iid)
        if cached is not None:
            agg = _fork(cached)
            if fastforward:
                for event in self._events(iid, gt=agg.version):
                    event.mutate(agg)
            return agg
        with translate_errors("reading an instance", self._config.label):
            try:
                agg = self._app.repository.get(iid)
            except AggregateNotFoundError:
                raise InstanceNotFound(str(iid)) from None
        if not isinstance(agg, WorkflowInstance):
            raise InstanceNotFound(str(iid), "not a workflow instance")
        self._cache_put(agg)
        return _fork(agg)

    def _as_of(self, iid: UUID, at: datetime) -> WorkflowInstance:
        if at.tzinfo is None:
            raise InvalidArgument("as_of must be timezone-aware")
        agg: Any = None
        gt: int | None = None
        with translate_errors("reading snapshots", self._config.label):
            snapshots = self._app.snapshots.get(iid, desc=True) if self._app.snapshots else []
            for snap in snapshots:
                if snap.state["_modified_on"] <= at:  # type: ignore[attr-defined]
                    agg = snap.mutate(None)  # type: ignore[attr-defined]
                    gt = snap.originator_version
                    break
        with translate_errors("reading events", self._config.label):
            events: Iterable[Any] = self._app.events.get(iid, gt=gt)  # decoded lazily
            for event in events:
                if event.timestamp > at:
                    break
                agg = event.mutate(agg)
        if agg is None:
            raise InstanceNotFound(str(iid), f"it did not exist at {at.isoformat()}")
        return agg  # type: ignore[no-any-return]

    def _cache_get(self, iid: UUID) -> WorkflowInstance | None:
        with self._lock:
            agg = self._cache.get(iid)
            if agg is not None:
                self._cache.move_to_end(iid)
            return agg

    def _cache_put(self, agg: WorkflowInstance) -> None:
        with self._lock:
            current = self._cache.get(agg.id)
            if current is None or current.version <= agg.version:
                self._cache[agg.id] = agg
                self._cache.move_to_end(agg.id)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _cache_evict(self, iid: UUID) -> None:
        with self._lock:
            self._cache.pop(iid, None)


def _bound(
    actor: Actor | None,
    correlation_id: str | None,
    causation_id: str | None,
) -> tuple[Actor, str | None, str | None]:
    """Explicit arguments win; otherwise what ``Engine.context`` bound."""
    check_ids(correlation_id=correlation_id, causation_id=causation_id)
    ctx = current_context()
    who = actor if actor is not None else ctx.actor
    if who is None:
        raise InvalidArgument("no actor: pass actor= or bind one with engine.context(actor=...)")
    if not isinstance(who, Actor):
        raise InvalidArgument("actor must be an engine.Actor")
    return (
        who,
        correlation_id if correlation_id is not None else ctx.correlation_id,
        causation_id if causation_id is not None else ctx.causation_id,
    )


def _projection_mode(config: StoreConfig, requested: str | None) -> str:
    if "mode=ro" in config.env.get("SQLITE_DBNAME", ""):
        return "worker"  # a read-only engine reads the projections as they are; it never writes
    mode = requested or "catchup"
    allowed = {
        "sqlite": {"inline", "catchup", "worker"},
        "memory": {"catchup"},
        "postgresql": {"catchup", "worker"},
    }[config.kind]
    if mode not in allowed:
        raise InvalidArgument(
            f"projection_mode {mode!r} is not available on {config.kind} "
            f"(choose from {', '.join(sorted(allowed))})"
        )
    return mode


def _copy_json(value: Any) -> Any:
    """Deep copy of JSON data (dicts, lists, scalars): about 3x faster than deepcopy."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def _fork(agg: WorkflowInstance) -> WorkflowInstance:
    """A shallow copy that is safe to mutate: apply is copy-on-write."""
    twin = copy.copy(agg)
    object.__setattr__(twin, "_pending_events", [])
    return twin


def _body(
    decision: Any,
    definition_hash: str,
    actor: Actor,
    reason: str | None,
    *,
    correlation_id: str | None,
    causation_id: str | None,
) -> dict[str, Any]:
    return {
        "trigger": decision.transition.trigger,
        "source": decision.source,
        "dest": decision.dest,
        "payload": decision.payload,
        "definition_hash": definition_hash,
        "collect_as": decision.transition.collect_as,
        "audit": {
            "actor_id": actor.id,
            "role": actor.role,
            "reason": reason,
            "correlation_id": correlation_id,
            "causation_id": causation_id,
            "guards": decision.guards,
        },
    }


def _start_view(iid: UUID, compiled: CompiledWorkflow, now: datetime) -> InstanceView:
    return InstanceView.model_construct(
        id=iid,
        workflow=compiled.name,
        definition_version=compiled.definition.version,
        definition_hash=compiled.hash,
        state=START_STATE,
        data={},
        version=0,
        created_at=now,
        updated_at=now,
        state_entered_at=now,
        fired_by={},
        acted_as={},
        last_hash=GENESIS_HASH,
    )


def _view(agg: WorkflowInstance, *, copy_data: bool) -> InstanceView:
    if not agg.workflow:
        raise StorageUnavailable(f"event stream {agg.id} is not a workflow instance")
    return InstanceView.model_construct(
        id=agg.id,
        workflow=agg.workflow,
        definition_version=agg.definition_version,
        definition_hash=agg.definition_hash,
        state=agg.state,
        data=_copy_json(agg.data) if copy_data else agg.data,
        version=agg.version,
        created_at=agg.created_on,
        updated_at=agg.modified_on,
        state_entered_at=agg.state_entered_at or agg.created_on,
        fired_by=agg.fired_by,
        acted_as=agg.acted_as,
        last_hash=agg.last_hash,
    )
