"""Tree heads: the signed message, the witness line format and its hostile inputs."""

from __future__ import annotations

import pytest

from engine.audit.offline.tree_head import TreeHeadRecord, check_head, head_message, parse_witness

ROOT = "ab" * 32
AT = "2025-01-02T03:04:05.000006+00:00"
SIG = "cd" * 64


def test_the_signed_message_is_four_lines_any_language_can_rebuild() -> None:
    assert head_message(7, ROOT, AT) == f"socieux.tree-head/1\n7\n{ROOT}\n{AT}\n".encode()


def test_a_witness_line_round_trips() -> None:
    head = TreeHeadRecord(7, ROOT, AT, SIG, seq=3)
    (back,) = parse_witness(f"# kept\n\n{head.witness_line()}\n")
    assert (back.size, back.root, back.at, back.signature, back.line) == (7, ROOT, AT, SIG, 3)
    (unsigned,) = parse_witness(f"0 {ROOT} {AT} -")
    assert unsigned.signature is None
    assert unsigned.label == "witnessed head (line 1)"


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (f"7 {ROOT} {AT}", "got 3 field"),
        (f"7  {ROOT} {AT} -", "got 5 field"),
        (f"-1 {ROOT} {AT} -", "size is not a whole number"),
        (f"{'9' * 30} {ROOT} {AT} -", "size is not a whole number"),
        (f"7 {ROOT.upper()} {AT} -", "root is not 64 lowercase hex"),
        (f"7 {ROOT[:-2]} {AT} -", "root is not 64 lowercase hex"),
        (f"7 {ROOT} yesterday -", "is not an ISO 8601 time"),
        (f"7 {ROOT} 2025-01-02T03:04:05 -", "has no timezone"),
        (f"7 {ROOT} {AT} {SIG[:-1]}", "signature is not 128 hex"),
    ],
)
def test_a_malformed_witness_line_names_its_line_and_why(line: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as err:
        parse_witness(f"# header\n{line}\n")
    assert str(err.value).startswith("line 2: ")


def test_check_head_refuses_non_values() -> None:
    assert check_head(True, ROOT, AT, None) == "its size is not a whole number"
    assert check_head(1, ROOT, 5, None) == "its time is not text"
    assert check_head(1, ROOT, AT, 5) == "its signature is not 128 hex characters"
    assert check_head(1, ROOT, AT, None) is None
