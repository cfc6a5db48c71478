"""Bad URLs and unusable databases give StorageUnavailable; error codes are stable."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Engine, EngineError, InstanceNotFound, InvalidPayload, StorageUnavailable
from engine import errors as errors_module
from tests.helpers import REQUESTER
from tests.toy import toy_definition


@pytest.mark.parametrize(
    "url",
    [
        "mysql://x@y/z",
        "sqlite://",
        "sqlite:////no/such/directory/x.db",
        "sqlite:///x.db?synchronous=sometimes",
        "sqlite:///x.db?lock_timeout=0.2",
        "postgresql://",
        "postgresql://u@h:notaport/db",
    ],
)
def test_malformed_urls_raise_storage_unavailable(url: str) -> None:
    with pytest.raises(StorageUnavailable) as info:
        Engine.open(url, workflows=[])
    assert info.value.code == "storage_unavailable"
    assert "invalid database URL" in str(info.value)


def test_unreachable_postgres_raises_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailable) as info:
        Engine.open("postgresql://postgres@127.0.0.1:1/test?connect_timeout=1", workflows=[])
    assert "127.0.0.1:1" in str(info.value)
    assert info.value.__cause__ is not None  # the driver error is chained, not leaked


def test_a_file_that_is_not_a_database_raises_storage_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not an sqlite database at all" * 100)
    with pytest.raises(StorageUnavailable):
        Engine.open(f"sqlite:///{path}", workflows=[])


def test_a_read_only_database_reads_and_refuses_writes_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    with Engine.open(f"sqlite:///{path}", workflows=[toy_definition()]) as engine:
        iid = engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
    with Engine.open(f"sqlite:///{path}?mode=ro", workflows=[toy_definition()]) as engine:
        assert engine.get(iid).state == "submitted"
        with pytest.raises(StorageUnavailable) as info:
            engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER)
        assert "readonly" in str(info.value)
        assert len(list(engine.instance_ids())) == 1


def test_every_error_has_a_distinct_stable_code() -> None:
    classes = [getattr(errors_module, n) for n in errors_module.__all__]
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    assert all(issubclass(c, EngineError) for c in classes)
    assert issubclass(InstanceNotFound, LookupError)
    assert issubclass(InvalidPayload, ValueError)


def test_invalid_payload_carries_field_errors_without_the_input() -> None:
    with (
        Engine.open("memory://", workflows=[toy_definition()]) as engine,
        pytest.raises(InvalidPayload) as info,
    ):
        engine.start("toy", {"title": "t", "amount": -1, "contact": 5}, actor=REQUESTER)
    err = info.value.to_dict()
    assert err["code"] == "invalid_payload"
    assert sorted(tuple(e["loc"]) for e in err["errors"]) == [("amount",), ("contact",)]
    assert all("input" not in e for e in err["errors"])
