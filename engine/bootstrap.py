"""The composition root: ``Engine.open`` builds every part here and nowhere else.

It parses the URL, opens the event store and the read-model store, loads the workflows and
projections (entry points unless given), and wires the command service, the engine's own
queries, the projection runner, the hook dispatcher and audit access together. Nothing is
built at import time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal, cast

from engine.audit.service import AuditService
from engine.audit.source import AuditSource
from engine.commands.cache import InstanceCache
from engine.commands.clock import Clock, command_time, utcnow
from engine.commands.registry import WorkflowRegistry, load_entry_points
from engine.commands.service import CommandService
from engine.deadlines.readmodel import DeadlineReadModel, DeadlineRunner
from engine.definition.model import WorkflowDefinition
from engine.errors import InvalidArgument
from engine.hooks.access import HookService
from engine.hooks.dispatcher import HookDispatcher
from engine.instance.aggregate import WorkflowInstance
from engine.persistence.schema import ddl_lock
from engine.persistence.sql import Cursor, SqlStore
from engine.persistence.store import EngineApplication, InlineHook, sql_store, translate_errors
from engine.persistence.urls import DEFAULT_URL, StoreConfig, parse_url
from engine.privacy import PrivacyService, open_privacy
from engine.projection.protocol import Projection, ProjectionContext, load_projection_entry_points
from engine.projection.runner import ProjectionRunner
from engine.projection.service import ProjectionService
from engine.queries.reads import Reader

if TYPE_CHECKING:
    from engine.deadlines.service import DeadlineService

__all__ = ["EngineParts", "ProjectionMode", "build", "build_from"]

ProjectionMode = Literal["catchup", "inline", "worker"]
_MODES: dict[str, frozenset[str]] = {
    "sqlite": frozenset({"inline", "catchup", "worker"}),
    "memory": frozenset({"catchup"}),
    "postgresql": frozenset({"catchup", "worker"}),
}


@dataclass(frozen=True)
class EngineParts:
    """Everything an open engine holds; the façade delegates to these. The deadline
    service (firing, listing, claims) is built on first use: most engines never fire one."""

    config: StoreConfig
    app: EngineApplication
    sql: SqlStore
    registry: WorkflowRegistry
    commands: CommandService
    reader: Reader
    projections: ProjectionService
    hooks: HookService
    audit: AuditService
    deadline_runner: DeadlineRunner
    privacy: PrivacyService

    @cached_property
    def deadlines(self) -> DeadlineService:
        """Due deadlines, the worklist and the background thread (built on first use)."""
        from engine.deadlines.service import DeadlineService

        return DeadlineService(
            self.commands, self.sql, self.deadline_runner, read_only=self.config.read_only
        )

    def stop_deadlines(self) -> None:
        """Stop the deadline thread, if a deadline service was ever built and started one."""
        if "deadlines" in self.__dict__:
            self.deadlines.stop()


def build(
    url: str | None,
    *,
    workflows: Iterable[WorkflowDefinition] | None,
    projections: Iterable[Projection] | None,
    clock: Clock | None,
    projection_mode: str | None,
) -> EngineParts:
    """Open the stores and wire the parts (see :meth:`engine.Engine.open`)."""
    config = parse_url(url or os.environ.get("SOCIEUX_DB") or DEFAULT_URL)
    return build_from(
        config,
        workflows=workflows,
        projections=projections,
        clock=clock,
        projection_mode=projection_mode,
    )


def build_from(
    config: StoreConfig,
    *,
    workflows: Iterable[WorkflowDefinition] | None,
    projections: Iterable[Projection] | None,
    clock: Clock | None,
    projection_mode: str | None,
) -> EngineParts:
    """:func:`build` for a parsed URL (a replica's read-only configuration, say)."""
    mode = _projection_mode(config, projection_mode)
    registry = WorkflowRegistry(load_entry_points() if workflows is None else workflows)
    chosen = load_projection_entry_points() if projections is None else list(projections)
    with translate_errors("opening the store", config.label), ddl_lock(config):
        app = EngineApplication(env=config.env)
        sql = sql_store(config, app)
        parts = _wire(config, app, sql, registry, chosen, clock or utcnow, mode)
        if not config.read_only:  # a read-only engine creates nothing, reads what is there
            parts.projections.runner.setup()
            parts.deadline_runner.setup()
            _record_definitions(sql, registry)
    if mode != "worker":
        with translate_errors("preparing projections", config.label):
            parts.projections.runner.catch_up()
    return parts


def _wire(  # noqa: PLR0917 - the composition root's one private helper
    config: StoreConfig,
    app: EngineApplication,
    sql: SqlStore,
    registry: WorkflowRegistry,
    chosen: list[Projection],
    clock: Clock,
    mode: ProjectionMode,
) -> EngineParts:
    runner = ProjectionRunner(app, sql, chosen)
    runner.hidden = PrivacyService.hidden_hashes()
    dispatcher = HookDispatcher(app, sql)
    commands = CommandService(app, registry, InstanceCache(), clock, config.label)
    read_model = DeadlineReadModel()
    deadline_runner = DeadlineRunner(app, sql, [read_model])
    if mode == "inline":
        commands.inline = _inline(runner if chosen else None, deadline_runner)
    privacy = open_privacy(config, sql, commands)  # after `inline`: it may wrap it
    commands.after_commit.append(_wake(dispatcher))
    reader = Reader(commands)

    def refresh() -> None:
        if mode != "worker":
            with translate_errors("updating projections", config.label):
                runner.catch_up()

    context = ProjectionContext(
        sla_days=registry.sla_days,
        settings=registry.settings,
        final_states=registry.final_states,
        now=clock,
        refresh=refresh,
    )
    for p in [*chosen, read_model]:
        p.attach(sql, context)
    source = AuditSource(app, sql, config.label, registry, reader)
    return EngineParts(
        config=config,
        app=app,
        sql=sql,
        registry=registry,
        commands=commands,
        reader=reader,
        projections=ProjectionService(runner, mode),
        hooks=HookService(dispatcher, config.label),
        audit=AuditService(source, now=lambda: command_time(clock)),
        deadline_runner=deadline_runner,
        privacy=privacy,
    )


def _inline(
    runner: ProjectionRunner | None, deadlines: ProjectionRunner
) -> Callable[[Sequence[WorkflowInstance.Event]], InlineHook]:
    """The inline hook: the host's projections (if any), then the engine's deadline model,
    both with the command's own cursor, in its transaction."""

    def hooks(events: Sequence[WorkflowInstance.Event]) -> InlineHook:
        first = runner.inline_hook(events) if runner is not None else None
        second = deadlines.inline_hook(events)

        def hook(cur: Cursor, ids: Sequence[int]) -> None:
            if first is not None:
                first(cur, ids)
            second(cur, ids)

        return hook

    return hooks


def _wake(dispatcher: HookDispatcher) -> Callable[[], None]:
    """After each commit: wake the hook dispatcher, when anyone subscribed."""

    def wake() -> None:
        if dispatcher.active:
            dispatcher.notify()

    return wake


def _projection_mode(config: StoreConfig, requested: str | None) -> ProjectionMode:
    if config.read_only:
        return "worker"  # a read-only engine reads the projections as they are; never writes
    mode = requested or "catchup"
    allowed = _MODES[config.kind]
    if mode not in allowed:
        raise InvalidArgument(
            f"projection_mode {mode!r} is not available on {config.kind} "
            f"(choose from {', '.join(sorted(allowed))})"
        )
    return cast("ProjectionMode", mode)


def _record_definitions(sql: SqlStore, registry: WorkflowRegistry) -> None:
    """Keep every registered definition in the store, content-addressed (for audit)."""
    from engine.definition.content import to_dict
    from engine.instance.hashing import canonical_json
    from engine.persistence.definitions import DefinitionStore

    DefinitionStore(sql).record(
        (c.hash, c.name, c.definition.version, canonical_json(to_dict(c.definition)))
        for c in registry.all()
    )
