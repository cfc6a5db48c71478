"""Corrections of personal fields: decided on plaintext, stored only as envelopes of the
subject, shown in clear to the key holder, erased with the subject, and still verifying."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field

from engine import (
    Actor,
    AuditPolicy,
    Engine,
    Personal,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from engine.audit.offline.verifier import verify_file
from engine.privacy import ERASED_MARK
from engine.testing import StepClock
from tests.conftest import BACKENDS

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
PARTNER = Actor("p-1", "partner")
TEAM = Actor("t-1", "team")
APPROVER = Actor("a-1", "approver")
DPO = Actor("dpo-1", "privacy_officer")
CLERK = Actor("c-1", "socieux_team")  # requests erasures
OLD_NAME, NEW_NAME = "Ana Pereira-Typo", "Ana Pereira"
OTHER = "Rui Costa"

ContactName = Annotated[str, Personal(subject="contact")]
ExpertName = Annotated[str, Personal(subject="expert", id_field="id")]


class Contact(BaseModel):
    """The request's contact person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ContactName = Field(min_length=1, max_length=100)


class Expert(BaseModel):
    """One expert, by roster id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=20)
    name: ExpertName = Field(min_length=1, max_length=100)


class Submission(BaseModel):
    """A request with personal data of two subjects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=100)
    contact: Contact
    experts: list[Expert] = Field(default_factory=list, max_length=5)


def definition() -> WorkflowDefinition:
    """``dossier``: submit (correctable contact and title, four eyes), close."""
    return WorkflowDefinition(
        name="dossier",
        version=1,
        roles=("partner", "team", "approver"),
        states=(StateDef(name="open"), StateDef(name="closed", final=True)),
        transitions=(
            TransitionDef(trigger="submit", dest="open", roles=("partner",), payload=Submission),
            TransitionDef(trigger="close", source=("open",), dest="closed", roles=("team",)),
        ),
        audit=AuditPolicy(
            correctable={"submit": ("contact", "title")},
            correct_roles=("team",),
            approve_roles=("approver",),
        ),
    )


def stored_bytes(url: str, engine: Engine) -> bytes:
    """What the store holds: the SQLite file and WAL after a checkpoint, or memory's events."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    notes = engine.application.recorder.select_notifications(start=1, limit=100_000)
    return b"".join(n.state for n in notes)


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_a_corrected_personal_field_is_sealed_shown_and_erased(
    store_url: str, tmp_path: Path
) -> None:
    clock = StepClock(START)
    payload = {
        "title": "Pensions",
        "contact": {"name": OLD_NAME},
        "experts": [{"id": "e-7", "name": OTHER}],
    }
    with Engine.open(store_url, workflows=[definition()], clock=clock) as engine:
        view = engine.start("dossier", payload, actor=PARTNER)
        asked = engine.correct(
            view.id, 1, {"contact": {"name": NEW_NAME}}, actor=TEAM, reason="misspelt"
        )
        engine.approve_correction(view.id, asked.version, actor=APPROVER, reason="checked")
        now = engine.get(view.id)
        assert now.data["contact"]["name"] == NEW_NAME
        assert now.data["experts"][0]["name"] == OTHER
        history = engine.history(view.id)
        change = history[1].amendment["changes"][0]  # type: ignore[index]
        assert (change["old"], change["new"]) == ({"name": OLD_NAME}, {"name": NEW_NAME})
        if not store_url.startswith("postgresql"):
            stored = stored_bytes(store_url, engine)
            for secret in (OLD_NAME, NEW_NAME, OTHER):
                assert secret.encode() not in stored, secret
        engine.fire(view.id, "close", actor=TEAM)
        clock.now += timedelta(days=6 * 366)  # retention is over
        status = engine.forget(
            f"contact:{view.id}", actor=CLERK, approver=DPO, reason="asked",
            legal_basis="GDPR Art. 17(1)(a)",
        )  # fmt: skip
        assert status.status == "erased"
        after = engine.get(view.id)
        assert after.data["contact"]["name"] == ERASED_MARK
        assert after.data["experts"][0]["name"] == OTHER  # another subject still opens
        change = engine.history(view.id)[1].amendment["changes"][0]  # type: ignore[index]
        assert (change["old"], change["new"]) == ({"name": ERASED_MARK}, {"name": ERASED_MARK})
        report = engine.verify()
        assert report.ok, report.problems
        with (tmp_path / "export.jsonl").open("w", encoding="utf-8") as out:
            engine.export(out)
    offline = verify_file(tmp_path / "export.jsonl")
    assert offline.ok, offline.problems
    exported = (tmp_path / "export.jsonl").read_bytes()
    for secret in (OLD_NAME, NEW_NAME, OTHER):
        assert secret.encode() not in exported, secret


def test_a_correction_of_a_field_beside_personal_data_reads_the_plaintext() -> None:
    payload = {"title": "Pensions", "contact": {"name": OLD_NAME}}
    with Engine.open("memory://", workflows=[definition()], clock=StepClock(START)) as engine:
        view = engine.start("dossier", payload, actor=PARTNER)
        asked = engine.correct(view.id, 1, {"title": "Pension reform"}, actor=TEAM, reason="x")
        engine.approve_correction(view.id, asked.version, actor=APPROVER, reason="ok")
        now = engine.get(view.id)
    assert (now.data["title"], now.data["contact"]["name"]) == ("Pension reform", OLD_NAME)
