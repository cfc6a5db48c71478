"""Subprocess entry points and shared checks for the contention and crash tests.

Everything here runs in real processes (``multiprocessing`` with the ``spawn`` context)
against a real SQLite file or a real PostgreSQL schema. Workers identify every command
they fire with a unique ``correlation_id`` (also put in the payload), so the store can be
compared command by command with what the workers say happened.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import structlog
from pydantic import BaseModel, ConfigDict, Field

from engine import (
    Actor,
    ConcurrencyConflict,
    Engine,
    EngineError,
    StateDef,
    TransitionDef,
    TransitionNotAllowed,
    WorkflowDefinition,
)
from engine.instance.aggregate import STARTED_TOPIC, WorkflowInstance, recompute_hash
from projections import builtin

WORKER = "worker"


# --------------------------------------------------------------------------- workflow
class Cmd(BaseModel):
    """Every command carries its unique id (merged into ``data``: it stays small)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cmd: str = Field(min_length=1)


def cycle_definition() -> WorkflowDefinition:
    """A cyclic workflow: ``take`` / ``release`` forever, plus always-allowed notes.

    Cycles make sustained contention possible: an instance never reaches a final state,
    (``close`` is never fired), and two racers for ``take`` (or ``release``) produce one winner and one refusal.
    """
    return WorkflowDefinition(
        name="cycle",
        version=1,
        title="Reliability cycle",
        roles=(WORKER,),
        states=(
            StateDef(name="idle", sla_days=3),
            StateDef(name="busy", sla_days=1),
            StateDef(name="closed", final=True),
        ),
        transitions=(
            TransitionDef(trigger="open", dest="idle", roles=(WORKER,), payload=Cmd),
            TransitionDef(
                trigger="take", source=("idle",), dest="busy", roles=(WORKER,), payload=Cmd
            ),
            TransitionDef(
                trigger="release", source=("busy",), dest="idle", roles=(WORKER,), payload=Cmd
            ),
            TransitionDef(
                trigger="note", source=("idle", "busy"), internal=True, roles=(WORKER,), payload=Cmd
            ),
            TransitionDef(
                trigger="close", source=("idle",), dest="closed", roles=(WORKER,), payload=Cmd
            ),  # never fired here: the definition needs an end
        ),
    )


def cycle_engine(url: str, *, mode: str | None = None, projections: bool = True) -> Engine:
    return Engine.open(
        url,
        workflows=[cycle_definition()],
        projections=builtin() if projections else [],
        projection_mode=mode,
    )


def toggle(state: str) -> str:
    """The trigger that moves an instance out of ``state``."""
    return "take" if state == "idle" else "release"


def start_instances(engine: Engine, count: int, prefix: str = "start") -> list[str]:
    actor = Actor("setup", WORKER)
    return [
        str(
            engine.start(
                "cycle", {"cmd": f"{prefix}-{n}"}, actor=actor, correlation_id=f"{prefix}-{n}"
            ).id
        )
        for n in range(count)
    ]


