"""Deciding and recording commands: ``start`` and ``fire``.

A command decides against the instance's current state (a fork of the cached copy) and
records exactly one event in one write transaction; a refused command raises a typed error
and writes nothing. A lost race (another writer took the version) evicts the cached copy,
re-loads, re-decides and tries again, a bounded number of times.

What happens around the write is plugged in by the composition root (:mod:`engine.bootstrap`):
``inline`` gives the recorder a callback run inside the insert transaction (SQLite inline
projections), ``after_commit`` callbacks run once the event is durable (hooks wake-up).
"""

# long module: start, fire and their shared retry loop and body building stay together, so
# a command's whole write path (decide, seal, schedule deadlines, hash, save) reads in one place.

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID, uuid4

from pydantic import BaseModel

from engine.commands.cache import InstanceCache
from engine.commands.clock import Clock, command_time
from engine.commands.compiled import CompiledWorkflow, Decision
from engine.commands.context import bound_call
from engine.commands.effective import effective_key, effective_start, with_effective
from engine.commands.idempotency import COMMAND_ID, recorded, start_instance_id
from engine.commands.registry import WorkflowRegistry
from engine.definition.model import START_STATE
from engine.errors import ConcurrencyConflict, EngineError, InvalidArgument
from engine.instance.aggregate import WorkflowInstance, open_deadlines
from engine.instance.convert import fork, view_of
from engine.instance.hashing import GENESIS_HASH
from engine.instance.views import Actor, InstanceView
from engine.logs import EngineLogger, get_logger
from engine.persistence.store import (
    SNAPSHOT_INTERVAL,
    EngineApplication,
    InlineHook,
    is_write_conflict,
    translate_errors,
)

__all__ = ["MAX_ATTEMPTS", "CommandService", "step_body"]

MAX_ATTEMPTS = 5
_log = get_logger("socieux.engine")
JsonObject = Mapping[str, Any]  # a payload: JSON values, validated by the transition's model


