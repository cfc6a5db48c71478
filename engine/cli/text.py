"""Text helpers of the CLI: one-line-safe text, plurals and CSV rows on stdout."""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["plural", "printable", "write_csv"]


def printable(text: str) -> str:
    """``text`` fit for one line of a terminal: control characters escaped (``\\n``,
    ``\\x00``), bytes that were not UTF-8 in argv (lone surrogates) shown as ``\\xff``."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as os.fsdecode keeps it
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 seal``, ``2 seals`` (``many`` for an irregular plural)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def write_csv(rows: list[dict[str, Any]]) -> None:
    """Rows as CSV on stdout (stdlib ``csv``): a header, then one line a row; a list is
    joined with ``;``, a mapping is JSON, ``None`` is empty."""
    import csv

    if not rows:
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(list(rows[0]))
    for row in rows:
        writer.writerow([_cell(v) for v in row.values()])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
