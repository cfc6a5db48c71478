"""The payload's storable-text check: the one-dump pre-check never hides what the walk
finds (NUL, lone surrogates, in keys or values, at any depth)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.commands.compiled import _unstorable_walk, unstorable_texts

texts = st.text(max_size=5) | st.sampled_from(["\x00", "a\x00b", "\ud800", "\\u0000", "é", ""])
keys = texts | st.integers(-3, 3) | st.none() | st.booleans()
leaves = st.none() | st.booleans() | st.integers() | st.floats() | texts
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=3)
    ),
    max_leaves=15,
)


@given(values)
@settings(max_examples=2000, deadline=None)
def test_the_precheck_agrees_with_the_walk(value: Any) -> None:
    assert unstorable_texts(value) == _unstorable_walk(value, ())


def test_what_the_walk_finds_is_still_found() -> None:
    value = {"ok": "x", "bad": ["y", "z\x00"], "\ud800": 1, "deep": {"k": "\ud83d"}}
    assert unstorable_texts(value) == [["bad", 1], ["(key)"], ["deep", "k"]]
    assert unstorable_texts({"t": "\\u0000 spelt out"}) == []
