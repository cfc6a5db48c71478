"""``get(id, as_of=..., effective=...)`` agrees with a brute-force fold of the history, for
random histories with effective times (and corrections) and random pairs of times."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Actor, Engine, EngineError, HistoryEntry, InstanceNotFound
from engine.testing import StepClock
from tests.toy_audit import audit_definition

T0 = datetime(2024, 3, 1, tzinfo=UTC)
PARTNER, TEAM, TEAM2 = Actor("p-1", "partner"), Actor("t-1", "team"), Actor("t-2", "team")

steps = st.lists(
    st.tuples(
        st.sampled_from(["record", "correct", "approve"]), st.integers(-30, 1), st.integers(0, 60)
    ),
    max_size=10,
)
probes = st.lists(st.tuples(st.integers(-40, 15), st.integers(-40, 15)), min_size=1, max_size=6)


def _brute(history: list[HistoryEntry], as_of: datetime, effective: datetime) -> Any:
    recorded = [h for h in history if h.at <= as_of]
    eff: dict[int, datetime] = {}
    for h in recorded:
        eff[h.version] = h.effective_at or h.at
        if h.amends is not None and h.amends in eff:
            eff[h.version] = eff[h.amends]
    kept = [h for h in recorded if eff[h.version] <= effective]
    if not kept:
        return None
    amended: dict[int, dict[str, Any]] = {}
    pending: dict[int, tuple[int, dict[str, Any]]] = {}
    state, data = None, {}
    for h in kept:
        rec = h.amendment or {}
        if h.trigger == "__correct__":
            change = (rec["target"]["version"], {c["field"]: c["new"] for c in rec["changes"]})
            if rec["pending"]:
                pending[h.version] = change
            else:
                amended.setdefault(change[0], {}).update(change[1])
        elif h.trigger == "__approve_correction__" and rec["correction"] in pending:
            target, values = pending.pop(rec["correction"])
            amended.setdefault(target, {}).update(values)
        elif not h.trigger.startswith("__"):
            state = h.dest
    for h in kept:
        if h.trigger.startswith("__"):
            continue
        payload = {**h.payload, **amended.get(h.version, {})}
        if h.trigger == "record":
            data["activities"] = [*data.get("activities", []), payload]
        else:
            data.update(payload)
    return state, data, kept[-1].version


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=steps, pairs=probes, four_eyes=st.booleans())
def test_as_of_and_effective_agree_with_a_brute_force_fold(
    script: list[tuple[str, int, int]], pairs: list[tuple[int, int]], four_eyes: bool
) -> None:
    clock = StepClock(T0, timedelta(days=1))
    defn = audit_definition(four_eyes=four_eyes)
    with Engine.open("memory://", workflows=[defn], projections=[], clock=clock) as engine:
        iid = engine.start("grant", {"title": "T", "amount": 900}, actor=PARTNER,
                           effective_at=T0 - timedelta(days=31)).id  # fmt: skip
        corrections: list[int] = []
        for n, (kind, offset, value) in enumerate(script):
            with suppress(EngineError):
                if kind == "record":
                    engine.fire(iid, "record", {"activity": f"a{n}", "days": value}, actor=TEAM,
                                effective_at=clock.now + timedelta(days=offset))  # fmt: skip
                elif kind == "correct":
                    target = 1 + value % len(engine.history(iid))
                    field = {"amount": 500 + value} if target == 1 else {"days": value}
                    view = engine.correct(iid, target, field, reason="fix", actor=TEAM)
                    corrections.append(view.version)
                elif corrections:
                    pick = corrections[value % len(corrections)]
                    engine.approve_correction(iid, pick, actor=TEAM2)
        history = engine.history(iid)
        for as_days, eff_days in pairs:
            as_of, effective = T0 + timedelta(days=as_days), T0 + timedelta(days=eff_days)
            expected = _brute(history, as_of, effective)
            try:
                view = engine.get(iid, as_of=as_of, effective=effective)
            except InstanceNotFound:
                assert expected is None
                continue
            assert expected is not None
            assert (view.state, view.data, view.version) == expected
        latest = engine.get(iid, effective=T0 + timedelta(days=400))
        assert latest.data == engine.get(iid).data
