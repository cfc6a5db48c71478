"""A randomized tamper campaign: every change an attacker with SQL access makes is found.

One SQLite store (toy and technical-assistance instances in every state) is built once.
Each round copies it, applies one random tampering and runs ``verify`` and the offline
verifier on an export of the copy; both must name the tampered instance. *Semantic*
tamperings rewrite events and recompute every hash (the chain stays intact, no seal is
taken), so only the workflow rules can see them: they must be reported as ``rule``
problems and nothing else. *Byte-level* ones (a flipped byte, a deleted or moved row, an
id spelt another way, ...) run on a sealed copy.
"""

from __future__ import annotations

import os
import random
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from engine import Actor, Engine
from engine.commands.compiled import CompiledWorkflow
from engine.instance.aggregate import STARTED_TOPIC, TRANSITIONED_TOPIC
from engine.instance.views import HistoryEntry
from engine.testing import walk_to
from tests.helpers import APPROVER, REQUESTER, REVIEWER
from tests.integration.test_audit_tamper import SQLiteTamper
from tests.integration.test_semantic_verify import Forger
from tests.reliability.conftest import Figures, scale
from tests.toy import toy_definition
from workflows.technical_assistance.workflow import definition as ta_definition

SEED = int(os.environ.get("SOCIEUX_TAMPER_SEED", "20261201"))
DEFINITIONS = [toy_definition(), ta_definition()]
COMPILED = {c.hash: c for c in map(CompiledWorkflow, DEFINITIONS)}
TA = "technical-assistance"


@dataclass
class Target:
    """One copy of the store being tampered with, and what is known about its histories."""

    db: SQLiteTamper
    forger: Forger
    histories: dict[UUID, list[HistoryEntry]]
    rng: random.Random

    def pick(self, ok: Callable[[HistoryEntry, list[HistoryEntry]], bool]) -> tuple[UUID, int]:
        found = [(i, e.version) for i, h in self.histories.items() for e in h if ok(e, h)]
        return self.rng.choice(sorted(found))

    def edit(self, iid: UUID, version: int, change: Callable[[dict[str, Any]], str | None]) -> None:
        self.forger.forge(iid, len(self.histories[iid]), {version: change})


Outcome = tuple[UUID, set[str]]
"""The tampered instance and the rules one of which must be reported (empty: any kind)."""


def _transition(e: HistoryEntry) -> Any:
    c = COMPILED[e.definition_hash]
    return c.transition(e.source or "__start__", e.trigger)


# Semantic tamperings: events rewritten, every hash recomputed, no seal.
def self_approval(t: Target) -> Outcome:
    def ok(e: HistoryEntry, h: list[HistoryEntry]) -> bool:
        sep = _transition(e).separation
        return any(x.trigger in sep for x in h[: e.version - 1])

    iid, v = t.pick(ok)
    sep = _transition(t.histories[iid][v - 1]).separation
    actor = next(x.actor for x in t.histories[iid][: v - 1] if x.trigger in sep)
    t.edit(iid, v, lambda s: s["audit"].update(actor_id=actor))
    return iid, {"separation"}


def wrong_role(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: True)
    t.edit(iid, v, lambda s: s["audit"].update(role=t.rng.choice(["nobody", "auditor"])))
    return iid, {"role"}


def trigger_not_from_state(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: e.version > 1)
    e = t.histories[iid][v - 1]
    c = COMPILED[e.definition_hash]
    others = sorted(
        {x.trigger for x in c.definition.transitions} - set(c.triggers_from(e.source or ""))
    )
    t.edit(iid, v, lambda s: s.update(trigger=t.rng.choice(others)))
    return iid, {"trigger"}


def wrong_dest(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: True)
    e = t.histories[iid][v - 1]
    states = sorted(
        s.name for s in COMPILED[e.definition_hash].definition.states if s.name != e.dest
    )
    t.edit(iid, v, lambda s: s.update(dest=t.rng.choice(states)))
    return iid, {"dest"}


