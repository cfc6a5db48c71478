"""Peer engines doing the same 7-step request on the same kind of SQLite file, side by side.

Every system starts from 300 submitted requests (setup, untimed) and fires the same 7
steps on each, round-robin, with one durable transaction per step (WAL, synchronous
FULL), the way its users persist it:

* ``engine_inline``: ``Engine.fire`` (validation, guards, hash chain), the built-in
  projections written in each command's transaction;
* ``engine_catchup``: the same with ``projection_mode="catchup"``, timed until the
  projections have caught up with the 2,100 events (so read models end as current);
* ``spiff_in_memory``: SpiffWorkflow, a BPMN process of user tasks with the same steps;
  the workflows stay in memory, each step completes the ready task (its payload into
  the task data) and saves the workflow's JSON serialisation to its row;
* ``spiff_reloaded``: the same, but each step first reloads the workflow from its row
  (what a web request handler does);
* ``python_statemachine``: one machine per request kept in memory; each step sends the
  event, then appends to a hand-written transition log and updates the state row;
* ``transitions_append``: ``transitions`` with every request as a model of one machine;
  each step triggers, then appends one row to a log;
* ``sqlite3``: the floor, one row per step.

The peers validate no payloads, run no guards and chain no hashes. A peer that is not
installed is skipped with the reason (``pip install -r bench/requirements.txt``).
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import fresh_db, median, ratio, side_by_side, sqlite_connect
from bench.raw import run_sqlite3
from bench.spine import START, STEPS, run_engine

TRIGGERS = [START.trigger, *(s.trigger for s in STEPS)]
_INSTALL = "pip install -r bench/requirements.txt"


def _missing(module: str) -> bool:
    return importlib.util.find_spec(module) is None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _commit(conn: sqlite3.Connection, *statements: tuple[str, tuple[Any, ...]]) -> None:
    conn.execute("BEGIN")
    for sql, params in statements:
        conn.execute(sql, params)
    conn.execute("COMMIT")


# ---------------------------------------------------------------------- SpiffWorkflow
def _bpmn() -> bytes:
    """A BPMN process: start, one user task per trigger (submit first), end."""
    nodes = ['<bpmn:startEvent id="start"/>']
    flows, prev = [], "start"
    for trigger in TRIGGERS:
        nodes.append(f'<bpmn:userTask id="{trigger}" name="{trigger}"/>')
        flows.append((prev, trigger))
        prev = trigger
    nodes.append('<bpmn:endEvent id="end"/>')
    flows.append((prev, "end"))
    nodes += [
        f'<bpmn:sequenceFlow id="flow{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(flows)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="defs" targetNamespace="http://socieux.example/bench">'
        '<bpmn:process id="technical_assistance" isExecutable="true">'
        + "".join(nodes)
        + "</bpmn:process></bpmn:definitions>"
    ).encode()


def _spiff_complete(
    workflow: Any, trigger: str, payload: dict[str, Any] | None, actor: Any
) -> None:
    from SpiffWorkflow.util.task import TaskState

    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    if task is None or task.task_spec.name != trigger:
        raise RuntimeError(f"spiff: expected {trigger}, found {task}")
    task.data.update({trigger: payload or {}, "actor_id": actor.id, "role": actor.role})
    task.run()
    workflow.do_engine_steps()


def _spiff(path: Path, requests: int, *, reload: bool) -> tuple[float, int]:
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    parser = BpmnParser()
    parser.add_bpmn_str(_bpmn())
    spec = parser.get_spec("technical_assistance")
    serializer = BpmnWorkflowSerializer()
    conn = sqlite_connect(path)
    conn.execute(
        "CREATE TABLE workflows (id INTEGER PRIMARY KEY, state TEXT NOT NULL, "
        "serialization TEXT NOT NULL)"
    )
    workflows: dict[int, Any] = {}
    for n in range(requests):
        wf = BpmnWorkflow(spec)
        wf.do_engine_steps()
        _spiff_complete(wf, START.trigger, START.payload, START.actor)
        _commit(
            conn,
            (
                "INSERT INTO workflows VALUES (?, ?, ?)",
                (n, START.dest, serializer.serialize_json(wf)),
            ),
        )
        workflows[n] = wf
    t0 = time.perf_counter()
    for step in STEPS:
        for n in range(requests):
            if reload:
                (text,) = conn.execute(
                    "SELECT serialization FROM workflows WHERE id = ?", (n,)
                ).fetchone()
                wf = serializer.deserialize_json(text)
            else:
                wf = workflows[n]
            _spiff_complete(wf, step.trigger, step.payload, step.actor)
            _commit(
                conn,
                (
                    "UPDATE workflows SET state = ?, serialization = ? WHERE id = ?",
                    (step.dest, serializer.serialize_json(wf), n),
                ),
            )
    seconds = time.perf_counter() - t0
    (text,) = conn.execute(
        "SELECT serialization FROM workflows WHERE id = ?", (requests - 1,)
    ).fetchone()
    conn.close()
    if not serializer.deserialize_json(text).is_completed():
        raise RuntimeError("spiff: the last workflow did not complete")
    return seconds, requests * len(STEPS)


# ---------------------------------------------------------------------- python-statemachine
def _statemachine_class() -> Any:
    from statemachine import State, StateMachine

    class TechnicalAssistance(StateMachine):  # type: ignore[misc]
        submitted = State(initial=True)
        fine_tuned = State()
        approved = State()
        mobilised = State()
        implemented = State()
        evaluated = State()
        disseminated = State(final=True)

        fine_tune = submitted.to(fine_tuned)
        approve = fine_tuned.to(approved)
        mobilise = approved.to(mobilised)
        record_activity = mobilised.to.itself(internal=True)
        implement = mobilised.to(implemented)
        evaluate = implemented.to(evaluated)
        disseminate = evaluated.to(disseminated)

    return TechnicalAssistance


class _Model:
    def __init__(self, iid: int) -> None:
        self.id = iid
        self.state: str | None = None
        self.version = 1


_LOG_DDL = (
    "CREATE TABLE transition_log (instance_id INTEGER NOT NULL, version INTEGER NOT NULL, "
    "trigger TEXT NOT NULL, source TEXT, dest TEXT NOT NULL, actor_id TEXT NOT NULL, "
    "role TEXT NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL, "
    "PRIMARY KEY (instance_id, version))"
)
_LOG_INSERT = "INSERT INTO transition_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _statemachine(path: Path, requests: int) -> tuple[float, int]:
    machine_cls = _statemachine_class()
    conn = sqlite_connect(path)
    conn.execute(_LOG_DDL)
    conn.execute(
        "CREATE TABLE instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL, "
        "version INTEGER NOT NULL)"
    )
    machines = {}
    for n in range(requests):
        model = _Model(n)
        machines[n] = machine_cls(model)
        actor = START.actor
        _commit(
            conn,
            (
                _LOG_INSERT,
                (
                    n,
                    1,
                    START.trigger,
                    None,
                    model.state,
                    actor.id,
                    actor.role,
                    json.dumps(START.payload),
                    _now(),
                ),
            ),
            ("INSERT INTO instances VALUES (?, ?, 1)", (n, model.state)),
        )
    t0 = time.perf_counter()
    for step in STEPS:
        for n in range(requests):
            sm = machines[n]
            model = sm.model
            source = model.state
            sm.send(step.trigger)
            model.version += 1
            _commit(
                conn,
                (
                    _LOG_INSERT,
                    (
                        n,
                        model.version,
                        step.trigger,
                        source,
                        model.state,
                        step.actor.id,
                        step.actor.role,
                        json.dumps(step.payload),
                        _now(),
                    ),
                ),
                (
                    "UPDATE instances SET state = ?, version = ? WHERE id = ?",
                    (model.state, model.version, n),
                ),
            )
    seconds = time.perf_counter() - t0
    (state,) = conn.execute("SELECT state FROM instances WHERE id = ?", (requests - 1,)).fetchone()
    conn.close()
    if state != "disseminated":
        raise RuntimeError(f"python-statemachine ended at {state}")
    return seconds, requests * len(STEPS)


# ---------------------------------------------------------------------- transitions
def _transitions(path: Path, requests: int) -> tuple[float, int]:
    from transitions import Machine

    states = ["submitted", *dict.fromkeys(s.dest for s in STEPS)]
    specs = [{"trigger": s.trigger, "source": s.source, "dest": s.dest} for s in STEPS]
    machine = Machine(
        model=[], states=states, transitions=specs, initial="submitted", auto_transitions=False
    )
    conn = sqlite_connect(path)
    conn.execute(_LOG_DDL)
    models = []
    for n in range(requests):
        model = _Model(n)
        machine.add_model(model)
        models.append(model)
        _commit(
            conn,
            (
                _LOG_INSERT,
                (
                    n,
                    1,
                    START.trigger,
                    None,
                    model.state,
                    START.actor.id,
                    START.actor.role,
                    json.dumps(START.payload),
                    _now(),
                ),
            ),
        )
    t0 = time.perf_counter()
    for step in STEPS:
        for model in models:
            source = model.state
            getattr(model, step.trigger)()
            model.version += 1
            _commit(
                conn,
                (
                    _LOG_INSERT,
                    (
                        model.id,
                        model.version,
                        step.trigger,
                        source,
                        model.state,
                        step.actor.id,
                        step.actor.role,
                        json.dumps(step.payload),
                        _now(),
                    ),
                ),
            )
    seconds = time.perf_counter() - t0
    conn.close()
    if models[-1].state != "disseminated":
        raise RuntimeError(f"transitions ended at {models[-1].state}")
    return seconds, requests * len(STEPS)


# ---------------------------------------------------------------------- suite
def _on_file(name: str, fn: Any, *args: Any, **kwargs: Any) -> tuple[float, int]:
    with fresh_db(name) as path:
        return fn(path, *args, **kwargs)  # type: ignore[no-any-return]


def _engine(requests: int, mode: str) -> tuple[float, int]:
    with fresh_db("engine") as path:
        return run_engine(f"sqlite:///{path}", requests, projections=None, mode=mode).with_catch_up


def run(requests: int, rounds: int) -> dict[str, Any]:
    """The engine and each installed peer, ``requests`` x 7 steps, ``rounds`` rounds."""
    systems: dict[str, Any] = {
        "engine_inline": lambda: _engine(requests, "inline"),
        "engine_catchup": lambda: _engine(requests, "catchup"),
        "sqlite3": lambda: _on_file("raw", run_sqlite3, requests),
        "transitions_append": lambda: _on_file("transitions", _transitions, requests),
    }
    skipped: dict[str, str] = {}
    if _missing("SpiffWorkflow"):
        skipped["spiff"] = f"SpiffWorkflow is not installed ({_INSTALL})"
    else:
        systems["spiff_in_memory"] = lambda: _on_file("spiff", _spiff, requests, reload=False)
        systems["spiff_reloaded"] = lambda: _on_file("spiff", _spiff, requests, reload=True)
    if _missing("statemachine"):
        skipped["python_statemachine"] = f"python-statemachine is not installed ({_INSTALL})"
    else:
        systems["python_statemachine"] = lambda: _on_file("psm", _statemachine, requests)
    rates = side_by_side(systems, rounds)
    steps = len(STEPS)
    return {
        "requests": requests,
        "steps_per_request": steps,
        "rounds": rounds,
        "requests_per_s": {n: round(median(r) / steps, 1) for n, r in rates.items()},
        "steps_per_s": {n: round(median(r)) for n, r in rates.items()},
        "engine_inline_vs": {
            n: ratio(rates, "engine_inline", n) for n in rates if not n.startswith("engine")
        },
        "engine_catchup_vs": {
            n: ratio(rates, "engine_catchup", n) for n in rates if not n.startswith("engine")
        },
        "vs_sqlite3": {n: ratio(rates, n, "sqlite3") for n in rates},
        "skipped": skipped,
        "versions": _versions(),
    }


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for dist in ("SpiffWorkflow", "python-statemachine", "transitions", "eventsourcing"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out
