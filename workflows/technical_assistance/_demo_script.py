"""Scripting the demo: one story of commands per request, on a simulated timeline.

:func:`build_scripts` turns a seed into the list of :class:`Step` objects the demo sends,
each with its time, actor, payload and, for deliberate mistakes, the error code the
engine is expected to answer. Deterministic for a given seed and salt.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine import Actor
from workflows.technical_assistance import _demo_plans as plans
from workflows.technical_assistance._demo_catalogue import INSTITUTIONS, Partner
from workflows.technical_assistance._demo_payloads import roster as roster_of
from workflows.technical_assistance._demo_v2 import registered_id, with_institution_id

__all__ = ["PERIOD_END", "PERIOD_START", "Step", "Story", "build_scripts", "working_time"]

PERIOD_START = datetime(2014, 1, 6, 9, tzinfo=UTC)
PERIOD_END = datetime(2025, 12, 31, 18, tzinfo=UTC)
_LAST_REQUEST = datetime(2025, 7, 31, 9, tzinfo=UTC)
_OUTCOMES = (  # (outcome, share of requests); the rest complete the spine
    ("stall", 0.08),
    ("reject_submitted", 0.06),
    ("reject_fine_tuned", 0.04),
    ("withdraw", 0.06),
    ("cancel_approved", 0.03),
    ("cancel_mobilised", 0.03),
)
_STALL_AT = ("submitted", "fine_tuned", "approved", "implemented", "evaluated")
_STALL_AT_V2 = ("submitted", "consulting_delegation", "fine_tuned", "approved", "implemented")
_PENDING_V1 = 0.05
"""Share of version 1 requests still waiting (``submitted``, ``fine_tuned``) at the end
(at least one from 8 requests): the candidates for migration to version 2. The last of
them is from an institution the 2025.1 registry does not know, so its migration is
refused and it stays in ``submitted`` on version 1."""


@dataclass(slots=True)
class Step:
    """One command of the demo; ``expect`` is the error code of a deliberate mistake."""

    at: datetime
    seq: int
    instance_id: uuid.UUID
    trigger: str
    actor: Actor
    payload: dict[str, Any] | None = None
    reason: str | None = None
    expect: str | None = None
    version: int = 1
    """The workflow version a ``submit`` starts (other steps follow the instance's)."""


@dataclass(slots=True)
class Story:
    """Builds one request's steps, each strictly later than the one before."""

    rng: random.Random
    instance_id: uuid.UUID
    now: datetime
    stop_at: str | None = None
    state: str = ""
    version: int = 1
    steps: list[Step] = field(default_factory=list)

    def wait(self, lo: int, hi: int) -> None:
        """Move on ``lo``..``hi`` days, to a working hour."""
        self.until(self.now.date() + timedelta(days=self.rng.randint(lo, hi)))

    def until(self, day: date) -> None:
        """Move on to ``day`` (never back; weekends move to Monday), to a working hour."""
        self.now = max(self.now + timedelta(minutes=7), working_time(self.rng, day))

    def add(
        self,
        trigger: str,
        actor: Actor,
        payload: dict[str, Any] | None = None,
        reason: str | None = None,
        *,
        expect: str | None = None,
        dest: str = "",
    ) -> None:
        """Append a step now; a successful one moves the story to ``dest``."""
        self.steps.append(
            Step(
                self.now,
                len(self.steps),
                self.instance_id,
                trigger,
                actor,
                payload,
                reason,
                expect,
                self.version,
            )
        )
        self.now += timedelta(minutes=self.rng.randint(5, 90))
        if expect is None and dest:
            self.state = dest

    @property
    def stopped(self) -> bool:
        """True once the story reached the state it should stall in."""
        return self.stop_at is not None and self.state == self.stop_at


def working_time(rng: random.Random, day: date) -> datetime:
    """A time between 8:00 and 17:59 UTC on ``day``, or on the Monday after a weekend."""
    day += timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)
    return datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59), tzinfo=UTC))


def _fork(rng: random.Random) -> random.Random:
    """An independent generator for one story, so stories do not shift each other."""
    return random.Random(rng.getrandbits(64))  # noqa: S311 - demo data, not secrets


def _new_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _outcomes(rng: random.Random, n: int) -> list[str]:
    """Outcomes by request, in date order: stalls go to the latest requests (version 2),
    just after the version 1 requests left pending."""
    stalls = round(n * _OUTCOMES[0][1])
    pending = max(1 if n >= 8 else 0, round(n * _PENDING_V1))
    special = [o for o, share in _OUTCOMES[1:] for _ in range(round(n * share))]
    body = (special + ["complete"] * n)[: max(0, n - stalls - pending)]
    rng.shuffle(body)
    tail = ["pending"] * min(pending, n - len(body))
    return body + tail + ["stall"] * (n - len(body) - len(tail))


