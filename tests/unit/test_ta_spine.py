"""The technical-assistance workflow: the spine end to end, its definition and reference data."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from engine import Engine, Personal, WorkflowDefinitionError
from engine.commands.registry import WorkflowRegistry
from engine.definition.diagrams import to_mermaid
from workflows.technical_assistance import DEFAULT_SLA_DAYS, NAME, ROLES, definition
from workflows.technical_assistance.builders import (
    ACTORS,
    action_plan_payload,
    activity_record_payload,
    approval_payload,
    dissemination_payload,
    evaluation_payload,
    mobilisation_payload,
    request_payload,
)
from workflows.technical_assistance.payloads import ContactPerson, Expert
from workflows.technical_assistance.reference import DATA_FILES, reference_data

REQUEST_KEYS = {
    "institution",
    "country",
    "channel",
    "title",
    "areas",
    "support_type",
    "description",
    "objectives",
    "desired_start",
    "contact",
}


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open("memory://", workflows=[definition()]) as eng:
        yield eng


def test_one_request_walks_the_whole_spine_and_keeps_every_fact(engine: Engine) -> None:
    view = engine.start(NAME, request_payload(), actor=ACTORS["partner"])
    assert (view.state, view.version) == ("submitted", 1)
    assert set(view.data) == REQUEST_KEYS
    assert view.data["desired_start"] == "2024-03-01"  # dates are stored as ISO text

    plan = action_plan_payload()
    view = engine.fire(view.id, "fine_tune", plan, actor=ACTORS["team"])
    assert view.state == "fine_tuned"
    assert [a["id"] for a in view.data["activities"]] == ["A1", "A2"]
    assert view.data["eu_delegation_opinion"]["verdict"] == "favourable"

    view = engine.fire(view.id, "approve", approval_payload(), actor=ACTORS["commission"])
    assert (view.state, view.data["action_code"]) == ("approved", "2024-07")

    view = engine.fire(
        view.id, "mobilise", mobilisation_payload(plan["activities"]), actor=ACTORS["team"]
    )
    assert view.state == "mobilised"
    assert {e["activity_id"] for e in view.data["experts"]} == {"A1", "A2"}

    for activity in plan["activities"]:
        view = engine.fire(
            view.id, "record_activity", activity_record_payload(activity), actor=ACTORS["expert"]
        )
        assert view.state == "mobilised"  # internal: records a fact, stays put
    assert [r["activity_id"] for r in view.data["activity_records"]] == ["A1", "A2"]

    view = engine.fire(view.id, "implement", actor=ACTORS["team"])
    assert view.state == "implemented"
    view = engine.fire(view.id, "evaluate", evaluation_payload(2), actor=ACTORS["evaluator"])
    assert (view.state, view.data["evaluation"]["partner"]["score"]) == ("evaluated", 5)
    view = engine.fire(view.id, "disseminate", dissemination_payload(), actor=ACTORS["team"])
    assert (view.state, view.version) == ("disseminated", 9)

    assert set(view.data) == REQUEST_KEYS | {
        "activities",
        "eu_delegation_opinion",
        "approval_reference",
        "action_code",
        "experts",
        "activity_records",
        "evaluation",
        "products",
    }
    assert view.data["title"] == request_payload()["title"]  # the request survived 8 merges
    history = engine.history(view.id)
    assert [(h.source, h.trigger, h.dest) for h in history] == [
        (None, "submit", "submitted"),
        ("submitted", "fine_tune", "fine_tuned"),
        ("fine_tuned", "approve", "approved"),
        ("approved", "mobilise", "mobilised"),
        ("mobilised", "record_activity", "mobilised"),
        ("mobilised", "record_activity", "mobilised"),
        ("mobilised", "implement", "implemented"),
        ("implemented", "evaluate", "evaluated"),
        ("evaluated", "disseminate", "disseminated"),
    ]


def test_guard_results_are_recorded_with_the_inputs_they_read(engine: Engine) -> None:
    view = engine.start(NAME, request_payload(country="PE"), actor=ACTORS["delegation"])
    [step] = engine.history(view.id)
    eligible = next(g for g in step.guards if g.name == "request_eligible")
    assert eligible.ok
    assert eligible.inputs["country"] == "PE"
    assert eligible.inputs["reference_data"] == reference_data().version
    assert {g.name for g in step.guards} == {"request_eligible", "request_complete"}


def test_definition_declares_the_roles_states_and_default_slas() -> None:
    defn = definition()
    assert (defn.name, defn.version) == ("technical-assistance", 1)
    assert defn.roles == ROLES
    assert {s.name: s.sla_days for s in defn.states if s.sla_days} == dict(DEFAULT_SLA_DAYS)
    assert {s.name for s in defn.states if s.final} == {
        "disseminated",
        "rejected",
        "withdrawn",
        "cancelled",
    }
    assert WorkflowRegistry([defn]).names() == [NAME]


def test_settings_override_caps_and_slas_and_change_the_hash() -> None:
    custom = definition({"max_activities": 3, "sla_days": {"submitted": 20}})
    assert custom.settings["max_activities"] == 3
    assert custom.state("submitted").sla_days == 20
    assert custom.state("approved").sla_days == 45
    default, changed = WorkflowRegistry([definition()]), WorkflowRegistry([custom])
    assert default.get(NAME).hash != changed.get(NAME).hash


@pytest.mark.parametrize(
    "settings",
    [
        {"max_activites": 3},
        {"max_activities": 0},
        {"sla_days": {"disseminated": 5}},
        {"sla_days": {"submitted": 0}},
        {"reference_data_version": "1999.1"},
    ],
)
def test_bad_settings_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - pydantic's and our own messages differ
        definition(settings)


def test_two_reject_transitions_share_a_trigger_with_different_roles() -> None:
    rejects = [t for t in definition().transitions if t.trigger == "reject"]
    assert {(t.source, t.roles) for t in rejects} == {
        (("submitted",), ("socieux_team",)),
        (("fine_tuned",), ("commission",)),
    }


def test_the_mermaid_export_shows_every_state_and_trigger() -> None:
    defn = definition()
    diagram = to_mermaid(defn)
    for state in defn.states:
        assert state.name in diagram
    for t in defn.transitions:
        assert t.trigger in diagram


def test_reference_data_is_versioned_and_complete() -> None:
    ref = reference_data()
    assert len(ref.countries) >= 140
    assert not set(ref.countries) & set(ref.eu_member_states)
    assert len(ref.eu_member_states) == 27
    assert {c.region for c in ref.countries.values()} == {
        "eu_neighbourhood",
        "latin_america",
        "asia_middle_east",
        "africa",
        "caribbean",
        "pacific",
    }
    for code in ("KH", "ME", "PE", "CR", "CO", "NG", "DJ", "MX", "CM", "AZ"):
        assert code in ref.countries
    assert {a.kind for a in ref.areas.values()} == {"thematic", "cross_cutting"}
    assert all(a.parent is None or a.parent in ref.areas for a in ref.areas.values())
    assert {t.kind for t in ref.activity_types.values()} == {"analytical", "know_how_transfer"}
    assert {t for t, v in ref.institution_types.items() if v.eligible} == {
        "public_authority",
        "mandated_body",
        "social_partner",
    }
    assert len(DATA_FILES) == 5


def test_importing_the_workflow_reads_no_file() -> None:
    code = (
        "import workflows.technical_assistance as ta\n"
        "from workflows.technical_assistance.reference import reference_data\n"
        "print(reference_data.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_a_definition_change_without_a_new_version_is_refused_on_registration() -> None:
    registry = WorkflowRegistry([definition()])
    with pytest.raises(WorkflowDefinitionError):
        registry.register(definition({"max_activities": 2}))


def test_names_emails_and_phones_are_marked_as_personal_data() -> None:
    def personal(model: type[ContactPerson] | type[Expert]) -> set[str]:
        return {
            name
            for name, f in model.model_fields.items()
            if any(isinstance(m, Personal) for m in f.metadata)
        }

    assert personal(ContactPerson) == {"name", "email", "phone"}
    assert personal(Expert) == {"name"}
