"""The chain judgement and the streaming checker, on hand-built records (no store)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from engine.audit.offline.chain import GENESIS_RUNNING, Record, analyse_instance, step_running
from engine.audit.offline.checker import ChainChecker, Scope, SealRecord, heads_digest, seal_digest
from engine.instance.hashing import GENESIS_HASH, hash_fields

IID = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"


def _event(iid: str, version: int, prev: str, text: str = "") -> Record:
    fields = {
        "topic": "socieux.instance:Transitioned",
        "originator_id": iid,
        "timestamp": f"2024-01-01T00:00:{version:02d}.000000+00:00",
        "prev_hash": prev,
        "payload": {"n": version, "text": text},
    }
    digest = hash_fields({**fields, "originator_version": version})
    return Record(iid, version, fields, digest)


def chain(iid: str = IID, n: int = 5) -> list[Record]:
    records, prev = [], GENESIS_HASH
    for v in range(1, n + 1):
        records.append(_event(iid, v, prev))
        prev = records[-1].stored_hash or ""
    return records


def moved(rec: Record, version: int) -> Record:
    """The same stored event at another version (as an SQL UPDATE of the version does)."""
    return Record(rec.instance_id, version, rec.fields, rec.stored_hash)


def found(problems: list) -> set[tuple[str, str | None, int | None]]:
    return {(p.kind, p.instance_id, p.version) for p in problems}


def test_an_intact_chain_has_no_problems() -> None:
    assert analyse_instance(IID, chain()) == []


def test_changed_content_is_altered_at_its_version() -> None:
    records = chain()
    rec = records[2]
    records[2] = Record(IID, 3, {**(rec.fields or {}), "payload": {"n": 99}}, rec.stored_hash)
    assert found(analyse_instance(IID, records)) == {("altered", IID, 3)}


def test_a_changed_hash_field_is_altered_and_its_successor_is_not_blamed() -> None:
    records = chain()
    rec = records[2]
    digest = rec.stored_hash or ""
    records[2] = Record(IID, 3, rec.fields, ("1" if digest[0] == "0" else "0") + digest[1:])
    assert found(analyse_instance(IID, records)) == {("altered", IID, 3)}


def test_an_unreadable_row_is_altered_and_its_successor_still_links() -> None:
    records = chain()
    records[1] = Record(IID, 2, None, None, error="bad JSON")
    assert found(analyse_instance(IID, records)) == {("altered", IID, 2)}


def test_a_deleted_middle_event_is_missing() -> None:
    records = chain()
    del records[2]
    problems = analyse_instance(IID, records)
    assert found(problems) == {("missing", IID, 3)}


def test_consecutive_deletions_are_one_missing_range() -> None:
    records = [r for r in chain(n=6) if r.version not in (2, 3, 4)]
    problems = analyse_instance(IID, records)
    assert found(problems) == {("missing", IID, 2)}
    assert "versions 2-4" in problems[0].detail


def test_swapped_versions_are_reordered_at_both() -> None:
    records = chain()
    records[1], records[2] = moved(records[2], 2), moved(records[1], 3)
    problems = analyse_instance(IID, records)
    assert found(problems) == {("reordered", IID, 2), ("reordered", IID, 3)}
    assert "its hash says 3" in next(p.detail for p in problems if p.version == 2)


def test_a_forged_event_that_does_not_link_is_inserted() -> None:
    records = chain()
    records.append(_event(IID, 6, prev=records[2].stored_hash or ""))
    assert found(analyse_instance(IID, records)) == {("inserted", IID, 6)}


def test_a_forged_event_spliced_in_the_middle_is_inserted_and_the_rest_moved() -> None:
    records = chain()
    forged = _event(IID, 3, prev=records[1].stored_hash or "", text="forged")
    shifted = [moved(r, r.version + 1) for r in records[2:]]
    problems = analyse_instance(IID, [*records[:2], forged, *shifted])
    assert found(problems) == {
        ("inserted", IID, 3),
        ("reordered", IID, 4),
        ("reordered", IID, 5),
        ("reordered", IID, 6),
    }


def test_an_event_below_version_1_is_inserted() -> None:
    records = [*chain(), _event(IID, 0, prev=GENESIS_HASH)]
    assert found(analyse_instance(IID, records)) == {("inserted", IID, 0)}


def test_a_rewritten_event_with_a_recomputed_hash_is_altered() -> None:
    records = chain()
    rewritten = _event(IID, 3, prev=records[1].stored_hash or "", text="rewritten")
    records[2] = rewritten
    assert found(analyse_instance(IID, records)) == {("altered", IID, 3)}


def test_a_sealed_head_catches_a_deletion_from_the_end() -> None:
    records = chain()
    sealed = (5, records[4].stored_hash or "", 1)
    problems = analyse_instance(IID, records[:4], sealed=sealed)
    assert found(problems) == {("missing", IID, 5)}
    assert "seal #1" in problems[0].detail


def test_an_anchored_partial_chain_takes_its_first_event_as_given() -> None:
    assert analyse_instance(IID, chain()[2:], anchored=True) == []
    assert found(analyse_instance(IID, chain()[2:])) == {("missing", IID, 1)}


def test_the_running_hash_is_order_sensitive() -> None:
    a, b = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
    ab = step_running(step_running(GENESIS_RUNNING, a), b)
    ba = step_running(step_running(GENESIS_RUNNING, b), a)
    assert ab != ba
    expected = hashlib.sha256(bytes.fromhex(GENESIS_RUNNING) + bytes.fromhex(a)).hexdigest()
    assert step_running(GENESIS_RUNNING, a) == expected


# ---------------------------------------------------------------- the streaming checker
def interleaved() -> list[Record]:
    """Two instances' events, interleaved in log order, with positions."""
    merged = [r for pair in zip(chain(IID), chain(OTHER), strict=True) for r in pair]
    return [replace(r, position=i) for i, r in enumerate(merged, start=1)]


