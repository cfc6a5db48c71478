"""Deciding and recording amendments: corrections, their approval, evidence and notes.

Each command loads the instance, checks the definition's :class:`~engine.definition.
audit_policy.AuditPolicy` (roles, correctable fields, four eyes), builds one internal event
and records it in one write transaction; a refused command raises a typed error and writes
nothing. A lost race re-decides on fresh state a bounded number of times.

A correction re-runs every guard of the corrected event's transition on what was known when
that event was recorded (the data before it, folded with the corrections in effect; the
event's actor and time) with the corrected payload: if one would now fail, the correction
is refused with that guard's reason. Its approval re-runs them once more.
"""

# long module: the four amendment commands share one load-decide-record loop and the
# policy checks; each decision is a short function below it.

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from engine.commands.clock import command_time
from engine.commands.compiled import CompiledWorkflow
from engine.commands.context import bound_call
from engine.commands.service import MAX_ATTEMPTS, CommandService
from engine.corrections.fold import effect_of, fold
from engine.corrections.seam import opened, sealed
from engine.definition.audit_policy import AuditPolicy
from engine.definition.model import START_STATE, SYSTEM_ROLE, TransitionDef
from engine.errors import ConcurrencyConflict, InvalidCorrection, PermissionDenied
from engine.instance import amendments as am
from engine.instance.aggregate import WorkflowInstance
from engine.instance.convert import view_of
from engine.instance.hashing import GENESIS_HASH
from engine.instance.identity import actor_key
from engine.instance.upcasting import STARTED, TRANSITIONED
from engine.instance.views import Actor, InstanceView
from engine.logs import get_logger
from engine.persistence.store import translate_errors

__all__ = ["AmendmentService", "Decided"]

_log = get_logger("socieux.engine")


@dataclass(frozen=True)
class Decided:
    """An amendment decided on an instance: its event class, trigger, record and guards."""

    kind: type[WorkflowInstance.Event]
    field: str
    record: dict[str, Any]
    guards: list[dict[str, Any]]


Decide = Callable[[WorkflowInstance, CompiledWorkflow, AuditPolicy, Actor], Decided]


