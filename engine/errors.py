"""The engine's error hierarchy.

Every error the engine raises derives from :class:`EngineError`. Each class has a
stable, class-level ``code`` string (safe to match on in host apps and scripts) and
structured attributes; ``to_dict()`` gives a JSON-ready form for APIs and the CLI.
"""

# long module: the whole hierarchy stays in one place, so a host reads every code it may
# match on in one file (each class is a few lines: a code, a docstring, its attributes).

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "BatchTooLarge",
    "CommandIdReused",
    "ConcurrencyConflict",
    "EngineError",
    "EnvelopeInvalid",
    "ErasureConflict",
    "GuardRejected",
    "InstanceNotFound",
    "IntegrityViolation",
    "InvalidArgument",
    "InvalidCorrection",
    "InvalidEffectiveTime",
    "InvalidPayload",
    "MigrationBlocked",
    "PermissionDenied",
    "ReplicaInvalid",
    "ReplicaLag",
    "StorageUnavailable",
    "SubjectNotFound",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "UnknownWorkflow",
    "WorkflowDefinitionError",
]


class EngineError(Exception):
    """Root of every error raised by the engine."""

    code: ClassVar[str] = "engine_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"code", "message", **details}``, ready for JSON."""
        return {"code": self.code, "message": self.message, **self.details}


class WorkflowDefinitionError(EngineError, ValueError):
    """A workflow definition is invalid; ``problems`` lists every problem found."""

    code = "definition_invalid"

    def __init__(self, name: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"workflow definition {name!r} has {len(self.problems)} problem(s):\n{lines}",
            workflow=name,
            problems=self.problems,
        )


class UnknownWorkflow(EngineError, LookupError):
    """No workflow definition is registered under this name, version or hash."""

    code = "unknown_workflow"

    def __init__(self, name: str, *, known: Sequence[str] = ()) -> None:
        self.name = name
        self.known = list(known)
        hint = f" (known: {', '.join(self.known)})" if self.known else ""
        super().__init__(f"unknown workflow {name!r}{hint}", workflow=name, known=self.known)


class InstanceNotFound(EngineError, LookupError):
    """No workflow instance has this id (or this version / time does not exist)."""

    code = "instance_not_found"

    def __init__(self, instance_id: str, detail: str = "") -> None:
        self.instance_id = instance_id
        suffix = f": {detail}" if detail else ""
        super().__init__(
            f"workflow instance {instance_id} not found{suffix}", instance_id=instance_id
        )


class InvalidArgument(EngineError, ValueError):
    """A call was made with arguments that cannot be used together or parsed."""

    code = "invalid_argument"


class InvalidPayload(EngineError, ValueError):
    """The command's payload (or reason) failed validation; ``errors`` is per field."""

    code = "invalid_payload"

    def __init__(self, trigger: str, errors: Sequence[Mapping[str, Any]]) -> None:
        self.trigger = trigger
        self.errors = [dict(e) for e in errors]
        summary = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '(payload)'}: {e.get('msg', '')}"
            for e in self.errors[:5]
        )
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(
            f"invalid payload for {trigger!r}: {summary}{more}",
            trigger=trigger,
            errors=self.errors,
        )


class TransitionNotAllowed(EngineError):
    """The trigger cannot fire from the instance's current state."""

    code = "transition_not_allowed"

    def __init__(self, state: str, trigger: str, allowed: Sequence[str]) -> None:
        self.state = state
        self.trigger = trigger
        self.allowed = list(allowed)
        allowed_text = ", ".join(self.allowed) or "none"
        super().__init__(
            f"{trigger!r} is not allowed from state {state!r} (allowed: {allowed_text})",
            state=state,
            trigger=trigger,
            allowed=self.allowed,
        )


class UnknownTrigger(TransitionNotAllowed):
    """No transition of the instance's workflow has this trigger (a misspelt or foreign
    trigger, not a step fired at the wrong time). A :class:`TransitionNotAllowed`, so code
    that catches that keeps working; its own ``code`` tells the two apart."""

    code = "unknown_trigger"

    def __init__(self, state: str, trigger: str, allowed: Sequence[str], workflow: str) -> None:
        super().__init__(state, trigger, allowed)
        self.workflow = workflow
        allowed_text = ", ".join(self.allowed) or "none"
        self.message = (
            f"workflow {workflow!r} has no trigger {trigger!r} "
            f"(allowed from state {state!r}: {allowed_text})"
        )
        self.args = (self.message,)
        self.details["workflow"] = workflow


