"""A forged amendment, written with correct hashes, is caught online and offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import Actor, Engine
from engine.audit.offline import verify_file
from engine.instance.aggregate import WorkflowInstance
from tests.toy_audit import audit_definition

PARTNER, TEAM, APPROVER = Actor("p-1", "partner"), Actor("t-1", "team"), Actor("a-1", "approver")
GUARD = {"name": "amount_capped", "version": 1, "ok": True, "reason": "", "inputs": {}}


def _body(
    agg: WorkflowInstance, trigger: str, role: str, actor: str, **extra: Any
) -> dict[str, Any]:
    return {
        "trigger": trigger, "source": agg.state, "dest": agg.state, "payload": {},
        "definition_hash": agg.definition_hash, "collect_as": None,
        "audit": {"actor_id": actor, "role": role, "reason": "forged", "correlation_id": None,
                  "causation_id": None, "guards": extra.pop("guards", [GUARD])},
        **extra,
    }  # fmt: skip


def _correction(version: int = 1, field: str = "amount", old: object = 500,
                pending: bool = True) -> dict[str, Any]:  # fmt: skip
    return {"target": {"version": version, "trigger": "submit", "collect_as": None},
            "changes": [{"field": field, "old": old, "new": 600}], "pending": pending,
            "effect": None if pending else {"data": {field: 600}, "collected": []}}  # fmt: skip


def _forge(
    engine: Engine, iid: str, kind: type[WorkflowInstance.Event], body: dict[str, Any]
) -> None:
    commands = engine._commands  # the forger writes straight to the store
    agg = commands.load(engine.resolve(iid), fresh=True)
    agg.amend(kind, at=agg.modified_on, body=body)
    assert commands.save_all([agg])
    commands.cache.evict(agg.id)


Forgery = Callable[[WorkflowInstance], tuple[type[WorkflowInstance.Event], dict[str, Any]]]

FORGERIES: dict[str, tuple[Forgery, str]] = {
    "approved by its requester": (
        lambda a: (
            WorkflowInstance.CorrectionApproved,
            _body(
                a,
                "__approve_correction__",
                "team",
                "t-1",
                approval={
                    "correction": 3,
                    "requested_by": "t-1",
                    "effect": {"data": {"amount": 600}, "collected": []},
                },
            ),
        ),
        "separation",
    ),
    "an unknown version": (
        lambda a: (
            WorkflowInstance.Corrected,
            _body(a, "__correct__", "team", "t-1", correction=_correction(version=9)),
        ),
        "amendment",
    ),
    "an uncorrectable field": (
        lambda a: (
            WorkflowInstance.Corrected,
            _body(
                a,
                "__correct__",
                "team",
                "t-1",
                correction=_correction(field="start", old="2024-01-01"),
            ),
        ),
        "amendment",
    ),
    "a wrong old value": (
        lambda a: (
            WorkflowInstance.Corrected,
            _body(a, "__correct__", "team", "t-1", correction=_correction(old=1)),
        ),
        "amendment",
    ),
    "one that changes the state": (
        lambda a: (
            WorkflowInstance.Corrected,
            {
                **_body(a, "__correct__", "team", "t-1", correction=_correction()),
                "dest": "approved",
            },
        ),
        "dest",
    ),
    "one in effect without four eyes": (
        lambda a: (
            WorkflowInstance.Corrected,
            _body(a, "__correct__", "team", "t-1", correction=_correction(pending=False)),
        ),
        "separation",
    ),
    "one by a role the policy does not name": (
        lambda a: (
            WorkflowInstance.Corrected,
            _body(a, "__correct__", "partner", "p-1", correction=_correction()),
        ),
        "role",
    ),
    "one without its guards": (
        lambda a: (
            WorkflowInstance.Corrected,
            _body(a, "__correct__", "team", "t-1", correction=_correction(), guards=[]),
        ),
        "guards",
    ),
    "evidence without a fingerprint": (
        lambda a: (
            WorkflowInstance.EvidenceAttached,
            _body(
                a,
                "__attach_evidence__",
                "team",
                "t-1",
                guards=[],
                evidence={
                    "type": "invoice",
                    "title": "x",
                    "sha256": "nope",
                    "size": 1,
                    "media_type": "text/plain",
                    "effective_date": "2024-01-01",
                    "reference": "",
                    "validated": False,
                },
            ),
        ),
        "amendment",
    ),
}


def _setup(engine: Engine, *, with_pending: bool) -> str:
    v = engine.start("grant", {"title": "Pensions", "amount": 500}, actor=PARTNER)
    engine.fire(v.id, "record", {"activity": "a1", "days": 40}, actor=TEAM)
    if with_pending:
        engine.correct(v.id, 1, {"amount": 600}, reason="typo", actor=TEAM)
    return str(v.id)


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_a_forged_amendment_is_reported_by_verify_and_by_the_offline_verifier(
    name: str, tmp_path: Path
) -> None:
    forge, rule = FORGERIES[name]
    with Engine.open("memory://", workflows=[audit_definition()], projections=[]) as engine:
        iid = _setup(engine, with_pending=name == "approved by its requester")
        assert engine.verify().ok
        agg = engine._commands.load(engine.resolve(iid), fresh=True)
        kind, body = forge(agg)
        _forge(engine, iid, kind, body)
        online = engine.verify()
        assert not online.ok
        assert rule in {p.rule for p in online.problems}, online.problems
        with (tmp_path / "x.jsonl").open("w", encoding="utf-8") as out:
            engine.export(out)
    offline = verify_file(tmp_path / "x.jsonl")
    assert not offline.ok
    assert rule in {p.rule for p in offline.problems}


def test_honest_amendments_verify_online_and_offline(tmp_path: Path) -> None:
    with Engine.open("memory://", workflows=[audit_definition()], projections=[]) as engine:
        iid = _setup(engine, with_pending=True)
        engine.approve_correction(iid, 3, actor=APPROVER)
        c = engine.correct(iid, 2, {"days": 45}, reason="one more", actor=TEAM)
        engine.approve_correction(iid, c.version, actor=APPROVER)
        engine.note(iid, "ok", actor=APPROVER, visibility="public")
        assert engine.verify().ok, engine.verify().problems
        with (tmp_path / "x.jsonl").open("w", encoding="utf-8") as out:
            engine.export(out)
    report = verify_file(tmp_path / "x.jsonl")
    assert report.ok, report.problems
