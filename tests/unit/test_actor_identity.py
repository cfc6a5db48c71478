"""Actor ids have one canonical form, and separation of duties compares people, not
spellings; a role no definition declares is a bad call (docs/embedding.md, "Actor ids")."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Actor, Engine, InvalidArgument, PermissionDenied
from engine.commands.compiled import CompiledWorkflow
from engine.commands.registry import WorkflowRegistry
from engine.instance.identity import (
    MAX_ACTOR_ID,
    actor_key,
    canonical_actor_id,
    same_actor,
)
from tests.e2e.cli_support import run
from tests.helpers import event_count
from tests.toy import toy_definition
from workflows.technical_assistance import NAME, ROLES, definition
from workflows.technical_assistance.builders import ACTORS, approval_payload, walk_to

SUBMITTER = ACTORS["partner"].id  # "kh-nspc-1" submits in walk_to
DEFN = definition()

REFUSED = {
    "trailing space": (f"{SUBMITTER} ", "start or end with whitespace"),
    "leading tab": (f"\t{SUBMITTER}", "control character (U+0009"),
    "zero-width space": ("kh-nspc\u200b-1", "invisible format character (U+200B"),
    "zero-width joiner": ("kh\u200d-nspc-1", "invisible format character (U+200D"),
    "bidi override": ("\u202ekh-nspc-1", "invisible format character (U+202E"),
    "byte order mark": ("\ufeffkh-nspc-1", "invisible format character (U+FEFF"),
    "cyrillic h": ("k\u04bb-nspc-1", "mixes letters of several scripts (cyrillic, latin)"),
    "cyrillic k": ("\u043ah-nspc-1", "mixes letters of several scripts"),
    "greek kappa": ("\u03bah-nspc-1", "mixes letters of several scripts (greek, latin)"),
    "empty": ("", "empty or whitespace only"),
    "spaces only": ("   ", "empty or whitespace only"),
    "ideographic space only": ("\u3000", "empty or whitespace only"),
    "newline": ("kh-nspc-1\n", "control character (U+000A"),
    "escape": ("kh\x1b[31m", "control character (U+001B"),
    "NUL": ("kh\x00", "without NUL"),
    "lone surrogate": ("kh\ud800", "without NUL"),
    "line separator": ("kh\u2028x", "line separator"),
    "private use": ("kh\ue000", "private-use"),
    "unassigned": ("kh\U000e0fff", "unassigned"),
    "double space": ("maria  lopez", "single spaces only"),
    "too long": ("x" * (MAX_ACTOR_ID + 1), "longer than"),
    "too long once normalised": ("\ufdfa" * 12, "longer than"),
}
SAME_PERSON = {
    "upper case": "KH-NSPC-1",
    "mixed case": "Kh-Nspc-1",
    "fullwidth digit": "kh-nspc-\uff11",
    "fullwidth letters": "\uff4b\uff48-nspc-1",
    "mathematical bold": "\U0001d424\U0001d421-nspc-1",
    "arabic-indic digit": "kh-nspc-\u0661",
}


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open("memory://", workflows=[DEFN, toy_definition()], projections=[]) as opened:
        yield opened


# ------------------------------------------------------------------ the canonical form
@pytest.mark.parametrize(("text", "problem"), REFUSED.values(), ids=REFUSED.keys())
def test_unacceptable_ids_are_invalid_arguments_when_the_actor_is_made(
    text: str, problem: str
) -> None:
    with pytest.raises(ValueError, match="an actor id") as pure:
        canonical_actor_id(text)
    assert problem in str(pure.value)
    with pytest.raises(InvalidArgument) as info:
        Actor(text, "commission")
    assert info.value.code == "invalid_argument"
    assert problem in info.value.message
    with pytest.raises(InvalidArgument):
        Actor.parse(f"commission:{text}")


def test_refusals_name_the_problem_without_echoing_the_id() -> None:
    with pytest.raises(InvalidArgument) as info:
        Actor("secret-name\u200b", "commission")
    assert "secret-name" not in info.value.message
    assert info.value.to_dict()["code"] == "invalid_argument"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("kh-nspc-\uff11", "kh-nspc-1"),  # fullwidth digit: NFKC
        ("KH-NSPC-1", "KH-NSPC-1"),  # case is kept
        (unicodedata.normalize("NFD", "josé-1"), "josé-1"),  # NFD composes
        ("maria\u00a0lopez", "maria lopez"),  # a no-break space is a space
        ("山田たろう", "山田たろう"),  # Han + Hiragana: one Japanese name
        ("김민준-1", "김민준-1"),
        ("Σίσυφος-2", "Σίσυφος-2"),  # one script, not Latin
        ("user@example.org", "user@example.org"),
        ("\u2167", "VIII"),  # a Roman numeral is letters once normalised
    ],
)
def test_the_stored_id_is_the_nfkc_form_with_its_case(given: str, stored: str) -> None:
    assert canonical_actor_id(given) == stored
    assert Actor(given, "commission").id == stored


@pytest.mark.parametrize("text", SAME_PERSON.values(), ids=SAME_PERSON.keys())
def test_spellings_of_one_id_share_its_key(text: str) -> None:
    assert same_actor(text, SUBMITTER)
    assert actor_key(canonical_actor_id(text)) == actor_key(SUBMITTER)


def test_the_key_is_total_and_meets_ids_recorded_before_the_rules() -> None:
    for old in (f"{SUBMITTER} ", f" {SUBMITTER}\t", "kh-nspc\u200b-1", "KH-NSPC-1\u200d"):
        assert actor_key(old) == "kh-nspc-1", repr(old)
    assert actor_key("k\u04bb-nspc-1") == "kh-nspc-1"  # a look-alike letter
    assert actor_key("\u0441\u043e\u0440\u0443-1") == actor_key("copy-1")  # all Cyrillic
    assert actor_key("a\ud800\x00b") == "ab"  # never raises
    assert not same_actor("kh-nspc-1", "kh-nspc-2")
    assert not same_actor("maria lopez", "marialopez")


# ------------------------------------------------------------------ separation of duties
@pytest.mark.parametrize("text", SAME_PERSON.values(), ids=SAME_PERSON.keys())
def test_the_submitter_may_not_approve_under_another_spelling(engine: Engine, text: str) -> None:
    view = walk_to(engine, "fine_tuned")
    before = event_count(engine)
    with pytest.raises(PermissionDenied) as info:
        engine.fire(view.id, "approve", approval_payload(), actor=Actor(text, "commission"))
    assert info.value.rule == "separation"
    assert "approve" not in engine.allowed(view.id, Actor(text, "commission")).allowed
    assert event_count(engine) == before
    engine.fire(view.id, "approve", approval_payload(), actor=Actor("dg-intpa-2", "commission"))


@pytest.mark.parametrize("key", ["trailing space", "zero-width space", "cyrillic h"])
def test_look_alike_spellings_never_reach_the_decision(engine: Engine, key: str) -> None:
    view = walk_to(engine, "fine_tuned")
    before = event_count(engine)
    with pytest.raises(InvalidArgument):
        engine.fire(view.id, "approve", approval_payload(), actor=Actor(REFUSED[key][0], "x"))
    forged = Actor.model_construct(id=REFUSED[key][0], role="commission")  # no validation
    with pytest.raises(InvalidArgument):
        engine.fire(view.id, "approve", approval_payload(), actor=forged)
    with pytest.raises(InvalidArgument), engine.context(actor=forged):
        pass
    assert event_count(engine) == before


def test_an_actor_built_without_validation_is_canonicalised_at_the_boundary(
    engine: Engine,
) -> None:
    view = walk_to(engine, "fine_tuned")
    forged = Actor.model_construct(id="kh-nspc-\uff11", role="commission")
    with pytest.raises(PermissionDenied) as info:
        engine.fire(view.id, "approve", approval_payload(), actor=forged)
    assert info.value.rule == "separation"


@pytest.mark.parametrize(
    "recorded",
    ["kh-nspc-1 ", "KH-NSPC-1", "kh-nspc\u200b-1", "kh-nspc-\uff11", "k\u04bb-nspc-1"],
)
def test_histories_recorded_before_canonical_ids_are_compared_by_key(
    engine: Engine, recorded: str
) -> None:
    """Old events hold raw ids: ``fired_by`` and ``acted_as`` are compared by key too."""
    view = walk_to(engine, "fine_tuned")
    compiled = CompiledWorkflow(DEFN)
    me = Actor(SUBMITTER, "commission")
    old = view.model_copy(update={"fired_by": {"submit": [recorded]}, "acted_as": {}})
    with pytest.raises(PermissionDenied, match="fired 'submit'"):
        compiled.check_access(old, "approve", me)
    # a separation name may be a trigger or a role: both maps are checked
    as_role = view.model_copy(update={"fired_by": {}, "acted_as": {"fine_tune": [recorded]}})
    with pytest.raises(PermissionDenied, match="acted as 'fine_tune'"):
        compiled.check_access(as_role, "approve", me)
    other = view.model_copy(update={"fired_by": {"submit": ["kh-nspc-2"]}, "acted_as": {}})
    assert compiled.check_access(other, "approve", me).trigger == "approve"


# ------------------------------------------------------------------ roles
@pytest.mark.parametrize("role", ["Commission", "commission ", "admin", "*", "COMMISSION"])
def test_a_role_the_workflow_does_not_declare_is_an_invalid_argument(
    engine: Engine, role: str
) -> None:
    view = walk_to(engine, "fine_tuned")
    with pytest.raises(InvalidArgument) as info:
        engine.fire(view.id, "approve", approval_payload(), actor=Actor("dg-intpa-9", role))
    assert info.value.code == "invalid_argument"
    assert f"known roles: {', '.join(sorted(ROLES))}" in info.value.message
    assert info.value.details["known"] == sorted(ROLES)
    with pytest.raises(InvalidArgument):  # whatever the trigger or the state
        engine.fire(view.id, "mobilise", {}, actor=Actor("dg-intpa-9", role))
    with pytest.raises(InvalidArgument):
        engine.start(NAME, {}, actor=Actor("dg-intpa-9", role))


def test_a_declared_role_not_allowed_for_the_trigger_stays_permission_denied(
    engine: Engine,
) -> None:
    view = walk_to(engine, "fine_tuned")
    with pytest.raises(PermissionDenied) as info:
        engine.fire(view.id, "approve", approval_payload(), actor=Actor("t-2", "socieux_team"))
    assert info.value.rule == "role"
    with pytest.raises(PermissionDenied):
        engine.start(NAME, {}, actor=Actor("r-1", "auditor"))
    # a role declared by another registered workflow is not enough
    with pytest.raises(InvalidArgument, match="not a role of workflow 'toy'"):
        engine.start("toy", {"title": "t", "amount": 1}, actor=Actor("p-1", "commission"))


def test_the_registry_lists_every_declared_role() -> None:
    registry = WorkflowRegistry([DEFN, toy_definition()])
    assert registry.roles() == sorted({*ROLES, "requester", "reviewer", "approver"})
    compiled = registry.get("toy")
    assert compiled.roles == {"requester", "reviewer", "approver"}


def test_the_cli_refuses_a_look_alike_actor_as_an_invalid_argument(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/ids.db"
    with Engine.open(db, workflows=[DEFN]) as engine:
        view = walk_to(engine, "fine_tuned")
    for who in ("commission:kh-nspc-1\u200b", "commission: kh-nspc-1", "Commission:dg-1"):
        result = run(db, "fire", str(view.id), "approve", "--as", who)
        assert result.exit_code == 2, (who, result.stderr)
        assert result.stderr.startswith("error[invalid_argument]: "), result.stderr
        assert "Traceback" not in result.stderr