def _partners(rng: random.Random, n: int) -> list[Partner]:
    """``n`` requesters covering about 34 countries per 64 requests (first ones first)."""
    countries = list(dict.fromkeys(p.country for p in INSTITUTIONS))
    wanted = set(countries[: max(1, min(len(countries), round(n * 34 / 64)))])
    pool = [p for p in INSTITUTIONS if p.country in wanted]
    chosen = list({p.country: p for p in reversed(pool)}.values())  # one per country
    chosen += [rng.choice(pool) for _ in range(max(0, n - len(chosen)))]
    rng.shuffle(chosen)
    return chosen[:n]


def _unregistered_at(partners: list[Partner], at: int) -> list[Partner]:
    """``partners`` with one the 2025.1 registry does not know at ``at``, keeping every
    country (the partner it replaces moves to a place whose country is there twice)."""
    counts = Counter(p.country for p in partners)
    target = next(
        (p for p in INSTITUTIONS if registered_id(p) is None and p.country in counts), None
    )
    out = list(partners)
    if target is None or not 0 <= at < len(out):
        return out
    if target in out:
        j = out.index(target)
        out[at], out[j] = out[j], out[at]
        return out
    spare = next((k for k, p in enumerate(out) if counts[p.country] > 1), None)
    if spare is None:
        return out
    if spare != at:
        out[spare] = out[at]
    out[at] = target
    return out


def build_scripts(*, seed: int, salt: int, requests: int) -> list[list[Step]]:
    """The steps of every request (and of a few ineligible attempts), by request."""
    rng = random.Random(f"socieux-demo:{seed}:{salt}")  # noqa: S311 - demo data, not secrets
    roster = roster_of(rng)
    span = (_LAST_REQUEST - PERIOD_START) / max(1, requests)
    stories = []
    outcomes = _outcomes(rng, requests)
    pending = [i for i, o in enumerate(outcomes) if o == "pending"]
    partners = _partners(rng, requests)
    if pending:
        partners = _unregistered_at(partners, pending[-1])
    v2_from = PERIOD_END
    for i, (partner, outcome) in enumerate(zip(partners, outcomes, strict=True)):
        start = working_time(rng, (PERIOD_START + span * (i + rng.random() * 0.9)).date())
        story = Story(_fork(rng), _new_id(rng), start, version=2 if outcome == "stall" else 1)
        if outcome == "stall":
            v2_from = min(v2_from, start)
            story.stop_at = rng.choice(_STALL_AT_V2)
        elif outcome == "pending":
            story.stop_at = "fine_tuned" if i == pending[0] and len(pending) > 1 else "submitted"
        _tell(story, partner, outcome, roster)
        stories.append(story.steps)
    for _ in range(max(1, round(requests / 16))):
        day = (PERIOD_START + (_LAST_REQUEST - PERIOD_START) * rng.random()).date()
        story = Story(_fork(rng), _new_id(rng), working_time(rng, day))
        plans.ineligible_attempt(story)
        if story.now >= v2_from:
            for step in story.steps:
                step.version = 2
                step.payload = with_institution_id(step.payload or {})
        stories.append(story.steps)
    stories = [[s for s in steps if s.at <= PERIOD_END] for steps in stories]
    _number_actions([s for steps in stories for s in steps])
    return stories


def _number_actions(steps: list[Step]) -> None:
    """Give approvals action codes like ``2020-22``, numbered by year in time order."""
    per_year: dict[int, int] = {}
    for step in sorted(steps, key=lambda s: s.at):
        if step.trigger == "approve" and step.expect is None and step.payload is not None:
            year = step.at.year
            per_year[year] = per_year.get(year, 0) + 1
            step.payload["action_code"] = f"{year}-{per_year[year]:02d}"


def _tell(story: Story, partner: Partner, outcome: str, roster: list[dict[str, Any]]) -> None:
    """Script one request through the phases its outcome calls for."""
    cast = plans.Cast.for_request(story.rng, partner, story.now.date())
    phases = (
        plans.request_phase,
        plans.fine_tune_phase,
        plans.approval_phase,
        plans.mobilise_phase,
        plans.delivery_phase,
        plans.closing_phase,
    )
    context = plans.Context(partner=partner, outcome=outcome, cast=cast, roster=roster)
    for phase in phases:
        if not phase(story, context) or story.stopped:
            return
