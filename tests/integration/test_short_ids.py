"""Short ids resolve from the event store itself, in every projection mode."""

from __future__ import annotations

from uuid import UUID

import pytest

from engine import InstanceNotFound, InvalidArgument
from engine.queries.ids import id_range
from tests.conftest import EngineFactory
from tests.helpers import REQUESTER, submit

BACKENDS = ["memory", "sqlite", "postgres"]


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_short_id_resolves_in_worker_mode_right_after_start(open_engine: EngineFactory) -> None:
    engine = open_engine(projection_mode="worker")  # no projection has seen anything
    iid = submit(engine)
    assert engine.projection_status()[0].behind  # the read models are behind...
    view = engine.get(str(iid)[:8])  # ...and the prefix still resolves
    assert view.id == iid
    assert engine.history(str(iid)[:13])[0].trigger == "submit"
    engine.fire(str(iid)[:6], "note", {"text": "x"}, actor=REQUESTER)
    assert engine.get(iid).version == 2


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_prefixes_resolve_only_to_an_instance_that_starts_with_them(
    open_engine: EngineFactory,
) -> None:
    engine = open_engine(projections=[])
    ids = [submit(engine) for _ in range(40)]
    for iid in ids[:10]:
        text = str(iid)
        assert engine.resolve(text[:9]) == iid  # across the first hyphen
        assert engine.resolve(text[:8].upper()) == iid
    missing = next(
        f"{i:04x}" for i in range(65536) if not any(str(x).startswith(f"{i:04x}") for x in ids)
    )
    with pytest.raises(InstanceNotFound):
        engine.resolve(missing)


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
def test_an_ambiguous_prefix_lists_the_candidates(open_engine: EngineFactory) -> None:
    engine = open_engine(projections=[])
    a = UUID("abcd0000-0000-4000-8000-000000000001")
    b = UUID("abcd0000-0000-4000-8000-000000000002")
    for iid in (a, b):
        engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER, instance_id=iid)
    with pytest.raises(InvalidArgument, match="ambiguous") as caught:
        engine.resolve("abcd")
    assert caught.value.details["candidates"] == [str(a), str(b)]
    with pytest.raises(InvalidArgument, match="ambiguous"):
        engine.resolve("abcd0000-0000-4000-8000-00000000000")  # 31 of 32 digits
    assert engine.resolve("abcd0000-0000-4000-8000-000000000002") == b


@pytest.mark.parametrize("text", ["abc", "zzzz", "ab-cd", "a" * 33, "", "   ", "abcd\x00"])
def test_malformed_prefixes_are_not_found(text: str) -> None:
    from engine import Engine

    with Engine.open("memory://", projections=[]) as engine, pytest.raises(InstanceNotFound):
        engine.resolve(text)


def test_a_prefix_covers_exactly_the_ids_that_start_with_it() -> None:
    low, high = id_range("3f2a1b2c-1") or (None, None)
    assert str(low) == "3f2a1b2c-1000-0000-0000-000000000000"
    assert str(high) == "3f2a1b2c-1fff-ffff-ffff-ffffffffffff"
