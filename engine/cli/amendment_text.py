"""One line of text for an amendment in a timeline or an explanation (corrections, approvals,
evidence, notes), and for an event that corrections amend."""

from __future__ import annotations

import json
from typing import Any

from engine.instance.views import HistoryEntry

__all__ = ["amendment_line"]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _correction(record: dict[str, Any], arrow: str) -> str:
    target = record.get("target", {})
    changes = ", ".join(
        f"{c.get('field')} {_json(c.get('old'))} {arrow} {_json(c.get('new'))}"
        for c in record.get("changes", [])
    )
    status = " (awaiting a second person's approval)" if record.get("pending") else ""
    return f"corrects v{target.get('version')} ({target.get('trigger')}): {changes}{status}"


def amendment_line(e: HistoryEntry, arrow: str = "->") -> str | None:
    """What the amendment ``e`` says, or that ``e`` was corrected; ``None`` otherwise
    (``arrow`` between a field's old and new value: the CLI's ``->``, the console's ``→``)."""
    record = e.amendment
    if record is None:
        if e.corrected_by:
            return "corrected by " + ", ".join(f"v{v}" for v in e.corrected_by)
        return None
    return _described(e.trigger, record, arrow)


def _described(trigger: str, record: dict[str, Any], arrow: str) -> str | None:
    e = trigger
    if e == "__correct__":
        return _correction(record, arrow)
    if e == "__approve_correction__":
        return f"approves the correction at v{record.get('correction')} (requested by " \
            f"{record.get('requested_by')}): it takes effect"  # fmt: skip
    if e == "__attach_evidence__":
        checked = ", validated" if record.get("validated") else ""
        ref = f", reference {record.get('reference')}" if record.get("reference") else ""
        return (f"evidence: {record.get('type')} {_json(record.get('title'))}, sha256 "
                f"{str(record.get('sha256'))[:16]}…, {record.get('size')} bytes, "
                f"{record.get('media_type')}, effective {record.get('effective_date')}"
                f"{ref}{checked}")  # fmt: skip
    if e == "__note__":
        return f"note ({record.get('visibility')}): {record.get('text')}"
    return None