def failed_guard(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: bool(e.guards))
    drop = t.rng.random() < 0.5
    t.edit(iid, v, lambda s: s["audit"].update(guards=[]) if drop else s["audit"]["guards"][-1].update(ok=False))  # fmt: skip
    return iid, {"guards"}


def foreign_definition(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: True)
    other = next(d for d in COMPILED if d != t.histories[iid][v - 1].definition_hash)
    t.edit(iid, v, lambda s: s.update(definition_hash=other))
    return iid, {"definition"}


def start_not_first(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: e.version > 1)
    t.edit(iid, v, lambda s: STARTED_TOPIC)
    return iid, {"first_event"}


def first_not_a_start(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: e.version == 1)
    t.edit(iid, v, lambda s: TRANSITIONED_TOPIC)
    return iid, {"first_event"}


def collect_as(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: True)
    t.edit(iid, v, lambda s: s.update(collect_as="loot" if s.get("collect_as") is None else None))
    return iid, {"collect_as"}


def no_reason(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: _transition(e).reason_required)
    t.edit(iid, v, lambda s: s["audit"].update(reason=t.rng.choice([None, "", "  "])))
    return iid, {"reason"}


def step_spliced_out(t: Target) -> Outcome:
    """Delete a step that moved the instance and renumber the rest (hashes recomputed)."""
    iid, v = t.pick(lambda e, h: 1 < e.version < len(h) and e.source != e.dest)
    top = len(t.histories[iid])
    t.db.delete(iid, v)
    for w in range(v + 1, top + 1):
        t.db.set_version(iid, w, w - 1)
    t.forger.forge(iid, top - 1, {})
    return iid, {"source", "trigger"}


SEMANTIC = [
    self_approval, wrong_role, trigger_not_from_state, wrong_dest, failed_guard,
    foreign_definition, start_not_first, first_not_a_start, collect_as, no_reason,
    step_spliced_out,
]  # fmt: skip


# Byte-level tamperings, on the sealed copy.
def flipped_byte(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: True)
    state = bytearray(t.db.state(iid, v))
    before = t.forger.mapper.transcoder.decode(bytes(state))
    while True:
        at = t.rng.randrange(len(state))
        old, state[at] = state[at], t.rng.choice(b'abcdefXYZ0189:,{}[]" ')
        try:
            if t.forger.mapper.transcoder.decode(bytes(state)) != before:
                break
        except Exception:  # unreadable now: that is a change too
            break
        state[at] = old  # the same meaning (an equivalent byte): not a tampering, try again
    t.db.set_state(iid, v, bytes(state))
    return iid, set()


def deleted_row(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: True)  # the last event of an instance too: the seal sees it
    t.db.delete(iid, v)
    return iid, set()


def swapped_rows(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: e.version < len(h))
    t.db.set_version(iid, v, -1)
    t.db.set_version(iid, v + 1, v)
    t.db.set_version(iid, -1, v + 1)
    return iid, set()


def respelt_id(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: True)
    spelt = t.rng.choice([iid.hex.upper(), str(iid), f"{{{iid.hex}}}"])
    t.db.execute(
        "UPDATE stored_events SET originator_id = ? WHERE rowid = ?", spelt, t.db.position(iid, v)
    )
    return iid, set()


def other_topic(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: True)
    topic = STARTED_TOPIC if v > 1 else TRANSITIONED_TOPIC
    t.db.set_row(iid, v, topic, t.db.state(iid, v))
    return iid, set()


def truncated_state(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: True)
    state = t.db.state(iid, v)
    t.db.set_state(iid, v, state[: t.rng.randrange(len(state))])
    return iid, set()


def replayed_row(t: Target) -> Outcome:
    iid, v = t.pick(lambda e, h: e.version == len(h))
    t.db.insert(iid, v + 1, t.db.state(iid, v), t.db.topic(iid, v))
    return iid, set()


BYTES = [flipped_byte, deleted_row, swapped_rows, respelt_id, other_topic, truncated_state, replayed_row]  # fmt: skip


