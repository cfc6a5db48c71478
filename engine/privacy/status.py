"""What :meth:`engine.Engine.subject` answers: where a data subject's erasure stands."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["SubjectStatus"]


class SubjectStatus(BaseModel):
    """A data subject (a pseudonym, never a name) and their erasure.

    ``status``: ``live``, ``restricted`` (an erasure deferred by retention: reads need the
    ``auditor`` role) or ``erased`` (the keys are destroyed). ``erasure`` is the id of the
    privacy stream's instance (the erasure's reference), ``state`` its state; ``requests``
    how many instances hold the subject's data and ``open_requests`` how many are still
    open; ``due_at`` when retention ends; ``holds`` the open legal holds.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str
    status: Literal["live", "restricted", "erased"]
    erasure: str | None
    state: str | None
    requests: int
    open_requests: int
    due_at: datetime | None
    holds: list[str]
