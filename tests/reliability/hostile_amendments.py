"""Valid arguments of the amendment methods, for the hostile-argument tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine import Actor


def amendment_arguments(iid: object, actor: Actor) -> dict[str, dict[str, Any]]:
    """Valid arguments of ``correct``, ``approve_correction``, ``attach_evidence``, ``note``
    and ``check_evidence`` on instance ``iid`` (the others are fuzzed one at a time)."""
    return {
        "correct": {"instance_id": iid, "version": 1, "changes": {"amount": 600},
                    "reason": "typo", "actor": actor},
        "approve_correction": {"instance_id": iid, "correction": 1, "actor": actor},
        "attach_evidence": {"instance_id": iid, "type": "invoice", "title": "Invoice",
                            "sha256": "ab" * 32, "size": 10, "media_type": "application/pdf",
                            "effective_date": date(2024, 1, 2), "actor": actor},
        "note": {"instance_id": iid, "text": "seen", "actor": actor},
        "check_evidence": {"instance_id": iid, "files": []},
        "audit_report": {"kind": "corrections"},
    }  # fmt: skip
