"""Moving version 1 requests to version 2: the ``ta_v1_to_v2`` data upcaster.

Only requests in ``submitted`` or ``fine_tuned`` may move (later states keep version 1).
The upcaster rewrites their ``data`` into version 2's shape:

* the institution gets its stable id, looked up in the 2025.1 registry by name (or
  acronym) and country; an institution the registry does not know is refused;
* each planned activity's ``mode`` becomes its ``modality``;
* the Delegation's opinion: a favourable or unfavourable one is kept (``reason`` dropped);
  a waived one becomes an ``opinion_waiver`` with its reason.

The engine then re-checks version 2's rules for the state the request lands in (a waiver
on a request the Delegation did not submit, say, is refused there). Refusals name no
person: only the rule and the institution's type of problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import DataUpcaster, InstanceView, MigrationRefused
from workflows.technical_assistance.reference import reference_data

__all__ = ["REFERENCE_VERSION", "UPCASTER", "upcast_v1_to_v2"]

REFERENCE_VERSION = "2025.1"
"""The reference data whose institution registry the upcaster reads."""


def _institution(data: Mapping[str, Any]) -> dict[str, Any]:
    institution = data.get("institution")
    country = str(data.get("country") or "")
    if not isinstance(institution, dict):
        raise MigrationRefused("the request names no institution")
    if institution.get("id"):
        return dict(institution)
    ref = reference_data(REFERENCE_VERSION)
    found = ref.institution_named(str(institution.get("name") or ""), country)
    if found is None and institution.get("acronym"):
        found = ref.institution_named(str(institution["acronym"]), country)
    if found is None:
        raise MigrationRefused(
            f"the requesting institution ({country or 'no country'}) is not in the "
            f"{REFERENCE_VERSION} registry of partner institutions: register it first"
        )
    return {**institution, "id": found.id}


def _activity(activity: Any) -> dict[str, Any]:
    if not isinstance(activity, dict):
        raise MigrationRefused("the action plan holds an unreadable activity")
    out = {k: v for k, v in activity.items() if k != "mode"}
    out["modality"] = activity.get("mode") or "on_site"
    return out


def _opinion(data: Mapping[str, Any]) -> dict[str, Any]:
    opinion = data.get("eu_delegation_opinion")
    if not isinstance(opinion, dict):
        return {}
    if opinion.get("verdict") == "waived":
        return {"opinion_waiver": {"reason": str(opinion.get("reason") or "")}}
    return {
        "eu_delegation_opinion": {
            "verdict": opinion.get("verdict"),
            "note": str(opinion.get("note") or ""),
        }
    }


def upcast_v1_to_v2(view: InstanceView) -> dict[str, Any]:
    """A version 1 request's data in version 2's shape (``MigrationRefused`` if it cannot
    be converted: its institution is not registered, or its plan is unreadable)."""
    data = dict(view.data)
    out = {k: v for k, v in data.items() if k not in ("eu_delegation_opinion", "activities")}
    out["institution"] = _institution(data)
    if "activities" in data:
        out["activities"] = [_activity(a) for a in data.get("activities") or []]
    out.update(_opinion(data))
    return out


UPCASTER = DataUpcaster(
    name="ta_v1_to_v2",
    version=1,
    func=upcast_v1_to_v2,
    description=(
        "Institution id from the 2025.1 registry; activity mode as modality; a waived "
        "opinion as an opinion waiver."
    ),
)
"""The upcaster version 2's migration from version 1 names."""
