"""Scripting the demo: one story of commands per request, on a simulated timeline.

:func:`build_scripts` turns a seed into the list of :class:`Step` objects the demo sends,
each with its time, actor, payload and, for deliberate mistakes, the error code the
engine is expected to answer. Deterministic for a given seed, salt and :class:`Timeline`.

The timeline ends at the run's "today": nothing is scripted after it, so the requests of
the last months are open at whatever stage their story reached. Requests arrive evenly
over the older years and more densely over the last 18 months (the live portfolio);
each starts on the workflow version current then (version 1, version 2 from 18 months
before today, version 3 from 5 months before). Some stall in a stage (they escalate).
"""

# long module: the timeline, the steps, the stories and the shape of a batch, together.

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
from workflows.technical_assistance._demo_v2 import SYSTEM, registered_id, with_institution_id

__all__ = [
    "LAUNCH_V3",
    "PERIOD_START",
    "TICK",
    "Step",
    "Story",
    "Timeline",
    "build_scripts",
    "launch_v3",
    "ticks",
    "working_time",
]

PERIOD_START = datetime(2014, 1, 6, 9, tzinfo=UTC)
"""When the facility's first batch starts (the facility began in 2014)."""
TICK = "__tick__"
"""A demo step that is no command: the engine's deadline runner passes by (every other
Monday: each pass commits its catch-up, and the demo must stay quick)."""
LAUNCH_V3 = "__launch_v3__"
"""A demo step that is no command: version 3 comes out, and the team migrates the open
version 2 requests to it (their SLAs escalate from then on)."""
_RECENT = timedelta(days=540)
"""The live part of the portfolio: the last 18 months before today."""
_RECENT_SHARE = 0.45
"""Share of a batch's requests submitted in the live part (when the batch is longer)."""
_V3_FOR = timedelta(days=150)
_MIN_SPAN = timedelta(days=3 * 365)
"""A later batch covers at least the last three years (so it too has older, closed
requests besides the live part)."""
_OUTCOMES = (  # (outcome, share of requests); the rest complete the spine
    ("stall", 0.12),
    ("reject_submitted", 0.06),
    ("reject_fine_tuned", 0.04),
    ("withdraw", 0.06),
    ("cancel_approved", 0.03),
    ("cancel_mobilised", 0.03),
)
_STALL_AT = ("submitted", "fine_tuned", "approved", "implemented", "evaluated")
_STALL_AT_V2 = (
    "evaluated",
    "implemented",
    "mobilised",
    "approved",
    "fine_tuned",
    "revision_requested",
    "submitted",
    "consulting_delegation",
)
"""Where the live part's stalled requests stop, the earliest request first (so each has
the time to get there): every stage of the spine, then consultation."""
_PENDING_V1 = 0.05
"""Share of version 1 requests still waiting (``submitted``, ``fine_tuned``) at the end
(at least one from 8 requests): the candidates for migration to version 2. The last of
them is from an institution the 2025.1 registry does not know, so its migration is
refused and it stays in ``submitted`` on version 1."""


@dataclass(frozen=True, slots=True)
class Timeline:
    """A batch's period: from ``start`` to the run's ``today`` (both aware, UTC)."""

    start: datetime
    today: datetime

    @classmethod
    def for_batch(cls, today: datetime, last: datetime | None) -> Timeline:
        """The first batch starts in 2014; a later one continues the portfolio: it starts
        at the store's latest event, or three years before ``today`` if that is later."""
        begin = PERIOD_START if last is None else last
        return cls(min(begin, today - _MIN_SPAN), today)

    @property
    def recent_from(self) -> datetime:
        """Where the live part of the portfolio begins."""
        return max(self.start, self.today - _RECENT)

    @property
    def v2_from(self) -> datetime:
        """From when new requests start on version 2."""
        return self.today - _RECENT

    @property
    def v3_from(self) -> datetime:
        """From when new requests start on version 3."""
        return self.today - _V3_FOR

    def version_at(self, when: datetime) -> int:
        """The workflow version a request submitted at ``when`` starts on."""
        return 1 if when < self.v2_from else 2 if when < self.v3_from else 3


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
    effective_at: datetime | None = None
    """When the fact happened, if it was recorded later (a late entry)."""


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