# --------------------------------------------------------------------------- log counting
class _LogCounter:
    """A structlog processor that counts the engine's log events and drops them."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
        self.counts[str(event_dict.get("event"))] += 1
        raise structlog.DropEvent


def count_engine_logs() -> Counter[str]:
    """Count (and silence) every structlog event of this process, by name.

    ``engine/facade.py`` logs ``write_conflict`` once per lost race and
    ``command_refused`` once per refusal: the engine's retries, observed from outside.
    """
    counter = _LogCounter()
    structlog.configure(processors=[counter], cache_logger_on_first_use=False)
    return counter.counts


# --------------------------------------------------------------------------- contention
def contention_worker(
    url: str,
    ids: list[str],
    worker: int,
    commands: int,
    seed: int,
    mode: str,
    barrier: Any,
    out: Any,
) -> None:
    """Fire ``commands`` commands at random shared instances; report what happened.

    A quarter are read-decide-write commands with ``expected_version`` (fail fast with
    ``ConcurrencyConflict``), a quarter plain ``take``/``release`` chosen from this
    worker's possibly stale view (a lost race is re-decided and may be refused), half
    plain notes (a lost race is re-decided and retried).
    """
    counts = count_engine_logs()
    rng = random.Random(seed * 1000 + worker)
    actor = Actor(f"w{worker}", WORKER)
    ok: list[tuple[str, int, str]] = []
    views: dict[str, dict[str, Any]] = {}
    outcome: Counter[str] = Counter()
    unexpected: list[str] = []
    retries = 0

    def remember(view: Any) -> None:
        dumped = view.model_dump(mode="json")
        known = views.get(dumped["id"])
        if known is None or known["version"] <= dumped["version"]:
            views[dumped["id"]] = dumped

    with cycle_engine(url, mode=mode) as engine:
        barrier.wait()
        for n in range(commands):
            iid = rng.choice(ids)
            cmd = f"w{worker}-{n}"
            payload = {"cmd": cmd}
            before = counts["write_conflict"]
            roll = rng.random()
            kind = "expected" if roll < 0.25 else "toggle" if roll < 0.5 else "note"
            try:
                if kind == "expected":
                    current = engine.get(iid)
                    remember(current)
                    view = engine.fire(
                        iid,
                        toggle(current.state),
                        payload,
                        actor=actor,
                        expected_version=current.version,
                        correlation_id=cmd,
                    )
                elif kind == "toggle":
                    state = views[iid]["state"] if iid in views else "idle"
                    view = engine.fire(iid, toggle(state), payload, actor=actor, correlation_id=cmd)
                else:
                    view = engine.fire(iid, "note", payload, actor=actor, correlation_id=cmd)
                ok.append((str(view.id), view.version, cmd))
                remember(view)
                outcome[f"{kind}:ok"] += 1
            except ConcurrencyConflict:
                outcome[f"{kind}:conflict"] += 1
            except TransitionNotAllowed:
                outcome[f"{kind}:refused"] += 1
            except EngineError as exc:  # anything else breaks the contract
                unexpected.append(f"{cmd}: {exc.code}: {exc}")
            lost = counts["write_conflict"] - before
            if kind != "expected":
                retries += lost  # each lost race of a plain fire was re-decided
            if mode == "catchup" and n % 20 == 19:
                engine.requests(limit=5)  # catch-ups race each other across processes
    out.put(
        {
            "worker": worker,
            "ok": ok,
            "views": views,
            "outcome": dict(outcome),
            "unexpected": unexpected,
            "retries": retries,
            "write_conflicts": counts["write_conflict"],
            "refused_logged": counts["command_refused"],
        }
    )


# --------------------------------------------------------------------------- crashes
def _append(fd: int, line: str) -> None:
    os.write(fd, (line + "\n").encode())


def crash_writer(
    url: str, ids: list[str], log: str, ready: str, mode: str, seed: int, tag: str
) -> None:
    """Fire commands forever (until SIGKILLed), logging each one before and after.

    ``intent <cmd> <iid>`` is appended before a command, ``done <cmd> <iid> <version>``
    after it returned. Every tenth command starts a new instance. In ``catchup`` mode a
    query every seven commands makes the writer catch the projections up too (one more
    kind of transaction to be killed in); in ``inline`` mode (SQLite) every command
    writes the projections in its own transaction.
    """
    count_engine_logs()
    rng = random.Random(seed)
    actor = Actor(f"writer-{tag}", WORKER)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    states: dict[str, str] = {}
    known = list(ids)
    with cycle_engine(url, mode=mode) as engine:
        Path(ready).touch()
        n = 0
        while True:
            cmd = f"{tag}-{n}"
            if n % 10 == 9:
                iid = str(uuid4())
                _append(fd, f"intent {cmd} {iid}")
                view = engine.start(
                    "cycle", {"cmd": cmd}, actor=actor, correlation_id=cmd, instance_id=UUID(iid)
                )
                known.append(iid)
            else:
                iid = rng.choice(known)
                _append(fd, f"intent {cmd} {iid}")
                state = states.get(iid) or engine.get(iid).state
                trigger = toggle(state) if rng.random() < 0.5 else "note"
                view = engine.fire(iid, trigger, {"cmd": cmd}, actor=actor, correlation_id=cmd)
            states[iid] = view.state
            _append(fd, f"done {cmd} {iid} {view.version}")
            if mode == "catchup" and n % 7 == 6:
                engine.requests(limit=5)
            n += 1


def read_writer_log(log: str | Path) -> tuple[list[tuple[str, str]], dict[str, tuple[str, int]]]:
    """(intents as (cmd, iid) in order, done commands as cmd -> (iid, version)).

    A line cut short by the kill (no newline) is ignored.
    """
    intents: list[tuple[str, str]] = []
    done: dict[str, tuple[str, int]] = {}
    text = Path(log).read_text() if Path(log).exists() else ""
    for line in text.split("\n")[:-1]:
        parts = line.split()
        if parts[0] == "intent":
            intents.append((parts[1], parts[2]))
        else:
            done[parts[1]] = (parts[2], int(parts[3]))
    return intents, done


def crash_projector(url: str, ready: str, batch: int) -> None:
    """Catch the projections up in small batches (worker mode) until done or SIGKILLed."""
    count_engine_logs()
    with cycle_engine(url, mode="worker") as engine:
        Path(ready).touch()
        # many small transactions: many moments to die
        engine._projections.runner.catch_up(batch=batch)


# --------------------------------------------------------------------------- store checks
def notifications(engine: Engine, page: int = 1000) -> Iterator[Any]:
    recorder = engine.application.recorder
    start = None
    while True:
        batch = recorder.select_notifications(start, page, inclusive_of_start=False)
        yield from batch
        if len(batch) < page:
            return
        start = batch[-1].id


def read_log(engine: Engine) -> list[tuple[int, WorkflowInstance.Event]]:
    """Every event with its notification id, decoded; each must be complete and hash-true."""
    mapper = engine.application.mapper
    out = []
    for n in notifications(engine):
        event = mapper.to_domain_event(n)
        assert isinstance(event, WorkflowInstance.Event), n.topic
        assert event.hash == recompute_hash(event), f"event {n.id} does not hash to itself"
        assert event.audit["correlation_id"], f"event {n.id} has no command id"
        assert event.payload == {"cmd": event.audit["correlation_id"]}, n.id
        out.append((n.id, event))
    return out


def check_log(engine: Engine) -> dict[str, Any]:
    """The log's invariants: gap-free versions, chained hashes, no command written twice.

    Returns ``{"events", "versions" (iid -> last version), "by_cmd" (cmd -> (iid,
    version)), "starts", "positions" (notification ids)}``.
    """
    events = read_log(engine)
    versions: dict[str, list[int]] = {}
    last_hash: dict[str, str] = {}
    by_cmd: dict[str, tuple[str, int]] = {}
    starts = 0
    for _, e in events:
        iid = str(e.originator_id)
        seen = versions.setdefault(iid, [])
        expected_prev = last_hash.get(iid)
        if e.originator_version == 1:
            assert e.TOPIC == STARTED_TOPIC  # type: ignore[attr-defined]
            starts += 1
        else:
            assert e.prev_hash == expected_prev, f"{iid} v{e.originator_version}: chain broken"
        seen.append(e.originator_version)
        last_hash[iid] = e.hash
        cmd = e.audit["correlation_id"]
        assert cmd not in by_cmd, f"command {cmd} written twice"
        by_cmd[cmd] = (iid, e.originator_version)
    for iid, vs in versions.items():
        assert vs == list(range(1, len(vs) + 1)), f"{iid}: versions {vs} are not 1..n"
    report = engine.verify()
    assert report.ok, report.summary()
    assert report.events_checked == len(events)
    return {
        "events": len(events),
        "versions": {k: len(v) for k, v in versions.items()},
        "by_cmd": by_cmd,
        "starts": starts,
        "positions": [p for p, _ in events],
    }


def write_commands(
    engine: Engine, ids: list[str], count: int, tag: str, rng: random.Random
) -> list[str]:
    """Fire ``count`` accepted commands from one process (every tenth starts an instance)."""
    actor = Actor(f"filler-{tag}", WORKER)
    for n in range(count):
        cmd = f"{tag}-{n}"
        if n % 10 == 9:
            ids.append(str(engine.start("cycle", {"cmd": cmd}, actor=actor, correlation_id=cmd).id))
            continue
        iid = rng.choice(ids)
        trigger = toggle(engine.get(iid).state) if rng.random() < 0.5 else "note"
        engine.fire(iid, trigger, {"cmd": cmd}, actor=actor, correlation_id=cmd)
    return ids


def restarted_reader(url: str, iid: str, result: str) -> None:
    """A fresh process (it never took a snapshot) reads and extends a snapshotted instance."""
    count_engine_logs()
    with cycle_engine(url, projections=False) as engine:
        before = engine.get(iid).version
        view = engine.fire(
            iid,
            "note",
            {"cmd": "after-restart"},
            actor=Actor("r", WORKER),
            correlation_id="after-restart",
        )
        Path(result).write_text(f"{before} {view.version}")
