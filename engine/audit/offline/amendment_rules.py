"""The rules of amendments (corrections, approvals, evidence, notes), from the history alone.

Standard library only. An amendment never moves the instance (its dest is the state the
history reached, its payload empty) and is recorded in a role the definition's ``audit``
policy allows. A correction names an earlier workflow step (``Started`` or ``Transitioned``)
by version and its trigger, amends only fields the policy lets be corrected for that trigger
and that the step's payload has, states each field's old value as the one in effect (the
recorded one, or the last correction's), records one passing result per guard of the step,
and, where four eyes are required, takes effect only by an approval: a later
``CorrectionApproved`` by someone other than its requester, in an approving role. The
effect recorded (the new data values) must be the correction's new values.
"""

# long module: the four amendment kinds share one per-instance memory and its checks.

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from .definition import START_STATE, Rules
from .rules import Event, Finding, Track, recorded_guards

__all__ = [
    "AMENDMENT_TOPICS",
    "AmendTrack",
    "AuditRules",
    "check_amendment",
    "remember_step",
]

CORRECTED = "socieux.instance:Corrected"
APPROVED = "socieux.instance:CorrectionApproved"
EVIDENCE = "socieux.instance:EvidenceAttached"
NOTED = "socieux.instance:Noted"
TRIGGERS = {CORRECTED: "__correct__", APPROVED: "__approve_correction__",
            EVIDENCE: "__attach_evidence__", NOTED: "__note__"}  # fmt: skip
