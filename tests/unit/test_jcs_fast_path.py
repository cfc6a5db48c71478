"""RFC 8785 through ``json.dumps`` where that is already canonical, member by member where
not: both sides (the engine's and the offline verifier's) agree with the member-by-member
form on every JSON value, including the ones that must take the slow path."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.audit.offline import canonical as reader
from engine.instance import hashing as writer

keys = st.text(max_size=6) | st.sampled_from(["a", "\U0001f600", "\ue000", "é", "\u20ac", ""])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats()
    | st.text()
    | st.sampled_from(['say "hi"', "back\\slash\\", "\x00\x1f\x7f", "1.5", "2e5", "\ud800"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


def outcome(f: Any, value: Any) -> Any:
    try:
        return f(value)
    except (ValueError, TypeError) as exc:
        return type(exc)


@given(values)
@settings(max_examples=3000, deadline=None)
def test_the_engine_fast_path_equals_the_member_by_member_form(value: Any) -> None:
    assert outcome(writer.jcs, value) == outcome(writer.jcs_tree, value)


@given(values)
@settings(max_examples=3000, deadline=None)
def test_the_reader_fast_path_equals_the_member_by_member_form(value: Any) -> None:
    assert outcome(reader.jcs, value) == outcome(reader.jcs_tree, value)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ('{"a":1,"b":[true,null,"x"]}', True),
        ('{"at":"2024-01-02T03:04:05.000006+00:00"}', True),  # a dot inside a string
        ('{"a":1.5}', False),
        ('{"a":4.0}', False),  # JCS prints 4
        ('{"a":1e+21}', False),
        ('{"a":1234567890123456}', False),  # 16 digits: checked against 2**53 slowly
        ('{"a":"x\\"1.5\\""}', True),  # escaped quotes: the number is inside the string
        ('{"\ue000":1,"\U0001f600":2}', False),  # key orders differ in UTF-16
    ],
)
def test_plain_text_cases(text: str, plain: bool) -> None:
    assert writer.plain_text(text) is plain
    assert reader.plain_text(text) is plain
