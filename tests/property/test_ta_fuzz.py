"""Random commands against the technical-assistance workflow never leave the table.

Hypothesis fires random triggers, as random roles and actors, with valid, broken or junk
payloads, at instances in random states. Whatever happens, every recorded step is a
(source, trigger, dest) of the definition fired by an allowed role, versions have no gaps,
and every refusal is a typed ``EngineError`` (never a crashing guard).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import Actor, Engine, EngineError, GuardRejected
from workflows.technical_assistance import NAME, ROLES, definition
from workflows.technical_assistance.builders import (
    ACTORS,
    PATHS,
    action_plan_payload,
    activity_record_payload,
    approval_payload,
    dissemination_payload,
    evaluation_payload,
    mobilisation_payload,
    request_payload,
    walk_to,
)

DEFN = definition()
TABLE = {
    (src or None, t.trigger, t.dest_from(src) if src else t.dest): set(t.roles)
    for t in DEFN.transitions
    for src in (t.source or ("",))
}
TRIGGERS = sorted({t.trigger for t in DEFN.transitions} | {"bogus"})
CODES = {
    "guard_rejected",
    "invalid_argument",  # e.g. a role the definition does not declare ("stranger")
    "invalid_payload",
    "permission_denied",
    "transition_not_allowed",
    "unknown_trigger",  # "bogus": no transition has it
}

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**9), 10**9)
    | st.text(max_size=12)
    | st.floats(allow_nan=False)
    | st.dates().map(str),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


BY_ROLE = {a.role: a for a in ACTORS.values()}


@dataclass(frozen=True)
class Command:
    aim: bool  # pick a trigger possible from the current state, fired by an allowed role
    choice: int  # which possible trigger and role an aimed command takes
    target: int  # 5 starts a new instance; otherwise an existing one (modulo their number)
    trigger: str
    actor: Actor
    kind: str
    junk: Any
    pick: int
    reason: str | None


commands = st.builds(
    Command,
    aim=st.sampled_from([True, True, True, False]),
    choice=st.integers(0, 2**16),
    target=st.integers(0, 5),
    trigger=st.sampled_from(TRIGGERS),
    actor=st.builds(
        Actor,
        st.sampled_from([a.id for a in ACTORS.values()] + ["x-9"]),
        st.sampled_from([*ROLES, "stranger"]),
    ),
    kind=st.sampled_from(["valid", "valid", "broken", "junk", "none", "not_mapping"]),
    junk=junk,
    pick=st.integers(0, 50),
    reason=st.none() | st.text(max_size=20),
)


def valid_payload(trigger: str, data: dict[str, Any], pick: int) -> dict[str, Any] | None:
    """A payload that would pass the trigger's model and guards for ``data``."""
    activities = data.get("activities") or []
    builders: dict[str, Any] = {
        "submit": request_payload,
        "resubmit": request_payload,
        "fine_tune": action_plan_payload,
        "approve": approval_payload,
        "mobilise": lambda: mobilisation_payload(activities or None),
        "record_activity": lambda: (
            activity_record_payload(activities[pick % len(activities)]) if activities else {}
        ),
        "evaluate": lambda: evaluation_payload(len(data.get("objectives") or [])),
        "disseminate": dissemination_payload,
    }
    build = builders.get(trigger)
    return build() if build else None


def payload_for(cmd: Command, data: dict[str, Any]) -> Any:
    """The command's payload: valid, one field broken, junk, nothing, or not a mapping."""
    if cmd.kind == "none":
        return None
    if cmd.kind == "junk":
        return cmd.junk if isinstance(cmd.junk, dict) else {"x": cmd.junk}
    if cmd.kind == "not_mapping":
        return [cmd.junk]
    payload = valid_payload(cmd.trigger, data, cmd.pick) or {}
    if cmd.kind == "broken" and payload:
        key = sorted(payload)[cmd.pick % len(payload)]
        payload = {**payload, key: cmd.junk}
    return payload


def _aimed(cmd: Command, state: str | None) -> Command:
    """``cmd`` re-aimed at a trigger possible from ``state``, by a role allowed to fire it."""
    options = sorted(k for k in TABLE if k[0] == state)
    if not cmd.aim or not options:
        return cmd
    key = options[cmd.choice % len(options)]
    role = sorted(TABLE[key])[cmd.choice // len(options) % len(TABLE[key])]
    return replace(cmd, trigger=key[1], actor=BY_ROLE[role], reason=cmd.reason or "fuzz")


def _attempt(engine: Engine, ids: list[Any], cmd: Command) -> str:
    if cmd.target == 5:
        cmd = _aimed(cmd, None)
        view = engine.start(
            NAME, payload_for(cmd, {}), actor=cmd.actor, reason=cmd.reason, trigger=cmd.trigger
        )
        ids.append(view.id)
        return cmd.trigger
    view = engine.get(ids[cmd.target % len(ids)])
    cmd = _aimed(cmd, view.state)
    engine.fire(
        view.id, cmd.trigger, payload_for(cmd, view.data), actor=cmd.actor, reason=cmd.reason
    )
    return cmd.trigger


def send(engine: Engine, ids: list[Any], cmd: Command) -> None:
    """Start or fire; a refusal must be a typed error that wrote nothing."""
    target = ids[cmd.target % len(ids)] if cmd.target < 5 else None
    before = engine.get(target).version if target is not None else None
    try:
        trigger = _attempt(engine, ids, cmd)
    except EngineError as exc:
        refusal = exc
    else:
        event(f"recorded: {trigger}")
        return
    event(f"refused: {refusal.code}")
    assert type(refusal) is not EngineError
    assert refusal.code in CODES
    if "is not a role of workflow" in str(refusal):  # aimed commands take declared roles
        assert cmd.actor.role not in ROLES, refusal
    if isinstance(refusal, GuardRejected):
        assert not any(r.startswith("guard error") for r in refusal.reasons), refusal.reasons
    if target is not None:
        assert engine.get(target).version == before


def _in_progress_first(state: str) -> tuple[bool, str]:
    return (DEFN.state(state).final, state)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    states=st.lists(st.sampled_from(sorted(PATHS, key=_in_progress_first)), min_size=1, max_size=3),
    cmds=st.lists(commands, min_size=5, max_size=30),
)
def test_random_commands_only_take_transitions_from_the_table(
    states: list[str], cmds: list[Command]
) -> None:
    with Engine.open("memory://", workflows=[DEFN]) as engine:
        ids = [walk_to(engine, s).id for s in states]
        for cmd in cmds:
            send(engine, ids, cmd)
        for iid in engine.instance_ids():
            history = engine.history(iid)
            assert [h.version for h in history] == list(range(1, len(history) + 1))
            for h in history:
                roles = TABLE.get((h.source, h.trigger, h.dest))
                assert roles is not None, (h.source, h.trigger, h.dest)
                assert h.role in roles
            assert engine.get(iid).state == history[-1].dest
