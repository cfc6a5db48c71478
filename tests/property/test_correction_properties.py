"""Corrections on random sequences: stored events never change, and the corrected view is the
original history with the corrections applied in order, folded by brute force."""

from __future__ import annotations

from contextlib import suppress
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Actor, Engine, EngineError
from tests.toy_audit import audit_definition

PARTNER = Actor("p-1", "partner")
TEAM = [Actor("t-1", "team"), Actor("t-2", "team")]
APPROVER = Actor("a-1", "approver")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.integers(0, 120)),
        st.tuples(st.just("amount"), st.integers(0, 1200)),
        st.tuples(st.just("title"), st.sampled_from(["A", "B", "C"])),
        st.tuples(st.just("days"), st.integers(0, 8), st.integers(0, 120)),
        st.tuples(st.just("approve"), st.integers(0, 8)),
        st.tuples(st.just("note"), st.just("n")),
    ),
    max_size=14,
)


def _brute_force(engine: Engine, iid: str) -> dict[str, Any]:
    """Fold the workflow steps with every correction in effect, applied in order."""
    history = engine.history(iid)
    amended: dict[int, dict[str, Any]] = {}
    pending: dict[int, tuple[int, dict[str, Any]]] = {}
    for h in history:
        rec = h.amendment or {}
        if h.trigger == "__correct__":
            change = (int(rec["target"]["version"]), {c["field"]: c["new"] for c in rec["changes"]})
            if rec["pending"]:
                pending[h.version] = change
            else:
                amended.setdefault(change[0], {}).update(change[1])
        elif h.trigger == "__approve_correction__":
            target, values = pending.pop(int(rec["correction"]))
            amended.setdefault(target, {}).update(values)
    data: dict[str, Any] = {}
    for h in history:
        if h.trigger.startswith("__"):
            continue
        payload = {**h.payload, **amended.get(h.version, {})}
        if h.trigger == "record":
            data["activities"] = [*data.get("activities", []), payload]
        else:
            data.update(payload)
    return data


def _run(engine: Engine, steps: list[tuple[Any, ...]]) -> str:
    iid = str(engine.start("grant", {"title": "T", "amount": 500}, actor=PARTNER).id)
    records: list[int] = []
    corrections: list[int] = []
    stored: list[tuple[Any, ...]] = []
    for n, step in enumerate(steps):
        who = TEAM[n % 2]
        try:
            if step[0] == "record":
                records.append(engine.fire(iid, "record", {"activity": f"a{n}", "days": step[1]},
                                           actor=who).version)  # fmt: skip
            elif step[0] in {"amount", "title"}:
                corrections.append(
                    engine.correct(iid, 1, {step[0]: step[1]}, reason="fix", actor=who).version
                )
            elif step[0] == "days" and records:
                target = records[step[1] % len(records)]
                corrections.append(
                    engine.correct(iid, target, {"days": step[2]}, reason="fix", actor=who).version
                )
            elif step[0] == "approve" and corrections:
                pick = corrections[step[1] % len(corrections)]
                engine.approve_correction(iid, pick, actor=APPROVER if n % 3 else who)
            elif step[0] == "note":
                engine.note(iid, "seen", actor=who)
        except EngineError:
            pass  # refused: the properties below say nothing was written
        now = [(h.version, h.hash, h.payload, h.amendment) for h in engine.history(iid)]
        assert now[: len(stored)] == stored, "an amendment changed a stored event"
        stored = now
    return iid


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=ops, four_eyes=st.booleans())
def test_corrections_never_change_a_stored_event_and_the_view_is_the_brute_force_fold(
    steps: list[tuple[Any, ...]], four_eyes: bool
) -> None:
    with Engine.open(
        "memory://", workflows=[audit_definition(four_eyes=four_eyes)], projections=[]
    ) as engine:
        iid = _run(engine, steps)
        history = engine.history(iid)
        assert all(h.verified for h in history)
        for earlier, later in pairwise(history):
            assert later.prev_hash == earlier.hash
        assert engine.get(iid).data == _brute_force(engine, iid)
        for h in history:  # and at every version in between
            at = engine.get(iid, version=h.version)
            assert at.version == h.version
        assert engine.verify().ok


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=ops)
def test_a_refused_amendment_writes_nothing_and_earlier_events_keep_their_hashes(
    steps: list[tuple[Any, ...]],
) -> None:
    with Engine.open("memory://", workflows=[audit_definition()], projections=[]) as engine:
        iid = _run(engine, steps)
        before = [(h.version, h.hash, h.payload) for h in engine.history(iid)]
        for version in range(1, len(before) + 2):
            with suppress(EngineError):
                engine.correct(iid, version, {"amount": 10**6}, reason="x", actor=TEAM[0])
        after = [(h.version, h.hash, h.payload) for h in engine.history(iid)]
        assert after == before
