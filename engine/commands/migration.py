"""Migrating instances to another version of their workflow: a plan, then one event each.

:func:`MigrationService.plan` is a dry run. For each selected instance it checks, and
reports all at once, what would keep it where it is: its definition is not installed, the
target declares no migration from its version, its state is not mapped, the data upcaster
refuses or fails, the upcast data does not validate under the payload model of the target's
transition into the mapped state, or that transition's guards (re-run on the upcast data)
refuse. The plan is content-hashed; nothing is written.

:func:`MigrationService.apply` re-runs every check for the plan's ready instances against
their stored state and records one ``Migrated`` event per instance, all in one write
transaction: an instance that moved since the plan (``ConcurrencyConflict``), a check that
now fails (``MigrationBlocked``), a wrong role or the planner approving their own plan
(``PermissionDenied``) writes nothing at all.
"""

# long module: the plan, its items, the result and the two steps that use them (plan,
# apply) read as one contract; the per-instance checks live in migration_checks.

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict

from engine.commands.clock import command_time
from engine.commands.compiled import CompiledWorkflow
from engine.commands.migration_checks import Checked, check_instance
from engine.commands.service import CommandService
from engine.errors import (
    ConcurrencyConflict,
    InvalidArgument,
    MigrationBlocked,
    PermissionDenied,
)
from engine.instance.aggregate import MIGRATE_TRIGGER, WorkflowInstance, open_deadlines
from engine.instance.hashing import hash_fields
from engine.instance.identity import actor_key
from engine.instance.views import Actor
from engine.logs import get_logger

__all__ = ["MigrationItem", "MigrationPlan", "MigrationResult", "MigrationService"]

_log = get_logger("socieux.engine")


class MigrationItem(BaseModel):
    """One instance in a plan: where it is, where it would go, and what stops it."""

    model_config = ConfigDict(frozen=True)

    instance_id: UUID
    version: int
    """The instance's version when planned: applying needs it unchanged."""
    from_version: int | None
    from_hash: str
    state: str
    to_state: str | None
    ok: bool
    problems: list[str]
    entering: str | None = None
    """The target's trigger into ``to_state`` whose payload and guards were checked."""
    guards: list[dict[str, Any]] = []


class MigrationPlan(BaseModel):
    """A dry run of a migration; apply it with :meth:`engine.Engine.migrate`."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    workflow: str
    to_version: int
    to_hash: str
    planned_by: Actor
    planned_at: datetime
    items: list[MigrationItem]
    hash: str
    """sha256 of the plan's canonical JSON without this field (an altered plan is refused)."""

    @property
    def ready(self) -> list[MigrationItem]:
        """The instances that can move."""
        return [i for i in self.items if i.ok]

    @property
    def blocked(self) -> list[MigrationItem]:
        """The instances that cannot, each with its problems."""
        return [i for i in self.items if not i.ok]


class MigrationResult(BaseModel):
    """What :meth:`engine.Engine.migrate` recorded."""

    model_config = ConfigDict(frozen=True)

    plan_id: UUID
    plan_hash: str
    migrated: list[UUID]
    skipped: list[UUID]
    """Instances the plan reported as blocked (left where they are)."""
    positions: list[int] = []


def plan_hash(plan: Mapping[str, Any]) -> str:
    """The content hash of a plan's fields (``hash`` excluded)."""
    fields = {k: v for k, v in plan.items() if k != "hash"}
    return hash_fields(_jsonable(fields))


