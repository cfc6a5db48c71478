"""The rules of effective time, from the history alone (standard library only).

An event may carry ``effective_at`` (when the fact happened) beside its recorded time. The
engine stores it only when it differs from the recorded time, never further than the
definition's tolerance (``audit.future_tolerance_seconds``, a day without a policy) after
it, and never before the instance's own effective start (its first event's effective
time). Amendments carry none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from .rules import STARTED_TOPIC, Finding

__all__ = ["DEFAULT_TOLERANCE", "check_effective", "effective_of"]

DEFAULT_TOLERANCE = 86_400
"""Seconds an effective time may lie after the recorded time without a declared policy."""


def _when(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def effective_of(fields: Mapping[str, object]) -> str | None:
    """The event's effective time as recorded (its ``effective_at``, else its timestamp)."""
    value = fields.get("effective_at", fields.get("timestamp"))
    return value if isinstance(value, str) else None


def check_effective(
    fields: Mapping[str, object], began: str | None, tolerance: int, *, amendment: bool
) -> list[Finding]:
    """Every effective-time rule the event ``fields`` breaks (``began``: the instance's
    effective start, ``None`` for its first event)."""
    if "effective_at" not in fields:
        return []
    given, at = _when(fields.get("effective_at")), _when(fields.get("timestamp"))
    if amendment:
        return [("effective", "an amendment carries no effective time")]
    if given is None or at is None or given.tzinfo is None:
        return [("effective", f"effective_at {fields.get('effective_at')!r} is not a time")]
    out: list[Finding] = []
    if given == at:
        out.append(("effective", "effective_at is stored only when it differs from the "
                    "recorded time"))  # fmt: skip
    if given > at + timedelta(seconds=tolerance):
        out.append(("effective", f"effective at {fields['effective_at']}, more than "
                    f"{tolerance} s after it was recorded ({fields['timestamp']})"))  # fmt: skip
    start = _when(began)
    if fields.get("topic") != STARTED_TOPIC and start is not None and given < start:
        out.append(("effective", f"effective at {fields['effective_at']}, before the instance "
                    f"existed ({began})"))  # fmt: skip
    return out
