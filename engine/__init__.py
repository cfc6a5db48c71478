"""socieux: an embeddable, event-sourced workflow engine with a tamper-evident audit trail.

Public API::

    from engine import Engine, Actor
    with Engine.open("sqlite:///socieux.db") as engine:
        view = engine.start("technical-assistance", data={...},
                            actor=Actor("u-1", "partner_institution"))

Names are imported lazily (PEP 562), so ``import engine`` and the CLI's ``--help`` stay
fast; ``from engine import Engine`` works as usual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.audit.explain import Explanation, StateDiff
    from engine.audit.replay import ReplayReport
    from engine.audit.report import ExportSummary, IntegrityReport, Seal
    from engine.commands.migration import MigrationItem, MigrationPlan, MigrationResult
    from engine.deadlines.types import (
        BlockedDeadline,
        DueDeadline,
        FiredDeadline,
        RunReport,
        WorkItem,
    )
    from engine.definition.model import (
        DataUpcaster,
        DeadlineDef,
        DisplayFact,
        DisplaySpec,
        EmptyPayload,
        Guard,
        GuardContext,
        GuardResult,
        MigrationDef,
        MigrationRefused,
        Personal,
        PersonalStr,
        StateDef,
        TransitionDef,
        WorkflowDefinition,
        WorkingCalendar,
    )
    from engine.definition.retention import RetentionRule
    from engine.errors import (
        BatchTooLarge,
        CommandIdReused,
        ConcurrencyConflict,
        EngineError,
        EnvelopeInvalid,
        ErasureConflict,
        GuardRejected,
        InstanceNotFound,
        IntegrityViolation,
        InvalidArgument,
        InvalidCorrection,
        InvalidEffectiveTime,
        InvalidPayload,
        MigrationBlocked,
        PermissionDenied,
        ReplicaInvalid,
        ReplicaLag,
        StorageUnavailable,
        SubjectNotFound,
        TransitionNotAllowed,
        UnknownTrigger,
        UnknownWorkflow,
        WorkflowDefinitionError,
    )
    from engine.facade import Engine
    from engine.hooks.types import HookEvent, HookLag, HookStatus, ParkedEvent
    from engine.instance.views import Actor, AllowedReport, HistoryEntry, InstanceView, Refusal
    from engine.privacy.status import SubjectStatus
    from engine.projection.page import Page
    from engine.projection.parking import ParkedProjectionEvent
    from engine.projection.runner import ProjectionStatus
    from engine.replicated import ReplicatedEngine

_MODULES = {
    "engine.audit.explain": ("Explanation", "StateDiff"),
    "engine.audit.replay": ("ReplayReport",),
    "engine.audit.report": ("ExportSummary", "IntegrityReport", "Seal"),
    "engine.deadlines.types": (
        "BlockedDeadline",
        "DueDeadline",
        "FiredDeadline",
        "RunReport",
        "WorkItem",
    ),
    "engine.definition.model": (
        "DataUpcaster",
        "DeadlineDef",
        "DisplayFact",
        "DisplaySpec",
        "EmptyPayload",
        "Guard",
        "GuardContext",
        "GuardResult",
        "MigrationDef",
        "MigrationRefused",
        "Personal",
        "PersonalStr",
        "StateDef",
        "TransitionDef",
        "WorkflowDefinition",
        "WorkingCalendar",
    ),
    "engine.errors": (
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
    ),
    "engine.commands.migration": ("MigrationItem", "MigrationPlan", "MigrationResult"),
    "engine.definition.audit_policy": ("AuditPolicy",),
    "engine.definition.retention": ("RetentionRule",),
    "engine.facade": ("Engine",),
    "engine.hooks.types": ("HookEvent", "HookLag", "HookStatus", "ParkedEvent"),
    "engine.instance.views": ("Actor", "AllowedReport", "HistoryEntry", "InstanceView", "Refusal"),
    "engine.projection.page": ("Page",),
    "engine.projection.parking": ("ParkedProjectionEvent",),
    "engine.projection.runner": ("ProjectionStatus",),
    "engine.replicated": ("ReplicatedEngine",),
    "engine.privacy.status": ("SubjectStatus",),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "Actor",
    "AllowedReport",
    "AuditPolicy",
    "BatchTooLarge",
    "BlockedDeadline",
    "CommandIdReused",
    "ConcurrencyConflict",
    "DataUpcaster",
    "DeadlineDef",
    "DisplayFact",
    "DisplaySpec",
    "DueDeadline",
    "EmptyPayload",
    "Engine",
    "EngineError",
    "EnvelopeInvalid",
    "ErasureConflict",
    "Explanation",
    "ExportSummary",
    "FiredDeadline",
    "Guard",
    "GuardContext",
    "GuardRejected",
    "GuardResult",
    "HistoryEntry",
    "HookEvent",
    "HookLag",
    "HookStatus",
    "InstanceNotFound",
    "InstanceView",
    "IntegrityReport",
    "IntegrityViolation",
    "InvalidArgument",
    "InvalidCorrection",
    "InvalidEffectiveTime",
    "InvalidPayload",
    "MigrationBlocked",
    "MigrationDef",
    "MigrationItem",
    "MigrationPlan",
    "MigrationRefused",
    "MigrationResult",
    "Page",
    "ParkedEvent",
    "ParkedProjectionEvent",
    "PermissionDenied",
    "Personal",
    "PersonalStr",
    "ProjectionStatus",
    "Refusal",
    "ReplayReport",
    "ReplicaInvalid",
    "ReplicaLag",
    "ReplicatedEngine",
    "RetentionRule",
    "RunReport",
    "Seal",
    "StateDef",
    "StateDiff",
    "StorageUnavailable",
    "SubjectNotFound",
    "SubjectStatus",
    "TransitionDef",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "UnknownWorkflow",
    "WorkItem",
    "WorkflowDefinition",
    "WorkflowDefinitionError",
    "WorkingCalendar",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        msg = f"module 'engine' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