class GuardRejected(EngineError):
    """One or more guards refused the command; ``failures`` has each one's reason."""

    code = "guard_rejected"

    def __init__(self, trigger: str, failures: Sequence[Mapping[str, Any]]) -> None:
        self.trigger = trigger
        self.failures = [dict(f) for f in failures]
        reasons = "; ".join(f"{f['name']}: {f['reason']}" for f in self.failures)
        super().__init__(
            f"{trigger!r} refused by guard(s): {reasons}",
            trigger=trigger,
            failures=self.failures,
        )

    @property
    def reasons(self) -> list[str]:
        """The failed guards' reasons, in order."""
        return [str(f["reason"]) for f in self.failures]


class PermissionDenied(EngineError, PermissionError):
    """The actor may not fire this trigger: wrong role or separation of duties."""

    code = "permission_denied"

    def __init__(self, trigger: str, role: str, actor_id: str, rule: str, reason: str) -> None:
        self.trigger = trigger
        self.role = role
        self.actor_id = actor_id
        self.rule = rule
        self.reason = reason
        super().__init__(
            f"{actor_id} ({role}) may not fire {trigger!r}: {reason}",
            trigger=trigger,
            role=role,
            actor_id=actor_id,
            rule=rule,
            reason=reason,
        )


class ConcurrencyConflict(EngineError):
    """The instance changed under the command (stale version or too many retries)."""

    code = "concurrency_conflict"

    def __init__(
        self, instance_id: str, *, expected: int | None, actual: int | None, attempts: int
    ) -> None:
        self.instance_id = instance_id
        self.expected = expected
        self.actual = actual
        self.attempts = attempts
        if expected is not None:
            text = f"instance {instance_id} is at version {actual}, expected {expected}"
        else:
            text = f"instance {instance_id} kept changing; gave up after {attempts} attempt(s)"
        super().__init__(
            text, instance_id=instance_id, expected=expected, actual=actual, attempts=attempts
        )


class MigrationBlocked(EngineError):
    """A migration cannot be applied as planned: ``problems`` lists every instance that
    cannot move and why (or the plan itself is not one this engine can apply)."""

    code = "migration_blocked"

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message, problems=self.problems)


class IntegrityViolation(EngineError):
    """Stored history does not verify (altered, missing, reordered or inserted events)."""

    code = "integrity_violation"


class StorageUnavailable(EngineError, OSError):
    """The database URL is invalid or the database cannot be reached or written."""

    code = "storage_unavailable"


class ReplicaInvalid(StorageUnavailable):
    """A replica URL given at open is not a usable replica of the primary: it is itself a
    primary, it cannot be reached, or it replicates another cluster or database."""

    code = "replica_invalid"


class ReplicaLag(StorageUnavailable):
    """A read that waits for its writes timed out: the replica had not replayed the
    primary's commit (``waited_for``, ``replayed``: WAL positions) in time."""

    code = "replica_lag"


class CommandIdReused(EngineError, ValueError):
    """A ``command_id`` already recorded on the instance for a different command (another
    trigger, actor or workflow): a retry must repeat the same command."""

    code = "command_id_reused"


class InvalidCorrection(EngineError, ValueError):
    """A correction or its approval names what cannot be amended: an unknown version, an
    event that is not a workflow step, a field the definition does not let anyone correct,
    an old value that is not the recorded one, or no correction awaiting approval."""

    code = "invalid_correction"


class SubjectNotFound(EngineError, LookupError):
    """No personal data of this data subject is stored here (``subject``)."""

    code = "subject_not_found"


class ErasureConflict(EngineError):
    """The erasure cannot go ahead as asked: already erased, already requested, not yet
    requested, or on legal hold (``subject``, ``state``)."""

    code = "erasure_conflict"


class EnvelopeInvalid(IntegrityViolation):
    """A personal field's envelope does not open: moved to another instance, event or
    field, a data key swapped between subjects, or altered (``path``, ``subject``)."""

    code = "envelope_invalid"


class InvalidEffectiveTime(InvalidArgument):
    """A command's ``effective_at`` lies further in the future than the workflow's tolerance,
    or before the instance existed."""

    code = "invalid_effective_time"


class BatchTooLarge(InvalidArgument):
    """A command would take an ``engine.batch()`` past its limit (``limit``); it is not
    staged, and nothing is written unless the batch ends normally."""

    code = "batch_too_large"
