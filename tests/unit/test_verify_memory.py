"""The streaming verification keeps bounded per-instance state, and finds the same problems.

A real engine records interleaved toy instances (every instance open at once) with two
seals; its export is replayed through the stream checkers with a tiny memory capacity
(most heads and rule tracks spilled to disk and read back) and with a capacity that holds
every instance. Both must report exactly the same problems, on a clean log and on a
tampered one; the entries held in memory must stay within the small capacity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import Actor, Engine
from engine.audit.offline.chain import Problem, Record
from engine.audit.offline.checker import ChainChecker
from engine.audit.offline.lines import definition_of, event_record, parse, seal_of
from engine.audit.offline.semantic import RuleChecker
from engine.audit.offline.spill import SpillMap
from engine.instance.hashing import event_fields_hash
from tests.toy import toy_definition

INSTANCES = 40
REQUESTER = Actor("memory-1", "requester")
REVIEWER = Actor("memory-2", "reviewer")


@pytest.fixture(scope="module")
def export_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The export of INSTANCES interleaved instances (start; review; 3 notes), sealed twice."""
    folder = tmp_path_factory.mktemp("memory")
    with Engine.open(f"sqlite:///{folder / 'store.db'}", workflows=[toy_definition()]) as engine:
        ids = [
            engine.start("toy", {"title": f"t{i}", "amount": 1}, actor=REQUESTER).id
            for i in range(INSTANCES)
        ]
        for iid in ids:
            engine.fire(iid, "review", {"score": 4}, actor=REVIEWER)
        engine.seal()
        for n in range(3):
            for iid in ids:
                engine.fire(iid, "note", {"text": f"note {n}"}, actor=REQUESTER)
        engine.seal()
        path = folder / "export.jsonl"
        with path.open("w", encoding="utf-8") as out:
            engine.export(out)
    return Path(path).read_text(encoding="utf-8").splitlines()


def replay(lines: list[str], capacity: int) -> tuple[list[Problem], int]:
    """Every problem the stream (and the judgement of its suspects) finds, and the most
    per-instance entries held in memory at any point."""
    definitions: dict[str, dict[str, Any]] = {}
    rules = RuleChecker(definitions.get, capacity=capacity)
    checker = ChainChecker(rules=rules, capacity=capacity)
    records: list[Record] = []
    most = 0
    for n, text in enumerate(lines, start=1):
        obj, duplicates = parse(text)
        if obj["type"] == "event":
            rec = event_record(obj, n, text, duplicates)
            assert rec is not None
            records.append(rec)
            checker.add(rec)
        elif obj["type"] == "seal":
            parsed = seal_of(obj, n)
            assert parsed is not None
            checker.close_seal(*parsed)
        elif obj["type"] == "definition":
            found = definition_of(obj)
            assert not isinstance(found, str)
            definitions[found[0]] = found[1]
        most = max(most, checker.retained)
    result = checker.finish()
    problems = list(result.problems)
    for iid in result.suspects:
        problems += result.judge(iid, [r for r in records if r.instance_id == iid])
    return problems, most


def summary(problems: list[Problem]) -> list[tuple[Any, ...]]:
    return sorted((p.kind, p.instance_id, p.version, p.rule, p.detail) for p in problems)


def _events(lines: list[str]) -> list[tuple[int, dict[str, Any]]]:
    return [
        (i, obj) for i, text in enumerate(lines) if (obj := json.loads(text))["type"] == "event"
    ]


def tampered(lines: list[str]) -> list[str]:
    """Three instances damaged: content altered, a middle event deleted, and a note recorded
    in a role that may not fire it (re-hashed, so only its rule and its successor's link
    break)."""
    out = list(lines)
    events = _events(lines)
    first, second, third = (events[k][1]["event"]["originator_id"] for k in (0, 1, 2))
    deleted: list[int] = []
    for i, obj in events:
        ev = obj["event"]
        at = (ev["originator_id"], ev["originator_version"])
        if at == (first, 3):
            ev["payload"] = {"text": "rewritten"}
        elif at == (second, 4):
            deleted.append(i)
        elif at == (third, 2):
            ev["audit"]["role"] = "requester"
            obj["hash"] = event_fields_hash(ev)
        else:
            continue
        out[i] = json.dumps(obj)
    for i in reversed(deleted):
        del out[i]
    return out


def test_a_clean_log_verifies_with_its_state_spilled(export_lines: list[str]) -> None:
    small, most = replay(export_lines, capacity=2)
    large, everything = replay(export_lines, capacity=10_000)
    assert small == large == []
    assert everything >= 2 * INSTANCES  # a head and a rule track for every instance
    assert most <= 4 * (2 + 1)  # four maps of at most capacity + one batch each


def test_a_tampered_log_reports_the_same_problems_spilled_or_not(
    export_lines: list[str],
) -> None:
    lines = tampered(export_lines)
    small, most = replay(lines, capacity=2)
    large, _ = replay(lines, capacity=10_000)
    assert summary(small) == summary(large)
    kinds = {(p.kind, p.rule) for p in small}
    assert {("altered", None), ("missing", None), ("rule", "role")} <= kinds
    assert most <= 4 * (2 + 1) + 3  # the suspects' states are dropped, not kept


def test_a_spill_map_reads_back_what_it_wrote() -> None:
    m: SpillMap[tuple[int, str]] = SpillMap(capacity=3)
    for i in range(50):
        m[f"k{i}"] = (i, "x")
    assert m.spilled
    assert m.held <= 3 + 1
    assert m.get("k0") == (0, "x")
    assert m.get("missing") is None
    m.pop("k1")
    assert m.get("k1") is None
    assert sorted(k for k, _ in m.items()) == sorted(f"k{i}" for i in range(50) if i != 1)
    m.clear()
    assert list(m.items()) == []


def test_a_spill_map_keeps_in_memory_what_it_cannot_write() -> None:
    m: SpillMap[object] = SpillMap(capacity=2)
    values = {f"k{i}": (lambda i=i: i) for i in range(20)}  # functions do not pickle
    for key, value in values.items():
        m[key] = value
    assert m.held == 20
    assert all(m.get(key) is value for key, value in values.items())
