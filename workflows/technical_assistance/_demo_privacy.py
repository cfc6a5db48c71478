"""The demo's privacy part: at the end of the period, two experts ask to be forgotten.

One worked only on requests closed more than five years ago: the team requests the erasure,
the privacy officer approves it and it is carried out (the expert's key is destroyed; their
name reads ``[erased]`` and the chain still verifies). The other worked on a recent or an
open request: the erasure is deferred by retention and the expert's data restricted.
Then the Court of Auditors opens an audit of one closed request: an auditor places a legal
hold on it in the register, so no erasure of anyone named in it runs while the audit is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from engine import Actor, Engine, EngineError, InstanceView
from engine.privacy.holds import REGISTER_ID

__all__ = ["PrivacyOutcome", "erase_experts"]

REQUESTER = Actor("demo-team-privacy", "socieux_team")
OFFICER = Actor("demo-dpo-1", "privacy_officer")
AUDITOR = Actor("demo-auditor-1", "auditor")
HOLD = "ECA-AUDIT-DEMO-1"
_BASIS = "GDPR Art. 17(1)(a): consent withdrawn"


class PrivacyOutcome(BaseModel):
    """The subjects the demo erased and deferred (pseudonyms), and their erasures' ids."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    erased: str | None = None
    erased_ref: str | None = None
    deferred: str | None = None
    deferred_until: str | None = None
    held: str | None = None
    """The request the demo's legal hold covers (its id)."""
    events: int = 0
    """Events recorded on the privacy stream and the legal-hold register (the summary's
    ``events`` counts requests')."""

    def text(self) -> str:
        """One line for the demo's summary."""
        parts = []
        if self.erased:
            parts.append(f"{self.erased} erased (erasure {str(self.erased_ref)[:8]})")
        if self.deferred:
            until = self.deferred_until or "its requests close"
            parts.append(f"{self.deferred} deferred until {until}")
        if self.held:
            parts.append(f"legal hold {HOLD} on request {self.held[:8]}")
        return "Privacy: " + ("; ".join(parts) or "no expert to erase") + "."


def _experts(views: Mapping[str, InstanceView]) -> list[str]:
    found = {
        f"expert:{e['id']}"
        for v in views.values()
        for e in v.data.get("experts", [])
        if isinstance(e, dict)
    }
    return sorted(found)


def erase_experts(
    engine: Engine, views: Mapping[str, InstanceView], now: datetime
) -> PrivacyOutcome:
    """Forget one long-closed expert and one still within retention (both approved by an
    officer other than the requester) at ``now``, the engine clock's time; what happened."""
    erased = deferred = None
    for subject in _experts(views):
        try:
            st = engine.subject(subject)
        except EngineError:
            continue
        if st.status != "live":
            continue
        over = st.open_requests == 0 and st.due_at is not None and st.due_at <= now
        if (over and erased is None) or (not over and deferred is None):
            done = engine.forget(
                subject, actor=REQUESTER, approver=OFFICER, legal_basis=_BASIS,
                reason="the expert asked to be forgotten",
            )  # fmt: skip
            if done.status == "erased":
                erased = done
            else:
                deferred = done
        if erased is not None and deferred is not None:
            break
    held = _hold_one_closed(engine, views)
    streams: list[UUID | str] = [s.erasure for s in (erased, deferred) if s and s.erasure]
    if held is not None:
        streams.append(REGISTER_ID)  # its first hold opened the register: both events
    return PrivacyOutcome(
        events=sum(len(engine.history(sid)) for sid in streams),
        erased=erased.subject if erased else None,
        erased_ref=erased.erasure if erased else None,
        deferred=deferred.subject if deferred else None,
        deferred_until=f"{deferred.due_at:%Y-%m-%d}" if deferred and deferred.due_at else None,
        held=held,
    )


def _hold_one_closed(engine: Engine, views: Mapping[str, InstanceView]) -> str | None:
    """Place the demo's legal hold on the first closed request with experts (once)."""
    if any(h.hold == HOLD for h in engine.legal_holds()):
        return None
    for iid, view in views.items():
        if view.state == "disseminated" and view.data.get("experts"):
            why = "Court of Auditors: audit of the action opened"
            engine.place_legal_hold(HOLD, requests=[iid], actor=AUDITOR, reason=why)
            return iid
    return None
