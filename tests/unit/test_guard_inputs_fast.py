"""A guard's recorded inputs are what ``to_jsonable_python(dict(inputs), fallback=str)``
gives, whether they take the plain-values shortcut or the serializer, and they share no
list with what the guard returned."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python

from engine.commands.compiled import jsonable_inputs


class Colour(StrEnum):
    RED = "red"


scalars = (
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False)
    | st.sampled_from([Colour.RED, datetime(2024, 1, 2, tzinfo=UTC), (1, "a"), b"x"])
)  # fmt: skip
values = scalars | st.lists(scalars, max_size=4) | st.dictionaries(st.text(), scalars, max_size=3)
keys = st.text(max_size=5) | st.integers(0, 3)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@given(st.dictionaries(keys, values, max_size=5))
@settings(max_examples=1500, deadline=None)
def test_inputs_are_the_serializers(inputs: dict[Any, Any]) -> None:
    got = jsonable_inputs(inputs)
    assert _same(got, to_jsonable_python(dict(inputs), fallback=str))
    for key, value in got.items():
        if isinstance(value, list) and key in inputs:
            assert value is not inputs[key]


def test_the_shortcut_copies_lists() -> None:
    listed = ["a", 1, None, True]
    got = jsonable_inputs({"x": listed, "n": 2**70})
    assert got == {"x": listed, "n": 2**70}
    assert got["x"] is not listed
