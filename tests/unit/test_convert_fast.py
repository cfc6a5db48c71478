"""The command path's copies are what the generic ones give: ``copy.copy`` for a fork,
``model_construct`` for a view, a deep copy of the data that shares no container."""

from __future__ import annotations

import copy
from typing import Any

from engine import Actor, Engine
from engine.instance.convert import copy_json, fork, view_of
from engine.instance.views import InstanceView
from tests.toy import toy_definition

REQUESTER = Actor("req-1", "requester")


def _containers(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [id(value), *(i for v in value.values() for i in _containers(v))]
    if isinstance(value, list):
        return [id(value), *(i for v in value for i in _containers(v))]
    return []


def test_fork_view_and_copy_equal_the_generic_ones() -> None:
    with Engine.open("memory://", workflows=[toy_definition()], projections=[]) as engine:
        iid = engine.start("toy", {"title": "t", "amount": 1}, actor=REQUESTER).id
        for text in ("a", "b"):
            engine.fire(iid, "note", {"text": text}, actor=REQUESTER)
        agg = engine._commands.cache.get(iid)
        assert agg is not None
    twin, generic = fork(agg), copy.copy(agg)
    assert type(twin) is type(generic)
    assert vars(twin) == {**vars(generic), "_pending_events": []}
    assert twin.__dict__ is not agg.__dict__
    assert twin.data is agg.data
    for copy_data in (False, True):
        view = view_of(agg, copy_data=copy_data)
        fields = dict(view.__dict__)
        built = InstanceView.model_construct(**fields)
        assert view == built
        assert view.model_fields_set == built.model_fields_set
        assert list(view.__dict__) == list(built.__dict__)  # field order
        assert (view.__pydantic_extra__, view.__pydantic_private__) == (None, None)
        assert view.model_dump() == built.model_dump()
    data = {"a": [1, {"b": [2, 3], "c": "x"}], "d": {"e": None, "f": 1.5}, "g": (1, [2])}
    copied = copy_json(data)
    assert copied == data
    assert not set(_containers(copied)) & set(_containers(data))
    assert copied["g"] is data["g"]  # a tuple is not a JSON container: shared, as before
