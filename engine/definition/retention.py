"""A workflow's retention rule (Financial Regulation Art. 133), declared in its settings.

``settings["retention"] = {"years": 5, "reduced_years": 3, "reduced_max_eur": 60000,
"amount_path": "approval.amount_eur"}``: records are kept ``years`` after the instance
reaches a final state, or ``reduced_years`` where the amount read at ``amount_path`` (a
dotted path into the instance's data, in euros) is at most ``reduced_max_eur``. Where the
amount is absent, unknown or not a number the longer period applies (keeping a record too
long is lawful, erasing it too early is not). The older ``settings["retention_years"] = N``
still means ``{"years": N}``. The rule is in the settings, so it enters the definition's
content hash: an auditor reads the rule an instance was kept under from its definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["DEFAULT_RETENTION_YEARS", "RetentionRule", "retention_problems", "retention_rule"]

DEFAULT_RETENTION_YEARS = 5
_MAX_PATH = 200


class RetentionRule(BaseModel):
    """A workflow's retention rule (its ``settings["retention"]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    years: int = Field(default=DEFAULT_RETENTION_YEARS, ge=0, le=100)
    reduced_years: int | None = Field(default=None, ge=0, le=100)
    reduced_max_eur: Decimal = Field(default=Decimal(60_000), ge=0)
    amount_path: str | None = Field(default=None, min_length=1, max_length=_MAX_PATH)

    def years_for(self, data: Mapping[str, Any]) -> tuple[int, Decimal | None]:
        """The period for an instance with this ``data``, and the amount it read (if any)."""
        amount = self.amount(data)
        small = amount is not None and amount <= self.reduced_max_eur
        if self.reduced_years is not None and small:
            return self.reduced_years, amount
        return self.years, amount

    def amount(self, data: Mapping[str, Any]) -> Decimal | None:
        """The amount at :attr:`amount_path` in ``data``, or ``None`` if not a number there."""
        if self.amount_path is None:
            return None
        value: object = data
        for part in self.amount_path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return None
        return amount if amount.is_finite() and amount >= 0 else None


def retention_rule(settings: Mapping[str, Any]) -> RetentionRule:
    """The rule a definition's ``settings`` declare (5 years if none). Definitions with a
    malformed rule are refused when registered (:func:`retention_problems`)."""
    raw = settings.get("retention")
    if isinstance(raw, Mapping):
        return RetentionRule.model_validate(dict(raw))
    years = settings.get("retention_years", DEFAULT_RETENTION_YEARS)
    return RetentionRule(years=years)


def retention_problems(settings: Mapping[str, Any]) -> list[str]:
    """What is wrong with the retention rule in ``settings`` (empty when none or valid)."""
    raw = settings.get("retention")
    if raw is not None and not isinstance(raw, Mapping):
        return ["settings 'retention' must be a mapping (years, reduced_years, ...)"]
    if raw is not None and "retention_years" in settings:
        return ["settings declare both 'retention' and 'retention_years'"]
    try:
        retention_rule(settings)
    except ValidationError as exc:
        return [
            f"settings 'retention': {'.'.join(str(p) for p in e['loc']) or 'rule'}: {e['msg']}"
            for e in exc.errors()
        ]
    return []
