"""Every public method answers hostile arguments with a typed EngineError and writes nothing.

For each public method of ``Engine`` and each of its parameters, the other arguments are
valid and this one takes each hostile value in turn (wrong types, 64-bit overflows, NUL,
lone surrogates, huge strings, NaN, naive times, strings where lists belong...). Only an
``EngineError`` (or success, where the value happens to be acceptable) may come back, and
a refused call writes nothing.
"""

from __future__ import annotations

import inspect
import io
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from engine import Engine, EngineError
from tests.helpers import REQUESTER, REVIEWER, event_count, submit
from tests.reliability.conftest import Figures
from tests.reliability.hostile_amendments import amendment_arguments
from tests.toy import toy_definition

HOSTILE: list[Any] = [
    None, 0, -1, 2**63, -(2**63) - 1, 10**30, 1.5, float("nan"), float("inf"), True,
    "", " ", "not-a-uuid", "\x00", "x\ud800", "a" * 100_000, "zzzz", b"bytes", [], ["x"],
    {"k": object()}, {1: 2}, object(), datetime(2024, 1, 1), "approve",
]  # fmt: skip
SKIP = {
    "close",
    "open",
    "run_projections",
    "context",
    "batch",
}  # lifecycle, the worker loop; batch: a context manager, its limit checked on entry (tests/integration/test_batch.py)


def _valid(engine: Engine, iid: object) -> dict[str, dict[str, Any]]:
    """Valid arguments for each method (the ones not being fuzzed)."""
    now = engine.history(iid)[-1].at  # type: ignore[arg-type]
    return {
        "start": {"workflow": "toy", "data": {"title": "t", "amount": 1}, "actor": REQUESTER},
        "fire": {"instance_id": iid, "trigger": "note", "data": {"text": "x"}, "actor": REQUESTER},
        "get": {"instance_id": iid},
        "history": {"instance_id": iid},
        "allowed": {"instance_id": iid, "actor": REQUESTER},
        "instance_ids": {},
        "resolve": {"prefix": str(iid)[:8]},
        "projection": {"kind": "requests"},
        "requests": {},
        "audit_trail": {},
        "portfolio": {},
        "experts": {},
        "projection_status": {},
        "parked_projection_events": {},
        "catch_up_projections": {},
        "rebuild_projections": {},
        "wait_for": {"position": 1, "timeout": 0.01},
        "subscribe": {"handler": lambda e: None, "name": "fuzz", "background": False},
        "unsubscribe": {"name": "fuzz"},
        "drain_hooks": {"timeout": 0.01},
        "subscriptions": {},
        "parked": {},
        "retry_parked": {"name": "fuzz"},
        "verify": {},
        "verify_file": {"path": "/nonexistent/export.jsonl"},
        "seal": {},
        "seals": {},
        "export": {"out": io.StringIO()},
        "explain": {"instance_id": iid, "version": 1},
        "diff": {"instance_id": iid, "since": now, "until": now},
        "replay_check": {},
        "plan_migration": {"workflow": "toy", "to": 1, "actor": REQUESTER},
        "migrate": {"plan": None, "actor": REQUESTER, "reason": "x"},
        "compare_versions": {"workflow": "toy", "old": 1, "new": 1},
        "head": {},
        "heads": {},
        "verify_runs": {},
        "prove": {"instance_id": iid, "out": io.StringIO()},
        "consistency": {"old": 1, "new": 1},
        "verify_bundle": {"path": "/nonexistent/bundle.json"},
        "run_due": {},
        "deadlines": {},
        "worklist": {"actor": REQUESTER},
        "run_deadlines_in_background": {"interval": 60.0},
        **amendment_arguments(iid, REQUESTER),
        "subject": {"subject": "person:nobody"},
        "request_erasure": {"subject": "person:nobody", "actor": REQUESTER, "reason": "x",
                            "legal_basis": "y"},
        "approve_erasure": {"subject": "person:nobody", "actor": REQUESTER, "reason": "x"},
        "forget": {"subject": "person:nobody", "actor": REQUESTER, "approver": REVIEWER,
                   "reason": "x", "legal_basis": "y"},
        "place_hold": {"subject": "person:nobody", "actor": REQUESTER, "reason": "x",
                       "hold": "H-1"},
        "release_hold": {"subject": "person:nobody", "actor": REQUESTER, "reason": "x",
                         "hold": "H-1"},
        "place_legal_hold": {"hold": "H-1", "subjects": ["person:nobody"], "actor": REQUESTER,
                             "reason": "x"},
        "release_legal_hold": {"hold": "H-1", "actor": REQUESTER, "reason": "x"},
        "legal_holds": {},
        "erasures_due": {},
        "run_due_erasures": {"actor": REQUESTER},
        "rotate_kek": {"new_key_file": "/nonexistent/kek.key"},
        "export_personal_data": {"out": io.StringIO(), "actor": REQUESTER, "reason": "x"},
    }  # fmt: skip


def _public_methods() -> list[str]:
    return sorted(
        name for name, member in inspect.getmembers(Engine)
        if not name.startswith("_") and callable(member) and name not in SKIP
    )  # fmt: skip


def test_every_public_method_is_covered() -> None:
    with Engine.open("memory://", workflows=[toy_definition()], projections=[]) as engine:
        iid = submit(engine)
        assert set(_public_methods()) <= set(_valid(engine, iid))


@pytest.mark.parametrize("method", _public_methods())
def test_hostile_arguments_get_typed_errors_and_write_nothing(
    method: str, figures: Figures
) -> None:
    with Engine.open("memory://", workflows=[toy_definition()]) as engine:
        iid = submit(engine)
        valid = _valid(engine, iid)[method]
        params = [
            p for p in inspect.signature(getattr(Engine, method)).parameters.values()
            if p.name != "self" and p.kind is not p.VAR_KEYWORD
        ]  # fmt: skip
        tally: Counter[str] = Counter()
        untyped: list[str] = []
        for param in params:
            for value in HOSTILE:
                before = event_count(engine)
                try:
                    result = getattr(engine, method)(**{**valid, param.name: value})
                    if inspect.isgenerator(result):
                        list(result)
                    tally["accepted"] += 1
                except EngineError as exc:
                    tally[exc.code] += 1
                    assert event_count(engine) == before, f"{method}({param.name}) wrote"
                except Exception as exc:
                    untyped.append(f"{method}({param.name}={value!r:.40}): {type(exc).__name__}")
        if any(
            p.kind is p.VAR_KEYWORD
            for p in inspect.signature(getattr(Engine, method)).parameters.values()
        ):
            for value in HOSTILE:
                for key in ("bogus", "state", "limit", "expert"):
                    try:
                        getattr(engine, method)(**{key: value})
                        tally["accepted"] += 1
                    except EngineError as exc:
                        tally[exc.code] += 1
                    except Exception as exc:
                        untyped.append(f"{method}({key}={value!r:.40}): {type(exc).__name__}")
        calls = sum(tally.values()) + len(untyped)
        figures.record(calls=calls, typed=calls - tally["accepted"] - len(untyped),
                       accepted=tally["accepted"], untyped=len(untyped))  # fmt: skip
        assert untyped == []
