"""docs/versions.md's worked example runs as written and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "versions.md"


def _example() -> str:
    section = DOC.read_text(encoding="utf-8").split("## 4. A worked example", 1)[1]
    return section.split("```python\n", 1)[1].split("\n```", 1)[0]


def _promised(code: str) -> list[str]:
    """Every ``# prints: ...`` comment, in order."""
    return re.findall(r"# prints: (.*)", code)


def test_the_worked_example_prints_what_it_promises() -> None:
    code = _example()
    promised = _promised(code)
    assert len(promised) == 5
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {})
    assert out.getvalue().splitlines() == promised