AMENDMENT_TOPICS = frozenset(TRIGGERS)
_STEPS = ("socieux.instance:Started", "socieux.instance:Transitioned")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _strs(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


@dataclass(frozen=True, slots=True)
class AuditRules:
    """A definition's ``audit`` policy, as the rules read it."""

    correctable: Mapping[str, tuple[str, ...]]
    roles: Mapping[str, tuple[str, ...]]
    """By amendment trigger, the roles that may record it."""
    validate_roles: tuple[str, ...]
    four_eyes: bool
    evidence_types: tuple[str, ...]
    tolerance: int = 86_400
    """How far (seconds) an effective time may lie after the recorded time."""

    @classmethod
    def of(cls, d: object) -> AuditRules | None:
        """The policy of dict ``d`` (``to_dict``'s ``audit``), or ``None`` when absent."""
        if not isinstance(d, dict):
            return None
        fixes = d.get("correctable")
        correctable = (
            {str(k): _strs(v) for k, v in fixes.items()} if isinstance(fixes, dict) else {}
        )
        roles = {
            "__correct__": _strs(d.get("correct_roles")),
            "__approve_correction__": _strs(d.get("approve_roles")),
            "__attach_evidence__": _strs(d.get("evidence_roles")),
            "__note__": _strs(d.get("annotate_roles")),
        }
        seconds = d.get("future_tolerance_seconds")
        tolerance = seconds if type(seconds) is int else 86_400
        return cls(correctable, roles, _strs(d.get("validate_roles")),
                   d.get("four_eyes") is not False, _strs(d.get("evidence_types")),
                   tolerance)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Step:
    topic: str
    trigger: str | None
    source: str | None
    collect_as: object
    payload: Mapping[str, object]
    """The values of its correctable fields only."""


@dataclass
class AmendTrack:
    """What the amendment rules remember of one instance (only under an ``audit`` policy)."""

    steps: dict[int, _Step] = field(default_factory=dict)
    amended: dict[int, dict[str, object]] = field(default_factory=dict)
    corrections: dict[int, dict[str, object]] = field(default_factory=dict)


def _key(actor: object) -> str:
    return unicodedata.normalize("NFKC", str(actor)).casefold()


def remember_step(mem: AmendTrack, audit: AuditRules, ev: Event, fields: Mapping[str, object],
                  version: int) -> None:  # fmt: skip
    """Keep what a later correction of this event needs (its correctable fields' values)."""
    payload = fields.get("payload")
    names = audit.correctable.get(ev.trigger or "", ())
    kept = {k: v for k, v in payload.items() if k in names} if isinstance(payload, dict) else {}
    mem.steps[version] = _Step(ev.topic or "", ev.trigger, ev.source, ev.collect_as, kept)


def _common(before: Track, ev: Event, fields: Mapping[str, object], audit: AuditRules | None
            ) -> list[Finding]:  # fmt: skip
    out: list[Finding] = []
    expected = TRIGGERS[ev.topic or ""]
    if ev.trigger != expected:
        out.append(("trigger", f"an amendment records {ev.trigger!r}, not {expected!r}"))
    if before.known and ev.dest != before.state:
        out.append(("dest", f"an amendment stays in {before.state!r}, not {ev.dest!r}"))
    if fields.get("payload") != {} or ev.collect_as is not None or ev.deadlines is not None:
        out.append(("amendment", "an amendment carries no payload, collects nothing and "
                    "schedules no deadline"))  # fmt: skip
    if audit is None:
        out.append(("amendment", f"{expected} is recorded, but the definition declares no "
                    "audit policy"))  # fmt: skip
    elif ev.role not in audit.roles.get(expected, ()):
        allowed = ", ".join(audit.roles.get(expected, ())) or "none"
        out.append(("role", f"role {ev.role!r} may not record {expected} (allowed: {allowed})"))
    return out


def _effect(effect: object, values: Mapping[str, object], step: _Step) -> list[Finding]:
    """A recorded effect sets only the correction's fields, to its new values."""
    if not isinstance(effect, dict):
        return [("amendment", "a correction in effect records no effect")]
    data, collected = effect.get("data", {}), effect.get("collected", [])
    out: list[Finding] = []
    if not isinstance(data, dict) or any(k not in values or values[k] != v
                                         for k, v in data.items()):  # fmt: skip
        out.append(("amendment", f"its effect sets {data!r}, not the corrected values"))
    for item in collected if isinstance(collected, list) else [None]:
        ok = isinstance(item, dict) and item.get("key") == step.collect_as
        got = item.get("fields") if isinstance(item, dict) else None
        if (
            not ok
            or not isinstance(got, dict)
            or any(k not in values or values[k] != v for k, v in got.items())
        ):
            out.append(("amendment", f"its effect on collected items ({item!r}) is not the "
                        "corrected values"))  # fmt: skip
    return out


def _guards(ev: Event, step: _Step, rules: Rules) -> list[Finding]:
    origin = step.source or START_STATE
    transition = rules.step(origin, step.trigger)
    if transition is None:
        return [("guards", f"the corrected step {step.trigger!r} is not a transition")]
    return recorded_guards(ev, transition)


def _changes(step: _Step, changes: list[object], allowed: tuple[str, ...],
             current: Mapping[str, object]) -> tuple[dict[str, object], list[Finding]]:  # fmt: skip
    """The new values of ``changes``, and the breaches of its fields and old values."""
    out: list[Finding] = []
    values: dict[str, object] = {}
    for c in changes:
        name = c.get("field") if isinstance(c, dict) else None
        if not isinstance(name, str) or name not in allowed or name not in current:
            out.append(("amendment", f"field {name!r} of {step.trigger!r} is not correctable"))
            continue
        old = c.get("old") if isinstance(c, dict) else None
        if old != current[name]:
            out.append(("amendment", f"it says {name!r} was {old!r}; it was "
                        f"{current[name]!r}"))  # fmt: skip
        values[name] = c.get("new") if isinstance(c, dict) else None
    return values, out


def _clashes(mem: AmendTrack, tv: int, values: Mapping[str, object]) -> list[Finding]:
    return [
        ("amendment", f"the correction at version {at} of these fields awaits approval")
        for at, other in mem.corrections.items()
        if other["status"] == "pending" and other["target"] == tv
        and set(other["values"]) & set(values)  # type: ignore[call-overload]
    ]  # fmt: skip


def _correction(mem: AmendTrack, audit: AuditRules, ev: Event, rec: object, *, version: int,
                rules: Rules) -> list[Finding]:  # fmt: skip
    if not isinstance(rec, dict) or not isinstance(rec.get("target"), dict):
        return [("amendment", "a Corrected event without its correction record")]
    target, changes = rec["target"], rec.get("changes")
    tv = target.get("version")
    step = mem.steps.get(tv) if type(tv) is int and tv < version else None
    if step is None or step.topic not in _STEPS:
        return [("amendment", f"it corrects version {tv!r}, which is no earlier workflow step")]
    out: list[Finding] = []
    if target.get("trigger") != step.trigger or target.get("collect_as") != step.collect_as:
        out.append(("amendment", f"it names {target.get('trigger')!r}; version {tv} fired "
                    f"{step.trigger!r}"))  # fmt: skip
    if not isinstance(changes, list) or not changes:
        return [*out, ("amendment", "a correction changes no field")]
    allowed = audit.correctable.get(step.trigger or "", ())
    current = {**step.payload, **mem.amended.get(tv, {})}
    values, found = _changes(step, changes, allowed, current)
    out += found
    pending = rec.get("pending") is True
    if audit.four_eyes and not pending:
        out.append(("separation", "the definition requires a second person's approval, but "
                    "the correction takes effect at once"))  # fmt: skip
    if not pending:
        out += _effect(rec.get("effect"), values, step)
    if not (isinstance(ev.reason, str) and ev.reason.strip()):
        out.append(("reason", "a correction requires a reason; none is recorded"))
    out += _clashes(mem, tv, values) + _guards(ev, step, rules)
    mem.corrections[version] = {"target": tv, "values": values, "requester": ev.actor,
                                "status": "pending" if pending else "applied"}  # fmt: skip
    if not pending:
        mem.amended.setdefault(tv, {}).update(values)
    return out


def _approval(mem: AmendTrack, ev: Event, rec: object, rules: Rules) -> list[Finding]:
    if not isinstance(rec, dict):
        return [("amendment", "a CorrectionApproved event without its approval record")]
    cv = rec.get("correction")
    corr = mem.corrections.get(cv) if type(cv) is int else None
    if corr is None or corr["status"] != "pending":
        return [("amendment", f"it approves version {cv!r}, which is no pending correction")]
    out: list[Finding] = []
    requester = corr["requester"]
    if rec.get("requested_by") != requester:
        out.append(("amendment", f"it names {rec.get('requested_by')!r} as the requester; it "
                    f"was {requester!r}"))  # fmt: skip
    if ev.actor is None or _key(ev.actor) == _key(requester):
        out.append(("separation", f"{ev.actor!r} requested this correction, so may not "
                    "approve it"))  # fmt: skip
    tv = corr["target"]
    step = mem.steps[tv]  # type: ignore[index]
    values = corr["values"]
    out += _effect(rec.get("effect"), values, step)  # type: ignore[arg-type]
    out += _guards(ev, step, rules)
    corr["status"] = "applied"
    mem.amended.setdefault(tv, {}).update(values)  # type: ignore[arg-type, call-overload]
    return out


def _evidence(audit: AuditRules, ev: Event, rec: object) -> list[Finding]:
    if not isinstance(rec, dict):
        return [("amendment", "an EvidenceAttached event without its evidence record")]
    out: list[Finding] = []
    if rec.get("type") not in audit.evidence_types:
        out.append(("amendment", f"evidence of unknown type {rec.get('type')!r}"))
    sha, size = rec.get("sha256"), rec.get("size")
    if not (isinstance(sha, str) and _SHA256.fullmatch(sha)):
        out.append(("amendment", "evidence without a sha256 fingerprint"))
    if type(size) is not int or size < 0:
        out.append(("amendment", f"evidence of size {size!r}"))
    if rec.get("validated") is True and ev.role not in audit.validate_roles:
        out.append(("role", f"role {ev.role!r} may not attach validated evidence"))
    return out


def _note(rec: object) -> list[Finding]:
    if not isinstance(rec, dict) or not isinstance(rec.get("text"), str) or not rec["text"]:
        return [("amendment", "a note without text or with an unknown visibility")]
    if rec.get("visibility") not in {"internal", "public"}:
        return [("amendment", "a note without text or with an unknown visibility")]
    return []


def check_amendment(
    mem: AmendTrack | None,
    before: Track,
    ev: Event,
    fields: Mapping[str, object],
    *,
    version: int,
    rules: Rules | None,
    audit: AuditRules | None,
) -> list[Finding]:
    """Every rule the amendment ``ev`` (at ``version``) breaks."""
    out = _common(before, ev, fields, audit)
    if audit is None or rules is None or mem is None:
        return out
    if ev.topic == CORRECTED:
        out += _correction(mem, audit, ev, fields.get("correction"), version=version, rules=rules)
    elif ev.topic == APPROVED:
        out += _approval(mem, ev, fields.get("approval"), rules)
    elif ev.topic == EVIDENCE:
        out += _evidence(audit, ev, fields.get("evidence"))
    else:
        out += _note(fields.get("note"))
    return out