# The campaign.
def build(path: Path) -> dict[UUID, list[HistoryEntry]]:
    """Toy instances (approved, reviewed, rejected) and technical-assistance ones."""
    with Engine.open(f"sqlite:///{path}", workflows=DEFINITIONS, projections=[]) as engine:
        for n in range(3):
            ids = [
                engine.start("toy", {"title": "t", "amount": n}, actor=REQUESTER).id for _ in "abc"
            ]
            for iid in ids[:2]:
                engine.fire(iid, "note", {"text": f"n{n}"}, actor=REQUESTER)
                engine.fire(iid, "review", {"score": 3 + n % 3}, actor=REVIEWER)
            engine.fire(ids[0], "approve", None, actor=APPROVER)
            engine.fire(ids[2], "reject", None, actor=Actor("rev-2", "reviewer"), reason="no")
        for state in ("disseminated", "cancelled", "rejected", "withdrawn", "revision_requested"):
            walk_to(engine, state, workflow=TA)
        assert engine.verify().ok
        return {iid: engine.history(iid) for iid in engine.instance_ids()}


def detected(report: Any, iid: UUID, rules: set[str], semantic: bool) -> bool:
    """The instance is named; a semantic tampering only as a ``rule`` (hashes are intact)."""
    mine = {p.rule for p in report.problems if p.instance_id == iid}
    only_rules = {p.kind for p in report.problems} == {"rule"}
    return bool(mine) and (not semantic or (only_rules and bool(rules & mine)))


@dataclass
class Campaign:
    base: Path
    sealed: Path
    histories: dict[UUID, list[HistoryEntry]]
    mapper_engine: Engine
    work: Path
    rng: random.Random

    def run(self, n: int, tamper: Callable[[Target], Outcome]) -> tuple[bool, bool, list[Any]]:
        semantic = tamper in SEMANTIC
        path = self.work / f"round{n}.db"
        shutil.copy(self.base if semantic else self.sealed, path)
        db = SQLiteTamper(str(path))
        target = Target(db, Forger(self.mapper_engine, db), self.histories, self.rng)
        iid, rules = tamper(target)
        out = self.work / f"round{n}.jsonl"
        with Engine.open(f"sqlite:///{path}", workflows=DEFINITIONS, projections=[]) as engine:
            report = engine.verify()
            with out.open("w", encoding="utf-8") as fh:
                engine.export(fh)
        offline = Engine.verify_file(out)
        path.unlink()
        seen_online, seen_offline = (detected(r, iid, rules, semantic) for r in (report, offline))
        return seen_online, seen_offline, report.problems


@pytest.fixture
def campaign(tmp_path: Path) -> Iterator[Campaign]:
    base, sealed = tmp_path / "base.db", tmp_path / "sealed.db"
    histories = build(base)
    shutil.copy(base, sealed)
    with Engine.open(f"sqlite:///{sealed}", workflows=DEFINITIONS, projections=[]) as engine:
        engine.seal()
    with Engine.open("memory://", workflows=DEFINITIONS, projections=[]) as mapper_engine:
        yield Campaign(base, sealed, histories, mapper_engine, tmp_path, random.Random(SEED))


def test_every_random_tampering_is_detected_online_and_offline(
    campaign: Campaign, figures: Figures
) -> None:
    tampers = SEMANTIC + BYTES
    rounds = scale(4 * len(tampers), 40 * len(tampers))
    seen: Counter[str] = Counter()
    reported: Counter[str] = Counter()
    missed: list[str] = []
    for n in range(rounds):
        tamper = tampers[n % len(tampers)]
        online, offline, problems = campaign.run(n, tamper)
        seen.update(
            semantic=tamper in SEMANTIC, online=online, offline=offline, both=online and offline
        )
        reported.update(p.rule or p.kind for p in problems)
        if not (online and offline):
            missed.append(f"round {n}: {tamper.__name__} (online {online}, offline {offline})")
    figures.record(
        tampered=rounds, detected=seen["both"], semantic=seen["semantic"],
        byte_level=rounds - seen["semantic"], detected_online=seen["online"],
        detected_offline=seen["offline"], seed=SEED, reported=dict(sorted(reported.items())),
    )  # fmt: skip
    assert missed == []
    assert seen["both"] == rounds
