"""Random walks on version 1, a migration at a random point, random walks on version 2:
the store verifies (hashes and rules), and a replay from zero equals the live state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import Actor, Engine, EngineError
from tests.toy import toy_definition
from tests.toy_versions import toy_v2

ACTORS = [Actor(f"{r}-{n}", r) for r in ("requester", "reviewer", "approver") for n in (1, 2)]
V1_PAYLOADS: list[Any] = [{"title": "t", "amount": 5}] * 3 + [{"score": 4}] * 2 + [
    {"title": "frozen t", "amount": 9}, {"title": "t", "amount": 900}, {"score": 1}, {"text": "n"}
]  # fmt: skip
V2_PAYLOADS: list[Any] = [{"title": "t", "amount_cents": 500}, {"score": 5}, {"text": "n"}, None]
TRIGGERS = ["submit", "note", "review", "approve", "reject"]


def steps(payloads: list[Any], least: int = 0) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    return st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from([*TRIGGERS, "submit", "review"]), st.sampled_from(ACTORS),
                  st.sampled_from(payloads)),
        min_size=least,
        max_size=25,
    )  # fmt: skip


def _walk(engine: Engine, ids: list[Any], cmds: list[tuple[Any, ...]], version: int) -> None:
    for slot, trigger, actor, payload in cmds:
        try:
            if trigger == "submit" or not ids:
                ids.append(engine.start("toy", payload, actor=actor, version=version).id)
            else:
                reason = "r" if trigger == "reject" else None
                engine.fire(ids[slot % len(ids)], trigger, payload, actor=actor, reason=reason)
        except EngineError:
            pass  # refused: writes nothing (checked by the engine's own properties)


@given(before=steps(V1_PAYLOADS, 3), after=steps(V2_PAYLOADS), states=st.sampled_from(
    [None, ["submitted"], ["reviewed"]]))  # fmt: skip
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
def test_walk_migrate_walk_verifies_and_replays(
    tmp_path: Path, before: list[Any], after: list[Any], states: list[str] | None
) -> None:
    url = f"sqlite:///{tmp_path / f'walk-{len(before)}-{len(after)}.db'}"
    defs = [toy_definition(), toy_v2()]
    engine = Engine.open(url, workflows=defs)
    try:
        ids: list[Any] = []
        _walk(engine, ids, before, 1)
        plan = engine.plan_migration("toy", to=2, states=states, actor=ACTORS[2])
        result = engine.migrate(plan, actor=ACTORS[4], reason="walk")
        assert len(result.migrated) == len(plan.ready)
        event(f"migrated: {bool(result.migrated)}, blocked: {bool(plan.blocked)}")
        for item in plan.ready:
            assert engine.get(item.instance_id).definition_version == 2
        _walk(engine, ids, after, 2)
        report = engine.verify()
        assert report.ok, report.problems[:3]
        live = {i: engine.get(i) for i in ids}
        export = tmp_path / "walk.jsonl"
        with export.open("w", encoding="utf-8") as out:
            engine.export(out)
    finally:
        engine.close()
    fresh = Engine.open(url, workflows=defs)  # no cache: every instance replays from events
    try:
        assert {i: fresh.get(i) for i in ids} == live
        assert fresh.replay_check().ok
    finally:
        fresh.close()
    offline = Engine.verify_file(export)
    assert offline.ok, offline.problems[:3]
