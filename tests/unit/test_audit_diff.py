"""How ``audit diff`` describes a change in an instance's data."""

from __future__ import annotations

from engine.audit.explain import _changes


def described(before: dict, after: dict) -> list[tuple[str, str, object, object]]:
    return [(c.path, c.change, c.before, c.after) for c in _changes(before, after, "")]


def test_added_removed_and_changed_keys_by_path() -> None:
    before = {"title": "a", "budget": {"total": 10, "currency": "EUR"}, "old": 1}
    after = {"title": "b", "budget": {"total": 12, "currency": "EUR"}, "new": 2}
    assert described(before, after) == [
        ("budget.total", "changed", 10, 12),
        ("new", "added", None, 2),
        ("old", "removed", 1, None),
        ("title", "changed", "a", "b"),
    ]


def test_items_appended_to_a_list_are_shown_one_by_one() -> None:
    before = {"notes": [{"text": "a"}]}
    after = {"notes": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}
    assert described(before, after) == [
        ("notes[1]", "added", None, {"text": "b"}),
        ("notes[2]", "added", None, {"text": "c"}),
    ]


def test_a_rewritten_list_is_one_change_and_equal_data_is_none() -> None:
    assert described({"areas": ["x", "y"]}, {"areas": ["y"]}) == [
        ("areas", "changed", ["x", "y"], ["y"])
    ]
    assert described({"a": [1]}, {"a": [1]}) == []