def seal_of(
    records: list[Record], seq: int = 1, previous: str = GENESIS_HASH, since: int = 0
) -> tuple[SealRecord, list[tuple[str, int, str]]]:
    running = GENESIS_RUNNING
    for r in records:
        running = step_running(running, r.digest)
    heads: dict[str, tuple[int, str]] = {}
    for r in records:
        if (r.position or 0) > since:
            heads[r.instance_id] = (r.version, r.digest)
    head_list = sorted((i, v, h) for i, (v, h) in heads.items())
    fields = {
        "seq": seq,
        "position": records[-1].position or 0,
        "events": len(records),
        "running_hash": running,
        "sealed_at": "2024-01-02T00:00:00.000000+00:00",
        "heads_hash": heads_digest(head_list),
        "previous": previous,
        "public_key": None,
    }
    return SealRecord(
        **fields, heads_count=len(head_list), seal_hash=seal_digest(**fields)
    ), head_list


def run(records: list[Record], seals: list[tuple[SealRecord, list]], **kw: object) -> list:
    checker = ChainChecker(**kw)  # type: ignore[arg-type]
    pending = list(seals)
    for rec in records:
        while pending and (rec.position or 0) > pending[0][0].position:
            checker.close_seal(*pending.pop(0))
        checker.add(rec)
    for s in pending:
        checker.close_seal(*s)
    result = checker.finish()
    problems = list(result.problems)
    for iid in result.suspects:
        problems += result.judge(iid, [r for r in records if r.instance_id == iid])
    return problems


def test_a_clean_sealed_log_verifies() -> None:
    records = interleaved()
    assert run(records, [seal_of(records)]) == []


def test_a_seal_catches_the_last_event_of_an_instance_deleted() -> None:
    records = interleaved()
    seal = seal_of(records)
    kept = [r for r in records if not (r.instance_id == IID and r.version == 5)]
    problems = run(kept, [seal])
    assert ("missing", IID, 5) in found(problems)
    assert {p.kind for p in problems} == {"missing", "seal"}
    assert run(kept, []) == []  # without a seal, a truncated chain still looks whole


def test_a_seal_catches_the_last_event_of_the_log_deleted() -> None:
    records = interleaved()
    seal = seal_of(records)
    problems = run(records[:-1], [seal])
    assert found(problems) == {("missing", OTHER, 5), ("seal", None, None)}


def test_a_second_seal_builds_on_the_first() -> None:
    records = interleaved()
    first = seal_of(records[:4])
    second = seal_of(records, seq=2, previous=first[0].seal_hash, since=4)
    assert run(records, [first, second]) == []


def test_a_removed_or_rewritten_seal_is_a_seal_problem() -> None:
    records = interleaved()
    first = seal_of(records[:4])
    second = seal_of(records, seq=2, previous=first[0].seal_hash, since=4)
    assert found(run(records, [second])) == {("seal", None, None)}
    forged = (replace(first[0], running_hash="0" * 64), first[1])
    details = [p.detail for p in run(records, [forged, second])]
    assert any("no longer match its hash" in d for d in details)


def test_events_of_another_instance_in_an_instance_export_are_inserted() -> None:
    problems = run(interleaved(), [], scope=Scope(instance=IID))
    assert found(problems) == {("inserted", OTHER, v) for v in range(1, 6)}


@pytest.mark.parametrize("swap", [(0, 1), (3, 4)])
def test_events_out_of_log_order_are_reordered(swap: tuple[int, int]) -> None:
    records = interleaved()
    i, j = swap
    records[i], records[j] = records[j], records[i]
    assert any(p.kind == "reordered" for p in run(records, []))


def test_a_row_moved_to_the_end_of_the_log_is_reordered() -> None:
    records = interleaved()
    moved_row = replace(records[2], position=99)  # IID v2, given a later log position
    problems = run([*records[:2], *records[3:], moved_row], [])
    assert found(problems) == {("reordered", IID, 2)}
    assert problems[0].detail == "comes after version 5 in the log"