def _outcomes(rng: random.Random, n: int, old: int) -> list[str]:
    """Outcomes by request, in date order (the ``old`` first, then the live part): the
    version 1 requests left pending close the older years; stalls are spread over the
    first 60% of the live part."""
    stalls = round(n * _OUTCOMES[0][1])
    pending = min(old, max(1 if n >= 8 else 0, round(n * _PENDING_V1)))
    special = [o for o, share in _OUTCOMES[1:] for _ in range(round(n * share))]
    body = (special + ["complete"] * n)[: max(0, n - stalls - pending)]
    rng.shuffle(body)
    cut = max(0, old - pending)
    recent, stalled = body[cut:], n - len(body) - pending
    for k in range(stalled):
        recent.insert(round(k * 0.6 * len(recent) / max(1, stalled)), "stall")
    return body[:cut] + ["pending"] * pending + recent


def _arrivals(rng: random.Random, timeline: Timeline, n: int) -> tuple[list[datetime], int]:
    """When each of ``n`` requests is submitted, in order, and how many are older ones."""
    recent_from, last = timeline.recent_from, timeline.today - timedelta(days=3)
    old = 0 if recent_from <= timeline.start else n - round(n * _RECENT_SHARE)
    spans = ((timeline.start, recent_from, old), (recent_from, last, n - old))
    days = [
        (begin + (end - begin) / count * (i + rng.random() * 0.9)).date()
        for begin, end, count in spans
        for i in range(count)
    ]
    return [working_time(rng, d) for d in days], old


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


def build_scripts(*, seed: int, salt: int, requests: int, timeline: Timeline) -> list[list[Step]]:
    """The steps of every request (and of a few ineligible attempts), by request; no
    step is after ``timeline.today``."""
    rng = random.Random(f"socieux-demo:{seed}:{salt}")  # noqa: S311 - demo data, not secrets
    roster = roster_of(rng)
    stories = []
    starts, old = _arrivals(rng, timeline, requests)
    outcomes = _outcomes(rng, requests, old)
    pending = [i for i, o in enumerate(outcomes) if o == "pending"]
    partners = _partners(rng, requests)
    if pending:
        partners = _unregistered_at(partners, pending[-1])
    stalls = 0
    for i, (partner, outcome) in enumerate(zip(partners, outcomes, strict=True)):
        start = starts[i]
        version = 1 if outcome == "pending" else timeline.version_at(start)
        story = Story(_fork(rng), _new_id(rng), start, version=version)
        if outcome == "stall":
            at = _STALL_AT_V2 if version >= 2 else _STALL_AT
            story.stop_at, stalls = at[stalls % len(at)], stalls + 1
        elif outcome == "pending":
            story.stop_at = "fine_tuned" if i == pending[0] and len(pending) > 1 else "submitted"
        _tell(story, partner, outcome, roster)
        stories.append(story.steps)
    for _ in range(max(1, round(requests / 16))):
        day = (timeline.start + (timeline.today - timeline.start) * rng.random()).date()
        story = Story(_fork(rng), _new_id(rng), working_time(rng, day))
        plans.ineligible_attempt(story)
        version = timeline.version_at(story.now)
        if version >= 2:
            for step in story.steps:
                step.version = version
                step.payload = with_institution_id(step.payload or {})
        stories.append(story.steps)
    stories = [[s for s in steps if s.at <= timeline.today] for steps in stories]
    _number_actions([s for steps in stories for s in steps])
    return stories


def ticks(timeline: Timeline) -> list[Step]:
    """The deadline runner's passes (every other Monday, 07:00) over the part of the batch
    whose workflow versions declare deadlines (the epilogue makes the last, at today)."""
    first = max(timeline.start, timeline.v2_from)
    day = first.date() + timedelta(days=(7 - first.weekday()) % 7)
    nil = uuid.UUID(int=0)
    out = []
    while (at := datetime.combine(day, time(7, tzinfo=UTC))) < timeline.today:
        out.append(Step(at, -1, nil, TICK, SYSTEM))
        day += timedelta(days=14)
    return out


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


def launch_v3(timeline: Timeline) -> list[Step]:
    """The day version 3 comes out (06:00), if it falls inside the batch."""
    at = datetime.combine(timeline.v3_from.date(), time(6, tzinfo=UTC))
    if not timeline.start < at < timeline.today:
        return []
    return [Step(at, -1, uuid.UUID(int=0), LAUNCH_V3, SYSTEM)]
