"""Definition validation reports every class of problem, all at once; hashes and exports."""

from __future__ import annotations

import json

import pytest

from engine import (
    Guard,
    GuardResult,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
    WorkflowDefinitionError,
)
from engine.commands.registry import WorkflowRegistry
from engine.definition.content import content_hash, to_dict, to_json
from engine.definition.diagrams import to_dot, to_mermaid
from tests.toy import toy_definition


def _defn(
    states: tuple[StateDef, ...],
    transitions: tuple[TransitionDef, ...],
    guards: tuple[Guard, ...] = (),
) -> WorkflowDefinition:
    return WorkflowDefinition(
        name="bad", version=1, states=states, transitions=transitions, guards=guards
    )


def _problems(defn: WorkflowDefinition) -> list[str]:
    with pytest.raises(WorkflowDefinitionError) as info:
        WorkflowRegistry([defn])
    assert info.value.code == "definition_invalid"
    return info.value.problems


S = StateDef
T = TransitionDef


def test_the_toy_definition_is_valid() -> None:
    assert WorkflowRegistry([toy_definition()]).names() == ["toy"]


def test_unreachable_state_is_reported() -> None:
    problems = _problems(
        _defn(
            (S(name="a"), S(name="island"), S(name="done", final=True)),
            (
                T(trigger="go", dest="a", roles=("r",)),
                T(trigger="end", source=("a",), dest="done", roles=("r",)),
            ),
        )
    )
    assert problems == ["state 'island' is unreachable from the initial state 'a'"]


def test_transition_out_of_final_state_is_reported() -> None:
    problems = _problems(
        _defn(
            (S(name="a"), S(name="done", final=True)),
            (
                T(trigger="go", dest="a", roles=("r",)),
                T(trigger="end", source=("a",), dest="done", roles=("r",)),
                T(trigger="reopen", source=("done",), dest="a", roles=("r",)),
            ),
        )
    )
    assert problems == ["transition 'reopen' leaves final state 'done'"]


def test_dead_end_is_reported() -> None:
    problems = _problems(
        _defn(
            (S(name="a"), S(name="stuck"), S(name="done", final=True)),
            (
                T(trigger="go", dest="a", roles=("r",)),
                T(trigger="end", source=("a",), dest="done", roles=("r",)),
                T(trigger="trap", source=("a",), dest="stuck", roles=("r",)),
            ),
        )
    )
    assert problems == ["state 'stuck' is a dead end: no final state can be reached from it"]


def test_unknown_guard_is_reported() -> None:
    problems = _problems(
        _defn(
            (S(name="a"), S(name="done", final=True)),
            (
                T(trigger="go", dest="a", roles=("r",), guards=("ghost",)),
                T(trigger="end", source=("a",), dest="done", roles=("r",)),
            ),
        )
    )
    assert problems == ["transition 'go': unknown guard 'ghost'"]


def test_ambiguous_trigger_is_reported() -> None:
    problems = _problems(
        _defn(
            (S(name="a"), S(name="b", final=True), S(name="c", final=True)),
            (
                T(trigger="go", dest="a", roles=("r",)),
                T(trigger="end", source=("a",), dest="b", roles=("r",)),
                T(trigger="end", source=("a",), dest="c", roles=("r",)),
            ),
        )
    )
    assert problems == ["trigger 'end' is defined more than once from state 'a' (ambiguous)"]


def test_missing_initial_state_and_final_state_are_reported() -> None:
    problems = _problems(
        _defn((S(name="a"),), (T(trigger="loop", source=("a",), dest="a", roles=("r",)),))
    )
    assert problems == ["no start transition (a transition with an empty source)", "no final state"]


def test_every_problem_is_listed_at_once() -> None:
    problems = _problems(
        _defn(
            (S(name="a"), S(name="island"), S(name="stuck"), S(name="done", final=True)),
            (
                T(trigger="go", dest="a", roles=("r",), guards=("ghost",)),
                T(trigger="end", source=("a",), dest="done", roles=("r",)),
                T(trigger="end", source=("a",), dest="stuck", roles=("r",)),
                T(trigger="reopen", source=("done",), dest="a", roles=("r",)),
                T(trigger="x", source=("a",), dest="nowhere", roles=("r",)),
            ),
        )
    )
    assert len(problems) == 6, problems
    text = "\n".join(problems)
    for fragment in (
        "unknown guard 'ghost'",
        "ambiguous",
        "leaves final state",
        "unreachable",
        "unknown destination state 'nowhere'",
        "dead end",
    ):
        assert fragment in text


def test_same_name_and_version_with_other_content_is_refused() -> None:
    registry = WorkflowRegistry([toy_definition(cap=1000)])
    with pytest.raises(WorkflowDefinitionError):
        registry.register(toy_definition(cap=2000))


def test_content_hash_is_stable_and_sensitive() -> None:
    assert content_hash(toy_definition()) == content_hash(toy_definition())
    assert content_hash(toy_definition()) != content_hash(toy_definition(cap=999))
    changed_guard = toy_definition().model_copy(
        update={
            "guards": (
                Guard("amount_within_cap", lambda c: GuardResult(True), version=2),
                Guard("good_score", lambda c: GuardResult(True)),
            ),
        }
    )
    assert content_hash(changed_guard) != content_hash(toy_definition())


def test_exports_cover_every_state_and_trigger() -> None:
    defn = toy_definition()
    mermaid = to_mermaid(defn)
    dot = to_dot(defn)
    data = json.loads(to_json(defn))
    assert data == json.loads(json.dumps(to_dict(defn)))
    for state in ("submitted", "reviewed", "approved", "rejected"):
        assert f'state "{state}"' in mermaid
        assert f'"{state}"' in dot
    for trigger in ("submit", "note", "review", "approve", "reject"):
        assert f": {trigger}" in mermaid
        assert f'label="{trigger}' in dot
    assert data["transitions"][0]["payload"]["schema"]["required"] == ["title", "amount"]


@pytest.mark.parametrize("role", ["Req", "has space", "nul\x00", "ünï", "", "-x"])
def test_roles_must_be_plain_storable_names(role: str) -> None:
    from engine.definition.validation import problems

    base = toy_definition()
    t0 = base.transitions[0]
    broken = base.model_copy(
        update={
            "roles": (*base.roles, role),
            "transitions": (t0.model_copy(update={"roles": (role,)}), *base.transitions[1:]),
        }
    )
    assert any("is not a name" in p for p in problems(broken))