@dataclass
class AmendmentService:
    """Records amendments over the engine's command service (one per engine)."""

    commands: CommandService

    def record(
        self,
        iid: UUID,
        trigger: str,
        decide: Decide,
        *,
        actor: Actor | None,
        reason: str | None,
    ) -> InstanceView:
        """Decide with ``decide`` on the instance's current state and record the event."""
        who, corr, cause = bound_call(actor, None, None)
        fresh = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            agg = self.commands.load(iid, fresh=fresh)
            compiled = self.commands.registry.by_hash(agg.definition_hash)
            policy = _policy(compiled, trigger, who)
            decided = decide(agg, compiled, policy, who)
            now = command_time(self.commands.clock, agg.modified_on)
            body = {
                "trigger": trigger, "source": agg.state, "dest": agg.state, "payload": {},
                "definition_hash": agg.definition_hash, "collect_as": None,
                "audit": {"actor_id": who.id, "role": who.role, "reason": reason,
                          "correlation_id": corr, "causation_id": cause,
                          "guards": decided.guards},
                decided.field: decided.record,
            }  # fmt: skip
            agg.amend(decided.kind, at=now, body=body)
            if self.commands.save_all([agg]):
                self.commands.cache.put(agg)
                _log.info("amendment_recorded", instance_id=str(iid), trigger=trigger,
                          version=agg.version, role=who.role)  # fmt: skip
                return view_of(agg, copy_data=True)
            self.commands.cache.evict(iid)
            fresh = True
            _log.info("write_conflict", instance_id=str(iid), attempt=attempt)
        raise ConcurrencyConflict(str(iid), expected=None, actual=None, attempts=MAX_ATTEMPTS)

    def events(self, agg: WorkflowInstance) -> list[WorkflowInstance.Event]:
        """The instance's stored events up to ``agg``'s version."""
        with translate_errors("reading events", self.commands.label):
            return list(self.commands.app.instance_events(agg.id, lte=agg.version))

    # ------------------------------------------------------------------ corrections
    def correction(self, version: int, changes: Mapping[str, Any]) -> Decide:
        """The decision of a correction of ``changes`` to the payload of event ``version``."""

        def decide(
            agg: WorkflowInstance, compiled: CompiledWorkflow, policy: AuditPolicy, who: Actor
        ) -> Decided:
            del who  # the role was checked against the policy already
            events = self.events(agg)
            target = _target(events, version)
            fields = policy.fields_of(target.trigger)
            unknown = sorted(f for f in changes if f not in fields or f not in target.payload)
            if unknown:
                allowed = ", ".join(f for f in fields if f in target.payload) or "none"
                msg = (f"event {version} ({target.trigger}) has no correctable field "
                       f"{', '.join(map(repr, unknown))} (correctable: {allowed})")  # fmt: skip
                raise InvalidCorrection(msg, version=version, fields=unknown)
            _no_pending(agg, version, changes)
            amended = am.state_of(agg, "amended")
            stored_now = {**target.payload, **amended.get(str(version), {})}
            current = opened(self.commands, agg.id, stored_now)
            new, guards = self._recheck(agg, compiled, events, target, {**current, **changes})
            same = sorted(f for f in changes if new[f] == current[f])
            if same:
                raise InvalidCorrection(f"no change to {', '.join(same)}", fields=same)
            model = _transition(compiled, target).payload
            values = sealed(self.commands, agg.id, agg.version + 1, model,
                            {f: new[f] for f in changes})  # fmt: skip
            record: dict[str, Any] = {
                "target": {"version": version, "trigger": target.trigger,
                           "collect_as": target.collect_as},
                "changes": [{"field": f, "old": stored_now[f], "new": values[f]}
                            for f in sorted(values)],
                "pending": policy.four_eyes,
                "effect": None if policy.four_eyes else self._effect(agg, events, target, values),
            }  # fmt: skip
            return Decided(WorkflowInstance.Corrected, "correction", record, guards)

        return decide

    def approval(self, correction: int) -> Decide:
        """The decision of approving the pending correction recorded at ``correction``."""

        def decide(
            agg: WorkflowInstance, compiled: CompiledWorkflow, policy: AuditPolicy, who: Actor
        ) -> Decided:
            del policy  # the role was checked against the policy already
            record = am.state_of(agg, "corrections").get(str(correction))
            if record is None or record["status"] != "pending":
                what = "is already in effect" if record else "is not a correction"
                msg = f"version {correction} {what}: nothing awaits approval there"
                raise InvalidCorrection(msg, version=correction)
            if actor_key(who.id) == actor_key(str(record["requested_by"])):
                why = "separation of duties: the requester of a correction may not approve it"
                raise PermissionDenied(am.APPROVE_TRIGGER, who.role, who.id, "separation", why)
            events = self.events(agg)
            version = int(record["target"]["version"])
            target = _target(events, version)
            amended = am.state_of(agg, "amended")
            values = {str(c["field"]): c["new"] for c in record["changes"]}
            stored_now = {**target.payload, **amended.get(str(version), {}), **values}
            plain = opened(self.commands, agg.id, stored_now)
            _, guards = self._recheck(agg, compiled, events, target, plain)
            out = {"correction": correction,
                   "requested_by": record["requested_by"],
                   "effect": self._effect(agg, events, target, values)}  # fmt: skip
            return Decided(WorkflowInstance.CorrectionApproved, "approval", out, guards)

        return decide

    def _recheck(
        self,
        agg: WorkflowInstance,
        compiled: CompiledWorkflow,
        events: list[WorkflowInstance.Event],
        target: WorkflowInstance.Event,
        payload: Mapping[str, Any],
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The corrected payload validated, and the target's guards re-run on it."""
        t = _transition(compiled, target)
        model = compiled.validate_payload(t, dict(payload), target.audit.get("reason"))
        version = target.originator_version
        view = self._before(agg, compiled, events, version)
        audit = target.audit
        who = Actor(str(audit["actor_id"]), str(audit["role"]))
        decision = compiled.run_guards(view, t, model, who, target.timestamp)
        return decision.payload, decision.guards

    def _before(
        self,
        agg: WorkflowInstance,
        compiled: CompiledWorkflow,
        events: list[WorkflowInstance.Event],
        version: int,
    ) -> InstanceView:
        """The instance as known just before event ``version``, with the corrections in effect."""
        if version == 1:
            at = events[0].timestamp
            return InstanceView.model_construct(
                id=agg.id, workflow=agg.workflow, definition_version=compiled.definition.version,
                definition_hash=compiled.hash, state=START_STATE, data={}, version=0,
                created_at=at, updated_at=at, state_entered_at=at, fired_by={}, acted_as={},
                last_hash=GENESIS_HASH,
            )  # fmt: skip
        with translate_errors("reading an instance", self.commands.label):
            earlier = self.commands.app.instance(agg.id, version - 1)
        data = fold(events, am.state_of(agg, "amended"), upto=version - 1).data
        return view_of(earlier, copy_data=False).model_copy(update={"data": data})

    def _effect(
        self,
        agg: WorkflowInstance,
        events: list[WorkflowInstance.Event],
        target: WorkflowInstance.Event,
        values: Mapping[str, Any],
    ) -> dict[str, Any]:
        folded = fold(events, am.state_of(agg, "amended"))
        version = target.originator_version
        return effect_of(folded, version, target.collect_as, values)


def _transition(compiled: CompiledWorkflow, target: WorkflowInstance.Event) -> TransitionDef:
    """The definition's transition that recorded ``target``."""
    return compiled.transition(target.source or START_STATE, target.trigger)


def _policy(compiled: CompiledWorkflow, trigger: str, who: Actor) -> AuditPolicy:
    """The definition's policy, and the actor's role allowed for ``trigger`` by it."""
    if who.role == SYSTEM_ROLE:
        why = f"only the engine's due deadlines act in the role {SYSTEM_ROLE!r}"
        raise PermissionDenied(trigger, who.role, who.id, "system", why)
    compiled.check_role(who)
    policy = compiled.definition.audit
    roles: tuple[str, ...] = ()
    if policy is not None:
        roles = {
            am.CORRECT_TRIGGER: policy.correct_roles,
            am.APPROVE_TRIGGER: policy.approve_roles,
            am.EVIDENCE_TRIGGER: policy.evidence_roles,
            am.NOTE_TRIGGER: policy.annotate_roles,
        }[trigger]
    if policy is None or who.role not in roles:
        allowed = ", ".join(roles) or f"none: {compiled.definition.key} allows no {trigger}"
        why = f"role {who.role!r} may not record {trigger} (allowed: {allowed})"
        raise PermissionDenied(trigger, who.role, who.id, "role", why)
    return policy


def _target(events: list[WorkflowInstance.Event], version: int) -> WorkflowInstance.Event:
    if not 1 <= version <= len(events):
        msg = f"the instance has no version {version} (it has {len(events)})"
        raise InvalidCorrection(msg, version=version)
    target = events[version - 1]
    topic = type(target).TOPIC  # type: ignore[attr-defined]
    if topic not in {STARTED, TRANSITIONED}:
        msg = f"version {version} is a {target.trigger} event; only workflow steps are corrected"
        raise InvalidCorrection(msg, version=version)
    return target


def _no_pending(agg: WorkflowInstance, version: int, changes: Mapping[str, Any]) -> None:
    if not changes:
        raise InvalidCorrection("a correction names at least one field", version=version)
    for at, record in am.state_of(agg, "corrections").items():
        if record["status"] != "pending" or int(record["target"]["version"]) != version:
            continue
        clash = sorted({str(c["field"]) for c in record["changes"]} & set(changes))
        if clash:
            msg = f"a correction of {', '.join(clash)} (version {at}) awaits approval"
            raise InvalidCorrection(msg, version=version, pending=int(at))
