"""The compiled table decides exactly as a guarded dry run on the ``transitions`` machine.

Commands are decided from :class:`engine.commands.compiled.CompiledWorkflow`'s table, not by
triggering the definition's machine. This property builds random valid definitions (a
chain of states plus random extra transitions, internal ones, shared triggers and guards
that pass, fail or raise) and, for every state and every trigger, compares the table's
decision with the one the machine's dry run gives: whether it may fire, where it leads,
and every guard result in order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transitions import Machine, MachineError

from engine import (
    Actor,
    EngineError,
    Guard,
    GuardContext,
    GuardRejected,
    GuardResult,
    InstanceView,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from engine.commands.compiled import CompiledWorkflow, _run_guard
from engine.definition.diagrams import machine_spec
from engine.definition.model import START_STATE, EmptyPayload

ACTOR = Actor("clerk-1", "clerk")
NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
GUARD_NAMES = ("g0", "g1", "g2", "g3")


def _guard(name: str, outcome: str) -> Guard:
    def check(ctx: GuardContext) -> GuardResult:
        if outcome == "raise":
            msg = "broken guard"
            raise RuntimeError(msg)
        return GuardResult(outcome == "pass", f"{name} {outcome}", {"state": ctx.view.state})

    return Guard(name, check)


extra = st.tuples(
    st.sampled_from(("a", "b", "c", "go0")),  # shared names, and one the chain has
    st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True),  # sources
    st.integers(0, 6),  # dest
    st.sampled_from((None, "own", "other")),  # internal: no dest, its own dest, or none
    st.lists(st.sampled_from(GUARD_NAMES), max_size=3, unique=True),
)


@st.composite
def definitions(draw: st.DrawFn) -> WorkflowDefinition:
    n = draw(st.integers(2, 6))
    names = [f"s{i}" for i in range(n)]
    outcomes = draw(st.lists(st.sampled_from(("pass", "fail", "raise")), min_size=4, max_size=4))
    chain_guards = draw(st.lists(st.lists(st.sampled_from(GUARD_NAMES), max_size=2, unique=True),
                                 min_size=n, max_size=n))  # fmt: skip
    transitions = [TransitionDef(trigger="begin", dest="s0", roles=("clerk",),
                                 guards=tuple(chain_guards[0]))]  # fmt: skip
    taken = {(START_STATE, "begin")}
    for i in range(n - 1):
        transitions.append(TransitionDef(trigger=f"go{i}", source=(names[i],), dest=names[i + 1],
                                         roles=("clerk",), guards=tuple(chain_guards[i + 1])))  # fmt: skip
        taken.add((names[i], f"go{i}"))
    for trigger, sources, dest, internal, guards in draw(st.lists(extra, max_size=6)):
        srcs = tuple(names[s] for s in sources if s < n - 1)  # never out of the final state
        if internal == "own":
            srcs = srcs[:1]
        if not srcs or any((s, trigger) in taken for s in srcs):
            continue
        taken.update((s, trigger) for s in srcs)
        transitions.append(TransitionDef(
            trigger=trigger, source=srcs,
            dest={"own": srcs[0], "other": None}.get(internal or "", names[dest % n]),
            internal=internal is not None, roles=("clerk",), guards=tuple(guards),
        ))  # fmt: skip
    return WorkflowDefinition(
        name="random",
        version=1,
        roles=("clerk",),
        states=tuple(StateDef(name=s, final=s == names[-1]) for s in names),
        transitions=tuple(transitions),
        guards=tuple(_guard(g, o) for g, o in zip(GUARD_NAMES, outcomes, strict=True)),
    )


class _Probe:
    def __init__(self, state: str, ctx: GuardContext) -> None:
        self.state = state
        self.ctx = ctx
        self.results: list[dict[str, Any]] = []


def _dry_run_machine(defn: WorkflowDefinition) -> Machine:
    """The machine as commands used to be decided on: each transition's condition runs all
    of its guards and keeps their results on the probe."""
    functions = defn.guard_functions()
    states, specs = machine_spec(defn)
    for spec, t in zip(specs, defn.transitions, strict=True):
        guards = [functions[g] for g in t.guards]

        def condition(event_data: Any, guards: list[Guard] = guards) -> bool:
            probe: _Probe = event_data.model
            probe.results = [_run_guard(g, probe.ctx) for g in guards]
            return all(r["ok"] for r in probe.results)

        spec["conditions"] = [condition]
    return Machine(model=None, states=states, transitions=specs, initial=START_STATE,
                   auto_transitions=False, send_event=True)  # fmt: skip


def _view(state: str) -> InstanceView:
    return InstanceView.model_construct(state=state, data={}, fired_by={}, acted_as={})


def _by_machine(machine: Machine, state: str, trigger: str) -> tuple[str, Any]:
    view = _view(state)
    ctx = GuardContext(view=view, payload=EmptyPayload(), actor=ACTOR, trigger=trigger,
                       now=NOW, settings={})  # fmt: skip
    probe = _Probe(state, ctx)
    if trigger not in machine.events:  # a trigger the definition does not have
        return "not_allowed", None
    try:
        moved = machine.events[trigger].trigger(probe)
    except MachineError:
        return "not_allowed", None
    if not moved:
        return "rejected", [r for r in probe.results if not r["ok"]]
    return "fired", (probe.state, probe.results)


def _by_table(compiled: CompiledWorkflow, state: str, trigger: str) -> tuple[str, Any]:
    view = _view(state)
    try:
        t = compiled.transition(state, trigger)
    except EngineError:
        return "not_allowed", None
    try:
        decision = compiled.run_guards(view, t, EmptyPayload(), ACTOR, NOW)
    except GuardRejected as exc:
        return "rejected", exc.failures
    assert decision.source == (None if state == START_STATE else state)
    return "fired", (decision.dest, decision.guards)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions())
def test_the_table_decides_as_the_machine_dry_run(defn: WorkflowDefinition) -> None:
    compiled = CompiledWorkflow(defn)
    machine = _dry_run_machine(defn)
    states = [START_STATE, *(s.name for s in defn.states)]
    triggers = sorted({t.trigger for t in defn.transitions} | {"nope"})
    outcomes = set()
    for state in states:
        for trigger in triggers:
            expected = _by_machine(machine, state, trigger)
            assert _by_table(compiled, state, trigger) == expected, (state, trigger)
            outcomes.add(expected[0])
    assert "not_allowed" in outcomes  # "nope" is never allowed: the comparison ran


def test_an_internal_transition_stays_and_a_rejection_keeps_every_failed_guard() -> None:
    defn = WorkflowDefinition(
        name="fixed", version=1, roles=("clerk",),
        states=(StateDef(name="s0"), StateDef(name="s1", final=True)),
        transitions=(
            TransitionDef(trigger="begin", dest="s0", roles=("clerk",)),
            TransitionDef(trigger="note", source=("s0",), internal=True, roles=("clerk",),
                          guards=("g0",)),
            TransitionDef(trigger="go", source=("s0",), dest="s1", roles=("clerk",),
                          guards=("g1", "g0", "g2")),
        ),
        guards=(_guard("g0", "pass"), _guard("g1", "fail"), _guard("g2", "raise")),
    )  # fmt: skip
    compiled, machine = CompiledWorkflow(defn), _dry_run_machine(defn)
    assert _by_table(compiled, "s0", "note") == _by_machine(machine, "s0", "note")
    assert _by_table(compiled, "s0", "note")[1][0] == "s0"
    kind, failed = _by_table(compiled, "s0", "go")
    assert kind == "rejected"
    assert [r["name"] for r in failed] == ["g1", "g2"]
    assert (kind, failed) == _by_machine(machine, "s0", "go")
