"""Builders of valid payloads for every trigger, and :func:`walk_to` a given state.

Used by the tests, the demo and host apps that need a realistic request quickly::

    view = walk_to(engine, "mobilised")  # on the latest version the engine registers
    view = walk_to(engine, "approved", data_overrides={"submit": {"country": "PE"}})
    view = walk_to(engine, "fine_tuned", version=1)

Every builder returns a plain ``dict`` (JSON-ready), valid against its payload model and
passing the workflow's guards with the default settings. Keyword arguments change one
aspect; anything else can be changed on the returned dict. Builders whose payload differs
between the workflow's versions take ``version`` (1 by default, as their callers were
written for it; pass ``version=2`` for the current workflow); :func:`walk_to` follows the
version it walks.
"""

from workflows.technical_assistance.payload_builders import (
    ACTORS,
    action_plan_payload,
    activity_payload,
    activity_record_payload,
    approval_payload,
    dissemination_payload,
    employer_id,
    evaluation_payload,
    expert_payload,
    institution_id,
    mobilisation_payload,
    opinion_payload,
    request_payload,
)
from workflows.technical_assistance.walking import PATHS, PATHS_V2, paths, walk_to

__all__ = [
    "ACTORS",
    "PATHS",
    "PATHS_V2",
    "action_plan_payload",
    "activity_payload",
    "activity_record_payload",
    "approval_payload",
    "dissemination_payload",
    "employer_id",
    "evaluation_payload",
    "expert_payload",
    "institution_id",
    "mobilisation_payload",
    "opinion_payload",
    "paths",
    "request_payload",
    "walk_to",
]
