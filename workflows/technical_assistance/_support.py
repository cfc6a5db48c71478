"""Helpers shared by the workflow's guards (no rules here)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from engine import GuardContext, GuardResult
from workflows.technical_assistance.reference import (
    DEFAULT_VERSION,
    INSTALLED_VERSIONS,
    ReferenceData,
    reference_data,
)

__all__ = [
    "as_date",
    "blank",
    "id_key",
    "payload_as",
    "planned_activities",
    "reference",
    "verdict",
]

_P = TypeVar("_P", bound=BaseModel)


def payload_as(ctx: GuardContext, model: type[_P]) -> _P:
    """The command's payload as ``model`` (``TypeError`` if the guard is misattached)."""
    if not isinstance(ctx.payload, model):
        msg = f"expected a {model.__name__} payload, got {type(ctx.payload).__name__}"
        raise TypeError(msg)
    return ctx.payload


def reference(ctx: GuardContext) -> tuple[ReferenceData, list[str]]:
    """The reference data the definition names, and a problem if it is not installed."""
    wanted = str(ctx.settings.get("reference_data_version", DEFAULT_VERSION))
    if wanted not in INSTALLED_VERSIONS:
        ref = reference_data()
        return ref, [f"reference data {wanted} is required but {ref.version} is installed"]
    return reference_data(wanted), []


def verdict(problems: Sequence[str], ok_reason: str, **inputs: Any) -> GuardResult:
    """Pass with ``ok_reason`` if there are no problems, else fail naming all of them."""
    if problems:
        return GuardResult.failed("; ".join(problems), **inputs)
    return GuardResult.passed(ok_reason, **inputs)


def as_date(value: Any) -> date | None:
    """A date from the JSON in ``data`` (ISO text), or None."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def planned_activities(ctx: GuardContext) -> dict[str, dict[str, Any]]:
    """The action plan's activities in ``data``, by id."""
    items = ctx.view.data.get("activities") or []
    return {str(a.get("id")): a for a in items if isinstance(a, dict)}


def blank(text: str | None) -> bool:
    """True for None or a string that is empty after stripping."""
    return not (text and text.strip())


def id_key(text: object) -> str:
    """An id as compared: NFKC-normalised, case folded, without surrounding space."""
    return unicodedata.normalize("NFKC", str(text)).casefold().strip()
