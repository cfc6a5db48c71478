"""The checks of one instance against a migration's target, every problem at once.

Used alike when a migration is planned and when it is applied, so the two cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from engine.commands.compiled import CompiledWorkflow, unstorable_texts
from engine.definition.model import START_STATE, MigrationDef, MigrationRefused, TransitionDef
from engine.errors import GuardRejected, UnknownWorkflow
from engine.instance.aggregate import MIGRATE_TRIGGER, WorkflowInstance
from engine.instance.convert import view_of
from engine.instance.views import Actor, InstanceView

if TYPE_CHECKING:
    from engine.commands.service import CommandService

__all__ = ["Checked", "check_instance"]


@dataclass
class Checked:
    """The outcome of the checks of one instance (``problems`` empty: it may move)."""

    from_version: int | None = None
    to_state: str | None = None
    problems: list[str] = field(default_factory=list)
    entering: str | None = None
    guards: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    state_map: Mapping[str, str] = field(default_factory=dict)
    upcaster: dict[str, Any] | None = None


def check_instance(
    commands: CommandService,
    agg: WorkflowInstance,
    target: CompiledWorkflow,
    actor: Actor,
    now: datetime,
) -> Checked:
    """Every reason ``agg`` cannot move to ``target`` now, and what it would become."""
    out = Checked()
    try:
        source = commands.registry.by_hash(agg.definition_hash)
    except UnknownWorkflow:
        out.problems.append(f"its definition {agg.definition_hash[:12]}… is not installed")
        return out
    out.from_version = source.definition.version
    decl = target.definition.migration_from(out.from_version)
    if decl is None:
        key = target.definition.key
        out.problems.append(f"{key} declares no migration from version {out.from_version}")
        return out
    if actor.role not in decl.plan_roles + decl.apply_roles:
        out.problems.append(f"role {actor.role!r} takes no part in this migration")
    out.state_map = decl.state_map
    out.to_state = decl.state_map.get(agg.state)
    if out.to_state is None:
        mapped = ", ".join(sorted(decl.state_map))
        out.problems.append(f"state {agg.state!r} is not mapped (only {mapped} may migrate)")
        return out
    view = view_of(agg, copy_data=True)
    data = _upcast(decl, view, out)
    if data is None:
        return out
    out.data = data
    entering = _entering(commands, agg, target, out.to_state)
    if entering is None:
        out.problems.append(f"no transition of {target.definition.key} enters {out.to_state!r}")
        return out
    out.entering = entering.trigger
    checked = commands.reveal(agg.id, data) if commands.reveal is not None else data
    _check_target(target, entering, view, checked, actor, now, out)
    return out


def _upcast(decl: MigrationDef, view: InstanceView, out: Checked) -> dict[str, Any] | None:
    """The data in the target's shape, or ``None`` (with the problem) if it cannot be."""
    up = decl.upcaster
    if up is None:
        return dict(view.data)
    out.upcaster = {"name": up.name, "version": up.version}
    who = f"upcaster {up.name} v{up.version}"
    try:
        result = up.func(view)
    except MigrationRefused as exc:
        out.problems.append(f"{who} refused: {exc}")
        return None
    except Exception as exc:  # host code: only its type, the message may hold personal data
        out.problems.append(f"{who} raised {type(exc).__name__}")
        return None
    data, problem = _plain_json(result)
    if problem:
        out.problems.append(f"{who} {problem}")
    return data


def _plain_json(result: object) -> tuple[dict[str, Any] | None, str]:
    """``result`` as fresh JSON data, or why it cannot be stored."""
    if not isinstance(result, Mapping):
        return None, "returned no mapping"
    try:
        text = json.dumps(result, allow_nan=False)
    except (TypeError, ValueError):
        return None, "returned data that is not JSON"
    if unstorable_texts(result):
        return None, "returned text that cannot be stored (NUL or invalid Unicode)"
    return dict(json.loads(text)), ""


def _entering(
    commands: CommandService, agg: WorkflowInstance, target: CompiledWorkflow, state: str
) -> TransitionDef | None:
    """The target's transition into ``state``: the one with the trigger that brought the
    instance into its current state, if the target has it, else the first declared."""
    into = [t for t in target.definition.transitions if not t.internal and t.dest == state]
    last: str | None = None
    for event in commands.app.instance_events(agg.id):
        moved_in = event.dest == agg.state and event.source != event.dest
        if moved_in and event.trigger != MIGRATE_TRIGGER:
            last = event.trigger
    return next((t for t in into if t.trigger == last), into[0] if into else None)


def _check_target(  # noqa: PLR0917 - private; the parts of one check
    target: CompiledWorkflow,
    t: TransitionDef,
    view: InstanceView,
    data: dict[str, Any],
    actor: Actor,
    now: datetime,
    out: Checked,
) -> None:
    """The upcast data validates under ``t``'s payload model and passes ``t``'s guards."""
    fields = {k: data[k] for k in t.payload.model_fields if k in data}
    try:
        payload = t.payload.model_validate(fields)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        # An erased or restricted personal field (its marker) was valid when recorded.
        errors = [e for e in errors if not _is_marker(_at(fields, e["loc"]))]
        for e in errors:
            loc = ".".join(str(p) for p in e["loc"]) or "(payload)"
            out.problems.append(f"data does not validate for {t.trigger!r}: {loc}: {e['msg']}")
        if errors:
            return
        payload = t.payload.model_construct(**fields)
    before = t.source[0] if t.source else START_STATE
    probe = view.model_copy(
        update={"state": before, "data": data, "definition_hash": target.hash,
                "definition_version": target.definition.version}
    )  # fmt: skip
    try:
        decision = target.run_guards(probe, t, payload, actor, now)
    except GuardRejected as exc:
        out.problems += [
            f"guard {f.get('name')} of {t.trigger!r} refuses: {f.get('reason')}"
            for f in exc.failures
        ]
        return
    out.guards = decision.guards


def _at(node: object, loc: tuple[int | str, ...]) -> object:
    for part in loc:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not in_list and not (isinstance(node, dict) and part in node):
            return None
        node = node[part]  # type: ignore[index]  # a list or a dict, checked above
    return node


def _is_marker(value: object) -> bool:
    return value in {"[erased]", "[restricted]"}