@dataclass
class CommandService:
    """Runs commands for the façade (one per engine, shared by threads)."""

    app: EngineApplication
    registry: WorkflowRegistry
    cache: InstanceCache
    clock: Clock
    label: str
    inline: Callable[[Sequence[WorkflowInstance.Event]], InlineHook | None] | None = None
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    protect: Callable[[UUID, int, Decision], dict[str, Any]] | None = None
    """Seals the personal fields of a decided payload before it is hashed (privacy)."""
    reveal: Callable[[UUID, dict[str, Any]], dict[str, Any]] | None = None
    """Opens the personal fields of an instance's data for a check that never records them
    (a migration's validation of the upcast data)."""
    seal: Callable[[UUID, int, type[BaseModel], dict[str, Any]], dict[str, Any]] | None = None
    """Seals the personal fields among some values of a payload model, as an event recorded
    at the given version stores them (a correction's new values; privacy)."""
    present: Callable[[WorkflowInstance], InstanceView] | None = None
    """Builds the view ``start`` and ``fire`` return from the recorded instance (privacy:
    personal fields opened while the data is copied); without it, a plain copy."""
    last_position: int = 0
    """Notification id of the last event this engine recorded."""

    def start(
        self,
        workflow: str,
        data: JsonObject | None,
        *,
        actor: Actor | None,
        reason: str | None,
        trigger: str | None,
        version: int | None,
        correlation_id: str | None,
        causation_id: str | None,
        instance_id: UUID | None,
        effective_at: datetime | None = None,
        command_id: str | None = None,
    ) -> InstanceView:
        """Create an instance of ``workflow`` by firing its start trigger (once per
        ``command_id``: see :mod:`engine.commands.idempotency`)."""
        who, corr, cause = bound_call(actor, correlation_id, causation_id)
        compiled = self.registry.get(workflow, version)
        starts = compiled.start_triggers()
        trig = trigger or (starts[0] if len(starts) == 1 else "")
        iid = instance_id or (uuid4() if command_id is None else start_instance_id(command_id))
        log = _log.bind(instance_id=str(iid), trigger=trig, correlation_id=corr)
        now = command_time(self.clock)
        probe = _start_view(iid, compiled, now)
        try:
            decision = compiled.decide(probe, trig, who, data, reason=reason, now=now)
        except EngineError as exc:
            log.info("command_refused", code=exc.code, role=who.role)
            raise
        body = _body(decision, compiled.hash, who, reason, corr, cause)
        if self.protect is not None:
            body["payload"] = self.protect(iid, 1, decision)
        with_effective(body, effective_key(effective_at, now=now, compiled=compiled, since=None))
        _with_deadlines(body, compiled.deadline_changes((), None, decision.dest, now, 1))
        body["prev_hash"] = GENESIS_HASH
        if command_id is not None:
            body[COMMAND_ID] = command_id
        agg = WorkflowInstance.start(
            instance_id=iid,
            at=now,
            workflow=compiled.name,
            definition_version=compiled.definition.version,
            body=body,
        )
        if not self._save(agg) and not self._stored_already(agg):
            done = None
            if command_id is not None:
                done = self._retried(iid, command_id, trigger, who, workflow=compiled.name)
            if done is None:
                raise InvalidArgument(f"instance id {iid} already exists")
            return done
        self.cache.put(agg)
        log.info("command_recorded", version=agg.version, state=agg.state, role=who.role)
        return view_of(agg, copy_data=True) if self.present is None else self.present(agg)

    # long function: one command's retry loop (load, decide, seal, schedule, record, log)
    def fire(
        self,
        iid: UUID,
        trigger: str,
        data: JsonObject | None,
        *,
        actor: Actor | None,
        reason: str | None,
        expected_version: int | None,
        correlation_id: str | None,
        causation_id: str | None,
        effective_at: datetime | None = None,
        command_id: str | None = None,
    ) -> InstanceView:
        """Fire ``trigger`` on instance ``iid``; returns the new view (the recorded one when
        ``command_id`` was recorded before: see :mod:`engine.commands.idempotency`)."""
        who, corr, cause = bound_call(actor, correlation_id, causation_id)
        fresh = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            agg = self._current(iid, expected_version, fresh=fresh, attempt=attempt)
            if command_id is not None:  # after the load: every event up to agg's version
                done = self._retried(iid, command_id, trigger, who)  # is searched
                if done is not None:
                    return done
            compiled = self.registry.by_hash(agg.definition_hash)
            now = command_time(self.clock, agg.modified_on)
            try:
                view = view_of(agg, copy_data=False)
                decision = compiled.decide(view, trigger, who, data, reason=reason, now=now)
            except EngineError as exc:
                _bound(iid, trigger, corr).info("command_refused", code=exc.code, role=who.role,
                                                attempt=attempt)  # fmt: skip
                raise
            body = _body(decision, compiled.hash, who, reason, corr, cause)
            if self.protect is not None:
                body["payload"] = self.protect(iid, agg.version + 1, decision)
            if effective_at is not None:
                since = effective_start(self.app, iid, self.label)
                stored = effective_key(effective_at, now=now, compiled=compiled, since=since)
                with_effective(body, stored)
            changes = compiled.deadline_changes(
                open_deadlines(agg), decision.source, decision.dest, now, agg.version + 1
            )
            if command_id is not None:
                body[COMMAND_ID] = command_id
            agg.step(at=now, body=_with_deadlines(body, changes))
            if self._save(agg) or self._stored_already(agg):
                self.cache.put(agg)
                if _log.enabled():  # the line's fields are built only if it is logged
                    _bound(iid, trigger, corr).info("command_recorded", version=agg.version,
                                                    state=agg.state, role=who.role)  # fmt: skip
                return view_of(agg, copy_data=True) if self.present is None else self.present(agg)
            _bound(iid, trigger, corr).info("write_conflict", attempt=attempt)
            self.cache.evict(iid)
            if expected_version is not None:
                actual = self.load(iid, fresh=True).version
                raise ConcurrencyConflict(
                    str(iid), expected=expected_version, actual=actual, attempts=attempt
                )
            fresh = True
        raise ConcurrencyConflict(str(iid), expected=None, actual=None, attempts=MAX_ATTEMPTS)

    def _retried(
        self,
        iid: UUID,
        command_id: str,
        trigger: str | None,
        who: Actor,
        workflow: str | None = None,
    ) -> InstanceView | None:
        """The view the command with key ``command_id`` returned, if it was recorded."""
        agg = recorded(self.app, iid, command_id, trigger=trigger, actor=who, workflow=workflow,
                       label=self.label)  # fmt: skip
        if agg is not None:
            _log.info("command_retried", instance_id=str(iid), version=agg.version)
        return None if agg is None else view_of(agg, copy_data=True)

    def _current(
        self, iid: UUID, expected: int | None, *, fresh: bool, attempt: int
    ) -> WorkflowInstance:
        """The instance to decide on; a stale ``expected`` version fails at once (after one
        fresh read, in case the cached copy was the stale one)."""
        agg = self.load(iid, fresh=fresh)
        if expected is None or agg.version == expected:
            return agg
        if not fresh:
            agg = self.load(iid, fresh=True)
        if agg.version != expected:
            _log.info("command_refused", code=ConcurrencyConflict.code, instance_id=str(iid))
            raise ConcurrencyConflict(
                str(iid), expected=expected, actual=agg.version, attempts=attempt
            )
        return agg

    def load(self, iid: UUID, *, fresh: bool, fastforward: bool = False) -> WorkflowInstance:
        """A fork of the instance: the cached copy (brought up to date with ``fastforward``)
        or, with ``fresh`` or on a miss, the store's."""
        cached = None if fresh else self.cache.get(iid)
        if cached is not None:
            agg = fork(cached)
            if fastforward:
                with translate_errors("reading events", self.label):
                    for event in self.app.instance_events(iid, gt=agg.version):
                        event.mutate(agg)
            return agg
        with translate_errors("reading an instance", self.label):
            loaded = self.app.instance(iid)
        self.cache.put(loaded)
        return fork(loaded)

    def _stored_already(self, agg: WorkflowInstance) -> bool:
        """Whether the event the store refused at ``agg.version`` is this very event: its
        write was durable but the acknowledgement was lost, and the store's own retry of
        the insert (eventsourcing retries on a dropped connection) found it there. Without
        this check the command would be decided again and recorded twice, or refused
        although it was recorded. The event's hash covers its body, time and predecessor,
        so an equal hash is this command's event."""
        try:
            with translate_errors("reading events", self.label):
                stored = next(self.app.instance_events(agg.id, gt=agg.version - 1,
                                                       lte=agg.version), None)  # fmt: skip
        except EngineError:
            return False
        ours = stored is not None and getattr(stored, "hash", None) == agg.last_hash
        if ours:
            _log.info("write_found_durable", instance_id=str(agg.id), version=agg.version)
            for callback in self.after_commit:
                try:
                    callback()
                except Exception as exc:  # after commit, every failure is only logged
                    _after_commit_failed(agg, exc)
        return ours

    def _save(self, agg: WorkflowInstance) -> bool:
        """Record ``agg``'s pending event; ``False`` when another writer took its version."""
        return self.save_all([agg])

    def save_all(self, aggs: Sequence[WorkflowInstance]) -> bool:
        """Record the pending events of ``aggs`` in one write transaction, all or none;
        ``False`` when another writer took one of their versions."""
        hook: InlineHook | None = None
        with translate_errors("recording the event", self.label):
            events = [e for agg in aggs for e in agg.collect_events()]
            if self.inline is not None:
                hook = self.inline(cast("Sequence[WorkflowInstance.Event]", events))
            try:
                ids = self.app.record(events, hook)  # on SQLite: joins a group commit
            except Exception as exc:
                if is_write_conflict(exc):
                    return False
                raise
            if ids:
                self.last_position = max(self.last_position, ids[-1])
        # The events are durable from here on: nothing below may fail the command, or a
        # client would retry a command that was recorded and record it twice.
        for agg in aggs:
            for callback in self.after_commit:
                try:
                    callback()
                except Exception as exc:  # after commit, every failure is only logged
                    _after_commit_failed(agg, exc)
            if self.app.snapshots is not None and agg.version % SNAPSHOT_INTERVAL == 0:
                self._snapshot(agg)
        return True

    def _snapshot(self, agg: WorkflowInstance) -> None:
        """Best effort: a snapshot only speeds up loading; a failure is logged, never raised
        (another writer may have taken this version's snapshot, or the disk may be full)."""
        try:
            self.app.snapshots.put([WorkflowInstance.Snapshot.take(agg)])  # type: ignore[union-attr]
        except Exception as exc:  # after commit, every failure is only logged
            _log.warning(
                "snapshot_failed", instance_id=str(agg.id), version=agg.version,
                error=type(exc).__name__,
            )  # fmt: skip


def _after_commit_failed(agg: WorkflowInstance, exc: Exception) -> None:
    _log.warning("after_commit_failed", instance_id=str(agg.id), error=type(exc).__name__)


def _bound(iid: UUID, trigger: str, correlation_id: str | None) -> EngineLogger:
    """The logger of one ``fire`` (its instance, trigger and correlation id bound)."""
    return _log.bind(instance_id=str(iid), trigger=trigger, correlation_id=correlation_id)


def _body(  # noqa: PLR0917 - one private call site, each argument a field of the event
    decision: Decision,
    definition_hash: str,
    actor: Actor,
    reason: str | None,
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


def _with_deadlines(body: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    """``body`` with the deadlines it cancels and schedules, when it has any to say."""
    if changes is not None:
        body["deadlines"] = changes
    return body


step_body = _body
"""The body of a decided step (for the deadline worker, which records as the system)."""


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
