"""The SOCIEUX+ technical-assistance workflow.

A partner-country institution submits a request; the SOCIEUX+ team fine-tunes it with the
EU Delegation; the Commission approves; experts are mobilised; activities are delivered,
evaluated and disseminated. Register it with an engine::

    from engine import Engine
    from workflows.technical_assistance import definition

    engine = Engine.open("memory://", workflows=[definition()])

or install the package: the ``socieux.workflows`` entry point
``technical-assistance = "workflows.technical_assistance:definition"`` finds it.
Importing this package reads no file; the reference data is read on first use.
"""

from workflows.technical_assistance.workflow import (
    DEFAULT_SLA_DAYS,
    NAME,
    ROLES,
    VERSION,
    Settings,
    definition,
)

__all__ = ["DEFAULT_SLA_DAYS", "NAME", "ROLES", "VERSION", "Settings", "definition"]
