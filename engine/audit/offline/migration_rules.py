"""The rules of a ``Migrated`` event, checked from the history alone (standard library only).

A migration moves an instance from the definition it pinned to another version of the same
workflow. The event must name both (name, version, hash) and agree with where the history
is; the *target* definition must declare a migration from the source version that maps the
state it leaves to the state it enters; the actor's role must be one that may apply it, and
not the planner where duties are separated; the recorded upcaster must be the declared
one; the guards recorded must be one pass per guard of the target's transition into that
state; and a reason must be recorded. Its deadlines are recomputed: it cancels every
deadline open before it and schedules the target's deadlines of the state it enters, due
from when the instance entered that state (from the migration's own time if the state
changes), with ids of the migration's version. From the next event on, the target's rules
apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .definition import Rules
from .rules import Event, Finding, Track, recorded_guards

__all__ = ["check_migration"]


def _short(digest: object) -> str:
    return f"{digest[:12]}…" if isinstance(digest, str) and digest else "none"


def _end(m: Mapping[str, object], key: str) -> Mapping[str, object]:
    end = m.get(key)
    return end if isinstance(end, dict) else {}


def _ends(before: Track, ev: Event, m: Mapping[str, object]) -> list[Finding]:
    """``from`` is the definition the history pinned, ``to`` the one the event pins."""
    out: list[Finding] = []
    source, target = _end(m, "from"), _end(m, "to")
    if source.get("hash") != before.definition:
        got, had = _short(source.get("hash")), _short(before.definition)
        out.append(("migration", f"migrates from {got}, but the instance was on {had}"))
    if target.get("hash") != ev.definition_hash:
        got, pins = _short(target.get("hash")), _short(ev.definition_hash)
        out.append(("migration", f"migrates to {got}, but the event pins {pins}"))
    r = before.rules
    if r is not None and (source.get("name"), source.get("version")) != (r.name, r.version):
        out.append(("migration", f"names its source {source.get('name')}@"
                    f"{source.get('version')}; it was {r.name}@{r.version}"))  # fmt: skip
    return out


def check_migration(
    before: Track, ev: Event, target: Rules | None, version: int | None = None
) -> list[Finding]:
    """Every rule the ``Migrated`` event ``ev`` (at ``version``) breaks (``target``: its new
    definition)."""
    out = _checked(before, ev, target)
    if target is not None and version is not None:
        out += migrated_deadlines(before, ev, target, version)
    return out


def migrated_deadlines(before: Track, ev: Event, target: Rules, version: int) -> list[Finding]:
    """The migration cancels every open deadline and schedules the target's for its state,
    due from when the instance entered it (or from the migration, if the state changes)."""
    if not before.known:
        return []
    recorded = dict(ev.deadlines or {})
    out: list[Finding] = []
    cancel = sorted(before.open)
    if recorded.get("cancel", []) != cancel:
        out.append(("deadline", f"the migration cancels {recorded.get('cancel', [])}; the "
                    f"deadlines open were {cancel}"))  # fmt: skip
    at, entered = _time(ev.at), _time(before.entered)
    since = entered if ev.dest == before.state and entered is not None else at
    if since is None or ev.dest is None:
        return out
    declared = target.deadlines.get(ev.dest, ())
    expected = [d.entry(version, since, target.calendars) for d in declared]
    schedule = recorded.get("schedule", [])
    if schedule != expected:
        listed = schedule if isinstance(schedule, list) else [schedule]
        got = [(e.get("id"), e.get("due_at")) if isinstance(e, dict) else e for e in listed]
        want = [(e["id"], e["due_at"]) for e in expected]
        out.append(("deadline", f"migrating into {ev.dest!r} schedules {want} (due from "
                    f"{since.isoformat()}); the event schedules {got}"))  # fmt: skip
    return out


def _time(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _checked(before: Track, ev: Event, target: Rules | None) -> list[Finding]:
    m = ev.migration
    if m is None:
        return [("migration", "a Migrated event without its migration record")]
    out = _ends(before, ev, m)
    if target is None or before.rules is None:
        return out  # an unknown definition is reported once, by the caller
    if target.name != before.rules.name:
        return [*out, ("migration", f"moves a {before.rules.name} to {target.name}")]
    decl = target.migrations.get(before.rules.version)
    if decl is None:
        why = f"{target.name}@{target.version} declares no migration from {before.rules.version}"
        return [*out, ("migration", why)]
    expected = decl.state_map.get(ev.source or "")
    if expected is None:
        out.append(("migration", f"state {ev.source!r} is not mapped by the migration"))
    elif ev.dest != expected:
        out.append(("dest", f"the migration maps {ev.source!r} to {expected!r}, not {ev.dest!r}"))
    if ev.role not in decl.apply_roles:
        allowed = ", ".join(decl.apply_roles)
        out.append(("role", f"role {ev.role!r} may not apply a migration (allowed: {allowed})"))
    planner = _end(m, "planned_by").get("id")
    if decl.separate_duties and ev.actor is not None and ev.actor == planner:
        out.append(("separation", f"{ev.actor!r} planned this migration, so may not apply it"))
    up = m.get("upcaster")
    recorded = (up.get("name"), up.get("version")) if isinstance(up, dict) else None
    if recorded != decl.upcaster:
        out.append(("migration", f"records upcaster {recorded}; the target declares "
                    f"{decl.upcaster}"))  # fmt: skip
    step = target.entering(_text(m.get("entering")), ev.dest)
    if step is None:
        out.append(("guards", f"no transition {m.get('entering')!r} of the target enters "
                    f"{ev.dest!r}"))  # fmt: skip
    else:
        out += recorded_guards(ev, step)
    if not (isinstance(ev.reason, str) and ev.reason.strip()):
        out.append(("reason", "a migration requires a reason; none is recorded"))
    return out


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
