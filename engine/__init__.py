"""socieux: an embeddable, event-sourced workflow engine with a tamper-evident audit trail.

Public API::

    from engine import Engine, Actor
    with Engine.open("sqlite:///socieux.db") as engine:
        view = engine.start("technical-assistance", data={...},
                            actor=Actor("u-1", "partner_institution"))
"""

from engine.definition import (
    EmptyPayload,
    Guard,
    GuardContext,
    GuardResult,
    Personal,
    PersonalStr,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from engine.errors import (
    ConcurrencyConflict,
    EngineError,
    GuardRejected,
    InstanceNotFound,
    IntegrityViolation,
    InvalidArgument,
    InvalidPayload,
    PermissionDenied,
    StorageUnavailable,
    TransitionNotAllowed,
    UnknownWorkflow,
    WorkflowDefinitionError,
)
from engine.facade import Engine
from engine.views import Actor, AllowedReport, HistoryEntry, InstanceView, Refusal

__all__ = [
    "Actor",
    "AllowedReport",
    "ConcurrencyConflict",
    "EmptyPayload",
    "Engine",
    "EngineError",
    "Guard",
    "GuardContext",
    "GuardRejected",
    "GuardResult",
    "HistoryEntry",
    "InstanceNotFound",
    "InstanceView",
    "IntegrityViolation",
    "InvalidArgument",
    "InvalidPayload",
    "PermissionDenied",
    "Personal",
    "PersonalStr",
    "Refusal",
    "StateDef",
    "StorageUnavailable",
    "TransitionDef",
    "TransitionNotAllowed",
    "UnknownWorkflow",
    "WorkflowDefinition",
    "WorkflowDefinitionError",
]
