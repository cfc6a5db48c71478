"""Amendments: the internal events that correct, approve, attach evidence and annotate.

None of them is a workflow trigger and none moves the instance: source and dest are its
state, trigger one of :data:`TRIGGERS` (no definition can name them: triggers start with a
letter). They never touch ``fired_by`` or ``acted_as``, so correcting or annotating never
counts as having acted in a role for separation of duties.

A correction's *effect* is what it does to the instance's ``data``: the top-level keys whose
current value came from the corrected event (``data``), and the items of collected lists
that event appended (``collected``: key, index, fields). The command that makes it take
effect (the correction itself, or its approval) computes the effect from the history and
records it in its hashed body, so apply only copies it: replay never re-derives it.

Per-instance state kept here (read with :func:`state_of`, absent in older snapshots):
``corrections`` (by the correction's version: target, changes, status, requester and
approver), ``amended`` (by target version: each corrected field's value in effect now) and
``evidence`` (in attachment order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.instance.upcasting import CORRECTED, CORRECTION_APPROVED, EVIDENCE_ATTACHED, NOTED

__all__ = [
    "AMENDMENT_TOPICS",
    "APPROVE_TRIGGER",
    "CORRECTED",
    "CORRECTION_APPROVED",
    "CORRECT_TRIGGER",
    "EVIDENCE_ATTACHED",
    "EVIDENCE_TRIGGER",
    "NOTED",
    "NOTE_TRIGGER",
    "TRIGGERS",
    "apply_approval",
    "apply_correction",
    "apply_effect",
    "apply_evidence",
    "state_of",
]

CORRECT_TRIGGER = "__correct__"
APPROVE_TRIGGER = "__approve_correction__"
EVIDENCE_TRIGGER = "__attach_evidence__"
NOTE_TRIGGER = "__note__"
TRIGGERS = {
    CORRECTED: CORRECT_TRIGGER,
    CORRECTION_APPROVED: APPROVE_TRIGGER,
    EVIDENCE_ATTACHED: EVIDENCE_TRIGGER,
    NOTED: NOTE_TRIGGER,
}
"""The trigger each amendment topic records."""
AMENDMENT_TOPICS = frozenset(TRIGGERS)

_EMPTY: Mapping[str, Any] = {}


def state_of(agg: object, name: str) -> Any:
    """The amendment state ``name`` (``corrections``, ``amended``, ``evidence``) of an
    aggregate; an empty one when it has none (older snapshots, no amendment yet)."""
    found = vars(agg).get(name)
    if found is not None:
        return found
    return [] if name == "evidence" else _EMPTY


def apply_effect(data: Mapping[str, Any], effect: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with a correction's recorded effect applied (a new dict; copy-on-write)."""
    out = {**data, **effect.get("data", {})}
    for item in effect.get("collected", ()):
        key, index = str(item["key"]), int(item["index"])
        listed = list(out.get(key, ()))
        if 0 <= index < len(listed) and isinstance(listed[index], dict):
            listed[index] = {**listed[index], **item["fields"]}
            out[key] = listed
    return out


def _take_effect(agg: Any, version: str, record: Mapping[str, Any], effect: Any) -> None:
    """Apply a correction: its effect on ``data``, the fields' values in ``amended``."""
    if isinstance(effect, dict):
        agg.data = apply_effect(agg.data, effect)
    target = str(record["target"]["version"])
    amended = dict(state_of(agg, "amended"))
    fields = dict(amended.get(target, {}))
    fields.update({str(c["field"]): c["new"] for c in record["changes"]})
    amended[target] = fields
    agg.amended = amended
    corrections = dict(state_of(agg, "corrections"))
    corrections[version] = {**corrections[version], "status": "applied"}
    agg.corrections = corrections


def apply_correction(agg: Any, event: Any) -> None:
    """A ``Corrected`` event: remember it; apply it now unless it awaits approval."""
    record: dict[str, Any] = event.correction
    version = str(event.originator_version)
    corrections = dict(state_of(agg, "corrections"))
    corrections[version] = {
        "target": record["target"],
        "changes": record["changes"],
        "status": "pending",
        "requested_by": event.audit["actor_id"],
        "approved_by": None,
        "reason": event.audit.get("reason"),
    }
    agg.corrections = corrections
    if not record.get("pending"):
        _take_effect(agg, version, record, record.get("effect"))
    agg.last_hash = event.hash


def apply_approval(agg: Any, event: Any) -> None:
    """A ``CorrectionApproved`` event: the pending correction it names takes effect."""
    approval: dict[str, Any] = event.approval
    version = str(approval["correction"])
    corrections = dict(state_of(agg, "corrections"))
    record = corrections.get(version)
    if record is not None:
        corrections[version] = {**record, "approved_by": event.audit["actor_id"]}
        agg.corrections = corrections
        _take_effect(agg, version, record, approval.get("effect"))
    agg.last_hash = event.hash


def apply_evidence(agg: Any, event: Any) -> None:
    """An ``EvidenceAttached`` event: one more document on file, by fingerprint."""
    entry = {**event.evidence, "version": event.originator_version}
    agg.evidence = [*state_of(agg, "evidence"), entry]
    agg.last_hash = event.hash
