"""RFC 8785 numbers rewritten in ``json.dumps``'s text: the same as member by member."""

from __future__ import annotations

from typing import Any

import pytest

from engine.instance import hashing

CASES: list[Any] = [
    {"a": 1.0, "b": "1.0", "c": [2.5, -0.0, 1e16, 1e21, 1e-7, 123.456, 5e-324]},
    {"score": 4.0, "text": 'say "1.5" \\ 2e5', "n": 12},
    {"big": 2**53, "neg": -(2**53), "text": "9007199254740993"},
    [0.1, 0.2, 0.30000000000000004, 1.7976931348623157e308],
    {"é": 1.5, "x": {"y": [1e100, -1e-100]}},
]


@pytest.mark.parametrize("value", CASES)
def test_rewritten_numbers_equal_the_member_by_member_form(value: Any) -> None:
    assert not hashing.plain_text(hashing.canonical_json(value))  # the rewriting path ran
    assert hashing.jcs(value) == hashing.jcs_tree(value)


@pytest.mark.parametrize("bad", [{"a": float("nan")}, [float("inf")], {"n": 2**53 + 1}])
def test_what_rfc_8785_cannot_hold_is_refused_alike(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"RFC 8785|2\*\*53"):
        hashing.jcs(bad)
    with pytest.raises(ValueError, match=r"RFC 8785|2\*\*53"):
        hashing.jcs_tree(bad)


def test_a_key_beyond_u_d800_still_takes_the_member_by_member_path() -> None:
    value = {"\U0001f600": 1.5, "\ue000": 2.0}
    assert hashing.jcs(value) == hashing.jcs_tree(value) == '{"\U0001f600":1.5,"\ue000":2}'