def _jsonable(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


@dataclass
class MigrationService:
    """Plans and applies migrations over the engine's command service."""

    commands: CommandService

    # ------------------------------------------------------------------ plan
    def plan(
        self,
        workflow: str,
        *,
        to: int,
        candidates: Iterable[UUID],
        explicit: bool,
        states: Iterable[str] | None,
        actor: Actor,
    ) -> MigrationPlan:
        """Check each candidate instance of ``workflow`` (all of them, or those the caller
        named: ``explicit``) in ``states`` against version ``to``; write nothing."""
        target = self.commands.registry.get(workflow, to)
        _check_role(target, actor, plan=True)
        now = command_time(self.commands.clock)
        wanted = None if states is None else set(states)
        items = [
            self._item(agg, target, actor, now)
            for agg in self._selected(workflow, target, candidates, explicit=explicit)
            if wanted is None or agg.state in wanted
        ]
        body: dict[str, Any] = {
            "id": uuid4(), "workflow": workflow, "to_version": to, "to_hash": target.hash,
            "planned_by": actor, "planned_at": now, "items": items,
        }  # fmt: skip
        plan = MigrationPlan(**body, hash=plan_hash(_jsonable(body)))
        _log.info("migration_planned", plan_id=str(plan.id), ready=len(plan.ready),
                  blocked=len(plan.blocked))  # fmt: skip
        return plan

    def _selected(
        self, workflow: str, target: CompiledWorkflow, ids: Iterable[UUID], *, explicit: bool
    ) -> list[WorkflowInstance]:
        chosen: list[WorkflowInstance] = []
        for iid in dict.fromkeys(ids):
            agg = self.commands.load(iid, fresh=explicit)
            if agg.workflow != workflow:
                if explicit:
                    msg = f"instance {agg.id} is a {agg.workflow!r}, not a {workflow!r}"
                    raise InvalidArgument(msg, argument="instances")
                continue
            if agg.definition_hash != target.hash:
                chosen.append(agg)
        return chosen

    def _item(
        self, agg: WorkflowInstance, target: CompiledWorkflow, actor: Actor, now: datetime
    ) -> MigrationItem:
        checked = check_instance(self.commands, agg, target, actor, now)
        return MigrationItem(
            instance_id=agg.id, version=agg.version, from_version=checked.from_version,
            from_hash=agg.definition_hash, state=agg.state, to_state=checked.to_state,
            ok=not checked.problems, problems=checked.problems, entering=checked.entering,
            guards=checked.guards,
        )  # fmt: skip

    # ------------------------------------------------------------------ apply
    def apply(self, plan: MigrationPlan, *, actor: Actor, reason: str) -> MigrationResult:
        """Record the plan's ready instances, all or none (see the module's docstring)."""
        target = self._target_of(plan)
        _check_role(target, actor, plan=False)
        _check_separation(target, plan, actor)
        now = command_time(self.commands.clock)
        aggs: list[WorkflowInstance] = []
        problems: list[dict[str, Any]] = []
        for item in plan.ready:
            agg = self.commands.load(item.instance_id, fresh=True)
            if agg.version != item.version:
                raise ConcurrencyConflict(
                    str(agg.id), expected=item.version, actual=agg.version, attempts=1
                )
            checked = check_instance(self.commands, agg, target, actor, now)
            if checked.problems:
                problems.append({"instance_id": str(agg.id), "problems": checked.problems})
                continue
            _record(agg, checked, plan, target, actor, reason, now)
            aggs.append(agg)
        if problems:
            raise MigrationBlocked(
                f"{len(problems)} instance(s) of the plan can no longer migrate", problems
            )
        positions = self._save(aggs, plan)
        return MigrationResult(
            plan_id=plan.id, plan_hash=plan.hash, migrated=[a.id for a in aggs],
            skipped=[i.instance_id for i in plan.blocked], positions=positions,
        )  # fmt: skip

    def _target_of(self, plan: MigrationPlan) -> CompiledWorkflow:
        if not isinstance(plan, MigrationPlan):
            raise InvalidArgument("plan must be a MigrationPlan", argument="plan")
        if plan_hash(_jsonable(plan.model_dump())) != plan.hash:
            raise InvalidArgument("the plan was altered after it was made", argument="plan")
        target = self.commands.registry.by_hash(plan.to_hash)
        if (target.name, target.definition.version) != (plan.workflow, plan.to_version):
            raise InvalidArgument("the plan names another definition", argument="plan")
        return target

    def _save(self, aggs: list[WorkflowInstance], plan: MigrationPlan) -> list[int]:
        if not aggs:
            return []
        if not self.commands.save_all(aggs):
            for agg in aggs:
                self.commands.cache.evict(agg.id)
            raise ConcurrencyConflict(str(plan.id), expected=None, actual=None, attempts=1)
        for agg in aggs:
            self.commands.cache.put(agg)
        _log.info("migration_applied", plan_id=str(plan.id), migrated=len(aggs))
        return [self.commands.last_position]


def _check_role(target: CompiledWorkflow, actor: Actor, *, plan: bool) -> None:
    """The actor's role may plan (or apply) some migration the target declares."""
    decls = target.definition.migrations
    if not decls:
        raise MigrationBlocked(f"{target.definition.key} declares no migration to it")
    allowed = sorted({r for m in decls for r in (m.plan_roles if plan else m.apply_roles)})
    if actor.role not in allowed:
        what = "plan" if plan else "apply"
        reason = f"role {actor.role!r} may not {what} a migration (allowed: {', '.join(allowed)})"
        raise PermissionDenied(MIGRATE_TRIGGER, actor.role, actor.id, "role", reason)


def _check_separation(target: CompiledWorkflow, plan: MigrationPlan, actor: Actor) -> None:
    separate = any(m.separate_duties for m in target.definition.migrations)
    if separate and actor_key(actor.id) == actor_key(plan.planned_by.id):
        reason = "separation of duties: the actor who planned the migration may not apply it"
        raise PermissionDenied(MIGRATE_TRIGGER, actor.role, actor.id, "separation", reason)


def _record(  # noqa: PLR0917 - one private call site; each argument is a part of the event
    agg: WorkflowInstance,
    checked: Checked,
    plan: MigrationPlan,
    target: CompiledWorkflow,
    actor: Actor,
    reason: str,
    now: datetime,
) -> None:
    body = _migrated_body(agg, checked, plan, target, actor, reason)
    changes = _deadline_changes(agg, target, str(checked.to_state), now)
    if changes is not None:
        body["deadlines"] = changes
    agg.migrate(at=now, body=body)


def _deadline_changes(
    agg: WorkflowInstance, target: CompiledWorkflow, dest: str, now: datetime
) -> dict[str, Any] | None:
    """A migration re-enters the instance's state under the target: the old definition's
    open deadlines are cancelled and the target's deadlines of ``dest`` scheduled, counted
    from when the instance entered its state (or from now, if the state changes)."""
    since = agg.state_entered_at if dest == agg.state and agg.state_entered_at else now
    opened = open_deadlines(agg)
    return target.deadline_changes(opened, None, dest, since, agg.version + 1)


def _migrated_body(  # noqa: PLR0917 - one private call site; each argument a part of it
    agg: WorkflowInstance,
    checked: Checked,
    plan: MigrationPlan,
    target: CompiledWorkflow,
    actor: Actor,
    reason: str,
) -> dict[str, Any]:
    old, new = agg.data, checked.data
    return {
            "trigger": MIGRATE_TRIGGER,
            "source": agg.state,
            "dest": checked.to_state,
            "payload": {k: v for k, v in new.items() if k not in old or old[k] != v},
            "definition_hash": target.hash,
            "collect_as": None,
            "audit": {
                "actor_id": actor.id, "role": actor.role, "reason": reason,
                "correlation_id": None, "causation_id": None, "guards": checked.guards,
            },
            "migration": {
                "plan_id": str(plan.id),
                "plan_hash": plan.hash,
                "planned_by": {"id": plan.planned_by.id, "role": plan.planned_by.role},
                "from": {"name": agg.workflow, "version": checked.from_version,
                         "hash": agg.definition_hash},
                "to": {"name": target.name, "version": target.definition.version,
                       "hash": target.hash},
                "state_map": dict(checked.state_map),
                "upcaster": checked.upcaster,
                "entering": checked.entering,
                "removed": sorted(k for k in old if k not in new),
            },
        }  # fmt: skip
