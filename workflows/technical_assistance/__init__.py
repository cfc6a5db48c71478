"""The SOCIEUX+ technical-assistance workflow, in three versions.

A partner-country institution submits a request; the SOCIEUX+ team fine-tunes it with the
EU Delegation; the Commission approves; experts are mobilised; activities are delivered,
evaluated and disseminated. Version 1 (:func:`definition`, reference data 2024.1) is the
workflow as first built; version 2 (:func:`definition_v2`, reference data 2025.1) follows
the facility's fourth phase: submission channel, EU Delegation consultation, activity
modality, institution ids, and two rule gaps closed (see
:mod:`workflows.technical_assistance.workflow_v2`); version 3 (:func:`definition_v3`) is
version 2 whose SLAs escalate to the team, then to the Commission (see
:mod:`workflows.technical_assistance.workflow_v3`). Register all three with an engine; new
requests start on the latest (version 3) unless ``engine.start(..., version=...)``::

    from engine import Engine
    from workflows.technical_assistance import definitions

    engine = Engine.open("memory://", workflows=definitions())

or install the package: the ``socieux.workflows`` entry point
``technical-assistance = "workflows.technical_assistance:definitions"`` finds them.
Importing this package reads no file; the reference data is read on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import WorkflowDefinition
from workflows.technical_assistance.workflow import (
    DEFAULT_SLA_DAYS,
    NAME,
    ROLES,
    VERSION,
    Settings,
    definition,
)
from workflows.technical_assistance.workflow_v2 import (
    DEFAULT_SLA_DAYS_V2,
    ROLES_V2,
    SettingsV2,
    definition_v2,
)
from workflows.technical_assistance.workflow_v3 import SettingsV3, definition_v3

__all__ = [
    "DEFAULT_SLA_DAYS",
    "DEFAULT_SLA_DAYS_V2",
    "LATEST",
    "NAME",
    "ROLES",
    "ROLES_V2",
    "VERSION",
    "VERSIONS",
    "Settings",
    "SettingsV2",
    "SettingsV3",
    "definition",
    "definition_v2",
    "definition_v3",
    "definitions",
]

VERSIONS = (1, 2, 3)
"""The installed versions of the workflow, oldest first."""
LATEST = 3
"""The version new requests start on (the engine starts the latest registered one)."""


def definitions(settings: Mapping[str, Any] | None = None) -> list[WorkflowDefinition]:
    """Every version, oldest first (what the ``socieux.workflows`` entry point names).

    ``settings`` apply to all; version 2's own settings (``consultation_silence_working_days``,
    the ``consulting_delegation`` SLA) are given to versions 2 and 3 only, version 3's
    (``commission_escalation_days``) to version 3 only.
    """
    given = dict(settings or {})
    only_v3 = {"commission_escalation_days"}
    only_v2 = {"consultation_silence_working_days", *only_v3}
    v1_settings = {k: v for k, v in given.items() if k not in only_v2}
    sla = dict(v1_settings.get("sla_days") or {})
    if "consulting_delegation" in sla:
        v1_settings["sla_days"] = {k: v for k, v in sla.items() if k != "consulting_delegation"}
    v1_settings.pop("reference_data_version", None)
    v3_settings = {k: v for k, v in given.items() if k != "reference_data_version"}
    v2_settings = {k: v for k, v in v3_settings.items() if k not in only_v3}
    return [definition(v1_settings), definition_v2(v2_settings), definition_v3(v3_settings)]
