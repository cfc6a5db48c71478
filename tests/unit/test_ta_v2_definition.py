"""Version 2 of technical-assistance: installed beside version 1, the default for new requests."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from engine import Engine
from engine.definition.content import content_hash
from workflows.technical_assistance import (
    LATEST,
    NAME,
    VERSIONS,
    definition,
    definition_v2,
    definitions,
)
from workflows.technical_assistance.builders import ACTORS, request_payload
from workflows.technical_assistance.reference import INSTALLED_VERSIONS, reference_data

V1_HASH = "c9979d7f33ee3594726804834c0944aba984dad29137faf0d36d41a565e40416"


def test_version_1_keeps_its_content_hash() -> None:
    assert content_hash(definition()) == V1_HASH
    assert content_hash(definitions()[0]) == V1_HASH


def test_every_version_is_registered_and_the_latest_is_version_3() -> None:
    assert VERSIONS == (1, 2, 3)
    assert LATEST == 3
    assert [d.version for d in definitions()] == [1, 2, 3]
    with Engine.open("memory://", workflows=definitions(), projections=[]) as engine:
        assert engine.registry.get(NAME).definition.version == 3
        new = engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"])
        mid = engine.start(NAME, request_payload(version=2), actor=ACTORS["partner"], version=2)
        old = engine.start(NAME, request_payload(), actor=ACTORS["partner"], version=1)
    assert (new.definition_version, mid.definition_version, old.definition_version) == (3, 2, 1)


def test_version_2_adds_the_consultation_state_and_triggers() -> None:
    v2 = definition_v2()
    states = {s.name: s for s in v2.states}
    assert states["consulting_delegation"].sla_days == 7
    assert not states["consulting_delegation"].final
    triggers = {(t.trigger, t.source, t.dest): t for t in v2.transitions}
    consult = triggers["request_opinion", ("submitted",), "consulting_delegation"]
    opinion = triggers["give_opinion", ("consulting_delegation",), "submitted"]
    assert consult.roles == ("socieux_team",)
    assert opinion.roles == ("eu_delegation",)
    silence = triggers["deem_favourable", ("consulting_delegation",), "submitted"]
    assert silence.roles == ("system",)
    assert silence.reason_required
    assert "system" in v2.roles
    assert v2.settings["consultation_silence_working_days"] == 5
    assert v2.settings["reference_data_version"] == "2025.1"


def test_guards_whose_rule_changed_carry_a_new_version() -> None:
    v1 = {g.name: g.version for g in definition().guards}
    v2 = {g.name: g.version for g in definition_v2().guards}
    assert {n for n, v in v2.items() if v == 2} == {
        "approval_complete",
        "no_conflict_of_interest",
        "activity_record_valid",
    }
    assert set(v2) - set(v1) == {
        "submission_channel_matches",
        "institution_identified",
        "opinion_valid",
        "delegation_opinion_on_file",
        "activity_recorded_by_own_expert",
    }
    assert set(v1) - set(v2) == {"eu_delegation_opinion_recorded"}


def test_version_2_declares_the_migration_from_version_1() -> None:
    (migration,) = definition_v2().migrations
    assert migration.from_version == 1
    assert dict(migration.state_map) == {"submitted": "submitted", "fine_tuned": "fine_tuned"}
    assert migration.upcaster is not None
    assert (migration.upcaster.name, migration.upcaster.version) == ("ta_v1_to_v2", 1)
    assert migration.plan_roles == ("socieux_team",)
    assert migration.apply_roles == ("socieux_team", "commission")
    assert migration.separate_duties


def test_reference_data_2025_1_lists_more_than_160_partner_countries() -> None:
    ref, old = reference_data("2025.1"), reference_data()
    assert INSTALLED_VERSIONS == ("2024.1", "2025.1")
    assert (old.version, len(old.countries)) == ("2024.1", 143)
    assert len(ref.countries) > 160
    assert set(old.countries) < set(ref.countries)
    assert not set(ref.countries) & set(ref.eu_member_states)
    assert all(len(c) == 2 and c.isupper() for c in ref.countries)
    doc = json.loads(
        resources.files("workflows.technical_assistance")
        .joinpath("data", "2025.1", "countries.json")
        .read_text(encoding="utf-8")
    )
    regions = {r["code"] for r in doc["regions"]}
    assert {c.region for c in ref.countries.values()} <= regions
    assert dict(ref.areas) == dict(old.areas)
    assert ref.institutions["KH-NSPC"].country == "KH"
    assert not old.institutions


def test_the_registry_finds_an_institution_by_name_or_acronym_and_country() -> None:
    ref = reference_data("2025.1")
    found = ref.institution_named("  national SOCIAL protection council ", "KH")
    assert found is not None
    assert found.id == "KH-NSPC"
    assert ref.institution_named("NSPC", "KH") == found
    assert ref.institution_named("National Social Protection Council", "PE") is None


def test_version_2_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=r"2025\.1"):
        definition_v2({"reference_data_version": "2024.1"})
    with pytest.raises(ValueError, match="consultation_silence_working_days"):
        definition_v2({"consultation_silence_working_days": 0})
    with pytest.raises(ValueError, match="not a non-final state"):
        definition_v2({"sla_days": {"disseminated": 3}})
    v1, v2, _ = definitions({"sla_days": {"consulting_delegation": 10, "submitted": 20}})
    assert v2.state("consulting_delegation").sla_days == 10
    assert v1.state("submitted").sla_days == v2.state("submitted").sla_days == 20
    assert v1.settings["reference_data_version"] == "2024.1"
